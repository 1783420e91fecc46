// SPDX-License-Identifier: GPL-2.0
/* Logging to stderr with a common prefix; stdout is for results only. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int bb_verbosity = 1;

bool bb_log_tty(void)
{
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	return tty;
}

static void bb_vlog(const char *tag, const char *fmt, va_list ap)
{
	if (bb_verbosity < 0)
		return;	/* silent: the fuzzers drive the tools at 10k calls a second */
	fprintf(stderr, "balloonbench: %s", tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void bb_info(const char *fmt, ...)
{
	va_list ap;

	if (bb_verbosity < 1)
		return;
	va_start(ap, fmt);
	bb_vlog("", fmt, ap);
	va_end(ap);
}

void bb_debug(const char *fmt, ...)
{
	va_list ap;

	if (bb_verbosity < 2)
		return;
	va_start(ap, fmt);
	bb_vlog("debug: ", fmt, ap);
	va_end(ap);
}

void bb_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bb_vlog("warning: ", fmt, ap);
	va_end(ap);
}

void bb_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bb_vlog("error: ", fmt, ap);
	va_end(ap);
}

unsigned long long bb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

double bb_now_ms(void)
{
	return bb_now_ns() / 1e6;
}

double bb_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}
