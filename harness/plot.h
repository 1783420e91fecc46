/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_PLOT_H
#define BB_PLOT_H

#include <jansson.h>

/* A report whose matrix is mode x inflate size (plot_sweep.c). */
int plot_is_sweep(json_t *rpt);
/* Write DIR/sweep.dat and DIR/sweep.gp (time against size per mode). */
int plot_sweep(json_t *rpt, const char *dir);

#endif
