// SPDX-License-Identifier: GPL-2.0
/* qmp.c and jconn.c: framing, id matching, events, a fake QMP server. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "qmp.h"

struct seen {
	int balloon;		/* BALLOON_CHANGE events */
	long long actual;	/* last actual */
	int other;		/* other events */
	double raised_ms;	/* the last event's timestamp */
};

static void on_event(void *opaque, const char *event, json_t *data,
		     double raised_ms)
{
	struct seen *s = opaque;

	s->raised_ms = raised_ms;
	if (!strcmp(event, "BALLOON_CHANGE")) {
		s->balloon++;
		s->actual = json_integer_value(json_object_get(data, "actual"));
	} else {
		s->other++;
	}
}

static void feed(struct qmp *q, const char *text)
{
	assert_int_equal(jconn_feed(&q->c, text, strlen(text)), 0);
}

static void test_framing_and_ids(void **state)
{
	struct seen s = { 0 };
	struct qmp q;
	json_t *reply = NULL;

	(void)state;
	qmp_init(&q, on_event, &s);
	/* a stale reply, an event, half of the wanted reply */
	feed(&q, "{\"return\": {}, \"id\": 3}\r\n"
		 "{\"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 42}, "
		 "\"timestamp\": {\"seconds\": 1764600000, \"microseconds\": "
		 "250500}}\r\n"
		 "{\"return\": {\"x\": 1}, \"i");
	qmp_dispatch(&q, 4, &reply);
	assert_null(reply);
	assert_int_equal(s.balloon, 1);
	assert_int_equal(s.actual, 42);
	/* the time QEMU raised it, not when it arrived */
	assert_true(s.raised_ms == 1764600000250.5);
	feed(&q, "d\": 4}\r\n{\"event\": \"SHUTDOWN\"}\n");
	qmp_dispatch(&q, 4, &reply);
	assert_non_null(reply);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(reply, "return"), "x")), 1);
	assert_int_equal(s.other, 1);
	assert_true(isnan(s.raised_ms));	/* no timestamp: unknown */
	json_decref(reply);
	qmp_close(&q);
}

static void test_garbage_lines_skipped(void **state)
{
	struct seen s = { 0 };
	struct qmp q;
	json_t *reply = NULL;

	(void)state;
	qmp_init(&q, on_event, &s);
	feed(&q, "not json\n[1,2]\n{\"return\": 7, \"id\": 1}\n");
	qmp_dispatch(&q, 1, &reply);
	assert_non_null(reply);
	json_decref(reply);
	qmp_close(&q);
}

/* A fake QEMU: greeting, capabilities, then an event before each reply. */
static void fake_server(int lfd)
{
	char buf[4096];
	int fd = accept(lfd, NULL, NULL);
	const char *greet = "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, "
			    "\"minor\": 2, \"micro\": 9}}, \"capabilities\": []}}\r\n";
	ssize_t n;
	json_t *req;

	if (write(fd, greet, strlen(greet)) < 0)
		_exit(1);
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		char out[512];
		long long id;

		buf[n] = '\0';
		req = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
		id = json_integer_value(json_object_get(req, "id"));
		if (!strcmp(json_string_value(json_object_get(req, "execute")),
			    "fail"))
			snprintf(out, sizeof(out), "{\"error\": {\"class\": "
				 "\"GenericError\", \"desc\": \"nope\"}, "
				 "\"id\": %lld}\r\n", id);
		else
			snprintf(out, sizeof(out), "{\"event\": \"BALLOON_CHANGE\", "
				 "\"data\": {\"actual\": %lld}}\r\n{\"return\": "
				 "{\"id_seen\": %lld}, \"id\": %lld}\r\n", id, id, id);
		json_decref(req);
		if (write(fd, out, strlen(out)) < 0)
			_exit(1);
	}
	_exit(0);
}

static void test_fake_server(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct seen s = { 0 };
	struct qmp q;
	json_t *ret = NULL;
	char err[256];
	pid_t pid;
	int lfd, status;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/bb-test-qmp.%d",
		 getpid());
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(sa.sun_path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	pid = fork();
	if (pid == 0)
		fake_server(lfd);
	qmp_init(&q, on_event, &s);
	assert_int_equal(qmp_connect(&q, sa.sun_path, 5000), 0);
	assert_string_equal(q.version, "7.2.9");
	assert_int_equal(qmp_call(&q, "query-balloon", NULL, &ret, 5000, err,
				  sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(ret, "id_seen")),
			 q.next_id - 1);
	json_decref(ret);
	assert_true(s.balloon >= 1);
	assert_int_equal(qmp_call(&q, "fail", NULL, NULL, 5000, err,
				  sizeof(err)), -EREMOTEIO);
	assert_non_null(strstr(err, "nope"));
	qmp_close(&q);
	waitpid(pid, &status, 0);
	close(lfd);
	unlink(sa.sun_path);
}

static void test_connect_refused(void **state)
{
	struct qmp q;

	(void)state;
	qmp_init(&q, NULL, NULL);
	assert_true(qmp_connect(&q, "/tmp/bb-test-no-such.sock", 100) < 0);
	qmp_close(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_framing_and_ids),
		cmocka_unit_test(test_garbage_lines_skipped),
		cmocka_unit_test(test_fake_server),
		cmocka_unit_test(test_connect_refused),
	};
	return cmocka_run_group_tests_name("qmp", tests, NULL, NULL);
}
