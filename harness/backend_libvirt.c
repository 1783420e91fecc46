// SPDX-License-Identifier: GPL-2.0
/*
 * The libvirt backend: each VM is a transient domain, bb-<pid>-<fleet>-vmNN,
 * on one of the `connect` URIs, started with VIR_DOMAIN_START_AUTODESTROY
 * so that libvirt destroys it when our connection closes, even if we are
 * killed.
 *
 * libvirt holds the monitor and the guest agent channel, so monitor commands
 * go through virDomainQemuMonitorCommand and agent commands through
 * virDomainQemuAgentCommand (an agent transport, see agent.h).  The balloon
 * is libvirt's default memballoon, alias balloon0: the same QOM path as the
 * QEMU backend's.  Its extra properties go through <qemu:override>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "log.h"
#include "vm.h"

/* Where qemu:///system keeps each domain's QEMU log and pid file. */
#define LV_LOG_DIR "/var/log/libvirt/qemu"
#define LV_RUN_DIR "/run/libvirt/qemu"
/* Distinct URIs one run may spread its fleet over. */
#define LV_MAX_CONNS 32

/* One connection per URI, shared by the VMs on it. */
struct lv_conn {
	char uri[256];		/* as configured */
	virConnectPtr conn;	/* NULL when the slot is free */
	int refs;		/* VMs using it */
};

/* What the backend keeps per VM (vm->priv). */
struct lv_vm {
	struct lv_conn *c;	/* its connection */
	virDomainPtr dom;	/* NULL once the domain is gone */
	char name[64];		/* domain name, bb-<pid>-<fleet>-vmNN */
	int local;		/* on this host: pid and logs are readable */
	int started;		/* the domain was created: libvirt logged it */
	int event_cb;		/* monitor event callback id, or -1 */
	unsigned event_slot;	/* its lv_watch[] slot + 1, or 0 */
};

static struct lv_conn lv_conns[LV_MAX_CONNS];

/* libvirt prints every error to stderr by default; ours carry them. */
static void lv_quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static const char *lv_last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && *m ? m : "unknown libvirt error";
}

/*
 * libvirt delivers domain events only to a client that runs an event loop,
 * registered before its first connection, and with a loop registered the
 * daemon also starts keepalive on the connection: a client that does not
 * answer its pings for about 30 s (libvirtd's keepalive_interval and
 * keepalive_count) is dropped, and with it every AUTODESTROY domain.  So
 * libvirt's default loop runs all the time, in a thread of its own that
 * does nothing else.  Its callbacks only queue what QEMU sent (a token for
 * the VM, the stamp, the data) and wake the main thread through a pipe;
 * lv_poll_events hands the queue to the VMs' event sinks on the main
 * thread, so no VM is ever touched from the loop thread.
 */
#define LV_EVENT_QUEUE 256

struct lv_event {
	unsigned token;		/* lv_watch[] slot + 1 of the VM */
	double raised_ms;	/* QEMU's stamp, epoch ms, or NAN */
	char *details;		/* the event's JSON data, malloc'd, or NULL */
};

static struct {
	pthread_mutex_t lock;
	struct lv_event q[LV_EVENT_QUEUE];
	unsigned n;		/* queued */
	unsigned dropped;	/* lost to a full queue */
	int pipe[2];		/* loop thread -> main thread wake-up */
	int ok;			/* loop and thread running */
} lv_ev = { .lock = PTHREAD_MUTEX_INITIALIZER, .pipe = { -1, -1 } };

/* Which VM a token names; main thread only.  NULL once unwatched. */
static struct vm **lv_watch;
static unsigned lv_watch_n;

