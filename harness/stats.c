// SPDX-License-Identifier: GPL-2.0
/* Summary statistics and Welch's t-test: pure, unit-tested. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static int stats_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void stats_compute(const double *v, int n, struct stats *out)
{
	double *s, sum = 0, sq = 0;
	int i;

	memset(out, 0, sizeof(*out));
	if (n <= 0)
		return;
	s = malloc(sizeof(*s) * (size_t)n);
	if (!s)
		return;
	memcpy(s, v, sizeof(*s) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), stats_cmp);
	for (i = 0; i < n; i++)
		sum += s[i];
	out->n = n;
	out->min = s[0];
	out->max = s[n - 1];
	out->mean = sum / n;
	out->median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	for (i = 0; i < n; i++)
		sq += (s[i] - out->mean) * (s[i] - out->mean);
	out->stddev = n > 1 ? sqrt(sq / (n - 1)) : 0;
	free(s);
}

int stats_welch(const struct stats *a, const struct stats *b, double *t,
		double *df)
{
	double va, vb, se2;

	if (a->n < 2 || b->n < 2)
		return -1;
	va = a->stddev * a->stddev / a->n;
	vb = b->stddev * b->stddev / b->n;
	se2 = va + vb;
	if (se2 <= 0) {
		/* identical constant samples: infinitely significant or none */
		*t = a->mean == b->mean ? 0 : INFINITY;
		*df = a->n + b->n - 2;
		return 0;
	}
	*t = (a->mean - b->mean) / sqrt(se2);
	*df = se2 * se2 / (va * va / (a->n - 1) + vb * vb / (b->n - 1));
	return 0;
}

/*
 * A two-sided quantile of Student's t from a table indexed by degrees of
 * freedom (1..n-1), and past it z + slope / df, which approaches the
 * normal quantile z.
 */
static double stats_t_lookup(const double *table, int n, double z,
			     double slope, double df)
{
	int d = (int)floor(df);

	if (d < 1)
		d = 1;
	return d < n ? table[d] : z + slope / df;
}

double stats_t_crit95(double df)
{
	static const double table[] = {
		0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
		2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110,
		2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
		2.052, 2.048, 2.045, 2.042,
	};

	return stats_t_lookup(table, sizeof(table) / sizeof(table[0]), 1.960,
			      2.4, df);
}

double stats_t_crit99(double df)
{
	static const double table[] = {
		0, 63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355,
		3.250, 3.169, 3.106, 3.055, 3.012, 2.977, 2.947, 2.921, 2.898,
		2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779,
		2.771, 2.763, 2.756, 2.750,
	};

	return stats_t_lookup(table, sizeof(table) / sizeof(table[0]), 2.576,
			      5.5, df);
}
