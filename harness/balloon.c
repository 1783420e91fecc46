// SPDX-License-Identifier: GPL-2.0
/* Balloon targets through the monitor, and waiting for them. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "balloon.h"
#include "log.h"
#include "units.h"
#include "vm.h"

#define BALLOON_POLL_MS 1
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

int balloon_wait(struct vm *vm, uint64_t target, uint64_t timeout_ms,
		 double start_ms, double *elapsed_ms, char *err,
		 unsigned long len)
{
	uint64_t actual = 0, last = UINT64_MAX;
	double moved_ms = bb_now_ms();
	char a[32], b[32];
	int rc;

	for (;;) {
		rc = balloon_query(vm, &actual, err, len);
		if (rc)
			return rc;
		*elapsed_ms = bb_now_ms() - start_ms;
		if (actual == target)
			return 0;
		if (actual != last) {
			last = actual;
			moved_ms = bb_now_ms();
		} else if (bb_now_ms() - moved_ms > BALLOON_STALL_MS) {
			snprintf(err, len, "%s: balloon stopped at %s of guest "
				 "memory for %d s, target %s: the guest cannot "
				 "give more (inflate less?)", vm->spec.name,
				 unit_fmt_size(actual, a, sizeof(a)),
				 BALLOON_STALL_MS / 1000,
				 unit_fmt_size(target, b, sizeof(b)));
			return -ETIMEDOUT;
		}
		rc = vm_check_alive(vm, 0, err, len);
		if (rc)
			return rc;
		if (bb_interrupted) {
			snprintf(err, len, "%s: interrupted while ballooning",
				 vm->spec.name);
			return -EINTR;
		}
		if (*elapsed_ms > (double)timeout_ms) {
			snprintf(err, len, "%s: balloon stuck at %s of guest "
				 "memory, target %s, after %.0f s",
				 vm->spec.name,
				 unit_fmt_size(actual, a, sizeof(a)),
				 unit_fmt_size(target, b, sizeof(b)),
				 *elapsed_ms / 1000);
			return -ETIMEDOUT;
		}
		usleep(BALLOON_POLL_MS * 1000);
	}
}
