/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BB_CMD_H
#define BB_CMD_H

/* Report tools: read report files only, never boot anything. */
int cmd_plot(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_show(int argc, char **argv);

/* Boot one VM and run steps against it (cmd_vm.c). */
int cmd_vm(int argc, char **argv);

#endif
