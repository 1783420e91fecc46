// SPDX-License-Identifier: GPL-2.0
/*
 * Scenario files: one option table drives parsing, defaults, validation,
 * `balloonbench list` and the echo of the resolved scenario into reports.
 */
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "scenario.h"

#define OFF(f) offsetof(struct bb_config, f), sizeof(((struct bb_config *)0)->f)
#define MiB (1LL << 20)
#define GiB (1LL << 30)

static const char *const accels[] = { "auto", "tcg", "kvm", NULL };
static const char *const backends[] = { "qemu", "libvirt", NULL };
static const char *const drivers[] = { "stock", "vballoon", "none", NULL };
static const char *const qemus[] = { "patched", "stock", NULL };
static const char *const onoff[] = { "off", "on", NULL };
static const char *const workloads[] = { "kbuild", "command", NULL };
/*
 * Strategies of both scenarios that have them: overcommit rows
 * (docs/overcommit.md) and migrate rows (docs/migrate.md); each scenario
 * accepts its own (cfg_strategy_ok).
 */
static const char *const strategies[] = {
	"none", "static", "mom", "reporting", "auto",
	"auto+reporting", "hint-stock", "hint", "bitmap", "inflate-first",
	NULL
};
static const char *const oc_strategies[] = {
	"none", "static", "mom", "reporting", "auto", "auto+reporting", NULL
};
static const char *const mig_strategies[] = {
	"none", "hint-stock", "hint", "bitmap", "inflate-first", "reporting",
	NULL
};
static const char *const pre_workloads[] = { "idle", "fresh", "busy", NULL };
static const char *const transports[] = { "unix", "tcp", NULL };
/* Inflate rows; see scenario_inflate.c for what each one sets. */
static const char *const modes[] = {
	"custom", "stock", "legacy", "bitmap", "chunk", "sg",
	"bitmap-order9", "chunk-order9", "sg-order9", "limit", NULL
};

