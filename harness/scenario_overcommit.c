// SPDX-License-Identifier: GPL-2.0
/*
 * overcommit (seed 001): a fleet runs a workload (a real kernel build, or
 * any command) inside one memory cgroup with a limit, beside a swap file;
 * each row is a balloon strategy, each run a fresh fleet.  Per run: every
 * guest's own build time, the run time, the host's swap-in and swap-out
 * pages, cgroup and balloon peaks, and a time series of all of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balloon.h"
#include "log.h"
#include "overcommit.h"
#include "report.h"
#include "rptkeys.h"

/* The read-only build image (make kbuild-image), under the source tree. */
#define OC_KBUILD_IMAGE "build/guest/kbuild.img"
/* Guest agent calls here are short; a swapping TCG host can be slow. */
#define OC_AGENT_TIMEOUT_MS 30000
/* Each running workload is asked whether it ended at most this often. */
#define OC_POLL_MIN_MS 2000
/* Spread the status calls so that a big fleet is not asked at once. */
#define OC_POLL_PER_VM_MS 200
/* Lines of a failed workload's output shown. */
#define OC_TAIL_LINES 20

/* What the run loop shares with its spec tweak. */
struct oc_ctx {
	const struct bb_config *cfg;	/* the row */
	struct hostmem *hm;		/* cgroup, swap, scratch directory */
	char procs[300];		/* the cgroup's procs file */
};

static int oc_image_path(char *buf, unsigned long len)
{
	int n = snprintf(buf, len, "%s/" OC_KBUILD_IMAGE, bb_top());

	return n < 0 || (unsigned long)n >= len ? -ENAMETOOLONG : 0;
}

/* A sparse scratch disk with an empty ext4 on it, for the build output. */
static int oc_make_scratch(const char *path, uint64_t bytes)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t pid;
	int status;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes)) {
		close(fd);
		return -errno;
	}
	close(fd);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-E", "nodiscard",
		       "-L", "bb-scratch", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

int oc_is_auto(const struct bb_config *cfg)
{
	return !strncmp(cfg->strategy, "auto", 4);
}

/* reporting, auto+reporting: free page reporting on. */
static int oc_is_reporting(const struct bb_config *cfg)
{
	return strstr(cfg->strategy, "reporting") != NULL;
}

/*
 * The device properties of a row: the configured ones and the strategy's.
 * auto watches the run's cgroup: its v1 memory.pressure_level events, or
 * its v2 memory.pressure as PSI triggers.  hm is NULL when the row is only
 * described (no cgroup yet).
 */
static int oc_device(const struct bb_config *cfg, const struct hostmem *hm,
		     char *buf, unsigned long len)
{
	char extra[400] = "", src[400] = "";
	int n;

	/* QEMU's option syntax: a comma would end the property */
	if (hm && strchr(hm->cgroup, ','))
		return -EINVAL;
	if (oc_is_auto(cfg)) {
		if (hm && hm->version == 1)
			snprintf(src, sizeof(src), ",auto-balloon-memcg=%s",
				 hm->cgroup);
		else if (hm && hm->version == 2)
			snprintf(src, sizeof(src),
				 ",auto-balloon-psi=%s/memory.pressure",
				 hm->cgroup);
		snprintf(extra, sizeof(extra), "auto-balloon=on%s", src);
	}
	if (oc_is_reporting(cfg))
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
			 "%sfree-page-reporting=on", extra[0] ? "," : "");
	n = snprintf(buf, len, "%s%s%s", cfg->device,
		     cfg->device[0] && extra[0] ? "," : "", extra);
	return n < 0 || (unsigned long)n >= len ? -E2BIG : 0;
}

