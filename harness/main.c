// SPDX-License-Identifier: GPL-2.0
/* balloonbench: command-line entry point and subcommand dispatch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "log.h"
#include "report.h"
#include "scenario.h"
#include "vm.h"

#ifndef BB_VERSION
#define BB_VERSION "dev"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"usage: balloonbench [-v|-q] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  run CONFIG [--KEY VALUE]...   run a scenario file (keys override it)\n"
		"  boot [--KEY VALUE]...         boot a fleet, check it, print a table\n"
		"  vm [--KEY VALUE]... -- STEP... boot one VM, run steps (vm --help)\n"
		"  list                          scenarios and every scenario key\n"
		"  plot REPORT [OUTDIR]          PNG and SVG plots of a report\n"
		"  show REPORT                   print a report's table again\n"
		"  compare A B                   per-row deltas between two reports\n"
		"  gate --baseline B R [--max-regress 10%%]\n"
		"                                exit 1 if R regresses against B\n"
		"  version                       print the version\n"
		"\n"
		"Every scenario key is also an option: --vms 8 --memory 512M.\n"
		"'balloonbench COMMAND --help' describes one command.\n"
		"Exit status: 0 ok, 1 the run failed, 2 bad usage or scenario, "
		"130 interrupted.\n");
}

static int cmd_list(void)
{
	const struct scenario_ops *s;
	unsigned int i;

	printf("SCENARIOS\n");
	for (i = 0; (s = scn_at(i)); i++)
		printf("  %-10s %s\n", s->name, s->help);
	printf("\nKEYS (scenario files, or --KEY VALUE / --KEY=VALUE on the command "
	       "line, where\n- and _ are the same: --output-dir)\n");
	cfg_print_options();
	printf("\nSizes take K, M, G, T; keys marked size|frac also take a "
	       "fraction of guest RAM\n(7/8) or a percentage (50%%). Durations "
	       "take ms, s, m.\n");
	return BB_EXIT_OK;
}

static int apply_overrides(struct bb_config *cfg, int argc, char **argv)
{
	char err[1024];
	int used = cfg_apply_args(cfg, argc, argv, err, sizeof(err));

	if (used < 0) {
		bb_err("%s", err);
		return -EINVAL;
	}
	if (used != argc) {
		bb_err("unexpected argument '%s'", argv[used]);
		return -EINVAL;
	}
	return 0;
}

static int run_config(struct bb_config *cfg)
{
	const struct scenario_ops *s = scn_find(cfg->scenario);
	char err[1024];

	if (!s) {
		bb_err("scenario '%s' is not available", cfg->scenario);
		return BB_EXIT_USAGE;
	}
	if (s->check && s->check(cfg, err, sizeof(err))) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	if (rpt_check_dir(cfg->output_dir, cfg->name, err, sizeof(err))) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	vm_install_signals();
	return s->run(cfg);
}

static int cmd_run(int argc, char **argv)
{
	struct bb_config cfg;
	char err[1024];

	if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		printf("usage: balloonbench run CONFIG [--KEY VALUE]...\n"
		       "Run the scenario in CONFIG (JSON); see 'balloonbench "
		       "list' for the keys.\nReports go to "
		       "OUTPUT_DIR/NAME/STAMP/report.json.\n");
		return argc < 1 ? BB_EXIT_USAGE : BB_EXIT_OK;
	}
	if (cfg_load_file(argv[0], &cfg, err, sizeof(err))) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	if (apply_overrides(&cfg, argc - 1, argv + 1))
		return BB_EXIT_USAGE;
	return run_config(&cfg);
}

static int cmd_boot(int argc, char **argv)
{
	struct bb_config cfg;

	if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		printf("usage: balloonbench boot [--vms N] [--memory SIZE] "
		       "[--accel auto|tcg|kvm]\n"
		       "                         [--driver stock|vballoon|none] "
		       "[--KEY VALUE]...\n"
		       "Boot N guests, check each through its agent (ping, "
		       "MemTotal), print boot\ntime, MemTotal and host RSS per "
		       "VM, shut all down.\n");
		return BB_EXIT_OK;
	}
	cfg_defaults(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "boot");
	if (apply_overrides(&cfg, argc, argv))
		return BB_EXIT_USAGE;
	snprintf(cfg.scenario, sizeof(cfg.scenario), "boot");
	return run_config(&cfg);
}

int main(int argc, char **argv)
{
	const char *cmd;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-v"))
			bb_verbosity = 2;
		else if (!strcmp(argv[1], "-q"))
			bb_verbosity = 0;
		else if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			usage(stdout);
			return BB_EXIT_OK;
		} else if (!strcmp(argv[1], "--version")) {
			printf("balloonbench %s\n", BB_VERSION);
			return BB_EXIT_OK;
		} else {
			bb_err("unknown option '%s'", argv[1]);
			usage(stderr);
			return BB_EXIT_USAGE;
		}
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage(stderr);
		return BB_EXIT_USAGE;
	}
	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "boot"))
		return cmd_boot(argc, argv);
	if (!strcmp(cmd, "vm"))
		return cmd_vm(argc, argv);
	if (!strcmp(cmd, "list"))
		return cmd_list();
	if (!strcmp(cmd, "plot"))
		return cmd_plot(argc, argv);
	if (!strcmp(cmd, "compare"))
		return cmd_compare(argc, argv);
	if (!strcmp(cmd, "show"))
		return cmd_show(argc, argv);
	if (!strcmp(cmd, "gate"))
		return cmd_gate(argc, argv);
	if (!strcmp(cmd, "version")) {
		printf("balloonbench %s\n", BB_VERSION);
		return BB_EXIT_OK;
	}
	bb_err("unknown command '%s'", cmd);
	usage(stderr);
	return BB_EXIT_USAGE;
}
