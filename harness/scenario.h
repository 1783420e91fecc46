/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_SCENARIO_H
#define BB_SCENARIO_H

#include "backend.h"
#include "config.h"

/* Exit codes of balloonbench. */
#define BB_EXIT_OK 0
#define BB_EXIT_FAIL 1		/* the run failed (a VM died, a timeout) */
#define BB_EXIT_USAGE 2		/* bad command line or scenario: nothing ran */
#define BB_EXIT_INTR 130	/* interrupted by a signal */

/*
 * A figure of a scenario's rows that the report tools compare: a key of
 * every row's summary.
 */
struct scn_figure {
	const char *key;	/* summary key, unit in the name */
	int higher_better;	/* 1: larger is better (throughput), 0: times */
	int gated;		/* gate compares its ratio to the reference row */
};

/* A scenario: one file, scenario_NAME.c, and one line in scenarios.def. */
struct scenario_ops {
	const char *name;	/* value of the "scenario" key */
	const char *help;	/* one line for `balloonbench list` */
	/* Checks that need the machine (files built, modes offered): exit 2. */
	int (*check)(const struct bb_config *cfg, char *err, unsigned long len);
	/* Run it; returns a BB_EXIT_* code. */
	int (*run)(struct bb_config *cfg);
	/* The report side: read report files only, never boot anything. */
	const struct scn_figure *figures;	/* ends with a NULL key */
	/* Row every gated ratio is measured against; NULL: nothing to gate. */
	const char *reference;
	const char *const *ungated;	/* rows never gated; NULL-terminated */
	/* Print a report of this scenario as the run printed it. */
	void (*table)(json_t *rpt);
	/* Plot files into dir; NULL when the scenario has no plots. */
	int (*plot)(json_t *rpt, const char *dir, char *err, unsigned long len);
};

#define BB_SCENARIO(name) extern const struct scenario_ops scenario_##name;
#include "scenarios.def"
#undef BB_SCENARIO

/* The scenario called name, or NULL; scn_at(i) walks all (NULL at end). */
const struct scenario_ops *scn_find(const char *name);
const struct scenario_ops *scn_at(unsigned int i);

/* Is row name one the scenario never gates (its reference included)? */
int scn_ungated(const struct scenario_ops *s, const char *name);

/* The source tree (parent of build/), found from the executable. */
const char *bb_top(void);

/*
 * A VM spec from the scenario: emulator, kernel and image paths, memory,
 * driver, device properties; accel must already be resolved.
 */
int scn_fill_spec(const struct bb_config *cfg, const char *accel,
		  struct vm_spec *spec, char *err, unsigned long len);

/* Are the files the scenario needs built?  Names what is missing. */
int scn_check_built(const struct bb_config *cfg, char *err, unsigned long len);

/* Entry index (round-robin) of a comma-separated URI list; -EINVAL if none. */
int scn_pick_uri(const char *list, int index, char *out, unsigned long len);

/* The backend named by cfg->backend. */
const struct backend_ops *scn_backend(const struct bb_config *cfg, char *err,
				      unsigned long len);

struct fleet;

/*
 * Resolve the accelerator, create n VMs from the scenario and boot them
 * until every agent answers.  On failure the fleet is already torn down.
 */
int scn_start_fleet(const struct bb_config *cfg, struct fleet *f, int n,
		    char *accel, unsigned long alen, char *err,
		    unsigned long len);
/* The same, with tweak(spec, opaque) run on every spec before boot. */
int scn_start_fleet_with(const struct bb_config *cfg, struct fleet *f, int n,
			 int (*tweak)(struct vm_spec *s, void *opaque),
			 void *opaque, char *accel, unsigned long alen,
			 char *err, unsigned long len);

/* Does a property list "a=1,b=2" set one of keys (NULL-terminated)? */
int scn_props_set(const char *props, const char *const *keys);

/*
 * check(row) for every row of the matrix as it will run; the first
 * failure becomes "row 'NAME': REASON" in err.
 */
int scn_check_rows(const struct bb_config *cfg,
		   int (*check)(const struct bb_config *row, char *err,
				unsigned long len),
		   char *err, unsigned long len);

/*
 * The end of a run: say what failed (rc, err), record the accelerator
 * that ran, print the table, save the report into rundir and free it.
 * Returns the BB_EXIT_* code.
 */
int scn_finish(const struct bb_config *cfg, json_t *rpt, const char *rundir,
	       const char *accel, int rc, const char *err,
	       void (*table)(json_t *rpt));

#endif
