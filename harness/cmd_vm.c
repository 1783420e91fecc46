// SPDX-License-Identifier: GPL-2.0
/*
 * balloonbench vm: boot one VM and run steps against it, one JSON line per
 * step on stdout.  The tool behind the driver and device integration tests,
 * and a handy way to poke at a guest by hand.
 *
 *   exec:CMD         run CMD in the guest; prints its output; fails on != 0
 *   target:SIZE      balloon the guest to SIZE of memory and wait for it
 *   qmp:CMD[:JSON]   run a monitor command; prints its return value
 *   rss              the QEMU process's resident memory
 *   sleep:SECS       wait, watching the VM (a death fails the step)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balloon.h"
#include "cmd.h"
#include "log.h"
#include "probe.h"
#include "scenario.h"
#include "vm.h"

#define VM_AGENT_TIMEOUT_MS 120000

static void vm_print(json_t *line)
{
	char *s = json_dumps(line, JSON_COMPACT);

	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(line);
}

static int step_exec(struct vm *vm, const char *cmd, char *err,
		     unsigned long len)
{
	struct agent_result res;
	int rc;

	rc = agent_exec(&vm->agent, cmd, VM_AGENT_TIMEOUT_MS, &res, err, len);
	if (rc)
		return rc;
	vm_print(json_pack("{s:s, s:s, s:i, s:s, s:s}", "step", "exec",
			   "cmd", cmd, "status", res.exitcode, "out", res.out,
			   "err", res.errout));
	rc = res.exitcode == 0 ? 0 : -EIO;
	if (rc)
		snprintf(err, len, "guest command exited with %d: %s",
			 res.exitcode, cmd);
	agent_result_free(&res);
	return rc;
}

static int step_target(struct vm *vm, const char *arg,
		       const struct bb_config *cfg, char *err,
		       unsigned long len)
{
	struct bb_size sz;
	const char *why;
	uint64_t target, before = 0;
	double t0, wall0, ms = 0;
	const char *how = NULL;
	int rc;

	if (unit_parse_size(arg, 1, &sz, &why)) {
		snprintf(err, len, "target:%s: %s", arg, why);
		return -EINVAL;
	}
	target = unit_size_bytes(&sz, cfg->memory.bytes);
	rc = balloon_query(vm, &before, err, len);
	wall0 = bb_wall_ms();
	t0 = bb_now_ms();
	if (!rc)
		rc = balloon_set(vm, target, err, len);
	if (!rc)
		rc = balloon_wait(vm, target, cfg->step_timeout_ms, t0, wall0,
				  &ms, &how, err, len);
	if (rc)
		return rc;
	vm_print(json_pack("{s:s, s:I, s:I, s:f, s:s}", "step", "target",
			   "before_bytes", (json_int_t)before, "actual_bytes",
			   (json_int_t)target, "elapsed_ms", ms, "timed_by", how));
	return 0;
}

static int step_qmp(struct vm *vm, const char *arg, char *err,
		    unsigned long len)
{
	char cmd[128];
	const char *colon = strchr(arg, ':');
	json_t *args = NULL, *ret = NULL;
	json_error_t jerr;
	int rc;

	snprintf(cmd, sizeof(cmd), "%.*s",
		 (int)(colon ? colon - arg : (long)strlen(arg)), arg);
	if (colon) {
		args = json_loads(colon + 1, 0, &jerr);
		if (!json_is_object(args)) {
			snprintf(err, len, "qmp:%s: arguments are not a JSON "
				 "object", cmd);
			json_decref(args);
			return -EINVAL;
		}
	}
	rc = vm->ops->qmp(vm, cmd, args, &ret, 60000, err, len);
	if (rc)
		return rc;
	vm_print(json_pack("{s:s, s:s, s:o}", "step", "qmp", "cmd", cmd,
			   "return", ret ? ret : json_null()));
	return 0;
}

static int step_sleep(struct fleet *f, const char *arg, char *err,
		      unsigned long len)
{
	double end = bb_now_ms() + atof(arg) * 1000;

	while (bb_now_ms() < end) {
		fleet_poll(f, 100);
		if (vm_check_alive(&f->vms[0], 0, err, len))
			return -ECHILD;
		if (bb_interrupted) {
			snprintf(err, len, "interrupted");
			return -EINTR;
		}
	}
	vm_print(json_pack("{s:s, s:f}", "step", "sleep", "seconds", atof(arg)));
	return 0;
}

static int vm_step(struct fleet *f, const char *step,
		   const struct bb_config *cfg, char *err, unsigned long len)
{
	struct vm *vm = &f->vms[0];
	uint64_t rss = 0;

	if (!strncmp(step, "exec:", 5))
		return step_exec(vm, step + 5, err, len);
	if (!strncmp(step, "target:", 7))
		return step_target(vm, step + 7, cfg, err, len);
	if (!strncmp(step, "qmp:", 4))
		return step_qmp(vm, step + 4, err, len);
	if (!strncmp(step, "sleep:", 6))
		return step_sleep(f, step + 6, err, len);
	if (!strcmp(step, "rss")) {
		if (probe_vm_rss_bytes(vm, &rss)) {
			snprintf(err, len, "cannot read QEMU's RSS");
			return -EIO;
		}
		vm_print(json_pack("{s:s, s:I}", "step", "rss", "rss_bytes",
				   (json_int_t)rss));
		return 0;
	}
	snprintf(err, len, "unknown step '%s' (exec:, target:, qmp:, rss, "
		 "sleep:)", step);
	return -EINVAL;
}

static int vm_check_steps(int n, char **steps)
{
	static const char *const prefixes[] = {
		"exec:", "target:", "qmp:", "sleep:", "rss",
	};
	unsigned j;
	int i, ok;

	for (i = 0; i < n; i++) {
		for (ok = 0, j = 0; j < sizeof(prefixes) / sizeof(*prefixes); j++)
			ok |= !strncmp(steps[i], prefixes[j],
				       strlen(prefixes[j]));
		if (!ok) {
			bb_err("unknown step '%s' (exec:CMD, target:SIZE, "
			       "qmp:CMD[:JSON], rss, sleep:SECS)", steps[i]);
			return -EINVAL;
		}
	}
	return 0;
}

int cmd_vm(int argc, char **argv)
{
	struct bb_config cfg;
	struct fleet f = { 0 };
	char err[1024], accel[8];
	int used, i, rc = BB_EXIT_OK;

	if (argc > 0 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
		printf("usage: balloonbench vm [--KEY VALUE]... -- STEP...\n"
		       "Boot one VM and run STEPs in order, one JSON line each:\n"
		       "  exec:CMD        run CMD in the guest (sh -c)\n"
		       "  target:SIZE     balloon to SIZE of guest memory, wait\n"
		       "  qmp:CMD[:JSON]  monitor command with JSON arguments\n"
		       "  rss             QEMU's resident memory\n"
		       "  sleep:SECS      wait, watching the VM\n");
		return BB_EXIT_OK;
	}
	cfg_defaults(&cfg);
	used = cfg_apply_args(&cfg, argc, argv, err, sizeof(err));
	if (used < 0) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	if (vm_check_steps(argc - used, argv + used))
		return BB_EXIT_USAGE;
	if (scn_check_built(&cfg, err, sizeof(err))) {
		bb_err("%s", err);
		return BB_EXIT_USAGE;
	}
	vm_install_signals();
	if (scn_start_fleet(&cfg, &f, 1, accel, sizeof(accel), err,
			    sizeof(err))) {
		bb_err("%s", err);
		return bb_interrupted ? BB_EXIT_INTR : BB_EXIT_FAIL;
	}
	vm_print(json_pack("{s:s, s:s, s:f}", "step", "boot", "accel", accel,
			   "elapsed_ms", f.vms[0].t_ready_ms - f.vms[0].t_start_ms));
	for (i = used; i < argc && rc == BB_EXIT_OK; i++) {
		if (vm_step(&f, argv[i], &cfg, err, sizeof(err))) {
			bb_err("step '%s': %s", argv[i], err);
			rc = BB_EXIT_FAIL;
		}
	}
	fleet_destroy(&f);
	return bb_interrupted ? BB_EXIT_INTR : rc;
}
