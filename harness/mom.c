// SPDX-License-Identifier: GPL-2.0
/*
 * The `mom` policy (mom.h).  MOM's balloon rules, restated: under host
 * pressure each guest gives up what it has free (MemFree: memory in no use,
 * page cache not counted, as MOM's rules count a guest's used memory as
 * everything but its unused memory) beyond a floor of guest_free of its
 * memory, at most max_step of its memory per step;
 * without pressure it gets max_step back per step, up to its configured
 * RAM.  Steps smaller than min_step are not worth a balloon request.
 * "Harder below critical" is our reading: the step limit doubles.
 */
#include "mom.h"

/* Never balloon a guest below this, whatever it reports. */
#define MOM_FLOOR_BYTES (64ULL << 20)

double mom_host_free(uint64_t limit_bytes, uint64_t usage_bytes)
{
	if (!limit_bytes)
		return 1;
	if (usage_bytes >= limit_bytes)
		return 0;
	return (double)(limit_bytes - usage_bytes) / (double)limit_bytes;
}

static uint64_t mom_shrink(const struct mom_params *p, double host_free,
			   const struct mom_guest *g)
{
	double max_change = p->max_step * (double)g->mem_bytes;
	double floor_free = p->guest_free * (double)g->cur_bytes;
	double give;
	uint64_t target;

	if (g->free_bytes < 0 || g->cur_bytes <= MOM_FLOOR_BYTES)
		return g->cur_bytes;	/* no statistics, or nothing to give */
	if (host_free < p->critical)
		max_change *= 2;
	give = (double)g->free_bytes - floor_free;
	if (give <= 0)
		return g->cur_bytes;
	if (give > max_change)
		give = max_change;
	target = g->cur_bytes - (uint64_t)give;
	return target < MOM_FLOOR_BYTES ? MOM_FLOOR_BYTES : target;
}

static uint64_t mom_grow(const struct mom_params *p, const struct mom_guest *g)
{
	uint64_t target = g->cur_bytes +
			  (uint64_t)(p->max_step * (double)g->mem_bytes);

	return target > g->mem_bytes ? g->mem_bytes : target;
}

uint64_t mom_step(const struct mom_params *p, double host_free,
		  const struct mom_guest *g)
{
	uint64_t target = host_free < p->pressure ?
			  mom_shrink(p, host_free, g) : mom_grow(p, g);
	uint64_t delta = target > g->cur_bytes ? target - g->cur_bytes :
			 g->cur_bytes - target;

	if (!delta || (double)delta < p->min_step * (double)g->mem_bytes)
		return 0;
	return target;
}
