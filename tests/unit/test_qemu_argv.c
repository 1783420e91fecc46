// SPDX-License-Identifier: GPL-2.0
/* backend_qemu.c: the emulator command line built from a VM spec. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend.h"

static int has_arg(char **argv, const char *a, const char *b)
{
	int i;

	for (i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], a) && strstr(argv[i + 1], b))
			return 1;
	return 0;
}

static void free_argv(char **argv)
{
	for (; *argv; argv++)
		free(*argv);
}

static void test_tcg(void **state)
{
	struct vm_spec s = { .memory_bytes = 512ULL << 20, .vcpus = 2,
			     .tb_size_bytes = 64ULL << 20 };
	char *argv[64];

	(void)state;
	snprintf(s.name, sizeof(s.name), "vm03");
	snprintf(s.dir, sizeof(s.dir), "/tmp/run/vm03");
	snprintf(s.accel, sizeof(s.accel), "tcg");
	snprintf(s.qemu_bin, sizeof(s.qemu_bin), "/q");
	snprintf(s.driver, sizeof(s.driver), "vballoon");
	snprintf(s.modparams, sizeof(s.modparams), " mode=chunk  max_order=9 ");
	snprintf(s.device, sizeof(s.device), "chunk-transfer=on");
	assert_true(qemu_build_argv(&s, argv, 64) > 10);
	assert_string_equal(argv[0], "/q");
	assert_true(has_arg(argv, "-accel", "tcg,tb-size=64"));
	assert_true(has_arg(argv, "-m", "512M"));
	assert_true(has_arg(argv, "-smp", "2"));
	assert_true(has_arg(argv, "-append",
			    "bb.driver=vballoon bb.modparams=mode=chunk,max_order=9"));
	assert_true(has_arg(argv, "-device",
			    "virtio-balloon-pci,id=balloon0,chunk-transfer=on"));
	assert_true(has_arg(argv, "-qmp", "unix:/tmp/run/vm03/qmp.sock"));
	assert_true(has_arg(argv, "-chardev", "path=/tmp/run/vm03/agent.sock"));
	assert_true(has_arg(argv, "-pidfile", "/tmp/run/vm03/qemu.pid"));
	assert_false(has_arg(argv, "-cpu", "host"));
	assert_false(has_arg(argv, "-drive", ""));
	assert_false(has_arg(argv, "-object", ""));
	assert_false(has_arg(argv, "-incoming", ""));
	free_argv(argv);
	/* a migration target with an iothread for free page hinting */
	snprintf(s.object, sizeof(s.object), "iothread,id=bbio0");
	snprintf(s.incoming, sizeof(s.incoming), "unix:/tmp/run/mig.sock");
	assert_true(qemu_build_argv(&s, argv, 64) > 10);
	assert_true(has_arg(argv, "-object", "iothread,id=bbio0"));
	assert_true(has_arg(argv, "-incoming", "unix:/tmp/run/mig.sock"));
	free_argv(argv);
	s.object[0] = s.incoming[0] = '\0';
	/* the user's kernel options after ours (the last one counts) */
	snprintf(s.guest_cmdline, sizeof(s.guest_cmdline), "init_on_alloc=1");
	assert_true(qemu_build_argv(&s, argv, 64) > 10);
	assert_true(has_arg(argv, "-append", "init_on_alloc=0 mitigations=off "
			    "tsc=reliable no_timer_check init_on_alloc=1 "
			    "bb.driver=vballoon"));
	free_argv(argv);
	s.guest_cmdline[0] = '\0';
	/* disks: raw, read-only where asked, found in the guest by serial */
	s.ndisks = 2;
	snprintf(s.disks[0].path, sizeof(s.disks[0].path), "/b/kbuild.img");
	snprintf(s.disks[0].serial, sizeof(s.disks[0].serial), "bb-kbuild");
	s.disks[0].readonly = 1;
	snprintf(s.disks[1].path, sizeof(s.disks[1].path), "/w/vm03.img");
	snprintf(s.disks[1].serial, sizeof(s.disks[1].serial), "bb-scratch");
	assert_true(qemu_build_argv(&s, argv, 64) > 10);
	assert_true(has_arg(argv, "-drive", "file=/b/kbuild.img,if=none,"
			    "id=disk0,format=raw,readonly=on"));
	assert_true(has_arg(argv, "-drive", "file=/w/vm03.img,if=none,"
			    "id=disk1,format=raw"));
	assert_false(has_arg(argv, "-drive", "id=disk1,format=raw,readonly"));
	assert_true(has_arg(argv, "-device",
			    "virtio-blk-pci,drive=disk1,serial=bb-scratch"));
	free_argv(argv);
}

static void test_kvm_no_params(void **state)
{
	struct vm_spec s = { .memory_bytes = 1ULL << 30, .vcpus = 1 };
	char *argv[64];

	(void)state;
	snprintf(s.accel, sizeof(s.accel), "kvm");
	snprintf(s.driver, sizeof(s.driver), "stock");
	assert_true(qemu_build_argv(&s, argv, 64) > 10);
	assert_true(has_arg(argv, "-accel", "kvm"));
	assert_true(has_arg(argv, "-cpu", "host"));
	assert_false(has_arg(argv, "-append", "bb.modparams"));
	assert_true(has_arg(argv, "-device", "virtio-balloon-pci,id=balloon0"));
	free_argv(argv);
	/* too small an argv array is an error, not an overflow */
	assert_int_equal(qemu_build_argv(&s, argv, 8), -E2BIG);
	free_argv(argv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcg),
		cmocka_unit_test(test_kvm_no_params),
	};
	return cmocka_run_group_tests_name("qemu_argv", tests, NULL, NULL);
}
