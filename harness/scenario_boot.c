// SPDX-License-Identifier: GPL-2.0
/*
 * boot: start a fleet, check every guest through its agent (ping and
 * MemTotal), print a table of boot time, MemTotal and host RSS, and shut
 * everything down.  The smoke test of the whole stack.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rptkeys.h"
#include "log.h"
#include "probe.h"
#include "report.h"
#include "scenario.h"
#include "vm.h"

/* Guest commands are quick; a loaded TCG host can still take seconds. */
#define BOOT_AGENT_TIMEOUT_MS 60000

struct boot_row {
	double boot_s;		/* start to agent answering, s */
	uint64_t memtotal;	/* guest MemTotal, bytes */
	uint64_t rss;		/* QEMU resident set, bytes */
};

static int boot_check_guest(struct vm *vm, struct boot_row *row)
{
	char err[512];
	json_t *info;
	int rc;

	rc = agent_call(&vm->agent, "guest-ping", NULL, NULL,
			BOOT_AGENT_TIMEOUT_MS, err, sizeof(err));
	if (rc) {
		bb_err("%s: %s", vm->spec.name, err);
		return rc;
	}
	rc = agent_exec_json(&vm->agent, "bbload meminfo",
			     BOOT_AGENT_TIMEOUT_MS, &info, err, sizeof(err));
	if (rc) {
		bb_err("%s: %s", vm->spec.name, err);
		return rc;
	}
	row->memtotal = json_integer_value(json_object_get(info,
							 "meminfo_MemTotal"));
	json_decref(info);
	row->boot_s = (vm->t_ready_ms - vm->t_start_ms) / 1000;
	if (probe_vm_rss_bytes(vm, &row->rss))
		row->rss = 0;
	return 0;
}

/* The table of a boot report: what the run printed, and what show prints. */
static void boot_table(json_t *rpt)
{
	json_t *row = json_array_get(json_object_get(rpt, RK_ROWS), 0), *run;
	uint64_t rss, rss_sum = 0, rss_max = 0;
	char a[32], b[32];
	size_t i, n = json_array_size(json_object_get(row, RK_RUNS));

	printf("%-6s %8s %10s %10s\n", "VM", "BOOT_S", "MEMTOTAL", "HOST_RSS");
	json_array_foreach(json_object_get(row, RK_RUNS), i, run) {
		rss = (uint64_t)json_integer_value(json_object_get(run,
								 RK_RSS_BYTES));
		printf("%-6s %8.2f %10s %10s\n",
		       json_string_value(json_object_get(run, "vm")) ?: "?",
		       json_number_value(json_object_get(run, RK_BOOT_MS)) / 1000,
		       unit_fmt_size((uint64_t)json_integer_value(
				json_object_get(run, RK_MEMTOTAL_BYTES)), a,
				sizeof(a)), unit_fmt_size(rss, b, sizeof(b)));
		rss_sum += rss;
		if (rss > rss_max)
			rss_max = rss;
	}
	printf("accelerator: %s; %zu VMs ready in %.1f s; host RSS per idle "
	       "VM: mean %s, max %s\n", rpt_accel(rpt), n,
	       json_number_value(json_object_get(json_object_get(row,
			RK_SETTINGS), "all_ready_s")),
	       unit_fmt_size(n ? rss_sum / n : 0, a, sizeof(a)),
	       unit_fmt_size(rss_max, b, sizeof(b)));
}

/*
 * Where a libvirt VM ran: its URI as configured, and whether that names
 * another host (where its RSS is not measured, and reads 0).
 */
static json_t *boot_where(const struct bb_config *cfg,
			  const struct vm_spec *s, json_t *run)
{
	if (strcmp(cfg->backend, "libvirt"))
		return run;
	json_object_set_new(run, "uri", json_string(s->uri));
	json_object_set_new(run, "remote",
			    json_boolean(!lv_uri_is_local(s->uri)));
	return run;
}

/* One row, one sample per VM; written like every scenario's report. */
static void boot_report(const struct bb_config *cfg, const struct fleet *f,
			const struct boot_row *rows, const char *accel,
			double all_ready_s)
{
	json_t *rpt = rpt_new(cfg, accel), *row, *run;
	char path[600];
	int i;

	row = rpt_add_row(rpt, "boot", json_pack("{s:s, s:s, s:f}", "driver",
			  cfg->driver, "qemu", cfg->qemu, "all_ready_s",
			  all_ready_s));
	for (i = 0; i < f->n; i++) {
		run = json_pack("{s:s, s:f, s:I, s:I}", "vm",
				f->vms[i].spec.name, RK_BOOT_MS,
				rows[i].boot_s * 1000, RK_MEMTOTAL_BYTES,
				(json_int_t)rows[i].memtotal, RK_RSS_BYTES,
				(json_int_t)rows[i].rss);
		rpt_add_run(row, boot_where(cfg, &f->vms[i].spec, run));
	}
	rpt_summarize_row(row);
	rpt_note_qemu(rpt, cfg->qemu, f->vms[0].qmp.version);
	boot_table(rpt);
	if (rpt_save(rpt, cfg->output_dir, cfg->name, NULL, path, sizeof(path)) >= 0)
		printf("report: %s\n", path);
	json_decref(rpt);
}

static int boot_run(struct bb_config *cfg)
{
	struct boot_row *rows = NULL;
	struct fleet f = { 0 };
	char err[1024], accel[8];
	double t0 = bb_now_ms();
	int i, rc = BB_EXIT_FAIL;

	if (scn_start_fleet(cfg, &f, cfg->vms, accel, sizeof(accel), err,
			    sizeof(err))) {
		bb_err("%s", err);
		return bb_interrupted ? BB_EXIT_INTR : BB_EXIT_FAIL;
	}
	rows = calloc((size_t)f.n, sizeof(*rows));
	for (i = 0; rows && i < f.n; i++)
		if (boot_check_guest(&f.vms[i], &rows[i]))
			goto out;
	if (!rows || fleet_check(&f))
		goto out;
	boot_report(cfg, &f, rows, accel, (bb_now_ms() - t0) / 1000);
	rc = BB_EXIT_OK;
out:
	fleet_destroy(&f);
	free(rows);
	return bb_interrupted ? BB_EXIT_INTR : rc;
}

static const struct scn_figure boot_figures[] = {
	{ RK_BOOT_MS, 0, 0 },
	{ RK_RSS_BYTES, 0, 0 },
	{ NULL, 0, 0 },
};

const struct scenario_ops scenario_boot = {
	.name = "boot",
	.help = "boot a fleet, check every guest agent, print boot times and RSS",
	.check = scn_check_built,
	.run = boot_run,
	.figures = boot_figures,
	.table = boot_table,
};
