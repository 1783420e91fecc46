// SPDX-License-Identifier: GPL-2.0
/*
 * inflate: seed 000's experiment.  Boot a guest, touch most of its memory
 * and free it (so the host really backs it), inflate the balloon by the
 * configured size, wait until the device reports the target, deflate back.
 * Once per matrix row (transfer mode), `repetitions` times per row.
 *
 * Each row boots its own VM: rows differ in emulator, device properties or
 * driver.  When all of them fit in memory at once, every VM stays up and
 * each repetition runs every row in a freshly shuffled order (seed in the
 * report), so drift during a run spreads over all rows; otherwise rows run
 * one after the other.  Repetitions share the row's VM; each starts by
 * touching memory again, so the host backs the guest as on a fresh one
 * (deflated pages are discarded on the host and come back only when
 * touched).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "inflate.h"
#include "log.h"
#include "order.h"
#include "report.h"
#include "rptkeys.h"
#include "scenario.h"
#include "vm.h"

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
		out->guest_cmdline[0] = '\0';
		return;
	}
	snprintf(out->qemu, sizeof(out->qemu), "%s", m->qemu);
	snprintf(out->driver, sizeof(out->driver), "%s", m->driver);
	snprintf(out->modparams, sizeof(out->modparams), "%s", m->modparams);
	snprintf(out->device, sizeof(out->device), "%s", m->device);
}

/* One row of a run: what it runs, its report row, and its VM. */
struct inflate_slot {
	struct bb_config cfg;		/* the row as it runs */
	json_t *row;			/* its report row (borrowed) */
	struct fleet fleet;		/* its VM while booted (n = 0 if not) */
	struct inflate_ctx ctx;		/* what its samples need */
	int limit;			/* the discard floor: no VM */
	int failed;			/* an error ended this row */
};

static const char *inflate_slot_name(const struct inflate_slot *s)
{
	return json_string_value(json_object_get(s->row, RK_NAME));
}

static void inflate_slot_fail(json_t *rpt, struct inflate_slot *s,
			      const char *err)
{
	bb_err("row %s: %s", inflate_slot_name(s), err);
	rpt_add_error(rpt, inflate_slot_name(s), err);
	s->failed = 1;
	fleet_destroy(&s->fleet);
}

static void inflate_slot_boot(json_t *rpt, struct inflate_slot *s)
{
	char err[1024], accel[8];

	if (s->limit || s->failed || s->fleet.n)
		return;
	if (scn_start_fleet(&s->cfg, &s->fleet, 1, accel, sizeof(accel), err,
			    sizeof(err))) {
		memset(&s->fleet, 0, sizeof(s->fleet));
		inflate_slot_fail(rpt, s, err);
		return;
	}
	inflate_ctx_init(&s->ctx, &s->cfg, &s->fleet.vms[0]);
	s->ctx.name = inflate_slot_name(s);
	rpt_note_qemu(rpt, s->cfg.qemu, s->fleet.vms[0].qmp.version);
}

/* Repetition rep of one row, the pos-th row to run in that repetition. */
static void inflate_slot_sample(json_t *rpt, struct inflate_slot *s, int rep,
				int pos)
{
	char err[1024];
	json_t *sample;
	int rc;

	if (s->failed)
		return;
	s->ctx.rep = rep;
	if (s->limit)
		rc = inflate_limit_sample(s->ctx.inflate, &sample, err,
					  sizeof(err));
	else
		rc = inflate_one(&s->ctx, &sample, err, sizeof(err));
	if (rc) {
		inflate_slot_fail(rpt, s, err);
		return;
	}
	json_object_set_new(sample, "repetition", json_integer(rep));
	json_object_set_new(sample, "position", json_integer(pos));
	bb_info("%s: run %d/%d: inflate %.1f ms, deflate %.1f ms",
		inflate_slot_name(s), rep + 1, s->cfg.repetitions,
		json_number_value(json_object_get(sample, RK_INFLATE_MS)),
		json_number_value(json_object_get(sample, RK_DEFLATE_MS)));
	rpt_add_run(s->row, sample);
}

/*
 * Interleave the rows when every row's VM fits at once in half of what
 * the host has available: each repetition then runs every row, in a fresh
 * shuffled order, so that drift during the run hits all rows alike.
 * Otherwise (the 8 GiB reproduction on a small host) rows run one after
 * the other, each booting, sampling and stopping its VM.
 */