static void *lv_loop_thread(void *arg)
{
	(void)arg;
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

static void lv_event_loop_init(void)
{
	static int done;
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (done++)
		return;
	/* the pipe first: a loop registered that nobody runs is worse than
	 * none (keepalive) */
	if (pipe2(lv_ev.pipe, O_CLOEXEC | O_NONBLOCK)) {
		bb_warn("libvirt: event pipe: %s: balloon waits will poll",
			strerror(errno));
		return;
	}
	if (virEventRegisterDefaultImpl() < 0) {
		bb_warn("libvirt: no event loop (%s): balloon waits will "
			"poll", lv_last_error());
		return;
	}
	/* Signals stay with the main thread, whose waits look for them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, lv_loop_thread, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		/* the loop is registered but nobody runs it: keepalive
		 * would drop the connection, so this is fatal for events
		 * and the connection alike; say so plainly */
		bb_warn("libvirt: cannot start the event loop thread: %s",
			strerror(rc));
		return;
	}
	lv_ev.ok = 1;
}

static struct lv_conn *lv_conn_get(const char *uri, char *err,
				   unsigned long len)
{
	struct lv_conn *c, *free_slot = NULL;

	for (c = lv_conns; c < lv_conns + LV_MAX_CONNS; c++) {
		if (c->conn && !strcmp(c->uri, uri)) {
			c->refs++;
			return c;
		}
		if (!c->conn && !free_slot)
			free_slot = c;
	}
	if (!free_slot) {
		snprintf(err, len, "libvirt: more than %d URIs", LV_MAX_CONNS);
		return NULL;
	}
	virInitialize();
	virSetErrorFunc(NULL, lv_quiet);
	lv_event_loop_init();
	free_slot->conn = virConnectOpen(uri);
	if (!free_slot->conn) {
		snprintf(err, len, "libvirt: cannot connect to %s: %s (is "
			 "libvirtd running there? scripts/libvirtd-up.sh "
			 "starts a local one)", uri, lv_last_error());
		return NULL;
	}
	snprintf(free_slot->uri, sizeof(free_slot->uri), "%s", uri);
	free_slot->refs = 1;
	return free_slot;
}

static void lv_conn_put(struct lv_conn *c)
{
	if (!c || --c->refs > 0)
		return;
	/* closing it also destroys any domain of ours still running */
	virConnectClose(c->conn);
	c->conn = NULL;
	c->uri[0] = '\0';
}

/*
 * Where the serial console goes.  Locally, the VM's run directory, where
 * vm_report_death reads it.  On another host that directory does not
 * exist: libvirt's own log directory there.
 */
static void lv_serial_path(const struct vm *vm, const struct lv_vm *v,
			   char *buf, unsigned long len)
{
	if (v->local)
		snprintf(buf, len, "%s/serial.log", vm->spec.dir);
	else
		snprintf(buf, len, LV_LOG_DIR "/%s-serial.log", v->name);
}

/*
 * The QEMU of domain @name among this host's processes, or 0.  For a local
 * daemon whose run directory is not LV_RUN_DIR as we see it (a libvirtd in
 * its own mount namespace, as the integration tests run one), the pid file
 * is out of sight but the process is not.  Domain names carry our pid, so
 * no other run's QEMU matches.
 */
static pid_t lv_scan_pid(const char *name)
{
	char path[64], args[4096];
	struct dirent *d;
	pid_t pid = 0;
	size_t n;
	FILE *fp;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return 0;
	while (!pid && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/cmdline", d->d_name);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		n = fread(args, 1, sizeof(args) - 1, fp);
		fclose(fp);
		args[n] = '\0';
		if (lv_cmdline_names(args, n, name))
			pid = (pid_t)atol(d->d_name);
	}
	closedir(dir);
	return pid;
}

/*
 * Local QEMU pid from libvirt's pid file, else from the process list;
 * 0 when unknown or remote.
 */
static pid_t lv_read_pid(const struct lv_vm *v)
{
	char path[128];
	long pid = 0;
	FILE *fp;

	if (!v->local)
		return 0;
	snprintf(path, sizeof(path), LV_RUN_DIR "/%s.pid", v->name);
	fp = fopen(path, "r");
	if (!fp)
		return lv_scan_pid(v->name);
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	return (pid_t)pid;
}