/* Every VM of a run: in the cgroup, with its disks and strategy props. */
static int oc_tweak(struct vm_spec *s, void *opaque)
{
	struct oc_ctx *c = opaque;
	int rc;

	snprintf(s->cgroup_procs, sizeof(s->cgroup_procs), "%s", c->procs);
	rc = oc_device(c->cfg, c->hm, s->device, sizeof(s->device));
	if (rc)
		return rc;
	if (strcmp(c->cfg->workload, "kbuild"))
		return 0;
	s->ndisks = 2;
	rc = oc_image_path(s->disks[0].path, sizeof(s->disks[0].path));
	if (rc)
		return rc;
	snprintf(s->disks[0].serial, sizeof(s->disks[0].serial), "bb-kbuild");
	s->disks[0].readonly = 1;
	snprintf(s->disks[1].path, sizeof(s->disks[1].path), "%s/%s.img",
		 c->hm->scratch, s->name);
	snprintf(s->disks[1].serial, sizeof(s->disks[1].serial),
		 "bb-scratch");
	return oc_make_scratch(s->disks[1].path, c->cfg->scratch.bytes);
}

/* static: every guest ballooned to static_target before the workload. */
static int oc_static(struct oc_run *r, char *err, unsigned long len)
{
	const struct bb_config *c = r->cfg;
	uint64_t target = unit_size_bytes(&c->static_target, c->memory.bytes);
	double t0, took;
	const char *how;
	int i, rc;

	for (i = 0; i < r->f.n; i++) {
		rc = balloon_set(&r->f.vms[i], target, err, len);
		if (rc)
			return rc;
	}
	t0 = bb_now_ms();
	for (i = 0; i < r->f.n; i++) {
		rc = balloon_wait(&r->f.vms[i], target, 600000, t0,
				  bb_wall_ms(), &took, &how, err, len);
		if (rc)
			return rc;
	}
	bb_info("static: %d guests at %" PRIu64 " MiB in %.1f s", r->f.n,
		target >> 20, (bb_now_ms() - t0) / 1000);
	return 0;
}

static int oc_start_workloads(struct oc_run *r, char *err, unsigned long len)
{
	const struct bb_config *c = r->cfg;
	char cmd[CFG_STR_LEN * 2 + 200];
	int i, rc;

	if (!strcmp(c->workload, "kbuild"))
		snprintf(cmd, sizeof(cmd), "bb-kbuild -j %d %s",
			 c->jobs ? c->jobs : c->vcpus, c->targets);
	else if (oc_wrap_command(c->command, cmd, sizeof(cmd)))
		return -E2BIG;
	r->t0_ms = bb_now_ms();
	for (i = 0; i < r->f.n; i++) {
		struct oc_vm *v = &r->v[i];

		v->start_ms = bb_now_ms();
		rc = agent_exec_start(&r->f.vms[i].agent, cmd, 1, &v->pid,
				      OC_AGENT_TIMEOUT_MS, err, len);
		if (rc)
			return rc;
		v->started = 1;
		v->next_poll_ms = v->start_ms + OC_POLL_MIN_MS +
				  i * OC_POLL_PER_VM_MS;
	}
	return 0;
}

/*
 * What to show of a failed workload: bb-kbuild's own account ("error",
 * or the build log's "log_tail") when its JSON line has one, else the
 * last lines of the output.
 */
static void oc_failure_text(const char *out, char *buf, unsigned long len)
{
	const char *p = out + strlen(out), *line = strrchr(out, '{');
	json_t *obj = line ? json_loads(line, JSON_DISABLE_EOF_CHECK, NULL) :
		      NULL;
	const char *why = json_string_value(json_object_get(obj, "log_tail"));
	int lines = 0;

	if (!why)
		why = json_string_value(json_object_get(obj, "error"));
	if (why) {
		snprintf(buf, len, "%s", why);
		json_decref(obj);
		return;
	}
	json_decref(obj);
	while (p > out && lines <= OC_TAIL_LINES)
		if (*--p == '\n')
			lines++;
	snprintf(buf, len, "%s", p == out ? p : p + 1);
}

