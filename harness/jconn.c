// SPDX-License-Identifier: GPL-2.0
/* Newline-framed JSON over unix sockets, shared by qmp.c and agent.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "jconn.h"
#include "log.h"

/* Largest message we accept: query-balloon and guest-exec output fit. */
#define JCONN_MAX_MSG (16u << 20)
/* How long a peer may leave its socket full before a send gives up, ms. */
#define JCONN_SEND_TIMEOUT_MS 5000

/*
 * poll() one fd for events, in slices of at most BB_WAIT_SLICE_MS so that
 * a signal that lands between two checks is still seen promptly: 1 ready,
 * 0 after timeout_ms (once at least, when it is 0 or less), -EINTR once
 * bb_interrupted is set, -errno.
 */
static int jconn_poll(int fd, short events, int timeout_ms)
{
	double deadline = bb_now_ms() + timeout_ms, left;
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	for (;;) {
		if (bb_interrupted)
			return -EINTR;
		left = deadline - bb_now_ms();
		rc = poll(&p, 1, left <= 0 ? 0 : left >= BB_WAIT_SLICE_MS ?
			  BB_WAIT_SLICE_MS : (int)left + 1);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc == 0 && bb_now_ms() >= deadline)
			return 0;
	}
}

/* -errno of a failed socket call; a peer that went away is -EPIPE. */
static int jconn_errno(void)
{
	return errno == ECONNRESET || errno == EPIPE ? -EPIPE : -errno;
}

void jconn_init(struct jconn *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

int jconn_connect(struct jconn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *copy;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	/* copied first: path may be c->path, which jconn_close frees */
	copy = strdup(path);
	if (!copy) {
		close(fd);
		return -ENOMEM;
	}
	jconn_close(c);
	c->fd = fd;
	c->path = copy;
	return 0;
}

void jconn_close(struct jconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->path);
	c->fd = -1;
	c->buf = NULL;
	c->path = NULL;
	c->len = c->cap = 0;
}

int jconn_send(struct jconn *c, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;
	ssize_t n;
	int rc = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	text[len++] = '\n';	/* replaces the NUL; we send len bytes */
	while (off < len) {
		n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			rc = jconn_poll(c->fd, POLLOUT, JCONN_SEND_TIMEOUT_MS);
			if (rc <= 0) {
				rc = rc ? rc : -ETIMEDOUT;
				break;
			}
			rc = 0;
			continue;
		}
		if (n < 0) {
			rc = jconn_errno();
			break;
		}
		off += (size_t)n;
	}
	free(text);
	return rc;
}

int jconn_feed(struct jconn *c, const char *data, size_t len)
{
	size_t i;

	if (c->len + len > JCONN_MAX_MSG)
		return -EMSGSIZE;
	if (c->len + len + 1 > c->cap) {
		size_t cap = (c->len + len + 1) * 2;
		char *nb = realloc(c->buf, cap);

		if (!nb)
			return -ENOMEM;
		c->buf = nb;
		c->cap = cap;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)data[i] != 0xff)
			c->buf[c->len++] = data[i];
	return 0;
}

int jconn_fill(struct jconn *c)
{
	char tmp[65536];
	ssize_t n;
	int rc;

	if (c->fd < 0)
		return -EPIPE;
	n = read(c->fd, tmp, sizeof(tmp));
	if (n == 0)
		return -EPIPE;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (n < 0)
		return jconn_errno();
	rc = jconn_feed(c, tmp, (size_t)n);
	return rc ? rc : (int)n;
}

json_t *jconn_next(struct jconn *c)
{
	char *nl;
	size_t line;
	json_t *msg;
	json_error_t err;

	while (c->len && (nl = memchr(c->buf, '\n', c->len))) {
		line = (size_t)(nl - c->buf) + 1;
		msg = json_loadb(c->buf, line, 0, &err);
		memmove(c->buf, c->buf + line, c->len - line);
		c->len -= line;
		if (msg && json_is_object(msg))
			return msg;
		if (msg)
			json_decref(msg);
		else if (line > 2)
			bb_debug("%s: skipping unparsable line: %s",
				 c->path ? c->path : "?", err.text);
	}
	return NULL;
}

int jconn_wait(struct jconn *c, int timeout_ms)
{
	if (c->fd < 0)
		return -EPIPE;
	return jconn_poll(c->fd, POLLIN, timeout_ms);
}

int jconn_wait_id(struct jconn *c, unsigned long id, json_t **reply,
		  int timeout_ms, jconn_other_fn other, void *opaque)
{
	double deadline = bb_now_ms() + timeout_ms;
	json_t *msg, *mid;
	int rc;

	*reply = NULL;
	for (;;) {
		while ((msg = jconn_next(c))) {
			mid = json_object_get(msg, "id");
			if (!id || (json_is_integer(mid) &&
				    (unsigned long)json_integer_value(mid) == id)) {
				*reply = msg;
				return 0;
			}
			if (other)
				other(opaque, msg);
			json_decref(msg);
		}
		rc = jconn_wait(c, (int)(deadline - bb_now_ms()) + 1);
		if (rc < 0)
			return rc;
		if (bb_now_ms() > deadline)
			return -ETIMEDOUT;
		rc = jconn_fill(c);
		if (rc < 0 && rc != -EAGAIN)
			return rc;
	}
}

int jconn_call(struct jconn *c, const char *what, const char *cmd,
	       json_t *args, unsigned long id, json_t **ret, int timeout_ms,
	       jconn_other_fn other, void *opaque, char *err,
	       unsigned long len)
{
	json_t *msg, *reply = NULL, *e;
	int rc;

	msg = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	if (args)
		json_object_set_new(msg, "arguments", args);
	rc = jconn_send(c, msg);
	json_decref(msg);
	if (!rc)
		rc = jconn_wait_id(c, id, &reply, timeout_ms, other, opaque);
	if (rc) {
		snprintf(err, len, "%s %s: %s", what, cmd,
			 rc == -ETIMEDOUT ? "no reply in time" :
			 rc == -EPIPE ? "connection closed" :
			 rc == -EINTR ? "interrupted" : strerror(-rc));
		return rc;
	}
	e = json_object_get(reply, "error");
	if (e) {
		snprintf(err, len, "%s %s: %s", what, cmd,
			 json_string_value(json_object_get(e, "desc")) ?: "error");
		json_decref(reply);
		return -EREMOTEIO;
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	json_decref(reply);
	return 0;
}
