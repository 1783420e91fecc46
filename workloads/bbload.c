// SPDX-License-Identifier: GPL-2.0
/*
 * bbload - memory workloads that run inside balloonbench guests.
 *
 *   bbload touch SIZE        allocate SIZE, write every page, free it again,
 *                            so that the host really backs that memory
 *   bbload churn SIZE SECS   allocate, touch and free SIZE repeatedly for
 *                            SECS seconds (pressure while the balloon moves)
 *   bbload hold SIZE         allocate and touch SIZE, then sleep until killed
 *   bbload sieve SIZE        allocate and touch SIZE page by page, give every
 *                            other page back, then sleep until killed: the
 *                            free memory it leaves is single pages, with no
 *                            free block of order 1 or more among them
 *   bbload verify SIZE SECS  write a pattern unique to each page of SIZE,
 *                            wait SECS, read it all back; exit 1 if any
 *                            page lost its data (a host that discarded
 *                            memory the guest was using)
 *   bbload guard SIZE DIR    write a pattern unique to each page of SIZE,
 *                            create DIR/ready, wait until DIR/stop exists,
 *                            read it all back (exit 1 if a page lost it)
 *   bbload writer SIZE DIR   until DIR/stop exists, keep replacing 4 MiB
 *                            pieces of a SIZE working set with freshly
 *                            mapped memory (pages just taken from the
 *                            free lists) holding a pattern of their round;
 *                            every piece is checked before it is replaced
 *                            and all of them at the end, so a write lost
 *                            at any moment shows; DIR/ready once SIZE is
 *                            written (exit 1 if a piece lost data)
 *   bbload selftest          the checks of guard and writer catch a page
 *                            read back as zeros, a page of an older round
 *                            and one word changed (exit 1 if one passes)
 *   bbload meminfo           /proc/meminfo and /proc/vmstat as JSON
 *
 * SIZE takes a K, M or G suffix.  Every command prints one JSON object on
 * stdout, which the harness parses; errors go to stderr with exit 1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	case '\0': break;
	default: return -1;
	}
	if (*end != '\0' && strcmp(end, "iB") != 0 && strcmp(end, "B") != 0)
		return -1;
	*out = v;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#define TOUCH_KEEP	1	/* leave the memory mapped */
#define TOUCH_SMALL	2	/* one page per fault: no transparent huge page */

/*
 * Map, write one word per page, and unmap unless TOUCH_KEEP.  Returns the
 * mapping's address (no longer valid once unmapped), or NULL with errno.
 */
static char *touch(uint64_t bytes, int flags)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t off;
	int err;

	if (p == MAP_FAILED)
		return NULL;
	/* EINVAL: a kernel without THP, where every fault is one page. */
	if ((flags & TOUCH_SMALL) && madvise(p, bytes, MADV_NOHUGEPAGE) &&
	    errno != EINVAL) {
		err = errno;
		munmap(p, bytes);
		errno = err;
		return NULL;
	}
	for (off = 0; off < bytes; off += PAGE)
		p[off] = (char)(off >> 12 | 1);
	if (!(flags & TOUCH_KEEP))
		munmap(p, bytes);
	return p;
}

static int cmd_touch(uint64_t bytes)
{
	double t0 = now_ms();

	if (!touch(bytes, 0)) {
		fprintf(stderr, "bbload: cannot map %llu bytes: %s\n",
			(unsigned long long)bytes, strerror(errno));
		return 1;
	}
	printf("{\"touched_bytes\": %llu, \"elapsed_ms\": %.3f}\n",
	       (unsigned long long)bytes, now_ms() - t0);
	return 0;
}

static int cmd_churn(uint64_t bytes, double secs)
{
	double t0 = now_ms(), end = t0 + secs * 1e3;
	unsigned long rounds = 0, failures = 0;

	while (now_ms() < end) {
		if (touch(bytes, 0))
			rounds++;
		else
			failures++;
	}
	printf("{\"rounds\": %lu, \"failures\": %lu, \"bytes_per_round\": %llu,"
	       " \"elapsed_ms\": %.3f}\n", rounds, failures,
	       (unsigned long long)bytes, now_ms() - t0);
	return 0;
}

