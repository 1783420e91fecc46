// SPDX-License-Identifier: GPL-2.0
/* qemu-guest-agent client: sync, exec with captured output, file read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

/* How often exec status is polled: short, guest commands are quick. */
#define AGENT_POLL_MS 20
/* How often readiness is asked again through a transport. */
#define AGENT_TRANSPORT_RETRY_MS 100

void agent_init(struct agent *a)
{
	memset(a, 0, sizeof(*a));
	jconn_init(&a->c);
	/* Distinct ids per process so stale replies never match. */
	a->next_id = ((unsigned long)getpid() << 16) + 1;
}

int agent_open(struct agent *a, const char *path)
{
	a->synced = 0;
	a->first_sync = 0;
	return jconn_connect(&a->c, path);
}

void agent_close(struct agent *a)
{
	jconn_close(&a->c);
	a->synced = 0;
	a->transport = NULL;
	a->opaque = NULL;
}

void agent_set_transport(struct agent *a, agent_transport_fn fn,
			 void *opaque)
{
	a->transport = fn;
	a->opaque = opaque;
	a->synced = 0;
	a->sync_sent_ms = 0;
}

void agent_set_watch(struct agent *a, agent_watch_fn fn, void *opaque)
{
	a->watch = fn;
	a->watch_opaque = opaque;
}

/*
 * Readiness through a transport: a ping, at most every
 * AGENT_TRANSPORT_RETRY_MS.  The transport syncs by itself (libvirt sends
 * guest-sync before each command) and fails at once while the guest has not
 * opened its port, so a short timeout is enough.
 */
static int agent_poll_transport(struct agent *a)
{
	char err[256];

	if (a->synced)
		return 1;
	if (bb_now_ms() - a->sync_sent_ms < AGENT_TRANSPORT_RETRY_MS)
		return 0;
	a->sync_sent_ms = bb_now_ms();
	if (a->transport(a->opaque, "guest-ping", NULL, NULL, 1000, err,
			 sizeof(err)) == 0)
		a->synced = 1;
	else
		bb_debug("agent not ready yet: %s", err);
	return a->synced;
}

/* Consume buffered replies; note any answer to one of our syncs. */
static void agent_scan_sync(struct agent *a)
{
	json_t *msg, *ret;

	while ((msg = jconn_next(&a->c))) {
		ret = json_object_get(msg, "return");
		if (a->first_sync && json_is_integer(ret) &&
		    (unsigned long)json_integer_value(ret) >= a->first_sync &&
		    (unsigned long)json_integer_value(ret) < a->next_id)
			a->synced = 1;
		json_decref(msg);
	}
}

int agent_poll_sync(struct agent *a)
{
	json_t *msg;
	int rc;

	if (a->transport)
		return agent_poll_transport(a);

	while ((rc = jconn_fill(&a->c)) > 0)
		;
	if (rc != -EAGAIN)
		return rc;
	agent_scan_sync(a);
	if (a->synced)
		return 1;
	if (bb_now_ms() - a->sync_sent_ms < 1000)
		return 0;
	msg = json_pack("{s:s, s:{s:I}}", "execute", "guest-sync-delimited",
			"arguments", "id", (json_int_t)a->next_id);
	if (!a->first_sync)
		a->first_sync = a->next_id;
	a->next_id++;
	rc = jconn_send(&a->c, msg);
	json_decref(msg);
	a->sync_sent_ms = bb_now_ms();
	return rc;
}

int agent_sync(struct agent *a, int timeout_ms)
{
	double deadline = bb_now_ms() + timeout_ms;
	int rc;

	a->synced = 0;
	a->first_sync = 0;
	a->sync_sent_ms = 0;
	while ((rc = agent_poll_sync(a)) == 0) {
		if (bb_interrupted)
			return -EINTR;
		if (bb_now_ms() > deadline)
			return -ETIMEDOUT;
		if (a->transport) {
			usleep(AGENT_TRANSPORT_RETRY_MS * 1000);
			continue;
		}
		rc = jconn_wait(&a->c, 100);
		if (rc < 0)
			return rc;
	}
	return rc < 0 ? rc : 0;
}

int agent_call(struct agent *a, const char *cmd, json_t *args, json_t **ret,
	       int timeout_ms, char *err, unsigned long len)
{
	int rc;

	/* On the socket, replies without our id (earlier syncs) are dropped. */
	if (a->transport)
		rc = a->transport(a->opaque, cmd, args, ret, timeout_ms, err,
				  len);
	else
		rc = jconn_call(&a->c, "guest agent", cmd, args, a->next_id++,
				ret, timeout_ms, NULL, NULL, err, len);
	/* a closed socket or a silent agent: often the VM is gone */
	if (rc && a->watch)
		rc = a->watch(a->watch_opaque, rc, err, len);
	return rc;
}

static int b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

char *agent_b64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in), o = 0, i;
	unsigned acc = 0;
	int bits = 0, v, pad = 0;
	char *out;

	if (n % 4)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (in[i] == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		v = b64_value((unsigned char)in[i]);
		if (v < 0 || pad) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)(acc >> bits & 0xff);
		}
	}
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

