/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Probes: what the harness measures beside a scenario's own timing, behind
 * one interface.  A scenario asks for probes by name and never talks QMP
 * or reads the machine itself.  start() takes a baseline (or resets the
 * counters it reads), sample() adds what was measured since to a JSON
 * object under the probe's own keys and may be called again (series over
 * time), stop() releases what start() took.
 *
 *   qemu         the emulator's CPU time since start and its RSS (null
 *                for a remote emulator, whose /proc is elsewhere)
 *   device       the patched device's stage-stats (host_counters)
 *   driver       vballoon.ko's debugfs counters (guest_counters)
 *   balloon      the balloon's size as the device reports it
 *   guest_stats  the guest's own statistics from the stats queue
 *   vmstat       host swap-in/swap-out pages since start
 *   psi          host memory pressure stall time since start (PSI)
 *   cgroup       a memory cgroup (its directory is the probe's dir): usage,
 *                peak, swap and paging counters
 *   perf         perf record -g and discard system call counts of the
 *                emulator (probe_perf.c)
 */
#ifndef BB_PROBE_H
#define BB_PROBE_H

#include <jansson.h>
#include <stdint.h>

struct vm;
struct probe;

struct probe_ops {
	const char *name;	/* what a scenario asks for */
	int vm;			/* 1: needs a VM; 0: host-wide */
	/* Baseline or reset; may be NULL.  0 or -errno, err set. */
	int (*start)(struct probe *p, char *err, unsigned long len);
	/* Add what was measured since start to out.  0 or -errno. */
	int (*sample)(struct probe *p, json_t *out, char *err,
		      unsigned long len);
	/* Release what start took; may be NULL. */
	void (*stop)(struct probe *p);
};

struct probe {
	const struct probe_ops *ops;	/* what it is */
	struct vm *vm;			/* the VM it watches, or NULL */
	char dir[256];			/* where it may keep files, or "" */
	char tag[64];			/* names those files ("sg-r3") */
	double t0_ms;			/* start, monotonic ms */
	double base[4];			/* values at start (CPU ms, counts) */
	void *priv;			/* its own state (perf), or NULL */
};

/* Start the probe called name on vm (NULL for host-wide ones). */
int probe_start(struct probe *p, const char *name, struct vm *vm,
		const char *dir, const char *tag, char *err, unsigned long len);
int probe_sample(struct probe *p, json_t *out, char *err, unsigned long len);
void probe_stop(struct probe *p);

/* The probe table, for tests and `list`: NULL past the end. */
const struct probe_ops *probe_at(unsigned int i);

/* Where host files are read from: "" (the machine), or a test's tree. */
extern char probe_proc_root[128];

/* The host's description for a report (CPU, memory, kernel, THP). */
json_t *probe_host_info(const char *accel);

/* The emulator's resident set, bytes, and CPU time, ms (user + system). */
int probe_vm_rss_bytes(const struct vm *vm, uint64_t *bytes);
int probe_vm_cpu_ms(const struct vm *vm, double *ms);

extern const struct probe_ops probe_qemu, probe_device, probe_driver;
extern const struct probe_ops probe_balloon, probe_guest_stats;
extern const struct probe_ops probe_vmstat, probe_psi, probe_perf;
extern const struct probe_ops probe_cgroup;

#endif
