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
 * Wait until the device reports actual == target.  *elapsed_ms runs from
 * the balloon command (start_ms monotonic, set_wall_ms wall-clock, both
 * taken just before it) to the moment QEMU raised the BALLOON_CHANGE event
 * for the target (*how = "event"), or, where no such event can be seen, to
 * the first query-balloon that reported it (*how = "query").
 * Fails with -ETIMEDOUT (err says how far it got), -ECHILD if the VM died,
 * -EINTR when interrupted (seen within BB_WAIT_SLICE_MS).
 */
int balloon_wait(struct vm *vm, uint64_t target, uint64_t timeout_ms,
		 double start_ms, double set_wall_ms, double *elapsed_ms,
		 const char **how, char *err, unsigned long len);

#endif
