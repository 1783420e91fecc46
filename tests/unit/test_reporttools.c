// SPDX-License-Identifier: GPL-2.0
/*
 * report.c, rtstat.c, reporttools.c, gate.c, plot.c: every verdict, every
 * refusal, every malformed report a report tool must turn into exit 2.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmd.h"
#include "report.h"
#include "rtstat.h"
#include "scenario.h"
#include "stats.h"

static char tmpdir[] = "/tmp/bb-test-rt.XXXXXX";

static void st_of(const double *v, int n, struct stats *s)
{
	stats_compute(v, n, s);
}

static void test_compare_verdicts(void **state)
{
	const double one_a[] = { 100 }, one_b[] = { 50 };
	const double same_a[] = { 100, 100, 100 };
	const double same_b[] = { 100.01, 100.01, 100.01 };
	const double noisy_a[] = { 100, 115, 88 }, noisy_b[] = { 95, 108, 84 };
	const double fast[] = { 50, 52, 51 }, slow[] = { 100, 98, 103 };
	struct stats a, b;

	(void)state;
	st_of(one_a, 1, &a);
	st_of(one_b, 1, &b);
	assert_int_equal(rt_compare(&a, &b), RT_TOO_FEW);
	st_of(slow, 2, &a);
	st_of(fast, 2, &b);
	assert_int_equal(rt_compare(&a, &b), RT_TOO_FEW);
	/* zero spread on both sides: the noise is unknown, never "real" */
	st_of(same_a, 3, &a);
	st_of(same_b, 3, &b);
	assert_int_equal(rt_compare(&a, &b), RT_INCONCLUSIVE);
	/* n = 3 with 10-15 % spread and a 5 % change: noise */
	st_of(noisy_a, 3, &a);
	st_of(noisy_b, 3, &b);
	assert_int_equal(rt_compare(&a, &b), RT_INCONCLUSIVE);
	st_of(slow, 3, &a);
	st_of(fast, 3, &b);
	assert_int_equal(rt_compare(&a, &b), RT_REAL);
	/* ten a side: one outlier overlapping does not hide a clear change */
	{
		const double p[] = { 100, 102, 98, 101, 99, 100, 103, 97, 100,
				     60 };
		const double q[] = { 80, 81, 79, 80, 82, 78, 80, 81, 79, 99 };
		const double r[] = { 97, 103, 99, 101, 100, 98, 102, 100, 99,
				     104 };

		st_of(p, 10, &a);
		st_of(q, 10, &b);
		assert_int_equal(rt_compare(&a, &b), RT_REAL);
		st_of(r, 10, &a);
		assert_int_equal(rt_compare(&a, &b), RT_REAL);
		st_of(p, 10, &b);
		/* 100.3 against 96: noise at 99 % */
		assert_int_equal(rt_compare(&a, &b), RT_INCONCLUSIVE);
	}
	st_of(slow, 3, &a);
	st_of(fast, 3, &b);
	/* the change printed is the change tested: of the means */
	assert_float_equal(rt_change(&a, &b), (51.0 - 301.0 / 3) / (301.0 / 3),
			   1e-9);
	assert_string_equal(rt_verdict_name(RT_REAL), "real");
	assert_string_equal(rt_verdict_name(RT_INCONCLUSIVE), "inconclusive");
	assert_string_equal(rt_verdict_name(RT_TOO_FEW), "too few samples");
}

static void test_ratio(void **state)
{
	const double ref[] = { 1000, 1010, 990 }, row[] = { 100, 101, 99 };
	struct stats sr, sw;
	double r, se;

	(void)state;
	st_of(ref, 3, &sr);
	st_of(row, 3, &sw);
	assert_int_equal(rt_ratio(&sr, &sw, 0, &r, &se), 0);
	assert_float_equal(r, 10, 1e-9);		/* a speed-up */
	assert_float_equal(se, sqrt(2 * 0.01 * 0.01 / 3), 1e-9);
	assert_int_equal(rt_ratio(&sr, &sw, 1, &r, &se), 0);
	assert_float_equal(r, 0.1, 1e-9);		/* higher is better */
	st_of(row, 1, &sw);
	assert_int_equal(rt_ratio(&sr, &sw, 0, &r, &se), 0);
	assert_true(isinf(se));			/* one sample: noise unknown */
	sw.n = 0;
	assert_int_equal(rt_ratio(&sr, &sw, 0, &r, &se), -1);
}