const struct cfg_option cfg_options[] = {
	{ "scenario", CFG_STR, OFF(scenario), "boot", NULL, 0, 0, NULL, 0,
	  "what to run (see SCENARIOS above)", NULL },
	{ "name", CFG_STR, OFF(name), "", NULL, 0, 0, NULL, 0,
	  "report name (default: the scenario file's base name)", NULL },
	{ "vms", CFG_INT, OFF(vms), "1", "VMs", 1, 256, NULL, 1,
	  "VMs in the fleet", "boot,overcommit" },
	{ "memory", CFG_SIZE, OFF(memory), "1G", "bytes", 128 * MiB, 1024 * GiB,
	  NULL, 1, "guest RAM", NULL },
	{ "vcpus", CFG_INT, OFF(vcpus), "1", "vCPUs", 1, 64, NULL, 1,
	  "vCPUs per VM", NULL },
	{ "accel", CFG_ENUM, OFF(accel), "auto", NULL, 0, 0, accels, 0,
	  "accelerator: auto probes KVM with a real boot, falls back to TCG", NULL },
	{ "backend", CFG_ENUM, OFF(backend), "qemu", NULL, 0, 0, backends, 0,
	  "how VMs are run", NULL },
	{ "connect", CFG_STR, OFF(connect), "qemu:///system", NULL, 0, 0, NULL,
	  0, "libvirt URIs, comma-separated: VMs go round-robin over them", NULL },
	{ "driver", CFG_ENUM, OFF(driver), "stock", NULL, 0, 0, drivers, 1,
	  "guest balloon driver", NULL },
	{ "modparams", CFG_STR, OFF(modparams), "", NULL, 0, 0, NULL, 1,
	  "driver module parameters, \"k=v k2=v2\"", NULL },
	{ "guest_cmdline", CFG_STR, OFF(guest_cmdline), "", NULL, 0, 0, NULL,
	  1, "more guest kernel options, after balloonbench's own "
	  "(init_on_alloc=1: the distribution's page zeroing)", NULL },
	{ "qemu", CFG_ENUM, OFF(qemu), "patched", NULL, 0, 0, qemus, 1,
	  "patched: build/qemu; stock: the distribution's QEMU", NULL },
	{ "device", CFG_STR, OFF(device), "", NULL, 0, 0, NULL, 1,
	  "extra virtio-balloon properties, \"chunk-transfer=on,sg=on\"", NULL },
	{ "tb_size", CFG_SIZE, OFF(tb_size), "64M", "bytes", 16 * MiB, 2 * GiB,
	  NULL, 0, "TCG translation cache per VM (bounds host memory)", NULL },
	{ "boot_timeout", CFG_DURATION, OFF(boot_timeout_ms), "300s", "ms", 1000,
	  3600000, NULL, 0, "until every guest agent answers", NULL },
	{ "max_parallel_boots", CFG_INT, OFF(max_parallel_boots), "0", "VMs", 0,
	  256, NULL, 0, "QEMUs booting at once (0: number of CPUs)", NULL },
	{ "output_dir", CFG_STR, OFF(output_dir), "results", NULL, 0, 0, NULL, 0,
	  "reports go to DIR/NAME/STAMP/", NULL },
	{ "mode", CFG_ENUM, OFF(mode), "custom", NULL, 0, 0, modes, 1,
	  "inflate row preset (driver, QEMU, device and transfer mode)",
	  "inflate" },
	{ "touch", CFG_RSIZE, OFF(touch), "3/4", "bytes", 0, 1024 * GiB, NULL, 1,
	  "guest memory touched and freed before inflating (migrate: idle)",
	  "inflate,migrate" },
	{ "inflate", CFG_RSIZE, OFF(inflate), "7/8", "bytes", 4096, 1024 * GiB,
	  NULL, 1, "balloon size to reach (fraction of guest RAM allowed)",
	  "inflate" },
	{ "repetitions", CFG_INT, OFF(repetitions), "3", "runs", 1, 100, NULL, 0,
	  "samples (runs) per row", "inflate,overcommit,migrate" },
	{ "step_timeout", CFG_DURATION, OFF(step_timeout_ms), "600s", "ms", 1000,
	  3600000, NULL, 0, "one inflate or deflate to reach its target",
	  "inflate" },
	{ "profile", CFG_ENUM, OFF(profile), "off", NULL, 0, 0, onoff, 0,
	  "perf record -g and discard syscall counts of each inflate",
	  "inflate" },
	{ "host_memory", CFG_SIZE, OFF(host_memory), "0", "bytes", 0,
	  4096 * GiB, NULL, 0, "memory cgroup limit of all the run's QEMUs "
	  "(required)", "overcommit" },
	{ "swap", CFG_SIZE, OFF(swap), "0", "bytes", 0, 4096 * GiB, NULL, 0,
	  "swap file added for the run (0: none)", "overcommit" },
	{ "work_dir", CFG_STR, OFF(work_dir), "/var/tmp", NULL, 0, 0, NULL, 0,
	  "local directory for the run's swap file and scratch disks",
	  "overcommit" },
	{ "sample_interval", CFG_DURATION, OFF(sample_interval_ms), "1s", "ms",
	  100, 600000, NULL, 0, "host, cgroup, VM and guest probes every",
	  "overcommit" },
	{ "workload", CFG_ENUM, OFF(workload), "kbuild", NULL, 0, 0, workloads,
	  0, "what every guest runs: a kernel build, or 'command'",
	  "overcommit" },
	{ "command", CFG_STR, OFF(command), "", NULL, 0, 0, NULL, 0,
	  "workload 'command': run with sh -c in every guest", "overcommit" },
	{ "kbuild_config", CFG_STR, OFF(kbuild_config), "x86_64_defconfig",
	  NULL, 0, 0, NULL, 0, "kernel configuration of the build image "
	  "(make kbuild-image KBUILD_CONFIG=...)", "overcommit" },
	{ "targets", CFG_STR, OFF(targets), "vmlinux", NULL, 0, 0, NULL, 0,
	  "make targets: the whole kernel, or directories \"kernel/ mm/\"",
	  "overcommit" },
	{ "jobs", CFG_INT, OFF(jobs), "0", "jobs", 0, 256, NULL, 0,
	  "make -j in each guest (0: its vCPUs)", "overcommit" },
	{ "scratch", CFG_SIZE, OFF(scratch), "8G", "bytes", 64 * MiB,
	  1024 * GiB, NULL, 0, "sparse build-output disk per VM", "overcommit" },
	{ "run_timeout", CFG_DURATION, OFF(run_timeout_ms), "7200s", "ms", 1000,
	  86400000, NULL, 0, "one run, until every guest's workload ends",
	  "overcommit" },
	{ "strategy", CFG_ENUM, OFF(strategy), "none", NULL, 0, 0, strategies,
	  1, "balloon strategy (overcommit: none|static|mom|reporting|auto|"
	  "auto+reporting; migrate: none|hint-stock|hint|bitmap|"
	  "inflate-first|reporting)", "overcommit,migrate" },
	{ "static_target", CFG_RSIZE, OFF(static_target), "3/4", "bytes",
	  64 * MiB, 1024 * GiB, NULL, 0, "static: guest memory after "
	  "ballooning, before the workload", "overcommit" },
	{ "mom_interval", CFG_DURATION, OFF(mom_interval_ms), "10s", "ms", 100,
	  3600000, NULL, 0, "mom: one policy step every", "overcommit" },
	{ "mom_pressure", CFG_PCT, OFF(mom_pressure_pct), "20%", "%", 0, 100,
	  NULL, 0, "mom: shrink guests while host free memory is below",
	  "overcommit" },
	{ "mom_critical", CFG_PCT, OFF(mom_critical_pct), "5%", "%", 0, 100,
	  NULL, 0, "mom: shrink twice as hard below", "overcommit" },
	{ "mom_guest_free", CFG_PCT, OFF(mom_guest_free_pct), "20%", "%", 0,
	  100, NULL, 0, "mom: never shrink a guest below this free memory",
	  "overcommit" },
	{ "mom_max_step", CFG_PCT, OFF(mom_max_step_pct), "5%", "%", 0, 100,
	  NULL, 0, "mom: largest step, of the guest's memory", "overcommit" },
	{ "mom_min_step", CFG_PCT, OFF(mom_min_step_pct), "0.25%", "%", 0, 100,
	  NULL, 0, "mom: skip steps smaller than this", "overcommit" },
	{ "bandwidth", CFG_INT, OFF(bandwidth_mbit), "10000", "Mbit/s", 1,
	  1000000, NULL, 1, "migration bandwidth cap (max-bandwidth)",
	  "migrate" },
	{ "downtime_limit", CFG_DURATION, OFF(downtime_limit_ms), "300ms", "ms",
	  1, 60000, NULL, 0, "migration downtime limit (downtime-limit)",
	  "migrate" },
	{ "pre_workload", CFG_ENUM, OFF(pre_workload), "idle", NULL, 0, 0,
	  pre_workloads, 1, "idle: 'touch' written and freed; fresh: never "
	  "touched; busy: a writer runs during the migration", "migrate" },
	{ "transport", CFG_ENUM, OFF(transport), "unix", NULL, 0, 0, transports,
	  0, "migration stream: a unix socket or loopback TCP", "migrate" },
	{ "migrate_timeout", CFG_DURATION, OFF(migrate_timeout_ms), "600s",
	  "ms", 1000, 86400000, NULL, 0, "one migration, until it completes",
	  "migrate" },
	{ "guard", CFG_RSIZE, OFF(guard), "1/64", "bytes", 4096, 1024 * GiB,
	  NULL, 0, "a pattern written before and checked after the migration",
	  "migrate" },
	{ "writer", CFG_RSIZE, OFF(writer), "1/16", "bytes", 4 * MiB,
	  1024 * GiB, NULL, 0, "busy: memory the writer rewrites (fresh "
	  "allocations) during the migration, checked after", "migrate" },
	{ NULL, 0, 0, 0, NULL, NULL, 0, 0, NULL, 0, NULL, NULL }
};

