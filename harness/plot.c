// SPDX-License-Identifier: GPL-2.0
/*
 * balloonbench plot REPORT [OUTDIR]: the plots of the report's scenario,
 * as PNG and SVG, through gnuplot.  Reads the report only.  The data files
 * and gnuplot scripts stay beside the images so that a plot can be
 * restyled without running anything again.
 *
 * The inflate plot has two panels: the stacked per-stage bars on a linear
 * axis (where the time goes in the slow rows), and each row's total on a
 * logarithmic axis, where the order-9 and limit rows, a hundred times
 * faster than stock, are still readable.
 */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "inflate.h"
#include "log.h"
#include "plot.h"
#include "report.h"
#include "rptkeys.h"
#include "scenario.h"

char plot_report_dir[512] = ".";

static const char *const plot_stages[] = {
	RK_STAGE_ALLOC_MS, RK_STAGE_BUILD_MS, RK_STAGE_COMMIT_MS,
	RK_STAGE_TRANSPORT_MS,
	RK_STAGE_QUEUE_MS, RK_STAGE_XLATE_MS, RK_STAGE_DISCARD_MS,
	RK_STAGE_REST_MS,
};
#define NSTAGES (sizeof(plot_stages) / sizeof(plot_stages[0]))

static double plot_mean(json_t *row, const char *key)
{
	json_t *s = json_object_get(json_object_get(row, RK_SUMMARY), key);
	json_t *m = json_object_get(s, "mean");

	return json_is_number(m) ? json_number_value(m) : NAN;
}

/* A row name as a gnuplot string: no quote or backslash can break out. */
void plot_name(FILE *fp, const char *name)
{
	fputc('"', fp);
	for (; *name; name++)
		fputc(*name == '"' || *name == '\\' ? '_' : *name, fp);
	fputc('"', fp);
}

/* One line per row: name, each stage's mean ms (0 if unknown), total. */
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
	fprintf(fp, " %s\n", RK_INFLATE_MS);
	json_array_foreach(json_object_get(rpt, RK_ROWS), i, row) {
		plot_name(fp, json_string_value(json_object_get(row, RK_NAME)));
		for (s = 0; s < NSTAGES; s++) {
			v = plot_mean(row, plot_stages[s]);
			if (s == NSTAGES - 1 && isnan(v))
				v = plot_mean(row, RK_INFLATE_MS);
			fprintf(fp, " %.3f", isnan(v) ? 0 : v);
		}
		v = plot_mean(row, RK_INFLATE_MS);
		fprintf(fp, " %.4f\n", isnan(v) || v <= 0 ? NAN : v);
	}
	return fclose(fp) ? -errno : 0;
}

static void plot_panels(FILE *fp, const char *dir, const char *title,
			const char *accel)
{
	static const char *const labels[] = {
		"guest alloc", "guest build", "guest commit", "transport",
		"host queue",
		"host translate", "host discard", "rest",
	};
	unsigned s;

	fprintf(fp, "set multiplot layout 1,2 title \"%s: inflate time "
		"(%s)\" noenhanced\nset style fill solid 0.8 border -1\n"
		"set boxwidth 0.7\nset xtics rotate by -30 noenhanced\n"
		"set grid ytics\nset datafile missing 'nan'\n", title, accel);
	fprintf(fp, "set title 'by stage (mean ms, linear)'\n"
		"set style data histograms\nset style histogram rowstacked\n"
		"set ylabel 'ms'\nset key top right\n");
	fprintf(fp, "plot '%s/stages.dat'", dir);
	for (s = 0; s < NSTAGES; s++)
		fprintf(fp, "%s using %u%s title '%s'", s ? ", ''" : "", s + 2,
			s ? "" : ":xtic(1)", labels[s]);
	fprintf(fp, "\nset title 'total (mean ms, log scale)'\n"
		"set logscale y\nunset key\nset style data boxes\n"
		"plot '%s/stages.dat' using 0:%zu:xtic(1) lc rgb '#4060a0'\n"
		"unset logscale y\nunset multiplot\n", dir, NSTAGES + 2);
}

