// SPDX-License-Identifier: GPL-2.0
/*
 * The direct QEMU backend: spawns qemu-system-x86_64 with QMP, the guest
 * agent channel, a serial log and a pid file, all inside the VM's own run
 * directory, and talks to it over those sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

/* How long QEMU may take to open its monitor socket. */
#define QEMU_MONITOR_TIMEOUT_MS 30000

/*
 * Guest kernel options.  init_on_alloc=0: Debian turns page zeroing on
 * allocation on by default; the balloon would then spend its time zeroing
 * pages it hands to the host, which no kernel of the seed experiments did.
 * The others shorten boot under TCG.
 */
#define QEMU_GUEST_CMDLINE \
	"init_on_alloc=0 mitigations=off tsc=reliable no_timer_check"

static void qemu_free_argv(char **argv)
{
	for (; *argv; argv++)
		free(*argv);
}

static char *qemu_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *qemu_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* "k=v k2=v2" -> "k=v,k2=v2": the kernel command line takes one word. */
static void qemu_join_params(const char *in, char *out, unsigned long len)
{
	unsigned long o = 0;
	int sep = 0;

	for (; *in && o + 1 < len; in++) {
		if (*in == ' ' || *in == '\t') {
			sep = o > 0;
			continue;
		}
		if (sep && o + 2 < len)
			out[o++] = ',';
		sep = 0;
		out[o++] = *in;
	}
	out[o] = '\0';
}

int qemu_kernel_cmdline(const struct vm_spec *s, char *buf, unsigned long len)
{
	char params[300];
	int n;

	qemu_join_params(s->modparams, params, sizeof(params));
	/* The user's options come after ours: the kernel takes the last. */
	n = snprintf(buf, len, "console=ttyS0 panic=-1 quiet "
		     QEMU_GUEST_CMDLINE "%s%s bb.driver=%s%s%s%s",
		     s->guest_cmdline[0] ? " " : "", s->guest_cmdline,
		     s->driver, params[0] ? " bb.modparams=" : "", params,
		     s->probe ? " bb.probe=1" : "");
	return n < 0 || (unsigned long)n >= len ? -E2BIG : 0;
}

