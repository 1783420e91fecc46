// SPDX-License-Identifier: GPL-2.0
/* probe.c, probe_host.c: the table, host swap and pressure from fixtures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "probe.h"

static char root[] = "/tmp/bb-test-probe.XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void vmstat(long long in, long long out)
{
	char text[256];

	snprintf(text, sizeof(text), "nr_free_pages 1000\npswpin %lld\n"
		 "pswpout %lld\npgfault 7\n", in, out);
	put("/proc/vmstat", text);
}

static void pressure(long long some, long long full)
{
	char text[256];

	snprintf(text, sizeof(text), "some avg10=0.00 avg60=0.00 avg300=0.00 "
		 "total=%lld\nfull avg10=0.00 avg60=0.00 avg300=0.00 "
		 "total=%lld\n", some, full);
	put("/proc/pressure/memory", text);
}

static long long num(json_t *o, const char *k)
{
	assert_true(json_is_integer(json_object_get(o, k)));
	return json_integer_value(json_object_get(o, k));
}

static void test_vmstat_deltas(void **state)
{
	json_t *out = json_object();
	struct probe p;
	char err[256];

	(void)state;
	vmstat(100, 2000);
	assert_int_equal(probe_start(&p, "vmstat", NULL, NULL, NULL, err,
				     sizeof(err)), 0);
	vmstat(150, 2600);
	assert_int_equal(probe_sample(&p, out, err, sizeof(err)), 0);
	assert_int_equal(num(out, "host_pswpin_pages"), 50);
	assert_int_equal(num(out, "host_pswpout_pages"), 600);
	probe_stop(&p);
	/* a vmstat without swap counters is an error that says so */
	put("/proc/vmstat", "nr_free_pages 1000\n");
	assert_int_not_equal(probe_start(&p, "vmstat", NULL, NULL, NULL, err,
					 sizeof(err)), 0);
	assert_non_null(strstr(err, "pswpin"));
	json_decref(out);
}

static void test_psi_deltas(void **state)
{
	json_t *out = json_object();
	struct probe p;
	char err[256];

	(void)state;
	pressure(5000, 1000);
	assert_int_equal(probe_start(&p, "psi", NULL, NULL, NULL, err,
				     sizeof(err)), 0);
	pressure(9000, 1500);
	assert_int_equal(probe_sample(&p, out, err, sizeof(err)), 0);
	assert_int_equal(num(out, "psi_memory_some_us"), 4000);
	assert_int_equal(num(out, "psi_memory_full_us"), 500);
	probe_stop(&p);
	/* only "some" (an old kernel): refused, not half a figure */
	put("/proc/pressure/memory", "some avg10=0.00 total=5\n");
	assert_int_not_equal(probe_start(&p, "psi", NULL, NULL, NULL, err,
					 sizeof(err)), 0);
	json_decref(out);
}

static void test_table(void **state)
{
	const struct probe_ops *o;
	json_t *out;
	struct probe p;
	char err[256];
	unsigned int i;

	(void)state;
	for (i = 0; (o = probe_at(i)); i++) {
		assert_non_null(o->name);
		assert_non_null(o->sample);
	}
	assert_true(i >= 8);
	assert_int_equal(probe_start(&p, "warp", NULL, NULL, NULL, err,
				     sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "warp"));
	/* VM probes need a VM */
	assert_int_equal(probe_start(&p, "qemu", NULL, NULL, NULL, err,
				     sizeof(err)), -EINVAL);
	out = json_object();
	assert_int_equal(probe_sample(&p, out, err, sizeof(err)), -EINVAL);
	json_decref(out);
}

static void test_host_info(void **state)
{
	json_t *h;

	(void)state;
	put("/proc/cpuinfo", "processor : 0\nmodel name : Test CPU 9000\n");
	put("/sys/kernel/mm/transparent_hugepage/enabled",
	    "always [madvise] never\n");
	h = probe_host_info("tcg");
	assert_string_equal(json_string_value(json_object_get(h, "cpu_model")),
			    "Test CPU 9000");
	assert_string_equal(json_string_value(json_object_get(h,
			    "transparent_hugepage")), "madvise");
	assert_string_equal(json_string_value(json_object_get(h,
			    "accelerator")), "tcg");
	json_decref(h);
}

static int setup(void **state)
{
	char path[256];

	(void)state;
	if (!mkdtemp(root))
		return -1;
	snprintf(probe_proc_root, sizeof(probe_proc_root), "%s", root);
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/pressure", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/kernel", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/kernel/mm", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sys/kernel/mm/transparent_hugepage",
		 root);
	mkdir(path, 0755);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	probe_proc_root[0] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vmstat_deltas),
		cmocka_unit_test(test_psi_deltas),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_host_info),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
