/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * vballoon_proto.h - the balloonbench virtio-balloon wire protocol.
 *
 * One header for the guest driver (guest-driver/, vballoon.ko), the host
 * device (host-device/patches/, which carries a copy that a test compares
 * with this one) and the harness.  Everything on the wire is little endian.
 * docs/protocol.md describes each message in prose.
 *
 * Upstream feature bits 0-5 keep their upstream meaning.  Experimental bits
 * live at 16 and above so that they never collide with upstream.
 */
#ifndef VBALLOON_PROTO_H
#define VBALLOON_PROTO_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;
#endif

/* Upstream bits (include/uapi/linux/virtio_balloon.h), same numbers. */
#define VBALLOON_F_MUST_TELL_HOST	0
#define VBALLOON_F_STATS_VQ		1
#define VBALLOON_F_DEFLATE_ON_OOM	2
#define VBALLOON_F_FREE_PAGE_HINT	3
#define VBALLOON_F_PAGE_POISON		4
#define VBALLOON_F_REPORTING		5

/* balloonbench bits. */
#define VBALLOON_F_PAGE_BITMAP		16	/* seed 003 */
#define VBALLOON_F_CHUNK_TRANSFER	17	/* seed 000 */
#define VBALLOON_F_SG			18	/* seed 002 */
#define VBALLOON_F_AUTO_BALLOON		19	/* seed 001: num_pages is a ceiling */
#define VBALLOON_F_FREE_PAGE_BITMAP	20	/* seed 003/004: free pages, for migration */

/*
 * Transfer modes.  A driver acknowledges at most one of PAGE_BITMAP,
 * CHUNK_TRANSFER and SG; with none of them the inflate and deflate queues
 * carry legacy arrays of 32-bit PFNs.  Should a driver acknowledge several,
 * the host uses the highest of them (SG, then CHUNK_TRANSFER, then
 * PAGE_BITMAP).  The mode applies to both the inflate and deflate queues.
 *
 * Completion: the host returns every request buffer (used length 0) once it
 * has acted on it, or dropped it as malformed; the guest treats the return
 * as completion and learns nothing about rejection.  Requests carry
 * guest-physical addresses, so a driver never acknowledges
 * VIRTIO_F_ACCESS_PLATFORM together with this protocol.
 */

/* Guest pages are always described in units of 4 KiB, whatever the host. */
#define VBALLOON_PFN_SHIFT		12
#define VBALLOON_PAGE_SIZE		(1ULL << VBALLOON_PFN_SHIFT)

/*
 * Legacy: one request is an array of 1 to this many __le32 PFNs (the
 * request is 4 bytes per PFN).
 */
#define VBALLOON_LEGACY_MAX_PFNS	256

/*
 * PAGE_BITMAP: a request is one or more records laid back to back, each a
 * header followed by DIV_ROUND_UP(nr_pages, 64) __le64 bitmap words.  Bit i
 * of the bitmap (bit i % 64 of word i / 64) set means page base_pfn + i is
 * in the request.  base_pfn must be a multiple of 64, nr_pages between 1
 * and VBALLOON_BITMAP_MAX_PAGES, reserved zero, and the bits of the last
 * word past nr_pages zero.  A request holds whole records only and is at
 * most VBALLOON_BITMAP_MAX_REQ_BYTES long.  Records ascend: one whose
 * base_pfn lies below the end (base_pfn + nr_pages) of a record the device
 * served earlier in the request is dropped ("overlap").
 */
struct vballoon_bitmap_hdr {
	__le64 base_pfn;	/* first page covered, 4 KiB frames */
	__le32 nr_pages;	/* pages covered by the bitmap that follows */
	__le32 reserved;	/* must be zero */
};
#define VBALLOON_BITMAP_ALIGN_PAGES	64
/* 1 GiB of guest memory per record: a 32 KiB bitmap. */
#define VBALLOON_BITMAP_MAX_PAGES	(1U << 18)
/* One request: room for one full-size record (32 KiB + 16) and more. */
#define VBALLOON_BITMAP_MAX_REQ_BYTES	(64 * 1024)
/*
 * Runs (maximal sequences of set bits within a record) in one inflate or
 * deflate request: each costs the host one call, and a 64 KiB request of
 * alternating bits would hold 262144.  The device drops the runs after
 * this many, counted once as "too-large"; the limit matches chunk mode's.
 * Free page bitmaps have none.
 */
#define VBALLOON_BITMAP_MAX_RUNS_PER_REQ	4096

/*
 * CHUNK_TRANSFER: a request is an array of chunks, each a run of physically
 * contiguous guest memory.  addr and len are in bytes, both multiples of
 * VBALLOON_PAGE_SIZE, len non-zero, addr + len must not wrap.  A request is
 * a non-zero whole number of chunks (its length a multiple of 16 bytes).
 */
struct vballoon_chunk {
	__le64 addr;		/* guest-physical start, bytes */
	__le64 len;		/* length, bytes */
};
/* Chunks in one request: 4096 chunks = 64 KiB of payload. */
#define VBALLOON_CHUNK_MAX_PER_REQ	4096

/*
 * SG: a request is a chain of device-readable descriptors, each of which
 * is itself one chunk (its address and length, with the same rules as a
 * vballoon_chunk).  The host never reads or maps the memory behind them;
 * it only uses the addresses.  A chain holds at most the queue size.
 */
#define VBALLOON_SG_MAX_LEN		(1ULL << 31)	/* per descriptor, bytes */

/*
 * FREE_PAGE_BITMAP: the guest describes its free memory to the host in
 * one go, for live migration, without allocating it (upstream's
 * FREE_PAGE_HINT allocates the free pages instead).  It uses upstream's
 * free page virtqueue (present when the device offers FREE_PAGE_HINT or
 * FREE_PAGE_BITMAP) and config field free_page_hint_cmd_id, with
 * upstream's command ids.  When the host writes a new command id of at
 * least VBALLOON_FREE_PAGE_CMD_MIN, the guest walks its buddy free lists
 * and sends device-readable buffers on that queue: a 4-byte buffer with
 * the command id (__le32), then one or more requests in the PAGE_BITMAP
 * format (records of vballoon_bitmap_hdr and words, each request at most
 * VBALLOON_BITMAP_MAX_REQ_BYTES), where a set bit means the 4 KiB frame
 * was free when the walk passed it, then a 4-byte buffer with
 * VBALLOON_FREE_PAGE_CMD_STOP.  The host drops (and counts) bitmap
 * requests that do not follow the id it asked for.  A new id or STOP from
 * the host ends a walk early; DONE needs no answer (the guest holds
 * nothing).  With both FREE_PAGE_HINT and FREE_PAGE_BITMAP negotiated the
 * guest answers with the bitmap.
 */
#define VBALLOON_FREE_PAGE_CMD_STOP	0
#define VBALLOON_FREE_PAGE_CMD_DONE	1
#define VBALLOON_FREE_PAGE_CMD_MIN	2
/* The size of an id buffer: a bitmap request is always longer. */
#define VBALLOON_FREE_PAGE_ID_BYTES	4

/*
 * The largest block the guest driver allocates in one piece (MAX_ORDER-1
 * on x86).  A guest-side constant: the host does not check it, since
 * adjacent blocks may be merged into one longer chunk, descriptor or run.
 */
#define VBALLOON_MAX_BLOCK_ORDER	10

#endif /* VBALLOON_PROTO_H */
