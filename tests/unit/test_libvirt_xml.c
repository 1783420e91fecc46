// SPDX-License-Identifier: GPL-2.0
/*
 * libvirt_xml.c: the domain XML built from a VM spec, URI locality;
 * and the round-robin choice of a URI (scenario.c) that feeds it.
 */
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
#include "scenario.h"

static void spec_tcg(struct vm_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->memory_bytes = 512ULL << 20;
	s->vcpus = 2;
	s->tb_size_bytes = 64ULL << 20;
	snprintf(s->name, sizeof(s->name), "vm03");
	snprintf(s->dir, sizeof(s->dir), "/tmp/run/vm03");
	snprintf(s->accel, sizeof(s->accel), "tcg");
	snprintf(s->qemu_bin, sizeof(s->qemu_bin), "/q/qemu-system-x86_64");
	snprintf(s->kernel, sizeof(s->kernel), "/g/vmlinuz");
	snprintf(s->initrd, sizeof(s->initrd), "/g/a&b.cpio.gz");
	snprintf(s->driver, sizeof(s->driver), "vballoon");
	snprintf(s->modparams, sizeof(s->modparams), "mode=chunk max_order=9");
}

static void test_tcg(void **state)
{
	struct vm_spec s;
	char cmdline[600], want[700];
	char *xml;

	(void)state;
	spec_tcg(&s);
	snprintf(s.device, sizeof(s.device),
		 "chunk-transfer=on,sg=off,guest-stats-polling-interval=5,"
		 "x-name=a<b,page-bitmap");
	xml = lv_domain_xml(&s, "bb-42-vm03", "/tmp/run/vm03/serial.log");
	assert_non_null(xml);
	assert_non_null(strstr(xml, "<domain type='qemu'"));
	assert_non_null(strstr(xml, "<name>bb-42-vm03</name>"));
	assert_non_null(strstr(xml, "<memory unit='KiB'>524288</memory>"));
	assert_non_null(strstr(xml, "<vcpu>2</vcpu>"));
	assert_non_null(strstr(xml,
			       "<emulator>/q/qemu-system-x86_64</emulator>"));
	assert_non_null(strstr(xml, "<initrd>/g/a&amp;b.cpio.gz</initrd>"));
	assert_non_null(strstr(xml, "<tb-cache unit='MiB'>64</tb-cache>"));
	assert_null(strstr(xml, "host-passthrough"));
	assert_null(strstr(xml, "<disk"));
	/* the same kernel command line as the QEMU backend's -append */
	assert_int_equal(qemu_kernel_cmdline(&s, cmdline, sizeof(cmdline)), 0);
	snprintf(want, sizeof(want), "<cmdline>%s</cmdline>", cmdline);
	assert_non_null(strstr(xml, want));
	assert_non_null(strstr(cmdline, "bb.modparams=mode=chunk,max_order=9"));
	assert_non_null(strstr(xml,
			       "<source path='/tmp/run/vm03/serial.log'/>"));
	assert_non_null(strstr(xml, "name='org.qemu.guest_agent.0'"));
	assert_non_null(strstr(xml, "<memballoon model='virtio'/>"));
	/* device properties, typed for QEMU's JSON -device */
	assert_non_null(strstr(xml, "<qemu:device alias='balloon0'>"));
	assert_non_null(strstr(xml, "name='chunk-transfer' type='bool' "
			       "value='true'"));
	assert_non_null(strstr(xml, "name='sg' type='bool' value='false'"));
	assert_non_null(strstr(xml, "name='guest-stats-polling-interval' "
			       "type='unsigned' value='5'"));
	assert_non_null(strstr(xml, "name='x-name' type='string' "
			       "value='a&lt;b'"));
	assert_non_null(strstr(xml, "name='page-bitmap' type='bool' "
			       "value='true'"));
	free(xml);
}

static void test_kvm_no_device(void **state)
{
	struct vm_spec s;
	char *xml;

	(void)state;
	spec_tcg(&s);
	snprintf(s.accel, sizeof(s.accel), "kvm");
	s.probe = 1;
	xml = lv_domain_xml(&s, "bb-1-vm00", "/var/log/x-serial.log");
	assert_non_null(xml);
	assert_non_null(strstr(xml, "<domain type='kvm'"));
	assert_non_null(strstr(xml, "<cpu mode='host-passthrough'/>"));
	assert_null(strstr(xml, "tb-cache"));
	assert_null(strstr(xml, "qemu:override"));
	assert_non_null(strstr(xml, " bb.probe=1</cmdline>"));
	free(xml);
}

