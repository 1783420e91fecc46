// SPDX-License-Identifier: GPL-2.0
/*
 * The libvirt backend's pure half: the domain XML for a VM spec, the
 * domain's name, whether a URI names this host and whether a process is a
 * domain's QEMU.  No libvirt calls, so it unit-tests.
 *
 * The domain is the QEMU backend's VM said in libvirt's words: the same
 * kernel command line (qemu_kernel_cmdline), machine, firmware, memory,
 * vCPUs, accelerator and translation cache, balloon and agent channel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"

int lv_uri_is_local(const char *uri)
{
	const char *p = strstr(uri, "://");

	/* driver[+transport]:///path has no host part: this host */
	return p && p[3] == '/';
}

/*
 * The domain's name, bb-<pid>-<fleet>-<vm>: <fleet> is the suffix of the
 * fleet's run directory (.../balloonbench.XXXXXX/vm00), because one run
 * may hold several fleets at once (the inflate scenario keeps every row's
 * VM booted), each with its vm00.  A directory without that suffix gives
 * bb-<pid>-<vm>.
 */
void lv_domain_name(const char *dir, const char *vm, int pid, char *buf,
		    unsigned long len)
{
	const char *end = strrchr(dir, '/'), *p = end;

	while (p && p > dir && p[-1] != '/' && p[-1] != '.')
		p--;
	if (p && p > dir && p[-1] == '.')
		snprintf(buf, len, "bb-%d-%.*s-%s", pid, (int)(end - p), p, vm);
	else
		snprintf(buf, len, "bb-%d-%s", pid, vm);
}

/*
 * Does a NUL-separated command line (@n bytes, NUL-terminated) hold
 * "-name guest=NAME[,...]", as libvirt starts the QEMU of domain NAME?
 */
bool lv_cmdline_names(const char *args, size_t n, const char *name)
{
	const char *a, *next, *end = args + n;
	size_t len = strlen(name);

	for (a = args; a < end; a = next) {
		next = a + strlen(a) + 1;
		if (strcmp(a, "-name") || next >= end)
			continue;
		if (!strncmp(next, "guest=", 6) &&
		    !strncmp(next + 6, name, len) &&
		    (next[6 + len] == ',' || next[6 + len] == '\0'))
			return true;
	}
	return false;
}

static void lv_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* The libvirt type of a -device value: bool, signed, unsigned or string. */
static const char *lv_prop_type(const char *v, const char **val)
{
	static const char *const yes[] = { "on", "true", "yes", NULL };
	static const char *const no[] = { "off", "false", "no", NULL };
	const char *d = v + (*v == '-');
	int i;

	for (i = 0; yes[i]; i++) {
		*val = !strcmp(v, yes[i]) ? "true" :
		       !strcmp(v, no[i]) ? "false" : NULL;
		if (*val)
			return "bool";
	}
	*val = v;
	if (*d && strspn(d, "0123456789") == strlen(d))
		return *v == '-' ? "signed" : "unsigned";
	return "string";
}

/* "chunk-transfer=on,sg=on" as <qemu:property> elements; "k" means k=on. */
static void lv_props(FILE *f, const char *device)
{
	char buf[256], *save = NULL, *kv, *eq;
	const char *type, *val;

	snprintf(buf, sizeof(buf), "%s", device);
	for (kv = strtok_r(buf, ",", &save); kv;
	     kv = strtok_r(NULL, ",", &save)) {
		eq = strchr(kv, '=');
		if (eq)
			*eq = '\0';
		type = lv_prop_type(eq ? eq + 1 : "on", &val);
		fputs("        <qemu:property name='", f);
		lv_esc(f, kv);
		fprintf(f, "' type='%s' value='", type);
		lv_esc(f, val);
		fputs("'/>\n", f);
	}
}

