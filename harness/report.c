// SPDX-License-Identifier: GPL-2.0
/* Reports: JSON documents written atomically; see docs/report-schema.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "probe.h"
#include "report.h"
#include "rptkeys.h"
#include "scenario.h"
#include "stats.h"

#ifndef BB_VERSION
#define BB_VERSION "dev"
#endif

json_t *rpt_new(const struct bb_config *cfg, const char *accel)
{
	char stamp[32];
	time_t now = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	return json_pack("{s:i, s:{s:s, s:s}, s:s, s:o, s:o, s:[], s:[]}",
			 "schema_version", RPT_SCHEMA_VERSION,
			 "tool", "name", "balloonbench", "version", BB_VERSION,
			 "timestamp", stamp, "host", probe_host_info(accel),
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

int rpt_mkdirs(const char *path)
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

int rpt_new_dir(const char *dir, const char *name, char *out,
		unsigned long len)
{
	char d[512], stamp[32];
	time_t now = time(NULL);
	int i, rc;

	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now));
	snprintf(d, sizeof(d), "%s/%s", dir, name);
	rc = rpt_mkdirs(d);
	if (rc)
		return rc;
	/* Two runs in one second each get a directory of their own. */
	for (i = 0; i < 100; i++) {
		if (i)
			snprintf(out, len, "%s/%s/%s-%d", dir, name, stamp, i);
		else
			snprintf(out, len, "%s/%s/%s", dir, name, stamp);
		if (!mkdir(out, 0755))
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* report.json in d, atomically; a directory made for it goes on failure. */
static int rpt_write_at(json_t *rpt, const char *d, int made, char *path,
			unsigned long len)
{
	char tmp[600];
	int rc;

	snprintf(tmp, sizeof(tmp), "%s/.report.json.tmp", d);
	snprintf(path, len, "%s/report.json", d);
	errno = 0;
	if (json_dump_file(rpt, tmp, JSON_INDENT(2) | JSON_SORT_KEYS))
		rc = errno ? -errno : -EIO;
	else if (rename(tmp, path))
		rc = -errno;
	else
		return 0;
	unlink(tmp);
	if (made)
		rmdir(d);
	return rc;
}

int rpt_write(json_t *rpt, const char *dir, const char *name, char *path,
	      unsigned long len)
{
	char d[512];
	int rc = rpt_new_dir(dir, name, d, sizeof(d));

	return rc ? rc : rpt_write_at(rpt, d, 1, path, len);
}

int rpt_check_dir(const char *dir, const char *name, char *err,
		  unsigned long len)
{
	char d[512];
	int rc;

	snprintf(d, sizeof(d), "%s/%s", dir, name);
	rc = rpt_mkdirs(d);
	if (!rc && access(d, W_OK | X_OK))
		rc = -errno;
	if (rc)
		snprintf(err, len, "key 'output_dir': cannot write reports to "
			 "%s: %s", d, strerror(-rc));
	return rc;
}

int rpt_save(json_t *rpt, const char *dir, const char *name,
	     const char *rundir, char *path, unsigned long len)
{
	const char *fallback = getenv("TMPDIR");
	int rc = rundir ? rpt_write_at(rpt, rundir, 0, path, len) :
		 rpt_write(rpt, dir, name, path, len);

	if (!rc)
		return 0;
	bb_err("cannot write the report under %s: %s",
	       rundir ? rundir : dir, strerror(-rc));
	if (!fallback || !*fallback)
		fallback = "/tmp";
	rc = rpt_write(rpt, fallback, name, path, len);
	if (rc) {
		bb_err("cannot write it under %s either: %s; the table above "
		       "is all that is left of this run", fallback,
		       strerror(-rc));
		return rc;
	}
	bb_warn("report written to %s instead", path);
	return 1;
}

/* Report validation: every field a report tool reads, with its path. */
static int rpt_bad(char *err, unsigned long len, const char *what, ...)
	__attribute__((format(printf, 3, 4)));

static int rpt_bad(char *err, unsigned long len, const char *what, ...)
{
	va_list ap;

	va_start(ap, what);
	vsnprintf(err, len, what, ap);
	va_end(ap);
	return -EINVAL;
}

static int rpt_check_summary(json_t *sum, size_t r, char *err,
			     unsigned long len)
{
	static const char *const fields[] = {
		"min", "median", "max", "mean", "stddev",
	};
	const char *key;
	json_t *s;
	unsigned i;

	if (!json_is_object(sum))
		return rpt_bad(err, len, "rows[%zu].summary: not an object", r);
	json_object_foreach(sum, key, s) {
		if (!json_is_object(s))
			return rpt_bad(err, len, "rows[%zu].summary.%s: not an "
				       "object", r, key);
		if (!json_is_integer(json_object_get(s, "n")) ||
		    json_integer_value(json_object_get(s, "n")) < 0)
			return rpt_bad(err, len, "rows[%zu].summary.%s.n: not a "
				       "count", r, key);
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!json_is_number(json_object_get(s, fields[i])))
				return rpt_bad(err, len, "rows[%zu].summary.%s.%s:"
					       " not a number", r, key,
					       fields[i]);
	}
	return 0;
}

