// SPDX-License-Identifier: GPL-2.0
/*
 * compare and gate: read report files only, never boot anything.
 *
 * compare A B prints, per row and figure, the medians, the change, and a
 * verdict: Welch's t-test at 95 % when both sides have two or more samples,
 * and the min/max rule of Intel's LKP (the ranges do not overlap) as well;
 * a difference is called real only when both agree.
 *
 * gate compares figures that are ratios measured inside one run (each
 * row's speed-up over the reference row of the same report), never
 * absolute times, since machines differ.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "inflate.h"
#include "log.h"
#include "report.h"
#include "scenario.h"
#include "stats.h"

static json_t *row_by_name(json_t *rpt, const char *name)
{
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(rpt, "rows"), i, row)
		if (!strcmp(json_string_value(json_object_get(row, "name")),
			    name))
			return row;
	return NULL;
}

/* Summary of one figure of a row; n = 0 when absent. */
static void row_stats(json_t *row, const char *key, struct stats *st)
{
	json_t *s = json_object_get(json_object_get(row, "summary"), key);

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

/* "real", "noise" or "n/a": see the comment at the top. */
static const char *verdict(const struct stats *a, const struct stats *b)
{
	double t, df;
	int lkp, welch;

	if (a->n < 1 || b->n < 1)
		return "n/a";
	lkp = b->min > a->max || b->max < a->min;
	if (stats_welch(a, b, &t, &df))
		return lkp ? "real (min/max only)" : "noise";
	welch = fabs(t) > stats_t_crit95(df);
	return lkp && welch ? "real" : "noise";
}

static int load_two(const char *a, const char *b, json_t **ra, json_t **rb)
{
	char err[1024];

	*ra = rpt_load(a, err, sizeof(err));
	if (!*ra) {
		bb_err("%s", err);
		return -EINVAL;
	}
	*rb = rpt_load(b, err, sizeof(err));
	if (!*rb) {
		bb_err("%s", err);
		json_decref(*ra);
		return -EINVAL;
	}
	return 0;
}

int cmd_compare(int argc, char **argv)
{
	static const char *const figures[] = { "inflate_ms", "deflate_ms" };
	json_t *ra, *rb, *row, *other;
	struct stats sa, sb;
	size_t i;
	unsigned f;

	if (argc != 2 || !strcmp(argv[0], "--help")) {
		printf("usage: balloonbench compare A/report.json B/report.json\n"
		       "Per row: medians of A and B, change, and whether it is "
		       "real\n(Welch's t-test at 95%% and LKP's min/max rule "
		       "must both agree).\n");
		return argc == 2 ? BB_EXIT_OK : BB_EXIT_USAGE;
	}
	if (load_two(argv[0], argv[1], &ra, &rb))
		return BB_EXIT_USAGE;
	printf("%-14s %-11s %10s %10s %8s  %s\n", "ROW", "FIGURE", "A_MEDIAN",
	       "B_MEDIAN", "CHANGE", "VERDICT");
	json_array_foreach(json_object_get(rb, "rows"), i, row) {
		const char *name = json_string_value(json_object_get(row, "name"));

		other = row_by_name(ra, name);
		for (f = 0; other && f < 2; f++) {
			row_stats(other, figures[f], &sa);
			row_stats(row, figures[f], &sb);
			if (!sa.n || !sb.n)
				continue;
			printf("%-14s %-11s %10.1f %10.1f %+7.1f%%  %s\n", name,
			       figures[f], sa.median, sb.median,
			       sa.median > 0 ? 100 * (sb.median - sa.median) /
			       sa.median : 0, verdict(&sa, &sb));
		}
		if (!other)
			printf("%-14s only in B\n", name);
	}
	json_decref(ra);
	json_decref(rb);
	return BB_EXIT_OK;
}

/*
 * Speed-up of row over the report's reference row: from medians, or with
 * best set, the most favourable pairing (reference max over row min).
 */
static double speedup(json_t *rpt, json_t *row, const char *ref,
		      const char *key, int best)
{
	json_t *base = row_by_name(rpt, ref);
	struct stats sb, sr;

	if (!base || !row)
		return NAN;
	row_stats(base, key, &sb);
	row_stats(row, key, &sr);
	if (!sb.n || !sr.n || sr.median <= 0 || sr.min <= 0)
		return NAN;
	return best ? sb.max / sr.min : sb.median / sr.median;
}

static int gate_args(int argc, char **argv, const char **base,
		     const char **res, double *max, const char **ref)
{
	char *end;
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--baseline") && i + 1 < argc)
			*base = argv[++i];
		else if (!strcmp(argv[i], "--max-regress") && i + 1 < argc) {
			*max = strtod(argv[++i], &end) / 100;
			if (end == argv[i] || (*end && strcmp(end, "%")) ||
			    *max < 0 || *max >= 1) {
				bb_err("--max-regress: '%s' is not a "
				       "percentage below 100%%", argv[i]);
				return -EINVAL;
			}
		} else if (!strcmp(argv[i], "--reference") && i + 1 < argc)
			*ref = argv[++i];
		else if (argv[i][0] != '-' && !*res)
			*res = argv[i];
		else {
			bb_err("gate: unexpected argument '%s'", argv[i]);
			return -EINVAL;
		}
	}
	if (!*base || !*res) {
		bb_err("usage: balloonbench gate --baseline BASE REPORT "
		       "[--max-regress 10%%] [--reference stock]");
		return -EINVAL;
	}
	return 0;
}