static void test_gate_decide(void **state)
{
	struct rt_gate_fig g;

	(void)state;
	/* the same ratio: ok */
	rt_gate_decide(10, 0.03, 10, 0.03, 0.10, RT_Z95, &g);
	assert_int_equal(g.result, RT_GATE_OK);
	assert_float_equal(g.change, 0, 1e-12);
	/* a 25 % loss with 3 % noise a side: beyond 10 % even at the bound */
	rt_gate_decide(10, 0.03, 7.5, 0.03, 0.10, RT_Z95, &g);
	assert_int_equal(g.result, RT_GATE_FAIL);
	assert_float_equal(g.change, -0.25, 1e-12);
	assert_float_equal(g.upper, 0.75 * exp(RT_Z95 * sqrt(0.0018)) - 1,
			   1e-12);
	assert_true(g.upper < -0.10);
	/* the same loss drowned in 20 % noise: inconclusive, not ok */
	rt_gate_decide(10, 0.2, 7.5, 0.2, 0.10, RT_Z95, &g);
	assert_int_equal(g.result, RT_GATE_INCONCLUSIVE);
	/* a 14 % loss against 10 %: never labelled ok */
	rt_gate_decide(10, 0.0, 8.6, 0.0, 0.10, RT_Z95, &g);
	assert_int_equal(g.result, RT_GATE_FAIL);
	/* 9 % loss, no noise: within */
	rt_gate_decide(10, 0.0, 9.1, 0.0, 0.10, RT_Z95, &g);
	assert_int_equal(g.result, RT_GATE_OK);
	/* better than the baseline */
	rt_gate_decide(10, 0.05, 14, 0.05, 0.10, RT_Z95, &g);
	assert_int_equal(g.result, RT_GATE_OK);
	/* unknown noise (one sample) can never fail, only be inconclusive */
	rt_gate_decide(10, INFINITY, 5, 0.01, 0.10, RT_Z95, &g);
	assert_int_equal(g.result, RT_GATE_INCONCLUSIVE);
}

/* Several baseline runs: their ratios' spread is the noise of one run. */
static void test_baseline_combine(void **state)
{
	const double r3[] = { 10, 8, 12.5 }, se3[] = { 0.01, 0.01, 0.01 };
	const double r1[] = { 10 }, se1[] = { 0.02 };
	struct rt_baseline b;
	struct rt_gate_fig g;

	(void)state;
	rt_baseline_combine(r3, se3, 3, &b);
	assert_float_equal(b.ratio, 10, 1e-9);	/* geometric mean */
	assert_int_equal(b.runs, 3);
	assert_true(b.between > 0.2 && b.between < 0.25);
	assert_float_equal(b.se, b.between / sqrt(3), 1e-12);
	/* a run's own tight spread does not hide the runs' real one */
	assert_float_equal(rt_run_noise(0.01, &b), b.between, 1e-12);
	/* 15 % down is what these runs do by themselves: not a failure */
	rt_gate_decide(b.ratio, b.se, 8.5, rt_run_noise(0.01, &b), 0.10, RT_Z95, &g);
	assert_int_not_equal(g.result, RT_GATE_FAIL);
	/* one run only: its own spread is all there is */
	rt_baseline_combine(r1, se1, 1, &b);
	assert_true(isnan(b.between));
	assert_float_equal(b.se, 0.02, 1e-12);
	assert_float_equal(rt_run_noise(0.03, &b), 0.03, 1e-12);
	rt_gate_decide(b.ratio, b.se, 8.5, rt_run_noise(0.01, &b), 0.10, RT_Z95, &g);
	assert_int_equal(g.result, RT_GATE_FAIL);
}

