/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_BACKEND_H
#define BB_BACKEND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vm;

#define BB_MAX_DISKS 2

/* A virtio-blk disk; the guest finds it by its serial. */
struct vm_disk {
	char path[256];			/* raw image file */
	char serial[21];		/* /sys/block/vdX/serial in the guest */
	int readonly;			/* attached read-only (shared image) */
};

/* What one VM is: filled by the scenario, read by the backend. */
struct vm_spec {
	int index;			/* position in the fleet */
	char name[32];			/* "vm00" */
	char dir[256];			/* run directory: sockets, logs, pid */
	uint64_t memory_bytes;		/* guest RAM, bytes */
	int vcpus;			/* vCPUs */
	char accel[8];			/* resolved: tcg | kvm */
	uint64_t tb_size_bytes;		/* TCG translation cache, bytes */
	char qemu_bin[256];		/* emulator binary */
	char kernel[256];		/* guest kernel (direct boot) */
	char initrd[256];		/* guest initramfs */
	char driver[16];		/* stock | vballoon | none */
	char modparams[256];		/* "k=v k2=v2" */
	char guest_cmdline[256];	/* more guest kernel options, or "" */
	char device[256];		/* extra virtio-balloon properties */
	char uri[256];			/* libvirt URI (libvirt backend only) */
	int probe;			/* boot only to prove the accelerator */
	int ndisks;			/* disks[] in use */
	struct vm_disk disks[BB_MAX_DISKS]; /* in the order the guest sees */
	char cgroup_procs[256];		/* join this cgroup before exec, or "" */
	char object[128];		/* one more -object (an iothread), or "" */
	char incoming[300];		/* -incoming URI (a migration target) */
};

/*
 * A way of running VMs.  The QEMU backend spawns qemu-system-x86_64
 * itself; others register one more table in backends[] (vm.c).
 */
struct backend_ops {
	const char *name;
	/* Start the VM; returns once its monitor is connected. */
	int (*boot)(struct vm *vm, char *err, unsigned long len);
	/* Ask the VM to stop and wait up to timeout_ms; kills on timeout. */
	int (*shutdown)(struct vm *vm, int timeout_ms);
	/* Stop it now (SIGKILL) and reap it. */
	void (*kill)(struct vm *vm);
	/* Has it exited? 1 with *status set (wait status), 0 if running. */
	int (*exited)(struct vm *vm, int *status);
	/* Host process id of the emulator (RSS, CPU time). */
	pid_t (*pid)(struct vm *vm);
	/* Monitor command, as qmp_call. */
	int (*qmp)(struct vm *vm, const char *cmd, json_t *args, json_t **ret,
		   int timeout_ms, char *err, unsigned long len);
	/* Connect the guest agent channel (readiness is polled by vm.c). */
	int (*agent_open)(struct vm *vm);
	/*
	 * Deliver monitor events for up to timeout_ms, for a backend that
	 * holds the monitor itself and set vm->backend_events; NULL where the
	 * harness reads the monitor (vm.c).
	 */
	int (*poll_events)(struct vm *vm, int timeout_ms);
	/* Remove what boot created (sockets, pid file); after kill/shutdown. */
	void (*cleanup)(struct vm *vm);
};

extern const struct backend_ops backend_qemu;
extern const struct backend_ops backend_libvirt;

/*
 * The device id of the balloon, in both backends (libvirt's default alias
 * for the first memballoon): its QOM path is /machine/peripheral/balloon0.
 */
#define BB_BALLOON_ID "balloon0"

/* Minimal firmware, from the distribution's qemu-system-data. */
#define QEMU_QBOOT "/usr/share/qemu/qboot.rom"

/*
 * The guest's kernel command line, bytes: at most about 600 (balloonbench's
 * options, 200 of guest_cmdline, 255 of modparams), under the kernel's
 * 2048.
 */
#define BB_CMDLINE_LEN 1024

/* The guest kernel command line for a spec, shared by both backends. */
int qemu_kernel_cmdline(const struct vm_spec *s, char *buf, unsigned long len);

/* Build the emulator argv for a spec (pure, unit-tested); NULL-terminated. */
int qemu_build_argv(const struct vm_spec *s, char **argv, int max);

/* The libvirt domain XML for a spec (pure, unit-tested); malloc'd or NULL. */
char *lv_domain_xml(const struct vm_spec *s, const char *domname,
		    const char *serial_path);
/* Does a libvirt URI name this host (no host part)? */
int lv_uri_is_local(const char *uri);
/* Domain name bb-<pid>-<fleet>-<vm> for a VM's run directory dir. */
void lv_domain_name(const char *dir, const char *vm, int pid, char *buf,
		    unsigned long len);
/* Is the NUL-separated command line args (n bytes) domain name's QEMU? */
bool lv_cmdline_names(const char *args, size_t n, const char *name);

#endif
