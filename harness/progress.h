/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_PROGRESS_H
#define BB_PROGRESS_H

struct fleet;

/*
 * Boot progress on stderr.  On a terminal: one line per VM for small
 * fleets, a compact bar for large ones, redrawn in place at most every
 * 200 ms.  Elsewhere: one plain line per VM that becomes ready.
 */
void progress_boot(const struct fleet *f, int vm_changed, int final);

#endif
