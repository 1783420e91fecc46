// SPDX-License-Identifier: GPL-2.0
/*
 * The migrate scenario (seeds 002-004): one guest migrates from a source
 * QEMU to a destination QEMU started with -incoming, over a unix socket or
 * loopback TCP, capped at `bandwidth`.  Rows are free-page strategies:
 *
 *   none           plain precopy
 *   hint-stock     Debian's driver and QEMU, upstream FREE_PAGE_HINT
 *   hint           vballoon's FREE_PAGE_HINT, patched QEMU
 *   bitmap         vballoon's FREE_PAGE_BITMAP (bit 20), patched QEMU
 *   inflate-first  balloon inflated over the guest's free memory before,
 *                  deflated after (both count in user_ms)
 *   reporting      free page reporting: freed memory was discarded and
 *                  travels as zero pages
 *
 * Before migrating, the guest runs its pre-workload (idle: `touch` written
 * and freed; fresh: nothing; busy: a writer keeps taking fresh memory and
 * writing it while the migration runs) and holds a `guard` pattern.  After
 * it, on the destination, the guard and the writer check every page they
 * wrote: one lost write fails the run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "balloon.h"
#include "log.h"
#include "migrate.h"
#include "report.h"
#include "scenario.h"
#include "units.h"
#include "vm.h"

#define MIG_IOTHREAD "bbio0"
#define MIG_AGENT_TIMEOUT_MS 120000
/* after the pre-workload: page reporting runs every 2 s */
#define MIG_SETTLE_MS 5000
/* guard and writer: their files in the guest */
#define MIG_FLAGS "/tmp/bb-migrate"
#define MIG_DRIVER_STATS "/sys/kernel/debug/vballoon/stats"
#define MIG_POLL_MS 100

/* One run of one row. */
struct mig_run {
	const struct bb_config *cfg;	/* the row, strategy preset applied */
	struct fleet src;		/* the source VM */
	struct fleet dst;		/* the destination QEMU */
	long long guard_pid;		/* guest-exec pids, 0 if none */
	long long writer_pid;
	char uri[300];			/* where the stream goes */
	char sock[300];			/* unix: the socket's path, or "" */
	json_t *sample;			/* what the report keeps */
	double user_ms;			/* inflate + migrate + deflate */
	uint64_t ballooned;		/* inflate-first: balloon size, bytes */
};

static int mig_is(const struct bb_config *c, const char *s)
{
	return !strcmp(c->strategy, s);
}

/* The device properties a strategy sets; a row's own come first. */
static const char *mig_props(const struct bb_config *c)
{
	if (mig_is(c, "hint-stock") || mig_is(c, "hint"))
		return "free-page-hint=on,iothread=" MIG_IOTHREAD;
	if (mig_is(c, "bitmap"))
		return "free-page-bitmap=on,iothread=" MIG_IOTHREAD;
	if (mig_is(c, "reporting"))
		return "free-page-reporting=on";
	return "";
}

/* The row as it runs: the strategy picks the driver and QEMU it needs. */
static int mig_preset(struct bb_config *c, char *err, unsigned long len)
{
	const char *extra = mig_props(c);
	char dev[CFG_STR_LEN];
	int n;

	if (mig_is(c, "hint-stock")) {
		snprintf(c->driver, sizeof(c->driver), "stock");
		snprintf(c->qemu, sizeof(c->qemu), "stock");
	} else if (mig_is(c, "hint") || mig_is(c, "bitmap")) {
		snprintf(c->driver, sizeof(c->driver), "vballoon");
		snprintf(c->qemu, sizeof(c->qemu), "patched");
	}
	n = snprintf(dev, sizeof(dev), "%s%s%s", c->device,
		     c->device[0] && extra[0] ? "," : "", extra);
	if (n < 0 || (unsigned long)n >= sizeof(dev)) {
		snprintf(err, len, "key 'device': too long with the strategy's "
			 "properties");
		return -E2BIG;
	}
	snprintf(c->device, sizeof(c->device), "%s", dev);
	return 0;
}