/* Has VM i's workload ended?  1 yes (and it worked), 0 no, -errno. */
static int oc_poll_vm(struct oc_run *r, int i, char *err, unsigned long len)
{
	struct oc_vm *v = &r->v[i];
	struct agent_result res;
	char tail[2048];
	int rc;

	rc = agent_exec_status(&r->f.vms[i].agent, v->pid, &res,
			       OC_AGENT_TIMEOUT_MS, err, len);
	if (rc <= 0)
		return vm_check_alive(&r->f.vms[i], rc, err, len);
	v->ended = 1;
	v->out = res.out;
	res.out = NULL;
	rc = oc_parse_result(v->out ? v->out : "", &v->build_s, &v->setup_s,
			     &v->status);
	if (rc || v->status || res.exitcode) {
		oc_failure_text(v->out ? v->out : "", tail, sizeof(tail));
		snprintf(err, len, "%s: workload %s (exit %d)%s\n%s%s",
			 r->f.vms[i].spec.name, rc ? "said nothing of its "
			 "result" : "failed", res.exitcode,
			 res.signal ? ", killed" : "", tail,
			 res.errout ? res.errout : "");
		agent_result_free(&res);
		return -EIO;
	}
	agent_result_free(&res);
	return 1;
}

/* Sample, step and poll until every workload ended. */
static int oc_loop(struct oc_run *r, char *err, unsigned long len)
{
	double deadline = r->t0_ms + (double)r->cfg->run_timeout_ms, now;
	int i, left = r->f.n, rc;

	r->next_sample_ms = r->t0_ms;
	while (left) {
		if (bb_interrupted) {
			snprintf(err, len, "interrupted by signal %d after "
				 "%.0f s, %d workload%s still running",
				 (int)bb_interrupted,
				 (bb_now_ms() - r->t0_ms) / 1000, left,
				 left == 1 ? "" : "s");
			return -EINTR;
		}
		now = bb_now_ms();
		if (now > deadline) {
			snprintf(err, len, "%d workload%s still running after "
				 "run_timeout (%" PRIu64 " s)", left,
				 left == 1 ? "" : "s",
				 r->cfg->run_timeout_ms / 1000);
			return -ETIMEDOUT;
		}
		if (fleet_check(&r->f)) {
			snprintf(err, len, "a VM died during the workload");
			return -ECHILD;
		}
		if (now >= r->next_sample_ms) {
			rc = oc_tick(r, err, len);
			if (rc && fleet_check(&r->f)) {
				snprintf(err, len, "a VM died during the "
					 "workload");
				return -ECHILD;
			}
			if (rc)
				return rc;
			oc_progress(r, 0);
			r->next_sample_ms += (double)r->cfg->sample_interval_ms;
			if (r->next_sample_ms < now)
				r->next_sample_ms = now;
		}
		for (i = 0; i < r->f.n; i++) {
			struct oc_vm *v = &r->v[i];

			if (v->ended || bb_now_ms() < v->next_poll_ms)
				continue;
			rc = oc_poll_vm(r, i, err, len);
			if (rc < 0)
				return rc;
			left -= rc;
			v->next_poll_ms = bb_now_ms() + OC_POLL_MIN_MS +
					  r->f.n * OC_POLL_PER_VM_MS;
		}
		fleet_poll(&r->f, 100);
	}
	rc = oc_tick(r, err, len);	/* the counters at the end */
	oc_progress(r, 1);
	return rc;
}

static void oc_run_free(struct oc_run *r)
{
	int i;

	oc_probes_stop(r);
	fleet_destroy(&r->f);
	for (i = 0; r->v && i < r->f.n; i++)
		free(r->v[i].out);
	free(r->v);
	r->v = NULL;
	if (r->series)
		fclose(r->series);
	r->series = NULL;
	json_decref(r->host);
	r->host = NULL;
	free(r->swaps);
	r->swaps = NULL;
	r->n_swaps = r->cap_swaps = 0;
	hm_scratch_remove(r->hm);
	hm_cgroup_remove(r->hm);
}

