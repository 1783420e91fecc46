// SPDX-License-Identifier: GPL-2.0
/* config.c: defaults, units, fractions, matrix, and every error path. */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static char err[1024];

static int load(const char *json, struct bb_config *cfg)
{
	err[0] = '\0';
	return cfg_load_string(json, "t.json", cfg, err, sizeof(err));
}

/* Loading must fail and the message must contain every fragment. */
static void expect_error(const char *json, const char *frag1,
			 const char *frag2)
{
	struct bb_config cfg;

	assert_int_not_equal(load(json, &cfg), 0);
	if (!strstr(err, frag1) || (frag2 && !strstr(err, frag2)))
		fail_msg("error '%s' lacks '%s' / '%s'", err, frag1,
			 frag2 ? frag2 : "");
	assert_non_null(strstr(err, "t.json"));
}

static void test_defaults(void **state)
{
	struct bb_config cfg;

	(void)state;
	assert_int_equal(load("{}", &cfg), 0);
	assert_string_equal(cfg.scenario, "boot");
	assert_int_equal(cfg.vms, 1);
	assert_int_equal(cfg.memory.bytes, 1ULL << 30);
	assert_string_equal(cfg.accel, "auto");
	assert_string_equal(cfg.driver, "stock");
	assert_int_equal(cfg.repetitions, 3);
	assert_int_equal(cfg.boot_timeout_ms, 300000);
	assert_int_equal(cfg.nrows, 1);
	assert_string_equal(cfg.guest_cmdline, "");
	/* default inflate is 7/8 of guest RAM */
	assert_int_equal(unit_size_bytes(&cfg.inflate, cfg.memory.bytes),
			 7ULL << 27);
}

/* guest_cmdline: 200 characters load; bb.* etc. only as whole words. */
static void test_guest_cmdline(void **state)
{
	char json[300], want[201];
	struct bb_config cfg;

	(void)state;
	memset(want, 'x', 200);
	want[200] = '\0';
	snprintf(json, sizeof(json), "{\"guest_cmdline\": \"%s\"}", want);
	assert_int_equal(load(json, &cfg), 0);
	assert_string_equal(cfg.guest_cmdline, want);
	assert_int_equal(load("{\"guest_cmdline\": \"xbb.y=1 a=bb.c "
			      "myinit=1 init_on_alloc=1\"}", &cfg), 0);
	assert_string_equal(cfg.guest_cmdline,
			    "xbb.y=1 a=bb.c myinit=1 init_on_alloc=1");
}

static void test_values(void **state)
{
	struct bb_config cfg;

	(void)state;
	assert_int_equal(load("{\"vms\": 8, \"memory\": \"512M\", "
			      "\"accel\": \"tcg\", \"boot_timeout\": \"90s\"}",
			      &cfg), 0);
	assert_int_equal(cfg.vms, 8);
	assert_true(cfg_is_set(&cfg, "vms"));
	assert_false(cfg_is_set(&cfg, "vcpus"));
	assert_int_equal(load("{\"scenario\": \"inflate\", \"memory\": "
			      "\"512M\", \"accel\": \"tcg\", \"boot_timeout\": "
			      "\"90s\", \"inflate\": \"1/2\", \"touch\": 268435456,"
			      " \"driver\": \"vballoon\", \"comment\": \"x\"}",
			      &cfg), 0);
	assert_int_equal(cfg.memory.bytes, 512ULL << 20);
	assert_string_equal(cfg.accel, "tcg");
	assert_int_equal(cfg.boot_timeout_ms, 90000);
	assert_int_equal(unit_size_bytes(&cfg.inflate, cfg.memory.bytes),
			 256ULL << 20);
	assert_int_equal(cfg.touch.bytes, 256ULL << 20);
}

