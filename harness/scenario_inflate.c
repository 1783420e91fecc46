// SPDX-License-Identifier: GPL-2.0
/*
 * inflate: seed 000's experiment.  Boot a guest, touch most of its memory
 * and free it (so the host really backs it), inflate the balloon by the
 * configured size, wait until the device reports the target, deflate back.
 * Once per matrix row (transfer mode), `repetitions` times per row.
 *
 * Each row boots its own VM: rows differ in emulator, device properties or
 * driver.  Repetitions share the row's VM; each starts by touching memory
 * again, so the host backs the guest as on a fresh one (deflated pages are
 * discarded on the host and come back only when touched).
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
#include "report.h"
#include "scenario.h"
#include "vm.h"

#define INFLATE_AGENT_TIMEOUT_MS 600000

/* What each row of the matrix runs. */
static const struct inflate_mode inflate_modes[] = {
	{ "stock", "stock", "stock", "", "", 0 },
	{ "legacy", "patched", "vballoon", "mode=legacy max_order=0", "", 0 },
	{ "bitmap", "patched", "vballoon", "mode=bitmap max_order=0",
	  "page-bitmap=on", 0 },
	{ "chunk", "patched", "vballoon", "mode=chunk max_order=0",
	  "chunk-transfer=on", 0 },
	{ "sg", "patched", "vballoon", "mode=sg max_order=0", "sg=on", 0 },
	{ "bitmap-order9", "patched", "vballoon", "mode=bitmap max_order=9",
	  "page-bitmap=on", 0 },
	{ "chunk-order9", "patched", "vballoon", "mode=chunk max_order=9",
	  "chunk-transfer=on", 0 },
	{ "sg-order9", "patched", "vballoon", "mode=sg max_order=9", "sg=on",
	  0 },
	{ "limit", "", "", "", "", 1 },
	{ NULL, NULL, NULL, NULL, NULL, 0 }
};

