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

/* Read a report and check its schema version; NULL with err set. */
json_t *rpt_load(const char *path, char *err, unsigned long len);

#endif