static int inflate_interleave(const struct inflate_slot *s, int n)
{
	uint64_t need = 0, avail = 0;
	char line[128];
	FILE *fp;
	int i;

	for (i = 0; i < n; i++)
		if (!s[i].limit)
			need += s[i].cfg.memory.bytes;
	fp = fopen("/proc/meminfo", "r");
	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &avail) == 1)
			break;
	if (fp)
		fclose(fp);
	return need <= avail * 1024 / 2;
}

static void inflate_run_rows(json_t *rpt, struct inflate_slot *s, int n,
			     int reps, uint64_t seed, int interleave)
{
	int *idx = calloc((size_t)n, sizeof(*idx));
	int i, rep;

	if (!idx) {
		rpt_add_error(rpt, NULL, "out of memory");
		return;
	}
	for (i = 0; interleave && i < n && !bb_interrupted; i++)
		inflate_slot_boot(rpt, &s[i]);
	for (rep = 0; interleave && rep < reps && !bb_interrupted; rep++) {
		order_permute(idx, n, seed, rep);
		for (i = 0; i < n && !bb_interrupted; i++)
			inflate_slot_sample(rpt, &s[idx[i]], rep, i);
	}
	for (i = 0; !interleave && i < n && !bb_interrupted; i++) {
		bb_info("row %d/%d: %s", i + 1, n, inflate_slot_name(&s[i]));
		inflate_slot_boot(rpt, &s[i]);
		for (rep = 0; rep < reps && !bb_interrupted; rep++)
			inflate_slot_sample(rpt, &s[i], rep, 0);
		fleet_destroy(&s[i].fleet);
	}
	for (i = 0; i < n; i++) {
		fleet_destroy(&s[i].fleet);
		rpt_summarize_row(s[i].row);
	}
	free(idx);
}

static json_t *inflate_settings(const struct bb_config *rc)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "mode",
			 rc->mode, "qemu", rc->qemu, "driver", rc->driver,
			 "modparams", rc->modparams, "device", rc->device,
			 "guest_cmdline", rc->guest_cmdline,
			 RK_INFLATE_BYTES, (json_int_t)unit_size_bytes(
				&rc->inflate, rc->memory.bytes));
}

/* Every row's configuration and report row, before anything boots. */
static struct inflate_slot *inflate_slots(const struct bb_config *cfg,
					  json_t *rpt)
{
	struct inflate_slot *s = calloc((size_t)cfg->nrows, sizeof(*s));
	const struct inflate_mode *m;
	char name[96];
	int i;

	for (i = 0; s && i < cfg->nrows; i++) {
		inflate_row_config(cfg, i, &s[i].cfg);
		cfg_row_name(cfg, i, name, sizeof(name));
		s[i].row = rpt_add_row(rpt, name, inflate_settings(&s[i].cfg));
		m = inflate_find_mode(s[i].cfg.mode);
		s[i].limit = m && m->limit;
		s[i].ctx.inflate = unit_size_bytes(&s[i].cfg.inflate,
						   s[i].cfg.memory.bytes);
	}
	return s;
}

static int inflate_finish(const struct bb_config *cfg, json_t *rpt,
			  const char *rundir)
{
	char path[600];
	int failed = json_array_size(json_object_get(rpt, "errors")) != 0;

	/* The table first: it survives even a report that cannot be written. */
	inflate_print_table(rpt);
	switch (rpt_save(rpt, cfg->output_dir, cfg->name, rundir, path,
			 sizeof(path))) {
	case 0:
		printf("report: %s\n", path);
		break;
	case 1:
		printf("report: %s\n", path);	/* rpt_save said why there */
		failed = 1;
		break;
	default:
		failed = 1;
	}
	if (bb_interrupted)
		return BB_EXIT_INTR;
	return failed ? BB_EXIT_FAIL : BB_EXIT_OK;
}

