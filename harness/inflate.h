/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_INFLATE_H
#define BB_INFLATE_H

#include <jansson.h>

#include "config.h"

/* One row preset of the inflate matrix ("mode" key). */
struct inflate_mode {
	const char *name;	/* row name: stock, chunk, sg-order9, limit... */
	const char *qemu;	/* patched | stock */
	const char *driver;	/* stock | vballoon */
	const char *modparams;	/* vballoon.ko parameters */
	const char *device;	/* virtio-balloon properties it needs */
	int limit;		/* the madvise floor: no VM */
};

const struct inflate_mode *inflate_find_mode(const char *name);
void inflate_row_config(const struct bb_config *cfg, int row,
			struct bb_config *out);

/*
 * Per-stage breakdown of one inflate from the guest driver's and the
 * device's counters (either may be NULL: stages then are null), added to
 * sample as stage_*_ms keys.  Pure, unit-tested.
 */
void inflate_stages(json_t *sample, double wall_ms, json_t *guest,
		    json_t *host);

/* The stdout table: stage shares, wall time, speed-up over stock. */
void inflate_print_table(json_t *rpt);

#endif