/* One run of a row: fresh cgroup and fleet; its sample into row. */
static int oc_one_run(struct bb_config *cfg, struct hostmem *hm,
		      const char *rundir, const char *rowname, int rep,
		      char *accel, json_t *rpt, json_t *row, char *err,
		      unsigned long len)
{
	struct oc_ctx ctx = { .cfg = cfg, .hm = hm };
	struct oc_run r = { .cfg = cfg, .hm = hm };
	char series[160], path[700];
	int rc, i;

	snprintf(r.label, sizeof(r.label), "%s r%d", rowname, rep + 1);
	snprintf(series, sizeof(series), "series-%s-r%d.jsonl", rowname,
		 rep + 1);
	for (i = 0; series[i]; i++)
		if (series[i] == ' ' || series[i] == '/' || series[i] == '=')
			series[i] = '_';
	rc = hm_cgroup_create(hm, cfg->host_memory.bytes, err, len);
	if (!rc && !strcmp(cfg->workload, "kbuild"))
		rc = hm_scratch_create(hm, cfg->work_dir, err, len);
	if (rc)
		goto out;
	hm_cgroup_procs(hm, ctx.procs, sizeof(ctx.procs));
	bb_info("run %s: %d VMs in cgroup %s (limit %" PRIu64 " MiB)",
		r.label, cfg->vms, hm->cgroup, cfg->host_memory.bytes >> 20);
	rc = scn_start_fleet_with(cfg, &r.f, cfg->vms, oc_tweak, &ctx, accel,
				  8, err, len);
	if (rc)
		goto out;
	/* later runs need not probe the accelerator again */
	snprintf(cfg->accel, sizeof(cfg->accel), "%s", accel);
	rpt_note_qemu(rpt, cfg->qemu, r.f.vms[0].qmp.version);
	r.v = calloc((size_t)r.f.n, sizeof(*r.v));
	snprintf(path, sizeof(path), "%s/%s", rundir, series);
	r.series = fopen(path, "w");
	if (!r.v || !r.series) {
		rc = -ENOMEM;
		snprintf(err, len, "cannot write %s", path);
		goto out;
	}
	if (!strcmp(cfg->strategy, "static"))
		rc = oc_static(&r, err, len);
	if (!rc)
		rc = oc_probes_start(&r, err, len);
	if (!rc)
		rc = oc_start_workloads(&r, err, len);
	if (!rc)
		rc = oc_loop(&r, err, len);
	if (!rc)
		oc_collect_guests(&r);
	if (!rc)
		rpt_add_run(row, oc_run_sample(&r, rep, series));
	else if (rc == -ETIMEDOUT)
		oc_print_guests(&r);
out:
	oc_run_free(&r);
	return rc;
}

/*
 * What the auto strategies set themselves; auto-balloon-min, the steps and
 * the interval are the user's to choose.
 */
static const char *const oc_auto_props[] = {
	"auto-balloon", "auto-balloon-memcg", "auto-balloon-psi", NULL
};

/* Strategies are checked against the row's driver and device. */
static int oc_check_row(const struct bb_config *c, char *err,
			unsigned long len)
{
	if (strcmp(c->strategy, "none") && !strcmp(c->driver, "none")) {
		snprintf(err, len, "strategy '%s' needs a balloon driver "
			 "(driver is 'none')", c->strategy);
		return -EINVAL;
	}
	if (oc_is_auto(c) && (strcmp(c->driver, "vballoon") ||
			      strcmp(c->qemu, "patched"))) {
		snprintf(err, len, "strategy '%s' needs the vballoon driver "
			 "and the patched QEMU (AUTO_BALLOON, bit 19); this "
			 "row has driver '%s', qemu '%s'", c->strategy,
			 c->driver, c->qemu);
		return -EINVAL;
	}
	if (scn_props_set(c->device, oc_auto_props)) {
		snprintf(err, len, "strategy '%s': 'device' sets auto-balloon, "
			 "auto-balloon-memcg or auto-balloon-psi, which only the "
			 "auto strategies set (to the run's cgroup)",
			 c->strategy);
		return -EINVAL;
	}
	if (oc_is_reporting(c) && strstr(c->device, "free-page-reporting")) {
		snprintf(err, len, "strategy '%s' sets free-page-reporting "
			 "itself; drop it from 'device'", c->strategy);
		return -EINVAL;
	}
	return 0;
}