/* What the strategies set themselves. */
static const char *const mig_own_props[] = {
	"free-page-hint", "free-page-bitmap", "free-page-reporting",
	"iothread", NULL
};

static int mig_check_row(const struct bb_config *row, char *err,
			 unsigned long len)
{
	struct bb_config c = *row;
	int rc;

	if (scn_props_set(row->device, mig_own_props)) {
		snprintf(err, len, "key 'device': free-page-hint, "
			 "free-page-bitmap, free-page-reporting and iothread "
			 "are the strategies' to set");
		return -EINVAL;
	}
	if (!mig_is(row, "none") && !mig_is(row, "hint-stock") &&
	    !mig_is(row, "hint") && !mig_is(row, "bitmap") &&
	    !strcmp(row->driver, "none")) {
		snprintf(err, len, "strategy '%s' needs a balloon driver "
			 "(driver is 'none')", row->strategy);
		return -EINVAL;
	}
	if (mig_is(row, "reporting") && !strcmp(row->qemu, "stock") &&
	    !strcmp(row->driver, "vballoon")) {
		snprintf(err, len, "strategy 'reporting' with driver vballoon "
			 "needs the patched QEMU");
		return -EINVAL;
	}
	rc = mig_preset(&c, err, len);
	return rc ? rc : scn_check_built(&c, err, len);
}

static int mig_check(const struct bb_config *cfg, char *err, unsigned long len)
{
	if (strcmp(cfg->backend, "qemu")) {
		snprintf(err, len, "key 'backend': the migrate scenario starts "
			 "the destination QEMU itself with -incoming, which "
			 "only the 'qemu' backend does (libvirt migration is "
			 "not supported)");
		return -ENOTSUP;
	}
	return scn_check_rows(cfg, mig_check_row, err, len);
}

static int mig_tweak(struct vm_spec *s, void *opaque)
{
	const struct bb_config *c = opaque;

	if (strstr(c->device, "iothread=" MIG_IOTHREAD))
		snprintf(s->object, sizeof(s->object), "iothread,id="
			 MIG_IOTHREAD);
	return 0;
}

/* A loopback port nobody listens on now. */
static int mig_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &l))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int mig_qmp(struct vm *vm, const char *cmd, json_t *args,
		   json_t **ret, char *err, unsigned long len)
{
	json_t *r = NULL;
	int rc = vm->ops->qmp(vm, cmd, args, &r, 30000, err, len);

	rc = vm_check_alive(vm, rc, err, len);
	if (ret)
		*ret = r;
	else
		json_decref(r);
	return rc;
}

/* Run a guest command that prints one JSON object: *out. */
static int mig_guest_json(struct vm *vm, const char *cmd, json_t **out,
			  char *err, unsigned long len)
{
	return agent_exec_json(&vm->agent, cmd, MIG_AGENT_TIMEOUT_MS, out,
			       err, len);
}

static int mig_guest_ok(struct vm *vm, const char *cmd, char *err,
			unsigned long len)
{
	struct agent_result res;
	int rc = agent_exec(&vm->agent, cmd, MIG_AGENT_TIMEOUT_MS, &res, err,
			    len);

	if (rc)
		return rc;
	if (res.exitcode != 0) {
		snprintf(err, len, "guest: '%s' failed (%d): %.300s", cmd,
			 res.exitcode, res.errout ? res.errout : "");
		rc = -EIO;
	}
	agent_result_free(&res);
	return rc;
}