static int inflate_run(struct bb_config *cfg)
{
	struct vm_spec tmpl = { 0 };
	struct inflate_slot *slots;
	char err[1024], accel[8], rundir[512] = "";
	uint64_t seed = order_seed();
	int interleave, rc, i;
	json_t *rpt;

	if (scn_fill_spec(cfg, "tcg", &tmpl, err, sizeof(err)) ||
	    vm_resolve_accel(cfg->accel, &tmpl, accel, sizeof(accel), err,
			     sizeof(err))) {
		bb_err("%s", err);
		return bb_interrupted ? BB_EXIT_INTR : BB_EXIT_FAIL;
	}
	/* Every row runs on the accelerator resolved once, here. */
	snprintf(cfg->accel, sizeof(cfg->accel), "%s", accel);
	rpt = rpt_new(cfg, accel);
	slots = inflate_slots(cfg, rpt);
	if (!slots) {
		bb_err("out of memory");
		json_decref(rpt);
		return BB_EXIT_FAIL;
	}
	/* perf data goes beside the report: its directory is made now. */
	if (!strcmp(cfg->profile, "on") &&
	    rpt_new_dir(cfg->output_dir, cfg->name, rundir, sizeof(rundir)))
		bb_warn("cannot make a run directory under %s; perf data goes "
			"to the current directory", cfg->output_dir);
	for (i = 0; i < cfg->nrows; i++)
		slots[i].ctx.rundir = rundir[0] ? rundir : NULL;
	interleave = inflate_interleave(slots, cfg->nrows);
	/* JSON integers are signed 64-bit: keep the seed exact and positive. */
	seed &= (1ULL << 53) - 1;
	json_object_set_new(rpt, "row_order", json_pack("{s:s, s:I}", "order",
			    interleave ? "interleaved" : "sequential", "seed",
			    (json_int_t)seed));
	if (interleave)
		bb_info("%d rows, interleaved: each repetition runs every row, "
			"in a new order (seed %llu)", cfg->nrows,
			(unsigned long long)seed);
	else
		bb_info("%d rows, one after the other: their VMs do not fit "
			"in memory at once", cfg->nrows);
	inflate_run_rows(rpt, slots, cfg->nrows, cfg->repetitions, seed,
			 interleave);
	if (bb_interrupted)
		rpt_add_error(rpt, NULL, "interrupted");
	rc = inflate_finish(cfg, rpt, rundir[0] ? rundir : NULL);
	free(slots);
	json_decref(rpt);
	return rc;
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

/* Is key set by the user, or varied by the matrix? */
static int inflate_key_given(const struct bb_config *cfg, const char *key)
{
	int k;

	for (k = 0; k < cfg->nkeys; k++)
		if (!strcmp(cfg->matrix_key[k], key))
			return 1;
	return cfg_is_set(cfg, key);
}

/*
 * A mode preset sets driver, QEMU, module parameters and device: a key
 * that says otherwise would be silently overridden, and the report would
 * echo what did not run.
 */
static int inflate_check_presets(const struct bb_config *cfg, char *err,
				 unsigned long len)
{
	static const char *const keys[] = {
		"driver", "qemu", "modparams", "device",
	};
	struct bb_config rc;
	unsigned int k;
	int i;

	for (i = 0; i < cfg->nrows; i++) {
		inflate_row_config(cfg, i, &rc);
		if (!strcmp(rc.mode, "custom"))
			continue;
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (inflate_key_given(cfg, keys[k])) {
				snprintf(err, len, "key '%s': mode '%s' sets it;"
					 " use mode 'custom' to choose it "
					 "yourself", keys[k], rc.mode);
				return -EINVAL;
			}
	}
	return 0;
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

	if (inflate_check_presets(cfg, err, len))
		return -EINVAL;
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

static const struct scn_figure inflate_figures[] = {
	{ RK_INFLATE_MS, 0, 1 },
	{ RK_DEFLATE_MS, 0, 1 },
	{ RK_STAGE_ALLOC_MS, 0, 0 },
	{ RK_STAGE_REST_MS, 0, 0 },
	{ NULL, 0, 0 },
};

/* The discard floor has no balloon to gate. */
static const char *const inflate_ungated[] = { "limit", NULL };

const struct scenario_ops scenario_inflate = {
	.name = "inflate",
	.help = "seed 000: inflate most of a guest, per-stage breakdown per mode",
	.check = inflate_check,
	.run = inflate_run,
	.figures = inflate_figures,
	.reference = "stock",
	.ungated = inflate_ungated,
	.table = inflate_print_table,
	.plot = inflate_plot,
};
