/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_VM_H
#define BB_VM_H

#include <signal.h>
#include <stdint.h>

#include "agent.h"
#include "backend.h"
#include "log.h"	/* bb_interrupted */
#include "qmp.h"

enum vm_state {
	VM_PENDING,	/* not started */
	VM_BOOTING,	/* emulator running, agent not answering yet */
	VM_READY,	/* agent answered */
	VM_DEAD,	/* exited on its own: a failure */
	VM_STOPPED,	/* shut down by us */
};

struct vm {
	struct vm_spec spec;		/* what to run */
	const struct backend_ops *ops;	/* how to run it */
	struct qmp qmp;			/* monitor connection */
	struct agent agent;		/* guest agent connection */
	pid_t pid;			/* emulator process, 0 if none */
	enum vm_state state;		/* see above */
	double t_start_ms;		/* boot started, monotonic ms */
	double t_ready_ms;		/* agent answered, monotonic ms */
	int exit_status;		/* wait status once VM_DEAD */
	uint64_t balloon_actual;	/* last BALLOON_CHANGE "actual", bytes */
	unsigned balloon_events;	/* BALLOON_CHANGE events seen */
	double balloon_raised_ms;	/* when QEMU raised the last one, epoch ms */
	int shutdown_seen;		/* SHUTDOWN event seen */
	int backend_events;		/* the backend delivers BALLOON_CHANGE */
	char logs_kept[256];		/* kept logs of a dead VM, or "" */
	void *priv;			/* the backend's own state, or NULL */
};

struct fleet {
	int n;				/* VMs */
	struct vm *vms;			/* n of them */
	char rundir[128];		/* this run's temporary directory */
};

/* Install signal handlers that stop the run cleanly. */
void vm_install_signals(void);

/* Create the run directory and n VMs with default names; -errno. */
int fleet_init(struct fleet *f, int n, const struct backend_ops *ops);

/* Boot every VM, at most max_parallel at once, until all agents answer. */
int fleet_boot(struct fleet *f, int max_parallel, uint64_t timeout_ms,
	       char *err, unsigned long len);

/* Shut every VM down, kill stragglers, remove the run directory. */
void fleet_destroy(struct fleet *f);

/* Look for VMs that died; report each one.  Returns how many died. */
int fleet_check(struct fleet *f);

/* Wait up to timeout_ms for any monitor or agent traffic (events). */
int fleet_poll(struct fleet *f, int timeout_ms);

/*
 * Wait up to timeout_ms (at most BB_WAIT_SLICE_MS) for monitor traffic of
 * one VM and dispatch its events; a backend that holds the monitor itself
 * (libvirt) runs its own delivery (poll_events).  0 or -errno (the monitor
 * closed).
 */
int vm_poll_monitor(struct vm *vm, int timeout_ms);

/* Do BALLOON_CHANGE events of vm reach vm->balloon_*? */
int vm_has_events(const struct vm *vm);


/* Wait until the VM exits; kill it at deadline_ms (0, or -ETIMEDOUT). */
int vm_wait_exit(struct vm *vm, double deadline_ms, int timeout_ms);

/* Remove the named files of a VM's run directory, then the directory. */
void vm_remove_dir(const struct vm *vm, const char *const *files, unsigned n);

/*
 * Record that vm exited on its own with wait status: VM_DEAD, its logs
 * moved out of the run directory (cleanup would delete them) into a kept
 * directory, their last lines printed with where they are.  Once per VM.
 */
void vm_set_dead(struct vm *vm, int status);

/* Print how a dead VM ended and the tail of its logs to stderr. */
void vm_report_death(const struct vm *vm);

/*
 * After a monitor or agent command of vm failed with rc (or with rc 0, to
 * poll): has the VM died?  A closed socket (-EPIPE) gives QEMU a moment to
 * be reaped.  Returns -ECHILD with err saying the VM died and where its
 * logs are (vm_set_dead has run), else rc unchanged.
 */
int vm_check_alive(struct vm *vm, int rc, char *err, unsigned long len);

/* Resolve accel "auto" by a real boot under KVM; "tcg"/"kvm" pass. */
int vm_resolve_accel(const char *want, struct vm_spec *tmpl, char *out,
		     unsigned long len, char *err, unsigned long elen);

#endif
