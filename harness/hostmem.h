/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A smaller host than the machine: one memory cgroup with a limit that
 * holds every QEMU of a run, and a swap file for the run.  Both carry the
 * harness's pid in their names, so that the next run can tell the
 * leftovers of a killed one (pid gone) from those of a live one.
 */
#ifndef BB_HOSTMEM_H
#define BB_HOSTMEM_H

#include <stdint.h>

/* Name prefixes: balloonbench-<pid> (cgroup), balloonbench-swap-<pid>. */
#define HM_CGROUP_PREFIX "balloonbench-"
#define HM_SWAP_PREFIX "balloonbench-swap-"
#define HM_SCRATCH_PREFIX "balloonbench-scratch-"

struct hostmem {
	int version;			/* 1 or 2: cgroup version in use, 0 none */
	char cgroup[256];		/* its directory, or "" */
	char swapfile[256];		/* the run's swap file, or "" */
	char scratch[256];		/* directory of scratch disks, or "" */
	int swap_on;			/* swapon succeeded */
	uint64_t limit_bytes;		/* the cgroup's limit */
	uint64_t swap_bytes;		/* the swap file's size */
	uint64_t host_swap_bytes;	/* swap the host had before, bytes */
};

/* Where cgroups are mounted ("/sys/fs/cgroup"); tests point it elsewhere. */
extern char hm_cgroup_root[128];

/*
 * Which memory controller this host offers: 2 (cgroup v2 with memory
 * enabled for children of the root), 1 (v1 memory hierarchy), or 0 with
 * why saying what is missing.  *dir receives the parent directory.
 */
int hm_detect(char *dir, unsigned long dlen, char *why, unsigned long len);

/* Can a swap file of bytes be made in dir?  0, or -errno with why. */
int hm_swap_fits(const char *dir, uint64_t bytes, char *why,
		 unsigned long len);

/* Make the run's cgroup with limit_bytes; 0 or -errno with err. */
int hm_cgroup_create(struct hostmem *hm, uint64_t limit_bytes, char *err,
		     unsigned long len);
/* The file a process writes its pid into to join the cgroup. */
void hm_cgroup_procs(const struct hostmem *hm, char *buf, unsigned long len);
/* Kill what is left in the cgroup and remove it; safe to call twice. */
void hm_cgroup_remove(struct hostmem *hm);

/* Make, format and enable the run's swap file in dir. */
int hm_swap_create(struct hostmem *hm, const char *dir, uint64_t bytes,
		   char *err, unsigned long len);
/* swapoff and unlink; safe to call twice. */
void hm_swap_remove(struct hostmem *hm);

/* Make the run's directory for scratch disks in dir. */
int hm_scratch_create(struct hostmem *hm, const char *dir, char *err,
		      unsigned long len);
/* Remove it with the files in it; safe to call twice. */
void hm_scratch_remove(struct hostmem *hm);

/*
 * Remove cgroups, scratch directories and swap files of runs whose harness is gone (kill -9):
 * swap files and scratch directories are looked for in work_dir,
 * swap files also in /proc/swaps.  Says what
 * it removed on stderr; returns how many things it removed.
 */
int hm_sweep(const char *work_dir);

/* Swap the host has enabled now (/proc/swaps), bytes. */
uint64_t hm_host_swap_bytes(void);

/* Pure helpers, unit-tested. */
/* pid in a name "PREFIX<pid>", or 0 when name is not one. */
long hm_name_pid(const char *name, const char *prefix);

#endif
