// SPDX-License-Identifier: GPL-2.0
/* What every scenario shares: paths of the built artefacts, VM specs. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "report.h"
#include "scenario.h"
#include "vm.h"

#define STOCK_QEMU "/usr/bin/qemu-system-x86_64"

const char *bb_top(void)
{
	static char top[PATH_MAX];
	char exe[PATH_MAX];
	const char *env = getenv("BALLOONBENCH_TOP");
	ssize_t n;

	if (top[0])
		return top;
	if (env && *env) {
		snprintf(top, sizeof(top), "%s", env);
		return top;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		snprintf(top, sizeof(top), ".");
		return top;
	}
	exe[n] = '\0';
	/* build/bin/balloonbench -> top */
	snprintf(top, sizeof(top), "%s", dirname(dirname(dirname(exe))));
	return top;
}

static const char *scn_qemu_bin(const struct bb_config *cfg, char *buf,
				unsigned long len)
{
	if (!strcmp(cfg->qemu, "stock"))
		return STOCK_QEMU;
	snprintf(buf, len, "%s/build/qemu/bin/qemu-system-x86_64", bb_top());
	return buf;
}

int scn_check_built(const struct bb_config *cfg, char *err, unsigned long len)
{
	char qemu[PATH_MAX], path[PATH_MAX];

	if (access(scn_qemu_bin(cfg, qemu, sizeof(qemu)), X_OK)) {
		snprintf(err, len, "QEMU not found at %s (%s)", qemu,
			 strcmp(cfg->qemu, "stock") ? "run make" :
			 "install qemu-system-x86");
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/build/guest/vmlinuz", bb_top());
	if (access(path, R_OK)) {
		snprintf(err, len, "guest kernel not found at %s (run make)",
			 path);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/build/guest/initramfs.cpio.gz",
		 bb_top());
	if (access(path, R_OK)) {
		snprintf(err, len, "guest image not found at %s (run make)",
			 path);
		return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s/guest-driver/vballoon.ko", bb_top());
	if (!strcmp(cfg->driver, "vballoon") && access(path, R_OK)) {
		snprintf(err, len, "driver 'vballoon' is not built (%s missing;"
			 " run make)", path);
		return -ENOENT;
	}
	return 0;
}

int scn_pick_uri(const char *list, int index, char *out, unsigned long len)
{
	char buf[CFG_STR_LEN], *uris[CFG_STR_LEN / 2], *tok, *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save))
		uris[n++] = tok;
	if (!n)
		return -EINVAL;
	snprintf(out, len, "%s", uris[index % n]);
	return 0;
}

int scn_fill_spec(const struct bb_config *cfg, const char *accel,
		  struct vm_spec *spec, char *err, unsigned long len)
{
	char qemu[PATH_MAX];

	if (strlen(bb_top()) > 200) {
		snprintf(err, len, "source tree path too long: %s", bb_top());
		return -ENAMETOOLONG;
	}
	snprintf(spec->qemu_bin, sizeof(spec->qemu_bin), "%s",
		 scn_qemu_bin(cfg, qemu, sizeof(qemu)));
	snprintf(spec->kernel, sizeof(spec->kernel), "%s/build/guest/vmlinuz",
		 bb_top());
	snprintf(spec->initrd, sizeof(spec->initrd),
		 "%s/build/guest/initramfs.cpio.gz", bb_top());
	snprintf(spec->accel, sizeof(spec->accel), "%s", accel);
	snprintf(spec->driver, sizeof(spec->driver), "%s", cfg->driver);
	snprintf(spec->modparams, sizeof(spec->modparams), "%s",
		 cfg->modparams);
	snprintf(spec->device, sizeof(spec->device), "%s", cfg->device);
	snprintf(spec->guest_cmdline, sizeof(spec->guest_cmdline), "%s",
		 cfg->guest_cmdline);
	spec->memory_bytes = cfg->memory.bytes;
	spec->vcpus = cfg->vcpus;
	spec->tb_size_bytes = cfg->tb_size.bytes;
	if (scn_pick_uri(cfg->connect, spec->index, spec->uri,
			 sizeof(spec->uri)) &&
	    !strcmp(cfg->backend, "libvirt")) {
		snprintf(err, len, "key 'connect': no libvirt URI in '%s'",
			 cfg->connect);
		return -EINVAL;
	}
	return 0;
}

/* Every way of running VMs; the `backend` key names one. */
static const struct backend_ops *const scn_backends[] = {
	&backend_qemu,
	&backend_libvirt,
};

const struct backend_ops *scn_backend(const struct bb_config *cfg, char *err,
				      unsigned long len)
{
	unsigned i;

	for (i = 0; i < sizeof(scn_backends) / sizeof(scn_backends[0]); i++)
		if (!strcmp(cfg->backend, scn_backends[i]->name))
			return scn_backends[i];
	snprintf(err, len, "key 'backend': '%s' is not available in this "
		 "build", cfg->backend);
	return NULL;
}

int scn_start_fleet(const struct bb_config *cfg, struct fleet *f, int n,
		    char *accel, unsigned long alen, char *err,
		    unsigned long len)
{
	return scn_start_fleet_with(cfg, f, n, NULL, NULL, accel, alen, err,
				    len);
}

