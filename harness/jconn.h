/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_JCONN_H
#define BB_JCONN_H

#include <jansson.h>
#include <stddef.h>

/*
 * A unix-socket connection that carries newline-separated JSON objects, as
 * QMP and the guest agent both do.  Input is buffered until a full line is
 * there; 0xFF bytes (the agent's resynchronisation marker) are dropped.
 */
struct jconn {
	int fd;			/* socket, non-blocking; -1 when closed */
	char *buf;		/* received bytes not yet parsed */
	size_t len;		/* bytes in buf */
	size_t cap;		/* allocated size of buf */
	char *path;		/* socket path, for messages; our own copy */
};

void jconn_init(struct jconn *c);
/* Connect to a unix socket; -errno on failure (ENOENT, ECONNREFUSED...). */
int jconn_connect(struct jconn *c, const char *path);
void jconn_close(struct jconn *c);
/* Send one object followed by a newline; -errno on failure. */
int jconn_send(struct jconn *c, json_t *msg);
/* Read what is available: >0 bytes, -EAGAIN nothing, -EPIPE on EOF/reset. */
int jconn_fill(struct jconn *c);
/* Append raw bytes (tests feed the parser this way). */
int jconn_feed(struct jconn *c, const char *data, size_t len);
/* Next complete message or NULL; lines that are not JSON are skipped. */
json_t *jconn_next(struct jconn *c);
/*
 * Wait up to timeout_ms for the fd to be readable: 1, 0 on timeout, -EINTR
 * as soon as bb_interrupted is set (checked every BB_WAIT_SLICE_MS), -errno.
 */
int jconn_wait(struct jconn *c, int timeout_ms);

/* Called with each message that is not the one waited for (events). */
typedef void (*jconn_other_fn)(void *opaque, json_t *msg);

/*
 * Wait up to timeout_ms for the message whose "id" is id (any message when
 * id is 0); others go to other, or are dropped.  -ETIMEDOUT, -EPIPE,
 * -EINTR (interrupted by a signal).
 */
int jconn_wait_id(struct jconn *c, unsigned long id, json_t **reply,
		  int timeout_ms, jconn_other_fn other, void *opaque);

/*
 * Send {"execute": cmd, "id": id, "arguments": args} (args consumed, may be
 * NULL) and wait for its reply: *ret gets "return" (caller owns it); an
 * "error" gives -EREMOTEIO.  err says what failed, prefixed with what.
 */
int jconn_call(struct jconn *c, const char *what, const char *cmd,
	       json_t *args, unsigned long id, json_t **ret, int timeout_ms,
	       jconn_other_fn other, void *opaque, char *err,
	       unsigned long len);

#endif
