// SPDX-License-Identifier: GPL-2.0
/* Boot progress display; see progress.h. */
#include <stdio.h>

#include "log.h"
#include "progress.h"
#include "vm.h"

/* Fleets up to this size get one line per VM on a terminal. */
#define PROGRESS_MAX_LINES 12

static int progress_drawn;	/* lines drawn last time, to move up over */
static double progress_last_ms;	/* last redraw */

static const char *progress_state(enum vm_state s)
{
	static const char *const names[] = {
		[VM_PENDING] = "pending", [VM_BOOTING] = "booting",
		[VM_READY] = "ready", [VM_DEAD] = "DIED",
		[VM_STOPPED] = "stopped",
	};
	return names[s];
}

static double progress_elapsed(const struct vm *vm, double now)
{
	if (vm->state == VM_PENDING)
		return 0;
	if (vm->state == VM_READY)
		return (vm->t_ready_ms - vm->t_start_ms) / 1000;
	return (now - vm->t_start_ms) / 1000;
}

static void progress_lines(const struct fleet *f, double now)
{
	int i;

	for (i = 0; i < f->n; i++) {
		const struct vm *vm = &f->vms[i];

		fprintf(stderr, "\033[2K  %s  %-8s %6.1f s\n", vm->spec.name,
			progress_state(vm->state), progress_elapsed(vm, now));
	}
	progress_drawn = f->n;
}

static void progress_bar(const struct fleet *f)
{
	int i, cnt[VM_STOPPED + 1] = { 0 }, width = 40, fill;

	for (i = 0; i < f->n; i++)
		cnt[f->vms[i].state]++;
	fill = cnt[VM_READY] * width / f->n;
	fprintf(stderr, "\033[2K  [");
	for (i = 0; i < width; i++)
		fputc(i < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %d/%d ready, %d booting, %d pending%s\n",
		cnt[VM_READY], f->n, cnt[VM_BOOTING], cnt[VM_PENDING],
		cnt[VM_DEAD] ? ", some DIED" : "");
	progress_drawn = 1;
}

void progress_boot(const struct fleet *f, int vm_changed, int final)
{
	double now = bb_now_ms();
	const struct vm *vm;

	if (bb_verbosity < 1)
		return;
	if (!bb_log_tty()) {
		if (vm_changed < 0)
			return;
		vm = &f->vms[vm_changed];
		if (vm->state == VM_READY)
			fprintf(stderr, "balloonbench: %s ready after %.1f s\n",
				vm->spec.name, progress_elapsed(vm, now));
		return;
	}
	if (!final && now - progress_last_ms < 200)
		return;
	progress_last_ms = now;
	if (progress_drawn)
		fprintf(stderr, "\033[%dA", progress_drawn);
	if (f->n <= PROGRESS_MAX_LINES)
		progress_lines(f, now);
	else
		progress_bar(f);
	if (final)
		progress_drawn = 0;
}