/* Start a bbload that creates MIG_FLAGS/ready, and wait for that. */
static int mig_start_checker(struct vm *vm, const char *what, uint64_t bytes,
			     long long *pid, char *err, unsigned long len)
{
	char cmd[200];
	double deadline = bb_now_ms() + MIG_AGENT_TIMEOUT_MS;
	int rc;

	snprintf(cmd, sizeof(cmd), "mkdir -p %s/%s && exec bbload %s %llu "
		 "%s/%s", MIG_FLAGS, what, what, (unsigned long long)bytes,
		 MIG_FLAGS, what);
	rc = agent_exec_start(&vm->agent, cmd, 1, pid, MIG_AGENT_TIMEOUT_MS,
			      err, len);
	if (rc)
		return rc;
	snprintf(cmd, sizeof(cmd), "test -e %s/%s/ready", MIG_FLAGS, what);
	for (;;) {
		struct agent_result res;

		rc = agent_exec(&vm->agent, cmd, MIG_AGENT_TIMEOUT_MS, &res,
				err, len);
		if (rc)
			return rc;
		rc = res.exitcode;
		agent_result_free(&res);
		if (rc == 0)
			return 0;
		if (agent_exec_status(&vm->agent, *pid, &res,
				      MIG_AGENT_TIMEOUT_MS, err, len) == 1) {
			snprintf(err, len, "guest: bbload %s ended before it "
				 "was ready (%d): %.300s", what, res.exitcode,
				 res.errout ? res.errout : "");
			agent_result_free(&res);
			return -EIO;
		}
		if (bb_interrupted)
			return -EINTR;
		if (bb_now_ms() > deadline) {
			snprintf(err, len, "guest: bbload %s not ready after "
				 "%d s", what, MIG_AGENT_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		usleep(200000);
	}
}

/*
 * idle: what the guest can write without the OOM killer, less a margin
 * for the guard, the writer and the agent: a small guest's kernel and
 * image take a good part of `touch`.
 */
static int mig_clamp_touch(struct vm *vm, uint64_t *touch, char *err,
			   unsigned long len)
{
	uint64_t avail, margin = 64ULL << 20;
	char a[32], b[32], c[32];
	json_t *mi;
	int rc;

	rc = agent_exec_json(&vm->agent, "bbload meminfo", MIG_AGENT_TIMEOUT_MS,
			     &mi, err, len);
	if (rc)
		return rc;
	avail = (uint64_t)json_integer_value(json_object_get(mi,
						"meminfo_MemAvailable"));
	json_decref(mi);
	if (avail > margin && *touch > avail - margin) {
		bb_warn("touch: %s is more than the guest can write (%s "
			"available); writing %s", unit_fmt_size(*touch, a,
			sizeof(a)), unit_fmt_size(avail, b, sizeof(b)),
			unit_fmt_size(avail - margin, c, sizeof(c)));
		*touch = avail - margin;
	}
	return 0;
}

/* The pre-workload and the guard, on the source. */
static int mig_prepare(struct mig_run *r, char *err, unsigned long len)
{
	const struct bb_config *c = r->cfg;
	struct vm *vm = &r->src.vms[0];
	uint64_t ram = c->memory.bytes, touch;
	char cmd[96];
	json_t *out;
	int rc;

	rc = mig_guest_ok(vm, "rm -rf " MIG_FLAGS, err, len);
	touch = unit_size_bytes(&c->touch, ram);
	if (!rc && !strcmp(c->pre_workload, "idle") && touch)
		rc = mig_clamp_touch(vm, &touch, err, len);
	if (!rc && !strcmp(c->pre_workload, "idle") && touch) {
		snprintf(cmd, sizeof(cmd), "bbload touch %llu",
			 (unsigned long long)touch);
		rc = mig_guest_json(vm, cmd, &out, err, len);
		if (!rc) {
			json_object_set(r->sample, "touch_ms",
					json_object_get(out, "elapsed_ms"));
			json_object_set_new(r->sample, "touch_bytes",
					    json_integer((json_int_t)touch));
			json_decref(out);
		}
	}
	if (!rc)
		rc = mig_start_checker(vm, "guard", unit_size_bytes(&c->guard,
				       ram), &r->guard_pid, err, len);
	if (!rc && !strcmp(c->pre_workload, "busy"))
		rc = mig_start_checker(vm, "writer", unit_size_bytes(&c->writer,
				       ram), &r->writer_pid, err, len);
	return rc;
}

/* inflate-first: the balloon over the guest's free memory, timed. */
static int mig_inflate(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->src.vms[0];
	uint64_t ram = r->cfg->memory.bytes, fr, keep;
	const char *how;
	double t0 = bb_now_ms(), ms;
	json_t *mi;
	int rc;

	rc = mig_guest_json(vm, "bbload meminfo", &mi, err, len);
	if (rc)
		return rc;
	fr = (uint64_t)json_integer_value(json_object_get(mi,
						"meminfo_MemFree"));
	json_decref(mi);
	/* leave the guest some room: its watermarks, the agent's work */
	keep = ram / 16 > (64ULL << 20) ? ram / 16 : 64ULL << 20;
	r->ballooned = fr > keep ? (fr - keep) & ~((1ULL << 20) - 1) : 0;
	if (!r->ballooned)
		return 0;
	rc = balloon_set(vm, ram - r->ballooned, err, len);
	if (!rc)
		rc = balloon_wait(vm, ram - r->ballooned,
				  r->cfg->migrate_timeout_ms, t0, bb_wall_ms(),
				  &ms, &how, err, len);
	if (rc)
		return rc;
	json_object_set_new(r->sample, "inflate_ms",
			    json_real(bb_now_ms() - t0));
	json_object_set_new(r->sample, "ballooned_bytes",
			    json_integer((json_int_t)r->ballooned));
	r->user_ms += bb_now_ms() - t0;
	return 0;
}

static int mig_deflate(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->dst.vms[0];
	const char *how;
	double t0 = bb_now_ms(), ms;
	int rc;

	if (!r->ballooned)
		return 0;
	rc = balloon_set(vm, r->cfg->memory.bytes, err, len);
	if (!rc)
		rc = balloon_wait(vm, r->cfg->memory.bytes,
				  r->cfg->migrate_timeout_ms, t0, bb_wall_ms(),
				  &ms, &how, err, len);
	if (rc)
		return rc;
	json_object_set_new(r->sample, "deflate_ms",
			    json_real(bb_now_ms() - t0));
	r->user_ms += bb_now_ms() - t0;
	return 0;
}

/* The destination: the same VM, waiting for the stream; no agent yet. */
static int mig_start_dest(struct mig_run *r, const char *accel, char *err,
			  unsigned long len)
{
	const struct bb_config *c = r->cfg;
	struct vm *vm;
	int rc, port;

	rc = fleet_init(&r->dst, 1, r->src.vms[0].ops);
	if (rc) {
		snprintf(err, len, "cannot create a run directory: %s",
			 strerror(-rc));
		return rc;
	}
	vm = &r->dst.vms[0];
	rc = scn_fill_spec(c, accel, &vm->spec, err, len);
	if (rc)
		return rc;
	mig_tweak(&vm->spec, (void *)c);
	snprintf(vm->spec.name, sizeof(vm->spec.name), "vm00-dst");
	if (!strcmp(c->transport, "tcp")) {
		port = mig_free_port();
		if (port < 0) {
			snprintf(err, len, "no free loopback TCP port");
			return -EADDRNOTAVAIL;
		}
		snprintf(r->uri, sizeof(r->uri), "tcp:127.0.0.1:%d", port);
	} else {
		snprintf(r->sock, sizeof(r->sock), "%s/migrate.sock",
			 r->dst.rundir);
		snprintf(r->uri, sizeof(r->uri), "unix:%s", r->sock);
	}
	snprintf(vm->spec.incoming, sizeof(vm->spec.incoming), "%s", r->uri);
	vm->state = VM_BOOTING;
	vm->t_start_ms = bb_now_ms();
	rc = vm->ops->boot(vm, err, len);
	if (rc == -ECHILD)
		vm_set_dead(vm, vm->exit_status);
	return rc;
}

static double mig_num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? json_number_value(v) : 0;
}

/* query-migrate's figures into the sample. */
static void mig_figures_of(json_t *q, json_t *s)
{
	json_t *ram = json_object_get(q, "ram");

	json_object_set_new(s, MIG_TOTAL_MS, json_real(mig_num(q,
			    "total-time")));
	json_object_set_new(s, MIG_SETUP_MS, json_real(mig_num(q,
			    "setup-time")));
	json_object_set_new(s, MIG_DOWNTIME_MS, json_real(mig_num(q,
			    "downtime")));
	json_object_set_new(s, MIG_SENT_BYTES, json_integer((json_int_t)
			    mig_num(ram, "transferred")));
	json_object_set_new(s, MIG_NORMAL_PAGES, json_integer((json_int_t)
			    mig_num(ram, "normal")));
	json_object_set_new(s, MIG_ZERO_PAGES, json_integer((json_int_t)
			    mig_num(ram, "duplicate")));
	json_object_set_new(s, MIG_SYNCS, json_integer((json_int_t)
			    mig_num(ram, "dirty-sync-count")));
	json_object_set_new(s, "mbps", json_real(mig_num(ram, "mbps")));
}

static void mig_progress(const struct mig_run *r, json_t *q, double t0,
			 int final)
{
	static double last;
	json_t *ram = json_object_get(q, "ram");
	double now = bb_now_ms();
	int tty = isatty(STDERR_FILENO);

	if (!final && now - last < (tty ? 250 : 5000))
		return;
	last = now;
	fprintf(stderr, "%s%s: migrating %.1f s, %.0f MiB sent, %.0f MiB "
		"left, %s%s", tty ? "\r" : "", r->cfg->strategy,
		(now - t0) / 1e3, mig_num(ram, "transferred") / 1048576.0,
		mig_num(ram, "remaining") / 1048576.0,
		json_string_value(json_object_get(q, "status")) ?: "?",
		tty && !final ? "   " : "\n");
}

/* Cancel a migration in flight; the source keeps running the guest. */
static void mig_cancel(struct vm *vm)
{
	char why[256];

	if (vm->ops->qmp(vm, "migrate_cancel", NULL, NULL, 5000, why,
			 sizeof(why)))
		bb_warn("%s: migrate_cancel: %s", vm->spec.name, why);
}

/* Migrate and wait; ^C or the timeout cancel it. */
static int mig_migrate(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->src.vms[0];
	const struct bb_config *c = r->cfg;
	double t0, deadline;
	const char *st;
	json_t *q = NULL;
	int rc;

	rc = mig_qmp(vm, "migrate-set-parameters", json_pack("{s:I, s:I}",
		     "max-bandwidth", (json_int_t)c->bandwidth_mbit * 125000,
		     "downtime-limit", (json_int_t)c->downtime_limit_ms), NULL,
		     err, len);
	if (rc)
		return rc;
	t0 = bb_now_ms();
	deadline = t0 + (double)c->migrate_timeout_ms;
	rc = mig_qmp(vm, "migrate", json_pack("{s:s}", "uri", r->uri), NULL,
		     err, len);
	while (!rc) {
		json_decref(q);
		q = NULL;
		rc = mig_qmp(vm, "query-migrate", NULL, &q, err, len);
		if (rc)
			break;
		st = json_string_value(json_object_get(q, "status"));
		mig_progress(r, q, t0, 0);
		if (st && !strcmp(st, "completed"))
			break;
		if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"))) {
			snprintf(err, len, "migration %s: %s", st,
				 json_string_value(json_object_get(q,
				 "error-desc")) ?: "(no reason given)");
			rc = -EIO;
			break;
		}
		if (r->dst.vms[0].ops->exited(&r->dst.vms[0],
					      &r->dst.vms[0].exit_status)) {
			vm_set_dead(&r->dst.vms[0], r->dst.vms[0].exit_status);
			snprintf(err, len, "the destination QEMU died during "
				 "the migration (logs: %s)",
				 r->dst.vms[0].logs_kept);
			rc = -ECHILD;
			break;
		}
		if (bb_interrupted || bb_now_ms() > deadline) {
			rc = bb_interrupted ? -EINTR : -ETIMEDOUT;
			if (rc == -ETIMEDOUT)
				snprintf(err, len, "migration not complete "
					 "after %llu s (migrate_timeout)",
					 (unsigned long long)
					 c->migrate_timeout_ms / 1000);
			mig_cancel(vm);
			break;
		}
		vm_poll_monitor(vm, MIG_POLL_MS);
	}
	if (!rc) {
		mig_progress(r, q, t0, 1);
		r->user_ms += bb_now_ms() - t0;
		mig_figures_of(q, r->sample);
	}
	json_decref(q);
	return rc;
}

