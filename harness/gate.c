// SPDX-License-Identifier: GPL-2.0
/*
 * gate --baseline BASE [--baseline BASE2]... REPORT: exit 1 when a gated
 * ratio of REPORT lost more than --max-regress against the baseline beyond
 * what noise explains, or when nothing could be compared at all.
 *
 * For every row of the first baseline that its scenario gates and every
 * gated figure, each report gives the row's ratio to the reference row
 * measured in that same report (rt_ratio: a speed-up for times).  Several
 * baseline runs give the noise as it really is, between runs (each run has
 * its own VMs, and a VM's speed varies with where its memory landed); one
 * baseline run gives only the spread inside it, which underestimates it.
 * rt_gate_decide() then fails the figure when even the one-sided 95 %
 * upper bound of the change lost more than max, and calls it inconclusive
 * when the change itself lost more than max but noise could explain it.
 * What is printed is exactly what was decided on.
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

#define GATE_MAX_BASE 16

struct gate_args {
	const char *base[GATE_MAX_BASE];	/* baseline report paths */
	int nbase;				/* how many */
	const char *report;	/* report being gated */
	const char *ref;	/* reference row (scenario's unless given) */
	double max;		/* allowed loss, fraction */
	int force;		/* compare across scenarios/accels/sizes */
};

struct gate_reports {
	json_t *base[GATE_MAX_BASE];	/* the baselines, loaded */
	int nbase;
	json_t *now;			/* the report being gated */
	const struct scenario_ops *ops;	/* its scenario */
};

struct gate_tally {
	int compared;		/* figures with a ratio in both reports */
	int failed;		/* figures that failed or were missing */
	int inconclusive;	/* figures noise could not decide */
};

static void gate_usage(FILE *out)
{
	fprintf(out,
		"usage: balloonbench gate --baseline BASE [--baseline BASE2]... "
		"REPORT\n                         [--max-regress 10%%] "
		"[--reference ROW] [--force]\n"
		"For every gated row and figure, the ratio to the reference row "
		"(stock)\nmeasured inside each report is compared: exit 1 when "
		"REPORT's ratio lost\nmore than max-regress against the "
		"baseline's even at the one-sided 95 %%\nupper bound of the change,"
		" or when no gated figure could be compared.\nSeveral baseline "
		"runs give the noise between runs; one gives only the\nspread "
		"inside it.  A loss beyond max-regress that noise can explain "
		"is\nprinted as inconclusive.  Reports of different scenarios, "
		"accelerators or\nguest sizes are refused (exit 2) unless "
		"--force.\n");
}

static int gate_parse_max(const char *s, double *max)
{
	char *end;

	*max = strtod(s, &end) / 100;
	if (end == s || (*end && strcmp(end, "%")) || !(*max > 0) ||
	    *max >= 1) {
		bb_err("--max-regress: '%s' is not a percentage above 0 and "
		       "below 100%%", s);
		return -EINVAL;
	}
	return 0;
}

