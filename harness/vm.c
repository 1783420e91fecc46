// SPDX-License-Identifier: GPL-2.0
/*
 * A fleet of VMs: parallel boot with a bound on simultaneous boots, one
 * poll() loop over every monitor and agent socket, death detection, and
 * cleanup on every exit path.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"
#include "vm.h"

/* Lines of each log shown when a VM dies. */
#define VM_TAIL_LINES 20
/* Bytes read from the end of a log to find them; longer lines are cut. */
#define VM_TAIL_BYTES 8192
/*
 * A socket closes as QEMU exits, a moment before the process can be
 * reaped: how long a closed socket waits for that, ms.
 */
#define VM_REAP_GRACE_MS 2000

/* A VM's logs in its run directory: kept when it dies, in this order. */
static const char *const vm_logs[] = { "qemu.log", "serial.log" };
#define VM_NLOGS (sizeof(vm_logs) / sizeof(vm_logs[0]))

volatile sig_atomic_t bb_interrupted;

static void vm_on_signal(int sig)
{
	bb_interrupted = sig;
}

void vm_install_signals(void)
{
	struct sigaction sa = { .sa_handler = vm_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Where temporary directories go: $TMPDIR, else /tmp. */
static const char *vm_tmp_base(void)
{
	const char *tmp = getenv("TMPDIR");

	return tmp && *tmp ? tmp : "/tmp";
}

static void vm_on_event(void *opaque, const char *event, json_t *data,
			double raised_ms)
{
	struct vm *vm = opaque;

	if (!strcmp(event, "BALLOON_CHANGE")) {
		vm->balloon_actual = json_integer_value(json_object_get(data,
							"actual"));
		vm->balloon_raised_ms = raised_ms;
		vm->balloon_events++;
	} else if (!strcmp(event, "SHUTDOWN")) {
		vm->shutdown_seen = 1;
	}
	bb_debug("%s: event %s", vm->spec.name, event);
}

/* The agent asks after a failed command whether its VM died. */
static int vm_agent_watch(void *opaque, int rc, char *err, unsigned long len)
{
	return vm_check_alive(opaque, rc, err, len);
}

int fleet_init(struct fleet *f, int n, const struct backend_ops *ops)
{
	int i;

	memset(f, 0, sizeof(*f));
	snprintf(f->rundir, sizeof(f->rundir), "%s/balloonbench.XXXXXX",
		 vm_tmp_base());
	if (!mkdtemp(f->rundir))
		return -errno;
	f->vms = calloc((size_t)n, sizeof(*f->vms));
	if (!f->vms) {
		rmdir(f->rundir);
		return -ENOMEM;
	}
	f->n = n;
	for (i = 0; i < n; i++) {
		struct vm *vm = &f->vms[i];

		vm->ops = ops;
		vm->spec.index = i;
		snprintf(vm->spec.name, sizeof(vm->spec.name), "vm%02d", i);
		snprintf(vm->spec.dir, sizeof(vm->spec.dir), "%s/%s",
			 f->rundir, vm->spec.name);
		qmp_init(&vm->qmp, vm_on_event, vm);
		agent_init(&vm->agent);
		agent_set_watch(&vm->agent, vm_agent_watch, vm);
	}
	return 0;
}

/* "signal 9" or "exit status 1": how a wait status ended. */
static const char *vm_end_text(int status, char *buf, unsigned long len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	return buf;
}

/*
 * Offset in buf (n bytes, the end of a file) of its last `lines` lines.
 * When buf does not start the file, a partial first line is skipped.
 */
static size_t vm_tail_start(const char *buf, size_t n, int lines, int whole)
{
	const char *nl;
	size_t i = n;

	if (i && buf[i - 1] == '\n')
		i--;
	for (; i > 0; i--)
		if (buf[i - 1] == '\n' && --lines == 0)
			return i;
	if (whole)
		return 0;
	nl = memchr(buf, '\n', n);
	return nl ? (size_t)(nl - buf) + 1 : n;
}

/* Print the last VM_TAIL_LINES lines of a log, each prefixed by name. */
static void vm_print_tail(const char *path, const char *name)
{
	char buf[VM_TAIL_BYTES];
	size_t n, at, end, l;
	long size;
	FILE *fp;

	fp = fopen(path, "r");
	if (!fp)
		return;
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	if (size > (long)sizeof(buf))
		fseek(fp, size - (long)sizeof(buf), SEEK_SET);
	else
		rewind(fp);
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	at = vm_tail_start(buf, n, VM_TAIL_LINES, size <= (long)sizeof(buf));
	for (; at < n; at = end + 1) {
		end = at;
		while (end < n && buf[end] != '\n')
			end++;
		/* the serial console ends its lines with \r\n */
		for (l = end - at; l && buf[at + l - 1] == '\r'; l--)
			;
		fprintf(stderr, "  %s| %.*s\n", name, (int)l, buf + at);
	}
}

void vm_report_death(const struct vm *vm)
{
	const char *dir = vm->logs_kept[0] ? vm->logs_kept : vm->spec.dir;
	char how[32], path[300];
	unsigned i;

	vm_end_text(vm->exit_status, how, sizeof(how));
	if (vm->logs_kept[0])
		bb_err("%s died (%s); its logs are kept in %s; their last "
		       "lines:", vm->spec.name, how, vm->logs_kept);
	else
		bb_err("%s died (%s); last lines of its logs:", vm->spec.name,
		       how);
	for (i = 0; i < VM_NLOGS; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, vm_logs[i]);
		vm_print_tail(path, vm_logs[i]);
	}
}

/*
 * Move a dead VM's logs out of its run directory, which cleanup removes,
 * into a directory of their own next to it, for a post-mortem.
 */
static void vm_keep_logs(struct vm *vm)
{
	char dir[256], from[300], to[300];
	unsigned i, kept = 0;

	snprintf(dir, sizeof(dir), "%s/balloonbench-%s-died.XXXXXX",
		 vm_tmp_base(), vm->spec.name);
	if (!mkdtemp(dir)) {
		bb_warn("%s: cannot keep its logs: %s: %s", vm->spec.name, dir,
			strerror(errno));
		return;
	}
	for (i = 0; i < VM_NLOGS; i++) {
		snprintf(from, sizeof(from), "%s/%s", vm->spec.dir, vm_logs[i]);
		snprintf(to, sizeof(to), "%s/%s", dir, vm_logs[i]);
		if (!rename(from, to))
			kept++;
		else if (errno != ENOENT)
			bb_warn("%s: cannot keep %s: %s", vm->spec.name, from,
				strerror(errno));
	}
	if (!kept) {
		rmdir(dir);
		return;
	}
	snprintf(vm->logs_kept, sizeof(vm->logs_kept), "%s", dir);
}

void vm_set_dead(struct vm *vm, int status)
{
	if (vm->state == VM_DEAD)
		return;
	vm->exit_status = status;
	vm->state = VM_DEAD;
	vm_keep_logs(vm);
	vm_report_death(vm);
}

/* err: how vm died and where its logs are. */
static void vm_death_err(const struct vm *vm, char *err, unsigned long len)
{
	char how[32];

	vm_end_text(vm->exit_status, how, sizeof(how));
	if (vm->logs_kept[0])
		snprintf(err, len, "%s died (%s); its logs are in %s",
			 vm->spec.name, how, vm->logs_kept);
	else
		snprintf(err, len, "%s died (%s)", vm->spec.name, how);
}

int vm_check_alive(struct vm *vm, int rc, char *err, unsigned long len)
{
	double until = bb_now_ms() + (rc == -EPIPE ? VM_REAP_GRACE_MS : 0);
	int status = vm->exit_status;

	while (vm->state == VM_BOOTING || vm->state == VM_READY) {
		if (vm->ops->exited(vm, &status)) {
			vm_set_dead(vm, status);
			break;
		}
		if (bb_now_ms() >= until || bb_interrupted)
			return rc;
		usleep(10000);
	}
	if (vm->state != VM_DEAD)
		return rc;
	vm_death_err(vm, err, len);
	return -ECHILD;
}

int fleet_check(struct fleet *f)
{
	int i, status, dead = 0;

	for (i = 0; i < f->n; i++) {
		struct vm *vm = &f->vms[i];

		if (vm->state != VM_BOOTING && vm->state != VM_READY)
			continue;
		status = vm->exit_status;
		if (!vm->ops->exited(vm, &status))
			continue;
		vm_set_dead(vm, status);
		dead++;
	}
	return dead;
}

int fleet_poll(struct fleet *f, int timeout_ms)
{
	struct pollfd *p = calloc((size_t)f->n * 2, sizeof(*p));
	int i, n = 0, rc;

	if (!p)
		return -ENOMEM;
	/* callers loop; a short poll lets them see bb_interrupted */
	if (timeout_ms > BB_WAIT_SLICE_MS)
		timeout_ms = BB_WAIT_SLICE_MS;
	for (i = 0; i < f->n; i++) {
		if (f->vms[i].qmp.c.fd >= 0)
			p[n++] = (struct pollfd){ f->vms[i].qmp.c.fd, POLLIN, 0 };
		/* Only booting VMs: a ready VM's agent may still hold late
		 * replies to earlier syncs, which would make poll() spin. */
		if (f->vms[i].state == VM_BOOTING && f->vms[i].agent.c.fd >= 0)
			p[n++] = (struct pollfd){ f->vms[i].agent.c.fd, POLLIN, 0 };
	}
	rc = poll(p, (nfds_t)n, timeout_ms);
	free(p);
	if (rc < 0 && errno != EINTR)
		return -errno;
	for (i = 0; i < f->n; i++)
		if (f->vms[i].qmp.c.fd >= 0)
			qmp_pump(&f->vms[i].qmp);
	return 0;
}

static int vm_start_one(struct vm *vm, char *err, unsigned long len)
{
	int rc;

	vm->t_start_ms = bb_now_ms();
	vm->state = VM_BOOTING;
	rc = vm->ops->boot(vm, err, len);
	if (rc == 0) {
		rc = vm->ops->agent_open(vm);
		if (rc)
			snprintf(err, len, "%s: cannot connect the guest agent "
				 "socket: %s", vm->spec.name, strerror(-rc));
	}
	if (rc == -ECHILD) {
		vm_set_dead(vm, vm->exit_status);
		vm_death_err(vm, err, len);
	} else if (rc) {
		vm->state = VM_DEAD;
	}
	return rc;
}

/* One pass over booting VMs: 1 for each that became ready. */
static int vm_poll_ready(struct fleet *f)
{
	int i, rc, newly = 0;

	for (i = 0; i < f->n; i++) {
		struct vm *vm = &f->vms[i];

		if (vm->state != VM_BOOTING)
			continue;
		rc = agent_poll_sync(&vm->agent);
		if (rc == 1) {
			vm->state = VM_READY;
			vm->t_ready_ms = bb_now_ms();
			progress_boot(f, i, 0);
			newly++;
		}
	}
	return newly;
}

int fleet_boot(struct fleet *f, int max_parallel, uint64_t timeout_ms,
	       char *err, unsigned long len)
{
	double deadline = bb_now_ms() + (double)timeout_ms;
	int next = 0, booting = 0, ready = 0, rc, newly;

	if (max_parallel <= 0)
		max_parallel = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while (ready < f->n) {
		if (bb_interrupted) {
			snprintf(err, len, "interrupted by signal %d",
				 (int)bb_interrupted);
			return -EINTR;
		}
		while (next < f->n && booting < max_parallel) {
			rc = vm_start_one(&f->vms[next++], err, len);
			if (rc)
				return rc;
			booting++;
		}
		fleet_poll(f, 50);
		newly = vm_poll_ready(f);
		ready += newly;
		booting -= newly;
		if (fleet_check(f)) {
			snprintf(err, len, "a VM died while booting");
			return -ECHILD;
		}
		if (bb_now_ms() > deadline) {
			snprintf(err, len, "%d of %d VMs not ready after %llu s "
				 "(raise boot_timeout?)", f->n - ready, f->n,
				 (unsigned long long)timeout_ms / 1000);
			return -ETIMEDOUT;
		}
		progress_boot(f, -1, 0);
	}
	progress_boot(f, -1, 1);
	return 0;
}

void fleet_destroy(struct fleet *f)
{
	int i;

	if (!f->vms)
		return;
	for (i = 0; i < f->n; i++) {
		struct vm *vm = &f->vms[i];

		if (vm->ops->pid(vm) > 0) {
			/* after a ^C, no waiting for QEMU to quit */
			if (!bb_interrupted && (vm->state == VM_READY ||
					       vm->state == VM_BOOTING))
				vm->ops->shutdown(vm, 5000);
			vm->ops->kill(vm);
		}
		if (vm->state != VM_DEAD && vm->state != VM_PENDING)
			vm->state = VM_STOPPED;
		vm->ops->cleanup(vm);
	}
	if (f->rundir[0])
		rmdir(f->rundir);
	free(f->vms);
	f->vms = NULL;
}

void vm_remove_dir(const struct vm *vm, const char *const *files, unsigned n)
{
	char path[300];
	unsigned i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", vm->spec.dir, files[i]);
		unlink(path);
	}
	rmdir(vm->spec.dir);
}

int vm_wait_exit(struct vm *vm, double deadline_ms, int timeout_ms)
{
	int status;

	while (!vm->ops->exited(vm, &status)) {
		if (bb_now_ms() > deadline_ms) {
			bb_warn("%s: QEMU did not quit in %d ms; stopping it "
				"hard", vm->spec.name, timeout_ms);
			vm->ops->kill(vm);
			return -ETIMEDOUT;
		}
		usleep(5000);
	}
	return 0;
}

int vm_has_events(const struct vm *vm)
{
	return vm->qmp.c.fd >= 0 || vm->backend_events;
}

int vm_poll_monitor(struct vm *vm, int timeout_ms)
{
	struct pollfd p = { .fd = vm->qmp.c.fd, .events = POLLIN };
	int rc;

	if (timeout_ms > BB_WAIT_SLICE_MS)
		timeout_ms = BB_WAIT_SLICE_MS;
	if (p.fd < 0 && vm->backend_events && vm->ops->poll_events)
		return vm->ops->poll_events(vm, timeout_ms);
	if (p.fd < 0) {
		usleep((useconds_t)timeout_ms * 1000);
		return 0;
	}
	rc = poll(&p, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	return rc ? qmp_pump(&vm->qmp) : 0;
}
