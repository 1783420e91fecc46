// SPDX-License-Identifier: GPL-2.0
/* units.c: sizes with units, fractions, durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "units.h"

static void test_sizes(void **state)
{
	struct bb_size s;
	const char *why;

	(void)state;
	assert_int_equal(unit_parse_size("512M", 0, &s, &why), 0);
	assert_int_equal(s.bytes, 512ULL << 20);
	assert_int_equal(unit_parse_size("1G", 0, &s, &why), 0);
	assert_int_equal(s.bytes, 1ULL << 30);
	assert_int_equal(unit_parse_size("1.5GiB", 0, &s, &why), 0);
	assert_int_equal(s.bytes, 3ULL << 29);
	assert_int_equal(unit_parse_size("4096", 0, &s, &why), 0);
	assert_int_equal(s.bytes, 4096);
	assert_int_equal(unit_parse_size("64kb", 0, &s, &why), 0);
	assert_int_equal(s.bytes, 65536);
}

static void test_size_errors(void **state)
{
	struct bb_size s;
	const char *why = NULL;

	(void)state;
	assert_int_not_equal(unit_parse_size("-1G", 0, &s, &why), 0);
	assert_string_equal(why, "size must not be negative");
	assert_int_not_equal(unit_parse_size("12Q", 0, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("", 0, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("G", 0, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("0.3", 0, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("7/8", 0, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("50%", 0, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("99999999T", 0, &s, &why), 0);
}

static void test_fractions(void **state)
{
	struct bb_size s;
	const char *why;

	(void)state;
	assert_int_equal(unit_parse_size("7/8", 1, &s, &why), 0);
	assert_int_equal(unit_size_bytes(&s, 8ULL << 30), 7ULL << 30);
	assert_int_equal(unit_parse_size("50%", 1, &s, &why), 0);
	assert_int_equal(unit_size_bytes(&s, 2ULL << 30), 1ULL << 30);
	assert_int_equal(unit_parse_size("1/3", 1, &s, &why), 0);
	assert_int_equal(unit_size_bytes(&s, 3000), 1000);
	assert_int_not_equal(unit_parse_size("9/8", 1, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("1/0", 1, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("0/8", 1, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("a/8", 1, &s, &why), 0);
	assert_int_not_equal(unit_parse_size("150%", 1, &s, &why), 0);
	assert_int_equal(unit_parse_size("1G", 1, &s, &why), 0);
	assert_int_equal(unit_size_bytes(&s, 8ULL << 30), 1ULL << 30);
}

static void test_durations(void **state)
{
	uint64_t ms;
	const char *why;

	(void)state;
	assert_int_equal(unit_parse_duration_ms("30", &ms, &why), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(unit_parse_duration_ms("500ms", &ms, &why), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(unit_parse_duration_ms("2m", &ms, &why), 0);
	assert_int_equal(ms, 120000);
	assert_int_not_equal(unit_parse_duration_ms("-1s", &ms, &why), 0);
	assert_int_not_equal(unit_parse_duration_ms("3h", &ms, &why), 0);
}

static void test_format(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(unit_fmt_size(512ULL << 20, buf, sizeof(buf)),
			    "512M");
	assert_string_equal(unit_fmt_size(3ULL << 29, buf, sizeof(buf)),
			    "1.50G");
	assert_string_equal(unit_fmt_size(100, buf, sizeof(buf)), "100B");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_size_errors),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