static const struct cfg_option *cfg_find(const char *name)
{
	const struct cfg_option *o;

	for (o = cfg_options; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

/* Remember that the user set o, so that checks can tell it from a default. */
static void cfg_mark(struct bb_config *cfg, const struct cfg_option *o)
{
	cfg->set_keys |= 1ULL << (o - cfg_options);
}

int cfg_is_set(const struct bb_config *cfg, const char *key)
{
	const struct cfg_option *o = cfg_find(key);

	return o && (cfg->set_keys & (1ULL << (o - cfg_options)));
}

static int cfg_parse_enum(const struct cfg_option *o, const char *val,
			  char *dst, char *why, unsigned long len)
{
	const char *const *c;
	int n = 0;

	for (c = o->choices; *c; c++)
		if (!strcmp(*c, val)) {
			snprintf(dst, o->size, "%s", val);
			return 0;
		}
	n = snprintf(why, len, "'%s' is not one of:", val);
	for (c = o->choices; *c && n > 0 && (unsigned long)n < len; c++)
		n += snprintf(why + n, len - n, " %s", *c);
	return -EINVAL;
}

static int cfg_parse_int(const struct cfg_option *o, const char *val,
			 int *dst, char *why, unsigned long len)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(val, &end, 10);
	if (errno || end == val || *end) {
		snprintf(why, len, "'%s' is not an integer", val);
		return -EINVAL;
	}
	if (v < o->min || v > o->max) {
		snprintf(why, len, "%lld is out of range [%lld, %lld]", v,
			 o->min, o->max);
		return -EINVAL;
	}
	*dst = (int)v;
	return 0;
}

static int cfg_parse_size(const struct cfg_option *o, const char *val,
			  struct bb_size *dst, char *why, unsigned long len)
{
	const char *reason = NULL;
	char a[32], b[32];

	if (unit_parse_size(val, o->type == CFG_RSIZE, dst, &reason)) {
		snprintf(why, len, "'%s': %s", val, reason);
		return -EINVAL;
	}
	if (dst->den == 0 &&
	    (dst->bytes < (uint64_t)o->min || dst->bytes > (uint64_t)o->max)) {
		snprintf(why, len, "'%s' is out of range [%s, %s]", val,
			 unit_fmt_size(o->min, a, sizeof(a)),
			 unit_fmt_size(o->max, b, sizeof(b)));
		return -EINVAL;
	}
	return 0;
}

/* 20, "20%", "0.25%": a percentage, stored as a double. */
static int cfg_parse_pct(const struct cfg_option *o, const char *val,
			 double *dst, char *why, unsigned long len)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	if (*end == '%')
		end++;
	if (errno || end == val || *end || v != v) {
		snprintf(why, len, "'%s' is not a percentage", val);
		return -EINVAL;
	}
	if (v < o->min || v > o->max) {
		snprintf(why, len, "%g%% is out of range [%lld%%, %lld%%]", v,
			 o->min, o->max);
		return -EINVAL;
	}
	*dst = v;
	return 0;
}

static int cfg_parse_value(const struct cfg_option *o, const char *val,
			   struct bb_config *cfg, char *why, unsigned long len)
{
	char *field = (char *)cfg + o->offset;
	const char *reason = NULL;
	uint64_t ms;

