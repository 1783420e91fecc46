// SPDX-License-Identifier: GPL-2.0
/*
 * The overcommit run's clock: every sample_interval the host's swap
 * counters, pressure and cgroup, and every VM's balloon, RSS and guest
 * statistics go into one line of the run's time series; every
 * mom_interval the `mom` strategy takes a policy step from the same
 * figures.  Guest statistics come from QEMU's cache of the stats queue
 * (qom-get), never from the guest agent, so a sample costs no guest work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balloon.h"
#include "log.h"
#include "mom.h"
#include "overcommit.h"

/* Guest statistics kept per VM: stats-queue names, in gstat[] order. */
static const char *const oc_gstat_keys[] = {
	"stat-swap-in", "stat-swap-out", "stat-major-faults",
};

static int oc_vm_probes_start(struct oc_run *r, int i, char *err,
			      unsigned long len)
{
	struct vm *vm = &r->f.vms[i];
	struct oc_vm *v = &r->v[i];
	int rc;

	rc = probe_start(&v->balloon, "balloon", vm, "", "", err, len);
	if (!rc)
		rc = probe_start(&v->gstats, "guest_stats", vm, "", "", err,
				 len);
	if (!rc)
		rc = probe_start(&v->qemu, "qemu", vm, "", "", err, len);
	/* starting it zeroes the device's counters: they count this run */
	if (!rc && r->is_auto)
		rc = probe_start(&v->device, "device", vm, "", "", err, len);
	/* and this zeroes the guest's */
	if (!rc && r->is_vballoon)
		rc = probe_start(&v->driver, "driver", vm, "", "", err, len);
	v->free = -1;
	v->actual = r->cfg->memory.bytes;
	return rc;
}

int oc_probes_start(struct oc_run *r, char *err, unsigned long len)
{
	char why[256];
	int i, rc;

	r->is_auto = oc_is_auto(r->cfg);
	r->is_vballoon = !strcmp(r->cfg->driver, "vballoon");
	rc = probe_start(&r->vmstat, "vmstat", NULL, "", "", err, len);
	if (!rc)
		rc = probe_start(&r->cg, "cgroup", NULL, r->hm->cgroup, "",
				 err, len);
	if (rc)
		return rc;
	/* PSI is a figure, not a need: a kernel without it still runs */
	r->have_psi = !probe_start(&r->psi, "psi", NULL, "", "", why,
				   sizeof(why));
	for (i = 0; i < r->f.n && !rc; i++)
		rc = oc_vm_probes_start(r, i, err, len);
	return rc;
}

void oc_probes_stop(struct oc_run *r)
{
	int i;

	for (i = 0; r->v && i < r->f.n; i++) {
		probe_stop(&r->v[i].balloon);
		probe_stop(&r->v[i].gstats);
		probe_stop(&r->v[i].qemu);
		if (r->is_auto)
			probe_stop(&r->v[i].device);
		if (r->is_vballoon)
			probe_stop(&r->v[i].driver);
		json_decref(r->v[i].autoc);
		json_decref(r->v[i].drvc);
		r->v[i].autoc = NULL;
		r->v[i].drvc = NULL;
	}
	probe_stop(&r->vmstat);
	probe_stop(&r->cg);
	if (r->have_psi)
		probe_stop(&r->psi);
	r->have_psi = 0;
}

