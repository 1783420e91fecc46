// SPDX-License-Identifier: GPL-2.0
/* QMP client: greeting, capabilities, id-matched commands, events. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "qmp.h"

void qmp_init(struct qmp *q, qmp_event_fn on_event, void *opaque)
{
	memset(q, 0, sizeof(*q));
	jconn_init(&q->c);
	q->next_id = 1;
	q->on_event = on_event;
	q->opaque = opaque;
}

void qmp_close(struct qmp *q)
{
	jconn_close(&q->c);
}

void qmp_dispatch(struct qmp *q, unsigned long want_id, json_t **reply)
{
	json_t *msg, *id;
	const char *ev;

	while ((msg = jconn_next(&q->c))) {
		ev = json_string_value(json_object_get(msg, "event"));
		id = json_object_get(msg, "id");
		if (ev) {
			if (q->on_event)
				q->on_event(q->opaque, ev,
					    json_object_get(msg, "data"));
		} else if (reply && !*reply && json_is_integer(id) &&
			   (unsigned long)json_integer_value(id) == want_id) {
			*reply = msg;
			continue;
		}
		json_decref(msg);
	}
}

int qmp_pump(struct qmp *q)
{
	int rc;

	while ((rc = jconn_fill(&q->c)) > 0)
		;
	qmp_dispatch(q, 0, NULL);
	return rc == -EAGAIN ? 0 : rc;
}

/* Wait for the reply with id, dispatching events; -ETIMEDOUT, -EPIPE. */
static int qmp_wait_reply(struct qmp *q, unsigned long id, json_t **reply,
			  int timeout_ms)
{
	double deadline = bb_now_ms() + timeout_ms;
	int rc;

	*reply = NULL;
	for (;;) {
		qmp_dispatch(q, id, reply);
		if (*reply)
			return 0;
		rc = jconn_wait(&q->c, (int)(deadline - bb_now_ms()) + 1);
		if (rc < 0)
			return rc;
		if (bb_now_ms() > deadline)
			return -ETIMEDOUT;
		rc = jconn_fill(&q->c);
		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
}

int qmp_call(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
	     int timeout_ms, char *err, unsigned long len)
{
	unsigned long id = q->next_id++;
	json_t *msg, *reply = NULL, *e;
	int rc;

	msg = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	if (args)
		json_object_set_new(msg, "arguments", args);
	rc = jconn_send(&q->c, msg);
	json_decref(msg);
	if (!rc)
		rc = qmp_wait_reply(q, id, &reply, timeout_ms);
	if (rc) {
		snprintf(err, len, "QMP %s: %s", cmd,
			 rc == -ETIMEDOUT ? "no reply in time" :
			 rc == -EPIPE ? "QEMU closed the monitor" :
			 strerror(-rc));
		return rc;
	}
	e = json_object_get(reply, "error");
	if (e) {
		snprintf(err, len, "QMP %s: %s", cmd,
			 json_string_value(json_object_get(e, "desc")) ?: "error");
		json_decref(reply);
		return -EREMOTEIO;
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	json_decref(reply);
	return 0;
}

int qmp_connect(struct qmp *q, const char *path, int timeout_ms)
{
	double deadline = bb_now_ms() + timeout_ms;
	json_t *msg = NULL, *v;
	char err[256];
	int rc;

	rc = jconn_connect(&q->c, path);
	if (rc)
		return rc;
	while (!(msg = jconn_next(&q->c))) {
		rc = jconn_wait(&q->c, (int)(deadline - bb_now_ms()) + 1);
		if (rc < 0)
			return rc;
		if (bb_now_ms() > deadline)
			return -ETIMEDOUT;
		rc = jconn_fill(&q->c);
		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
	v = json_object_get(json_object_get(msg, "QMP"), "version");
	v = json_object_get(v, "qemu");
	snprintf(q->version, sizeof(q->version), "%lld.%lld.%lld",
		 (long long)json_integer_value(json_object_get(v, "major")),
		 (long long)json_integer_value(json_object_get(v, "minor")),
		 (long long)json_integer_value(json_object_get(v, "micro")));
	json_decref(msg);
	rc = qmp_call(q, "qmp_capabilities", NULL, NULL,
		      (int)(deadline - bb_now_ms()) + 1, err, sizeof(err));
	if (rc)
		bb_debug("%s: %s", path, err);
	return rc;
}
