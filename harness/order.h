/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The order rows run in within one repetition: a fresh shuffle per
 * repetition from a recorded seed, so that drift during a run (another
 * process, thermal state, the host's page cache) spreads over every row
 * instead of biasing whichever ran first.  Pure, unit-tested.
 */
#ifndef BB_ORDER_H
#define BB_ORDER_H

#include <stdint.h>

/* A seed for a run: from the clock and the pid unless one is given. */
uint64_t order_seed(void);

/*
 * idx[0..n) becomes a permutation of 0..n-1 for repetition rep of the run
 * seeded with seed: the same seed and rep always give the same order.
 */
void order_permute(int *idx, int n, uint64_t seed, int rep);

#endif
