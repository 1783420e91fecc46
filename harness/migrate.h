/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migrate scenario's parts: the run (scenario_migrate.c), the
 * guest's side of it (mig_guest.c) and the report side (mig_report.c).
 */
#ifndef BB_MIGRATE_H
#define BB_MIGRATE_H

#include <jansson.h>

#include "scenario.h"

#include <stdint.h>
#include <string.h>

#include "config.h"
#include "vm.h"

#define MIG_IOTHREAD "bbio0"
#define MIG_AGENT_TIMEOUT_MS 120000
/* after the pre-workload: page reporting runs every 2 s */
#define MIG_SETTLE_MS 5000
/* guard and writer: their files in the guest */
#define MIG_FLAGS "/tmp/bb-migrate"
#define MIG_DRIVER_STATS "/sys/kernel/debug/vballoon/stats"
#define MIG_POLL_MS 100

/* One run of one row. */
struct mig_run {
	const struct bb_config *cfg;	/* the row, strategy preset applied */
	struct fleet src;		/* the source VM */
	struct fleet dst;		/* the destination QEMU */
	long long guard_pid;		/* guest-exec pids, 0 if none */
	long long writer_pid;
	char uri[300];			/* where the stream goes */
	char sock[300];			/* unix: the socket's path, or "" */
	json_t *sample;			/* what the report keeps */
	double user_ms;			/* inflate + migrate + deflate */
	uint64_t ballooned;		/* inflate-first: balloon size, bytes */
};

static inline int mig_is(const struct bb_config *c, const char *s)
{
	return !strcmp(c->strategy, s);
}

/* A number of object o, 0 when absent. */
static inline double mig_num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : 0;
}

/* The guest's side of a run (mig_guest.c), through its agent. */
/* Run a guest command that prints one JSON object: *out. */
int mig_guest_json(struct vm *vm, const char *cmd, json_t **out, char *err,
		   unsigned long len);
/* On the source: the pre-workload, the guard and (busy) the writer. */
int mig_prepare(struct mig_run *r, char *err, unsigned long len);
/* On the destination: the guard's and the writer's checks. */
int mig_verify(struct mig_run *r, char *err, unsigned long len);
/* On the destination: free memory written again, a clean kernel log. */
int mig_health(struct mig_run *r, char *err, unsigned long len);
/* vballoon's hint or bitmap counters into the sample. */
void mig_driver_counters(struct mig_run *r);

/* Report keys of a run (a row's sample); docs/report-schema.md. */
#define MIG_TOTAL_MS		"total_ms"	/* query-migrate total-time */
#define MIG_SETUP_MS		"setup_ms"
#define MIG_DOWNTIME_MS		"downtime_ms"
#define MIG_USER_MS		"user_ms"	/* what a user waits, all in */
#define MIG_SENT_BYTES		"transferred_bytes"
#define MIG_NORMAL_PAGES	"normal_pages"
#define MIG_ZERO_PAGES		"zero_pages"
#define MIG_SYNCS		"dirty_sync_count"
#define MIG_GUEST_BUILD_MS	"guest_build_ms"	/* hint or bitmap */
#define MIG_GUEST_SEND_MS	"guest_send_ms"
#define MIG_GUEST_PAGES		"guest_free_pages"	/* hinted or described */

extern const struct scn_figure mig_figures[];
void mig_table(json_t *rpt);
int mig_plot(json_t *rpt, const char *dir, char *err, unsigned long len);

#endif
