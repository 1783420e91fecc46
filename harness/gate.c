// SPDX-License-Identifier: GPL-2.0
/*
 * gate --baseline BASE REPORT: exit 1 when a gated ratio of REPORT lost
 * more than --max-regress against BASE beyond what the noise of both
 * reports explains, or when nothing could be compared at all.
 *
 * For every row of BASE that its scenario gates and every gated figure,
 * each report gives the row's ratio to the reference row measured in that
 * same report (rt_ratio: a speed-up for times) and the standard error of
 * its logarithm.  rt_gate_decide() then fails the figure when even the
 * one-sided 95 % upper bound of the change lost more than max, and calls
 * it inconclusive when the change itself lost more than max but noise
 * could explain it.  What is printed is exactly what was decided on.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "report.h"
#include "rptkeys.h"
#include "rtstat.h"
#include "scenario.h"

struct gate_args {
	const char *base;	/* baseline report path */
	const char *report;	/* report being gated */
	const char *ref;	/* reference row (scenario's unless given) */
	double max;		/* allowed loss, fraction */
	int force;		/* compare across scenarios/accels/sizes */
};

struct gate_tally {
	int compared;		/* figures with a ratio in both reports */
	int failed;		/* figures that failed or were missing */
	int inconclusive;	/* figures noise could not decide */
};

static void gate_usage(FILE *out)
{
	fprintf(out,
		"usage: balloonbench gate --baseline BASE REPORT [--max-regress "
		"10%%]\n                         [--reference ROW] [--force]\n"
		"For every gated row and figure, the ratio to the reference row "
		"(stock)\nmeasured inside each report is compared: exit 1 when "
		"REPORT's ratio lost\nmore than max-regress against BASE's even "
		"at the one-sided 95 %% upper\nbound of the change (noise of both "
		"reports from their spread and sample\ncounts), or when no gated "
		"figure could be compared.  A loss beyond\nmax-regress that noise "
		"can explain is printed as inconclusive.  Reports\nof different "
		"scenarios, accelerators or guest sizes are refused (exit 2)\n"
		"unless --force.\n");
}

static int gate_parse(int argc, char **argv, struct gate_args *a)
{
	char *end;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--baseline") && i + 1 < argc) {
			a->base = argv[++i];
		} else if (!strcmp(argv[i], "--max-regress") && i + 1 < argc) {
			a->max = strtod(argv[++i], &end) / 100;
			if (end == argv[i] || (*end && strcmp(end, "%")) ||
			    !(a->max > 0) || a->max >= 1) {
				bb_err("--max-regress: '%s' is not a percentage "
				       "above 0 and below 100%%", argv[i]);
				return -EINVAL;
			}
		} else if (!strcmp(argv[i], "--reference") && i + 1 < argc) {
			a->ref = argv[++i];
		} else if (!strcmp(argv[i], "--force")) {
			a->force = 1;
		} else if (argv[i][0] != '-' && !a->report) {
			a->report = argv[i];
		} else {
			bb_err("gate: unexpected argument '%s'", argv[i]);
			return -EINVAL;
		}
	}
	if (!a->base || !a->report) {
		gate_usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* The ratio of row name's figure to its reference in rpt; -1 if absent. */
static int gate_ratio(json_t *rpt, const char *ref, const char *name,
		      const struct scn_figure *f, double *ratio, double *se)
{
	json_t *row = rpt_row(rpt, name);
	json_t *base = rpt_reference_row(rpt, ref, name);
	struct stats sr, sb;

	if (!row || !base)
		return -1;
	rpt_figure_stats(base, f->key, &sb);
	rpt_figure_stats(row, f->key, &sr);
	return rt_ratio(&sb, &sr, f->higher_better, ratio, se);
}

static const char *const gate_label[] = {
	[RT_GATE_OK] = "ok  ",
	[RT_GATE_FAIL] = "FAIL",
	[RT_GATE_INCONCLUSIVE] = "inconclusive",
};

static void gate_figure(json_t *rb, json_t *rr, const struct gate_args *a,
			const char *name, const struct scn_figure *f,
			struct gate_tally *t)
{
	double b, bse, r, rse;
	struct rt_gate_fig g;

	if (gate_ratio(rb, a->ref, name, f, &b, &bse))
		return;		/* the baseline has nothing to hold it to */
	if (gate_ratio(rr, a->ref, name, f, &r, &rse)) {
		printf("FAIL %-16s %-11s in the baseline, missing from the "
		       "report (or its %s row)\n", name, f->key, a->ref);
		t->failed++;
		return;
	}
	rt_gate_decide(b, bse, r, rse, a->max, &g);
	t->compared++;
	t->failed += g.result == RT_GATE_FAIL;
	t->inconclusive += g.result == RT_GATE_INCONCLUSIVE;
	printf("%s %-16s %-11s %.2fx -> %.2fx over %s: %+.1f%%, upper bound "
	       "%+.1f%% (noise %.1f%%)\n", gate_label[g.result], name, f->key,
	       g.base, g.now, a->ref, 100 * g.change, 100 * g.upper,
	       100 * (exp(RT_Z95 * g.noise) - 1));
}

static void gate_rows(json_t *rb, json_t *rr, const struct scenario_ops *ops,
		      const struct gate_args *a, struct gate_tally *t)
{
	const struct scn_figure *f;
	const char *name;
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(rb, RK_ROWS), i, row) {
		name = json_string_value(json_object_get(row, RK_NAME));
		if (scn_ungated(ops, name) || !strcmp(name, a->ref))
			continue;
		for (f = ops->figures; f && f->key; f++)
			if (f->gated)
				gate_figure(rb, rr, a, name, f, t);
	}
}

