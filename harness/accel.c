// SPDX-License-Identifier: GPL-2.0
/*
 * Accelerator choice.  "auto" proves KVM with a short real boot of the
 * guest image (it powers off as soon as its /init runs) and falls back to
 * TCG: a /dev/kvm that opens is not proof that guests run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "vm.h"

/* A KVM boot to /init takes about a second; TCG's would be far slower. */
#define ACCEL_PROBE_TIMEOUT_MS 20000

/* Did the probe guest print its marker on the serial console? */
static int accel_probe_marker(const struct vm *vm)
{
	char path[300], line[512];
	int found = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/serial.log", vm->spec.dir);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	while (!found && fgets(line, sizeof(line), fp))
		found = strstr(line, "bb-init: probe ok") != NULL;
	fclose(fp);
	return found;
}

static int accel_probe_kvm(const struct vm_spec *tmpl)
{
	struct fleet f;
	struct vm *vm;
	double deadline;
	char err[512];
	int ok = 0, status = 0, fd;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		bb_info("accelerator: /dev/kvm unusable (%s); using TCG",
			strerror(errno));
		return 0;
	}
	close(fd);
	if (fleet_init(&f, 1, &backend_qemu))
		return 0;
	vm = &f.vms[0];
	snprintf(vm->spec.name, sizeof(vm->spec.name), "kvm-probe");
	memcpy(vm->spec.qemu_bin, tmpl->qemu_bin, sizeof(tmpl->qemu_bin));
	memcpy(vm->spec.kernel, tmpl->kernel, sizeof(tmpl->kernel));
	memcpy(vm->spec.initrd, tmpl->initrd, sizeof(tmpl->initrd));
	snprintf(vm->spec.accel, sizeof(vm->spec.accel), "kvm");
	snprintf(vm->spec.driver, sizeof(vm->spec.driver), "none");
	vm->spec.memory_bytes = 256ULL << 20;
	vm->spec.vcpus = 1;
	vm->spec.probe = 1;
	vm->state = VM_BOOTING;
	if (vm->ops->boot(vm, err, sizeof(err)) == 0) {
		deadline = bb_now_ms() + ACCEL_PROBE_TIMEOUT_MS;
		while (!vm->ops->exited(vm, &status) && bb_now_ms() < deadline &&
		       !bb_interrupted)
			usleep(20000);
		ok = vm->pid == 0 && WIFEXITED(status) &&
		     WEXITSTATUS(status) == 0 && accel_probe_marker(vm);
	}
	fleet_destroy(&f);
	bb_info("accelerator: KVM %s; using %s",
		ok ? "boots guests" : "cannot boot a guest here",
		ok ? "KVM" : "TCG");
	return ok;
}

int vm_resolve_accel(const char *want, struct vm_spec *tmpl, char *out,
		     unsigned long len, char *err, unsigned long elen)
{
	static int cached = -1;	/* -1 unknown, 0 tcg, 1 kvm */

	if (!strcmp(want, "tcg") || !strcmp(want, "kvm")) {
		snprintf(out, len, "%s", want);
		return 0;
	}
	if (strcmp(want, "auto")) {
		snprintf(err, elen, "unknown accelerator '%s'", want);
		return -EINVAL;
	}
	if (cached < 0)
		cached = accel_probe_kvm(tmpl);
	snprintf(out, len, "%s", cached ? "kvm" : "tcg");
	return 0;
}
