// SPDX-License-Identifier: GPL-2.0
/* Balloon targets through the monitor, and waiting for them. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "balloon.h"
#include "log.h"
#include "units.h"
#include "vm.h"

/*
 * QEMU raises BALLOON_CHANGE when the guest reports a new size, sends at
 * most one a second and holds back the last of a burst until the second is
 * over, stamped with the time it was raised.  The wait ends on that stamp:
 * no polling competes with the device in QEMU's main loop while it works.
 * A query every BALLOON_SAFETY_POLL_MS notices a target reached whose
 * event never comes (BALLOON_EVENT_GRACE_MS after it).  The libvirt backend
 * gets the same events, stamps included, through libvirt's QEMU monitor
 * event API; only where that fails does a wait query every BALLOON_POLL_MS.
 */
#define BALLOON_POLL_MS 1
#define BALLOON_SAFETY_POLL_MS 250
#define BALLOON_EVENT_GRACE_MS 2500
#define BALLOON_QMP_TIMEOUT_MS 30000
/* A balloon that has not moved for this long will not reach its target. */
#define BALLOON_STALL_MS 30000

int balloon_set(struct vm *vm, uint64_t actual_bytes, char *err,
		unsigned long len)
{
	return vm->ops->qmp(vm, "balloon",
			    json_pack("{s:I}", "value", (json_int_t)actual_bytes),
			    NULL, BALLOON_QMP_TIMEOUT_MS, err, len);
}

int balloon_query(struct vm *vm, uint64_t *actual_bytes, char *err,
		  unsigned long len)
{
	json_t *ret = NULL;
	int rc;

	rc = vm->ops->qmp(vm, "query-balloon", NULL, &ret,
			  BALLOON_QMP_TIMEOUT_MS, err, len);
	if (rc)
		return rc;
	*actual_bytes = (uint64_t)json_integer_value(json_object_get(ret,
								   "actual"));
	json_decref(ret);
	return 0;
}

/* Where a wait stands: what the device said last, and since when. */
struct balloon_progress {
	uint64_t last;		/* last actual seen (event or query), bytes */
	double moved_ms;	/* when it last changed, monotonic ms */
	double reached_ms;	/* when a query first saw the target, or 0 */
	double next_query_ms;	/* when the safety-net query is due */
	unsigned events0;	/* BALLOON_CHANGE count when the wait began */
};

/* Has a BALLOON_CHANGE for target arrived since the command?  Its time. */
static int balloon_event_done(const struct vm *vm, uint64_t target,
			      const struct balloon_progress *p,
			      double set_wall_ms, double *elapsed_ms)
{
	if (vm->balloon_events == p->events0 || vm->balloon_actual != target ||
	    isnan(vm->balloon_raised_ms))
		return 0;
	/* Clocks can step; a stamp before the command is not this change. */
	if (vm->balloon_raised_ms + 1 < set_wall_ms)
		return 0;
	*elapsed_ms = vm->balloon_raised_ms - set_wall_ms;
	if (*elapsed_ms < 0)
		*elapsed_ms = 0;
	return 1;
}

/* The safety net: ask the device, note movement and the target. */
static int balloon_check(struct vm *vm, uint64_t target,
			 struct balloon_progress *p, char *err,
			 unsigned long len)
{
	uint64_t actual;
	int rc = balloon_query(vm, &actual, err, len);

	if (rc)
		return rc;
	if (actual != p->last) {
		p->last = actual;
		p->moved_ms = bb_now_ms();
	}
	if (actual == target && !p->reached_ms)
		p->reached_ms = bb_now_ms();
	return 0;
}

static int balloon_stuck(struct vm *vm, uint64_t target, uint64_t timeout_ms,
			 const struct balloon_progress *p, double elapsed_ms,
			 char *err, unsigned long len)
{
	char a[32], b[32];

	if (bb_now_ms() - p->moved_ms > BALLOON_STALL_MS) {
		snprintf(err, len, "%s: balloon stopped at %s of guest memory "
			 "for %d s, target %s: the guest cannot give more "
			 "(inflate less?)", vm->spec.name,
			 unit_fmt_size(p->last, a, sizeof(a)),
			 BALLOON_STALL_MS / 1000,
			 unit_fmt_size(target, b, sizeof(b)));
		return -ETIMEDOUT;
	}
	if (elapsed_ms > (double)timeout_ms) {
		snprintf(err, len, "%s: balloon stuck at %s of guest memory, "
			 "target %s, after %.0f s", vm->spec.name,
			 unit_fmt_size(p->last, a, sizeof(a)),
			 unit_fmt_size(target, b, sizeof(b)), elapsed_ms / 1000);
		return -ETIMEDOUT;
	}
	if (bb_interrupted) {
		snprintf(err, len, "%s: interrupted while ballooning",
			 vm->spec.name);
		return -EINTR;
	}
	return 0;
}

int balloon_wait(struct vm *vm, uint64_t target, uint64_t timeout_ms,
		 double start_ms, double set_wall_ms, double *elapsed_ms,
		 const char **how, char *err, unsigned long len)
{
	struct balloon_progress p = {
		.last = UINT64_MAX, .moved_ms = bb_now_ms(),
		.events0 = vm->balloon_events,
	};
	int events = vm_has_events(vm), rc;

	for (;;) {
		if (balloon_event_done(vm, target, &p, set_wall_ms, elapsed_ms)) {
			*how = "event";
			return 0;
		}
		if (bb_now_ms() >= p.next_query_ms) {
			rc = balloon_check(vm, target, &p, err, len);
			if (rc)
				return vm_check_alive(vm, rc, err, len);
			p.next_query_ms = bb_now_ms() + (events ?
				BALLOON_SAFETY_POLL_MS : BALLOON_POLL_MS);
		}
		/* No event for the target in time: the query's view stands. */
		if (p.reached_ms && (!events || bb_now_ms() - p.reached_ms >
				     BALLOON_EVENT_GRACE_MS)) {
			*elapsed_ms = p.reached_ms - start_ms;
			*how = "query";
			return 0;
		}
		*elapsed_ms = bb_now_ms() - start_ms;
		rc = balloon_stuck(vm, target, timeout_ms, &p, *elapsed_ms, err,
				   len);
		if (!rc)
			rc = vm_check_alive(vm, 0, err, len);
		if (rc)
			return rc;
		rc = vm_poll_monitor(vm, events ? BALLOON_SAFETY_POLL_MS :
				     BALLOON_POLL_MS);
		if (rc)
			return vm_check_alive(vm, rc, err, len);
	}
}