/* An inflate-like report: rows of (name, inflate samples). */
static json_t *mk_report(const char *scenario, const char *accel,
			 long long mem, int nrows, const char *const *names,
			 const double *const *samples, int n)
{
	json_t *r = json_pack("{s:i, s:{s:s}, s:{s:s, s:I}, s:[], s:[]}",
			      "schema_version", RPT_SCHEMA_VERSION, "host",
			      "accelerator", accel, "scenario", "scenario",
			      scenario, "memory", (json_int_t)mem, "rows",
			      "errors");
	json_t *row;
	int i, k;

	for (i = 0; i < nrows; i++) {
		row = rpt_add_row(r, names[i], NULL);
		for (k = 0; k < n; k++)
			rpt_add_run(row, json_pack("{s:f, s:f}", "inflate_ms",
						   samples[i][k], "deflate_ms",
						   samples[i][k] / 2));
		rpt_summarize_row(row);
	}
	return r;
}

static const char *const names3[] = { "stock", "chunk", "limit" };
static const double stock_v[] = { 1000, 1010, 990, 1005, 995 };
static const double chunk_v[] = { 100, 101, 99, 100.5, 99.5 };
static const double slow_v[] = { 133, 134, 132, 133.5, 132.5 };
static const double limit_v[] = { 2, 2.1, 1.9, 2, 2 };

static char *save(json_t *r, const char *name)
{
	static char paths[16][600];
	static int next;
	char *p = paths[next++ % 16];

	snprintf(p, 600, "%s/%s.json", tmpdir, name);
	assert_int_equal(json_dump_file(r, p, 0), 0);
	json_decref(r);
	return p;
}

static char *inflate_report(const char *name, const char *accel,
			    const double *chunk)
{
	const double *const s[] = { stock_v, chunk, limit_v };

	return save(mk_report("inflate", accel, 1LL << 30, 3, names3, s, 5),
		    name);
}

static int run_gate(const char *base, const char *rep, const char *max,
		    int force)
{
	char *argv[] = { "--baseline", (char *)base, (char *)rep,
			 "--max-regress", (char *)max, "--force" };

	return cmd_gate(force ? 6 : 5, argv);
}

static void test_gate_cmd(void **state)
{
	const double *const bs[] = { chunk_v };
	const char *const bnames[] = { "boot" };
	char *base, *same, *slow, *kvm, *boot, *noref, *errs;
	json_t *r;

	(void)state;
	base = inflate_report("base", "tcg", chunk_v);
	same = inflate_report("same", "tcg", chunk_v);
	slow = inflate_report("slow", "tcg", slow_v);
	kvm = inflate_report("kvm", "kvm", chunk_v);
	assert_int_equal(run_gate(base, same, "10%", 0), 0);
	/* chunk 25 % slower: its speed-up fell 25 %, beyond noise */
	assert_int_equal(run_gate(base, slow, "10%", 0), 1);
	assert_int_equal(run_gate(base, slow, "30%", 0), 0);
	/* two baseline runs that agree: the 25 % loss still fails */
	{
		char *argv[] = { "--baseline", base, "--baseline", same, slow };

		assert_int_equal(cmd_gate(5, argv), 1);
		argv[4] = same;
		assert_int_equal(cmd_gate(5, argv), 0);
	}
	/* another accelerator: refused, unless forced */
	assert_int_equal(run_gate(base, kvm, "10%", 0), 2);
	assert_int_equal(run_gate(base, kvm, "10%", 1), 0);
	/* a boot report gates nothing: that is a failure, not a pass */
	boot = save(mk_report("boot", "tcg", 1LL << 30, 1, bnames, bs, 3),
		    "boot");
	assert_int_equal(run_gate(boot, boot, "10%", 0), 1);
	assert_int_equal(run_gate(base, boot, "10%", 0), 2);
	/* a baseline without the reference row compares nothing */
	r = json_load_file(base, 0, NULL);
	json_array_remove(json_object_get(r, "rows"), 0);
	noref = save(r, "noref");
	assert_int_equal(run_gate(noref, same, "10%", 0), 1);
	/* a report that recorded errors fails */
	r = json_load_file(same, 0, NULL);
	rpt_add_error(r, "chunk", "VM died");
	errs = save(r, "errs");
	assert_int_equal(run_gate(base, errs, "10%", 0), 1);
	/* bad thresholds and arguments */
	assert_int_equal(run_gate(base, same, "0%", 0), 2);
	assert_int_equal(run_gate(base, same, "100%", 0), 2);
	assert_int_equal(run_gate(base, same, "ten", 0), 2);
}