	switch (o->type) {
	case CFG_INT:
		return cfg_parse_int(o, val, (int *)field, why, len);
	case CFG_SIZE:
	case CFG_RSIZE:
		return cfg_parse_size(o, val, (struct bb_size *)field, why,
				      len);
	case CFG_ENUM:
		return cfg_parse_enum(o, val, field, why, len);
	case CFG_STR:
		if (strlen(val) >= o->size) {
			snprintf(why, len, "longer than %lu characters",
				 o->size - 1);
			return -EINVAL;
		}
		snprintf(field, o->size, "%s", val);
		return 0;
	case CFG_PCT:
		return cfg_parse_pct(o, val, (double *)field, why, len);
	case CFG_DURATION:
		if (unit_parse_duration_ms(val, &ms, &reason)) {
			snprintf(why, len, "'%s': %s", val, reason);
			return -EINVAL;
		}
		if (ms < (uint64_t)o->min || ms > (uint64_t)o->max) {
			snprintf(why, len, "'%s' is out of range [%llds, %llds]",
				 val, o->min / 1000, o->max / 1000);
			return -EINVAL;
		}
		*(uint64_t *)field = ms;
		return 0;
	}
	return -EINVAL;
}

void cfg_defaults(struct bb_config *cfg)
{
	const struct cfg_option *o;
	char why[256];

	memset(cfg, 0, sizeof(*cfg));
	for (o = cfg_options; o->name; o++)
		if (cfg_parse_value(o, o->def, cfg, why, sizeof(why)))
			abort();	/* a bad default is a programming error */
	cfg->nrows = 1;
}

int cfg_set(struct bb_config *cfg, const char *key, const char *val,
	    char *err, unsigned long len)
{
	const struct cfg_option *o = cfg_find(key);
	char why[512];

	if (!o) {
		snprintf(err, len, "unknown key '%s' (see balloonbench list)",
			 key);
		return -EINVAL;
	}
	if (cfg_parse_value(o, val, cfg, why, sizeof(why))) {
		snprintf(err, len, "key '%s': %s", key, why);
		return -EINVAL;
	}
	cfg_mark(cfg, o);
	return 0;
}

/* A JSON scalar as the string the option parsers take. */
static int cfg_json_text(const struct cfg_option *o, json_t *v, char *buf,
			 unsigned long len, char *why, unsigned long wlen)
{
	int numeric = o->type == CFG_INT || o->type == CFG_SIZE ||
		      o->type == CFG_RSIZE || o->type == CFG_DURATION ||
		      o->type == CFG_PCT;

	if (json_is_string(v)) {
		if (o->type == CFG_INT) {
			snprintf(why, wlen, "expected an integer, got a string");
			return -EINVAL;
		}
		if (json_string_length(v) >= len) {
			snprintf(why, wlen, "longer than %lu characters",
				 len - 1);
			return -EINVAL;
		}
		snprintf(buf, len, "%s", json_string_value(v));
		return 0;
	}
	if (json_is_integer(v) && numeric) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return 0;
	}
	if (json_is_real(v) &&
	    (o->type == CFG_DURATION || o->type == CFG_PCT)) {
		snprintf(buf, len, "%g", json_real_value(v));
		return 0;
	}
	snprintf(why, wlen, "expected %s",
		 o->type == CFG_INT ? "an integer" :
		 numeric ? "a number or a string with a unit" : "a string");
	return -EINVAL;
}

static int cfg_load_knob(const char *key, json_t *vals, struct bb_config *cfg,
			 int k, char *err, unsigned long len)
{
	const struct cfg_option *o = cfg_find(key);
	struct bb_config scratch;
	char buf[CFG_STR_LEN], why[512];
	json_t *v;
	size_t i, j;

	if (!o || !o->matrix) {
		snprintf(err, len, "key 'matrix.%s': not a key a matrix can "
			 "vary (see balloonbench list)", key);
		return -EINVAL;
	}
	if (!json_is_array(vals) || json_array_size(vals) == 0 ||
	    json_array_size(vals) > CFG_MAX_ROWS) {
		snprintf(err, len, "key 'matrix.%s': expected an array of 1 "
			 "to %d values", key, CFG_MAX_ROWS);
		return -EINVAL;
	}
	json_array_foreach(vals, i, v) {
		scratch = *cfg;
		if (cfg_json_text(o, v, buf, sizeof(buf), why, sizeof(why)) ||
		    cfg_parse_value(o, buf, &scratch, why, sizeof(why))) {
			snprintf(err, len, "key 'matrix.%s[%zu]': %s", key, i,
				 why);
			return -EINVAL;
		}
		if (strlen(buf) >= sizeof(cfg->vals[k][0])) {
			snprintf(err, len, "key 'matrix.%s[%zu]': value too "
				 "long for a row name", key, i);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->vals[k][j], buf)) {
				snprintf(err, len, "key 'matrix.%s[%zu]': '%s' "
					 "appears twice", key, i, buf);
				return -EINVAL;
			}
		memcpy(cfg->vals[k][i], buf, strlen(buf) + 1);
	}
	snprintf(cfg->matrix_key[k], sizeof(cfg->matrix_key[k]), "%s", key);
	cfg->nvals[k] = (int)json_array_size(vals);
	return 0;
}

