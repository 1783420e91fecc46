// SPDX-License-Identifier: GPL-2.0
/*
 * The perf probe: while a scenario's measured phase runs, `perf record -g`
 * and `perf stat` of the discard system calls (madvise, fallocate) on the
 * VM's emulator.  Both start with their events disabled and are switched
 * on and off through perf's control FIFOs, so that nothing outside the
 * phase (perf's own start-up included) is counted.  The sample gives the
 * number of discard calls, the top host functions and the path of the
 * perf data, which stays in the probe's directory (README: flame graphs).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "probe.h"
#include "vm.h"

#define PERF_BIN "perf"
#define PERF_ACK_TIMEOUT_MS 10000
#define PERF_EXIT_TIMEOUT_MS 30000
#define PERF_TOP 8
/* Functions below this share of the samples are not listed, percent. */
#define PERF_TOP_MIN_PCT "1"

struct perf_tool {
	pid_t pid;		/* the perf process, 0 when gone */
	int ctl;		/* control FIFO, our end */
	int ack;		/* acknowledgement FIFO, our end */
	char ctl_path[320];	/* their paths, removed by stop */
	char ack_path[320];
};

struct perf_state {
	struct perf_tool stat;	/* perf stat: discard calls */
	struct perf_tool rec;	/* perf record -g: where the time goes */
	char stat_out[320];	/* perf stat's CSV */
	char data[320];		/* perf record's data */
};

static int perf_fifos(struct perf_tool *t, const char *base)
{
	snprintf(t->ctl_path, sizeof(t->ctl_path), "%s.ctl", base);
	snprintf(t->ack_path, sizeof(t->ack_path), "%s.ack", base);
	unlink(t->ctl_path);
	unlink(t->ack_path);
	if (mkfifo(t->ctl_path, 0600) || mkfifo(t->ack_path, 0600))
		return -errno;
	/* Read-write ends never block on open and never see EOF. */
	t->ctl = open(t->ctl_path, O_RDWR | O_CLOEXEC);
	t->ack = open(t->ack_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	return t->ctl < 0 || t->ack < 0 ? -errno : 0;
}

static int perf_spawn(struct perf_tool *t, char **argv)
{
	int devnull;

	t->pid = fork();
	if (t->pid < 0) {
		t->pid = 0;
		return -errno;
	}
	if (!t->pid) {
		devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return 0;
}

/* Send a control command and wait for perf's "ack". */
static int perf_command(struct perf_tool *t, const char *cmd)
{
	struct pollfd p = { .fd = t->ack, .events = POLLIN };
	double deadline = bb_now_ms() + PERF_ACK_TIMEOUT_MS;
	char buf[16];
	ssize_t n;
	int rc;

	if (write(t->ctl, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -EIO;
	while (bb_now_ms() < deadline) {
		rc = poll(&p, 1, BB_WAIT_SLICE_MS);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc > 0) {
			n = read(t->ack, buf, sizeof(buf) - 1);
			if (n > 0)
				return 0;
		}
		if (t->pid && waitpid(t->pid, NULL, WNOHANG) == t->pid) {
			t->pid = 0;
			return -ECHILD;		/* perf exited: see its output */
		}
	}
	return -ETIMEDOUT;
}

/* Stop perf (SIGINT makes it write its output) and reap it. */
static void perf_end(struct perf_tool *t)
{
	double deadline = bb_now_ms() + PERF_EXIT_TIMEOUT_MS;

	if (t->pid) {
		kill(t->pid, SIGINT);
		while (waitpid(t->pid, NULL, WNOHANG) == 0 &&
		       bb_now_ms() < deadline)
			usleep(20000);
		if (kill(t->pid, 0) == 0) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, NULL, 0);
		}
		t->pid = 0;
	}
	if (t->ctl >= 0)
		close(t->ctl);
	if (t->ack >= 0)
		close(t->ack);
	t->ctl = t->ack = -1;
	if (t->ctl_path[0])
		unlink(t->ctl_path);
	if (t->ack_path[0])
		unlink(t->ack_path);
}

static int perf_launch(struct perf_state *s, const char *base, pid_t pid)
{
	char pidstr[16], ctl[700], tmp[330];
	char *stat_argv[] = {
		PERF_BIN, "stat", "-x", ",", "-e",
		"syscalls:sys_enter_madvise,syscalls:sys_enter_fallocate",
		"-p", pidstr, "-D", "-1", "--control", ctl, "-o", s->stat_out,
		NULL,
	};
	char *rec_argv[] = {
		PERF_BIN, "record", "-q", "-g", "-p", pidstr, "-D", "-1",
		"--control", ctl, "-o", s->data, NULL,
	};
	int rc;

	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	snprintf(tmp, sizeof(tmp), "%s.stat", base);
	rc = perf_fifos(&s->stat, tmp);
	snprintf(ctl, sizeof(ctl), "fifo:%s,%s", s->stat.ctl_path,
		 s->stat.ack_path);
	if (!rc)
		rc = perf_spawn(&s->stat, stat_argv);
	snprintf(tmp, sizeof(tmp), "%s.rec", base);
	if (!rc)
		rc = perf_fifos(&s->rec, tmp);
	snprintf(ctl, sizeof(ctl), "fifo:%s,%s", s->rec.ctl_path,
		 s->rec.ack_path);
	if (!rc)
		rc = perf_spawn(&s->rec, rec_argv);
	if (!rc)
		rc = perf_command(&s->stat, "enable");
	if (!rc)
		rc = perf_command(&s->rec, "enable");
	return rc;
}

static void probe_perf_stop(struct probe *p)
{
	struct perf_state *s = p->priv;

	if (!s)
		return;
	perf_end(&s->stat);
	perf_end(&s->rec);
	free(s);
	p->priv = NULL;
}

static int probe_perf_start(struct probe *p, char *err, unsigned long len)
{
	struct perf_state *s = calloc(1, sizeof(*s));
	char base[300];
	int rc;

	if (!s)
		return -ENOMEM;
	s->stat.ctl = s->stat.ack = s->rec.ctl = s->rec.ack = -1;
	p->priv = s;
	snprintf(base, sizeof(base), "%s/%s", p->dir[0] ? p->dir : ".",
		 p->tag);
	snprintf(s->stat_out, sizeof(s->stat_out), "%s.perf-stat.csv", base);
	snprintf(s->data, sizeof(s->data), "%s.perf.data", base);
	rc = perf_launch(s, base, p->vm->ops->pid(p->vm));
	if (rc) {
		snprintf(err, len, "%s: cannot start perf on the emulator (%s);"
			 " is linux-perf installed, and may root trace "
			 "syscalls here?", p->vm->spec.name, strerror(-rc));
		probe_perf_stop(p);
	}
	return rc;
}

/* perf stat -x, lines: "COUNT,UNIT,EVENT,...", COUNT maybe "<not counted>". */
static void perf_stat_counts(const char *path, json_t *out)
{
	char line[512], *c1, *c2;
	long long n;
	FILE *fp = fopen(path, "r");

	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		c1 = strchr(line, ',');
		c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c2 || !strstr(c2, "sys_enter_"))
			continue;
		n = line[0] == '<' ? 0 : strtoll(line, NULL, 10);
		c2 = strstr(c2, "sys_enter_") + strlen("sys_enter_");
		c2[strcspn(c2, ",\n")] = '\0';
		json_object_set_new(out, c2, json_integer(n));
	}
	fclose(fp);
}