int scn_start_fleet_with(const struct bb_config *cfg, struct fleet *f, int n,
			 int (*tweak)(struct vm_spec *s, void *opaque),
			 void *opaque, char *accel, unsigned long alen,
			 char *err, unsigned long len)
{
	const struct backend_ops *ops;
	struct vm_spec tmpl = { 0 };
	char size[32];
	int i, rc;

	ops = scn_backend(cfg, err, len);
	if (!ops)
		return -EINVAL;
	rc = scn_fill_spec(cfg, "tcg", &tmpl, err, len);
	if (!rc)
		rc = vm_resolve_accel(cfg->accel, &tmpl, accel, alen, err, len);
	if (rc)
		return rc;
	rc = fleet_init(f, n, ops);
	if (rc) {
		snprintf(err, len, "cannot create a run directory: %s",
			 strerror(-rc));
		return rc;
	}
	for (i = 0; i < n; i++) {
		scn_fill_spec(cfg, accel, &f->vms[i].spec, err, len);
		if (tweak && (rc = tweak(&f->vms[i].spec, opaque))) {
			snprintf(err, len, "cannot prepare %s: %s",
				 f->vms[i].spec.name, strerror(-rc));
			fleet_destroy(f);
			return rc;
		}
	}
	if (ops == &backend_libvirt)
		bb_info("through libvirt: %s", cfg->connect);
	bb_info("booting %d VM%s (%s, %s each, driver %s%s%s%s%s)", n,
		n == 1 ? "" : "s", accel,
		unit_fmt_size(cfg->memory.bytes, size, sizeof(size)),
		cfg->driver, cfg->modparams[0] ? " " : "", cfg->modparams,
		cfg->device[0] ? ", device " : "", cfg->device);
	rc = fleet_boot(f, cfg->max_parallel_boots, cfg->boot_timeout_ms, err,
			len);
	if (rc)
		fleet_destroy(f);
	return rc;
}

/* Every scenario: adding one is one new file and one line here. */
static const struct scenario_ops *const scn_table[] = {
#define BB_SCENARIO(name) &scenario_##name,
#include "scenarios.def"
#undef BB_SCENARIO
};

const struct scenario_ops *scn_at(unsigned int i)
{
	return i < sizeof(scn_table) / sizeof(scn_table[0]) ? scn_table[i] :
	       NULL;
}

const struct scenario_ops *scn_find(const char *name)
{
	const struct scenario_ops *s;
	unsigned int i;

	for (i = 0; name && (s = scn_at(i)); i++)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

int scn_ungated(const struct scenario_ops *s, const char *name)
{
	const char *const *u;
	size_t n;

	if (!s->reference)
		return 1;
	/* "stock" and a sweep's "stock inflate=1/8" alike */
	n = strlen(s->reference);
	if (!strncmp(name, s->reference, n) && (!name[n] || name[n] == ' '))
		return 1;
	for (u = s->ungated; u && *u; u++) {
		n = strlen(*u);
		if (!strncmp(name, *u, n) && (!name[n] || name[n] == ' '))
			return 1;
	}
	return 0;
}

int scn_props_set(const char *props, const char *const *keys)
{
	const char *p = props;
	const char *const *k;
	size_t n;

	while (*p) {
		n = strcspn(p, "=,");
		for (k = keys; *k; k++)
			if (n == strlen(*k) && !strncmp(p, *k, n))
				return 1;
		p += strcspn(p, ",");
		p += *p == ',';
	}
	return 0;
}

int scn_check_rows(const struct bb_config *cfg,
		   int (*check)(const struct bb_config *row, char *err,
				unsigned long len),
		   char *err, unsigned long len)
{
	struct bb_config row;
	char name[96], why[512];
	int i, rc;

	for (i = 0; i < (cfg->nkeys ? cfg->nrows : 1); i++) {
		row = *cfg;
		if (cfg->nkeys)
			cfg_apply_row(&row, i);
		rc = check(&row, why, sizeof(why));
		if (rc) {
			cfg_row_name(cfg, i, name, sizeof(name));
			snprintf(err, len, "row '%s': %s", name, why);
			return rc;
		}
	}
	return 0;
}

int scn_finish(const struct bb_config *cfg, json_t *rpt, const char *rundir,
	       const char *accel, int rc, const char *err,
	       void (*table)(json_t *rpt))
{
	char path[700];

	if (rc) {
		bb_err("%s", rc == -EINTR ? "interrupted" : err);
		if (rc == -EINTR)
			rpt_add_error(rpt, NULL, "interrupted");
	}
	/* the accelerator that ran, known once a fleet booted */
	json_object_set_new(json_object_get(rpt, "host"), "accelerator",
			    json_string(accel[0] ? accel : cfg->accel));
	table(rpt);
	if (rpt_save(rpt, cfg->output_dir, cfg->name, rundir, path,
		     sizeof(path)) >= 0)
		printf("report: %s\n", path);
	json_decref(rpt);
	if (bb_interrupted)
		return BB_EXIT_INTR;
	return rc ? BB_EXIT_FAIL : BB_EXIT_OK;
}
