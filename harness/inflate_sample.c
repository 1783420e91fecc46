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
#include "probe.h"
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

/* Profile the inflate (profile: on): perf on the emulator, data kept. */
static int inflate_perf_start(struct inflate_ctx *c, const char *what,
			      struct probe *perf, char *err, unsigned long len)
{
	char tag[64];

	if (strcmp(what, "inflate") || strcmp(c->cfg->profile, "on"))
		return 0;
	snprintf(tag, sizeof(tag), "%s-r%d", c->name, c->rep);
	return probe_start(perf, "perf", c->vm, c->rundir, tag, err, len);
}

/*
 * Move the balloon to leave `actual` bytes and time it: what_ms, the
 * emulator's CPU time and RSS (the qemu probe), how the end was seen.
 */
static int inflate_move(struct inflate_ctx *c, uint64_t actual,
			const char *what, json_t *sample, char *err,
			unsigned long len)
{
	struct probe q, perf = { 0 };
	json_t *got = json_object();
	const char *how = NULL;
	double t0, wall0, ms = 0;
	char key[64];
	int rc;

	rc = probe_start(&q, "qemu", c->vm, NULL, NULL, err, len);
	if (!rc)
		rc = inflate_perf_start(c, what, &perf, err, len);
	wall0 = bb_wall_ms();
	t0 = bb_now_ms();
	if (!rc)
		rc = balloon_set(c->vm, actual, err, len);
	if (!rc)
		rc = balloon_wait(c->vm, actual, c->cfg->step_timeout_ms, t0,
				  wall0, &ms, &how, err, len);
	if (!rc)
		rc = probe_sample(&q, got, err, len);
	if (!rc && perf.ops)
		rc = probe_sample(&perf, sample, err, len);
	probe_stop(&perf);
	probe_stop(&q);
	if (!rc) {
		snprintf(key, sizeof(key), "%s_ms", what);
		json_object_set_new(sample, key, json_real(ms));
		snprintf(key, sizeof(key), "%s_timed_by", what);
		json_object_set_new(sample, key, json_string(how));
		snprintf(key, sizeof(key), "qemu_cpu_%s_ms", what);
		json_object_set(sample, key, json_object_get(got, "qemu_cpu_ms"));
		snprintf(key, sizeof(key), "rss_after_%s_bytes", what);
		json_object_set(sample, key, json_object_get(got,
							     "qemu_rss_bytes"));
	}
	json_decref(got);
	return rc;
}

/* The row's counter probes: the driver's and the device's, if it has them. */
struct inflate_probes {
	struct probe driver;	/* vballoon.ko's debugfs counters */
	struct probe device;	/* the patched device's stage-stats */
};

static int inflate_probes_start(struct inflate_ctx *c, struct inflate_probes *p,
				char *err, unsigned long len)
{
	int rc = 0;

	memset(p, 0, sizeof(*p));
	if (c->guest_counters)
		rc = probe_start(&p->driver, "driver", c->vm, NULL, NULL, err,
				 len);
	if (!rc && c->host_counters)
		rc = probe_start(&p->device, "device", c->vm, NULL, NULL, err,
				 len);
	return rc;
}

/* Both sides' counters into out (null where the row has none). */
static int inflate_probes_sample(struct inflate_probes *p, json_t *out,
				 char *err, unsigned long len)
{
	int rc = 0;

	json_object_set_new(out, "guest_counters", json_null());
	json_object_set_new(out, "host_counters", json_null());
	if (p->driver.ops)
		rc = probe_sample(&p->driver, out, err, len);
	if (!rc && p->device.ops)
		rc = probe_sample(&p->device, out, err, len);
	return rc;
}

static int inflate_phases(struct inflate_ctx *c, struct inflate_probes *p,
			  json_t *sample, char *err, unsigned long len)
{
	json_t *mid = json_object();
	uint64_t rss0 = 0;
	int rc;

	probe_vm_rss_bytes(c->vm, &rss0);
	json_object_set_new(sample, "rss_before_bytes", json_integer(rss0));
	json_object_set_new(sample, RK_INFLATE_BYTES, json_integer(c->inflate));
	rc = inflate_move(c, c->mem - c->inflate, "inflate", sample, err, len);
	if (!rc)
		rc = inflate_probes_sample(p, mid, err, len);
	if (!rc) {
		inflate_stages(sample, json_number_value(json_object_get(sample,
			       RK_INFLATE_MS)), json_object_get(mid,
			       "guest_counters"), json_object_get(mid,
			       "host_counters"));
		json_object_set_new(sample, "rss_freed_bytes", json_integer(
			(json_int_t)rss0 - json_integer_value(json_object_get(
				sample, "rss_after_inflate_bytes"))));
		rc = inflate_move(c, c->mem, "deflate", sample, err, len);
	}
	/* Reset once before the inflate: this snapshot holds both directions. */
	if (!rc)
		rc = inflate_probes_sample(p, sample, err, len);
	json_decref(mid);
	return rc;
}

int inflate_one(struct inflate_ctx *c, json_t **out, char *err,
		unsigned long len)
{
	json_t *sample = json_object();
	struct inflate_probes p;
	int rc;

	memset(&p, 0, sizeof(p));
	rc = inflate_touch(c, sample, err, len);
	if (!rc)
		rc = inflate_probes_start(c, &p, err, len);
	if (!rc)
		rc = inflate_phases(c, &p, sample, err, len);
	probe_stop(&p.driver);
	probe_stop(&p.device);
	if (rc) {
		json_decref(sample);
		return rc;
	}
	*out = sample;
	return 0;
}

void inflate_ctx_init(struct inflate_ctx *c, const struct bb_config *cfg,
		      struct vm *vm)
{
	/* name, rep and rundir are the run's: kept */
	c->cfg = cfg;
	c->vm = vm;
	c->mem = cfg->memory.bytes;
	c->inflate = unit_size_bytes(&cfg->inflate, c->mem);
	c->touch = unit_size_bytes(&cfg->touch, c->mem);
	c->guest_counters = !strcmp(cfg->driver, "vballoon");
	c->host_counters = !strcmp(cfg->qemu, "patched");
}
