// SPDX-License-Identifier: GPL-2.0
/* agent.c: base64, exec status parsing, resync marker, transports. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"

static void test_b64(void **state)
{
	size_t n;
	char *s;

	(void)state;
	s = agent_b64_decode("aGVsbG8K", &n);
	assert_string_equal(s, "hello\n");
	assert_int_equal(n, 6);
	free(s);
	s = agent_b64_decode("YQ==", &n);
	assert_string_equal(s, "a");
	free(s);
	s = agent_b64_decode("", &n);
	assert_string_equal(s, "");
	free(s);
	assert_null(agent_b64_decode("abc", &n));
	assert_null(agent_b64_decode("a=bc", &n));
	assert_null(agent_b64_decode("ab!c", &n));
}

static void test_status(void **state)
{
	struct agent_result r = { 0 };
	json_t *ret;

	(void)state;
	ret = json_pack("{s:b}", "exited", 0);
	assert_int_equal(agent_parse_status(ret, &r), 0);
	json_decref(ret);
	ret = json_pack("{s:b, s:i, s:s, s:s}", "exited", 1, "exitcode", 3,
			"out-data", "eyJhIjogMX0K", "err-data", "b29wcw==");
	assert_int_equal(agent_parse_status(ret, &r), 1);
	assert_int_equal(r.exitcode, 3);
	assert_string_equal(r.out, "{\"a\": 1}\n");
	assert_string_equal(r.errout, "oops");
	agent_result_free(&r);
	json_decref(ret);
	/* killed by a signal: no exit code, no output */
	ret = json_pack("{s:b, s:i}", "exited", 1, "signal", 9);
	assert_int_equal(agent_parse_status(ret, &r), 1);
	assert_int_equal(r.exitcode, -1);
	assert_int_equal(r.signal, 9);
	assert_string_equal(r.out, "");
	agent_result_free(&r);
	json_decref(ret);
}

static void test_resync_marker(void **state)
{
	struct jconn c;
	json_t *m;
	const char data[] = "{\"retu\xff{\"return\": 17}\n";

	(void)state;
	jconn_init(&c);
	/* junk, then the 0xFF marker, then the sync reply */
	assert_int_equal(jconn_feed(&c, data, sizeof(data) - 1), 0);
	m = jconn_next(&c);
	/* the partial object before the marker makes the line unparsable */
	assert_null(m);
	assert_int_equal(jconn_feed(&c, "\xff{\"return\": 18}\n", 16), 0);
	m = jconn_next(&c);
	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(m, "return")), 18);
	json_decref(m);
	jconn_close(&c);
}

/* A fake transport: the agent is "not connected" for the first ping. */
static int fake_calls;

static int fake_transport(void *opaque, const char *cmd, json_t *args,
			  json_t **ret, int timeout_ms, char *err,
			  unsigned long len)
{
	int *pings = opaque;

	(void)timeout_ms;
	fake_calls++;
	json_decref(args);
	if (!strcmp(cmd, "guest-ping") && (*pings)++ == 0) {
		snprintf(err, len, "guest agent %s: not connected", cmd);
		return -ETIMEDOUT;
	}
	if (!ret)
		return 0;
	if (!strcmp(cmd, "guest-exec"))
		*ret = json_pack("{s:i}", "pid", 77);
	else if (!strcmp(cmd, "guest-exec-status"))
		*ret = json_pack("{s:b, s:i, s:s}", "exited", 1, "exitcode", 0,
				 "out-data", "aGk=");
	else
		*ret = json_object();
	return 0;
}

static void test_transport(void **state)
{
	struct agent_result res;
	struct agent a;
	char err[256];
	int pings = 0;

	(void)state;
	agent_init(&a);
	agent_set_transport(&a, fake_transport, &pings);
	/* readiness: the first ping fails, the next is not sent at once */
	assert_int_equal(agent_poll_sync(&a), 0);
	assert_int_equal(agent_poll_sync(&a), 0);
	assert_int_equal(fake_calls, 1);
	usleep(150 * 1000);
	assert_int_equal(agent_poll_sync(&a), 1);
	assert_int_equal(fake_calls, 2);
	/* commands go through the transport, no socket involved */
	assert_int_equal(agent_exec(&a, "echo hi", 1000, &res, err,
				    sizeof(err)), 0);
	assert_int_equal(res.exitcode, 0);
	assert_string_equal(res.out, "hi");
	agent_result_free(&res);
	assert_int_equal(fake_calls, 4);
	agent_close(&a);
	assert_null(a.transport);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_resync_marker),
		cmocka_unit_test(test_transport),
	};
	return cmocka_run_group_tests_name("agent", tests, NULL, NULL);
}
