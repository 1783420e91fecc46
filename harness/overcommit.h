/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The overcommit scenario's parts: the run (scenario_overcommit.c), the
 * probes, the policy loop and the time series (oc_sample.c), and the
 * report side (oc_report.c).
 */
#ifndef BB_OVERCOMMIT_H
#define BB_OVERCOMMIT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "hostmem.h"
#include "probe.h"
#include "scenario.h"
#include "vm.h"

/* Report keys of a run (a row's sample). */
#define OC_RUN_S "run_s"
#define OC_SWAP_IN "swap_in_pages"
#define OC_SWAP_OUT "swap_out_pages"

/* One guest's workload and what the probes saw of it. */
struct oc_vm {
	long long pid;		/* guest-exec pid of the workload */
	int started;		/* the workload was started */
	int ended;		/* ... and has ended */
	int status;		/* its exit status */
	double start_ms;	/* when it was started, monotonic ms */
	double next_poll_ms;	/* next guest-exec-status, monotonic ms */
	double build_s;		/* its own time, measured in the guest, s */
	double setup_s;		/* what it did before that (bb-kbuild), s */
	char *out;		/* its output (tail of the log on failure) */
	struct probe balloon;	/* balloon size */
	struct probe gstats;	/* guest statistics (stats queue) */
	struct probe qemu;	/* emulator RSS */
	struct probe device;	/* stage-stats (auto rows only) */
	json_t *autoc;		/* its last "auto" counters, or NULL */
	struct probe driver;	/* vballoon's counters (vballoon rows) */
	json_t *drvc;		/* its shrink_*, report_* at the end, or NULL */
	uint64_t actual;	/* guest memory the device reports, bytes */
	int64_t free;		/* stat-free-memory (MemFree), -1 unknown */
	double gstat0[3];	/* swap in, swap out, major faults at start */
	double gstat[3];	/* the same, last seen */
	int gstat_seen;		/* gstat0 holds a first sample */
};

/* The host's swap counters at one sample, for the builds' window. */
struct oc_swap_at {
	double t_s;			/* since the workloads started */
	double in, out;			/* pages, since then */
};

/* One run of one row: a fleet, its cgroup, its probes and series. */
struct oc_run {
	const struct bb_config *cfg;	/* the row's configuration */
	struct fleet f;			/* the VMs */
	struct oc_vm *v;		/* f.n of them */
	struct hostmem *hm;		/* cgroup and swap */
	struct probe vmstat;		/* host swap counters */
	struct probe psi;		/* host memory pressure */
	struct probe cg;		/* the run's cgroup */
	int have_psi;			/* psi probe started */
	int is_auto;			/* auto row: device counters sampled */
	int is_vballoon;		/* vballoon row: its counters read */
	FILE *series;			/* time series, JSON lines */
	double t0_ms;			/* workloads started, monotonic ms */
	double next_sample_ms;		/* next probe sample */
	double next_mom_ms;		/* next policy step (mom) */
	double next_line_ms;		/* next progress line (no terminal) */
	int samples;			/* series lines written */
	uint64_t balloon_peak;		/* largest total balloon, bytes */
	double balloon_sum;		/* sum over samples, for the mean */
	uint64_t cg_peak;		/* largest cgroup usage seen, bytes */
	uint64_t cg_swap_peak;		/* largest cgroup swap seen, bytes */
	uint64_t cg_usage;		/* cgroup usage at the last sample */
	uint64_t cg_wset;		/* ... less its inactive file pages */
	json_t *host;			/* last host sample (vmstat, psi, cg) */
	struct oc_swap_at *swaps;	/* every sample's swap counters */
	int n_swaps, cap_swaps;
	int mom_steps;			/* balloon requests the policy made */
	char label[64];			/* "none r1" for progress */
};

/* auto, auto+reporting: the devices and drivers balloon by themselves. */
int oc_is_auto(const struct bb_config *cfg);

/* Start the run's probes (after boot); -errno with err. */
int oc_probes_start(struct oc_run *r, char *err, unsigned long len);
void oc_probes_stop(struct oc_run *r);
/* Sample everything, append a series line, step the policy when due. */
int oc_tick(struct oc_run *r, char *err, unsigned long len);
/* Progress on stderr: a line redrawn on a terminal, else every 30 s. */
void oc_progress(struct oc_run *r, int final);

/*
 * vballoon: read every guest's shrinker, thrash check, goal and reporting
 * counters at the end; or read and print them (a row that timed out).
 */
void oc_collect_guests(struct oc_run *r);
void oc_print_guests(struct oc_run *r);

/* The run's sample for the report, from what oc_tick gathered. */
json_t *oc_run_sample(struct oc_run *r, int rep, const char *series);

/*
 * Guest-measured elapsed time, set-up time before it (0 where the output
 * has none) and status from a workload's output.
 */
int oc_parse_result(const char *out, double *elapsed_s, double *setup_s,
		    int *status);
/*
 * The sample that ends the builds' window: the first at or after end_s,
 * else the last; -1 when there is none.
 */
int oc_swap_window(const struct oc_swap_at *s, int n, double end_s);
/* CMD wrapped so that the guest times it: sh -c '...'. */
int oc_wrap_command(const char *cmd, char *buf, unsigned long len);

extern const struct scn_figure oc_figures[];
/*
 * 1 when the report counts swap over the builds (swap_in_after_pages is
 * there), 0 when until the last workload exited (reports before it).
 */
int oc_builds_window(json_t *rpt);
void oc_table(json_t *rpt);
int oc_plot(json_t *rpt, const char *dir, char *err, unsigned long len);

#endif
