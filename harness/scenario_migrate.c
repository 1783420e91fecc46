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
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "balloon.h"
#include "log.h"
#include "migrate.h"
#include "report.h"
#include "scenario.h"
#include "units.h"
#include "vm.h"

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
		/* vballoon's parameters mean nothing to Debian's driver */
		if (strcmp(c->driver, "stock"))
			c->modparams[0] = '\0';
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

/* inflate-first: the balloon over the guest's free memory, timed. */
static int mig_inflate(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->src.vms[0];
	uint64_t ram = r->cfg->memory.bytes, fr, keep;
	const char *how;
	double t0, wall0, ms = 0;
	char a[32];
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
	if (!r->ballooned) {
		snprintf(err, len, "inflate-first: the guest has %s free, "
			 "nothing to inflate over", unit_fmt_size(fr, a,
			 sizeof(a)));
		return -ENOSPC;
	}
	wall0 = bb_wall_ms();
	t0 = bb_now_ms();
	rc = balloon_set(vm, ram - r->ballooned, err, len);
	if (!rc)
		rc = balloon_wait(vm, ram - r->ballooned,
				  r->cfg->migrate_timeout_ms, t0, wall0, &ms,
				  &how, err, len);
	if (rc)
		return rc;
	json_object_set_new(r->sample, "inflate_ms", json_real(ms));
	json_object_set_new(r->sample, "ballooned_bytes",
			    json_integer((json_int_t)r->ballooned));
	r->user_ms += ms;
	return 0;
}

static int mig_deflate(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->dst.vms[0];
	const char *how;
	double t0, wall0, ms = 0;
	int rc;

	if (!r->ballooned)
		return 0;
	wall0 = bb_wall_ms();
	t0 = bb_now_ms();
	rc = balloon_set(vm, r->cfg->memory.bytes, err, len);
	if (!rc)
		rc = balloon_wait(vm, r->cfg->memory.bytes,
				  r->cfg->migrate_timeout_ms, t0, wall0, &ms,
				  &how, err, len);
	if (rc)
		return rc;
	json_object_set_new(r->sample, "deflate_ms", json_real(ms));
	r->user_ms += ms;
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
	return vm_check_alive(vm, rc, err, len);
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

/*
 * Has the destination QEMU exited?  Then its logs are kept and err says
 * where (-ECHILD); a source reports such a failure only as a broken pipe.
 * A failed migration gives the destination a moment to be reaped.
 */
static int mig_dest_dead(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *d = &r->dst.vms[0];

	if (!d->ops->exited(d, &d->exit_status))
		return 0;
	vm_set_dead(d, d->exit_status);
	snprintf(err, len, "the destination QEMU died during the migration; "
		 "its logs are kept in %s", d->logs_kept);
	return -ECHILD;
}

/* Cancel a migration in flight; the source keeps running the guest. */
static void mig_cancel(struct vm *vm)
{
	char why[256];

	if (vm->ops->qmp(vm, "migrate_cancel", NULL, NULL, 5000, why,
			 sizeof(why)) && !bb_interrupted)
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
		/* a destination that died explains a failure best */
		rc = mig_dest_dead(r, err, len);
		if (rc)
			break;
		if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"))) {
			usleep(200000);
			rc = mig_dest_dead(r, err, len);
			if (rc)
				break;
			snprintf(err, len, "migration %s: %s", st,
				 json_string_value(json_object_get(q,
				 "error-desc")) ?: "(no reason given)");
			rc = -EIO;
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
		nanosleep(&(struct timespec){ MIG_SETTLE_MS / 1000, 0 }, NULL);
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
				   "s:s, s:s, s:s, s:I, s:i, s:s, s:I, s:I, "
				   "s:I, s:I}", "strategy", row.strategy,
				   "driver", row.driver, "qemu", row.qemu,
				   "modparams", row.modparams,
				   "guest_cmdline", row.guest_cmdline,
				   "device", row.device, "pre_workload",
				   row.pre_workload, "memory_bytes",
				   (json_int_t)row.memory.bytes,
				   "bandwidth_mbit", row.bandwidth_mbit,
				   "transport", row.transport,
				   "downtime_limit_ms",
				   (json_int_t)row.downtime_limit_ms,
				   "touch_bytes", (json_int_t)unit_size_bytes(
				   &row.touch, row.memory.bytes), "guard_bytes",
				   (json_int_t)unit_size_bytes(&row.guard,
				   row.memory.bytes), "writer_bytes",
				   (json_int_t)unit_size_bytes(&row.writer,
				   row.memory.bytes)));
		for (k = 0; k < cfg->repetitions; k++) {
			rc = mig_one_run(&row, k, accel, rpt, jrow, err, len);
			if (rc) {
				if (rc != -EINTR)
					rpt_add_error(rpt, name, err);
				rpt_summarize_row(jrow);
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