static int gate_run(json_t *rb, json_t *rr, const struct scenario_ops *ops,
		    struct gate_args *a)
{
	struct gate_tally t = { 0 };

	if (!a->ref)
		a->ref = ops->reference;
	if (!a->ref) {
		printf("FAIL scenario '%s' has no reference row: it gates "
		       "nothing\n", ops->name);
		return 1;
	}
	if (!rpt_row(rb, a->ref))
		printf("note: the baseline has no '%s' row\n", a->ref);
	if (!rpt_row(rr, a->ref)) {
		printf("FAIL the report has no '%s' row\n", a->ref);
		t.failed++;
	}
	gate_rows(rb, rr, ops, a, &t);
	if (json_array_size(json_object_get(rr, "errors"))) {
		printf("FAIL the report records errors\n");
		t.failed++;
	}
	if (!t.compared) {
		printf("FAIL no gated figure was compared (baseline and report "
		       "share no gated row with a '%s' reference)\n", a->ref);
		t.failed++;
	}
	printf("gate: %s: %d figure%s compared, %d failed, %d inconclusive "
	       "(max regression %.0f%%)\n", t.failed ? "FAILED" : "passed",
	       t.compared, t.compared == 1 ? "" : "s", t.failed,
	       t.inconclusive, 100 * a->max);
	return t.failed ? 1 : 0;
}

int cmd_gate(int argc, char **argv)
{
	struct gate_args a = { .max = 0.10 };
	const struct scenario_ops *ops;
	char err[1024];
	json_t *rb, *rr;
	int rc;

	if (argc > 0 && !strcmp(argv[0], "--help")) {
		gate_usage(stdout);
		return BB_EXIT_OK;
	}
	if (gate_parse(argc, argv, &a))
		return BB_EXIT_USAGE;
	rb = rpt_load(a.base, err, sizeof(err));
	if (!rb) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	rr = rpt_load(a.report, err, sizeof(err));
	ops = rr ? scn_find(rpt_scenario(rr)) : NULL;
	if (!rr)
		bb_err("%s", err);
	else if (!ops)
		bb_err("%s: scenario '%s' is not one this build knows",
		       a.report, rpt_scenario(rr));
	else if (rt_comparable(rb, rr, err, sizeof(err)) && !a.force)
		bb_err("%s; --force gates anyway", err);
	else
		goto run;
	json_decref(rb);
	json_decref(rr);
	return BB_EXIT_USAGE;
run:
	rc = gate_run(rb, rr, ops, &a);
	json_decref(rb);
	json_decref(rr);
	return rc ? BB_EXIT_FAIL : BB_EXIT_OK;
}
