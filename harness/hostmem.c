// SPDX-License-Identifier: GPL-2.0
/*
 * The run's memory cgroup and swap file (hostmem.h).  cgroup v2 where the
 * root offers the memory controller to its children, the v1 memory
 * hierarchy otherwise.  Swap goes on with swapon(2) from a file made with
 * fallocate and mkswap, and off again with swapoff(2) before it is
 * unlinked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostmem.h"
#include "log.h"

char hm_cgroup_root[128] = "/sys/fs/cgroup";

/* Free space a swap file must leave on its file system, bytes. */
#define HM_SWAP_SLACK (256ULL << 20)
/* How long a cgroup may stay busy after its processes were killed. */
#define HM_RMDIR_TRIES 50

long hm_name_pid(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;
	long pid;

	if (strncmp(name, prefix, n) || !name[n] || name[n] == '0')
		return 0;
	errno = 0;
	pid = strtol(name + n, &end, 10);
	if (errno || *end || pid <= 0)
		return 0;
	return pid;
}

static int hm_read_line(const char *path, char *buf, unsigned long len)
{
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		rc = -EIO;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return rc;
}

static int hm_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Is pid a running balloonbench (not a reused pid)? */
static int hm_pid_alive(long pid)
{
	char path[64], comm[64];

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if (hm_read_line(path, comm, sizeof(comm)))
		return 0;
	return !strcmp(comm, "balloonbench");
}