/* Gate one row: 0 pass, 1 regression. */
static int gate_row(json_t *rb, json_t *rr, json_t *brow, const char *ref,
		    double max)
{
	static const char *const figures[] = { "inflate_ms", "deflate_ms" };
	const char *name = json_string_value(json_object_get(brow, "name"));
	json_t *rrow = row_by_name(rr, name);
	double b, r, best;
	int f, fail, bad = 0;

	for (f = 0; f < 2; f++) {
		b = speedup(rb, brow, ref, figures[f], 0);
		if (isnan(b))
			continue;
		r = speedup(rr, rrow, ref, figures[f], 0);
		best = speedup(rr, rrow, ref, figures[f], 1);
		if (isnan(r)) {
			printf("FAIL %-14s %-10s missing in the report\n", name,
			       figures[f]);
			bad = 1;
			continue;
		}
		/* Even the best pairing of samples must fall short to fail. */
		fail = best < b * (1 - max);
		bad |= fail;
		printf("%s %-14s %-10s speed-up over %s: baseline %.2fx, now "
		       "%.2fx (%+.1f%%, best pairing %.2fx)\n",
		       fail ? "FAIL" : "ok  ", name, figures[f], ref, b, r,
		       100 * (r - b) / b, best);
	}
	return bad;
}

int cmd_gate(int argc, char **argv)
{
	const char *base = NULL, *res = NULL, *ref = "stock";
	double max = 0.10;
	json_t *rb, *rr, *brow;
	size_t i;
	int bad = 0;

	if (argc > 0 && !strcmp(argv[0], "--help")) {
		printf("usage: balloonbench gate --baseline BASE REPORT "
		       "[--max-regress 10%%] [--reference stock]\n"
		       "Exit 1 when a row's speed-up over the reference row, "
		       "measured within\nREPORT, fell by more than max-regress "
		       "against the median ratio in BASE,\neven for the most "
		       "favourable pairing of REPORT's samples (reference max "
		       "over\nrow min: LKP's min/max rule, robust to noise). "
		       "Absolute times are never\ngated: machines differ.\n");
		return BB_EXIT_OK;
	}
	if (gate_args(argc, argv, &base, &res, &max, &ref) ||
	    load_two(base, res, &rb, &rr))
		return BB_EXIT_USAGE;
	if (!row_by_name(rr, ref)) {
		bb_err("%s has no '%s' row to measure speed-ups against", res,
		       ref);
		bad = 1;
	}
	json_array_foreach(json_object_get(rb, "rows"), i, brow) {
		const char *n = json_string_value(json_object_get(brow, "name"));

		if (strcmp(n, ref) && strcmp(n, "limit"))
			bad |= gate_row(rb, rr, brow, ref, max);
	}
	if (json_array_size(json_object_get(rr, "errors"))) {
		printf("FAIL the report records errors\n");
		bad = 1;
	}
	printf("gate: %s (max regression %.0f%%)\n", bad ? "FAILED" : "passed",
	       max * 100);
	json_decref(rb);
	json_decref(rr);
	return bad ? BB_EXIT_FAIL : BB_EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
	char err[1024];
	json_t *rpt;

	if (argc != 1 || !strcmp(argv[0], "--help")) {
		printf("usage: balloonbench show REPORT\n"
		       "Print a report's table again: medians, speed-ups, stage "
		       "shares.\n");
		return argc == 1 ? BB_EXIT_OK : BB_EXIT_USAGE;
	}
	rpt = rpt_load(argv[0], err, sizeof(err));
	if (!rpt) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	inflate_print_table(rpt);
	json_decref(rpt);
	return BB_EXIT_OK;
}