/* The device's free-page counters on the source (patched QEMU only). */
static void mig_device_counters(struct mig_run *r)
{
	struct vm *vm = &r->src.vms[0];
	char err[256];
	json_t *ret = NULL, *fp;

	if (strcmp(r->cfg->qemu, "patched") ||
	    vm->ops->qmp(vm, "qom-get", json_pack("{s:s, s:s}", "path",
			 "/machine/peripheral/" BB_BALLOON_ID, "property",
			 "stage-stats"), &ret, 10000, err, sizeof(err)))
		return;
	fp = json_object_get(ret, "free-page");
	if (fp)
		json_object_set(r->sample, "device_free_page", fp);
	json_decref(ret);
}

/* Connect the destination's agent once the guest runs there. */
static int mig_dest_agent(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->dst.vms[0];
	int rc = vm->ops->agent_open(vm);

	if (!rc)
		rc = agent_sync(&vm->agent, MIG_AGENT_TIMEOUT_MS);
	rc = vm_check_alive(vm, rc, err, len);
	if (rc) {
		if (!err[0] || rc != -ECHILD)
			snprintf(err, len, "the guest agent does not answer on "
				 "the destination: %s", strerror(-rc));
		return rc;
	}
	vm->state = VM_READY;
	vm->t_ready_ms = bb_now_ms();
	return 0;
}

