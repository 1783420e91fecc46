// SPDX-License-Identifier: GPL-2.0
/*
 * The migrate report's side: its figures, the table (per strategy and run:
 * migration time, what a user waited, downtime, bytes and pages sent, the
 * guest's hint or bitmap time; then medians) and the plot (median time
 * and bytes per row, whiskers from the fastest to the slowest run).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "migrate.h"
#include "plot.h"
#include "report.h"
#include "rptkeys.h"

const struct scn_figure mig_figures[] = {
	{ MIG_TOTAL_MS, 0, 1 },
	{ MIG_SENT_BYTES, 0, 1 },
	{ MIG_USER_MS, 0, 0 },
	{ MIG_DOWNTIME_MS, 0, 0 },
	{ NULL, 0, 0 },
};

static double mig_get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static double mig_sum(json_t *row, const char *key, const char *which)
{
	return mig_get(json_object_get(json_object_get(row, RK_SUMMARY), key),
		       which);
}

void mig_table(json_t *rpt)
{
	json_t *row, *run;
	size_t i, j;

	printf("%-24s %4s %9s %9s %8s %9s %9s %9s %5s %8s\n", "STRATEGY", "RUN",
	       "TIME(ms)", "USER(ms)", "DOWN(ms)", "SENT_MiB", "NORMAL",
	       "ZERO", "SYNCS", "GUEST_ms");
	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row) {
		const char *name = json_string_value(json_object_get(row,
							RK_NAME));

		json_array_foreach(json_object_get(row, RK_RUNS), j, run)
			printf("%-24s %4.0f %9.0f %9.0f %8.0f %9.1f %9.0f %9.0f "
			       "%5.0f %8.1f\n", name, mig_get(run, "run"),
			       mig_get(run, MIG_TOTAL_MS),
			       mig_get(run, MIG_USER_MS),
			       mig_get(run, MIG_DOWNTIME_MS),
			       mig_get(run, MIG_SENT_BYTES) / (1 << 20),
			       mig_get(run, MIG_NORMAL_PAGES),
			       mig_get(run, MIG_ZERO_PAGES),
			       mig_get(run, MIG_SYNCS),
			       mig_get(run, MIG_GUEST_BUILD_MS));
		if (json_object_get(json_object_get(row, RK_SUMMARY),
				    MIG_TOTAL_MS))
			printf("%-24s %4s %9.0f %9.0f %8.0f %9.1f\n", name,
			       "med", mig_sum(row, MIG_TOTAL_MS, "median"),
			       mig_sum(row, MIG_USER_MS, "median"),
			       mig_sum(row, MIG_DOWNTIME_MS, "median"),
			       mig_sum(row, MIG_SENT_BYTES, "median") /
			       (1 << 20));
	}
	printf("accelerator: %s; TIME is QEMU's total-time, USER what a user "
	       "waits (inflate-first: with the inflate and the deflate)\n",
	       rpt_accel(rpt));
}

/* migrate.dat: index, then median/min/max of time (s) and bytes (MiB). */
static int mig_plot_data(json_t *rpt, const char *path)
{
	json_t *row;
	size_t i;
	FILE *fp = fopen(path, "w");

	if (!fp)
		return -errno;
	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row)
		fprintf(fp, "%zu %.3f %.3f %.3f %.2f %.2f %.2f %.3f\n", i,
			mig_sum(row, MIG_TOTAL_MS, "median") / 1e3,
			mig_sum(row, MIG_TOTAL_MS, "min") / 1e3,
			mig_sum(row, MIG_TOTAL_MS, "max") / 1e3,
			mig_sum(row, MIG_SENT_BYTES, "median") / 1048576.0,
			mig_sum(row, MIG_SENT_BYTES, "min") / 1048576.0,
			mig_sum(row, MIG_SENT_BYTES, "max") / 1048576.0,
			mig_sum(row, MIG_USER_MS, "median") / 1e3);
	return fclose(fp) ? -errno : 0;
}

static void mig_plot_panel(FILE *fp, json_t *rpt, const char *dir, int col,
			   const char *ylabel)
{
	json_t *row;
	size_t i, n = json_array_size(json_object_get(rpt, RK_ROWS));

	fprintf(fp, "set ylabel '%s'\nset xrange [-0.6:%zu.6]\nset xtics (",
		ylabel, n - 1);
	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row) {
		fputs(i ? ", " : "", fp);
		plot_name(fp, json_string_value(json_object_get(row, RK_NAME)));
		fprintf(fp, " %zu", i);
	}
	fprintf(fp, ")\nplot '%s/migrate.dat' using 1:%d with boxes "
		"fs solid 0.5 notitle, '' using 1:%d:%d:%d with yerrorbars "
		"pt 0 lc rgb 'black' notitle", dir, col, col, col + 1, col + 2);
	if (col == 2)
		fputs(", '' using 1:8 with points pt 7 ps 1.5 lc rgb 'red' "
		      "title 'what a user waits (inflate-first: with inflate "
		      "and deflate)'", fp);
	fputc('\n', fp);
}

int mig_plot(json_t *rpt, const char *dir, char *err, unsigned long len)
{
	char path[700];
	FILE *fp;
	int t, rc;

	if (!json_array_size(json_object_get(rpt, RK_ROWS))) {
		snprintf(err, len, "the report has no rows to plot");
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/migrate.dat", dir);
	rc = mig_plot_data(rpt, path);
	if (rc) {
		snprintf(err, len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/migrate.gp", dir);
	fp = fopen(path, "w");
	if (!fp) {
		rc = -errno;
		snprintf(err, len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	for (t = 0; t < 2; t++) {
		fprintf(fp, "reset\nset terminal %s size 1000,800\n"
			"set output '%s/migrate.%s'\nset multiplot layout 2,1 "
			"title 'live migration (%s): median of the runs, bars "
			"from the fastest to the slowest'\nset grid ytics\n"
			"set boxwidth 0.6\nset yrange [0:*]\nset xtics "
			"rotate by -20\n", t ? "svg dynamic" : "pngcairo", dir,
			t ? "svg" : "png", rpt_accel(rpt));
		mig_plot_panel(fp, rpt, dir, 2, "migration time (s)");
		mig_plot_panel(fp, rpt, dir, 5, "transferred (MiB)");
		fputs("unset multiplot\n", fp);
	}
	if (fclose(fp)) {
		rc = -errno;
		snprintf(err, len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	return plot_gnuplot(dir, "migrate.gp", err, len);
}
