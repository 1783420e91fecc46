// SPDX-License-Identifier: GPL-2.0
/*
 * One sample of the inflate scenario: touch guest memory and free it (so
 * the host really backs it), inflate the balloon by the row's size, wait
 * until the device reports the target, read the counters, deflate back.
 * And the floor no balloon can beat, measured in this process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "balloon.h"
#include "inflate.h"
#include "log.h"
#include "rptkeys.h"
#include "vm.h"

#define INFLATE_AGENT_TIMEOUT_MS 600000

/*
 * The floor no balloon can beat: the host discarding the same number of
 * touched bytes with one madvise call, in this process.
 */
int inflate_limit_sample(uint64_t bytes, json_t **sample, char *err,
				unsigned long len)
{
	const uint64_t huge = 2ULL << 20;
	unsigned long long t0, t1;
	char *map, *p;
	uint64_t off;

	/*
	 * Like QEMU's guest RAM: 2 MiB aligned and MADV_HUGEPAGE, so that the
	 * floor uses transparent huge pages exactly when guest RAM can.
	 */
	map = mmap(NULL, bytes + huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED) {
		snprintf(err, len, "limit: cannot map %llu bytes: %s",
			 (unsigned long long)bytes, strerror(errno));
		return -ENOMEM;
	}
	p = (char *)(((uintptr_t)map + huge - 1) & ~(uintptr_t)(huge - 1));
	madvise(p, bytes, MADV_HUGEPAGE);
	for (off = 0; off < bytes; off += 4096)
		p[off] = 1;
	t0 = bb_now_ns();
	if (madvise(p, bytes, MADV_DONTNEED)) {
		snprintf(err, len, "limit: madvise: %s", strerror(errno));
		munmap(map, bytes + huge);
		return -errno;
	}
	t1 = bb_now_ns();
	munmap(map, bytes + huge);
	*sample = json_pack("{s:f, s:f, s:I}", RK_INFLATE_MS, (t1 - t0) / 1e6,
			    RK_STAGE_DISCARD_MS, (t1 - t0) / 1e6,
			    RK_INFLATE_BYTES, (json_int_t)bytes);
	return 0;
}

#define GUEST_STATS "/sys/kernel/debug/vballoon/stats"
#define GUEST_RESET "/sys/kernel/debug/vballoon/reset"
#define BALLOON_PATH "/machine/peripheral/balloon0"

static json_t *inflate_guest_counters(struct inflate_ctx *c, char *err,
				      unsigned long len)
{
	json_t *obj;
	char *text = NULL;

	if (!c->guest_counters)
		return NULL;
	if (agent_read_file(&c->vm->agent, GUEST_STATS, &text,
			    INFLATE_AGENT_TIMEOUT_MS, err, len))
		return NULL;
	obj = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
	if (!obj)
		snprintf(err, len, "%s is not JSON", GUEST_STATS);
	free(text);
	return obj;
}

static json_t *inflate_host_counters(struct inflate_ctx *c, char *err,
				     unsigned long len)
{
	json_t *ret = NULL;

	if (!c->host_counters)
		return NULL;
	if (c->vm->ops->qmp(c->vm, "qom-get",
			    json_pack("{s:s, s:s}", "path", BALLOON_PATH,
				      "property", "stage-stats"),
			    &ret, 30000, err, len))
		return NULL;
	return ret;
}

/* Both sides' counters; the ones this row has must be readable. */
static int inflate_counters(struct inflate_ctx *c, json_t **guest,
			    json_t **host, char *err, unsigned long len)
{
	*guest = inflate_guest_counters(c, err, len);
	*host = inflate_host_counters(c, err, len);
	if ((c->guest_counters && !*guest) || (c->host_counters && !*host))
		return -EIO;
	return 0;
}

static int inflate_reset_counters(struct inflate_ctx *c, char *err,
				  unsigned long len)
{
	struct agent_result res;
	int rc = 0;

	if (c->guest_counters) {
		rc = agent_exec(&c->vm->agent, "echo 0 > " GUEST_RESET,
				INFLATE_AGENT_TIMEOUT_MS, &res, err, len);
		if (!rc && res.exitcode) {
			snprintf(err, len, "cannot reset %s", GUEST_RESET);
			rc = -EIO;
		}
		agent_result_free(&res);
	}
	if (!rc && c->host_counters)
		rc = c->vm->ops->qmp(c->vm, "qom-set",
				     json_pack("{s:s, s:s, s:b}", "path",
					       BALLOON_PATH, "property",
					       "stage-stats-reset", "value", 1),
				     NULL, 30000, err, len);
	return rc;
}