/* Parse a monitor or agent reply: the "return" value, or its error. */
static int lv_reply(const char *what, const char *cmd, const char *text,
		    json_t **ret, char *err, unsigned long len)
{
	json_t *reply = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL), *e;

	if (!json_is_object(reply)) {
		snprintf(err, len, "%s %s: reply is not a JSON object: %.200s",
			 what, cmd, text);
		json_decref(reply);
		return -EPROTO;
	}
	e = json_object_get(reply, "error");
	if (e) {
		snprintf(err, len, "%s %s: %s", what, cmd,
			 json_string_value(json_object_get(e, "desc")) ?:
			 "error");
		json_decref(reply);
		return -EREMOTEIO;
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	json_decref(reply);
	return 0;
}

/* {"execute": cmd, "arguments": args} as text; args consumed. */
static char *lv_command(const char *cmd, json_t *args)
{
	json_t *msg = json_pack("{s:s}", "execute", cmd);
	char *text;

	if (args)
		json_object_set_new(msg, "arguments", args);
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	return text;
}

/*
 * The monitor, through libvirt.  libvirt bounds each command with its own
 * timeout (its monitor job lock), so timeout_ms is not passed on.
 */
static int lv_qmp(struct vm *vm, const char *cmd, json_t *args, json_t **ret,
		  int timeout_ms, char *err, unsigned long len)
{
	struct lv_vm *v = vm->priv;
	char *text, *out = NULL;
	int rc;

	(void)timeout_ms;
	text = lv_command(cmd, args);
	if (!v || !v->dom || !text) {
		snprintf(err, len, "QMP %s: %s is not running", cmd,
			 vm->spec.name);
		free(text);
		return -EPIPE;
	}
	rc = virDomainQemuMonitorCommand(v->dom, text, &out, 0);
	free(text);
	if (rc < 0) {
		snprintf(err, len, "QMP %s: %s", cmd, lv_last_error());
		/* the domain may be gone: say so */
		return vm_check_alive(vm, -EIO, err, len);
	}
	rc = lv_reply("QMP", cmd, out, ret, err, len);
	free(out);
	return rc;
}

/* The guest agent, through libvirt: an agent_transport_fn. */
static int lv_agent_call(void *opaque, const char *cmd, json_t *args,
			 json_t **ret, int timeout_ms, char *err,
			 unsigned long len)
{
	struct vm *vm = opaque;
	struct lv_vm *v = vm->priv;
	int secs = timeout_ms <= 1000 ? 1 : (timeout_ms + 999) / 1000;
	char *text, *out;
	virErrorPtr e;
	int rc;

	text = lv_command(cmd, args);
	if (!v || !v->dom || !text) {
		snprintf(err, len, "guest agent %s: %s is not running", cmd,
			 vm->spec.name);
		free(text);
		return -EPIPE;
	}
	out = virDomainQemuAgentCommand(v->dom, text, secs, 0);
	free(text);
	if (!out) {
		e = virGetLastError();
		snprintf(err, len, "guest agent %s: %s", cmd, lv_last_error());
		/* not connected yet, or no answer in time */
		return e && e->code == VIR_ERR_AGENT_UNRESPONSIVE ?
		       -ETIMEDOUT : -EREMOTEIO;
	}
	rc = lv_reply("guest agent", cmd, out, ret, err, len);
	free(out);
	return rc;
}

static int lv_agent_open(struct vm *vm)
{
	agent_set_transport(&vm->agent, lv_agent_call, vm);
	return 0;
}

/*
 * What the harness needs of the running domain: the QEMU version for the
 * report, and the balloon where the QEMU backend has it (libvirt names the
 * first memballoon balloon0; this says so if that ever changes).
 */
static int lv_check_domain(struct vm *vm, char *err, unsigned long len)
{
	json_t *ret = NULL, *q;
	int rc;

	rc = lv_qmp(vm, "query-version", NULL, &ret, 30000, err, len);
	if (rc)
		return rc;
	q = json_object_get(ret, "qemu");
	snprintf(vm->qmp.version, sizeof(vm->qmp.version), "%lld.%lld.%lld",
		 (long long)json_integer_value(json_object_get(q, "major")),
		 (long long)json_integer_value(json_object_get(q, "minor")),
		 (long long)json_integer_value(json_object_get(q, "micro")));
	json_decref(ret);
	rc = lv_qmp(vm, "qom-get", json_pack("{s:s, s:s}", "path",
		    "/machine/peripheral/" BB_BALLOON_ID, "property", "type"),
		    NULL, 30000, err, len);
	if (rc)
		snprintf(err, len, "%s: no balloon at /machine/peripheral/"
			 BB_BALLOON_ID " in the libvirt domain", vm->spec.name);
	return rc;
}

