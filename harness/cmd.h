/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_CMD_H
#define BB_CMD_H

#include <jansson.h>

/* Report tools: read report files only, never boot anything. */
int cmd_plot(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_show(int argc, char **argv);

struct scenario_ops;
/*
 * Load a report and find the scenario that wrote it; NULL after saying
 * what was wrong (a bad field, a scenario this build does not know).
 */
json_t *rt_load(const char *path, const struct scenario_ops **ops);

/* 0 when two reports measure the same thing; else -EINVAL, err says why. */
int rt_comparable(json_t *a, json_t *b, char *err, unsigned long len);

/* Boot one VM and run steps against it (cmd_vm.c). */
int cmd_vm(int argc, char **argv);

#endif
