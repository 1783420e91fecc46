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

static void vm_on_event(void *opaque, const char *event, json_t *data)
{
	struct vm *vm = opaque;

	if (!strcmp(event, "BALLOON_CHANGE")) {
		vm->balloon_actual = json_integer_value(json_object_get(data,
							"actual"));
		vm->balloon_events++;
	} else if (!strcmp(event, "SHUTDOWN")) {
		vm->shutdown_seen = 1;
	}
	bb_debug("%s: event %s", vm->spec.name, event);
}

int fleet_init(struct fleet *f, int n, const struct backend_ops *ops)
{
	const char *tmp = getenv("TMPDIR");
	int i;

	memset(f, 0, sizeof(*f));
	snprintf(f->rundir, sizeof(f->rundir), "%s/balloonbench.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
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
	}
	return 0;
}

void vm_report_death(const struct vm *vm)
{
	char path[300], line[512];
	const char *files[] = { "qemu.log", "serial.log" };
	long size;
	unsigned i;
	FILE *fp;

	bb_err("%s died (%s %d); last lines of its logs:", vm->spec.name,
	       WIFSIGNALED(vm->exit_status) ? "signal" : "exit status",
	       WIFSIGNALED(vm->exit_status) ? WTERMSIG(vm->exit_status) :
	       WEXITSTATUS(vm->exit_status));
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", vm->spec.dir, files[i]);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		fseek(fp, 0, SEEK_END);
		size = ftell(fp);
		fseek(fp, size > 1500 ? size - 1500 : 0, SEEK_SET);
		if (size > 1500 && !fgets(line, sizeof(line), fp))
			line[0] = '\0';	/* skip a partial first line */
		while (fgets(line, sizeof(line), fp))
			fprintf(stderr, "  %s| %s", files[i], line);
		fclose(fp);
	}
}

int fleet_check(struct fleet *f)
{
	int i, status, dead = 0;

	for (i = 0; i < f->n; i++) {
		struct vm *vm = &f->vms[i];

		if (vm->state != VM_BOOTING && vm->state != VM_READY)
			continue;
		if (!vm->ops->exited(vm, &status))
			continue;
		vm->exit_status = status;
		vm->state = VM_DEAD;
		vm_report_death(vm);
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
	if (rc) {
		vm->state = VM_DEAD;
		if (rc == -ECHILD)
			vm_report_death(vm);
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
			if (vm->state == VM_READY || vm->state == VM_BOOTING)
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

int vm_rss_bytes(const struct vm *vm, uint64_t *bytes)
{
	char path[64], line[256];
	unsigned long long kb;
	FILE *fp;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status",
		 (int)vm->ops->pid((struct vm *)vm));
	fp = fopen(path, "r");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
			*bytes = kb * 1024;
			rc = 0;
			break;
		}
	fclose(fp);
	return rc;
}

int vm_cpu_ms(const struct vm *vm, double *ms)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat",
		 (int)vm->ops->pid((struct vm *)vm));
	fp = fopen(path, "r");
	if (!fp)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* Fields after the command name, which may contain spaces. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu", &ut, &st) != 2)
		return -EINVAL;
	*ms = (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
	return 0;
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
