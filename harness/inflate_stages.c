// SPDX-License-Identifier: GPL-2.0
/*
 * The per-stage breakdown of an inflate and the table that shows it.
 *
 * Guest counters (vballoon debugfs stats): inflate_alloc_ns,
 * inflate_build_ns, inflate_wait_ns (request added to completion),
 * inflate_commit_ns.
 * Host counters (device stage-stats, "inflate" object): translate-ns,
 * discard-ns, handle-ns (whole queue handler).  Stages, in ms:
 *   guest_alloc      allocating the pages
 *   guest_build      building messages
 *   guest_commit     filing acknowledged pages into the balloon
 *   transport        guest waiting minus host handling: notification,
 *                    scheduling, vCPU exits (0 if the host work overlapped)
 *   host_queue       host handler minus translation and discard
 *   host_translate   guest ranges to host addresses
 *   host_discard     madvise/fallocate of host memory
 *   rest             wall time minus all of the above: QMP, config space,
 *                    waking the driver, polling granularity
 * so that nothing is hidden: the stages always add up to the wall time.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rptkeys.h"
#include "inflate.h"
#include "report.h"
#include "scenario.h"

static double ns_ms(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) / 1e6 : NAN;
}

static void put(json_t *sample, const char *key, double v)
{
	json_object_set_new(sample, key, isnan(v) ? json_null() : json_real(v));
}

void inflate_stages(json_t *sample, double wall_ms, json_t *guest,
		    json_t *host)
{
	json_t *hi = json_object_get(host, "inflate");
	double alloc = ns_ms(guest, "inflate_alloc_ns");
	double build = ns_ms(guest, "inflate_build_ns");
	double commit = ns_ms(guest, "inflate_commit_ns");
	double wait = ns_ms(guest, "inflate_wait_ns");
	double xlate = ns_ms(hi, "translate-ns");
	double discard = ns_ms(hi, "discard-ns");
	double handle = ns_ms(hi, "handle-ns");
	double queue = handle - xlate - discard;
	double transport = wait - handle;
	double parts[7], known = 0;
	unsigned i;

	if (isnan(handle))
		transport = wait;	/* no host counters: all of it is waiting */
	else if (!isnan(transport) && transport < 0)
		transport = 0;	/* host work overlapped the guest's */
	put(sample, RK_STAGE_ALLOC_MS, alloc);
	put(sample, RK_STAGE_BUILD_MS, build);
	put(sample, RK_STAGE_COMMIT_MS, commit);
	put(sample, RK_STAGE_TRANSPORT_MS, transport);
	put(sample, RK_STAGE_QUEUE_MS, queue);
	put(sample, RK_STAGE_XLATE_MS, xlate);
	put(sample, RK_STAGE_DISCARD_MS, discard);
	parts[0] = alloc;
	parts[1] = build;
	parts[2] = transport;
	parts[3] = queue;
	parts[4] = xlate;
	parts[5] = discard;
	parts[6] = commit;
	for (i = 0; i < 7; i++)
		if (!isnan(parts[i]))
			known += parts[i];
	put(sample, RK_STAGE_REST_MS, wall_ms - known);
}

static double summary_median(json_t *row, const char *key)
{
	json_t *s = json_object_get(json_object_get(row, "summary"), key);
	json_t *m = json_object_get(s, "median");

	return json_is_number(m) ? json_number_value(m) : NAN;
}

static double summary_mean(json_t *row, const char *key)
{
	json_t *s = json_object_get(json_object_get(row, "summary"), key);
	json_t *m = json_object_get(s, "mean");

	return json_is_number(m) ? json_number_value(m) : NAN;
}

static void print_ms(double v)
{
	if (isnan(v))
		printf(" %10s", "-");
	else
		printf(" %10.1f", v);
}

static void print_share(json_t *row, const char *key, double total)
{
	double v = summary_mean(row, key);

	if (isnan(v) || total <= 0)
		printf(" %7s", "-");
	else
		printf(" %6.1f%%", 100 * v / total);
}

/* The reference of a row: "stock", or "stock inflate=1/8" in a sweep. */
static double reference_ms(json_t *rpt, const char *name)
{
	return summary_median(rpt_reference_row(rpt, scenario_inflate.reference,
						name), RK_INFLATE_MS);
}

void inflate_print_table(json_t *rpt)
{
	static const char *const stages[] = {
		RK_STAGE_ALLOC_MS, RK_STAGE_BUILD_MS, RK_STAGE_COMMIT_MS,
		RK_STAGE_TRANSPORT_MS, RK_STAGE_QUEUE_MS,
		RK_STAGE_XLATE_MS, RK_STAGE_DISCARD_MS,
		RK_STAGE_REST_MS,
	};
	json_t *rows = json_object_get(rpt, "rows"), *row;
	double base, ms, total;
	int w = 14;
	size_t i;
	unsigned s;

	json_array_foreach(rows, i, row)
		if ((int)strlen(json_string_value(json_object_get(row, "name"))) > w)
			w = (int)strlen(json_string_value(json_object_get(row,
								  "name")));
	printf("%-*s %10s %10s %8s %7s %7s %7s %7s %7s %7s %7s %7s", w, "ROW",
	       "INFLATE_MS", "DEFLATE_MS", "SPEEDUP", "ALLOC", "BUILD", "COMMIT",
	       "TRANSP", "QUEUE", "XLATE", "DISCARD", "REST");
	printf("\n");
	json_array_foreach(rows, i, row) {
		ms = summary_median(row, RK_INFLATE_MS);
		total = summary_mean(row, RK_INFLATE_MS);
		printf("%-*s", w, json_string_value(json_object_get(row,
							     "name")));
		base = reference_ms(rpt, json_string_value(
				   json_object_get(row, "name")));
		print_ms(ms);
		print_ms(summary_median(row, RK_DEFLATE_MS));
		if (isnan(base) || isnan(ms) || ms <= 0)
			printf(" %8s", "-");
		else
			printf(" %7.1fx", base / ms);
		for (s = 0; s < sizeof(stages) / sizeof(stages[0]); s++)
			print_share(row, stages[s], total);
		printf("\n");
	}
	printf("accelerator: %s; INFLATE_MS and DEFLATE_MS are medians, "
	       "stage shares are of the mean inflate time\n",
	       json_string_value(json_object_get(json_object_get(rpt, "host"),
						 "accelerator")));
}
