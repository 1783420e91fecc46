/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_BALLOON_H
#define BB_BALLOON_H

#include <stdint.h>

struct vm;

/* Ask for a guest memory size ("actual" in QMP terms), bytes. */
int balloon_set(struct vm *vm, uint64_t actual_bytes, char *err,
		unsigned long len);
/* The guest memory size the device reports now, bytes. */
int balloon_query(struct vm *vm, uint64_t *actual_bytes, char *err,
		  unsigned long len);
/*
 * Poll until the device reports actual == target; *elapsed_ms from the
 * call.  Polls query-balloon every BALLOON_POLL_MS: BALLOON_CHANGE events
 * are rate-limited by QEMU to one a second, too coarse to time with.
 * Fails with -ETIMEDOUT (err says how far it got), -ECHILD if the VM died,
 * -EINTR when interrupted (seen within BB_WAIT_SLICE_MS).
 */
int balloon_wait(struct vm *vm, uint64_t target, uint64_t timeout_ms,
		 double start_ms, double *elapsed_ms, char *err,
		 unsigned long len);

#endif
