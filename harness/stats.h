/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_STATS_H
#define BB_STATS_H

/* Summary of repeated samples. */
struct stats {
	int n;		/* samples */
	double min;
	double median;
	double max;
	double mean;
	double stddev;	/* sample standard deviation (n - 1); 0 if n < 2 */
};

void stats_compute(const double *v, int n, struct stats *out);

/*
 * Welch's t-test for two samples: t statistic and degrees of freedom.
 * Returns -1 if either sample has fewer than 2 values.
 */
int stats_welch(const struct stats *a, const struct stats *b, double *t,
		double *df);

/* Two-sided critical t value at 95 % for df degrees of freedom. */
double stats_t_crit95(double df);
/* The same at 99 %. */
double stats_t_crit99(double df);

#endif