static int rpt_check_row(json_t *row, size_t r, char *err, unsigned long len)
{
	json_t *name = json_object_get(row, RK_NAME);
	json_t *runs = json_object_get(row, RK_RUNS), *run;
	json_t *set = json_object_get(row, RK_SETTINGS);
	size_t i;

	if (!json_is_object(row))
		return rpt_bad(err, len, "rows[%zu]: not an object", r);
	if (!json_is_string(name) || !json_string_length(name))
		return rpt_bad(err, len, "rows[%zu].name: not a non-empty "
			       "string", r);
	if (set && !json_is_object(set))
		return rpt_bad(err, len, "rows[%zu].settings: not an object", r);
	if (runs && !json_is_array(runs))
		return rpt_bad(err, len, "rows[%zu].runs: not an array", r);
	json_array_foreach(runs, i, run)
		if (!json_is_object(run))
			return rpt_bad(err, len, "rows[%zu].runs[%zu]: not an "
				       "object", r, i);
	return rpt_check_summary(json_object_get(row, RK_SUMMARY), r, err, len);
}

int rpt_validate(json_t *r, char *err, unsigned long len)
{
	json_t *rows = json_object_get(r, RK_ROWS), *row, *e;
	json_t *host = json_object_get(r, "host");
	json_t *scn = json_object_get(r, "scenario");
	size_t i;
	int rc;

	if (!json_is_object(r))
		return rpt_bad(err, len, "top level: not an object");
	if (!json_is_integer(json_object_get(r, "schema_version")) ||
	    json_integer_value(json_object_get(r, "schema_version")) !=
	    RPT_SCHEMA_VERSION)
		return rpt_bad(err, len, "schema_version: not %d (not a "
			       "balloonbench report of this version)",
			       RPT_SCHEMA_VERSION);
	if (!json_is_object(host) ||
	    !json_is_string(json_object_get(host, "accelerator")))
		return rpt_bad(err, len, "host.accelerator: not a string");
	if (!json_is_object(scn) ||
	    !json_is_string(json_object_get(scn, "scenario")))
		return rpt_bad(err, len, "scenario.scenario: not a string");
	if (json_object_get(scn, "memory") &&
	    !json_is_integer(json_object_get(scn, "memory")))
		return rpt_bad(err, len, "scenario.memory: not an integer");
	if (!json_is_array(rows))
		return rpt_bad(err, len, "rows: not an array");
	json_array_foreach(rows, i, row) {
		rc = rpt_check_row(row, i, err, len);
		if (rc)
			return rc;
	}
	if (json_object_get(r, "errors") &&
	    !json_is_array(json_object_get(r, "errors")))
		return rpt_bad(err, len, "errors: not an array");
	json_array_foreach(json_object_get(r, "errors"), i, e)
		if (!json_is_object(e) ||
		    !json_is_string(json_object_get(e, "message")))
			return rpt_bad(err, len, "errors[%zu].message: not a "
				       "string", i);
	return 0;
}

json_t *rpt_load(const char *path, char *err, unsigned long len)
{
	json_error_t jerr;
	json_t *r = json_load_file(path, 0, &jerr);
	char why[512];

	if (!r) {
		snprintf(err, len, "%s: %s", path, jerr.text);
		return NULL;
	}
	if (rpt_validate(r, why, sizeof(why))) {
		snprintf(err, len, "%s: %s", path, why);
		json_decref(r);
		return NULL;
	}
	return r;
}

json_t *rpt_row(json_t *rpt, const char *name)
{
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row)
		if (!strcmp(json_string_value(json_object_get(row, RK_NAME)),
			    name))
			return row;
	return NULL;
}

json_t *rpt_reference_row(json_t *rpt, const char *ref, const char *name)
{
	const char *rest = strchr(name, ' ');
	char want[256];

	if (!ref)
		return NULL;
	/* A sweep's rows are "MODE KEY=VALUE": the reference shares the tail. */
	if (snprintf(want, sizeof(want), "%s%s", ref, rest ? rest : "") >=
	    (int)sizeof(want))
		return NULL;
	return rpt_row(rpt, want);
}

const char *rpt_scenario(json_t *rpt)
{
	return json_string_value(json_object_get(json_object_get(rpt,
					"scenario"), "scenario"));
}

const char *rpt_accel(json_t *rpt)
{
	return json_string_value(json_object_get(json_object_get(rpt, "host"),
						 "accelerator"));
}

void rpt_figure_stats(json_t *row, const char *key, struct stats *st)
{
	json_t *s = json_object_get(json_object_get(row, RK_SUMMARY), key);

	memset(st, 0, sizeof(*st));
	if (!json_is_object(s))
		return;
	st->n = (int)json_integer_value(json_object_get(s, "n"));
	st->min = json_number_value(json_object_get(s, "min"));
	st->median = json_number_value(json_object_get(s, "median"));
	st->max = json_number_value(json_object_get(s, "max"));
	st->mean = json_number_value(json_object_get(s, "mean"));
	st->stddev = json_number_value(json_object_get(s, "stddev"));
}