/*
 * compare refuses overcommit reports of different swap windows (unless
 * --force); the gate, which compares no swap, does not.
 */
static void test_swap_windows(void **state)
{
	const double *const s[] = { chunk_v };
	const char *const n[] = { "none" };
	json_t *a = mk_report("overcommit", "tcg", 1LL << 29, 1, n, s, 1);
	json_t *b = mk_report("overcommit", "tcg", 1LL << 29, 1, n, s, 1);
	char *pa, *pb, *pc, err[256];
	json_t *run;

	(void)state;
	run = json_array_get(json_object_get(json_array_get(
		json_object_get(a, "rows"), 0), "runs"), 0);
	json_object_set_new(run, "swap_in_after_pages", json_integer(3));
	assert_int_equal(rt_comparable(a, b, err, sizeof(err)), 0);
	pc = save(json_deep_copy(a), "win_new2");
	pa = save(a, "win_new");
	pb = save(b, "win_old");
	{
		char *argv[] = { pb, pa, "--force" };

		assert_int_equal(cmd_compare(2, argv), 2);
		assert_int_equal(cmd_compare(3, argv), 0);
		argv[0] = pc;
		assert_int_equal(cmd_compare(2, argv), 0);
	}
}

static void test_compare_show_plot(void **state)
{
	const double *const bs[] = { chunk_v };
	const char *const bnames[] = { "boot" };
	char *a, *b, *k, *boot, *argv[3];

	(void)state;
	a = inflate_report("ca", "tcg", chunk_v);
	b = inflate_report("cb", "tcg", slow_v);
	k = inflate_report("ck", "kvm", slow_v);
	boot = save(mk_report("boot", "tcg", 1LL << 30, 1, bnames, bs, 3),
		    "cboot");
	argv[0] = a;
	argv[1] = b;
	assert_int_equal(cmd_compare(2, argv), 0);
	argv[1] = k;
	assert_int_equal(cmd_compare(2, argv), 2);
	argv[1] = boot;
	assert_int_equal(cmd_compare(2, argv), 2);
	argv[1] = k;
	argv[2] = "--force";
	assert_int_equal(cmd_compare(3, argv), 0);
	argv[0] = boot;
	assert_int_equal(cmd_show(1, argv), 0);
	/* boot has no plots: says so, exits non-zero */
	assert_int_equal(cmd_plot(1, argv), 1);
}

