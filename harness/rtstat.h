/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decisions of compare and gate, apart from their I/O so that every
 * verdict is unit-tested (tests/unit/test_reporttools.c).
 */
#ifndef BB_RTSTAT_H
#define BB_RTSTAT_H

#include "stats.h"

/* Fewest samples per side before compare calls a difference anything. */
#define RT_MIN_SAMPLES 3
/* From this many samples a side, compare trusts the t-test alone (at 99 %). */
#define RT_MANY_SAMPLES 5

/* One-sided 95 % quantile of the normal distribution: the gate's bound. */
#define RT_Z95 1.645

enum rt_verdict {
	RT_TOO_FEW,		/* fewer than RT_MIN_SAMPLES on a side */
	RT_INCONCLUSIVE,	/* a difference noise can explain */
	RT_REAL,		/* Welch's test and the min/max rule agree */
};

/* compare: is B's mean different from A's?  Same statistic as the change. */
enum rt_verdict rt_compare(const struct stats *a, const struct stats *b);
const char *rt_verdict_name(enum rt_verdict v);

/* Relative change of the means, B against A (0.10 = 10 % more). */
double rt_change(const struct stats *a, const struct stats *b);

enum rt_gate_result {
	RT_GATE_OK,		/* within the threshold, or better */
	RT_GATE_FAIL,		/* lost more than the threshold beyond noise */
	RT_GATE_INCONCLUSIVE,	/* may have lost more; noise too large to say */
};

/* One gated figure of one row: its ratio to the reference in each report. */
struct rt_gate_fig {
	double base;		/* ratio in the baseline (speed-up: > 1 better) */
	double now;		/* ratio in the report being gated */
	double change;		/* now / base - 1 */
	double noise;		/* standard error of ln(now / base) */
	double upper;		/* change at its one-sided 95 % upper bound */
	enum rt_gate_result result;
};

/*
 * The ratio of a row's figure to its reference row's in one report, with
 * the standard error of its logarithm: medians for the ratio, each side's
 * coefficient of variation over sqrt(n) for the noise (infinite when a
 * side has fewer than 2 samples).  higher_better picks the direction, so
 * that a ratio above 1 is always the row doing better.
 */
int rt_ratio(const struct stats *ref, const struct stats *row,
	     int higher_better, double *ratio, double *se);

/* A figure's ratio over several baseline runs of the same scenario. */
struct rt_baseline {
	double ratio;		/* geometric mean of the runs' ratios */
	double se;		/* standard error of its logarithm */
	double between;		/* sd of ln ratio between runs; NAN for one */
	int runs;		/* baseline runs */
};

/*
 * Combine k baseline runs' ratios (and their within-run standard errors,
 * used when k is 1): with k >= 2 the noise is what the runs really did,
 * between them, which also holds what differs from VM to VM and is
 * invisible inside one run.
 */
void rt_baseline_combine(const double *ratio, const double *se, int k,
			 struct rt_baseline *out);

/* The noise of one new run's ln ratio: its own, or the baseline's between. */
double rt_run_noise(double within_se, const struct rt_baseline *b);

/*
 * Gate one figure: max is the allowed loss (0.10 = 10 %), q the one-sided
 * 95 % quantile the upper bound is taken at (rt_gate_quantile).
 */
void rt_gate_decide(double base, double base_se, double now, double now_se,
		    double max, double q, struct rt_gate_fig *out);

/*
 * The quantile for noise estimated from runs baseline runs: Student's t
 * with runs - 1 degrees of freedom (a spread from 3 runs is itself
 * uncertain), the normal 1.645 for one run's within-run spread.
 */
double rt_gate_quantile(int runs);

#endif
