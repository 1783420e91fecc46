// SPDX-License-Identifier: GPL-2.0
/* stats.c and inflate_stages.c: summaries, Welch's test, stage breakdown. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inflate.h"
#include "order.h"
#include "stats.h"

static void test_summary(void **state)
{
	const double v[] = { 5, 1, 3, 2, 4 };
	struct stats s;

	(void)state;
	stats_compute(v, 5, &s);
	assert_int_equal(s.n, 5);
	assert_float_equal(s.min, 1, 1e-9);
	assert_float_equal(s.max, 5, 1e-9);
	assert_float_equal(s.median, 3, 1e-9);
	assert_float_equal(s.mean, 3, 1e-9);
	assert_float_equal(s.stddev, sqrt(2.5), 1e-9);
	stats_compute(v, 4, &s);	/* 5 1 3 2: even count */
	assert_float_equal(s.median, 2.5, 1e-9);
	stats_compute(v, 1, &s);
	assert_float_equal(s.stddev, 0, 1e-9);
}

static void test_welch(void **state)
{
	const double a[] = { 10, 11, 9, 10, 10 }, b[] = { 20, 21, 19, 20, 20 };
	const double c[] = { 10, 12, 8, 11, 9 };
	struct stats sa, sb, sc;
	double t, df;

	(void)state;
	stats_compute(a, 5, &sa);
	stats_compute(b, 5, &sb);
	stats_compute(c, 5, &sc);
	assert_int_equal(stats_welch(&sa, &sb, &t, &df), 0);
	assert_true(fabs(t) > stats_t_crit95(df));	/* clearly different */
	assert_int_equal(stats_welch(&sa, &sc, &t, &df), 0);
	assert_true(fabs(t) < stats_t_crit95(df));	/* same mean */
	sa.n = 1;
	assert_int_equal(stats_welch(&sa, &sb, &t, &df), -1);
	assert_float_equal(stats_t_crit95(4), 2.776, 1e-9);
	assert_true(stats_t_crit95(1000) < 1.97);
}

static double num(json_t *o, const char *k)
{
	return json_is_number(json_object_get(o, k)) ?
	       json_number_value(json_object_get(o, k)) : NAN;
}

static void test_stages_sum_to_wall(void **state)
{
	json_t *guest = json_pack("{s:I, s:I, s:I, s:I}", "inflate_alloc_ns",
				  (json_int_t)100000000, "inflate_build_ns",
				  (json_int_t)50000000, "inflate_wait_ns",
				  (json_int_t)300000000, "inflate_commit_ns",
				  (json_int_t)40000000);
	json_t *host = json_pack("{s:{s:I, s:I, s:I}}", "inflate",
				 "translate-ns", (json_int_t)20000000,
				 "discard-ns", (json_int_t)150000000,
				 "handle-ns", (json_int_t)200000000);
	json_t *s = json_object();
	double sum;

	(void)state;
	inflate_stages(s, 600, guest, host);
	assert_float_equal(num(s, "stage_guest_alloc_ms"), 100, 1e-6);
	assert_float_equal(num(s, "stage_transport_ms"), 100, 1e-6);
	assert_float_equal(num(s, "stage_host_queue_ms"), 30, 1e-6);
	assert_float_equal(num(s, "stage_host_discard_ms"), 150, 1e-6);
	assert_float_equal(num(s, "stage_guest_commit_ms"), 40, 1e-6);
	assert_float_equal(num(s, "stage_rest_ms"), 110, 1e-6);
	sum = num(s, "stage_guest_alloc_ms") + num(s, "stage_guest_build_ms") +
	      num(s, "stage_guest_commit_ms") +
	      num(s, "stage_transport_ms") + num(s, "stage_host_queue_ms") +
	      num(s, "stage_host_translate_ms") +
	      num(s, "stage_host_discard_ms") + num(s, "stage_rest_ms");
	assert_float_equal(sum, 600, 1e-6);
	json_decref(s);
	/* no host counters: the guest's whole wait is transport */
	s = json_object();
	inflate_stages(s, 600, guest, NULL);
	assert_float_equal(num(s, "stage_transport_ms"), 300, 1e-6);
	assert_true(json_is_null(json_object_get(s, "stage_host_discard_ms")));
	assert_float_equal(num(s, "stage_rest_ms"), 110, 1e-6);
	json_decref(s);
	/* no counters at all (stock row): all of it is rest */
	s = json_object();
	inflate_stages(s, 600, NULL, NULL);
	assert_float_equal(num(s, "stage_rest_ms"), 600, 1e-6);
	json_decref(s);
	json_decref(guest);
	json_decref(host);
}

/* Row orders: always a permutation, reproducible from the seed, varied. */
static void test_order(void **state)
{
	int a[7], b[7], seen, i, rep, differ = 0, moved = 0;

	(void)state;
	for (rep = 0; rep < 20; rep++) {
		order_permute(a, 7, 42, rep);
		order_permute(b, 7, 42, rep);
		seen = 0;
		for (i = 0; i < 7; i++) {
			assert_int_equal(a[i], b[i]);
			assert_true(a[i] >= 0 && a[i] < 7);
			seen |= 1 << a[i];
			moved += a[i] != i;
		}
		assert_int_equal(seen, 0x7f);
		order_permute(b, 7, 42, rep + 1);
		for (i = 0; i < 7; i++)
			differ += a[i] != b[i];
	}
	assert_true(differ > 0);	/* repetitions are not all one order */
	assert_true(moved > 20);	/* and not the identity */
	order_permute(a, 1, 7, 0);
	assert_int_equal(a[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_welch),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_stages_sum_to_wall),
	};
	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
