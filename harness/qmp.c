// SPDX-License-Identifier: GPL-2.0
/* QMP client: greeting, capabilities, id-matched commands, events. */
#include <errno.h>
#include <math.h>
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

double qmp_event_time_ms(json_t *msg)
{
	json_t *ts = json_object_get(msg, "timestamp");
	json_t *s = json_object_get(ts, "seconds");
	json_t *us = json_object_get(ts, "microseconds");

	if (!json_is_integer(s) || !json_is_integer(us) ||
	    json_integer_value(s) < 0)
		return NAN;
	return (double)json_integer_value(s) * 1000 +
	       (double)json_integer_value(us) / 1000;
}

/* A message that is not an awaited reply: events go to the sink. */
static void qmp_other(void *opaque, json_t *msg)
{
	struct qmp *q = opaque;
	const char *ev = json_string_value(json_object_get(msg, "event"));

	if (ev && q->on_event)
		q->on_event(q->opaque, ev, json_object_get(msg, "data"),
			    qmp_event_time_ms(msg));
}

void qmp_dispatch(struct qmp *q, unsigned long want_id, json_t **reply)
{
	json_t *msg, *id;

	while ((msg = jconn_next(&q->c))) {
		id = json_object_get(msg, "id");
		if (reply && !*reply && json_is_integer(id) &&
		    (unsigned long)json_integer_value(id) == want_id) {
			*reply = msg;
			continue;
		}
		qmp_other(q, msg);
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

int qmp_call(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
	     int timeout_ms, char *err, unsigned long len)
{
	return jconn_call(&q->c, "QMP", cmd, args, q->next_id++, ret,
			  timeout_ms, qmp_other, q, err, len);
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
	rc = jconn_wait_id(&q->c, 0, &msg, timeout_ms, NULL, NULL);
	if (rc)
		return rc;
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