static int plot_write_script(const char *dir, const char *title,
			     const char *accel)
{
	char path[600];
	FILE *fp;
	int t;

	snprintf(path, sizeof(path), "%s/stages.gp", dir);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	for (t = 0; t < 2; t++) {
		fprintf(fp, "reset\nset terminal %s size 1400,600\n",
			t ? "svg dynamic" : "pngcairo");
		fprintf(fp, "set output '%s/stages.%s'\n", dir, t ? "svg" : "png");
		plot_panels(fp, dir, title, accel);
	}
	return fclose(fp) ? -errno : 0;
}

int plot_gnuplot(const char *dir, const char *script, char *err,
			unsigned long len)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "gnuplot '%s/%s'", dir, script);
	if (system(cmd)) {
		snprintf(err, len, "gnuplot failed on %s/%s", dir, script);
		return -EIO;
	}
	printf("%s/%.*s.png\n%s/%.*s.svg\n", dir,
	       (int)(strlen(script) - 3), script, dir,
	       (int)(strlen(script) - 3), script);
	return 0;
}

int inflate_plot(json_t *rpt, const char *dir, char *err, unsigned long len)
{
	char path[600];
	int rc;

	snprintf(path, sizeof(path), "%s/stages.dat", dir);
	rc = plot_write_data(rpt, path);
	if (!rc)
		rc = plot_write_script(dir, json_string_value(json_object_get(
			json_object_get(rpt, "scenario"), "name")),
			rpt_accel(rpt));
	if (!rc && plot_is_sweep(rpt))
		rc = plot_sweep(rpt, dir);
	if (rc) {
		snprintf(err, len, "cannot write plot files in %s: %s", dir,
			 strerror(-rc));
		return rc;
	}
	rc = plot_gnuplot(dir, "stages.gp", err, len);
	if (!rc && plot_is_sweep(rpt))
		rc = plot_gnuplot(dir, "sweep.gp", err, len);
	return rc;
}

int cmd_plot(int argc, char **argv)
{
	const struct scenario_ops *ops;
	char err[1024], dir[512], tmp[512];
	json_t *rpt;
	int rc;

	if (argc < 1 || argc > 2 || !strcmp(argv[0], "--help")) {
		printf("usage: balloonbench plot REPORT [OUTDIR]\n"
		       "The plots of the report's scenario as OUTDIR/*.png and "
		       ".svg (OUTDIR,\ncreated if needed, defaults to the "
		       "report's directory).  inflate: stacked\nper-stage bars "
		       "and totals on a log axis (stages.*), and time against\n"
		       "size for a mode x inflate sweep (sweep.*).  overcommit: "
		       "swap rates and\nballoon size over time per strategy "
		       "(timeline.*), build times (builds.*).  migrate:\n"
		       "migration time and bytes per strategy (migrate.*).\n");
		return argc >= 1 && argc <= 2 ? BB_EXIT_OK : BB_EXIT_USAGE;
	}
	rpt = rpt_load(argv[0], err, sizeof(err));
	if (!rpt) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	ops = scn_find(rpt_scenario(rpt));
	if (!ops || !ops->plot) {
		bb_err("%s: scenario '%s' has no plots", argv[0],
		       rpt_scenario(rpt));
		json_decref(rpt);
		return BB_EXIT_FAIL;
	}
	snprintf(tmp, sizeof(tmp), "%s", argv[0]);
	snprintf(plot_report_dir, sizeof(plot_report_dir), "%s", dirname(tmp));
	snprintf(dir, sizeof(dir), "%s", argc == 2 ? argv[1] : plot_report_dir);
	rc = rpt_mkdirs(dir);
	if (rc)
		snprintf(err, sizeof(err), "cannot create %s: %s", dir,
			 strerror(-rc));
	else
		rc = ops->plot(rpt, dir, err, sizeof(err));
	json_decref(rpt);
	if (rc) {
		bb_err("%s", err);
		return BB_EXIT_FAIL;
	}
	return BB_EXIT_OK;
}