static void test_disks(void **state)
{
	struct vm_spec s;
	char *xml;

	(void)state;
	spec_tcg(&s);
	s.ndisks = 2;
	snprintf(s.disks[0].path, sizeof(s.disks[0].path), "/b/k'b.img");
	snprintf(s.disks[0].serial, sizeof(s.disks[0].serial), "bb-kbuild");
	s.disks[0].readonly = 1;
	snprintf(s.disks[1].path, sizeof(s.disks[1].path), "/w/vm03.img");
	snprintf(s.disks[1].serial, sizeof(s.disks[1].serial), "bb-scratch");
	xml = lv_domain_xml(&s, "bb-42-vm03", "/tmp/run/vm03/serial.log");
	assert_non_null(xml);
	assert_non_null(strstr(xml, "<source file='/b/k&apos;b.img'/>\n"
			       "      <target dev='vda' bus='virtio'/>\n"
			       "      <serial>bb-kbuild</serial>\n"
			       "      <readonly/>\n"));
	assert_non_null(strstr(xml, "<source file='/w/vm03.img'/>\n"
			       "      <target dev='vdb' bus='virtio'/>\n"
			       "      <serial>bb-scratch</serial>\n"
			       "    </disk>"));
	free(xml);
}

static void test_uri_local(void **state)
{
	(void)state;
	assert_true(lv_uri_is_local("qemu:///system"));
	assert_true(lv_uri_is_local("qemu+unix:///system?socket=/x.sock"));
	assert_false(lv_uri_is_local("qemu+ssh://root@host2/system"));
	assert_false(lv_uri_is_local("qemu+tcp://10.0.0.2/system"));
	assert_false(lv_uri_is_local("bogus"));
}

/* One fleet's vm00 must not collide with another's: the fleet is named. */
static void test_domain_name(void **state)
{
	char a[64], b[64];

	(void)state;
	lv_domain_name("/tmp/balloonbench.Ab12Cd/vm00", "vm00", 4242, a,
		       sizeof(a));
	assert_string_equal(a, "bb-4242-Ab12Cd-vm00");
	lv_domain_name("/tmp/balloonbench.Zz99Yy/vm00", "vm00", 4242, b,
		       sizeof(b));
	assert_string_equal(b, "bb-4242-Zz99Yy-vm00");
	/* a directory without the mkdtemp suffix: pid and VM only */
	lv_domain_name("/tmp/x/vm03", "vm03", 7, a, sizeof(a));
	assert_string_equal(a, "bb-7-vm03");
	lv_domain_name("vm01", "vm01", 7, a, sizeof(a));
	assert_string_equal(a, "bb-7-vm01");
	/* bounded by the buffer */
	lv_domain_name("/tmp/balloonbench.Ab12Cd/vm00", "vm00", 4242, a, 8);
	assert_string_equal(a, "bb-4242");
}

/* Which process is a domain's QEMU: -name guest=NAME exactly. */
static void test_cmdline_names(void **state)
{
	static const char line[] = "qemu-system-x86_64\0-name\0"
		"guest=bb-1-Ab-vm00,debug-threads=on\0-m\0512";
	static const char bare[] = "qemu\0-name\0guest=bb-1-Ab-vm00";
	static const char last[] = "qemu\0-m\0512\0-name";
	static const char other[] = "qemu\0-name\0bb-1-Ab-vm00";

	(void)state;
	assert_true(lv_cmdline_names(line, sizeof(line), "bb-1-Ab-vm00"));
	assert_true(lv_cmdline_names(bare, sizeof(bare), "bb-1-Ab-vm00"));
	/* a prefix of another domain's name is not that domain */
	assert_false(lv_cmdline_names(line, sizeof(line), "bb-1-Ab-vm0"));
	assert_false(lv_cmdline_names(line, sizeof(line), "bb-1-Ab-vm001"));
	/* -name as the last word, or without guest= */
	assert_false(lv_cmdline_names(last, sizeof(last), "bb-1-Ab-vm00"));
	assert_false(lv_cmdline_names(other, sizeof(other), "bb-1-Ab-vm00"));
	assert_false(lv_cmdline_names("", 1, "bb-1-Ab-vm00"));
}

static void test_pick_uri(void **state)
{
	const char *list = "qemu:///system, qemu+ssh://h2/system,,"
			   "qemu+ssh://h3/system";
	char out[256];

	(void)state;
	assert_int_equal(scn_pick_uri(list, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "qemu:///system");
	assert_int_equal(scn_pick_uri(list, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "qemu+ssh://h2/system");
	assert_int_equal(scn_pick_uri(list, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "qemu+ssh://h3/system");
	assert_int_equal(scn_pick_uri(list, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "qemu:///system");
	assert_int_equal(scn_pick_uri(" , ", 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(scn_pick_uri("", 5, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcg),
		cmocka_unit_test(test_kvm_no_device),
		cmocka_unit_test(test_disks),
		cmocka_unit_test(test_uri_local),
		cmocka_unit_test(test_domain_name),
		cmocka_unit_test(test_cmdline_names),
		cmocka_unit_test(test_pick_uri),
	};
	return cmocka_run_group_tests_name("libvirt_xml", tests, NULL,
					   NULL);
}
