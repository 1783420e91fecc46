// SPDX-License-Identifier: GPL-2.0
/*
 * The statistics behind compare and gate (pure).  README's "Comparing and
 * gating" states the same rules in words.
 */
#include <math.h>

#include "rtstat.h"

double rt_change(const struct stats *a, const struct stats *b)
{
	return a->mean != 0 ? (b->mean - a->mean) / a->mean : NAN;
}

enum rt_verdict rt_compare(const struct stats *a, const struct stats *b)
{
	double t, df;
	int ranges_apart;

	if (a->n < RT_MIN_SAMPLES || b->n < RT_MIN_SAMPLES)
		return RT_TOO_FEW;
	/* No spread measured on either side: the noise is unknown. */
	if (a->stddev <= 0 && b->stddev <= 0)
		return RT_INCONCLUSIVE;
	if (stats_welch(a, b, &t, &df))
		return RT_TOO_FEW;
	/*
	 * With a few samples the t-test's assumptions are shaky: the ranges
	 * must not overlap either (LKP's rule).  With RT_MANY_SAMPLES a side,
	 * one outlier would blind that rule, so the t-test decides alone, at
	 * 99 %.
	 */
	if (a->n >= RT_MANY_SAMPLES && b->n >= RT_MANY_SAMPLES)
		return fabs(t) > stats_t_crit99(df) ? RT_REAL : RT_INCONCLUSIVE;
	ranges_apart = b->min > a->max || b->max < a->min;
	return ranges_apart && fabs(t) > stats_t_crit95(df) ? RT_REAL :
	       RT_INCONCLUSIVE;
}

const char *rt_verdict_name(enum rt_verdict v)
{
	switch (v) {
	case RT_REAL:
		return "real";
	case RT_INCONCLUSIVE:
		return "inconclusive";
	case RT_TOO_FEW:
		break;
	}
	return "too few samples";
}

static double rt_rel_var(const struct stats *s)
{
	if (s->n < 2)
		return INFINITY;
	if (s->mean <= 0)
		return INFINITY;
	return (s->stddev / s->mean) * (s->stddev / s->mean) / s->n;
}

int rt_ratio(const struct stats *ref, const struct stats *row,
	     int higher_better, double *ratio, double *se)
{
	if (ref->n < 1 || row->n < 1 || ref->median <= 0 || row->median <= 0)
		return -1;
	*ratio = higher_better ? row->median / ref->median :
		 ref->median / row->median;
	*se = sqrt(rt_rel_var(ref) + rt_rel_var(row));
	return 0;
}

void rt_gate_decide(double base, double base_se, double now, double now_se,
		    double max, double q, struct rt_gate_fig *out)
{
	double d = log(now / base), floor = log(1 - max);

	out->base = base;
	out->now = now;
	out->change = now / base - 1;
	out->noise = sqrt(base_se * base_se + now_se * now_se);
	out->upper = exp(d + q * out->noise) - 1;
	if (d + q * out->noise < floor)
		out->result = RT_GATE_FAIL;
	else if (d < floor)
		out->result = RT_GATE_INCONCLUSIVE;
	else
		out->result = RT_GATE_OK;
}

void rt_baseline_combine(const double *ratio, const double *se, int k,
			 struct rt_baseline *out)
{
	double sum = 0, sq = 0, m;
	int i;

	for (i = 0; i < k; i++)
		sum += log(ratio[i]);
	m = sum / k;
	for (i = 0; i < k; i++)
		sq += (log(ratio[i]) - m) * (log(ratio[i]) - m);
	out->ratio = exp(m);
	out->runs = k;
	if (k < 2) {
		/* One run: only its own spread is known. */
		out->between = NAN;
		out->se = se[0];
		return;
	}
	out->between = sqrt(sq / (k - 1));
	out->se = out->between / sqrt(k);
}

double rt_run_noise(double within_se, const struct rt_baseline *b)
{
	/* A single run varies by at least what runs of the baseline did. */
	if (isnan(b->between) || b->between < within_se)
		return within_se;
	return b->between;
}

double rt_gate_quantile(int runs)
{
	/* One-sided 95 % quantiles of Student's t, df = runs - 1. */
	static const double t[] = {
		0, 6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860,
		1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753,
	};
	int df = runs - 1;

	if (runs < 2)
		return RT_Z95;
	return df < (int)(sizeof(t) / sizeof(t[0])) ? t[df] : RT_Z95;
}