static int hm_has_word(const char *line, const char *word)
{
	size_t n = strlen(word);
	const char *p = line;

	while ((p = strstr(p, word))) {
		if ((p == line || p[-1] == ' ') && (!p[n] || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

int hm_detect(char *dir, unsigned long dlen, char *why, unsigned long len)
{
	char path[256], line[512];

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control",
		 hm_cgroup_root);
	if (!hm_read_line(path, line, sizeof(line)) &&
	    hm_has_word(line, "memory")) {
		snprintf(dir, dlen, "%s", hm_cgroup_root);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/memory/memory.limit_in_bytes",
		 hm_cgroup_root);
	if (!access(path, W_OK)) {
		snprintf(dir, dlen, "%s/memory", hm_cgroup_root);
		return 1;
	}
	snprintf(why, len, "no memory cgroup controller: neither %s/cgroup."
		 "subtree_control offers 'memory' (cgroup v2) nor is %s "
		 "writable (cgroup v1)", hm_cgroup_root, path);
	return 0;
}

int hm_swap_fits(const char *dir, uint64_t bytes, char *why,
		 unsigned long len)
{
	struct statvfs sv;
	uint64_t avail;

	if (statvfs(dir, &sv)) {
		snprintf(why, len, "cannot use '%s': %s", dir, strerror(errno));
		return -errno;
	}
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (bytes + HM_SWAP_SLACK > avail) {
		snprintf(why, len, "%" PRIu64 " MiB of swap does not fit in "
			 "'%s' (%" PRIu64 " MiB free, %llu MiB kept free)",
			 bytes >> 20, dir, avail >> 20, HM_SWAP_SLACK >> 20);
		return -ENOSPC;
	}
	return 0;
}

int hm_cgroup_create(struct hostmem *hm, uint64_t limit_bytes, char *err,
		     unsigned long len)
{
	char parent[200], path[300], val[32], why[300];
	int rc;

	hm->version = hm_detect(parent, sizeof(parent), why, sizeof(why));
	if (!hm->version) {
		snprintf(err, len, "%s", why);
		return -ENOTSUP;
	}
	snprintf(hm->cgroup, sizeof(hm->cgroup), "%s/" HM_CGROUP_PREFIX "%d",
		 parent, (int)getpid());
	if (mkdir(hm->cgroup, 0755) && errno != EEXIST) {
		rc = -errno;
		snprintf(err, len, "cannot create cgroup %s: %s", hm->cgroup,
			 strerror(errno));
		hm->cgroup[0] = '\0';
		return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", hm->cgroup, hm->version == 2 ?
		 "memory.max" : "memory.limit_in_bytes");
	snprintf(val, sizeof(val), "%" PRIu64, limit_bytes);
	rc = hm_write(path, val);
	if (rc) {
		snprintf(err, len, "cannot set %s to %s: %s", path, val,
			 strerror(-rc));
		hm_cgroup_remove(hm);
		return rc;
	}
	hm->limit_bytes = limit_bytes;
	return 0;
}

void hm_cgroup_procs(const struct hostmem *hm, char *buf, unsigned long len)
{
	snprintf(buf, len, "%s/cgroup.procs", hm->cgroup);
}

/* SIGKILL every process still in cgroup dir; how many were signalled. */
static int hm_kill_members(const char *dir)
{
	char path[300];
	long pid;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fscanf(f, "%ld", &pid) == 1)
		if (pid > 0 && !kill((pid_t)pid, SIGKILL))
			n++;
	fclose(f);
	return n;
}

/* rmdir a cgroup, waiting a moment for killed members to go. */
static int hm_rmdir_cgroup(const char *dir)
{
	int i;

	for (i = 0; i < HM_RMDIR_TRIES; i++) {
		if (!rmdir(dir) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		hm_kill_members(dir);
		usleep(100 * 1000);
	}
	return -EBUSY;
}

void hm_cgroup_remove(struct hostmem *hm)
{
	int rc;

	if (!hm->cgroup[0])
		return;
	if (hm_kill_members(hm->cgroup))
		bb_warn("killed processes left in %s", hm->cgroup);
	rc = hm_rmdir_cgroup(hm->cgroup);
	if (rc)
		bb_warn("cannot remove cgroup %s: %s", hm->cgroup,
			strerror(-rc));
	hm->cgroup[0] = '\0';
}

uint64_t hm_host_swap_bytes(void)
{
	char line[512], type[32];
	unsigned long long kib, total = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %31s %llu", type, &kib) == 2)
			total += kib;
	fclose(f);
	return (uint64_t)total << 10;
}

/* Run mkswap on path; 0 or -EIO with err holding what it said. */
static int hm_mkswap(const char *path, char *err, unsigned long len)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, STDOUT_FILENO);
		execlp("mkswap", "mkswap", "-q", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	snprintf(err, len, "mkswap %s failed (status %d%s)", path,
		 WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		 WIFEXITED(status) && WEXITSTATUS(status) == 127 ?
		 ": is util-linux installed?" : "");
	return -EIO;
}

int hm_swap_create(struct hostmem *hm, const char *dir, uint64_t bytes,
		   char *err, unsigned long len)
{
	int fd, rc;

	hm->host_swap_bytes = hm_host_swap_bytes();
	snprintf(hm->swapfile, sizeof(hm->swapfile), "%s/" HM_SWAP_PREFIX "%d",
		 dir, (int)getpid());
	fd = open(hm->swapfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, len, "cannot create %s: %s", hm->swapfile,
			 strerror(errno));
		hm->swapfile[0] = '\0';
		return rc;
	}
	rc = -posix_fallocate(fd, 0, (off_t)bytes);
	close(fd);
	if (rc) {
		snprintf(err, len, "cannot allocate %" PRIu64 " MiB for %s: %s",
			 bytes >> 20, hm->swapfile, strerror(-rc));
		goto fail;
	}
	rc = hm_mkswap(hm->swapfile, err, len);
	if (rc)
		goto fail;
	if (swapon(hm->swapfile, 0)) {
		rc = -errno;
		snprintf(err, len, "swapon %s: %s", hm->swapfile,
			 strerror(errno));
		goto fail;
	}
	hm->swap_on = 1;
	hm->swap_bytes = bytes;
	return 0;
fail:
	hm_swap_remove(hm);
	return rc;
}

void hm_swap_remove(struct hostmem *hm)
{
	if (!hm->swapfile[0])
		return;
	if (hm->swap_on && swapoff(hm->swapfile))
		bb_warn("swapoff %s: %s", hm->swapfile, strerror(errno));
	hm->swap_on = 0;
	if (unlink(hm->swapfile) && errno != ENOENT)
		bb_warn("cannot remove %s: %s", hm->swapfile, strerror(errno));
	hm->swapfile[0] = '\0';
}

/* A swap file of a dead run: off if on, then gone. */
static int hm_sweep_swapfile(const char *path)
{
	struct stat st;

	if (swapoff(path) && errno != EINVAL && errno != ENOENT)
		bb_warn("sweep: swapoff %s: %s", path, strerror(errno));
	if (stat(path, &st) || unlink(path))
		return 0;
	bb_info("removed the swap file %s of a run that was killed", path);
	return 1;
}

/* Active swap files of dead runs, wherever they are. */
static int hm_sweep_proc_swaps(void)
{
	char line[512], path[400];
	const char *base;
	long pid;
	int n = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%399s", path) != 1)
			continue;
		base = strrchr(path, '/');
		pid = hm_name_pid(base ? base + 1 : path, HM_SWAP_PREFIX);
		if (pid && !hm_pid_alive(pid))
			n += hm_sweep_swapfile(path);
	}
	fclose(f);
	return n;
}

