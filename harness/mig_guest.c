// SPDX-License-Identifier: GPL-2.0
/*
 * The migrate scenario's guest side, all through the guest agent: the
 * pre-workload and the checkers started on the source (bbload touch,
 * guard, writer), and on the destination their verdicts, the guest's
 * health after it takes its free memory back, and vballoon's counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "migrate.h"
#include "units.h"

/* Run a guest command that prints one JSON object: *out. */
int mig_guest_json(struct vm *vm, const char *cmd, json_t **out,
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
	if (!json_is_integer(json_object_get(mi, "meminfo_MemAvailable"))) {
		json_decref(mi);
		snprintf(err, len, "guest: bbload meminfo has no "
			 "meminfo_MemAvailable");
		return -EPROTO;
	}
	avail = (uint64_t)json_integer_value(json_object_get(mi,
						"meminfo_MemAvailable"));
	json_decref(mi);
	if (avail <= margin) {
		bb_warn("touch: the guest has only %s available; writing "
			"nothing", unit_fmt_size(avail, a, sizeof(a)));
		*touch = 0;
	} else if (*touch > avail - margin) {
		bb_warn("touch: %s is more than the guest can write (%s "
			"available); writing %s", unit_fmt_size(*touch, a,
			sizeof(a)), unit_fmt_size(avail, b, sizeof(b)),
			unit_fmt_size(avail - margin, c, sizeof(c)));
		*touch = avail - margin;
	}
	return 0;
}

/* The pre-workload and the guard, on the source. */
int mig_prepare(struct mig_run *r, char *err, unsigned long len)
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

/*
 * What bbload guard or writer found: every page it wrote checked (the
 * guard: all of `guard`; the writer: at least its working set), none
 * lost.  A checker that died is said to have died, not to have found a
 * loss.
 */
static int mig_check_result(struct mig_run *r, const char *what,
			    const struct agent_result *res, json_t *o,
			    char *err, unsigned long len)
{
	json_t *bad = json_object_get(o, "bad_pages");
	json_t *chk = json_object_get(o, "checked_pages");
	uint64_t ram = r->cfg->memory.bytes, want;
	char key[48];

	if (!strcmp(what, "guard"))
		want = unit_size_bytes(&r->cfg->guard, ram) / 4096;
	else
		want = unit_size_bytes(&r->cfg->writer, ram) / (4 << 20) * 1024;
	if (res->signal || !json_is_integer(bad) || !json_is_integer(chk)) {
		snprintf(err, len, "guest: bbload %s ended without its result "
			 "(exit %d, signal %d): %.300s%.300s", what,
			 res->exitcode, res->signal, res->out ?: "",
			 res->errout ?: "");
		return -EIO;
	}
	snprintf(key, sizeof(key), "%s_bad_pages", what);
	json_object_set(r->sample, key, bad);
	snprintf(key, sizeof(key), "%s_checked_pages", what);
	json_object_set(r->sample, key, chk);
	if (json_integer_value(bad) || res->exitcode) {
		snprintf(err, len, "guest memory lost across the migration: "
			 "bbload %s found %lld of %lld pages changed (exit %d)",
			 what, (long long)json_integer_value(bad),
			 (long long)json_integer_value(chk), res->exitcode);
		return -EIO;
	}
	if ((uint64_t)json_integer_value(chk) < want) {
		snprintf(err, len, "guest: bbload %s checked %lld pages, fewer "
			 "than the %llu it wrote", what,
			 (long long)json_integer_value(chk),
			 (unsigned long long)want);
		return -EIO;
	}
	return 0;
}

/*
 * A checker that did not end after its stop flag: say where it sleeps (its
 * state, wait channel and kernel stack, and those of its children) and the
 * guest kernel's last lines, so that a hang is diagnosed from the log.
 */
