// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the device's request parsers (QEMU patch 0015,
 * hw/virtio/vballoon-parse.c, built from the patched QEMU tree without
 * QEMU).  One binary per mode, chosen at build time:
 *   -DFUZZ_MODE=1  page-bitmap, inflate/deflate (4096 runs a request)
 *   -DFUZZ_MODE=2  page-bitmap, free page bitmaps (no run limit)
 *   -DFUZZ_MODE=3  chunk
 *   -DFUZZ_MODE=4  sg: the input is descriptors of 12 bytes (le64 addr,
 *                  le32 len), as a descriptor chain holds them
 * Besides what ASan and UBSan catch, each input is checked against a
 * plain reference reading of the same bytes: every range the parser hands
 * on is well-formed, ascends without overlap, is named by the message (a
 * chunk or descriptor of it exactly, or a maximal run of set bits of one
 * of its records), and every chunk or descriptor is either handed on or
 * refused exactly once.  A violation aborts, which libFuzzer reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/virtio/vballoon-parse.h"
#include "hw/virtio/vballoon-proto.h"

#ifndef FUZZ_MODE
#error "FUZZ_MODE must be 1 (bitmap), 2 (free page bitmap), 3 (chunk) or 4 (sg)"
#endif

#define MAX_EVENTS (1u << 19)

struct ev {
	int reject;			/* 1: refused, 0: handed on */
	VirtIOBalloonReject why;
	uint64_t addr, len;
};

static struct ev evs[MAX_EVENTS];
static size_t nev;
/* Inputs up to 64 bytes over the protocol's largest request. */
static uint64_t buf64[VBALLOON_BITMAP_MAX_REQ_BYTES / 8 + 8];

static void fail(const char *what, size_t i)
{
	fprintf(stderr, "fuzz_balloon: %s (event %zu of %zu)\n", what, i, nev);
	abort();
}

static void on_range(VBalloonParser *p, uint64_t gpa, uint64_t len)
{
	(void)p;
	if (nev == MAX_EVENTS)
		fail("too many events", nev);
	evs[nev++] = (struct ev){ 0, VIRTIO_BALLOON_REJECT_NR, gpa, len };
}

static void on_reject(VBalloonParser *p, VirtIOBalloonReject why,
		      uint64_t addr, uint64_t len)
{
	(void)p;
	if (why >= VIRTIO_BALLOON_REJECT_NR)
		fail("reject reason out of range", nev);
	if (nev == MAX_EVENTS)
		fail("too many events", nev);
	evs[nev++] = (struct ev){ 1, why, addr, len };
}

static uint64_t ld64(const uint8_t *b)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint32_t ld32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

/* Every range handed on: well-formed, ascending, not overlapping. */
static void check_order(void)
{
	uint64_t end = 0;
	int any = 0;
	size_t i;

	for (i = 0; i < nev; i++) {
		const struct ev *e = &evs[i];

		if (e->reject)
			continue;
		if (!e->len || (e->addr | e->len) % VBALLOON_PAGE_SIZE)
			fail("range empty or misaligned", i);
		if (e->len - 1 > UINT64_MAX - e->addr)
			fail("range wraps", i);
		if (any && e->addr < end)
			fail("ranges overlap or descend", i);
		any = 1;
		end = e->addr + e->len; /* 0 only at the very top: nothing after */
		if (!end && i + 1 < nev) {
			size_t j;

			for (j = i + 1; j < nev; j++)
				if (!evs[j].reject)
					fail("range after one ending at 2^64", j);
		}
	}
}

/* Chunks or descriptors: one event each, ranges equal to their item. */
static void check_items(const uint64_t *addr, const uint64_t *len, size_t n,
			size_t extra)
{
	size_t i;

	if (nev != n + extra)
		fail("not one event per chunk", nev);
	for (i = 0; i < n; i++)
		if (!evs[i].reject &&
		    (evs[i].addr != addr[i] || evs[i].len != len[i]))
			fail("a range that is not its chunk", i);
}

#if FUZZ_MODE == 1 || FUZZ_MODE == 2
/* Is frame f a set bit of the record at rec (header at rec)? */
static int record_has(const uint8_t *rec, uint64_t f)
{
	uint64_t base = ld64(rec);
	uint32_t nr = ld32(rec + 8);

	if (f < base || f - base >= nr)
		return 0;
	return ld64(rec + 16 + (f - base) / 64 * 8) >> ((f - base) % 64) & 1;
}

