// SPDX-License-Identifier: GPL-2.0
/*
 * The overcommit scenario's pure parts: the mom policy, the names and the
 * sweep of a killed run's cgroups, swap and scratch files (on a fixture
 * tree), the cgroup probe on v1 and v2 fixtures, the workload wrapper and
 * result parser, and the scenario's keys.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "hostmem.h"
#include "mom.h"
#include "overcommit.h"
#include "probe.h"

#define MiB (1ULL << 20)

static char root[64] = "/tmp/bb-oc-XXXXXX";

static const struct mom_params mp = {
	.pressure = 0.20, .critical = 0.05, .guest_free = 0.20,
	.max_step = 0.05, .min_step = 0.0025,
};

static void test_mom_shrink(void **state)
{
	struct mom_guest g = { 1024 * MiB, 1024 * MiB, 600 * MiB };

	(void)state;
	/* pressure: give at most 5 % of 1 GiB */
	assert_int_equal(mom_step(&mp, 0.10, &g), 1024 * MiB - 1024 * MiB / 20);
	/* critical: twice that */
	assert_int_equal(mom_step(&mp, 0.01, &g),
			 1024 * MiB - 2 * (1024 * MiB / 20));
	/* never below 20 % free: 210 MiB available of 1 GiB gives 5.2 MiB */
	g.free_bytes = 210 * MiB;
	assert_int_equal(mom_step(&mp, 0.10, &g),
			 1024 * MiB - (uint64_t)(210 * MiB - 0.2 * 1024 * MiB));
	/* at the floor: nothing */
	g.free_bytes = 200 * MiB;
	assert_int_equal(mom_step(&mp, 0.10, &g), 0);
	/* unknown statistics: leave the guest alone */
	g.free_bytes = -1;
	assert_int_equal(mom_step(&mp, 0.01, &g), 0);
}

static void test_mom_grow(void **state)
{
	struct mom_guest g = { 1024 * MiB, 800 * MiB, 10 * MiB };

	(void)state;
	assert_int_equal(mom_step(&mp, 0.50, &g), 800 * MiB + 1024 * MiB / 20);
	g.cur_bytes = 1020 * MiB;	/* capped at its RAM */
	assert_int_equal(mom_step(&mp, 0.50, &g), 1024 * MiB);
	g.cur_bytes = 1023 * MiB;	/* 1 MiB < 0.25 % of 1 GiB: skipped */
	assert_int_equal(mom_step(&mp, 0.50, &g), 0);
	g.cur_bytes = 1024 * MiB;
	assert_int_equal(mom_step(&mp, 0.50, &g), 0);
	assert_true(mom_host_free(1000, 1200) == 0);
	assert_true(mom_host_free(1000, 250) == 0.75);
}

static void test_name_pid(void **state)
{
	(void)state;
	assert_int_equal(hm_name_pid("balloonbench-123", HM_CGROUP_PREFIX), 123);
	assert_int_equal(hm_name_pid("balloonbench-swap-9", HM_SWAP_PREFIX), 9);
	assert_int_equal(hm_name_pid("balloonbench-swap-9", HM_CGROUP_PREFIX), 0);
	assert_int_equal(hm_name_pid("balloonbench-", HM_CGROUP_PREFIX), 0);
	assert_int_equal(hm_name_pid("balloonbench-012", HM_CGROUP_PREFIX), 0);
	assert_int_equal(hm_name_pid("balloonbench-12x", HM_CGROUP_PREFIX), 0);
	assert_int_equal(hm_name_pid("other-12", HM_CGROUP_PREFIX), 0);
}

