/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migrate scenario's parts: the run (scenario_migrate.c) and the
 * report side (mig_report.c).
 */
#ifndef BB_MIGRATE_H
#define BB_MIGRATE_H

#include <jansson.h>

#include "scenario.h"

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
