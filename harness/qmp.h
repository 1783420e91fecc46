/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_QMP_H
#define BB_QMP_H

#include <jansson.h>

#include "jconn.h"

/*
 * Called for each asynchronous event (BALLOON_CHANGE, SHUTDOWN, ...), with
 * the time QEMU raised it (its "timestamp", wall-clock ms since the epoch;
 * NAN if absent): a rate-limited event arrives late but keeps that time.
 */
typedef void (*qmp_event_fn)(void *opaque, const char *event, json_t *data,
			     double raised_ms);

/* The "timestamp" of an event message as ms since the epoch, or NAN. */
double qmp_event_time_ms(json_t *msg);

struct qmp {
	struct jconn c;		/* the monitor socket */
	unsigned long next_id;	/* id of the next command */
	qmp_event_fn on_event;	/* event sink; may be NULL */
	void *opaque;		/* passed to on_event */
	char version[32];	/* QEMU version from the greeting */
};

void qmp_init(struct qmp *q, qmp_event_fn on_event, void *opaque);
/* Connect, read the greeting, negotiate capabilities. */
int qmp_connect(struct qmp *q, const char *path, int timeout_ms);
void qmp_close(struct qmp *q);

/*
 * Run one command and wait for the reply that carries its id; events that
 * arrive meanwhile go to on_event.  args is consumed (may be NULL).  On
 * success *ret (if ret) holds the "return" value, owned by the caller.  A
 * QMP error gives -EREMOTEIO with its description in err.
 */
int qmp_call(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
	     int timeout_ms, char *err, unsigned long len);

/* Read what the socket has and dispatch events: for the fleet poll loop. */
int qmp_pump(struct qmp *q);

/*
 * Dispatch buffered messages: events to on_event; the reply whose id is
 * want_id is returned through *reply (others are stale and dropped).
 */
void qmp_dispatch(struct qmp *q, unsigned long want_id, json_t **reply);

#endif