static void mk(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int there(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return access(path, F_OK) == 0;
}

static void test_detect(void **state)
{
	char dir[200], why[400];

	(void)state;
	mk("cg");
	snprintf(hm_cgroup_root, sizeof(hm_cgroup_root), "%s/cg", root);
	assert_int_equal(hm_detect(dir, sizeof(dir), why, sizeof(why)), 0);
	assert_non_null(strstr(why, "no memory cgroup controller"));
	mk("cg/memory");
	put("cg/memory/memory.limit_in_bytes", "9223372036854771712\n");
	assert_int_equal(hm_detect(dir, sizeof(dir), why, sizeof(why)), 1);
	assert_non_null(strstr(dir, "/cg/memory"));
	put("cg/cgroup.subtree_control", "cpu io\n");
	assert_int_equal(hm_detect(dir, sizeof(dir), why, sizeof(why)), 1);
	put("cg/cgroup.subtree_control", "cpu memory pids\n");
	assert_int_equal(hm_detect(dir, sizeof(dir), why, sizeof(why)), 2);
	strcpy(hm_cgroup_root, "/sys/fs/cgroup");
}

/* A killed run's leftovers go; a live run's (this process) stay. */
static void test_sweep(void **state)
{
	char live[64], work[128];
	int n;

	(void)state;
	mk("sw");
	mk("sw/memory");
	mk("sw/memory/balloonbench-4194000");	/* no such pid */
	mk("sw/balloonbench-4194001");		/* v2 place */
	mk("sw/memory/unrelated-1");
	snprintf(live, sizeof(live), "sw/memory/balloonbench-%d", getpid());
	mk(live);
	mk("work");
	mk("work/balloonbench-scratch-4194002");
	put("work/balloonbench-scratch-4194002/vm00.img", "x");
	put("work/balloonbench-swap-4194003", "not really swap");
	put("work/balloonbench-swap-x", "not ours");
	snprintf(hm_cgroup_root, sizeof(hm_cgroup_root), "%s/sw", root);
	snprintf(work, sizeof(work), "%s/work", root);
	/* this process passes for a running harness */
	prctl(PR_SET_NAME, "balloonbench");
	n = hm_sweep(work);
	strcpy(hm_cgroup_root, "/sys/fs/cgroup");
	assert_int_equal(n, 4);
	assert_false(there("sw/memory/balloonbench-4194000"));
	assert_false(there("sw/balloonbench-4194001"));
	assert_true(there("sw/memory/unrelated-1"));
	assert_true(there(live));
	assert_false(there("work/balloonbench-scratch-4194002"));
	assert_false(there("work/balloonbench-swap-4194003"));
	assert_true(there("work/balloonbench-swap-x"));
	/* under another name it is a reused pid: swept too */
	prctl(PR_SET_NAME, "test_overcommit");
	snprintf(hm_cgroup_root, sizeof(hm_cgroup_root), "%s/sw", root);
	assert_int_equal(hm_sweep(work), 1);
	strcpy(hm_cgroup_root, "/sys/fs/cgroup");
	assert_false(there(live));
}

static void test_cgroup_probe(void **state)
{
	struct probe p;
	char err[256];
	json_t *o = json_object();

	(void)state;
	mk("v1");
	put("v1/memory.usage_in_bytes", "1000\n");
	put("v1/memory.max_usage_in_bytes", "2000\n");
	put("v1/memory.stat", "cache 5\nswap 4096\npgmajfault 7\n"
	    "inactive_file 300\ntotal_inactive_file 300\n");
	snprintf(err, sizeof(err), "%s/v1", root);
	assert_int_equal(probe_start(&p, "cgroup", NULL, err, "", err,
				     sizeof(err)), 0);
	assert_int_equal(probe_sample(&p, o, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(o,
			 "cgroup_usage_bytes")), 1000);
	assert_int_equal(json_integer_value(json_object_get(o,
			 "cgroup_peak_bytes")), 2000);
	assert_int_equal(json_integer_value(json_object_get(o,
			 "cgroup_swap_bytes")), 4096);
	assert_int_equal(json_integer_value(json_object_get(o,
			 "cgroup_pgmajfault")), 7);
	assert_int_equal(json_integer_value(json_object_get(o,
			 "cgroup_inactive_file")), 300);
	probe_stop(&p);
	json_object_clear(o);
	mk("v2");
	put("v2/memory.max", "max\n");
	put("v2/memory.current", "3000\n");
	put("v2/memory.swap.current", "8192\n");
	put("v2/memory.stat", "anon 1\npswpin 11\npswpout 12\n");
	snprintf(err, sizeof(err), "%s/v2", root);
	assert_int_equal(probe_start(&p, "cgroup", NULL, err, "", err,
				     sizeof(err)), 0);
	assert_int_equal(probe_sample(&p, o, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(o,
			 "cgroup_usage_bytes")), 3000);
	assert_null(json_object_get(o, "cgroup_peak_bytes"));
	assert_int_equal(json_integer_value(json_object_get(o,
			 "cgroup_swap_bytes")), 8192);
	assert_int_equal(json_integer_value(json_object_get(o,
			 "cgroup_pswpout")), 12);
	probe_stop(&p);
	json_decref(o);
	/* a cgroup that went away is an error, not zeros */
	snprintf(err, sizeof(err), "%s/gone", root);
	assert_int_equal(probe_start(&p, "cgroup", NULL, err, "", err,
				     sizeof(err)), 0);
	o = json_object();
	assert_true(probe_sample(&p, o, err, sizeof(err)) < 0);
	probe_stop(&p);
	json_decref(o);
}

/* The wrapper runs here as it would in the guest: quoting and status. */
static void test_wrap_and_parse(void **state)
{
	char cmd[512], out[512] = "";
	double s = -1, setup = -1;
	int status = -1;
	FILE *p;

	(void)state;
	assert_int_equal(oc_wrap_command("echo 'it''s' \"x\"; exit 3", cmd,
					 sizeof(cmd)), 0);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_true(fread(out, 1, sizeof(out) - 1, p) > 0);
	assert_int_equal(WEXITSTATUS(pclose(p)), 3);
	assert_non_null(strstr(out, "its x\n"));
	assert_int_equal(oc_parse_result(out, &s, &setup, &status), 0);
	assert_int_equal(status, 3);
	assert_true(s >= 0 && s < 60);
	assert_true(setup == 0);
	assert_int_equal(oc_parse_result("noise\n{\"status\":0,\"elapsed_s\":"
					 "12.5,\"jobs\":1}\n", &s, &setup,
					 &status), 0);
	assert_true(s == 12.5);
	assert_true(setup == 0);
	assert_int_equal(oc_parse_result("{\"status\":0,\"elapsed_s\":12.5,"
					 "\"setup_s\":1.25}\n", &s, &setup,
					 &status), 0);
	assert_true(s == 12.5 && setup == 1.25);
	assert_int_equal(status, 0);
	assert_int_equal(oc_parse_result("{\"status\":0}\n", &s, &setup,
					 &status),
			 -EPROTO);
	assert_int_equal(oc_parse_result("nothing here\n", &s, &setup,
					 &status),
			 -ENOENT);
	assert_int_equal(oc_parse_result("bb-elapsed 5 4 0\n", &s, &setup,
					 &status),
			 -EPROTO);
	memset(out, 'a', sizeof(out) - 1);
	out[sizeof(out) - 1] = '\0';
	assert_int_equal(oc_wrap_command(out, cmd, sizeof(cmd)), -E2BIG);
}

static void expect_error(const char *json, const char *what)
{
	struct bb_config cfg;
	char err[1024];

	assert_int_equal(cfg_load_string(json, "t.json", &cfg, err,
					 sizeof(err)), -EINVAL);
	if (!strstr(err, what))
		fail_msg("expected '%s' in: %s", what, err);
}

/* The builds' window ends at the first sample at or after their end. */
static void test_swap_window(void **state)
{
	const struct oc_swap_at s[] = {
		{ 0.1, 0, 0 }, { 1.1, 5, 7 }, { 2.1, 9, 8 }, { 3.1, 20, 9 },
	};

	(void)state;
	assert_int_equal(oc_swap_window(s, 0, 1.0), -1);
	assert_int_equal(oc_swap_window(s, 1, 5.0), 0);
	assert_int_equal(oc_swap_window(s, 4, 0.0), 0);
	assert_int_equal(oc_swap_window(s, 4, 1.0), 1);
	assert_int_equal(oc_swap_window(s, 4, 1.1), 1);
	assert_int_equal(oc_swap_window(s, 4, 1.2), 2);
	assert_int_equal(oc_swap_window(s, 4, 3.1), 3);
	/* past the last sample: the last */
	assert_int_equal(oc_swap_window(s, 4, 9.0), 3);
}

static void test_keys(void **state)
{
	struct bb_config cfg;
	char err[1024];

	(void)state;
	expect_error("{\"scenario\":\"overcommit\"}", "key 'host_memory'");
	expect_error("{\"scenario\":\"overcommit\",\"host_memory\":\"1G\","
		     "\"touch\":\"1/2\"}", "key 'touch': applies to the inflate");
	expect_error("{\"scenario\":\"inflate\",\"swap\":\"1G\"}",
		     "key 'swap': applies to the overcommit");
	expect_error("{\"scenario\":\"overcommit\",\"host_memory\":\"1G\","
		     "\"workload\":\"command\"}", "key 'command'");
	expect_error("{\"scenario\":\"overcommit\",\"host_memory\":\"1G\","
		     "\"mom_critical\":\"30%\"}", "key 'mom_critical'");
	expect_error("{\"scenario\":\"overcommit\",\"host_memory\":\"1G\","
		     "\"mom_pressure\":\"101\"}", "out of range");
	expect_error("{\"scenario\":\"overcommit\",\"host_memory\":\"1G\","
		     "\"mom_pressure\":\"lots\"}", "not a percentage");
	expect_error("{\"scenario\":\"overcommit\",\"host_memory\":\"1G\","
		     "\"static_target\":\"1G\"}", "key 'static_target'");
	expect_error("{\"scenario\":\"overcommit\",\"host_memory\":\"1G\","
		     "\"targets\":\"kernel/; rm -rf /\"}", "key 'targets'");
	expect_error("{\"scenario\":\"overcommit\",\"host_memory\":\"1G\","
		     "\"matrix\":{\"strategy\":[\"none\",\"balloon\"]}}",
		     "matrix.strategy[1]");
	assert_int_equal(cfg_load_string("{\"scenario\":\"overcommit\","
		"\"host_memory\":\"1G\",\"mom_min_step\":0.5,"
		"\"mom_pressure\":\"25%\",\"vms\":3,\"matrix\":{\"strategy\":"
		"[\"none\",\"mom\"]}}", "t.json", &cfg, err, sizeof(err)), 0);
	assert_true(cfg.mom_min_step_pct == 0.5);
	assert_true(cfg.mom_pressure_pct == 25);
	assert_int_equal(cfg.vms, 3);
	cfg_row_name(&cfg, 1, err, sizeof(err));
	assert_string_equal(err, "mom");
	assert_int_equal(cfg_load_string("{\"scenario\":\"overcommit\","
		"\"host_memory\":\"1G\",\"driver\":\"vballoon\",\"matrix\":"
		"{\"strategy\":[\"none\",\"auto\"]}}", "t.json", &cfg, err,
		sizeof(err)), 0);
	cfg_row_name(&cfg, 1, err, sizeof(err));
	assert_string_equal(err, "auto");
	assert_int_equal(cfg_load_string("{\"scenario\":\"overcommit\","
		"\"host_memory\":\"1G\",\"strategy\":\"static\"}", "t.json",
		&cfg, err, sizeof(err)), 0);
	cfg_row_name(&cfg, 0, err, sizeof(err));
	assert_string_equal(err, "static");
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mom_shrink),
		cmocka_unit_test(test_mom_grow),
		cmocka_unit_test(test_name_pid),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_cgroup_probe),
		cmocka_unit_test(test_wrap_and_parse),
		cmocka_unit_test(test_swap_window),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