/*
 * Locally, qemu.log in the run directory is libvirt's log of this QEMU.
 * libvirt has written it by now: where it is not there, the daemon sees
 * another /var/log (its own mount namespace) and a link would dangle.
 */
static void lv_link_log(const struct vm *vm, const struct lv_vm *v)
{
	char target[128], link[300];

	if (!v->local || !strstr(vm->spec.uri, "/system"))
		return;
	snprintf(target, sizeof(target), LV_LOG_DIR "/%s.log", v->name);
	if (access(target, F_OK)) {
		bb_debug("%s: %s; no qemu.log link", target, strerror(errno));
		return;
	}
	snprintf(link, sizeof(link), "%s/qemu.log", vm->spec.dir);
	if (symlink(target, link))
		bb_debug("%s: %s", link, strerror(errno));
}

/*
 * A QMP event of one of our domains, as libvirt passes it on (QEMU's own
 * name, stamp and data), in the loop thread: queued for lv_poll_events.
 */
static void lv_on_monitor_event(virConnectPtr conn, virDomainPtr dom,
				const char *event, long long seconds,
				unsigned int micros, const char *details,
				void *opaque)
{
	struct lv_event *e;
	char one = 1;

	(void)conn;
	(void)dom;
	(void)event;	/* registered for BALLOON_CHANGE only */
	pthread_mutex_lock(&lv_ev.lock);
	if (lv_ev.n == LV_EVENT_QUEUE) {
		lv_ev.dropped++;
	} else {
		e = &lv_ev.q[lv_ev.n++];
		e->token = (unsigned)(uintptr_t)opaque;
		e->raised_ms = seconds < 0 ? NAN :
			       (double)seconds * 1000 + micros / 1000.0;
		e->details = details ? strdup(details) : NULL;
	}
	pthread_mutex_unlock(&lv_ev.lock);
	if (write(lv_ev.pipe[1], &one, 1) < 0 && errno != EAGAIN)
		return;	/* the wait still ends by its safety-net query */
}