static void test_matrix(void **state)
{
	struct bb_config cfg;

	(void)state;
	assert_int_equal(load("{\"scenario\": \"inflate\", \"matrix\": "
			      "{\"mode\": [\"stock\", \"chunk\", \"sg\"]}}",
			      &cfg), 0);
	char name[80];

	assert_int_equal(cfg.nrows, 3);
	assert_string_equal(cfg.matrix_key[0], "mode");
	assert_string_equal(cfg.vals[0][1], "chunk");
	assert_int_equal(cfg_apply_row(&cfg, 2), 0);
	assert_string_equal(cfg.mode, "sg");
	cfg_row_name(&cfg, 1, name, sizeof(name));
	assert_string_equal(name, "chunk");
	/* two knobs: a sweep, rows run through sizes for each mode */
	assert_int_equal(load("{\"scenario\": \"inflate\", \"matrix\": "
			      "{\"mode\": [\"chunk\", \"sg\"], \"inflate\": "
			      "[\"1/8\", \"1/2\", \"7/8\"]}}", &cfg), 0);
	assert_int_equal(cfg.nrows, 6);
	assert_int_equal(cfg_apply_row(&cfg, 4), 0);
	assert_string_equal(cfg.mode, "sg");
	assert_int_equal(unit_size_bytes(&cfg.inflate, cfg.memory.bytes),
			 512ULL << 20);
	cfg_row_name(&cfg, 4, name, sizeof(name));
	assert_string_equal(name, "sg inflate=1/2");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("{\"vms\": 0}", "'vms'", "out of range");
	expect_error("{\"vms\": -3}", "'vms'", "out of range");
	expect_error("{\"vms\": \"four\"}", "'vms'", "integer");
	expect_error("{\"vms\": 2.5}", "'vms'", "integer");
	expect_error("{\"memory\": \"-1G\"}", "'memory'", "negative");
	expect_error("{\"memory\": \"12Q\"}", "'memory'", "unit");
	expect_error("{\"memory\": \"1M\"}", "'memory'", "out of range");
	expect_error("{\"memory\": \"1/2\"}", "'memory'", "fraction");
	expect_error("{\"memory\": true}", "'memory'", "expected");
	expect_error("{\"bogus\": 1}", "'bogus'", "unknown key");
	expect_error("{\"accel\": \"hvf\"}", "'accel'", "not one of");
	expect_error("{\"driver\": 3}", "'driver'", "string");
	expect_error("{\"scenario\": \"inflate\", \"inflate\": \"2G\"}",
		     "'inflate'", "not below");
	expect_error("{\"scenario\": \"inflate\", \"touch\": \"2G\"}",
		     "'touch'", "larger");
	expect_error("{\"boot_timeout\": \"5h\"}", "'boot_timeout'", "unit");
	expect_error("[1, 2]", "top level", NULL);
	expect_error("{\"vms\": 1", "invalid JSON", NULL);
	expect_error("{\"vms\": 1, \"vms\": 2}", "invalid JSON", NULL);
	expect_error("{\"matrix\": []}", "'matrix'", "object");
	expect_error("{\"matrix\": {\"mode\": [\"sg\"], \"vms\": [1], "
		     "\"vcpus\": [1]}}", "'matrix'", "two keys");
	expect_error("{\"matrix\": {\"vms\": [1,2,3,4,5,6,7,8,9], \"vcpus\": "
		     "[1,2,3,4,5,6,7,8]}}", "'matrix'", "72 rows");
	expect_error("{\"matrix\": {\"vms\": []}}", "'matrix.vms'", "array");
	expect_error("{\"matrix\": {\"name\": [\"a\"]}}", "'matrix.name'",
		     "matrix can vary");
	expect_error("{\"matrix\": {\"mode\": [\"chunk\", \"warp\"]}}",
		     "'matrix.mode[1]'", "not one of");
	expect_error("{\"matrix\": {\"mode\": [\"sg\", \"sg\"]}}",
		     "'matrix.mode[1]'", "twice");
	expect_error("{\"scenario\": \"inflate\", \"vms\": 2}", "'vms'",
		     "applies to the boot and overcommit scenarios");
	expect_error("{\"touch\": \"1G\"}", "'touch'", "not to 'boot'");
	expect_error("{\"scenario\": \"inflate\", \"matrix\": {\"vms\": [1, 2]}}",
		     "'matrix.vms'", "boot and overcommit scenarios");
	expect_error("{\"scenario\": \"inflate\", \"memory\": \"1G\", "
		     "\"matrix\": {\"inflate\": [\"512M\", \"2G\"]}}",
		     "matrix row '2G'", "not below");
	expect_error("{\"matrix\": {\"accel\": [\"tcg\", \"kvm\"]}}",
		     "'matrix.accel'", "matrix can vary");
	expect_error("{\"scenario\": \"warp\"}", "'scenario'", "not a scenario");
	expect_error("{\"name\": \"../up\"}", "'name'", "plain file name");
	expect_error("{\"name\": \"..\"}", "'name'", "plain file name");
	{
		char big[400];

		snprintf(big, sizeof(big), "{\"modparams\": \"%0300d\"}", 1);
		expect_error(big, "'modparams'", "longer than");
	}
	{
		char big[400];

		snprintf(big, sizeof(big), "{\"guest_cmdline\": \"%0201d\"}",
			 1);
		expect_error(big, "'guest_cmdline'", "longer than 200");
	}
	expect_error("{\"guest_cmdline\": \"a=\\\"b c\\\"\"}",
		     "'guest_cmdline'", "byte 3 is '\"'");
	expect_error("{\"guest_cmdline\": \"quiet\\tloud\"}",
		     "'guest_cmdline'", "byte 6 (0x09) is not printable");
	expect_error("{\"guest_cmdline\": \"x=1 bb.driver=stock\"}",
		     "'guest_cmdline'", "'bb.' is balloonbench's own");
	expect_error("{\"guest_cmdline\": \"rdinit=/bin/sh\"}",
		     "'guest_cmdline'", "'rdinit=' is balloonbench's own");
	expect_error("{\"guest_cmdline\": \"quiet console=tty0\"}",
		     "'guest_cmdline'", "'console=' is balloonbench's own");
	expect_error("{\"matrix\": {\"guest_cmdline\": [\"init_on_alloc=1\", "
		     "\"bb.probe=1\"]}}", "'guest_cmdline'", "balloonbench's own");
	expect_error("{\"scenario\": \"inflate\", \"memory\": \"128M\", "
		     "\"inflate\": \"1/1048576\"}", "'inflate'", "less than one page");
	/* each scenario with strategies takes its own */
	expect_error("{\"scenario\": \"migrate\", \"strategy\": \"mom\"}",
		     "'strategy'", "not a strategy of the migrate scenario");
	expect_error("{\"scenario\": \"overcommit\", \"host_memory\": "
		     "\"1G\", \"matrix\": {\"strategy\": [\"none\", "
		     "\"bitmap\"]}}", "'strategy'",
		     "not a strategy of the overcommit scenario");
	expect_error("{\"scenario\": \"migrate\", \"bandwidth\": 0}",
		     "'bandwidth'", "out of range");
	expect_error("{\"scenario\": \"migrate\", \"transport\": \"rdma\"}",
		     "'transport'", "not one of");
	expect_error("{\"scenario\": \"migrate\", \"guard\": \"3/4\"}",
		     "'guard'", "more than half");
	expect_error("{\"scenario\": \"inflate\", \"pre_workload\": "
		     "\"busy\"}", "'pre_workload'", "migrate scenario");
	expect_error("{\"scenario\": \"migrate\", \"vms\": 2}", "'vms'",
		     "not to 'migrate'");

}

