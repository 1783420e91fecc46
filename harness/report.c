// SPDX-License-Identifier: GPL-2.0
/* Reports: JSON documents written atomically; see docs/report-schema.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "scenario.h"
#include "stats.h"

#ifndef BB_VERSION
#define BB_VERSION "dev"
#endif

static void rpt_cpu_model(char *buf, unsigned long len)
{
	char line[256];
	FILE *fp = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(buf, len, "%s", strchr(line, ':') + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	fclose(fp);
}

static void rpt_thp(char *buf, unsigned long len)
{
	char line[128], *a, *b;
	FILE *fp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	snprintf(buf, len, "unknown");
	if (!fp)
		return;
	if (fgets(line, sizeof(line), fp) && (a = strchr(line, '[')) &&
	    (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(buf, len, "%s", a + 1);
	}
	fclose(fp);
}

static json_t *rpt_host(const char *accel)
{
	struct utsname u;
	char cpu[128];
	char thp[32];

	uname(&u);
	rpt_cpu_model(cpu, sizeof(cpu));
	rpt_thp(thp, sizeof(thp));
	return json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:{}}",
			 "hostname", u.nodename, "cpu_model", cpu,
			 "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "memory_bytes", (json_int_t)sysconf(_SC_PHYS_PAGES) *
			 sysconf(_SC_PAGESIZE),
			 "kernel", u.release, "accelerator", accel,
			 "transparent_hugepage", thp,
			 "qemu_versions");
}

json_t *rpt_new(const struct bb_config *cfg, const char *accel)
{
	char stamp[32];
	time_t now = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	return json_pack("{s:i, s:{s:s, s:s}, s:s, s:o, s:o, s:[], s:[]}",
			 "schema_version", RPT_SCHEMA_VERSION,
			 "tool", "name", "balloonbench", "version", BB_VERSION,
			 "timestamp", stamp, "host", rpt_host(accel),
			 "scenario", cfg_to_json(cfg), "rows", "errors");
}

json_t *rpt_add_row(json_t *rpt, const char *name, json_t *settings)
{
	json_t *row = json_pack("{s:s, s:o, s:[], s:{}}", "name", name,
				"settings", settings ? settings : json_object(),
				"runs", "summary");

	json_array_append_new(json_object_get(rpt, "rows"), row);
	return row;
}

void rpt_add_run(json_t *row, json_t *sample)
{
	json_array_append_new(json_object_get(row, "runs"), sample);
}

static json_t *rpt_stats_json(const struct stats *s)
{
	return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f}", "n", s->n,
			 "min", s->min, "median", s->median, "max", s->max,
			 "mean", s->mean, "stddev", s->stddev);
}

void rpt_summarize_row(json_t *row)
{
	json_t *runs = json_object_get(row, "runs"), *first, *v, *run;
	json_t *summary = json_object();
	const char *key;
	struct stats st;
	double *vals;
	size_t i, n = json_array_size(runs);

	first = json_array_get(runs, 0);
	vals = calloc(n ? n : 1, sizeof(*vals));
	json_object_foreach(first, key, v) {
		int k = 0;

		if (!json_is_number(v))
			continue;
		json_array_foreach(runs, i, run)
			if (json_is_number(json_object_get(run, key)))
				vals[k++] = json_number_value(
					json_object_get(run, key));
		stats_compute(vals, k, &st);
		json_object_set_new(summary, key, rpt_stats_json(&st));
	}
	free(vals);
	json_object_set_new(row, "summary", summary);
}

void rpt_add_error(json_t *rpt, const char *row, const char *msg)
{
	json_array_append_new(json_object_get(rpt, "errors"),
			      json_pack("{s:s?, s:s}", "row", row, "message",
					msg));
}

void rpt_note_qemu(json_t *rpt, const char *which, const char *version)
{
	json_object_set_new(json_object_get(json_object_get(rpt, "host"),
					    "qemu_versions"),
			    which, json_string(version));
}

static int rpt_mkdirs(const char *path)
{
	char tmp[512], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int rpt_write(json_t *rpt, const char *dir, const char *name, char *path,
	      unsigned long len)
{
	char d[512], tmp[600], stamp[32];
	time_t now = time(NULL);
	int rc;

	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now));
	snprintf(d, sizeof(d), "%s/%s/%s", dir, name, stamp);
	rc = rpt_mkdirs(d);
	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s/.report.json.tmp", d);
	snprintf(path, len, "%s/report.json", d);
	if (json_dump_file(rpt, tmp, JSON_INDENT(2) | JSON_SORT_KEYS))
		return -EIO;
	if (rename(tmp, path)) {
		rc = -errno;
		unlink(tmp);
		return rc;
	}
	return 0;
}

json_t *rpt_load(const char *path, char *err, unsigned long len)
{
	json_error_t jerr;
	json_t *r = json_load_file(path, 0, &jerr);

	if (!r) {
		snprintf(err, len, "%s: %s", path, jerr.text);
		return NULL;
	}
	if (json_integer_value(json_object_get(r, "schema_version")) !=
	    RPT_SCHEMA_VERSION || !json_is_array(json_object_get(r, "rows"))) {
		snprintf(err, len, "%s: not a balloonbench report of schema "
			 "version %d", path, RPT_SCHEMA_VERSION);
		json_decref(r);
		return NULL;
	}
	return r;
}