/* Stop the guard (and writer) and read what they found. */
static int mig_verify(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->dst.vms[0];
	long long pids[2] = { r->guard_pid, r->writer_pid };
	static const char *const what[2] = { "guard", "writer" };
	double deadline;
	int i, rc;

	rc = mig_guest_ok(vm, "touch " MIG_FLAGS "/guard/stop && "
			  "mkdir -p " MIG_FLAGS "/writer && touch "
			  MIG_FLAGS "/writer/stop", err, len);
	for (i = 0; i < 2 && !rc; i++) {
		struct agent_result res;
		char key[48];
		json_t *o;

		if (!pids[i])
			continue;
		deadline = bb_now_ms() + MIG_AGENT_TIMEOUT_MS;
		while (!(rc = agent_exec_status(&vm->agent, pids[i], &res,
						MIG_AGENT_TIMEOUT_MS, err,
						len))) {
			if (bb_interrupted)
				return -EINTR;
			if (bb_now_ms() > deadline) {
				snprintf(err, len, "guest: bbload %s did not "
					 "finish its check", what[i]);
				return -ETIMEDOUT;
			}
			usleep(200000);
		}
		if (rc < 0)
			return rc;
		o = json_loads(res.out ? res.out : "", JSON_DECODE_ANY, NULL);
		snprintf(key, sizeof(key), "%s_bad_pages", what[i]);
		json_object_set_new(r->sample, key, json_integer(
				    (json_int_t)mig_num(o, "bad_pages")));
		snprintf(key, sizeof(key), "%s_checked_pages", what[i]);
		json_object_set_new(r->sample, key, json_integer(
				    (json_int_t)mig_num(o, "checked_pages")));
		rc = 0;
		if (!json_is_object(o) || res.exitcode != 0) {
			snprintf(err, len, "guest memory lost across the "
				 "migration: bbload %s exited %d: %.300s%.300s",
				 what[i], res.exitcode, res.out ?: "",
				 res.errout ?: "");
			rc = -EIO;
		}
		json_decref(o);
		agent_result_free(&res);
	}
	return rc;
}

