// SPDX-License-Identifier: GPL-2.0
/*
 * The overcommit report's side: its figures, the table of seed 001 (per
 * strategy and run: time, swap in, swap out; then medians), and the plots
 * (swap rates and total balloon over time per strategy from each row's
 * first run's series; every guest's build time per strategy).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overcommit.h"
#include "plot.h"
#include "report.h"
#include "rptkeys.h"

const struct scn_figure oc_figures[] = {
	{ OC_RUN_S, 0, 1 },
	{ OC_SWAP_IN, 0, 0 },
	{ OC_SWAP_OUT, 0, 0 },
	{ NULL, 0, 0 },
};

static double oc_get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static double oc_median(json_t *row, const char *key)
{
	return oc_get(json_object_get(json_object_get(row, RK_SUMMARY), key),
		      "median");
}

/* A row that failed: its error's first line, under the row's name. */
static void oc_row_failure(json_t *rpt, const char *name)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(rpt, "errors"), i, e) {
		const char *row = json_string_value(json_object_get(e, "row"));
		const char *msg = json_string_value(json_object_get(e,
							"message"));

		if (row && name && !strcmp(row, name) && msg)
			printf("%-14s %4s failed: %.*s\n", name, "-",
			       (int)strcspn(msg, "\n"), msg);
	}
}

/*
 * Reports before swap_in_after_pages counted swap until the last workload
 * exited, its clean-up included; later ones to the last build's end.
 */
int oc_builds_window(json_t *rpt)
{
	json_t *row, *run;
	size_t i, j;

	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row)
		json_array_foreach(json_object_get(row, RK_RUNS), j, run)
			if (json_object_get(run, "swap_in_after_pages"))
				return 1;
	return 0;
}

void oc_table(json_t *rpt)
{
	json_t *row, *run;
	size_t i, j;

	printf("%-14s %4s %9s %10s %10s %9s %9s %6s\n", "STRATEGY", "RUN",
	       "TIME(s)", "SWAP IN", "SWAP OUT", "PEAK_MiB", "BALL_MiB",
	       "STEPS");
	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row) {
		const char *name = json_string_value(json_object_get(row,
							"name"));

		json_array_foreach(json_object_get(row, RK_RUNS), j, run)
			printf("%-14s %4.0f %9.1f %10.0f %10.0f %9.0f %9.0f "
			       "%6.0f\n", name, oc_get(run, "run"),
			       oc_get(run, OC_RUN_S), oc_get(run, OC_SWAP_IN),
			       oc_get(run, OC_SWAP_OUT),
			       oc_get(run, "cgroup_peak_bytes") / (1 << 20),
			       oc_get(run, "balloon_peak_bytes") / (1 << 20),
			       oc_get(run, "mom_steps") +
			       oc_get(run, "auto_steps"));
		if (json_array_size(json_object_get(row, RK_RUNS)))
			printf("%-14s %4s %9.1f %10.0f %10.0f %9.0f %9.0f\n",
			       name, "med", oc_median(row, OC_RUN_S),
			       oc_median(row, OC_SWAP_IN),
			       oc_median(row, OC_SWAP_OUT),
			       oc_median(row, "cgroup_peak_bytes") / (1 << 20),
			       oc_median(row, "balloon_peak_bytes") /
			       (1 << 20));
		oc_row_failure(rpt, name);
	}
	printf("accelerator: %s; swap pages are the host's (/proc/vmstat) "
	       "%s\n", rpt_accel(rpt), oc_builds_window(rpt) ?
	       "over the builds (to the last one's end; the clean-up after "
	       "it: swap_*_after_pages)" : "until the last workload exited");
}

/* Row i's first run's series as rates: t, swap-in/s, swap-out/s, MiB. */
static int oc_series_data(json_t *row, const char *out)
{
	json_t *run = json_array_get(json_object_get(row, RK_RUNS), 0), *l;
	const char *name = json_string_value(json_object_get(run, "series"));
	double t, in, o, pt = 0, pin = 0, po = 0;
	char path[800], *line = NULL;
	size_t cap = 0;
	FILE *src, *dst;
	int first = 1;

	if (!name || strchr(name, '/'))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", plot_report_dir, name);
	src = fopen(path, "r");
	if (!src)
		return -errno;
	dst = fopen(out, "w");
	while (dst && getline(&line, &cap, src) > 0) {
		l = json_loads(line, 0, NULL);
		if (!l)
			continue;
		t = oc_get(l, "t_s");
		in = oc_get(l, "host_pswpin_pages");
		o = oc_get(l, "host_pswpout_pages");
		if (!first && t > pt)
			fprintf(dst, "%.2f %.1f %.1f %.1f\n", t,
				(in - pin) / (t - pt), (o - po) / (t - pt),
				oc_get(l, "balloon_total_bytes") / (1 << 20));
		first = 0;
		pt = t;
		pin = in;
		po = o;
		json_decref(l);
	}
	free(line);
	fclose(src);
	return dst && !fclose(dst) ? 0 : -EIO;
}