static int gate_parse(int argc, char **argv, struct gate_args *a)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--baseline") && i + 1 < argc &&
		    a->nbase < GATE_MAX_BASE) {
			a->base[a->nbase++] = argv[++i];
		} else if (!strcmp(argv[i], "--max-regress") && i + 1 < argc) {
			if (gate_parse_max(argv[++i], &a->max))
				return -EINVAL;
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
	if (!a->nbase || !a->report) {
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

/* The figure over every baseline run that has it; -1 if none does. */
static int gate_baseline(const struct gate_reports *r, const char *ref,
			 const char *name, const struct scn_figure *f,
			 struct rt_baseline *b)
{
	double ratio[GATE_MAX_BASE], se[GATE_MAX_BASE];
	int i, k = 0;

	for (i = 0; i < r->nbase; i++)
		if (!gate_ratio(r->base[i], ref, name, f, &ratio[k], &se[k]))
			k++;
	if (!k)
		return -1;
	rt_baseline_combine(ratio, se, k, b);
	return 0;
}

static const char *const gate_label[] = {
	[RT_GATE_OK] = "ok  ",
	[RT_GATE_FAIL] = "FAIL",
	[RT_GATE_INCONCLUSIVE] = "inconclusive",
};

static void gate_figure(const struct gate_reports *r,
			const struct gate_args *a, const char *name,
			const struct scn_figure *f, struct gate_tally *t)
{
	struct rt_baseline b;
	struct rt_gate_fig g;
	double now, se;

	if (gate_baseline(r, a->ref, name, f, &b))
		return;		/* the baseline has nothing to hold it to */
	if (gate_ratio(r->now, a->ref, name, f, &now, &se)) {
		printf("FAIL %-16s %-11s in the baseline, missing from the "
		       "report (or its %s row)\n", name, f->key, a->ref);
		t->failed++;
		return;
	}
	rt_gate_decide(b.ratio, b.se, now, rt_run_noise(se, &b), a->max,
		       rt_gate_quantile(b.runs), &g);
	t->compared++;
	t->failed += g.result == RT_GATE_FAIL;
	t->inconclusive += g.result == RT_GATE_INCONCLUSIVE;
	printf("%s %-16s %-11s %.2fx -> %.2fx over %s: %+.1f%%, upper bound "
	       "%+.1f%% (noise %.1f%%)\n", gate_label[g.result], name, f->key,
	       g.base, g.now, a->ref, 100 * g.change, 100 * g.upper,
	       100 * (exp(rt_gate_quantile(b.runs) * g.noise) - 1));
}

static void gate_rows(const struct gate_reports *r, const struct gate_args *a,
		      struct gate_tally *t)
{
	const struct scn_figure *f;
	const char *name;
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(r->base[0], RK_ROWS), i, row) {
		name = json_string_value(json_object_get(row, RK_NAME));
		if (scn_ungated(r->ops, name) || !strcmp(name, a->ref))
			continue;
		for (f = r->ops->figures; f && f->key; f++)
			if (f->gated)
				gate_figure(r, a, name, f, t);
	}
}

static int gate_run(const struct gate_reports *r, struct gate_args *a)
{
	struct gate_tally t = { 0 };

	if (!a->ref)
		a->ref = r->ops->reference;
	if (!a->ref) {
		printf("FAIL scenario '%s' has no reference row: it gates "
		       "nothing\n", r->ops->name);
		return 1;
	}
	if (r->nbase == 1)
		printf("note: one baseline run: only the spread inside each "
		       "report is counted as noise\n");
	if (!rpt_row(r->now, a->ref)) {
		printf("FAIL the report has no '%s' row\n", a->ref);
		t.failed++;
	}
	gate_rows(r, a, &t);
	if (json_array_size(json_object_get(r->now, "errors"))) {
		printf("FAIL the report records errors\n");
		t.failed++;
	}
	if (!t.compared) {
		printf("FAIL no gated figure was compared (baseline and report "
		       "share no gated row with a '%s' reference)\n", a->ref);
		t.failed++;
	}
	printf("gate: %s: %d figure%s compared against %d baseline run%s, %d "
	       "failed, %d inconclusive (max regression %.0f%%)\n",
	       t.failed ? "FAILED" : "passed", t.compared,
	       t.compared == 1 ? "" : "s", r->nbase, r->nbase == 1 ? "" : "s",
	       t.failed, t.inconclusive, 100 * a->max);
	return t.failed ? 1 : 0;
}

static void gate_free(struct gate_reports *r)
{
	int i;

	for (i = 0; i < r->nbase; i++)
		json_decref(r->base[i]);
	json_decref(r->now);
}

/* Load every report and check that they measure the same thing. */
static int gate_load(const struct gate_args *a, struct gate_reports *r)
{
	char err[1024];
	int i;

	r->now = rt_load(a->report, &r->ops);
	if (!r->now)
		return -EINVAL;
	for (i = 0; i < a->nbase; i++) {
		r->base[r->nbase] = rpt_load(a->base[i], err, sizeof(err));
		if (!r->base[r->nbase])
			goto bad;
		r->nbase++;
		if (rt_comparable(r->base[i], r->now, err, sizeof(err)) &&
		    !a->force) {
			bb_err("%s against %s: %s; --force gates anyway",
			       a->base[i], a->report, err);
			return -EINVAL;
		}
	}
	return 0;
bad:
	bb_err("%s", err);
	return -EINVAL;
}

int cmd_gate(int argc, char **argv)
{
	struct gate_args a = { .max = 0.10 };
	struct gate_reports r = { .nbase = 0 };
	int rc;

	if (argc > 0 && !strcmp(argv[0], "--help")) {
		gate_usage(stdout);
		return BB_EXIT_OK;
	}
	if (gate_parse(argc, argv, &a))
		return BB_EXIT_USAGE;
	if (gate_load(&a, &r)) {
		gate_free(&r);
		return BB_EXIT_USAGE;
	}
	rc = gate_run(&r, &a);
	gate_free(&r);
	return rc ? BB_EXIT_FAIL : BB_EXIT_OK;
}