static int cmd_hold(uint64_t bytes)
{
	if (!touch(bytes, TOUCH_KEEP)) {
		fprintf(stderr, "bbload: cannot map %llu bytes: %s\n",
			(unsigned long long)bytes, strerror(errno));
		return 1;
	}
	printf("{\"held_bytes\": %llu}\n", (unsigned long long)bytes);
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

static int cmd_sieve(uint64_t bytes)
{
	/* Small pages, so that neighbours in memory are neighbours here. */
	char *p = touch(bytes, TOUCH_KEEP | TOUCH_SMALL);
	uint64_t off, freed = 0;

	if (!p) {
		fprintf(stderr, "bbload: cannot map %llu bytes: %s\n",
			(unsigned long long)bytes, strerror(errno));
		return 1;
	}
	for (off = PAGE; off < bytes; off += 2 * PAGE) {
		if (madvise(p + off, PAGE, MADV_DONTNEED)) {
			fprintf(stderr, "bbload: MADV_DONTNEED: %s\n",
				strerror(errno));
			return 1;
		}
		freed += PAGE;
	}
	printf("{\"held_bytes\": %llu, \"freed_bytes\": %llu}\n",
	       (unsigned long long)(bytes - freed), (unsigned long long)freed);
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

/* The pattern of word w of the page at off: never zero, never repeated. */
static uint64_t pattern(uint64_t off, uint64_t w)
{
	return (off | w << 3) * 0x9e3779b97f4a7c15ULL | 1;
}

static int cmd_verify(uint64_t bytes, double secs)
{
	/* a few words per page: a page read back as zeros cannot pass */
	static const uint64_t words[] = { 0, 7, 255, 511 };
	uint64_t *p, off, bad = 0, w;
	struct timespec ts;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "bbload: cannot map %llu bytes: %s\n",
			(unsigned long long)bytes, strerror(errno));
		return 1;
	}
	for (off = 0; off + PAGE <= bytes; off += PAGE)
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++)
			p[off / 8 + words[w]] = pattern(off, words[w]);
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	for (off = 0; off + PAGE <= bytes; off += PAGE)
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++)
			if (p[off / 8 + words[w]] != pattern(off, words[w])) {
				bad++;
				break;
			}
	munmap(p, bytes);
	printf("{\"checked_pages\": %llu, \"bad_pages\": %llu}\n",
	       (unsigned long long)(bytes / PAGE), (unsigned long long)bad);
	return bad ? 1 : 0;
}

/* Write (or, with check, count the pages that lost) the pattern of seed. */
static uint64_t pattern_pass(uint64_t *p, uint64_t bytes, uint64_t seed,
			     int check)
{
	static const uint64_t words[] = { 0, 7, 255, 511 };
	uint64_t off, w, bad = 0;

	for (off = 0; off + PAGE <= bytes; off += PAGE)
		for (w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
			uint64_t v = (pattern(off, words[w]) ^
				      seed * 0xd6e8feb86659fd93ULL) | 1;

			if (!check) {
				p[off / 8 + words[w]] = v;
			} else if (p[off / 8 + words[w]] != v) {
				bad++;
				break;
			}
		}
	return bad;
}

static int exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int flag(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	return f && !fclose(f) ? 0 : -1;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *map_or_die(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		fprintf(stderr, "bbload: cannot map %llu bytes: %s\n",
			(unsigned long long)bytes, strerror(errno));
		exit(1);
	}
	return p;
}

static int cmd_guard(uint64_t bytes, const char *dir)
{
	uint64_t *p = map_or_die(bytes), bad;
	double t0 = now_ms();

	pattern_pass(p, bytes, 0, 0);
	if (flag(dir, "ready")) {
		fprintf(stderr, "bbload: cannot create %s/ready\n", dir);
		return 1;
	}
	while (!exists(dir, "stop"))
		nap_ms(50);
	bad = pattern_pass(p, bytes, 0, 1);
	printf("{\"checked_pages\": %llu, \"bad_pages\": %llu, "
	       "\"elapsed_ms\": %.3f}\n", (unsigned long long)(bytes / PAGE),
	       (unsigned long long)bad, now_ms() - t0);
	return bad ? 1 : 0;
}

#define WRITER_PIECE (4UL << 20)

