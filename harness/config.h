/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_CONFIG_H
#define BB_CONFIG_H

#include <stdint.h>

#include "units.h"

#define CFG_MAX_ROWS 64
#define CFG_STR_LEN 256
/*
 * Longest guest_cmdline, characters: with balloonbench's own options and
 * the longest modparams the guest's line stays under BB_CMDLINE_LEN.
 */
#define CFG_CMDLINE_MAX 200

/* One scenario, fully resolved: every key of the option table has a value. */
struct bb_config {
	char scenario[32];		/* boot | inflate | overcommit | migrate */
	char name[64];			/* report name; defaults to the file's */
	int vms;			/* VMs in the fleet */
	struct bb_size memory;		/* guest RAM, bytes */
	int vcpus;			/* vCPUs per VM */
	char accel[8];			/* auto | tcg | kvm */
	char backend[16];		/* qemu | libvirt */
	char connect[CFG_STR_LEN];	/* libvirt URIs, "u1,u2": VMs round-robin */
	char driver[16];		/* stock | vballoon | none */
	char modparams[CFG_STR_LEN];	/* module parameters, "k=v k2=v2" */
	char guest_cmdline[CFG_CMDLINE_MAX + 1];	/* more guest kernel options */
	char qemu[16];			/* patched | stock */
	char device[CFG_STR_LEN];	/* extra virtio-balloon props, "a=on,b=off" */
	struct bb_size tb_size;		/* TCG translation cache per VM, bytes */
	uint64_t boot_timeout_ms;	/* until every agent answers, ms */
	int max_parallel_boots;		/* QEMUs starting at once; 0 = CPUs */
	char output_dir[CFG_STR_LEN];	/* reports go to DIR/<name>/<stamp> */
	char mode[32];			/* inflate row: transfer mode preset */
	struct bb_size touch;		/* touched then freed before inflate */
	struct bb_size inflate;		/* balloon size to reach, bytes */
	int repetitions;		/* samples per row */
	uint64_t step_timeout_ms;	/* inflate or deflate to its target, ms */
	char profile[8];		/* off | on: perf on the emulator per row */
	/* overcommit: a fleet doing builds inside a host memory limit */
	struct bb_size host_memory;	/* memory cgroup limit of all QEMUs, bytes */
	struct bb_size swap;		/* swap file added for the run, bytes */
	char work_dir[CFG_STR_LEN];	/* swap file and scratch disks go here */
	uint64_t sample_interval_ms;	/* probes sampled every, ms */
	char workload[16];		/* kbuild | command */
	char command[CFG_STR_LEN];	/* workload command: sh -c in every guest */
	char kbuild_config[32];		/* kernel config the image was prepared with */
	char targets[CFG_STR_LEN];	/* make targets: "vmlinux" or "kernel/ mm/" */
	int jobs;			/* make -j; 0: the guest's vCPUs */
	struct bb_size scratch;		/* sparse scratch disk per VM, bytes */
	uint64_t run_timeout_ms;	/* one run until every workload ends, ms */
	char strategy[16];		/* overcommit or migrate strategy */
	struct bb_size static_target;	/* static: guest memory after ballooning */
	uint64_t mom_interval_ms;	/* mom: policy step every, ms */
	double mom_pressure_pct;	/* mom: shrink below this host free, % */
	double mom_critical_pct;	/* mom: shrink harder below this, % */
	double mom_guest_free_pct;	/* mom: never below this free in a guest, % */
	double mom_max_step_pct;	/* mom: largest step, % of guest memory */
	double mom_min_step_pct;	/* mom: skip steps under this, % */
	/* migrate: one guest moved to a second QEMU */
	int bandwidth_mbit;		/* max-bandwidth, Mbit/s */
	uint64_t downtime_limit_ms;	/* downtime-limit, ms */
	char pre_workload[16];		/* idle | fresh | busy */
	char transport[8];		/* unix | tcp */
	uint64_t migrate_timeout_ms;	/* one migration until it completes */
	struct bb_size guard;		/* pattern held across the migration */
	struct bb_size writer;		/* busy: the writer's working set */
	int nkeys;			/* knobs the matrix varies: 0, 1 or 2 */
	char matrix_key[2][32];		/* their names */
	int nvals[2];			/* values of each knob */
	char vals[2][CFG_MAX_ROWS][32];	/* the values, as written */
	int nrows;			/* rows: the product of nvals (1 if none) */
	uint64_t set_keys;		/* bit per cfg_options[] entry: set by the user */
};

enum cfg_type {
	CFG_INT,
	CFG_SIZE,	/* absolute size with unit */
	CFG_RSIZE,	/* size or fraction of guest RAM */
	CFG_STR,
	CFG_ENUM,
	CFG_DURATION,
	CFG_PCT,	/* percentage: 20, "20%", 0.25 (a double) */
};

/* One scenario key: drives parsing, `balloonbench list` and the report. */
struct cfg_option {
	const char *name;	/* JSON key */
	enum cfg_type type;	/* how the value is parsed */
	unsigned long offset;	/* offsetof(struct bb_config, field) */
	unsigned long size;	/* sizeof the field (strings) */
	const char *def;	/* default, as it would be written */
	const char *unit;	/* unit shown in help */
	long long min, max;	/* bounds: ints, or bytes for sizes */
	const char *const *choices; /* CFG_ENUM values, NULL-terminated */
	int matrix;		/* may be the knob of a matrix */
	const char *help;	/* one line */
	const char *only;	/* the one scenario it applies to; NULL: all */
};

extern const struct cfg_option cfg_options[];

/* Fill every field with its default. */
void cfg_defaults(struct bb_config *cfg);

/*
 * Parse and validate a scenario file.  On error, err (len bytes) holds
 * "FILE: key PATH: REASON" and the return is -EINVAL (or -ENOENT).
 */
int cfg_load_file(const char *path, struct bb_config *cfg, char *err,
		  unsigned long len);

/* Same, from a JSON string (for tests); origin names it in errors. */
int cfg_load_string(const char *json, const char *origin,
		    struct bb_config *cfg, char *err, unsigned long len);

/* Set one key from a string, as from the command line ("memory", "1G"). */
int cfg_set(struct bb_config *cfg, const char *key, const char *val,
	    char *err, unsigned long len);

/*
 * Apply "--KEY VALUE" or "--KEY=VALUE" arguments, then validate.  Stops
 * after "--"; returns the index of the first argument not consumed.
 */
int cfg_apply_args(struct bb_config *cfg, int argc, char **argv, char *err,
		   unsigned long len);

/* Checks across keys (inflate below memory...); same error contract. */
int cfg_validate(const struct bb_config *cfg, char *err, unsigned long len);

/*
 * Apply matrix row i: with two knobs, rows run through the second knob's
 * values for each value of the first.
 */
int cfg_apply_row(struct bb_config *cfg, int row);

/* The row's name, generated from its values: "chunk", "sg inflate=1/8". */
void cfg_row_name(const struct bb_config *cfg, int row, char *buf,
		  unsigned long len);

/* Did the scenario file or the command line set key (not its default)? */
int cfg_is_set(const struct bb_config *cfg, const char *key);

/* Print the option table: name, type, default, unit, help. */
void cfg_print_options(void);

/* The resolved configuration as a JSON object (jansson json_t *). */
struct json_t;
struct json_t *cfg_to_json(const struct bb_config *cfg);

#endif