/* "matrix": {"KEY": [values]} or two such keys (a sweep: mode x size). */
static int cfg_load_matrix(json_t *m, struct bb_config *cfg, char *err,
			   unsigned long len)
{
	const char *key;
	json_t *vals;
	int k = 0;

	if (!json_is_object(m) || json_object_size(m) < 1 ||
	    json_object_size(m) > 2) {
		snprintf(err, len, "key 'matrix': expected an object with one "
			 "or two keys, e.g. {\"mode\": [\"stock\", \"chunk\"]}");
		return -EINVAL;
	}
	json_object_foreach(m, key, vals)
		if (cfg_load_knob(key, vals, cfg, k++, err, len))
			return -EINVAL;
	cfg->nkeys = k;
	cfg->nrows = cfg->nvals[0] * (k == 2 ? cfg->nvals[1] : 1);
	if (cfg->nrows > CFG_MAX_ROWS) {
		snprintf(err, len, "key 'matrix': %d rows, at most %d",
			 cfg->nrows, CFG_MAX_ROWS);
		return -EINVAL;
	}
	return 0;
}

static int cfg_load_json(json_t *root, struct bb_config *cfg, char *err,
			 unsigned long len)
{
	const struct cfg_option *o;
	const char *key;
	json_t *v;
	char buf[CFG_STR_LEN], why[512];

	if (!json_is_object(root)) {
		snprintf(err, len, "the top level must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "matrix")) {
			if (cfg_load_matrix(v, cfg, err, len))
				return -EINVAL;
			continue;
		}
		if (!strcmp(key, "comment"))
			continue;	/* free text for humans */
		o = cfg_find(key);
		if (!o) {
			snprintf(err, len, "key '%s': unknown key (see "
				 "balloonbench list)", key);
			return -EINVAL;
		}
		if (cfg_json_text(o, v, buf, sizeof(buf), why, sizeof(why)) ||
		    cfg_parse_value(o, buf, cfg, why, sizeof(why))) {
			snprintf(err, len, "key '%s': %s", key, why);
			return -EINVAL;
		}
		cfg_mark(cfg, o);
	}
	return cfg_validate(cfg, err, len);
}

static void cfg_prefix_error(const char *origin, char *err, unsigned long len)
{
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s: %s", origin, err);
	snprintf(err, len, "%s", tmp);
}

int cfg_load_string(const char *json, const char *origin,
		    struct bb_config *cfg, char *err, unsigned long len)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	cfg_defaults(cfg);
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, len, "%s:%d:%d: invalid JSON: %s", origin,
			 jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	rc = cfg_load_json(root, cfg, err, len);
	json_decref(root);
	if (rc)
		cfg_prefix_error(origin, err, len);
	return rc;
}

int cfg_load_file(const char *path, struct bb_config *cfg, char *err,
		  unsigned long len)
{
	const char *base = strrchr(path, '/');
	char *text = NULL;
	size_t cap = 0;
	FILE *f;
	int rc;

	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		snprintf(err, len, "%s: cannot open: %s", path, strerror(errno));
		return rc;
	}
	rc = getdelim(&text, &cap, '\0', f) < 0 ? -EIO : 0;
	fclose(f);
	if (rc) {
		free(text);
		snprintf(err, len, "%s: cannot read", path);
		return rc;
	}
	rc = cfg_load_string(text, path, cfg, err, len);
	free(text);
	if (!rc && !cfg->name[0]) {
		snprintf(cfg->name, sizeof(cfg->name), "%s", base ? base + 1 : path);
		cfg->name[strcspn(cfg->name, ".")] = '\0';
	}
	return rc;
}

/*
 * A fraction of guest RAM that comes to less than a page is a mistake, not
 * a no-op: the balloon moves whole pages.
 */
static int cfg_check_fraction(const char *key, const struct bb_size *s,
			      uint64_t ram, char *err, unsigned long len)
{
	if (s->den && unit_size_bytes(s, ram) < 4096) {
		snprintf(err, len, "key '%s': the fraction comes to %llu "
			 "bytes, less than one page", key,
			 (unsigned long long)unit_size_bytes(s, ram));
		return -EINVAL;
	}
	return 0;
}

/* Is v one of list's values? */
static int cfg_in(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (!strcmp(*list, v))
			return 1;
	return 0;
}

/* Each scenario with strategies accepts its own. */
static int cfg_strategy_ok(const struct bb_config *cfg, char *err,
			   unsigned long len)
{
	const char *const *own = NULL;
	const char *const *c;
	unsigned long n;

	if (!strcmp(cfg->scenario, "overcommit"))
		own = oc_strategies;
	else if (!strcmp(cfg->scenario, "migrate"))
		own = mig_strategies;
	if (!own || cfg_in(own, cfg->strategy))
		return 0;
	n = (unsigned long)snprintf(err, len, "key 'strategy': '%s' is not a "
				    "strategy of the %s scenario (", cfg->strategy,
				    cfg->scenario);
	for (c = own; *c && n < len; c++)
		n += (unsigned long)snprintf(err + n, len - n, "%s%s",
					     c == own ? "" : "|", *c);
	if (n < len)
		snprintf(err + n, len - n, ")");
	return -EINVAL;
}

