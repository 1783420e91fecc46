// SPDX-License-Identifier: GPL-2.0
/*
 * Host-wide probes: the machine's description for every report, swap
 * traffic (/proc/vmstat) and memory pressure (/proc/pressure/memory).
 * Files are read under probe_proc_root, "" on the machine, a fixture tree
 * in unit tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "probe.h"

char probe_proc_root[128];

static FILE *probe_open(const char *path)
{
	char full[256];

	snprintf(full, sizeof(full), "%s%s", probe_proc_root, path);
	return fopen(full, "r");
}

static void probe_cpu_model(char *buf, unsigned long len)
{
	char line[256];
	FILE *fp = probe_open("/proc/cpuinfo");

	snprintf(buf, len, "unknown");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(buf, len, "%s", strchr(line, ':') + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	fclose(fp);
}

static void probe_thp(char *buf, unsigned long len)
{
	char line[128], *a, *b;
	FILE *fp = probe_open("/sys/kernel/mm/transparent_hugepage/enabled");

	snprintf(buf, len, "unknown");
	if (!fp)
		return;
	if (fgets(line, sizeof(line), fp) && (a = strchr(line, '[')) &&
	    (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(buf, len, "%s", a + 1);
	}
	fclose(fp);
}

json_t *probe_host_info(const char *accel)
{
	struct utsname u;
	char cpu[128];
	char thp[32];

	uname(&u);
	probe_cpu_model(cpu, sizeof(cpu));
	probe_thp(thp, sizeof(thp));
	return json_pack("{s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:{}}",
			 "hostname", u.nodename, "cpu_model", cpu,
			 "cpus", (int)sysconf(_SC_NPROCESSORS_ONLN),
			 "memory_bytes", (json_int_t)sysconf(_SC_PHYS_PAGES) *
			 sysconf(_SC_PAGESIZE),
			 "kernel", u.release, "accelerator", accel,
			 "transparent_hugepage", thp,
			 "qemu_versions");
}


/* Swap pages in and out since boot, from /proc/vmstat. */
static int probe_swap_counts(double *in, double *out)
{
	char key[64];
	uint64_t v;
	int found = 0;
	FILE *fp = probe_open("/proc/vmstat");

	if (!fp)
		return -errno;
	while (fscanf(fp, "%63s %" SCNu64, key, &v) == 2) {
		if (!strcmp(key, "pswpin")) {
			*in = (double)v;
			found |= 1;
		} else if (!strcmp(key, "pswpout")) {
			*out = (double)v;
			found |= 2;
		}
	}
	fclose(fp);
	return found == 3 ? 0 : -ENOENT;
}

static int probe_vmstat_start(struct probe *p, char *err, unsigned long len)
{
	int rc = probe_swap_counts(&p->base[0], &p->base[1]);

	if (rc)
		snprintf(err, len, "cannot read pswpin/pswpout from "
			 "%s/proc/vmstat: %s", probe_proc_root, strerror(-rc));
	return rc;
}

static int probe_vmstat_sample(struct probe *p, json_t *out, char *err,
			       unsigned long len)
{
	double in, o;
	int rc = probe_swap_counts(&in, &o);

	if (rc) {
		snprintf(err, len, "cannot read %s/proc/vmstat: %s",
			 probe_proc_root, strerror(-rc));
		return rc;
	}
	json_object_set_new(out, "host_pswpin_pages",
			    json_integer((json_int_t)(in - p->base[0])));
	json_object_set_new(out, "host_pswpout_pages",
			    json_integer((json_int_t)(o - p->base[1])));
	return 0;
}

const struct probe_ops probe_vmstat = {
	.name = "vmstat",
	.start = probe_vmstat_start,
	.sample = probe_vmstat_sample,
};

/*
 * Memory stall time since boot, us: "some" (at least one task stalled)
 * and "full" (all non-idle tasks stalled), the total= fields.
 */
static int probe_psi_totals(double *some, double *full)
{
	char line[256], kind[8];
	uint64_t total;
	int found = 0;
	FILE *fp = probe_open("/proc/pressure/memory");

	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		const char *t = strstr(line, "total=");

		if (!t || sscanf(line, "%7s", kind) != 1 ||
		    sscanf(t, "total=%" SCNu64, &total) != 1)
			continue;
		if (!strcmp(kind, "some")) {
			*some = (double)total;
			found |= 1;
		} else if (!strcmp(kind, "full")) {
			*full = (double)total;
			found |= 2;
		}
	}
	fclose(fp);
	return found == 3 ? 0 : -ENOENT;
}