/* Hand every queued event to its VM's sink (vm.c), on the main thread. */
static void lv_dispatch_events(void)
{
	struct lv_event q[LV_EVENT_QUEUE];
	unsigned n, i, dropped;
	char buf[64];
	json_t *data;
	struct vm *vm;

	while (read(lv_ev.pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&lv_ev.lock);
	n = lv_ev.n;
	memcpy(q, lv_ev.q, n * sizeof(q[0]));
	lv_ev.n = 0;
	dropped = lv_ev.dropped;
	lv_ev.dropped = 0;
	pthread_mutex_unlock(&lv_ev.lock);
	if (dropped)
		bb_warn("libvirt: %u balloon events lost to a full queue",
			dropped);
	for (i = 0; i < n; i++) {
		vm = q[i].token && q[i].token <= lv_watch_n ?
		     lv_watch[q[i].token - 1] : NULL;
		data = q[i].details ? json_loads(q[i].details, 0, NULL) : NULL;
		if (vm && vm->qmp.on_event)
			vm->qmp.on_event(vm->qmp.opaque, "BALLOON_CHANGE",
					 data, q[i].raised_ms);
		json_decref(data);
		free(q[i].details);
	}
}

/*
 * Ask libvirt for the domain's BALLOON_CHANGE events.  Only on this host:
 * a remote QEMU stamps them by its own clock, which the command's local
 * time cannot be compared with, so remote waits keep polling.
 */
static void lv_watch_events(struct vm *vm, struct lv_vm *v)
{
	struct vm **w;
	unsigned slot;

	if (!lv_ev.ok || !v->local)
		return;
	w = realloc(lv_watch, (lv_watch_n + 1) * sizeof(*w));
	if (!w)
		return;
	lv_watch = w;
	slot = lv_watch_n++;
	lv_watch[slot] = vm;
	v->event_cb = virConnectDomainQemuMonitorEventRegister(v->c->conn,
			v->dom, "BALLOON_CHANGE", lv_on_monitor_event,
			(void *)(uintptr_t)(slot + 1), NULL, 0);
	if (v->event_cb < 0) {
		lv_watch[slot] = NULL;
		bb_warn("%s: libvirt: no monitor events (%s): balloon waits "
			"will poll", vm->spec.name, lv_last_error());
		return;
	}
	v->event_slot = slot + 1;
	vm->backend_events = 1;
}

static void lv_unwatch_events(struct vm *vm, struct lv_vm *v)
{
	if (v->event_cb >= 0)
		virConnectDomainQemuMonitorEventDeregister(v->c->conn,
							   v->event_cb);
	v->event_cb = -1;
	/* events still queued for it find no VM */
	if (v->event_slot)
		lv_watch[v->event_slot - 1] = NULL;
	v->event_slot = 0;
	vm->backend_events = 0;
}

/*
 * Wait up to timeout_ms for the loop thread's wake-up, then dispatch what
 * it queued.  A signal ends the wait early (poll's EINTR).  Only called
 * for a VM whose events are watched (vm->backend_events, vm.c).
 */
static int lv_poll_events(struct vm *vm, int timeout_ms)
{
	struct pollfd p = { .fd = lv_ev.pipe[0], .events = POLLIN };

	(void)vm;
	if (poll(&p, 1, timeout_ms > 0 ? timeout_ms : 0) < 0 && errno != EINTR)
		return -errno;
	lv_dispatch_events();
	return 0;
}

static int lv_start(struct vm *vm, struct lv_vm *v, char *err,
		    unsigned long len)
{
	char serial[300], *xml;

	lv_serial_path(vm, v, serial, sizeof(serial));
	xml = lv_domain_xml(&vm->spec, v->name, serial);
	if (!xml) {
		snprintf(err, len, "%s: cannot build the domain XML",
			 vm->spec.name);
		return -ENOMEM;
	}
	bb_debug("%s: domain %s on %s:\n%s", vm->spec.name, v->name,
		 v->c->uri, xml);
	v->dom = virDomainCreateXML(v->c->conn, xml,
				    VIR_DOMAIN_START_AUTODESTROY);
	free(xml);
	if (!v->dom) {
		snprintf(err, len, "%s: libvirt (%s) cannot start domain "
			 "%s: %s",
			 vm->spec.name, v->c->uri, v->name, lv_last_error());
		return -EIO;
	}
	v->started = 1;
	vm->pid = lv_read_pid(v);
	lv_link_log(vm, v);
	lv_watch_events(vm, v);
	return lv_check_domain(vm, err, len);
}

static int lv_boot(struct vm *vm, char *err, unsigned long len)
{
	struct lv_vm *v;

	/* starting a domain takes seconds: none after a ^C */
	if (bb_interrupted) {
		snprintf(err, len, "interrupted by signal %d",
			 (int)bb_interrupted);
		return -EINTR;
	}
	if (mkdir(vm->spec.dir, 0700) && errno != EEXIST) {
		snprintf(err, len, "%s: %s", vm->spec.dir, strerror(errno));
		return -errno;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->event_cb = -1;
	vm->priv = v;
	lv_domain_name(vm->spec.dir, vm->spec.name, (int)getpid(), v->name,
		       sizeof(v->name));
	v->local = lv_uri_is_local(vm->spec.uri);
	v->c = lv_conn_get(vm->spec.uri, err, len);
	if (!v->c)
		return -ECONNREFUSED;
	return lv_start(vm, v, err, len);
}

/* Forget a domain that is gone; its wait status as far as libvirt says. */
static void lv_forget(struct vm *vm, struct lv_vm *v, int status)
{
	lv_unwatch_events(vm, v);
	virDomainFree(v->dom);
	v->dom = NULL;
	vm->pid = 0;
	vm->exit_status = status;
}

static int lv_exited(struct vm *vm, int *status)
{
	struct lv_vm *v = vm->priv;
	int rc, state = 0, reason = 0;

	if (!v || !v->dom) {
		*status = vm->exit_status;
		return 1;
	}
	rc = virDomainGetState(v->dom, &state, &reason, 0);
	if (!rc && state != VIR_DOMAIN_SHUTOFF && state != VIR_DOMAIN_CRASHED)
		return 0;
	if (rc && virGetLastErrorCode() != VIR_ERR_NO_DOMAIN) {
		/* libvirt unreachable: the VM cannot be used, count it dead;
		 * cleanup still tries to destroy it */
		bb_warn("%s: libvirt: %s", vm->spec.name, lv_last_error());
		*status = W_EXITCODE(1, 0);
		return 1;
	}
	/* a transient domain disappears when it stops: the reason is lost */
	*status = state == VIR_DOMAIN_SHUTOFF &&
		  reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN ? W_EXITCODE(0, 0) :
		  W_EXITCODE(1, 0);
	lv_forget(vm, v, *status);
	return 1;
}

static void lv_kill(struct vm *vm)
{
	struct lv_vm *v = vm->priv;

	if (!v || !v->dom)
		return;
	if (virDomainDestroy(v->dom) < 0 &&
	    virGetLastErrorCode() != VIR_ERR_NO_DOMAIN &&
	    virGetLastErrorCode() != VIR_ERR_OPERATION_INVALID)
		bb_warn("%s: cannot destroy domain %s: %s", vm->spec.name,
			v->name, lv_last_error());
	lv_forget(vm, v, W_EXITCODE(0, SIGKILL));
}

/*
 * Like the QEMU backend's "quit": QEMU is asked to exit (SIGTERM through
 * a graceful destroy) without the guest's help.  Our guest image has no
 * ACPI power-button handler and no /sbin/shutdown for qemu-ga, so
 * virDomainShutdown would only ever run into its timeout.
 */
static int lv_shutdown(struct vm *vm, int timeout_ms)
{
	double deadline = bb_now_ms() + timeout_ms;
	struct lv_vm *v = vm->priv;

	if (!v || !v->dom)
		return 0;
	virDomainDestroyFlags(v->dom, VIR_DOMAIN_DESTROY_GRACEFUL);
	return vm_wait_exit(vm, deadline, timeout_ms);
}

/*
 * The QEMU pid, from libvirt's pid file: local URIs only (0 on other
 * hosts, where host RSS and CPU time are not measured; cleanup destroys
 * those domains all the same).
 */
static pid_t lv_pid(struct vm *vm)
{
	return vm->pid;
}

/*
 * libvirt's log of this QEMU: removed after a clean stop, kept and named
 * when the VM died or failed to start, for a post-mortem.
 */
static void lv_settle_log(const struct vm *vm, const struct lv_vm *v)
{
	char path[128];

	snprintf(path, sizeof(path), LV_LOG_DIR "/%s.log", v->name);
	if (v->local && vm->state == VM_STOPPED)
		unlink(path);
	else if (v->local && !access(path, F_OK))
		bb_info("%s: libvirt's log of it stays at %s", vm->spec.name,
			path);
	else if (!v->local && v->started)
		bb_info("%s: libvirt's log of it stays at %s on %s",
			vm->spec.name, path, v->c->uri);
}

static void lv_cleanup(struct vm *vm)
{
	static const char *const files[] = { "serial.log", "qemu.log" };
	struct lv_vm *v = vm->priv;

	agent_close(&vm->agent);
	if (v) {
		lv_kill(vm);
		/* a callback left registered would keep the connection open */
		lv_unwatch_events(vm, v);
		lv_settle_log(vm, v);
		lv_conn_put(v->c);
		free(v);
		vm->priv = NULL;
	}
	vm_remove_dir(vm, files, sizeof(files) / sizeof(files[0]));
}

const struct backend_ops backend_libvirt = {
	.name = "libvirt",
	.boot = lv_boot,
	.shutdown = lv_shutdown,
	.kill = lv_kill,
	.exited = lv_exited,
	.pid = lv_pid,
	.qmp = lv_qmp,
	.agent_open = lv_agent_open,
	.poll_events = lv_poll_events,
	.cleanup = lv_cleanup,
};
