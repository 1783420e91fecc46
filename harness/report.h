/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_REPORT_H
#define BB_REPORT_H

#include <jansson.h>

#include "config.h"

#define RPT_SCHEMA_VERSION 1

/* A report: the document of docs/report-schema.md, built in memory. */
json_t *rpt_new(const struct bb_config *cfg, const char *accel);

/* Append a row (a matrix value); returns it (borrowed). */
json_t *rpt_add_row(json_t *rpt, const char *name, json_t *settings);

/* Append one repetition's raw sample to a row (consumed). */
void rpt_add_run(json_t *row, json_t *sample);

/* Summaries (min, median, max, mean, stddev) of every top-level number. */
void rpt_summarize_row(json_t *row);

/* Record an error: row may be NULL for a run-wide one. */
void rpt_add_error(json_t *rpt, const char *row, const char *msg);

/* Note the QEMU version a row ran with, under host.qemu_versions. */
void rpt_note_qemu(json_t *rpt, const char *which, const char *version);

/*
 * Write DIR/NAME/YYYYmmdd-HHMMSS/report.json atomically (temporary file and
 * rename).  path (len bytes) receives the report's path.
 */
int rpt_write(json_t *rpt, const char *dir, const char *name, char *path,
	      unsigned long len);

/* mkdir -p path; 0 or -errno. */
int rpt_mkdirs(const char *path);

/* Before anything boots: can reports be written under DIR/NAME?  err says. */
int rpt_check_dir(const char *dir, const char *name, char *err,
		  unsigned long len);

/*
 * Make DIR/NAME/YYYYmmdd-HHMMSS (-N when taken) for a run that keeps files
 * beside its report (perf data); out receives its path.
 */
int rpt_new_dir(const char *dir, const char *name, char *out,
		unsigned long len);

/*
 * rpt_write (into rundir when the run made one with rpt_new_dir), and when
 * that fails, say why and write under $TMPDIR (or /tmp) instead: 0 written
 * where asked, 1 written to the fallback, -errno lost.
 */
int rpt_save(json_t *rpt, const char *dir, const char *name,
	     const char *rundir, char *path, unsigned long len);

/*
 * Read a report and check every field a report tool reads (types, row
 * names); NULL with err set to the file and the path of the bad field.
 */
json_t *rpt_load(const char *path, char *err, unsigned long len);

/* The same checks on a document in memory: 0 or -EINVAL with err set. */
int rpt_validate(json_t *rpt, char *err, unsigned long len);

/* The row called name, or NULL (borrowed). */
json_t *rpt_row(json_t *rpt, const char *name);

/*
 * The reference row of the row called name: ref itself, or in a sweep
 * ("sg inflate=1/8") ref with the same tail ("stock inflate=1/8").
 */
json_t *rpt_reference_row(json_t *rpt, const char *ref, const char *name);

/* The scenario that wrote the report and the accelerator it ran on. */
const char *rpt_scenario(json_t *rpt);
const char *rpt_accel(json_t *rpt);

struct stats;
/* The summary of one figure of a row (validated by rpt_load); n = 0 if absent. */
void rpt_figure_stats(json_t *row, const char *key, struct stats *st);

#endif
