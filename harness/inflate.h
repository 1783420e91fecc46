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

struct vm;

/* A row's VM and what it can report. */
struct inflate_ctx {
	const struct bb_config *cfg;	/* the row's configuration */
	struct vm *vm;			/* its VM */
	int guest_counters;		/* vballoon: debugfs stats exist */
	int host_counters;		/* patched QEMU: stage-stats exists */
	uint64_t mem;			/* guest RAM, bytes */
	uint64_t inflate;		/* balloon size to reach, bytes */
	uint64_t touch;			/* touched before each inflate, bytes */
	const char *name;		/* the row's name (names perf files) */
	int rep;			/* the repetition being sampled */
	const char *rundir;		/* the run's directory, or NULL */
};

/* Fill c for cfg's row on vm; name, rep and rundir are left as they are. */
void inflate_ctx_init(struct inflate_ctx *c, const struct bb_config *cfg,
		      struct vm *vm);

/* One sample on the row's VM (inflate_sample.c); 0 or -errno, err set. */
int inflate_one(struct inflate_ctx *c, json_t **out, char *err,
		unsigned long len);

/* One sample of the limit row: one madvise of bytes of touched memory. */
int inflate_limit_sample(uint64_t bytes, json_t **sample, char *err,
			 unsigned long len);

/* The stdout table: stage shares, wall time, speed-up over stock. */
void inflate_print_table(json_t *rpt);

/* The plots of an inflate report in dir (plot.c); 0 or -errno, err set. */
int inflate_plot(json_t *rpt, const char *dir, char *err, unsigned long len);

#endif