const struct inflate_mode *inflate_find_mode(const char *name)
{
	const struct inflate_mode *m;

	for (m = inflate_modes; m->name; m++)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

/* The row's configuration: the scenario with the mode's settings applied. */
void inflate_row_config(const struct bb_config *cfg, int row,
			struct bb_config *out)
{
	const struct inflate_mode *m;

	*out = *cfg;
	cfg_apply_row(out, row);
	m = inflate_find_mode(out->mode);
	if (!m)
		return;
	if (m->limit) {
		/* no VM: the report must not claim a QEMU or a driver */
		snprintf(out->qemu, sizeof(out->qemu), "none");
		snprintf(out->driver, sizeof(out->driver), "none");
		out->modparams[0] = out->device[0] = '\0';
		return;
	}
	snprintf(out->qemu, sizeof(out->qemu), "%s", m->qemu);
	snprintf(out->driver, sizeof(out->driver), "%s", m->driver);
	snprintf(out->modparams, sizeof(out->modparams), "%s", m->modparams);
	snprintf(out->device, sizeof(out->device), "%s", m->device);
}

/*
 * The floor no balloon can beat: the host discarding the same number of
 * touched bytes with one madvise call, in this process.
 */
static int inflate_limit_sample(uint64_t bytes, json_t **sample, char *err,
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
	*sample = json_pack("{s:f, s:f, s:I}", "inflate_ms", (t1 - t0) / 1e6,
			    "stage_host_discard_ms", (t1 - t0) / 1e6,
			    "inflate_bytes", (json_int_t)bytes);
	return 0;
}

#define GUEST_STATS "/sys/kernel/debug/vballoon/stats"
#define GUEST_RESET "/sys/kernel/debug/vballoon/reset"
#define BALLOON_PATH "/machine/peripheral/balloon0"

/* A row's VM and what it can report. */
struct inflate_ctx {
	const struct bb_config *cfg;	/* the row's configuration */
	struct vm *vm;			/* its VM */
	int guest_counters;		/* vballoon: debugfs stats exist */
	int host_counters;		/* patched QEMU: stage-stats exists */
	uint64_t mem;			/* guest RAM, bytes */
	uint64_t inflate;		/* balloon size to reach, bytes */
	uint64_t touch;			/* touched before each inflate, bytes */
};

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

	if (!c->touch)
		return 0;
	snprintf(cmd, sizeof(cmd), "bbload touch %llu",
		 (unsigned long long)c->touch);
	out = agent_exec_json(&c->vm->agent, cmd, INFLATE_AGENT_TIMEOUT_MS,
			      err, len);
	if (!out)
		return -EIO;
	json_object_set(sample, "touch_ms", json_object_get(out, "elapsed_ms"));
	json_object_set_new(sample, "touch_bytes", json_integer(c->touch));
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

static int inflate_one(struct inflate_ctx *c, json_t **out, char *err,
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
	json_object_set_new(sample, "inflate_bytes", json_integer(c->inflate));
	rc = inflate_move(c, c->mem - c->inflate, "inflate", sample, err, len);
	if (rc)
		goto fail;
	rc = inflate_counters(c, &guest, &host, err, len);
	if (rc)
		goto fail;
	inflate_stages(sample, json_real_value(json_object_get(sample,
			"inflate_ms")), guest, host);
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

static int inflate_row(const struct bb_config *rc_cfg, json_t *rpt, json_t *row,
		       char *err, unsigned long len)
{
	struct inflate_ctx c = { .cfg = rc_cfg };
	struct fleet f = { 0 };
	char accel[8];
	json_t *sample;
	int rep, rc;

	rc = scn_start_fleet(rc_cfg, &f, 1, accel, sizeof(accel), err, len);
	if (rc)
		return rc;
	c.vm = &f.vms[0];
	c.mem = rc_cfg->memory.bytes;
	c.inflate = unit_size_bytes(&rc_cfg->inflate, c.mem);
	c.touch = unit_size_bytes(&rc_cfg->touch, c.mem);
	c.guest_counters = !strcmp(rc_cfg->driver, "vballoon");
	c.host_counters = !strcmp(rc_cfg->qemu, "patched");
	rpt_note_qemu(rpt, rc_cfg->qemu, c.vm->qmp.version);
	for (rep = 0; rep < rc_cfg->repetitions && !rc; rep++) {
		rc = inflate_one(&c, &sample, err, len);
		if (rc)
			break;
		json_object_set_new(sample, "repetition", json_integer(rep));
		bb_info("%s: run %d/%d: inflate %.1f ms, deflate %.1f ms",
			json_string_value(json_object_get(row, "name")), rep + 1,
			rc_cfg->repetitions,
			json_real_value(json_object_get(sample, "inflate_ms")),
			json_real_value(json_object_get(sample, "deflate_ms")));
		rpt_add_run(row, sample);
	}
	fleet_destroy(&f);
	return rc;
}

static int inflate_limit_row(const struct bb_config *rc, json_t *row,
			     char *err, unsigned long len)
{
	uint64_t bytes = unit_size_bytes(&rc->inflate, rc->memory.bytes);
	json_t *sample = NULL;
	int rep, ret = 0;

	for (rep = 0; rep < rc->repetitions && !ret; rep++) {
		ret = inflate_limit_sample(bytes, &sample, err, len);
		if (!ret)
			rpt_add_run(row, sample);
	}
	return ret;
}

static int inflate_do_row(const struct bb_config *rc, json_t *rpt, json_t *row,
			  char *err, unsigned long len)
{
	const struct inflate_mode *m = inflate_find_mode(rc->mode);

	if (m && m->limit)
		return inflate_limit_row(rc, row, err, len);
	return inflate_row(rc, rpt, row, err, len);
}

static json_t *inflate_settings(const struct bb_config *rc)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "mode", rc->mode,
			 "qemu", rc->qemu, "driver", rc->driver,
			 "modparams", rc->modparams, "device", rc->device,
			 "inflate_bytes", (json_int_t)unit_size_bytes(
				&rc->inflate, rc->memory.bytes));
}