/* The top functions by self time, from perf report. */
static json_t *perf_top(const char *data)
{
	char cmd[512], line[512], sym[256], kind;
	json_t *top = json_array();
	double pct;
	FILE *p;

	snprintf(cmd, sizeof(cmd), PERF_BIN " report -i '%s' --stdio -q "
		 "--no-children -g none --sort sym --percent-limit "
		 PERF_TOP_MIN_PCT " 2>/dev/null", data);
	p = popen(cmd, "r");
	if (!p)
		return top;
	while (fgets(line, sizeof(line), p) &&
	       json_array_size(top) < PERF_TOP)
		if (sscanf(line, " %lf%% [%c] %255[^\n]", &pct, &kind, sym) == 3)
			json_array_append_new(top, json_pack("{s:s, s:f, s:b}",
					      "symbol", sym, "percent", pct,
					      "kernel", kind == 'k'));
	pclose(p);
	return top;
}

static int probe_perf_sample(struct probe *p, json_t *out, char *err,
			     unsigned long len)
{
	struct perf_state *s = p->priv;
	json_t *calls = json_object();
	int rc;

	rc = perf_command(&s->stat, "disable");
	if (!rc)
		rc = perf_command(&s->rec, "disable");
	perf_end(&s->stat);
	perf_end(&s->rec);
	if (rc) {
		json_decref(calls);
		snprintf(err, len, "%s: perf did not answer: %s",
			 p->vm->spec.name, strerror(-rc));
		return rc;
	}
	perf_stat_counts(s->stat_out, calls);
	json_object_set_new(out, "profile", json_pack("{s:o, s:o, s:s, s:s}",
			    "discard_syscalls", calls, "top", perf_top(s->data),
			    "perf_data", s->data, "perf_stat", s->stat_out));
	return 0;
}

const struct probe_ops probe_perf = {
	.name = "perf",
	.vm = 1,
	.start = probe_perf_start,
	.sample = probe_perf_sample,
	.stop = probe_perf_stop,
};