static char *agent_b64_field(json_t *ret, const char *key)
{
	const char *s = json_string_value(json_object_get(ret, key));

	return agent_b64_decode(s ? s : "", NULL);
}

int agent_parse_status(json_t *ret, struct agent_result *res)
{
	if (!json_is_true(json_object_get(ret, "exited")))
		return 0;
	res->exitcode = json_is_integer(json_object_get(ret, "exitcode")) ?
		(int)json_integer_value(json_object_get(ret, "exitcode")) : -1;
	res->signal = (int)json_integer_value(json_object_get(ret, "signal"));
	res->out = agent_b64_field(ret, "out-data");
	res->errout = agent_b64_field(ret, "err-data");
	if (!res->out)
		res->out = strdup("");
	if (!res->errout)
		res->errout = strdup("");
	return 1;
}

void agent_result_free(struct agent_result *res)
{
	free(res->out);
	free(res->errout);
	res->out = res->errout = NULL;
}

/* Name the guest command in the error of an agent call made for it. */
static int agent_exec_failed(int rc, const char *cmd, char *err,
			     unsigned long len)
{
	char why[1024];

	if (rc == -EINTR)
		snprintf(why, sizeof(why), "interrupted");
	else
		snprintf(why, sizeof(why), "%s", err);
	snprintf(err, len, "guest command '%s': %s", cmd, why);
	return rc;
}

int agent_exec_start(struct agent *a, const char *cmd, int capture,
		     long long *pid, int timeout_ms, char *err,
		     unsigned long len)
{
	json_t *ret = NULL, *args;
	int rc;

	args = json_pack("{s:s, s:[s,s], s:b}", "path", "/bin/sh", "arg", "-c",
			 cmd, "capture-output", capture);
	rc = agent_call(a, "guest-exec", args, &ret, timeout_ms, err, len);
	if (rc)
		return agent_exec_failed(rc, cmd, err, len);
	*pid = json_integer_value(json_object_get(ret, "pid"));
	json_decref(ret);
	return 0;
}

int agent_exec_status(struct agent *a, long long pid, struct agent_result *res,
		      int timeout_ms, char *err, unsigned long len)
{
	json_t *ret = NULL;
	int rc, done;

	memset(res, 0, sizeof(*res));
	rc = agent_call(a, "guest-exec-status",
			json_pack("{s:I}", "pid", (json_int_t)pid), &ret,
			timeout_ms, err, len);
	if (rc)
		return rc;
	done = agent_parse_status(ret, res);
	json_decref(ret);
	return done;
}

int agent_exec(struct agent *a, const char *cmd, int timeout_ms,
	       struct agent_result *res, char *err, unsigned long len)
{
	double deadline = bb_now_ms() + timeout_ms;
	long long pid;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = agent_exec_start(a, cmd, 1, &pid, timeout_ms, err, len);
	if (rc)
		return rc;
	for (;;) {
		if (bb_interrupted)
			return agent_exec_failed(-EINTR, cmd, err, len);
		if (bb_now_ms() > deadline) {
			snprintf(err, len, "guest command timed out after %d ms: "
				 "%s", timeout_ms, cmd);
			return -ETIMEDOUT;
		}
		rc = agent_exec_status(a, pid, res,
				       (int)(deadline - bb_now_ms()) + 1, err,
				       len);
		if (rc < 0)
			return agent_exec_failed(rc, cmd, err, len);
		if (rc)
			return 0;
		usleep(AGENT_POLL_MS * 1000);
	}
}

int agent_exec_json(struct agent *a, const char *cmd, int timeout_ms,
		    json_t **obj, char *err, unsigned long len)
{
	struct agent_result res;
	json_error_t jerr;
	int rc;

	*obj = NULL;
	rc = agent_exec(a, cmd, timeout_ms, &res, err, len);
	if (rc)
		return rc;
	if (res.exitcode != 0) {
		snprintf(err, len, "guest command '%s' exited with %d: %.200s",
			 cmd, res.exitcode, res.errout);
		rc = -EIO;
	} else {
		*obj = json_loads(res.out, JSON_DISABLE_EOF_CHECK, &jerr);
		if (!json_is_object(*obj)) {
			json_decref(*obj);
			*obj = NULL;
			snprintf(err, len, "guest command '%s' printed no JSON "
				 "object: %.200s", cmd, res.out);
			rc = -EPROTO;
		}
	}
	agent_result_free(&res);
	return rc;
}

int agent_read_file(struct agent *a, const char *path, char **data,
		    int timeout_ms, char *err, unsigned long len)
{
	struct agent_result res;
	char cmd[512];
	int rc;

	/* cat through exec: debugfs files report size 0 to guest-file-read */
	snprintf(cmd, sizeof(cmd), "cat '%s'", path);
	rc = agent_exec(a, cmd, timeout_ms, &res, err, len);
	if (rc)
		return rc;
	if (res.exitcode != 0) {
		snprintf(err, len, "cannot read guest file %s: %.200s", path,
			 res.errout);
		agent_result_free(&res);
		return -ENOENT;
	}
	*data = res.out;
	free(res.errout);
	return 0;
}
