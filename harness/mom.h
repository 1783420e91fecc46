/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The `mom` strategy's balloon policy, after oVirt MOM's balloon rules:
 * shrink guests while the host is short of memory, grow them back when it
 * is not.  Pure: the scenario feeds it what the probes saw.
 */
#ifndef BB_MOM_H
#define BB_MOM_H

#include <stdint.h>

/* Thresholds, as fractions (0.2 = 20 %); see docs/overcommit.md. */
struct mom_params {
	double pressure;	/* shrink while host free is below this */
	double critical;	/* below this, steps are twice as large */
	double guest_free;	/* leave at least this free in a guest */
	double max_step;	/* largest step, of the guest's memory */
	double min_step;	/* smaller steps are skipped */
};

/* One guest as the policy sees it. */
struct mom_guest {
	uint64_t mem_bytes;	/* configured RAM: the balloon's ceiling */
	uint64_t cur_bytes;	/* memory it has now (balloon "actual") */
	int64_t free_bytes;	/* what it reports free (MemFree), -1 unknown */
};

/* Host free memory inside the limit, as a fraction of it. */
double mom_host_free(uint64_t limit_bytes, uint64_t usage_bytes);

/*
 * The guest's next balloon target ("actual" bytes), or 0 for no change:
 * a shrink while host_free < pressure, a grow otherwise.
 */
uint64_t mom_step(const struct mom_params *p, double host_free,
		  const struct mom_guest *g);

#endif