int qemu_build_argv(const struct vm_spec *s, char **argv, int max)
{
	char cmdline[BB_CMDLINE_LEN], dev[300];
	int n = 0, i;

#define ARG(x) do { if (n + 1 >= max) goto too_long; argv[n++] = (x); } while (0)
	if (qemu_kernel_cmdline(s, cmdline, sizeof(cmdline)))
		goto too_long;
	snprintf(dev, sizeof(dev), "%s%s", s->device[0] ? "," : "", s->device);
	ARG(strdup(s->qemu_bin));
	ARG(strdup("-name"));
	ARG(strdup(s->name));
	ARG(strdup("-machine"));
	ARG(strdup("pc"));
	ARG(strdup("-accel"));
	if (!strcmp(s->accel, "kvm"))
		ARG(strdup("kvm"));
	else
		ARG(qemu_fmt("tcg,tb-size=%llu",
			     (unsigned long long)(s->tb_size_bytes >> 20)));
	if (!strcmp(s->accel, "kvm")) {
		ARG(strdup("-cpu"));
		ARG(strdup("host"));
	}
	ARG(strdup("-m"));
	ARG(qemu_fmt("%lluM", (unsigned long long)(s->memory_bytes >> 20)));
	ARG(strdup("-smp"));
	ARG(qemu_fmt("%d", s->vcpus));
	ARG(strdup("-nodefaults"));
	ARG(strdup("-no-user-config"));
	ARG(strdup("-display"));
	ARG(strdup("none"));
	ARG(strdup("-no-reboot"));
	if (!access(QEMU_QBOOT, R_OK)) {
		/* a minimal firmware: boots a -kernel guest faster than SeaBIOS */
		ARG(strdup("-bios"));
		ARG(strdup(QEMU_QBOOT));
	}
	ARG(strdup("-kernel"));
	ARG(strdup(s->kernel));
	ARG(strdup("-initrd"));
	ARG(strdup(s->initrd));
	ARG(strdup("-append"));
	ARG(strdup(cmdline));
	ARG(strdup("-serial"));
	ARG(qemu_fmt("file:%s/serial.log", s->dir));
	ARG(strdup("-qmp"));
	ARG(qemu_fmt("unix:%s/qmp.sock,server=on,wait=off", s->dir));
	ARG(strdup("-pidfile"));
	ARG(qemu_fmt("%s/qemu.pid", s->dir));
	if (s->object[0]) {
		ARG(strdup("-object"));
		ARG(strdup(s->object));
	}
	ARG(strdup("-device"));
	ARG(qemu_fmt("virtio-balloon-pci,id=" BB_BALLOON_ID "%s", dev));
	ARG(strdup("-device"));
	ARG(strdup("virtio-serial-pci,id=vser0"));
	ARG(strdup("-chardev"));
	ARG(qemu_fmt("socket,id=agent0,path=%s/agent.sock,server=on,wait=off",
		     s->dir));
	ARG(strdup("-device"));
	ARG(strdup("virtserialport,chardev=agent0,name=org.qemu.guest_agent.0"));
	for (i = 0; i < s->ndisks; i++) {
		ARG(strdup("-drive"));
		ARG(qemu_fmt("file=%s,if=none,id=disk%d,format=raw%s",
			     s->disks[i].path, i,
			     s->disks[i].readonly ? ",readonly=on" : ""));
		ARG(strdup("-device"));
		ARG(qemu_fmt("virtio-blk-pci,drive=disk%d,serial=%s", i,
			     s->disks[i].serial));
	}
	if (s->incoming[0]) {
		ARG(strdup("-incoming"));
		ARG(strdup(s->incoming));
	}
#undef ARG
	argv[n] = NULL;
	return n;
too_long:
	argv[n] = NULL;
	qemu_free_argv(argv);
	argv[0] = NULL;
	return -E2BIG;
}

/*
 * Join the run's memory cgroup, so that every page QEMU touches is
 * charged to it from the first one.  Failing that the VM must not run
 * outside the limit: the child exits and the boot fails.
 */
static void qemu_join_cgroup(const struct vm *vm)
{
	char pid[24];
	int fd, n;

	if (!vm->spec.cgroup_procs[0])
		return;
	n = snprintf(pid, sizeof(pid), "%d", (int)getpid());
	fd = open(vm->spec.cgroup_procs, O_WRONLY);
	if (fd < 0 || write(fd, pid, (size_t)n) != n) {
		fprintf(stderr, "cannot join cgroup %s: %s\n",
			vm->spec.cgroup_procs, strerror(errno));
		_exit(126);
	}
	close(fd);
}

