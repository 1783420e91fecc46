// SPDX-License-Identifier: GPL-2.0
/*
 * The sweep plot: for a report whose matrix varies both the mode and the
 * inflate size (configs/inflate-sweep.json), inflate time against size,
 * one line per mode.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rptkeys.h"
#include "plot.h"

/* Is this report a mode x inflate sweep? */
int plot_is_sweep(json_t *rpt)
{
	json_t *m = json_object_get(json_object_get(rpt, "scenario"), "matrix");

	return json_object_size(m) == 2 && json_object_get(m, "mode") &&
	       json_object_get(m, "inflate");
}

/* One gnuplot data block per mode: size in GiB, median and min/max ms. */
static int plot_sweep_data(json_t *rpt, const char *path)
{
	json_t *modes = json_object_get(json_object_get(json_object_get(rpt,
				"scenario"), "matrix"), "mode");
	json_t *mode, *row, *s;
	size_t i, j;
	FILE *fp = fopen(path, "w");

	if (!fp)
		return -errno;
	json_array_foreach(modes, i, mode) {
		if (!json_is_string(mode))
			continue;
		fprintf(fp, "\"%s\"\n", json_string_value(mode));
		json_array_foreach(json_object_get(rpt, "rows"), j, row) {
			json_t *set = json_object_get(row, "settings");
			const char *m = json_string_value(json_object_get(set,
									"mode"));

			if (!m || strcmp(m, json_string_value(mode)))
				continue;
			s = json_object_get(json_object_get(row, "summary"),
					    RK_INFLATE_MS);
			if (!s)
				continue;
			fprintf(fp, "%.4f %.3f %.3f %.3f\n",
				json_number_value(json_object_get(set,
					RK_INFLATE_BYTES)) / (1 << 30),
				json_number_value(json_object_get(s, "median")),
				json_number_value(json_object_get(s, "min")),
				json_number_value(json_object_get(s, "max")));
		}
		fprintf(fp, "\n\n");
	}
	return fclose(fp) ? -errno : 0;
}

int plot_sweep(json_t *rpt, const char *dir)
{
	char path[600];
	FILE *fp;
	int t, rc;

	snprintf(path, sizeof(path), "%s/sweep.dat", dir);
	rc = plot_sweep_data(rpt, path);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/sweep.gp", dir);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	for (t = 0; t < 2; t++)
		fprintf(fp, "set terminal %s size 1000,600\n"
			"set output '%s/sweep.%s'\n"
			"set title 'inflate time against balloon size (%s)'\n"
			"set xlabel 'balloon size (GiB)'\nset ylabel 'ms (median, "
			"bars: min..max)'\nset key outside right noenhanced\n"
			"set grid\nset logscale y\n"
			"plot for [i=0:*] '%s/sweep.dat' index i using 1:2:3:4 "
			"with yerrorlines title columnheader(1)\n",
			t ? "svg dynamic" : "pngcairo", dir, t ? "svg" : "png",
			json_string_value(json_object_get(json_object_get(rpt,
				"host"), "accelerator")), dir);
	return fclose(fp) ? -errno : 0;
}
