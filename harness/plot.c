// SPDX-License-Identifier: GPL-2.0
/*
 * balloonbench plot REPORT [OUTDIR]: stacked per-stage bars per row of an
 * inflate report, as PNG and SVG, through gnuplot.  Reads the report only.
 * The data file and gnuplot script stay beside the images so that a plot
 * can be restyled without running anything again.
 */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "plot.h"
#include "report.h"
#include "scenario.h"

static const char *const plot_stages[] = {
	"stage_guest_alloc_ms", "stage_guest_build_ms", "stage_transport_ms",
	"stage_host_queue_ms", "stage_host_translate_ms",
	"stage_host_discard_ms", "stage_rest_ms",
};
#define NSTAGES (sizeof(plot_stages) / sizeof(plot_stages[0]))

static double plot_mean(json_t *row, const char *key)
{
	json_t *s = json_object_get(json_object_get(row, "summary"), key);
	json_t *m = json_object_get(s, "mean");

	return json_is_number(m) ? json_number_value(m) : NAN;
}

/* One line per row: name, then each stage's mean ms (0 if unknown). */
static int plot_write_data(json_t *rpt, const char *path)
{
	FILE *fp = fopen(path, "w");
	json_t *row;
	size_t i;
	unsigned s;
	double v;

	if (!fp)
		return -errno;
	fprintf(fp, "# row");
	for (s = 0; s < NSTAGES; s++)
		fprintf(fp, " %s", plot_stages[s]);
	fprintf(fp, "\n");
	json_array_foreach(json_object_get(rpt, "rows"), i, row) {
		fprintf(fp, "\"%s\"", json_string_value(json_object_get(row,
								  "name")));
		for (s = 0; s < NSTAGES; s++) {
			v = plot_mean(row, plot_stages[s]);
			if (s == NSTAGES - 1 && isnan(v))
				v = plot_mean(row, "inflate_ms");
			fprintf(fp, " %.3f", isnan(v) ? 0 : v);
		}
		fprintf(fp, "\n");
	}
	return fclose(fp) ? -errno : 0;
}

static int plot_write_script(const char *dir, const char *title,
			     const char *accel)
{
	static const char *const labels[] = {
		"guest alloc", "guest build", "transport", "host queue",
		"host translate", "host discard", "rest",
	};
	char path[600];
	unsigned s;
	FILE *fp;
	int t;

	snprintf(path, sizeof(path), "%s/stages.gp", dir);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	for (t = 0; t < 2; t++) {
		fprintf(fp, "set terminal %s size 1000,600\n",
			t ? "svg dynamic" : "pngcairo");
		fprintf(fp, "set output '%s/stages.%s'\n", dir, t ? "svg" : "png");
		fprintf(fp, "set title \"%s: inflate time by stage (%s)\" noenhanced\n"
			"set style data histograms\nset style histogram rowstacked\n"
			"set style fill solid 0.8 border -1\nset boxwidth 0.7\n"
			"set ylabel 'ms (mean of repetitions)'\nset key outside right\n"
			"set xtics rotate by -30 noenhanced\nset grid ytics\n",
			title, accel);
		fprintf(fp, "plot '%s/stages.dat'", dir);
		for (s = 0; s < NSTAGES; s++)
			fprintf(fp, "%s using %u%s title '%s'", s ? ", ''" : "",
				s + 2, s ? "" : ":xtic(1)", labels[s]);
		fprintf(fp, "\n");
	}
	return fclose(fp) ? -errno : 0;
}

int cmd_plot(int argc, char **argv)
{
	char err[1024], dir[512], path[600], cmd[700], tmp[512];
	json_t *rpt;
	int rc, sweep;

	if (argc < 1 || argc > 2 || !strcmp(argv[0], "--help")) {
		printf("usage: balloonbench plot REPORT [OUTDIR]\n"
		       "Stacked per-stage bars per row as OUTDIR/stages.png and "
		       ".svg\n(OUTDIR defaults to the report's directory).\n");
		return argc >= 1 && argc <= 2 ? BB_EXIT_OK : BB_EXIT_USAGE;
	}
	rpt = rpt_load(argv[0], err, sizeof(err));
	if (!rpt) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	snprintf(tmp, sizeof(tmp), "%s", argv[0]);
	snprintf(dir, sizeof(dir), "%s", argc == 2 ? argv[1] : dirname(tmp));
	snprintf(path, sizeof(path), "%s/stages.dat", dir);
	rc = plot_write_data(rpt, path);
	if (!rc)
		rc = plot_write_script(dir, json_string_value(json_object_get(
			json_object_get(rpt, "scenario"), "name")),
			json_string_value(json_object_get(json_object_get(rpt,
			"host"), "accelerator")));
	sweep = !rc && plot_is_sweep(rpt);
	if (sweep)
		rc = plot_sweep(rpt, dir);
	json_decref(rpt);
	if (rc) {
		bb_err("cannot write plot files in %s: %s", dir, strerror(-rc));
		return BB_EXIT_FAIL;
	}
	snprintf(cmd, sizeof(cmd), "gnuplot '%s/stages.gp'", dir);
	if (system(cmd)) {
		bb_err("gnuplot failed on %s/stages.gp", dir);
		return BB_EXIT_FAIL;
	}
	snprintf(cmd, sizeof(cmd), "gnuplot '%s/sweep.gp'", dir);
	if (sweep && system(cmd)) {
		bb_err("gnuplot failed on %s/sweep.gp", dir);
		return BB_EXIT_FAIL;
	}
	printf("%s/stages.png\n%s/stages.svg\n", dir, dir);
	if (sweep)
		printf("%s/sweep.png\n%s/sweep.svg\n", dir, dir);
	return BB_EXIT_OK;
}