static int cmd_writer(uint64_t bytes, const char *dir)
{
	uint64_t n = bytes / WRITER_PIECE ? bytes / WRITER_PIECE : 1;
	uint64_t **piece = calloc(n, sizeof(*piece));
	uint64_t *round = calloc(n, sizeof(*round));
	uint64_t i, r = 0, bad = 0, writes = 0, checked = 0;
	double t0 = now_ms();

	if (!piece || !round) {
		fprintf(stderr, "bbload: out of memory\n");
		return 1;
	}
	for (i = 0; !exists(dir, "stop"); i = (i + 1) % n) {
		if (i == 0)
			r++;
		if (piece[i]) {
			bad += pattern_pass(piece[i], WRITER_PIECE,
					    round[i] << 20 | i, 1);
			checked += WRITER_PIECE / PAGE;
			munmap(piece[i], WRITER_PIECE);
		}
		piece[i] = map_or_die(WRITER_PIECE);
		round[i] = r;
		pattern_pass(piece[i], WRITER_PIECE, r << 20 | i, 0);
		writes++;
		if (r == 1 && i == n - 1 && flag(dir, "ready")) {
			fprintf(stderr, "bbload: cannot create %s/ready\n",
				dir);
			return 1;
		}
		/* about 80 MiB/s: a rate a precopy migration can follow */
		nap_ms(50);
	}
	for (i = 0; i < n; i++)
		if (piece[i]) {
			bad += pattern_pass(piece[i], WRITER_PIECE,
					    round[i] << 20 | i, 1);
			checked += WRITER_PIECE / PAGE;
		}
	printf("{\"pieces_written\": %llu, \"checked_pages\": %llu, "
	       "\"bad_pages\": %llu, \"elapsed_ms\": %.3f}\n",
	       (unsigned long long)writes, (unsigned long long)checked,
	       (unsigned long long)bad, now_ms() - t0);
	return bad ? 1 : 0;
}

static int cmd_selftest(void)
{
	uint64_t bytes = 4 * PAGE, *p = map_or_die(bytes), *old;
	int fails = 0;

	old = map_or_die(bytes);
	pattern_pass(p, bytes, 7, 0);
	pattern_pass(old, bytes, 6, 0);
	fails += pattern_pass(p, bytes, 7, 1) != 0;	/* intact: 0 bad */
	memset(p, 0, PAGE);				/* page 0: zeros */
	fails += pattern_pass(p, bytes, 7, 1) != 1;
	memcpy(p + PAGE / 8, old + PAGE / 8, PAGE);	/* page 1: round 6 */
	fails += pattern_pass(p, bytes, 7, 1) != 2;
	p[2 * PAGE / 8 + 255] ^= 1 << 20;		/* page 2: one word */
	fails += pattern_pass(p, bytes, 7, 1) != 3;
	printf("{\"selftest_failures\": %d}\n", fails);
	return fails ? 1 : 0;
}

/* Print "key value" lines of FILE as JSON members; strip ':' and kB. */
static void print_kv(const char *file, const char *prefix, int *first)
{
	char line[256], key[128];
	unsigned long long val;
	FILE *f = fopen(file, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127[^: ]%*[: ]%llu", key, &val) != 2)
			continue;
		if (strstr(line, " kB"))
			val *= 1024;
		printf("%s\"%s%s\": %llu", *first ? "" : ", ", prefix, key,
		       val);
		*first = 0;
	}
	fclose(f);
}

static int cmd_meminfo(void)
{
	int first = 1;

	printf("{");
	print_kv("/proc/meminfo", "meminfo_", &first);
	print_kv("/proc/vmstat", "vmstat_", &first);
	printf("}\n");
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bbload touch SIZE | churn SIZE SECS | "
		"hold SIZE | sieve SIZE | verify SIZE SECS | guard SIZE DIR | "
		"writer SIZE DIR | selftest | meminfo\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t bytes = 0;

	if (argc == 2 && !strcmp(argv[1], "meminfo"))
		return cmd_meminfo();
	if (argc == 2 && !strcmp(argv[1], "selftest"))
		return cmd_selftest();
	if (argc < 3 || parse_size(argv[2], &bytes) || bytes == 0)
		return usage();
	if (argc == 3 && !strcmp(argv[1], "touch"))
		return cmd_touch(bytes);
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return cmd_hold(bytes);
	if (argc == 3 && !strcmp(argv[1], "sieve"))
		return cmd_sieve(bytes);
	if (argc == 4 && !strcmp(argv[1], "churn"))
		return cmd_churn(bytes, atof(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "guard"))
		return cmd_guard(bytes, argv[3]);
	if (argc == 4 && !strcmp(argv[1], "writer"))
		return cmd_writer(bytes, argv[3]);
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return cmd_verify(bytes, atof(argv[3]));
	return usage();
}
