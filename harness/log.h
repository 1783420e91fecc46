/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_LOG_H
#define BB_LOG_H

#include <stdbool.h>

/* Verbosity: 0 quiet, 1 normal (default), 2 debug (-v). */
extern int bb_verbosity;

/* Whether stderr is a terminal (progress may redraw lines). */
bool bb_log_tty(void);

__attribute__((format(printf, 1, 2))) void bb_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void bb_debug(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void bb_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void bb_err(const char *fmt, ...);

/* Monotonic clock in nanoseconds and milliseconds. */
unsigned long long bb_now_ns(void);
double bb_now_ms(void);

#endif