/* Touch and free guest memory so that the host backs it. */
static int inflate_touch(struct inflate_ctx *c, json_t *sample, char *err,
			 unsigned long len)
{
	char cmd[96];
	json_t *out;
	int rc;

	if (!c->touch)
		return 0;
	snprintf(cmd, sizeof(cmd), "bbload touch %llu",
		 (unsigned long long)c->touch);
	rc = agent_exec_json(&c->vm->agent, cmd, INFLATE_AGENT_TIMEOUT_MS,
			     &out, err, len);
	if (rc)
		return rc;
	json_object_set(sample, RK_TOUCH_MS, json_object_get(out, "elapsed_ms"));
	json_object_set_new(sample, RK_TOUCH_BYTES, json_integer(c->touch));
	json_decref(out);
	return 0;
}

/* Move the balloon to leave `actual` bytes; time it; note RSS and CPU. */
static int inflate_move(struct inflate_ctx *c, uint64_t actual,
			const char *what, json_t *sample, char *err,
			unsigned long len)
{
	double t0, ms = 0, cpu0 = 0, cpu1 = 0;
	uint64_t rss = 0;
	char key[64];
	int rc;

	vm_cpu_ms(c->vm, &cpu0);
	t0 = bb_now_ms();
	rc = balloon_set(c->vm, actual, err, len);
	if (!rc)
		rc = balloon_wait(c->vm, actual, c->cfg->step_timeout_ms, t0, &ms,
				  err, len);
	if (rc)
		return rc;
	vm_cpu_ms(c->vm, &cpu1);
	vm_rss_bytes(c->vm, &rss);
	snprintf(key, sizeof(key), "%s_ms", what);
	json_object_set_new(sample, key, json_real(ms));
	snprintf(key, sizeof(key), "qemu_cpu_%s_ms", what);
	json_object_set_new(sample, key, json_real(cpu1 - cpu0));
	snprintf(key, sizeof(key), "rss_after_%s_bytes", what);
	json_object_set_new(sample, key, json_integer((json_int_t)rss));
	return 0;
}

int inflate_one(struct inflate_ctx *c, json_t **out, char *err,
		       unsigned long len)
{
	json_t *sample = json_object(), *guest = NULL, *host = NULL;
	uint64_t rss0 = 0;
	int rc;

	rc = inflate_touch(c, sample, err, len);
	if (!rc)
		rc = inflate_reset_counters(c, err, len);
	if (rc)
		goto fail;
	vm_rss_bytes(c->vm, &rss0);
	json_object_set_new(sample, "rss_before_bytes", json_integer(rss0));
	json_object_set_new(sample, RK_INFLATE_BYTES, json_integer(c->inflate));
	rc = inflate_move(c, c->mem - c->inflate, "inflate", sample, err, len);
	if (rc)
		goto fail;
	rc = inflate_counters(c, &guest, &host, err, len);
	if (rc)
		goto fail;
	inflate_stages(sample, json_real_value(json_object_get(sample,
			RK_INFLATE_MS)), guest, host);
	json_object_set_new(sample, "rss_freed_bytes", json_integer(
		(json_int_t)rss0 - json_integer_value(json_object_get(sample,
			"rss_after_inflate_bytes"))));
	rc = inflate_move(c, c->mem, "deflate", sample, err, len);
	if (rc)
		goto fail;
	/* Reset once before the inflate: this snapshot holds both directions. */
	json_decref(guest);
	json_decref(host);
	rc = inflate_counters(c, &guest, &host, err, len);
	if (rc)
		goto fail;
	json_object_set_new(sample, "guest_counters", guest ? guest : json_null());
	json_object_set_new(sample, "host_counters", host ? host : json_null());
	*out = sample;
	return 0;
fail:
	json_decref(guest);
	json_decref(host);
	json_decref(sample);
	return rc;
}


void inflate_ctx_init(struct inflate_ctx *c, const struct bb_config *cfg,
		      struct vm *vm)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->vm = vm;
	c->mem = cfg->memory.bytes;
	c->inflate = unit_size_bytes(&cfg->inflate, c->mem);
	c->touch = unit_size_bytes(&cfg->touch, c->mem);
	c->guest_counters = !strcmp(cfg->driver, "vballoon");
	c->host_counters = !strcmp(cfg->qemu, "patched");
}
