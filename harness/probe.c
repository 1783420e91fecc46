// SPDX-License-Identifier: GPL-2.0
/* The probe table and the calls every scenario makes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "probe.h"

static const struct probe_ops *const probe_table[] = {
	&probe_qemu, &probe_device, &probe_driver, &probe_balloon,
	&probe_guest_stats, &probe_vmstat, &probe_psi, &probe_perf,
	&probe_cgroup,
};

const struct probe_ops *probe_at(unsigned int i)
{
	return i < sizeof(probe_table) / sizeof(probe_table[0]) ?
	       probe_table[i] : NULL;
}

int probe_start(struct probe *p, const char *name, struct vm *vm,
		const char *dir, const char *tag, char *err, unsigned long len)
{
	const struct probe_ops *o;
	unsigned int i;
	int rc;

	memset(p, 0, sizeof(*p));
	for (i = 0; (o = probe_at(i)); i++)
		if (!strcmp(o->name, name))
			break;
	if (!o) {
		snprintf(err, len, "no probe called '%s'", name);
		return -EINVAL;
	}
	if (o->vm && !vm) {
		snprintf(err, len, "probe '%s' needs a VM", name);
		return -EINVAL;
	}
	p->ops = o;
	p->vm = vm;
	snprintf(p->dir, sizeof(p->dir), "%s", dir ? dir : "");
	snprintf(p->tag, sizeof(p->tag), "%s", tag ? tag : name);
	p->t0_ms = bb_now_ms();
	rc = o->start ? o->start(p, err, len) : 0;
	if (rc)
		p->ops = NULL;
	return rc;
}

int probe_sample(struct probe *p, json_t *out, char *err, unsigned long len)
{
	if (!p->ops) {
		snprintf(err, len, "probe not started");
		return -EINVAL;
	}
	return p->ops->sample(p, out, err, len);
}

void probe_stop(struct probe *p)
{
	if (p->ops && p->ops->stop)
		p->ops->stop(p);
	p->ops = NULL;
}