/*
 * The guest on the destination takes its free memory into use again
 * (touch, which also reallocates every hinted page once the driver gave
 * it back) and its kernel log must stay clean: a page the host skipped
 * that the guest still needed shows here as an oops or a poison report.
 */
static int mig_health(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->dst.vms[0];
	struct agent_result res;
	uint64_t touch = unit_size_bytes(&r->cfg->touch, r->cfg->memory.bytes);
	char cmd[300];
	int rc;

	rc = touch ? mig_clamp_touch(vm, &touch, err, len) : 0;
	if (rc)
		return rc;
	snprintf(cmd, sizeof(cmd), "%s%llu >/dev/null; dmesg | grep -E "
		 "'BUG|Oops|general protection|corruption|WARNING|"
		 "Bad page|bad_page' | head -5", touch ? "bbload touch " : ": ",
		 (unsigned long long)touch);
	rc = agent_exec(&vm->agent, cmd, MIG_AGENT_TIMEOUT_MS, &res, err, len);
	if (rc)
		return rc;
	if (res.out && res.out[0]) {
		snprintf(err, len, "the guest's kernel log on the destination "
			 "reports trouble after the migration: %.600s", res.out);
		rc = -EIO;
	}
	agent_result_free(&res);
	return rc;
}

/* vballoon's hint or bitmap counters, read on the destination. */
static void mig_driver_counters(struct mig_run *r)
{
	struct vm *vm = &r->dst.vms[0];
	char err[256], *data = NULL;
	json_t *k;
	int bm;

	if (strcmp(r->cfg->driver, "vballoon") ||
	    agent_read_file(&vm->agent, MIG_DRIVER_STATS, &data,
			    MIG_AGENT_TIMEOUT_MS, err, sizeof(err)))
		return;
	k = json_loads(data, 0, NULL);
	free(data);
	if (!k)
		return;
	bm = mig_is(r->cfg, "bitmap");
	if (mig_is(r->cfg, "hint") || bm) {
		json_object_set_new(r->sample, MIG_GUEST_BUILD_MS, json_real(
			mig_num(k, bm ? "bitmap_build_ns" : "hint_ns") / 1e6));
		json_object_set_new(r->sample, MIG_GUEST_SEND_MS, json_real(
			mig_num(k, bm ? "bitmap_send_ns" : "hint_ns") / 1e6));
		json_object_set_new(r->sample, MIG_GUEST_PAGES, json_integer(
			(json_int_t)mig_num(k, bm ? "bitmap_pages" :
					    "hint_pages")));
	}
	json_object_set_new(r->sample, "guest_counters", k);
}