static void qemu_child(const struct vm *vm, char **argv)
{
	char log[300];
	int fd;

	/* Never outlive the harness, even if it is SIGKILLed. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);	/* a terminal's ^C goes to us, not straight to QEMU */
	snprintf(log, sizeof(log), "%s/qemu.log", vm->spec.dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	qemu_join_cgroup(vm);
	execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int qemu_exited(struct vm *vm, int *status)
{
	pid_t r;

	if (vm->pid <= 0)
		return 1;
	r = waitpid(vm->pid, status, WNOHANG);
	if (r == vm->pid) {
		vm->pid = 0;
		return 1;
	}
	return 0;
}

/* Connect the monitor as soon as QEMU has created its socket. */
static int qemu_connect_monitor(struct vm *vm, char *err, unsigned long len)
{
	double deadline = bb_now_ms() + QEMU_MONITOR_TIMEOUT_MS;
	char path[300];
	int rc, status;

	snprintf(path, sizeof(path), "%s/qmp.sock", vm->spec.dir);
	while ((rc = qmp_connect(&vm->qmp, path, 10000)) != 0) {
		if (qemu_exited(vm, &status)) {
			/* vm_start_one reports it and keeps its logs */
			vm->exit_status = status;
			snprintf(err, len, "%s: QEMU exited at start",
				 vm->spec.name);
			return -ECHILD;
		}
		if (rc == -EINTR || bb_interrupted) {
			snprintf(err, len, "%s: interrupted while connecting "
				 "to QMP", vm->spec.name);
			return -EINTR;
		}
		if (bb_now_ms() > deadline) {
			snprintf(err, len, "%s: no QMP monitor at %s: %s",
				 vm->spec.name, path, strerror(-rc));
			return -ETIMEDOUT;
		}
		usleep(20000);
	}
	return 0;
}

static int qemu_boot(struct vm *vm, char *err, unsigned long len)
{
	char *argv[64];
	pid_t pid;
	int rc;

	if (mkdir(vm->spec.dir, 0700) && errno != EEXIST) {
		snprintf(err, len, "%s: %s", vm->spec.dir, strerror(errno));
		return -errno;
	}
	if (access(vm->spec.qemu_bin, X_OK)) {
		snprintf(err, len, "QEMU not found at %s (run make)",
			 vm->spec.qemu_bin);
		return -ENOENT;
	}
	rc = qemu_build_argv(&vm->spec, argv, 64);
	if (rc < 0) {
		snprintf(err, len, "QEMU command line too long");
		return rc;
	}
	pid = fork();
	if (pid == 0)
		qemu_child(vm, argv);
	qemu_free_argv(argv);
	if (pid < 0) {
		snprintf(err, len, "fork: %s", strerror(errno));
		return -errno;
	}
	vm->pid = pid;
	return qemu_connect_monitor(vm, err, len);
}

static void qemu_kill(struct vm *vm)
{
	int status;
	pid_t r;

	if (vm->pid <= 0)
		return;
	kill(vm->pid, SIGKILL);
	/* a signal (a second ^C) must not cut the reaping short */
	while ((r = waitpid(vm->pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (r == vm->pid)
		vm->exit_status = status;
	vm->pid = 0;
}

static int qemu_shutdown(struct vm *vm, int timeout_ms)
{
	double deadline = bb_now_ms() + timeout_ms;
	char err[256];

	if (vm->pid <= 0)
		return 0;
	if (vm->qmp.c.fd >= 0)
		qmp_call(&vm->qmp, "quit", NULL, NULL, timeout_ms, err,
			 sizeof(err));
	return vm_wait_exit(vm, deadline, timeout_ms);
}

static pid_t qemu_pid(struct vm *vm)
{
	return vm->pid;
}

static int qemu_qmp(struct vm *vm, const char *cmd, json_t *args,
		    json_t **ret, int timeout_ms, char *err, unsigned long len)
{
	int rc;

	rc = qmp_call(&vm->qmp, cmd, args, ret, timeout_ms, err, len);
	/* a closed monitor is usually a dead QEMU: say so */
	return rc ? vm_check_alive(vm, rc, err, len) : 0;
}

static int qemu_agent_open(struct vm *vm)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/agent.sock", vm->spec.dir);
	return agent_open(&vm->agent, path);
}

static void qemu_cleanup(struct vm *vm)
{
	static const char *const files[] = {
		"qmp.sock", "agent.sock", "qemu.pid", "serial.log", "qemu.log",
	};

	qmp_close(&vm->qmp);
	agent_close(&vm->agent);
	vm_remove_dir(vm, files, sizeof(files) / sizeof(files[0]));
}

const struct backend_ops backend_qemu = {
	.name = "qemu",
	.boot = qemu_boot,
	.shutdown = qemu_shutdown,
	.kill = qemu_kill,
	.exited = qemu_exited,
	.pid = qemu_pid,
	.qmp = qemu_qmp,
	.agent_open = qemu_agent_open,
	.cleanup = qemu_cleanup,
};
