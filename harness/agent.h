/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_AGENT_H
#define BB_AGENT_H

#include <jansson.h>
#include <stddef.h>

#include "jconn.h"

/*
 * Another carrier for agent commands than the socket, for backends where
 * someone else holds the channel (libvirt does).  The contract of
 * agent_call: args consumed, *ret the "return" value.
 */
typedef int (*agent_transport_fn)(void *opaque, const char *cmd, json_t *args,
				  json_t **ret, int timeout_ms, char *err,
				  unsigned long len);

/*
 * Asked after a command failed with rc: did the machine behind the agent
 * die?  Returns rc, or -ECHILD with err rewritten to say so.
 */
typedef int (*agent_watch_fn)(void *opaque, int rc, char *err,
			      unsigned long len);

/* A qemu-guest-agent connection over the VM's virtio-serial socket. */
struct agent {
	struct jconn c;		/* the chardev socket */
	unsigned long next_id;	/* id of the next command or sync */
	unsigned long first_sync; /* first sync id sent on this connection */
	double sync_sent_ms;	/* when the last sync went out, ms */
	int synced;		/* the agent answered a sync */
	agent_transport_fn transport; /* when set, used instead of c */
	void *opaque;		/* passed to transport */
	agent_watch_fn watch;	/* when set, asked about every failure */
	void *watch_opaque;	/* passed to watch */
};

/* What a guest command did. */
struct agent_result {
	int exitcode;		/* exit status, or -1 when killed */
	int signal;		/* terminating signal, 0 if none */
	char *out;		/* stdout, NUL-terminated, malloc'd */
	char *errout;		/* stderr, NUL-terminated, malloc'd */
};

void agent_init(struct agent *a);
int agent_open(struct agent *a, const char *path);
void agent_close(struct agent *a);
/* Carry commands through fn instead of a socket, until agent_close. */
void agent_set_transport(struct agent *a, agent_transport_fn fn,
			 void *opaque);
/* Ask fn whether the VM died whenever a command fails; kept by close. */
void agent_set_watch(struct agent *a, agent_watch_fn fn, void *opaque);

/*
 * Non-blocking readiness step for the fleet loop: (re)send a sync every
 * second and check for its answer.  1 when the agent answered, 0 not yet.
 */
int agent_poll_sync(struct agent *a);
/* Blocking sync with a timeout: 0, -ETIMEDOUT, -EPIPE. */
int agent_sync(struct agent *a, int timeout_ms);

int agent_call(struct agent *a, const char *cmd, json_t *args, json_t **ret,
	       int timeout_ms, char *err, unsigned long len);

/*
 * Run "/bin/sh -c CMD" in the guest, capture output and status.  Fails with
 * -ETIMEDOUT, -EINTR when interrupted, -ECHILD when the VM died (through
 * the watch), or the error of the agent command that failed.
 */
int agent_exec(struct agent *a, const char *cmd, int timeout_ms,
	       struct agent_result *res, char *err, unsigned long len);
void agent_result_free(struct agent_result *res);

/*
 * The same in two steps, for many guests at once: start "/bin/sh -c CMD"
 * (capture: keep its output for agent_exec_status), then ask whether it
 * ended: 1 with res filled, 0 still running, or -errno.
 */
int agent_exec_start(struct agent *a, const char *cmd, int capture,
		     long long *pid, int timeout_ms, char *err,
		     unsigned long len);
int agent_exec_status(struct agent *a, long long pid, struct agent_result *res,
		      int timeout_ms, char *err, unsigned long len);

/* Read a whole guest file (e.g. the driver's debugfs stats). */
int agent_read_file(struct agent *a, const char *path, char **data,
		    int timeout_ms, char *err, unsigned long len);

/*
 * Run CMD, require exit 0 and one JSON object on stdout: *obj, owned by the
 * caller.  Fails as agent_exec, or -EIO (CMD failed), -EPROTO (no object).
 */
int agent_exec_json(struct agent *a, const char *cmd, int timeout_ms,
		    json_t **obj, char *err, unsigned long len);

/* Pure helpers, unit-tested. */
/* Decode base64 into a new NUL-terminated buffer; NULL if malformed. */
char *agent_b64_decode(const char *in, size_t *outlen);
/* Fill res from a guest-exec-status return value; 1 exited, 0 running. */
int agent_parse_status(json_t *ret, struct agent_result *res);

#endif