static int probe_psi_start(struct probe *p, char *err, unsigned long len)
{
	int rc = probe_psi_totals(&p->base[0], &p->base[1]);

	if (rc)
		snprintf(err, len, "cannot read %s/proc/pressure/memory (a "
			 "kernel without PSI?): %s", probe_proc_root,
			 strerror(-rc));
	return rc;
}

static int probe_psi_sample(struct probe *p, json_t *out, char *err,
			    unsigned long len)
{
	double some, full;
	int rc = probe_psi_totals(&some, &full);

	if (rc) {
		snprintf(err, len, "cannot read %s/proc/pressure/memory: %s",
			 probe_proc_root, strerror(-rc));
		return rc;
	}
	json_object_set_new(out, "psi_memory_some_us",
			    json_integer((json_int_t)(some - p->base[0])));
	json_object_set_new(out, "psi_memory_full_us",
			    json_integer((json_int_t)(full - p->base[1])));
	return 0;
}

const struct probe_ops probe_psi = {
	.name = "psi",
	.start = probe_psi_start,
	.sample = probe_psi_sample,
};

/*
 * The run's memory cgroup (its directory in p->dir): usage, peak and swap
 * now, and the counters of its memory.stat that say how it paged, since
 * start.  v1 and v2 name the same things differently.
 */
static const char *const probe_cg_stats[] = {
	"pgmajfault", "pswpin", "pswpout", "workingset_refault_anon",
	"workingset_refault", "inactive_file", NULL,
};

static int probe_cg_u64(const struct probe *p, const char *file,
			uint64_t *v)
{
	char path[400];
	FILE *fp;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", p->dir, file);
	fp = fopen(path, "r");
	if (!fp)
		return -errno;
	rc = fscanf(fp, "%" SCNu64, v) == 1 ? 0 : -EIO;
	fclose(fp);
	return rc;
}

/* Fill out with the cgroup's memory.stat counters (and "swap" of v1). */
static void probe_cg_stat(const struct probe *p, json_t *out)
{
	const char *const *k;
	char path[400], key[64];
	uint64_t v;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/memory.stat", p->dir);
	fp = fopen(path, "r");
	if (!fp)
		return;
	while (fscanf(fp, "%63s %" SCNu64, key, &v) == 2) {
		if (!strcmp(key, "swap"))	/* v1: bytes swapped out now */
			json_object_set_new(out, "cgroup_swap_bytes",
					    json_integer((json_int_t)v));
		for (k = probe_cg_stats; *k; k++)
			if (!strcmp(key, *k)) {
				snprintf(path, sizeof(path), "cgroup_%s", key);
				json_object_set_new(out, path,
						    json_integer((json_int_t)v));
			}
	}
	fclose(fp);
}

static int probe_cgroup_sample(struct probe *p, json_t *out, char *err,
			       unsigned long len)
{
	uint64_t usage, peak, swap;
	char max[400];
	int v2, rc;

	snprintf(max, sizeof(max), "%s/memory.max", p->dir);
	v2 = access(max, F_OK) == 0;

	rc = probe_cg_u64(p, v2 ? "memory.current" : "memory.usage_in_bytes",
			  &usage);
	if (rc) {
		snprintf(err, len, "cannot read the usage of cgroup %s: %s",
			 p->dir, strerror(-rc));
		return rc;
	}
	json_object_set_new(out, "cgroup_usage_bytes",
			    json_integer((json_int_t)usage));
	if (!probe_cg_u64(p, v2 ? "memory.peak" : "memory.max_usage_in_bytes",
			  &peak))
		json_object_set_new(out, "cgroup_peak_bytes",
				    json_integer((json_int_t)peak));
	probe_cg_stat(p, out);
	if (v2 && !probe_cg_u64(p, "memory.swap.current", &swap))
		json_object_set_new(out, "cgroup_swap_bytes",
				    json_integer((json_int_t)swap));
	return 0;
}

const struct probe_ops probe_cgroup = {
	.name = "cgroup",
	.sample = probe_cgroup_sample,
};