/* Entries of dir named PREFIX<pid> whose run is gone; fn removes one. */
static int hm_sweep_dir(const char *dir, const char *prefix,
			int (*fn)(const char *path))
{
	struct dirent *de;
	char path[600];
	long pid;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		pid = hm_name_pid(de->d_name, prefix);
		if (!pid || hm_pid_alive(pid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n += fn(path);
	}
	closedir(d);
	return n;
}

static int hm_sweep_cgroup(const char *path)
{
	struct stat st;
	int k;

	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return 0;
	k = hm_kill_members(path);
	if (hm_rmdir_cgroup(path)) {
		bb_warn("sweep: cannot remove cgroup %s", path);
		return 0;
	}
	bb_info("removed the cgroup %s of a run that was killed%s", path,
		k ? " (and killed what was left in it)" : "");
	return 1;
}

/* rm -r of a scratch directory: it holds plain files only. */
static int hm_rm_flat(const char *dir)
{
	struct dirent *de;
	char path[600];
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	closedir(d);
	return rmdir(dir) ? -errno : 0;
}

int hm_scratch_create(struct hostmem *hm, const char *dir, char *err,
		      unsigned long len)
{
	snprintf(hm->scratch, sizeof(hm->scratch), "%s/" HM_SCRATCH_PREFIX
		 "%d", dir, (int)getpid());
	if (mkdir(hm->scratch, 0700) && errno != EEXIST) {
		int rc = -errno;

		snprintf(err, len, "cannot create %s: %s", hm->scratch,
			 strerror(errno));
		hm->scratch[0] = '\0';
		return rc;
	}
	return 0;
}

void hm_scratch_remove(struct hostmem *hm)
{
	int rc;

	if (!hm->scratch[0])
		return;
	rc = hm_rm_flat(hm->scratch);
	if (rc && rc != -ENOENT)
		bb_warn("cannot remove %s: %s", hm->scratch, strerror(-rc));
	hm->scratch[0] = '\0';
}

static int hm_sweep_scratch(const char *path)
{
	if (hm_rm_flat(path))
		return 0;
	bb_info("removed the scratch disks %s of a run that was killed", path);
	return 1;
}

int hm_sweep(const char *work_dir)
{
	char v1[200];
	int n;

	n = hm_sweep_proc_swaps();
	if (work_dir && *work_dir) {
		n += hm_sweep_dir(work_dir, HM_SWAP_PREFIX, hm_sweep_swapfile);
		n += hm_sweep_dir(work_dir, HM_SCRATCH_PREFIX,
				  hm_sweep_scratch);
	}
	n += hm_sweep_dir(hm_cgroup_root, HM_CGROUP_PREFIX, hm_sweep_cgroup);
	snprintf(v1, sizeof(v1), "%s/memory", hm_cgroup_root);
	n += hm_sweep_dir(v1, HM_CGROUP_PREFIX, hm_sweep_cgroup);
	return n;
}