/* The migrate keys that only make sense together. */
static int cfg_validate_migrate(const struct bb_config *cfg, char *err,
				unsigned long len)
{
	uint64_t ram = cfg->memory.bytes;

	if (strcmp(cfg->scenario, "migrate"))
		return 0;
	if (cfg_check_fraction("guard", &cfg->guard, ram, err, len) ||
	    cfg_check_fraction("writer", &cfg->writer, ram, err, len))
		return -EINVAL;
	if (unit_size_bytes(&cfg->guard, ram) +
	    (strcmp(cfg->pre_workload, "busy") ? 0 :
	     unit_size_bytes(&cfg->writer, ram)) > ram / 2) {
		snprintf(err, len, "key '%s': guard%s take more than half "
			 "of the guest's memory", strcmp(cfg->pre_workload,
			 "busy") ? "guard" : "writer", strcmp(cfg->pre_workload,
			 "busy") ? "" : " and writer");
		return -EINVAL;
	}
	return 0;
}

/* The overcommit keys that only make sense together. */
static int cfg_validate_overcommit(const struct bb_config *cfg, char *err,
				   unsigned long len)
{
	uint64_t ram = cfg->memory.bytes;
	char a[32];

	if (strcmp(cfg->scenario, "overcommit"))
		return 0;
	if (!cfg->host_memory.bytes) {
		snprintf(err, len, "key 'host_memory': the overcommit scenario "
			 "needs a host memory limit (e.g. \"6G\")");
		return -EINVAL;
	}
	if (!strcmp(cfg->workload, "command") && !cfg->command[0]) {
		snprintf(err, len, "key 'command': workload 'command' needs a "
			 "command to run in every guest");
		return -EINVAL;
	}
	if (!strcmp(cfg->workload, "kbuild") &&
	    !cfg->targets[strspn(cfg->targets, " ")]) {
		snprintf(err, len, "key 'targets': no make target");
		return -EINVAL;
	}
	if (cfg->targets[strspn(cfg->targets, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./ ")]) {
		snprintf(err, len, "key 'targets': '%s' is not a list of make "
			 "targets (letters, digits, '_-./', spaces)",
			 cfg->targets);
		return -EINVAL;
	}
	if (cfg_check_fraction("static_target", &cfg->static_target, ram, err,
			       len))
		return -EINVAL;
	if (unit_size_bytes(&cfg->static_target, ram) >= ram) {
		snprintf(err, len, "key 'static_target': %s is not below the "
			 "guest's memory", unit_fmt_size(unit_size_bytes(
			 &cfg->static_target, ram), a, sizeof(a)));
		return -EINVAL;
	}
	if (cfg->mom_critical_pct > cfg->mom_pressure_pct) {
		snprintf(err, len, "key 'mom_critical': %g%% is above "
			 "mom_pressure (%g%%)", cfg->mom_critical_pct,
			 cfg->mom_pressure_pct);
		return -EINVAL;
	}
	if (cfg->mom_min_step_pct > cfg->mom_max_step_pct) {
		snprintf(err, len, "key 'mom_min_step': %g%% is above "
			 "mom_max_step (%g%%)", cfg->mom_min_step_pct,
			 cfg->mom_max_step_pct);
		return -EINVAL;
	}
	return 0;
}

/*
 * Guest kernel options: printable ASCII without the kernel's quoting (a
 * quote would swallow balloonbench's own options after it), and none of
 * the options the harness's boot depends on: bb.* (driver, modparams),
 * and init, console and panic, without which the guest never reports in
 * and the run ends only at boot_timeout.
 */
static int cfg_check_cmdline(const char *s, char *err, unsigned long len)
{
	static const char *const own[] = {
		"bb.", "init=", "rdinit=", "console=", "panic=",
	};
	const char *p;
	size_t i;

	for (p = s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			snprintf(err, len, "key 'guest_cmdline': byte %ld is "
				 "'%c': the kernel's quoting is not supported",
				 (long)(p - s) + 1, *p);
			return -EINVAL;
		}
		if (*p < 0x20 || *p > 0x7e) {
			snprintf(err, len, "key 'guest_cmdline': byte %ld "
				 "(0x%02x) is not printable ASCII",
				 (long)(p - s) + 1, (unsigned char)*p);
			return -EINVAL;
		}
		if (p != s && p[-1] != ' ')
			continue;
		for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
			if (!strncmp(p, own[i], strlen(own[i]))) {
				snprintf(err, len, "key 'guest_cmdline': '%s' "
					 "is balloonbench's own (bb.*: use "
					 "driver, modparams)", own[i]);
				return -EINVAL;
			}
	}
	return 0;
}

/* Checks across the keys of one row. */
static int cfg_validate_row(const struct bb_config *cfg, char *err,
			    unsigned long len)
{
	uint64_t ram = cfg->memory.bytes;
	char a[32], b[32];

	if (cfg_check_fraction("inflate", &cfg->inflate, ram, err, len) ||
	    cfg_check_fraction("touch", &cfg->touch, ram, err, len))
		return -EINVAL;
	if (unit_size_bytes(&cfg->inflate, ram) >= ram) {
		snprintf(err, len, "key 'inflate': %s is not below the guest's "
			 "memory (%s)",
			 unit_fmt_size(unit_size_bytes(&cfg->inflate, ram), a,
				       sizeof(a)),
			 unit_fmt_size(ram, b, sizeof(b)));
		return -EINVAL;
	}
	if (unit_size_bytes(&cfg->touch, ram) > ram) {
		snprintf(err, len, "key 'touch': larger than the guest's "
			 "memory (%s)", unit_fmt_size(ram, b, sizeof(b)));
		return -EINVAL;
	}
	if (cfg_check_cmdline(cfg->guest_cmdline, err, len) ||
	    cfg_strategy_ok(cfg, err, len) ||
	    cfg_validate_overcommit(cfg, err, len) ||
	    cfg_validate_migrate(cfg, err, len))
		return -EINVAL;
	if (!strcmp(cfg->backend, "libvirt") &&
	    !cfg->connect[strspn(cfg->connect, ", ")]) {
		snprintf(err, len, "key 'connect': no libvirt URI in '%s'",
			 cfg->connect);
		return -EINVAL;
	}
	return 0;
}

/* Value index of knob k for row. */
static int cfg_row_index(const struct bb_config *cfg, int row, int k)
{
	if (cfg->nkeys == 2)
		return k == 0 ? row / cfg->nvals[1] : row % cfg->nvals[1];
	return row;
}

int cfg_apply_row(struct bb_config *cfg, int row)
{
	char err[512];
	int k, rc = 0;

	for (k = 0; k < cfg->nkeys && !rc; k++)
		rc = cfg_set(cfg, cfg->matrix_key[k],
			     cfg->vals[k][cfg_row_index(cfg, row, k)], err,
			     sizeof(err));
	return rc;
}

void cfg_row_name(const struct bb_config *cfg, int row, char *buf,
		  unsigned long len)
{
	if (cfg->nkeys == 0)
		snprintf(buf, len, "%s", !strcmp(cfg->scenario, "overcommit") ||
			 !strcmp(cfg->scenario, "migrate") ? cfg->strategy :
			 cfg->mode);
	else if (cfg->nkeys == 1)
		snprintf(buf, len, "%s", cfg->vals[0][row]);
	else
		snprintf(buf, len, "%s %s=%s",
			 cfg->vals[0][cfg_row_index(cfg, row, 0)],
			 cfg->matrix_key[1],
			 cfg->vals[1][cfg_row_index(cfg, row, 1)]);
}

/* Does option o apply to scenario (o->only is a comma-separated list)? */
static int cfg_applies(const struct cfg_option *o, const char *scenario)
{
	size_t n = strlen(scenario);
	const char *p = o->only;

	if (!p)
		return 1;
	while (*p) {
		if (!strncmp(p, scenario, n) && (p[n] == ',' || !p[n]))
			return 1;
		p += strcspn(p, ",");
		p += *p == ',';
	}
	return 0;
}

/* "the boot scenario", "the boot and overcommit scenarios". */
static void cfg_only_text(const struct cfg_option *o, char *buf,
			  unsigned long len)
{
	const char *p = o->only;
	unsigned long n = 0;
	int many = strchr(p, ',') != NULL;

	n = (unsigned long)snprintf(buf, len, "the ");
	for (; *p && n + 6 < len; p++) {
		if (*p == ',') {
			n += (unsigned long)snprintf(buf + n, len - n, " and ");
			continue;
		}
		buf[n++] = *p;
		buf[n] = '\0';
	}
	snprintf(buf + n, len - n, " scenario%s", many ? "s" : "");
}

/* Every key the user set, and every matrix knob, must mean something. */
static int cfg_check_ownership(const struct bb_config *cfg, char *err,
			       unsigned long len)
{
	const struct cfg_option *o;
	char only[128];
	int k;

	for (o = cfg_options; o->name; o++)
		if ((cfg->set_keys & (1ULL << (o - cfg_options))) &&
		    !cfg_applies(o, cfg->scenario)) {
			cfg_only_text(o, only, sizeof(only));
			snprintf(err, len, "key '%s': applies to %s, not to "
				 "'%s'", o->name, only, cfg->scenario);
			return -EINVAL;
		}
	for (k = 0; k < cfg->nkeys; k++) {
		o = cfg_find(cfg->matrix_key[k]);
		if (o && !cfg_applies(o, cfg->scenario)) {
			cfg_only_text(o, only, sizeof(only));
			snprintf(err, len, "key 'matrix.%s': applies to %s, "
				 "not to '%s'", o->name, only, cfg->scenario);
			return -EINVAL;
		}
	}
	return 0;
}

/* A report name becomes a directory: one plain path component. */
static int cfg_check_name(const struct bb_config *cfg, char *err,
			  unsigned long len)
{
	const char *n = cfg->name;

	if (!n[0])
		return 0;
	if (!strcmp(n, ".") || !strcmp(n, "..") ||
	    n[strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		       "0123456789._-")]) {
		snprintf(err, len, "key 'name': '%s' is not a plain file name "
			 "(letters, digits, '.', '_', '-')", n);
		return -EINVAL;
	}
	return 0;
}