static void lv_xml_os(FILE *f, const struct vm_spec *s, const char *cmdline)
{
	fputs("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n", f);
	if (!access(QEMU_QBOOT, R_OK))
		fputs("    <loader type='rom'>" QEMU_QBOOT "</loader>\n", f);
	fputs("    <kernel>", f);
	lv_esc(f, s->kernel);
	fputs("</kernel>\n    <initrd>", f);
	lv_esc(f, s->initrd);
	fputs("</initrd>\n    <cmdline>", f);
	lv_esc(f, cmdline);
	fputs("</cmdline>\n  </os>\n", f);
	/* ACPI as in the QEMU backend; tb-cache is its -accel tcg,tb-size */
	fputs("  <features>\n    <acpi/>\n", f);
	if (strcmp(s->accel, "kvm"))
		fprintf(f, "    <tcg><tb-cache unit='MiB'>%llu</tb-cache>"
			"</tcg>\n",
			(unsigned long long)(s->tb_size_bytes >> 20));
	fputs("  </features>\n", f);
	if (!strcmp(s->accel, "kvm"))
		fputs("  <cpu mode='host-passthrough'/>\n", f);
}

/* The spec's disks, raw files on virtio-blk, found by their serials. */
static void lv_xml_disks(FILE *f, const struct vm_spec *s)
{
	int i;

	for (i = 0; i < s->ndisks; i++) {
		fputs("    <disk type='file' device='disk'>\n"
		      "      <driver name='qemu' type='raw'/>\n"
		      "      <source file='", f);
		lv_esc(f, s->disks[i].path);
		fprintf(f, "'/>\n      <target dev='vd%c' bus='virtio'/>\n"
			"      <serial>", 'a' + i);
		lv_esc(f, s->disks[i].serial);
		fprintf(f, "</serial>\n%s    </disk>\n",
			s->disks[i].readonly ? "      <readonly/>\n" : "");
	}
}

static void lv_xml_devices(FILE *f, const struct vm_spec *s,
			   const char *serial_path)
{
	fputs("  <devices>\n    <emulator>", f);
	lv_esc(f, s->qemu_bin);
	fputs("</emulator>\n"
	      "    <controller type='usb' model='none'/>\n"
	      "    <serial type='file'>\n      <source path='", f);
	lv_esc(f, serial_path);
	fputs("'/>\n      <target port='0'/>\n    </serial>\n"
	      /* no path: libvirt picks one and connects to it itself */
	      "    <channel type='unix'>\n"
	      "      <target type='virtio' name='org.qemu.guest_agent.0'/>\n"
	      "    </channel>\n"
	      "    <memballoon model='virtio'/>\n", f);
	lv_xml_disks(f, s);
	fputs("  </devices>\n", f);
	if (!s->device[0])
		return;
	fputs("  <qemu:override>\n"
	      "    <qemu:device alias='" BB_BALLOON_ID "'>\n"
	      "      <qemu:frontend>\n", f);
	lv_props(f, s->device);
	fputs("      </qemu:frontend>\n    </qemu:device>\n"
	      "  </qemu:override>\n", f);
}

char *lv_domain_xml(const struct vm_spec *s, const char *domname,
		    const char *serial_path)
{
	char cmdline[BB_CMDLINE_LEN], *xml = NULL;
	size_t size = 0;
	FILE *f;

	if (qemu_kernel_cmdline(s, cmdline, sizeof(cmdline)))
		return NULL;
	f = open_memstream(&xml, &size);
	if (!f)
		return NULL;
	fprintf(f, "<domain type='%s' xmlns:qemu="
		"'http://libvirt.org/schemas/domain/qemu/1.0'>\n  <name>",
		strcmp(s->accel, "kvm") ? "qemu" : "kvm");
	lv_esc(f, domname);
	fprintf(f, "</name>\n  <memory unit='KiB'>%llu</memory>\n"
		"  <vcpu>%d</vcpu>\n",
		(unsigned long long)(s->memory_bytes >> 10), s->vcpus);
	lv_xml_os(f, s, cmdline);
	/* a guest that stops, reboots or panics is gone, as with -no-reboot */
	fputs("  <on_poweroff>destroy</on_poweroff>\n"
	      "  <on_reboot>destroy</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n", f);
	lv_xml_devices(f, s, serial_path);
	fputs("</domain>\n", f);
	if (fclose(f)) {
		free(xml);
		return NULL;
	}
	return xml;
}
