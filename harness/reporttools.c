// SPDX-License-Identifier: GPL-2.0
/*
 * plot, compare and gate.  They need the reports of the inflate benchmark
 * (issue 5); until it lands they say so and exit 2 rather than pretend.
 */
#include "cmd.h"
#include "log.h"
#include "scenario.h"

static int not_yet(const char *what)
{
	bb_err("'%s' needs inflate reports, which this build cannot write yet",
	       what);
	return BB_EXIT_USAGE;
}

int cmd_plot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet("plot");
}

int cmd_compare(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet("compare");
}

int cmd_gate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return not_yet("gate");
}