static void oc_plot_lines(FILE *fp, json_t *rpt, const char *dir, int col,
			  const char *ylabel)
{
	json_t *row;
	size_t i;

	fprintf(fp, "set ylabel '%s'\nplot ", ylabel);
	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row) {
		fprintf(fp, "%s'%s/timeline-%zu.dat' using 1:%d with lines "
			"lw 2 title ", i ? ", " : "", dir, i, col);
		plot_name(fp, json_string_value(json_object_get(row, "name")));
	}
	fputc('\n', fp);
}

static int oc_plot_timeline(json_t *rpt, const char *dir, char *err,
			    unsigned long len)
{
	char path[700];
	json_t *row;
	size_t i;
	FILE *fp;
	int t;

	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row) {
		snprintf(path, sizeof(path), "%s/timeline-%zu.dat", dir, i);
		if (oc_series_data(row, path)) {
			snprintf(err, len, "row %zu: cannot read its series "
				 "beside the report in %s", i, plot_report_dir);
			return -ENOENT;
		}
	}
	snprintf(path, sizeof(path), "%s/timeline.gp", dir);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	for (t = 0; t < 2; t++) {
		fprintf(fp, "reset\nset terminal %s size 1000,900\n"
			"set output '%s/timeline.%s'\nset multiplot layout 3,1 "
			"title 'overcommit (%s): first run of each strategy'\n"
			"set grid\nset key top left\nset xlabel 'time (s)'\n",
			t ? "svg dynamic" : "pngcairo", dir, t ? "svg" : "png",
			rpt_accel(rpt));
		oc_plot_lines(fp, rpt, dir, 2, "host swap-in (pages/s)");
		oc_plot_lines(fp, rpt, dir, 3, "host swap-out (pages/s)");
		oc_plot_lines(fp, rpt, dir, 4, "total balloon (MiB)");
		fputs("unset multiplot\n", fp);
	}
	if (fclose(fp))
		return -errno;
	return plot_gnuplot(dir, "timeline.gp", err, len);
}

/* builds.dat: row index, build seconds, one line per guest and run. */
static int oc_plot_builds(json_t *rpt, const char *dir, char *err,
			  unsigned long len)
{
	json_t *row, *run, *vm;
	size_t i, j, k, n = json_array_size(json_object_get(rpt, RK_ROWS));
	char path[700];
	FILE *fp;
	int t;

	snprintf(path, sizeof(path), "%s/builds.dat", dir);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row)
		json_array_foreach(json_object_get(row, RK_RUNS), j, run)
			json_array_foreach(json_object_get(run, "vms"), k, vm)
				fprintf(fp, "%zu %.2f\n", i,
					oc_get(vm, "build_s"));
	if (fclose(fp))
		return -errno;
	snprintf(path, sizeof(path), "%s/builds.gp", dir);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	for (t = 0; t < 2; t++) {
		fprintf(fp, "reset\nset terminal %s size 900,500\n"
			"set output '%s/builds.%s'\nset grid ytics\n"
			"set ylabel 'build time per guest (s)'\nset xrange "
			"[-0.5:%zu.5]\nset xtics (", t ? "svg dynamic" :
			"pngcairo", dir, t ? "svg" : "png", n - 1);
		json_array_foreach(json_object_get(rpt, RK_ROWS), i, row) {
			fputs(i ? ", " : "", fp);
			plot_name(fp, json_string_value(json_object_get(row,
								"name")));
			fprintf(fp, " %zu", i);
		}
		fprintf(fp, ")\nplot '%s/builds.dat' using 1:2 with points "
			"pt 7 ps 1.2 notitle\n", dir);
	}
	if (fclose(fp))
		return -errno;
	return plot_gnuplot(dir, "builds.gp", err, len);
}

int oc_plot(json_t *rpt, const char *dir, char *err, unsigned long len)
{
	int rc = oc_plot_timeline(rpt, dir, err, len);

	return rc ? rc : oc_plot_builds(rpt, dir, err, len);
}
