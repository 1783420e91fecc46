/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Report keys that more than one file writes or reads, each spelled once.
 * The unit is in the name; docs/report-schema.md says what each means.
 */
#ifndef BB_RPTKEYS_H
#define BB_RPTKEYS_H

/* inflate samples */
#define RK_INFLATE_MS		"inflate_ms"
#define RK_DEFLATE_MS		"deflate_ms"
#define RK_INFLATE_BYTES	"inflate_bytes"
#define RK_TOUCH_MS		"touch_ms"
#define RK_TOUCH_BYTES		"touch_bytes"
#define RK_STAGE_ALLOC_MS	"stage_guest_alloc_ms"
#define RK_STAGE_BUILD_MS	"stage_guest_build_ms"
#define RK_STAGE_COMMIT_MS	"stage_guest_commit_ms"
#define RK_STAGE_TRANSPORT_MS	"stage_transport_ms"
#define RK_STAGE_QUEUE_MS	"stage_host_queue_ms"
#define RK_STAGE_XLATE_MS	"stage_host_translate_ms"
#define RK_STAGE_DISCARD_MS	"stage_host_discard_ms"
#define RK_STAGE_REST_MS	"stage_rest_ms"

/* boot samples */
#define RK_BOOT_MS		"boot_ms"
#define RK_MEMTOTAL_BYTES	"memtotal_bytes"
#define RK_RSS_BYTES		"rss_bytes"

/* every report */
#define RK_ROWS			"rows"
#define RK_NAME			"name"
#define RK_SUMMARY		"summary"
#define RK_SETTINGS		"settings"
#define RK_RUNS			"runs"

#endif