int cfg_validate(const struct bb_config *cfg, char *err, unsigned long len)
{
	struct bb_config row;
	char name[96], why[512];
	int i;

	if (!scn_find(cfg->scenario)) {
		snprintf(err, len, "key 'scenario': '%s' is not a scenario "
			 "(see balloonbench list)", cfg->scenario);
		return -EINVAL;
	}
	if (cfg_check_name(cfg, err, len) || cfg_check_ownership(cfg, err, len))
		return -EINVAL;
	if (!cfg->nkeys)
		return cfg_validate_row(cfg, err, len);
	/* Every row as it will run, before anything boots. */
	for (i = 0; i < cfg->nrows; i++) {
		row = *cfg;
		if (cfg_apply_row(&row, i) ||
		    cfg_validate_row(&row, why, sizeof(why))) {
			cfg_row_name(cfg, i, name, sizeof(name));
			snprintf(err, len, "matrix row '%s': %s", name, why);
			return -EINVAL;
		}
	}
	return 0;
}

static const char *cfg_type_name(enum cfg_type t)
{
	static const char *const names[] = {
		[CFG_INT] = "int", [CFG_SIZE] = "size", [CFG_RSIZE] = "size|frac",
		[CFG_STR] = "string", [CFG_ENUM] = "enum",
		[CFG_DURATION] = "duration", [CFG_PCT] = "percent",
	};
	return names[t];
}