static int mig_one_run(struct bb_config *cfg, int rep, char *accel,
		       json_t *rpt, json_t *row, char *err, unsigned long len)
{
	struct mig_run r = { .cfg = cfg };
	int rc;

	r.sample = json_pack("{s:i}", "run", rep + 1);
	bb_info("run %s r%d: %s guest, pre-workload %s, %d Mbit/s over %s",
		cfg->strategy, rep + 1, unit_fmt_size(cfg->memory.bytes,
		(char[32]){ 0 }, 32), cfg->pre_workload, cfg->bandwidth_mbit,
		cfg->transport);
	rc = scn_start_fleet_with(cfg, &r.src, 1, mig_tweak, cfg, accel, 8,
				  err, len);
	if (rc)
		goto out;
	snprintf(cfg->accel, sizeof(cfg->accel), "%s", accel);
	rpt_note_qemu(rpt, cfg->qemu, r.src.vms[0].qmp.version);
	rc = mig_prepare(&r, err, len);
	if (!rc)
		usleep(MIG_SETTLE_MS * 1000);
	if (!rc && bb_interrupted)
		rc = -EINTR;
	if (!rc && mig_is(cfg, "inflate-first"))
		rc = mig_inflate(&r, err, len);
	if (!rc)
		rc = mig_start_dest(&r, accel, err, len);
	if (!rc)
		rc = mig_migrate(&r, err, len);
	if (!rc)
		mig_device_counters(&r);
	if (!rc)
		rc = mig_dest_agent(&r, err, len);
	/* the source has handed the guest over: it only has to go */
	fleet_destroy(&r.src);
	if (!rc)
		rc = mig_deflate(&r, err, len);
	if (!rc)
		rc = mig_verify(&r, err, len);
	if (!rc)
		rc = mig_health(&r, err, len);
	if (!rc) {
		mig_driver_counters(&r);
		json_object_set_new(r.sample, MIG_USER_MS,
				    json_real(r.user_ms));
		rpt_add_run(row, r.sample);
		r.sample = NULL;
	}
out:
	fleet_destroy(&r.src);
	/* a destination that never took the stream leaves its socket */
	if (r.sock[0])
		unlink(r.sock);
	fleet_destroy(&r.dst);
	json_decref(r.sample);
	return rc;
}