static void mig_checker_post_mortem(struct vm *vm, const char *what,
				    long long pid)
{
	struct agent_result res;
	char cmd[700], err[256];

	/*
	 * Nothing that takes the process's mmap_lock comes before its stack:
	 * reading /proc/PID/cmdline does, and a process stuck holding (or
	 * behind) that lock would stall the post-mortem too.  SysRq w puts
	 * every blocked task's stack in the kernel log.
	 */
	snprintf(cmd, sizeof(cmd),
		 "for p in %lld $(cat /proc/%lld/task/*/children 2>/dev/null);"
		 " do echo \"pid $p: $(cat /proc/$p/comm)\";"
		 " grep -E '^(State|VmRSS)' /proc/$p/status;"
		 " echo \"wchan: $(cat /proc/$p/wchan)\";"
		 " head -12 /proc/$p/stack;"
		 " echo \"cmdline: $(timeout 3 cat /proc/$p/cmdline | tr '\\0' ' ')\";"
		 " done 2>&1; echo w >/proc/sysrq-trigger 2>/dev/null;"
		 " ls -l " MIG_FLAGS "/%s 2>&1; echo 'dmesg:';"
		 " dmesg | tail -40", pid, pid, what);
	if (agent_exec(&vm->agent, cmd, 30000, &res, err, sizeof(err))) {
		bb_warn("guest: bbload %s (pid %lld) still runs; no post-mortem: "
			"%s", what, pid, err);
		return;
	}
	bb_warn("guest: bbload %s (pid %lld) still runs after its stop flag:\n"
		"%s%s", what, pid, res.out ? res.out : "",
		res.errout ? res.errout : "");
	agent_result_free(&res);
}

/* Stop the guard (and writer) and read what they found. */
int mig_verify(struct mig_run *r, char *err, unsigned long len)
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
				mig_checker_post_mortem(vm, what[i], pids[i]);
				snprintf(err, len, "guest: bbload %s did not "
					 "finish its check", what[i]);
				return -ETIMEDOUT;
			}
			usleep(200000);
		}
		if (rc < 0)
			return rc;
		o = json_loads(res.out ? res.out : "", JSON_DECODE_ANY, NULL);
		rc = mig_check_result(r, what[i], &res, o, err, len);
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
int mig_health(struct mig_run *r, char *err, unsigned long len)
{
	struct vm *vm = &r->dst.vms[0];
	struct agent_result res;
	uint64_t touch = unit_size_bytes(&r->cfg->touch, r->cfg->memory.bytes);
	char cmd[300];
	int rc;

	rc = touch ? mig_clamp_touch(vm, &touch, err, len) : 0;
	if (rc)
		return rc;
	snprintf(cmd, sizeof(cmd), "%s%llu >/dev/null || exit 3; "
		 "dmesg >/tmp/bb-dmesg || exit 4; grep -E 'BUG|Oops|general "
		 "protection|corruption|WARNING|Bad page|bad_page' /tmp/bb-dmesg "
		 "| head -5", touch ? "bbload touch " : ": ",
		 (unsigned long long)touch);
	rc = agent_exec(&vm->agent, cmd, MIG_AGENT_TIMEOUT_MS, &res, err, len);
	if (rc)
		return rc;
	if (res.exitcode != 0) {
		snprintf(err, len, "guest on the destination: %s failed "
			 "(exit %d, signal %d): %.300s", res.exitcode == 3 ?
			 "writing its free memory again" : "reading dmesg",
			 res.exitcode, res.signal, res.errout ?: "");
		rc = -EIO;
	} else if (res.out && res.out[0]) {
		snprintf(err, len, "the guest's kernel log on the destination "
			 "reports trouble after the migration: %.600s", res.out);
		rc = -EIO;
	}
	agent_result_free(&res);
	return rc;
}

/* vballoon's hint or bitmap counters, read on the destination. */
void mig_driver_counters(struct mig_run *r)
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
		if (bm)
			json_object_set_new(r->sample, MIG_GUEST_SEND_MS,
				json_real(mig_num(k, "bitmap_send_ns") / 1e6));
		json_object_set_new(r->sample, MIG_GUEST_PAGES, json_integer(
			(json_int_t)mig_num(k, bm ? "bitmap_pages_total" :
					    "hint_pages")));
	}
	json_object_set_new(r->sample, "guest_counters", k);
}