static uint64_t oc_mem_total(void)
{
	unsigned long long kib = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kib << 10;
}

/*
 * The image records the configuration its tree was prepared with
 * (build/guest/kbuild.conf, KBUILD_CONFIG=...); a different one would
 * build something else than the report says.
 */
static int oc_check_image(const struct bb_config *cfg, char *err,
			  unsigned long len)
{
	char path[300], line[256], have[64] = "";
	FILE *f;

	if (oc_image_path(path, sizeof(path)) || access(path, R_OK)) {
		snprintf(err, len, "key 'workload': 'kbuild' needs the build "
			 "image %s (run make kbuild-image)", path);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/build/guest/kbuild.conf", bb_top());
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "KBUILD_CONFIG=%63s", have) == 1)
			break;
	if (f)
		fclose(f);
	if (strcmp(have, cfg->kbuild_config)) {
		snprintf(err, len, "key 'kbuild_config': the build image was "
			 "prepared with '%s', not '%s' (make kbuild-image "
			 "KBUILD_CONFIG=%s)", have[0] ? have : "unknown",
			 cfg->kbuild_config, cfg->kbuild_config);
		return -EINVAL;
	}
	return 0;
}

static int oc_check_host(const struct bb_config *cfg, char *err,
			 unsigned long len)
{
	char dir[200], why[400];
	uint64_t total = oc_mem_total();
	struct stat st;

	if (total && cfg->host_memory.bytes > total) {
		snprintf(err, len, "key 'host_memory': %" PRIu64 " MiB is more "
			 "than this machine has (%" PRIu64 " MiB)",
			 cfg->host_memory.bytes >> 20, total >> 20);
		return -EINVAL;
	}
	if (!hm_detect(dir, sizeof(dir), why, sizeof(why))) {
		snprintf(err, len, "key 'host_memory': %s", why);
		return -ENOTSUP;
	}
	if (stat(cfg->work_dir, &st) || !S_ISDIR(st.st_mode) ||
	    access(cfg->work_dir, W_OK)) {
		snprintf(err, len, "key 'work_dir': '%s' is not a writable "
			 "directory", cfg->work_dir);
		return -EINVAL;
	}
	if (cfg->swap.bytes && hm_swap_fits(cfg->work_dir, cfg->swap.bytes,
					    why, sizeof(why))) {
		snprintf(err, len, "key 'swap': %s", why);
		return -ENOSPC;
	}
	return 0;
}

static int oc_check(const struct bb_config *cfg, char *err, unsigned long len)
{
	int rc;

	/* a killed run's cgroup, swap and disks go before anything else */
	hm_sweep(cfg->work_dir);
	rc = scn_check_built(cfg, err, len);
	if (rc)
		return rc;
	if (strcmp(cfg->backend, "qemu")) {
		snprintf(err, len, "key 'backend': the overcommit scenario "
			 "puts every QEMU in one memory cgroup, which only the "
			 "'qemu' backend does");
		return -ENOTSUP;
	}
	rc = oc_check_host(cfg, err, len);
	if (rc)
		return rc;
	if (!strcmp(cfg->workload, "kbuild")) {
		rc = oc_check_image(cfg, err, len);
		if (rc)
			return rc;
	}
	return scn_check_rows(cfg, oc_check_row, err, len);
}