void cfg_print_options(void)
{
	const struct cfg_option *o;
	const char *const *c;

	printf("%-20s %-10s %-10s %-6s %s\n", "KEY", "TYPE", "DEFAULT", "UNIT",
	       "HELP");
	for (o = cfg_options; o->name; o++) {
		printf("%-20s %-10s %-10s %-6s %s", o->name,
		       cfg_type_name(o->type), o->def[0] ? o->def : "\"\"",
		       o->unit ? o->unit : "-", o->help);
		if (o->choices) {
			printf(" (");
			for (c = o->choices; *c; c++)
				printf("%s%s", c == o->choices ? "" : "|", *c);
			printf(")");
		}
		if (o->only)
			printf(" [%s only]", o->only);
		printf("%s\n", o->matrix ? " [matrix]" : "");
	}
	printf("%-20s %-10s %-10s %-6s %s\n", "matrix", "object", "none", "-",
	       "{\"KEY\": [v1, v2, ...]}: one report row per value of KEY");
}

json_t *cfg_to_json(const struct bb_config *cfg)
{
	const struct cfg_option *o;
	const char *field;
	json_t *obj = json_object(), *rows;
	int i;

	for (o = cfg_options; o->name; o++) {
		field = (const char *)cfg + o->offset;
		switch (o->type) {
		case CFG_INT:
			json_object_set_new(obj, o->name,
					    json_integer(*(const int *)field));
			break;
		case CFG_SIZE:
		case CFG_RSIZE:
			json_object_set_new(obj, o->name, json_integer(
				unit_size_bytes((const struct bb_size *)field,
						cfg->memory.bytes)));
			break;
		case CFG_DURATION:
			json_object_set_new(obj, o->name, json_integer(
				*(const uint64_t *)field));
			break;
		case CFG_PCT:
			json_object_set_new(obj, o->name,
					    json_real(*(const double *)field));
			break;
		default:
			json_object_set_new(obj, o->name, json_string(field));
		}
	}
	if (cfg->nkeys) {
		json_t *m = json_object();
		int k;

		for (k = 0; k < cfg->nkeys; k++) {
			rows = json_array();
			for (i = 0; i < cfg->nvals[k]; i++)
				json_array_append_new(rows,
					json_string(cfg->vals[k][i]));
			json_object_set_new(m, cfg->matrix_key[k], rows);
		}
		json_object_set_new(obj, "matrix", m);
	}
	return obj;
}

int cfg_apply_args(struct bb_config *cfg, int argc, char **argv, char *err,
		   unsigned long len)
{
	char key[64];
	const char *val, *eq;
	char *p;
	int i, k;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return i + 1;
		if (strncmp(argv[i], "--", 2)) {
			snprintf(err, len, "unexpected argument '%s'", argv[i]);
			return -EINVAL;
		}
		eq = strchr(argv[i], '=');
		if (eq) {
			snprintf(key, sizeof(key), "%.*s",
				 (int)(eq - argv[i] - 2), argv[i] + 2);
			val = eq + 1;
		} else if (i + 1 < argc) {
			snprintf(key, sizeof(key), "%s", argv[i] + 2);
			val = argv[++i];
		} else {
			snprintf(err, len, "option '%s' needs a value", argv[i]);
			return -EINVAL;
		}
		/* --output-dir means --output_dir, as users type it. */
		for (p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		for (k = 0; k < cfg->nkeys; k++)
			if (!strcmp(cfg->matrix_key[k], key)) {
				snprintf(err, len, "key '%s': the scenario's "
					 "matrix varies it; drop one or the "
					 "other", key);
				return -EINVAL;
			}
		if (cfg_set(cfg, key, val, err, len))
			return -EINVAL;
	}
	if (cfg_validate(cfg, err, len))
		return -EINVAL;
	return argc;
}
