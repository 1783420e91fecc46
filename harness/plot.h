/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_PLOT_H
#define BB_PLOT_H

#include <jansson.h>
#include <stdio.h>

/* A report whose matrix is mode x inflate size (plot_sweep.c). */
int plot_is_sweep(json_t *rpt);
/* Write DIR/sweep.dat and DIR/sweep.gp (time against size per mode). */
int plot_sweep(json_t *rpt, const char *dir);

/* The directory of the report being plotted (its series files). */
extern char plot_report_dir[512];
/* A row name as a gnuplot string: no quote or backslash breaks out. */
void plot_name(FILE *fp, const char *name);
/* Run gnuplot on DIR/SCRIPT (X.gp), print the X.png and X.svg made. */
int plot_gnuplot(const char *dir, const char *script, char *err,
		 unsigned long len);

#endif