/* Each malformed report: rpt_validate names the field; tools exit 2. */
static void test_malformed(void **state)
{
	static const struct {
		const char *json;
		const char *path;	/* what the error must name */
	} bad[] = {
		{ "[]", "top level" },
		{ "{\"schema_version\":2}", "schema_version" },
		{ "{\"schema_version\":1,\"host\":{}}", "host.accelerator" },
		{ "{\"schema_version\":1,\"host\":{\"accelerator\":\"tcg\"},"
		  "\"scenario\":{\"scenario\":3}}", "scenario.scenario" },
		{ "{\"schema_version\":1,\"host\":{\"accelerator\":\"tcg\"},"
		  "\"scenario\":{\"scenario\":\"inflate\"},\"rows\":{}}",
		  "rows" },
		{ "{\"schema_version\":1,\"host\":{\"accelerator\":\"tcg\"},"
		  "\"scenario\":{\"scenario\":\"inflate\"},\"rows\":[7]}",
		  "rows[0]" },
		{ "{\"schema_version\":1,\"host\":{\"accelerator\":\"tcg\"},"
		  "\"scenario\":{\"scenario\":\"inflate\"},\"rows\":[{\"name\":"
		  "1,\"summary\":{}}]}", "rows[0].name" },
		{ "{\"schema_version\":1,\"host\":{\"accelerator\":\"tcg\"},"
		  "\"scenario\":{\"scenario\":\"inflate\"},\"rows\":[{\"name\":"
		  "\"a\"}]}", "rows[0].summary" },
		{ "{\"schema_version\":1,\"host\":{\"accelerator\":\"tcg\"},"
		  "\"scenario\":{\"scenario\":\"inflate\"},\"rows\":[{\"name\":"
		  "\"a\",\"summary\":{\"inflate_ms\":{\"n\":3,\"min\":1,"
		  "\"median\":\"x\",\"max\":1,\"mean\":1,\"stddev\":0}}}]}",
		  "rows[0].summary.inflate_ms.median" },
		{ "{\"schema_version\":1,\"host\":{\"accelerator\":\"tcg\"},"
		  "\"scenario\":{\"scenario\":\"inflate\"},\"rows\":[{\"name\":"
		  "\"a\",\"summary\":{},\"runs\":[1]}]}", "rows[0].runs[0]" },
		{ "{\"schema_version\":1,\"host\":{\"accelerator\":\"tcg\"},"
		  "\"scenario\":{\"scenario\":\"inflate\"},\"rows\":[],"
		  "\"errors\":[{}]}", "errors[0].message" },
	};
	char err[512], *path, *good, *argv[5];
	unsigned i;
	json_t *r;

	(void)state;
	good = inflate_report("good", "tcg", chunk_v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = json_loads(bad[i].json, 0, NULL);
		assert_non_null(r);
		assert_int_equal(rpt_validate(r, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i].path));
		path = save(r, "bad");
		argv[0] = path;
		assert_int_equal(cmd_show(1, argv), 2);
		assert_int_equal(cmd_plot(1, argv), 2);
		argv[1] = good;
		assert_int_equal(cmd_compare(2, argv), 2);
		argv[0] = "--baseline";
		argv[1] = good;
		argv[2] = path;
		assert_int_equal(cmd_gate(3, argv), 2);
	}
	r = json_load_file(good, 0, NULL);
	assert_int_equal(rpt_validate(r, err, sizeof(err)), 0);
	json_decref(r);
}

/* A report that cannot go where asked goes to $TMPDIR, and says so. */
static void test_save_fallback(void **state)
{
	const char *const n[] = { "stock" };
	const double *const s[] = { stock_v };
	char path[600], err[256], *old = getenv("TMPDIR");
	json_t *r = mk_report("inflate", "tcg", 1LL << 30, 1, n, s, 3);

	(void)state;
	/* a file where a directory must be: fails even for root */
	assert_int_not_equal(rpt_check_dir("/dev/null/x", "t", err,
					   sizeof(err)), 0);
	assert_non_null(strstr(err, "output_dir"));
	assert_int_equal(rpt_check_dir(tmpdir, "t", err, sizeof(err)), 0);
	setenv("TMPDIR", tmpdir, 1);
	assert_int_equal(rpt_save(r, "/dev/null/x", "fb", NULL, path, sizeof(path)),
			 1);
	assert_true(!strncmp(path, tmpdir, strlen(tmpdir)));
	assert_int_equal(access(path, R_OK), 0);
	/* a second save in the same second gets a directory of its own */
	assert_int_equal(rpt_save(r, tmpdir, "fb", NULL, err, sizeof(err)), 0);
	assert_string_not_equal(path, err);
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	json_decref(r);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compare_verdicts),
		cmocka_unit_test(test_ratio),
		cmocka_unit_test(test_gate_decide),
		cmocka_unit_test(test_baseline_combine),
		cmocka_unit_test(test_gate_cmd),
		cmocka_unit_test(test_swap_windows),
		cmocka_unit_test(test_compare_show_plot),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_save_fallback),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