static int mig_rows(struct bb_config *cfg, json_t *rpt, char *accel,
		    char *err, unsigned long len)
{
	char name[96];
	struct bb_config row;
	json_t *jrow;
	int i, k, rc;

	for (i = 0; i < (cfg->nkeys ? cfg->nrows : 1); i++) {
		row = *cfg;
		if (cfg->nkeys)
			cfg_apply_row(&row, i);
		cfg_row_name(cfg, i, name, sizeof(name));
		rc = mig_preset(&row, err, len);
		if (rc)
			return rc;
		jrow = rpt_add_row(rpt, name, json_pack("{s:s, s:s, s:s, s:s, "
				   "s:s, s:I}", "strategy", row.strategy,
				   "driver", row.driver, "qemu", row.qemu,
				   "device", row.device, "pre_workload",
				   row.pre_workload, "memory_bytes",
				   (json_int_t)row.memory.bytes));
		for (k = 0; k < cfg->repetitions; k++) {
			rc = mig_one_run(&row, k, accel, rpt, jrow, err, len);
			if (rc) {
				rpt_add_error(rpt, name, err);
				return rc;
			}
			snprintf(cfg->accel, sizeof(cfg->accel), "%s",
				 row.accel);
		}
		rpt_summarize_row(jrow);
	}
	return 0;
}

static int mig_run_all(struct bb_config *cfg)
{
	char rundir[600], err[4096] = "", accel[8] = "";
	json_t *rpt;
	int rc;

	if (rpt_new_dir(cfg->output_dir, cfg->name, rundir, sizeof(rundir))) {
		bb_err("cannot create a run directory under %s",
		       cfg->output_dir);
		return BB_EXIT_FAIL;
	}
	rpt = rpt_new(cfg, cfg->accel);
	rc = mig_rows(cfg, rpt, accel, err, sizeof(err));
	return scn_finish(cfg, rpt, rundir, accel, rc, err, mig_table);
}

const struct scenario_ops scenario_migrate = {
	.name = "migrate",
	.help = "live migration of one guest per free-page strategy: time, "
		"downtime, bytes, integrity",
	.check = mig_check,
	.run = mig_run_all,
	.figures = mig_figures,
	.reference = "none",
	.table = mig_table,
	.plot = mig_plot,
};
