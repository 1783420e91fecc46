// SPDX-License-Identifier: GPL-2.0
/*
 * show, compare and gate: read report files only, never boot anything.
 * What a report holds (its figures, its reference row, its table) comes
 * from the ops table of the scenario that wrote it.
 *
 * compare A B prints, per row and figure, the means of A and B, the change
 * of the means and a verdict on that same change (rtstat.c): "real" when
 * Welch's t-test says so (with the min/max rule of Intel's LKP below
 * 5 samples a side),
 * "inconclusive" when noise can explain it, "too few samples" below 3.
 *
 * gate compares ratios measured inside one run (each row's figure over
 * the reference row's in the same report), never absolute times, since
 * machines differ; the rule is rt_gate_decide() and README's "Gating".
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "overcommit.h"
#include "report.h"
#include "rptkeys.h"
#include "rtstat.h"
#include "scenario.h"

static const char *rt_name(json_t *row)
{
	return json_string_value(json_object_get(row, RK_NAME));
}

/* Load a report and find its scenario's ops; NULL with the error said. */
json_t *rt_load(const char *path, const struct scenario_ops **ops)
{
	char err[1024];
	json_t *r = rpt_load(path, err, sizeof(err));

	if (!r) {
		bb_err("%s", err);
		return NULL;
	}
	*ops = scn_find(rpt_scenario(r));
	if (!*ops) {
		bb_err("%s: scenario.scenario: '%s' is not a scenario this "
		       "build knows", path, rpt_scenario(r));
		json_decref(r);
		return NULL;
	}
	return r;
}

static int rt_load_two(const char *a, const char *b, json_t **ra, json_t **rb,
		       const struct scenario_ops **ops)
{
	const struct scenario_ops *other;

	*ra = rt_load(a, ops);
	if (!*ra)
		return -EINVAL;
	*rb = rt_load(b, &other);
	if (!*rb) {
		json_decref(*ra);
		return -EINVAL;
	}
	return 0;
}

/*
 * Reports of different scenarios, guest sizes or accelerators measure
 * different things: say which and refuse, unless forced.
 */
int rt_comparable(json_t *a, json_t *b, char *err, unsigned long len)
{
	json_t *ma = json_object_get(json_object_get(a, "scenario"), "memory");
	json_t *mb = json_object_get(json_object_get(b, "scenario"), "memory");

	if (strcmp(rpt_scenario(a), rpt_scenario(b))) {
		snprintf(err, len, "different scenarios: '%s' and '%s'",
			 rpt_scenario(a), rpt_scenario(b));
		return -EINVAL;
	}
	if (strcmp(rpt_accel(a), rpt_accel(b))) {
		snprintf(err, len, "different accelerators: %s and %s (times "
			 "under TCG and KVM are not comparable)", rpt_accel(a),
			 rpt_accel(b));
		return -EINVAL;
	}
	if (json_integer_value(ma) != json_integer_value(mb)) {
		snprintf(err, len, "different guest sizes: %lld and %lld bytes",
			 (long long)json_integer_value(ma),
			 (long long)json_integer_value(mb));
		return -EINVAL;
	}
	return 0;
}

static int rt_check_comparable(json_t *a, json_t *b, int force)
{
	char err[256];
	int rc = rt_comparable(a, b, err, sizeof(err));

	/*
	 * compare's own rule (the gate compares no swap): overcommit swap
	 * counted over different windows.
	 */
	if (!rc && !strcmp(rpt_scenario(a), "overcommit") &&
	    oc_builds_window(a) != oc_builds_window(b)) {
		snprintf(err, sizeof(err), "swap counted over different "
			 "windows (one report to the end of the builds, the "
			 "other until the last workload exited)");
		rc = -EINVAL;
	}
	if (!rc)
		return 0;
	if (force) {
		bb_warn("%s; comparing anyway (--force)", err);
		return 0;
	}
	bb_err("%s; --force compares them anyway", err);
	return -EINVAL;
}

/* Pull --force out of argv; returns the remaining count. */
static int rt_take_force(int argc, char **argv, int *force)
{
	int i, n = 0;

	*force = 0;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			*force = 1;
		else
			argv[n++] = argv[i];
	}
	return n;
}

static void rt_compare_row(const struct scenario_ops *ops, json_t *a_row,
			   json_t *b_row)
{
	const struct scn_figure *f;
	struct stats sa, sb;

	for (f = ops->figures; f && f->key; f++) {
		rpt_figure_stats(a_row, f->key, &sa);
		rpt_figure_stats(b_row, f->key, &sb);
		if (!sa.n || !sb.n)
			continue;
		printf("%-20s %-14s %10.1f %10.1f %+7.1f%%  %s\n",
		       rt_name(b_row), f->key, sa.mean, sb.mean,
		       100 * rt_change(&sa, &sb),
		       rt_verdict_name(rt_compare(&sa, &sb)));
	}
}

int cmd_compare(int argc, char **argv)
{
	const struct scenario_ops *ops;
	json_t *ra, *rb, *row, *other;
	int force;
	size_t i;

	argc = rt_take_force(argc, argv, &force);
	if (argc != 2 || !strcmp(argv[0], "--help")) {
		printf("usage: balloonbench compare [--force] A/report.json "
		       "B/report.json\nPer row and figure: means of A and B, "
		       "the change of the means, and a verdict\non that change:"
		       " real (Welch's t-test: at 95%% with LKP's min/max "
		       "rule below 5 samples a side, at 99%% from 5),\n"
		       "inconclusive (noise can explain it), or too "
		       "few samples (under %d a side).\nReports of different "
		       "scenarios, accelerators or guest sizes are refused\n"
		       "unless --force.\n", RT_MIN_SAMPLES);
		return argc == 2 ? BB_EXIT_OK : BB_EXIT_USAGE;
	}
	if (rt_load_two(argv[0], argv[1], &ra, &rb, &ops))
		return BB_EXIT_USAGE;
	if (rt_check_comparable(ra, rb, force)) {
		json_decref(ra);
		json_decref(rb);
		return BB_EXIT_USAGE;
	}
	printf("%-20s %-14s %10s %10s %8s  %s\n", "ROW", "FIGURE", "A_MEAN",
	       "B_MEAN", "CHANGE", "VERDICT");
	json_array_foreach(json_object_get(rb, RK_ROWS), i, row) {
		other = rpt_row(ra, rt_name(row));
		if (other)
			rt_compare_row(ops, other, row);
		else
			printf("%-20s only in B\n", rt_name(row));
	}
	json_array_foreach(json_object_get(ra, RK_ROWS), i, row)
		if (!rpt_row(rb, rt_name(row)))
			printf("%-20s only in A\n", rt_name(row));
	json_decref(ra);
	json_decref(rb);
	return BB_EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
	const struct scenario_ops *ops;
	json_t *rpt;

	if (argc != 1 || !strcmp(argv[0], "--help")) {
		printf("usage: balloonbench show REPORT\n"
		       "Print a report's table again, as its scenario printed "
		       "it.\n");
		return argc == 1 ? BB_EXIT_OK : BB_EXIT_USAGE;
	}
	rpt = rt_load(argv[0], &ops);
	if (!rpt)
		return BB_EXIT_USAGE;
	ops->table(rpt);
	json_decref(rpt);
	return BB_EXIT_OK;
}