static double oc_num(json_t *obj, const char *key, double dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

/* What the stats queue said: free memory and the paging counters. */
static void oc_read_gstats(struct oc_vm *v, json_t *sample)
{
	json_t *st = json_object_get(json_object_get(sample, "guest_stats"),
				     "stats");
	double val;
	unsigned k;

	/* MOM's "free": memory in no use at all (MemFree), not MemAvailable,
	 * which counts page cache that a building guest lives on */
	val = oc_num(st, "stat-free-memory", -1);
	v->free = (int64_t)val;
	for (k = 0; k < 3; k++) {
		val = oc_num(st, oc_gstat_keys[k], -1);
		if (val < 0)
			continue;
		if (!v->gstat_seen)
			v->gstat0[k] = val;
		v->gstat[k] = val;
	}
	if (oc_num(st, oc_gstat_keys[0], -1) >= 0)
		v->gstat_seen = 1;
}

/*
 * auto: the device's auto-balloon counters (pressure events by level,
 * steps, pages asked) go into the series line as "auto"; the rest of
 * stage-stats (inflate and deflate stage times) stays out of it.
 */
static int oc_sample_auto(struct oc_vm *v, json_t *s, char *err,
			  unsigned long len)
{
	json_t *tmp = json_object(), *a;
	int rc = probe_sample(&v->device, tmp, err, len);

	a = json_object_get(json_object_get(tmp, "host_counters"), "auto");
	if (!rc && !json_is_object(a)) {
		snprintf(err, len, "the device's stage-stats have no \"auto\" "
			 "counters: is build/qemu older than the series?");
		rc = -EPROTO;
	}
	if (!rc) {
		json_object_set(s, "auto", a);
		json_decref(v->autoc);
		v->autoc = json_incref(a);
	}
	json_decref(tmp);
	return rc;
}

/* One VM's part of a series line. */
static json_t *oc_sample_vm(struct oc_run *r, int i, char *err,
			    unsigned long len)
{
	struct oc_vm *v = &r->v[i];
	json_t *s = json_object();
	int rc;

	rc = probe_sample(&v->balloon, s, err, len);
	if (!rc)
		rc = probe_sample(&v->gstats, s, err, len);
	if (!rc)
		rc = probe_sample(&v->qemu, s, err, len);
	if (!rc && r->is_auto)
		rc = oc_sample_auto(v, s, err, len);
	if (rc) {
		json_decref(s);
		return NULL;
	}
	v->actual = (uint64_t)oc_num(s, "balloon_actual_bytes",
				     (double)r->cfg->memory.bytes);
	oc_read_gstats(v, s);
	json_object_set_new(s, "vm", json_string(r->f.vms[i].spec.name));
	json_object_set_new(s, "balloon_bytes", json_integer((json_int_t)
			    (r->cfg->memory.bytes - v->actual)));
	json_object_set_new(s, "running", json_boolean(v->started &&
						       !v->ended));
	return s;
}

/*
 * Every sample's swap counters, so that the report can count swap over the
 * builds alone: after the last build ends its workload still cleans up
 * (bb-kbuild unmounts its scratch disk), which is not in run_s.
 */
static int oc_keep_swaps(struct oc_run *r, json_t *line, char *err,
			 unsigned long len)
{
	struct oc_swap_at *a;
	int cap;

	if (r->n_swaps == r->cap_swaps) {
		cap = r->cap_swaps ? 2 * r->cap_swaps : 1024;
		a = realloc(r->swaps, (size_t)cap * sizeof(*a));
		if (!a) {
			snprintf(err, len, "out of memory for the time series");
			return -ENOMEM;
		}
		r->swaps = a;
		r->cap_swaps = cap;
	}
	a = &r->swaps[r->n_swaps++];
	a->t_s = oc_num(line, "t_s", 0);
	a->in = oc_num(line, "host_pswpin_pages", 0);
	a->out = oc_num(line, "host_pswpout_pages", 0);
	return 0;
}

static int oc_sample_host(struct oc_run *r, json_t *line, char *err,
			  unsigned long len)
{
	uint64_t swap, inactive;
	int rc;

	rc = probe_sample(&r->vmstat, line, err, len);
	if (!rc)
		rc = probe_sample(&r->cg, line, err, len);
	if (!rc && r->have_psi)
		rc = probe_sample(&r->psi, line, err, len);
	if (rc)
		return rc;
	r->cg_usage = (uint64_t)oc_num(line, "cgroup_usage_bytes", 0);
	/*
	 * The working set: inactive page cache is what the kernel drops
	 * first, without I/O; counted as used, it kept the host "under
	 * pressure" forever (docs/overcommit.md).
	 */
	inactive = (uint64_t)oc_num(line, "cgroup_inactive_file", 0);
	r->cg_wset = inactive < r->cg_usage ? r->cg_usage - inactive : 0;
	swap = (uint64_t)oc_num(line, "cgroup_swap_bytes", 0);
	if (r->cg_usage > r->cg_peak)
		r->cg_peak = r->cg_usage;
	if (swap > r->cg_swap_peak)
		r->cg_swap_peak = swap;
	json_decref(r->host);
	r->host = json_deep_copy(line);
	return oc_keep_swaps(r, line, err, len);
}

/* The `mom` strategy's step: a balloon request per guest that moves. */
static void oc_mom_step(struct oc_run *r)
{
	const struct bb_config *c = r->cfg;
	struct mom_params p = {
		.pressure = c->mom_pressure_pct / 100,
		.critical = c->mom_critical_pct / 100,
		.guest_free = c->mom_guest_free_pct / 100,
		.max_step = c->mom_max_step_pct / 100,
		.min_step = c->mom_min_step_pct / 100,
	};
	double host_free = mom_host_free(r->hm->limit_bytes, r->cg_wset);
	struct mom_guest g;
	uint64_t target;
	char err[512];
	int i;

	for (i = 0; i < r->f.n; i++) {
		g.mem_bytes = c->memory.bytes;
		g.cur_bytes = r->v[i].actual;
		g.free_bytes = r->v[i].free;
		target = mom_step(&p, host_free, &g);
		if (!target)
			continue;
		if (balloon_set(&r->f.vms[i], target, err, sizeof(err)))
			bb_warn("%s: mom: %s", r->f.vms[i].spec.name, err);
		else
			r->mom_steps++;
	}
}

int oc_tick(struct oc_run *r, char *err, unsigned long len)
{
	json_t *line = json_object(), *vms = json_array(), *s;
	double now = bb_now_ms();
	uint64_t total = 0;
	int i, rc;

	json_object_set_new(line, "t_s", json_real((now - r->t0_ms) / 1000));
	rc = oc_sample_host(r, line, err, len);
	for (i = 0; !rc && i < r->f.n; i++) {
		s = oc_sample_vm(r, i, err, len);
		if (!s) {
			rc = -EIO;
			break;
		}
		total += r->cfg->memory.bytes - r->v[i].actual;
		json_array_append_new(vms, s);
	}
	if (!rc) {
		json_object_set_new(line, "balloon_total_bytes",
				    json_integer((json_int_t)total));
		json_object_set_new(line, "vms", vms);
		vms = NULL;
		if (total > r->balloon_peak)
			r->balloon_peak = total;
		r->balloon_sum += (double)total;
		r->samples++;
		json_dumpf(line, r->series, JSON_COMPACT);
		fputc('\n', r->series);
		if (!strcmp(r->cfg->strategy, "mom") && now >= r->next_mom_ms) {
			oc_mom_step(r);
			r->next_mom_ms = now + (double)r->cfg->mom_interval_ms;
		}
	}
	json_decref(vms);
	json_decref(line);
	return rc;
}

void oc_progress(struct oc_run *r, int final)
{
	int i, running = 0, done = 0, tty = isatty(STDERR_FILENO);
	double now = bb_now_ms();

	if (!tty && !final && now < r->next_line_ms)
		return;
	r->next_line_ms = now + 30000;
	for (i = 0; i < r->f.n; i++) {
		running += r->v[i].started && !r->v[i].ended;
		done += r->v[i].ended;
	}
	fprintf(stderr, "%s[%s] %d running, %d/%d done; host swap in %lld, "
		"out %lld pages; cgroup %llu MiB; balloons %llu MiB; %.0f s%s",
		tty ? "\r\033[K" : "", r->label, running, done, r->f.n,
		(long long)oc_num(r->host, "host_pswpin_pages", 0),
		(long long)oc_num(r->host, "host_pswpout_pages", 0),
		(unsigned long long)(r->cg_usage >> 20),
		(unsigned long long)(r->samples ?
			(uint64_t)(r->balloon_sum / r->samples) >> 20 : 0),
		(now - r->t0_ms) / 1000, tty && !final ? "" : "\n");
}

/*
 * A guest whose counters cannot be read loses them, not the run: its
 * figures were measured by the host.
 */
void oc_collect_guests(struct oc_run *r)
{
	json_t *tmp, *all, *val;
	const char *key;
	char err[512];
	int i;

	for (i = 0; r->is_vballoon && i < r->f.n; i++) {
		tmp = json_object();
		if (probe_sample(&r->v[i].driver, tmp, err, sizeof(err))) {
			bb_warn("%s: no driver counters in the report: %s",
				r->f.vms[i].spec.name, err);
			json_decref(tmp);
			continue;
		}
		all = json_object_get(tmp, "guest_counters");
		r->v[i].drvc = json_object();
		json_object_foreach(all, key, val)
			if (!strncmp(key, "shrink", 6) ||
			    !strncmp(key, "thrash", 6) ||
			    !strncmp(key, "goal", 4) ||
			    !strncmp(key, "report", 6))
				json_object_set(r->v[i].drvc, key, val);
		json_decref(tmp);
	}
}

/*
 * A row that ran out of run_timeout has no sample; its guests' balloon
 * counters still say what they were doing, so print them.  (After a
 * signal the agent is not asked: the harness is leaving.)
 */
void oc_print_guests(struct oc_run *r)
{
	char *s;
	int i;

	oc_collect_guests(r);
	for (i = 0; i < r->f.n; i++) {
		if (!r->v[i].drvc)
			continue;
		s = json_dumps(r->v[i].drvc, JSON_COMPACT | JSON_SORT_KEYS);
		if (s)
			bb_info("%s: guest balloon counters when it stopped: %s",
				r->f.vms[i].spec.name, s);
		free(s);
	}
}

/* Sum over VMs of a guest counter's change since the workload started. */
static double oc_gstat_delta(const struct oc_run *r, unsigned k)
{
	double sum = 0;
	int i;

	for (i = 0; i < r->f.n; i++)
		if (r->v[i].gstat_seen)
			sum += r->v[i].gstat[k] - r->v[i].gstat0[k];
	return sum;
}

json_t *oc_run_sample(struct oc_run *r, int rep, const char *series)
{
	json_t *run = json_object(), *vms = json_array(), *vm;
	double run_s = 0, end, steps = 0, pages = 0, shrunk = 0;
	double reported = 0, thrashed = 0, held = 0, gave = 0, in, out;
	double builds_end = 0;
	int i;

	for (i = 0; i < r->f.n; i++) {
		end = (r->v[i].start_ms - r->t0_ms) / 1000 + r->v[i].build_s;
		if (end > run_s)
			run_s = end;
		if (end + r->v[i].setup_s > builds_end)
			builds_end = end + r->v[i].setup_s;
		vm = json_pack("{s:s, s:f, s:f, s:i}", "vm",
			       r->f.vms[i].spec.name, "build_s",
			       r->v[i].build_s, "setup_s", r->v[i].setup_s,
			       "status", r->v[i].status);
		if (r->v[i].drvc) {
			json_object_set(vm, "guest_counters", r->v[i].drvc);
			shrunk += oc_num(r->v[i].drvc, "shrink_pages", 0);
			thrashed += oc_num(r->v[i].drvc, "thrash_pages", 0);
			reported += oc_num(r->v[i].drvc, "report_pages", 0);
		}
		if (r->v[i].autoc) {
			json_object_set(vm, "auto", r->v[i].autoc);
			steps += oc_num(r->v[i].autoc, "steps", 0);
			pages += oc_num(r->v[i].autoc, "step_pages", 0);
			held += oc_num(r->v[i].autoc, "skipped_gave_back", 0);
			gave += oc_num(r->v[i].autoc, "gave_back_pages", 0);
		}
		json_array_append_new(vms, vm);
	}
	if (r->is_auto) {
		json_object_set_new(run, "auto_steps",
				    json_integer((json_int_t)steps));
		json_object_set_new(run, "auto_step_bytes",
				    json_integer((json_int_t)pages * 4096));
		json_object_set_new(run, "auto_held_off",
				    json_integer((json_int_t)held));
		json_object_set_new(run, "auto_gave_back_bytes",
				    json_integer((json_int_t)gave * 4096));
	}
	if (r->is_vballoon) {
		json_object_set_new(run, "guest_shrink_bytes",
				    json_integer((json_int_t)shrunk * 4096));
		json_object_set_new(run, "guest_thrash_bytes",
				    json_integer((json_int_t)thrashed * 4096));
		json_object_set_new(run, "guest_report_bytes",
				    json_integer((json_int_t)reported * 4096));
	}
	json_object_set_new(run, "run", json_integer(rep + 1));
	json_object_set_new(run, OC_RUN_S, json_real(run_s));
	/*
	 * Swap over the builds: up to the first sample at or after the end
	 * of the last build (its start offset, set-up and own time; at most
	 * a sample interval of clean-up counted); what came after, until
	 * the last workload exited, is reported apart.
	 */
	i = oc_swap_window(r->swaps, r->n_swaps, builds_end);
	in = i >= 0 ? r->swaps[i].in : 0;
	out = i >= 0 ? r->swaps[i].out : 0;
	json_object_set_new(run, OC_SWAP_IN, json_integer((json_int_t)in));
	json_object_set_new(run, OC_SWAP_OUT, json_integer((json_int_t)out));
	json_object_set_new(run, "swap_in_after_pages", json_integer(
			    (json_int_t)(oc_num(r->host, "host_pswpin_pages",
						in) - in)));
	json_object_set_new(run, "swap_out_after_pages", json_integer(
			    (json_int_t)(oc_num(r->host, "host_pswpout_pages",
						out) - out)));
	json_object_set_new(run, "cgroup_peak_bytes", json_integer(
			    (json_int_t)oc_num(r->host, "cgroup_peak_bytes",
					       (double)r->cg_peak)));
	json_object_set_new(run, "cgroup_swap_peak_bytes",
			    json_integer((json_int_t)r->cg_swap_peak));
	json_object_set_new(run, "balloon_peak_bytes",
			    json_integer((json_int_t)r->balloon_peak));
	json_object_set_new(run, "balloon_mean_bytes", json_integer(
			    (json_int_t)(r->samples ? r->balloon_sum /
					 r->samples : 0)));
	json_object_set_new(run, "guest_swap_in_bytes",
			    json_integer((json_int_t)oc_gstat_delta(r, 0)));
	json_object_set_new(run, "guest_swap_out_bytes",
			    json_integer((json_int_t)oc_gstat_delta(r, 1)));
	json_object_set_new(run, "guest_major_faults",
			    json_integer((json_int_t)oc_gstat_delta(r, 2)));
	if (r->have_psi)
		json_object_set_new(run, "psi_memory_full_us", json_integer(
			(json_int_t)oc_num(r->host, "psi_memory_full_us", 0)));
	json_object_set_new(run, "mom_steps", json_integer(r->mom_steps));
	json_object_set_new(run, "samples", json_integer(r->samples));
	json_object_set_new(run, "vms", vms);
	json_object_set_new(run, "series", json_string(series));
	return run;
}

/* The last line that says how the workload went. */
int oc_parse_result(const char *out, double *elapsed_s, double *setup_s,
		    int *status)
{
	const char *p, *line = NULL;
	double t0, t1;
	json_t *obj;
	int rc;

	for (p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "bb-elapsed ", 11) || *p == '{')
			line = p;
	if (!line)
		return -ENOENT;
	if (*line == '{') {
		obj = json_loadb(line, strcspn(line, "\n"), 0, NULL);
		rc = obj && json_is_number(json_object_get(obj, "elapsed_s")) &&
		     json_is_integer(json_object_get(obj, "status")) ? 0 :
		     -EPROTO;
		if (!rc) {
			*elapsed_s = json_number_value(json_object_get(obj,
							"elapsed_s"));
			*status = (int)json_integer_value(json_object_get(obj,
							"status"));
			*setup_s = json_is_number(json_object_get(obj,
							"setup_s")) ?
				   json_number_value(json_object_get(obj,
							"setup_s")) : 0;
		}
		json_decref(obj);
		return rc;
	}
	if (sscanf(line, "bb-elapsed %lf %lf %d", &t0, &t1, status) != 3 ||
	    t1 < t0)
		return -EPROTO;
	*elapsed_s = t1 - t0;
	*setup_s = 0;
	return 0;
}

int oc_swap_window(const struct oc_swap_at *s, int n, double end_s)
{
	int i;

	for (i = 0; i < n - 1 && s[i].t_s < end_s; i++)
		;
	return n > 0 ? i : -1;
}

int oc_wrap_command(const char *cmd, char *buf, unsigned long len)
{
	unsigned long o = 0;
	const char *p;
	int n;

	/* the user's command single-quoted for an inner sh -c */
	n = snprintf(buf, len, "read t0 x </proc/uptime; sh -c '");
	if (n < 0 || (unsigned long)n >= len)
		return -E2BIG;
	o = (unsigned long)n;
	for (p = cmd; *p; p++) {
		const char *piece = *p == '\'' ? "'\\''" : NULL;
		size_t k = piece ? strlen(piece) : 1;

		if (o + k + 1 >= len)
			return -E2BIG;
		if (piece)
			memcpy(buf + o, piece, k);
		else
			buf[o] = *p;
		o += k;
	}
	n = snprintf(buf + o, len - o, "'; rc=$?; read t1 x </proc/uptime; "
		     "echo \"bb-elapsed $t0 $t1 $rc\"; exit $rc");
	return n < 0 || (unsigned long)n >= len - o ? -E2BIG : 0;
}