/* The range [first, last] is a maximal run of set bits of record rec. */
static int record_run(const uint8_t *rec, uint64_t first, uint64_t last)
{
	uint64_t f;

	if (first && record_has(rec, first - 1))
		return 0;
	if (last != UINT64_MAX >> VBALLOON_PFN_SHIFT &&
	    record_has(rec, last + 1))
		return 0;
	/* At most 2^18 frames: a record's span. */
	for (f = first; f <= last; f++)
		if (!record_has(rec, f))
			return 0;
	return 1;
}

/*
 * Every range is a maximal run of set bits of one record that frames in
 * the request (whatever the parser thought of its header: it may only
 * hand on bits it read), and there are no more runs than allowed.
 */
static void check_bitmap(const uint8_t *b, size_t size, uint64_t max_runs)
{
	const uint8_t *rec[VBALLOON_BITMAP_MAX_REQ_BYTES / 16 + 1];
	size_t nrec = 0, off = 0, i, r;
	uint64_t runs = 0;

	while (off + 16 <= size) {
		uint64_t words = ((uint64_t)ld32(b + off + 8) + 63) / 64;

		if (16 + words * 8 > size - off)
			break;
		rec[nrec++] = b + off;
		off += 16 + words * 8;
	}
	for (i = 0; i < nev; i++) {
		const struct ev *e = &evs[i];
		uint64_t first, last;

		if (e->reject)
			continue;
		runs++;
		first = e->addr >> VBALLOON_PFN_SHIFT;
		last = first + (e->len >> VBALLOON_PFN_SHIFT) - 1;
		for (r = 0; r < nrec; r++)
			if (record_run(rec[r], first, last))
				break;
		if (r == nrec)
			fail("a range that is no record's run of set bits", i);
	}
	if (max_runs && runs > max_runs)
		fail("more runs than the limit", nev);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	VBalloonParser p = {
		.range = on_range,
		.reject = on_reject,
	};

	nev = 0;
#if FUZZ_MODE == 1 || FUZZ_MODE == 2
	if (size > VBALLOON_BITMAP_MAX_REQ_BYTES + 64)
		return -1;
	/* The device parses an 8-byte aligned copy. */
	memcpy(buf64, data, size);
	p.max_runs = FUZZ_MODE == 1 ? VBALLOON_BITMAP_MAX_RUNS_PER_REQ : 0;
	if (!vballoon_parse_bitmap(&p, buf64, size) && nev != 1)
		fail("a request dropped whole with more than one event", nev);
	check_order();
	if (size <= VBALLOON_BITMAP_MAX_REQ_BYTES)
		check_bitmap((const uint8_t *)buf64, size, p.max_runs);
	else if (nev != 1 || !evs[0].reject)
		fail("an oversized request not dropped whole", 0);
#elif FUZZ_MODE == 3
	static uint64_t addr[VBALLOON_CHUNK_MAX_PER_REQ], len[VBALLOON_CHUNK_MAX_PER_REQ];
	size_t n = size / 16, i;

	if (size > sizeof(buf64))
		return -1;
	memcpy(buf64, data, size);
	vballoon_parse_chunks(&p, buf64, size);
	check_order();
	if (!size || n > VBALLOON_CHUNK_MAX_PER_REQ) {
		if (nev != 1 || !evs[0].reject)
			fail("an empty or oversized request not dropped whole", 0);
		return 0;
	}
	for (i = 0; i < n; i++) {
		addr[i] = ld64(data + 16 * i);
		len[i] = ld64(data + 16 * i + 8);
	}
	check_items(addr, len, n, size % 16 ? 1 : 0);
	if (p.records != n + (size % 16 ? 1 : 0))
		fail("records miscounted", nev);
#elif FUZZ_MODE == 4
	static uint64_t addr[1024], len[1024];
	size_t n = size / 12, i;

	if (n > 1024)
		return -1;
	for (i = 0; i < n; i++) {
		addr[i] = ld64(data + 12 * i);
		len[i] = ld32(data + 12 * i + 8);
		vballoon_parse_sg_desc(&p, addr[i], len[i]);
	}
	check_order();
	check_items(addr, len, n, 0);
	for (i = 0; i < n; i++)
		if (!evs[i].reject && len[i] > VBALLOON_SG_MAX_LEN)
			fail("a descriptor over the length limit handed on", i);
#endif
	return 0;
}