static int inflate_run(struct bb_config *cfg)
{
	struct bb_config rc;
	struct vm_spec tmpl = { 0 };
	char err[1024], accel[8], path[600], name[80];
	json_t *rpt, *row;
	int i, failed = 0;

	if (scn_fill_spec(cfg, "tcg", &tmpl, err, sizeof(err)) ||
	    vm_resolve_accel(cfg->accel, &tmpl, accel, sizeof(accel), err,
			     sizeof(err))) {
		bb_err("%s", err);
		return BB_EXIT_FAIL;
	}
	/* Every row runs on the accelerator resolved once, here. */
	snprintf(cfg->accel, sizeof(cfg->accel), "%s", accel);
	rpt = rpt_new(cfg, accel);
	for (i = 0; i < cfg->nrows && !bb_interrupted; i++) {
		inflate_row_config(cfg, i, &rc);
		cfg_row_name(cfg, i, name, sizeof(name));
		row = rpt_add_row(rpt, name, inflate_settings(&rc));
		bb_info("row %d/%d: %s", i + 1, cfg->nrows,
			json_string_value(json_object_get(row, "name")));
		if (!inflate_do_row(&rc, rpt, row, err, sizeof(err))) {
			rpt_summarize_row(row);
			continue;
		}
		bb_err("row %s: %s", json_string_value(json_object_get(row,
			"name")), err);
		rpt_add_error(rpt, json_string_value(json_object_get(row,
			"name")), err);
		rpt_summarize_row(row);
		failed = 1;
	}
	if (bb_interrupted)
		rpt_add_error(rpt, NULL, "interrupted");
	if (rpt_write(rpt, cfg->output_dir, cfg->name, path, sizeof(path))) {
		bb_err("cannot write the report under %s", cfg->output_dir);
		failed = 1;
	} else {
		inflate_print_table(rpt);
		printf("report: %s\n", path);
	}
	json_decref(rpt);
	if (bb_interrupted)
		return BB_EXIT_INTR;
	return failed ? BB_EXIT_FAIL : BB_EXIT_OK;
}

/* Does this QEMU's virtio-balloon-pci have property prop? */
static int inflate_qemu_has_prop(const char *qemu, const char *prop)
{
	char cmd[512], line[256];
	FILE *p;
	int found = 0;

	snprintf(cmd, sizeof(cmd), "'%s' -machine none -device "
		 "virtio-balloon-pci,help 2>/dev/null", qemu);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		if (strstr(line, prop) && line[strspn(line, " ")] == prop[0] &&
		    !strncmp(line + strspn(line, " "), prop, strlen(prop)))
			found = 1;
	pclose(p);
	return found;
}

/* Checks before anything boots: every row's files and device features. */
static int inflate_check(const struct bb_config *cfg, char *err,
			 unsigned long len)
{
	const struct inflate_mode *m;
	struct bb_config rc;
	struct vm_spec spec = { 0 };
	char prop[64];
	int i;

	for (i = 0; i < cfg->nrows; i++) {
		inflate_row_config(cfg, i, &rc);
		m = inflate_find_mode(rc.mode);
		if (m && m->limit)
			continue;
		if (scn_check_built(&rc, err, len) ||
		    scn_fill_spec(&rc, "tcg", &spec, err, len))
			return -EINVAL;
		if (!rc.device[0])
			continue;
		snprintf(prop, sizeof(prop), "%.*s",
			 (int)strcspn(rc.device, "=,"), rc.device);
		if (!inflate_qemu_has_prop(spec.qemu_bin, prop)) {
			snprintf(err, len, "row '%s': the device of %s does not "
				 "offer '%s' (run make to build the patched "
				 "QEMU)", rc.mode, spec.qemu_bin, prop);
			return -EINVAL;
		}
	}
	return 0;
}

const struct scenario_ops scenario_inflate = {
	.name = "inflate",
	.help = "seed 000: inflate most of a guest, per-stage breakdown per mode",
	.check = inflate_check,
	.run = inflate_run,
};
