/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_LOG_H
#define BB_LOG_H

#include <signal.h>
#include <stdbool.h>

/* Verbosity: 0 quiet, 1 normal (default), 2 debug (-v). */
extern int bb_verbosity;	/* -1 silent, 0 errors (-q), 1 info, 2 debug (-v) */

/* Whether stderr is a terminal (progress may redraw lines). */
bool bb_log_tty(void);

__attribute__((format(printf, 1, 2))) void bb_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void bb_debug(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void bb_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void bb_err(const char *fmt, ...);

/*
 * Set by SIGINT, SIGTERM and SIGHUP (handlers in vm.c, installed without
 * SA_RESTART): every wait checks it at least every BB_WAIT_SLICE_MS and
 * gives up with -EINTR, so that a ^C takes effect within a fraction of a
 * second.
 */
extern volatile sig_atomic_t bb_interrupted;

/* Longest single sleep or poll() of any wait loop, ms. */
#define BB_WAIT_SLICE_MS 200

/* Monotonic clock in nanoseconds and milliseconds. */
unsigned long long bb_now_ns(void);
double bb_now_ms(void);
/* Wall-clock ms since the epoch: the clock QEMU stamps its events with. */
double bb_wall_ms(void);

#endif