/*
 * Every row, every run; the report keeps whatever finished.  A row whose
 * workload failed, whose VM died or that ran out of time is recorded with
 * its error and the other rows still run (an hour of strategies is not
 * thrown away for one); the run then fails with the first error.  A
 * signal, or a host that cannot set up a run, ends it at once.
 */
static int oc_rows(struct bb_config *cfg, struct hostmem *hm,
		   const char *rundir, json_t *rpt, char *accel, char *err,
		   unsigned long len)
{
	char name[96], device[CFG_STR_LEN], first[4096] = "";
	struct bb_config row;
	int i, k, rc, failed = 0;
	json_t *jrow;

	for (i = 0; i < (cfg->nkeys ? cfg->nrows : 1); i++) {
		row = *cfg;
		if (cfg->nkeys)
			cfg_apply_row(&row, i);
		cfg_row_name(cfg, i, name, sizeof(name));
		oc_device(&row, NULL, device, sizeof(device));
		jrow = rpt_add_row(rpt, name, json_pack("{s:s, s:s, s:s, s:s}",
				   "strategy", row.strategy, "driver",
				   row.driver, "device", device,
				   "workload", row.workload));
		for (k = 0; k < cfg->repetitions; k++) {
			rc = oc_one_run(&row, hm, rundir, name, k, accel, rpt,
					jrow, err, len);
			if (rc) {
				rpt_add_error(rpt, name, err);
				/* the row's own failure, not the run's */
				if (bb_interrupted || (rc != -EIO &&
				    rc != -ECHILD && rc != -ETIMEDOUT))
					return rc;
				bb_err("row %s failed: %s", name, err);
				bb_info("row %s: the other rows still run", name);
				if (!failed) {
					failed = rc;
					snprintf(first, sizeof(first), "%s",
						 err);
				}
				break;
			}
			snprintf(cfg->accel, sizeof(cfg->accel), "%s",
				 row.accel);
		}
		if (json_array_size(json_object_get(jrow, RK_RUNS)))
			rpt_summarize_row(jrow);
	}
	if (failed)
		snprintf(err, len, "%s", first);
	return failed;
}

static int oc_run_all(struct bb_config *cfg)
{
	struct hostmem hm = { 0 };
	char rundir[600], err[4096], accel[8] = "";
	json_t *rpt;
	int rc;

	if (rpt_new_dir(cfg->output_dir, cfg->name, rundir, sizeof(rundir))) {
		bb_err("cannot create a run directory under %s",
		       cfg->output_dir);
		return BB_EXIT_FAIL;
	}
	rpt = rpt_new(cfg, cfg->accel);
	hm.host_swap_bytes = hm_host_swap_bytes();
	if (hm.host_swap_bytes)
		bb_warn("this host already has %" PRIu64 " MiB of swap; the "
			"report says so", hm.host_swap_bytes >> 20);
	rc = cfg->swap.bytes ? hm_swap_create(&hm, cfg->work_dir,
					      cfg->swap.bytes, err,
					      sizeof(err)) : 0;
	if (!rc)
		rc = oc_rows(cfg, &hm, rundir, rpt, accel, err, sizeof(err));
	hm_swap_remove(&hm);
	json_object_set_new(json_object_get(rpt, "host"), "swap_before_bytes",
			    json_integer((json_int_t)hm.host_swap_bytes));
	json_object_set_new(json_object_get(rpt, "host"), "cgroup_version",
			    json_integer(hm.version));
	json_object_set_new(json_object_get(rpt, "host"), "run_swap_bytes",
			    json_integer((json_int_t)cfg->swap.bytes));
	return scn_finish(cfg, rpt, rundir, accel, rc, err, oc_table);
}

const struct scenario_ops scenario_overcommit = {
	.name = "overcommit",
	.help = "a fleet running builds in a host memory limit with swap, "
		"per balloon strategy",
	.check = oc_check,
	.run = oc_run_all,
	.figures = oc_figures,
	.reference = "none",
	.table = oc_table,
	.plot = oc_plot,
};
