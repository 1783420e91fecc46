// SPDX-License-Identifier: GPL-2.0
/*
 * Probes of one VM: its emulator process (/proc), the patched device's
 * counters and the balloon's size (QMP through the VM's backend), the
 * guest driver's counters (guest agent), the guest's own statistics (the
 * balloon's stats queue, read with qom-get: no agent call per sample).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "balloon.h"
#include "probe.h"
#include "vm.h"

#define PROBE_QMP_TIMEOUT_MS 30000
#define PROBE_AGENT_TIMEOUT_MS 60000
#define PROBE_BALLOON_PATH "/machine/peripheral/" BB_BALLOON_ID
#define PROBE_GUEST_STATS "/sys/kernel/debug/vballoon/stats"
#define PROBE_GUEST_RESET "/sys/kernel/debug/vballoon/reset"
/* How often QEMU asks the guest for fresh statistics, seconds. */
#define PROBE_STATS_INTERVAL_S 1

int probe_vm_rss_bytes(const struct vm *vm, uint64_t *bytes)
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

int probe_vm_cpu_ms(const struct vm *vm, double *ms)
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

static int probe_qemu_start(struct probe *p, char *err, unsigned long len)
{
	int rc;

	/* A remote emulator (libvirt on another host) has no /proc here. */
	if (p->vm->ops->pid(p->vm) <= 0)
		return 0;
	rc = probe_vm_cpu_ms(p->vm, &p->base[0]);
	if (rc)
		snprintf(err, len, "%s: cannot read the emulator's CPU time: %s",
			 p->vm->spec.name, strerror(-rc));
	return rc;
}

static int probe_qemu_sample(struct probe *p, json_t *out, char *err,
			     unsigned long len)
{
	uint64_t rss = 0;
	double cpu = 0;
	int rc;

	if (p->vm->ops->pid(p->vm) <= 0) {
		json_object_set_new(out, "qemu_cpu_ms", json_null());
		json_object_set_new(out, "qemu_rss_bytes", json_null());
		return 0;
	}
	rc = probe_vm_cpu_ms(p->vm, &cpu);
	if (!rc)
		rc = probe_vm_rss_bytes(p->vm, &rss);
	if (rc) {
		snprintf(err, len, "%s: cannot read the emulator's /proc: %s",
			 p->vm->spec.name, strerror(-rc));
		return rc;
	}
	json_object_set_new(out, "qemu_cpu_ms", json_real(cpu - p->base[0]));
	json_object_set_new(out, "qemu_rss_bytes", json_integer((json_int_t)rss));
	return 0;
}

const struct probe_ops probe_qemu = {
	.name = "qemu",
	.vm = 1,
	.start = probe_qemu_start,
	.sample = probe_qemu_sample,
};

static int probe_qom(struct probe *p, const char *cmd, json_t *args,
		     json_t **ret, char *err, unsigned long len)
{
	return p->vm->ops->qmp(p->vm, cmd, args, ret, PROBE_QMP_TIMEOUT_MS,
			       err, len);
}

static int probe_device_start(struct probe *p, char *err, unsigned long len)
{
	return probe_qom(p, "qom-set", json_pack("{s:s, s:s, s:b}", "path",
			 PROBE_BALLOON_PATH, "property", "stage-stats-reset",
			 "value", 1), NULL, err, len);
}

static int probe_device_sample(struct probe *p, json_t *out, char *err,
			       unsigned long len)
{
	json_t *ret = NULL;
	int rc = probe_qom(p, "qom-get", json_pack("{s:s, s:s}", "path",
			   PROBE_BALLOON_PATH, "property", "stage-stats"),
			   &ret, err, len);

	if (!rc)
		json_object_set_new(out, "host_counters", ret);
	return rc;
}

const struct probe_ops probe_device = {
	.name = "device",
	.vm = 1,
	.start = probe_device_start,
	.sample = probe_device_sample,
};

static int probe_driver_start(struct probe *p, char *err, unsigned long len)
{
	struct agent_result res;
	int rc;

	rc = agent_exec(&p->vm->agent, "echo 0 > " PROBE_GUEST_RESET,
			PROBE_AGENT_TIMEOUT_MS, &res, err, len);
	if (!rc && res.exitcode) {
		snprintf(err, len, "%s: cannot reset %s", p->vm->spec.name,
			 PROBE_GUEST_RESET);
		rc = -EIO;
	}
	agent_result_free(&res);
	return rc;
}

static int probe_driver_sample(struct probe *p, json_t *out, char *err,
			       unsigned long len)
{
	char *text = NULL;
	json_t *obj;
	int rc;

	rc = agent_read_file(&p->vm->agent, PROBE_GUEST_STATS, &text,
			     PROBE_AGENT_TIMEOUT_MS, err, len);
	if (rc)
		return rc;
	obj = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
	free(text);
	if (!obj) {
		snprintf(err, len, "%s: %s is not JSON", p->vm->spec.name,
			 PROBE_GUEST_STATS);
		return -EIO;
	}
	json_object_set_new(out, "guest_counters", obj);
	return 0;
}

const struct probe_ops probe_driver = {
	.name = "driver",
	.vm = 1,
	.start = probe_driver_start,
	.sample = probe_driver_sample,
};

static int probe_balloon_sample(struct probe *p, json_t *out, char *err,
				unsigned long len)
{
	uint64_t actual;
	int rc = balloon_query(p->vm, &actual, err, len);

	if (!rc)
		json_object_set_new(out, "balloon_actual_bytes",
				    json_integer((json_int_t)actual));
	return rc;
}

const struct probe_ops probe_balloon = {
	.name = "balloon",
	.vm = 1,
	.sample = probe_balloon_sample,
};

/* QEMU polls the guest's stats queue itself; a sample reads its cache. */
static int probe_gstats_start(struct probe *p, char *err, unsigned long len)
{
	return probe_qom(p, "qom-set", json_pack("{s:s, s:s, s:i}", "path",
			 PROBE_BALLOON_PATH, "property",
			 "guest-stats-polling-interval", "value",
			 PROBE_STATS_INTERVAL_S), NULL, err, len);
}

static int probe_gstats_sample(struct probe *p, json_t *out, char *err,
			       unsigned long len)
{
	json_t *ret = NULL;
	int rc = probe_qom(p, "qom-get", json_pack("{s:s, s:s}", "path",
			   PROBE_BALLOON_PATH, "property", "guest-stats"),
			   &ret, err, len);

	if (!rc)
		json_object_set_new(out, "guest_stats", ret);
	return rc;
}

const struct probe_ops probe_guest_stats = {
	.name = "guest_stats",
	.vm = 1,
	.start = probe_gstats_start,
	.sample = probe_gstats_sample,
};