static void test_connect(void **state)
{
	struct bb_config cfg;

	(void)state;
	assert_int_equal(load("{}", &cfg), 0);
	assert_string_equal(cfg.connect, "qemu:///system");
	assert_int_equal(load("{\"backend\": \"libvirt\", \"connect\": "
			      "\"qemu+ssh://a/system,qemu+ssh://b/system\"}",
			      &cfg), 0);
	/* an empty list only matters to the libvirt backend */
	assert_int_equal(load("{\"connect\": \"\"}", &cfg), 0);
	expect_error("{\"backend\": \"libvirt\", \"connect\": \" , \"}",
		     "'connect'", "no libvirt URI");
}

static void test_set(void **state)
{
	struct bb_config cfg;

	(void)state;
	cfg_defaults(&cfg);
	assert_int_equal(cfg_set(&cfg, "vms", "35", err, sizeof(err)), 0);
	assert_int_equal(cfg.vms, 35);
	assert_int_not_equal(cfg_set(&cfg, "nope", "1", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "unknown key 'nope'"));
	assert_int_not_equal(cfg_set(&cfg, "memory", "-5", err, sizeof(err)),
			     0);
	assert_non_null(strstr(err, "key 'memory'"));
}

/* Command-line overrides: both spellings, both forms, and the errors. */
static void test_apply_args(void **state)
{
	char *ok[] = { "--vms", "3", "--output-dir=/tmp/x", "--boot_timeout",
		       "5s", "--", "rest" };
	char *clash[] = { "--mode", "sg" };
	char *bad_key[] = { "--no-such-key", "1" };
	char *no_val[] = { "--vms" };
	char *stray[] = { "vms" };
	struct bb_config cfg;

	(void)state;
	cfg_defaults(&cfg);
	assert_int_equal(cfg_apply_args(&cfg, 7, ok, err, sizeof(err)), 6);
	assert_int_equal(cfg.vms, 3);
	assert_string_equal(cfg.output_dir, "/tmp/x");
	assert_int_equal(cfg.boot_timeout_ms, 5000);
	assert_int_equal(cfg_apply_args(&cfg, 2, bad_key, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unknown key 'no_such_key'"));
	assert_int_equal(cfg_apply_args(&cfg, 1, no_val, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(cfg_apply_args(&cfg, 1, stray, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unexpected argument 'vms'"));
	/* a key the matrix varies cannot also come from the command line */
	assert_int_equal(load("{\"scenario\": \"inflate\", \"matrix\": "
			      "{\"mode\": [\"stock\", \"chunk\"]}}", &cfg), 0);
	assert_int_equal(cfg_apply_args(&cfg, 2, clash, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "matrix varies it"));
}

static void test_missing_file(void **state)
{
	struct bb_config cfg;

	(void)state;
	assert_int_not_equal(cfg_load_file("/nonexistent/x.json", &cfg, err,
					   sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/x.json"));
	assert_non_null(strstr(err, "cannot open"));
}

/* Every scenario shipped in configs/ loads and validates. */
static void test_shipped_configs(void **state)
{
	struct bb_config cfg;
	glob_t g;
	size_t i;

	(void)state;
	assert_int_equal(glob("../../configs/*.json", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 5);
	for (i = 0; i < g.gl_pathc; i++)
		if (cfg_load_file(g.gl_pathv[i], &cfg, err, sizeof(err)))
			fail_msg("%s", err);
	globfree(&g);
}

static void test_every_default_parses(void **state)
{
	const struct cfg_option *o;
	struct bb_config cfg;

	(void)state;
	cfg_defaults(&cfg);
	for (o = cfg_options; o->name; o++)
		assert_int_equal(cfg_set(&cfg, o->name, o->def, err,
					 sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_guest_cmdline),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_apply_args),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_every_default_parses),
		cmocka_unit_test(test_shipped_configs),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
