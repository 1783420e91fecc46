// SPDX-License-Identifier: GPL-2.0
/*
 * auto.c - AUTO_BALLOON (feature bit 19): the driver's own goal, the
 * shrinker that deflates under the guest's own memory pressure, and the
 * thrash check that deflates while the guest refaults its working set.
 *
 * The goal is what the worker moves the balloon towards.  Without the bit
 * it is always the host's num_pages.  With it, a configuration change
 * (and probe, and restore) makes it num_pages again, and a deflate under
 * pressure lowers it to what is left in the balloon, so that the guest
 * never inflates back by itself (docs/protocol.md, "AUTO_BALLOON").
 *
 * config_changed may run in interrupt context, so it only counts a new
 * target generation under goal_lock; the worker reads num_pages and
 * applies the generation.  A lowering records the generation it happened
 * in, so a notification that came before the lowering but was applied
 * after it cannot undo it, and one that came after it does.
 *
 * The shrinker never waits for a lock (trylock on the deflate queue's),
 * never allocates, and starts deflate batches for at most
 * VB_SHRINK_TIMEOUT per call, each round waiting for the host what was
 * left of it when its batch started.  Under auto_policy=guarded it tells
 * real pressure from ordinary page-cache reclaim (README.md, "Deflate
 * under pressure").
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/sizes.h>
#include <linux/swap.h>
#include <linux/virtio_config.h>
#include <linux/vmstat.h>

#include "vballoon.h"

/*
 * The host wait of one shrinker call (per round of requests; a call of
 * at most VB_SHRINK_BATCH pages has at most two).  Reclaim must not stall
 * on a slow host; pages the host has not acknowledged by then stay in the
 * balloon (MUST_TELL_HOST) and the caller reclaims elsewhere.
 */
#define VB_SHRINK_TIMEOUT	(HZ / 10)

/*
 * The thrash check's period (from the end of one check to the next), the
 * most it deflates per period (64 MiB), how long it keeps starting
 * batches, and the host wait of each round of requests (a batch started
 * just before VB_THRASH_TIME still gets the full wait, so a host that
 * answers is never timed out by the check's own clock).
 */
#define VB_THRASH_PERIOD	HZ
#define VB_THRASH_MAX		(SZ_64M >> PAGE_SHIFT)
#define VB_THRASH_TIME		(HZ / 2)
#define VB_THRASH_TIMEOUT	(HZ / 2)

/*
 * Pages a shrinker call is offered at most (shrinker.batch): one order-9
 * block, so a call can give back a whole block without splitting it.
 */
#define VB_SHRINK_BATCH		512


/*
 * Hold-off refusals since the host's last new target after which the
 * shrinker deflates anyway: only reclaims at priority 1 and 0 call us
 * (count_objects reports at most auto_max_pages), so this many refusals
 * mean several reclaims went through every priority without finding
 * enough elsewhere (the OOM killer is next).  Free memory alone cannot tell: ordinary allocations
 * stop at the min watermark, so free pages hardly ever fall below it
 * before the OOM killer runs.  Counted per target, not per inflate
 * progress: a worker that keeps taking a few pages must not renew the
 * hold-off for ever while the guest starves.
 */
#define VB_HOLDOFF_SWEEP	(DEF_PRIORITY + 1)

/*
 * compiler_types.h makes "auto" a macro for __auto_type, which would
 * rename the parameter; nothing below uses the keyword.
 */
#undef auto
bool vb_auto = true;
module_param_named(auto, vb_auto, bool, 0444);
MODULE_PARM_DESC(auto,
		 "acknowledge AUTO_BALLOON (bit 19): on (default) or off");

static char *auto_policy = "guarded";
module_param(auto_policy, charp, 0444);
MODULE_PARM_DESC(auto_policy,
		 "shrinker policy: guarded (default) or naive (seed 001)");

static unsigned int auto_cache_pct = 5;
module_param(auto_cache_pct, uint, 0644);
MODULE_PARM_DESC(auto_cache_pct,
		 "guarded: no deflate while file cache > this % of RAM");

static unsigned int auto_holdoff_ms = 1000;
module_param(auto_holdoff_ms, uint, 0644);
MODULE_PARM_DESC(auto_holdoff_ms,
		 "guarded: hold-off after inflate progress, ms");

static unsigned int auto_max_pages = 512;
module_param(auto_max_pages, uint, 0644);
MODULE_PARM_DESC(auto_max_pages,
		 "guarded: most pages deflated per shrinker call");

static unsigned int auto_thrash_permille = 1;
module_param(auto_thrash_permille, uint, 0644);
MODULE_PARM_DESC(auto_thrash_permille,
		 "guarded: deflate while workingset refaults per second exceed this per mille of RAM (0: never)");

/* auto_policy parsed at load. */
static bool vb_naive;

int vb_auto_parse_params(void)
{
	if (!strcmp(auto_policy, "guarded")) {
		vb_naive = false;
	} else if (!strcmp(auto_policy, "naive")) {
		vb_naive = true;
	} else {
		pr_err("auto_policy=%s unknown (guarded|naive)\n", auto_policy);
		return -EINVAL;
	}
	return 0;
}

const char *vb_auto_policy_name(void)
{
	return vb_naive ? "naive" : "guarded";
}

/* A new target from the host (config change, probe, restore); any context. */
void vb_auto_new_target(struct vballoon *vb)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->goal_lock, flags);
	vb->target_gen++;
	spin_unlock_irqrestore(&vb->goal_lock, flags);
}

/*
 * What the worker moves the balloon towards now; worker context (reads
 * the configuration).
 */
unsigned long vb_goal(struct vballoon *vb)
{
	unsigned long gen, goal, target;

	if (!vb->auto_balloon)
		return vb_target(vb);

	/*
	 * The generation first, then the target: the target read is at
	 * least as new as notification gen.  A later notification has
	 * queued the worker again and is applied in its next run.
	 */
	spin_lock_irq(&vb->goal_lock);
	gen = vb->target_gen;
	spin_unlock_irq(&vb->goal_lock);
	target = vb_target(vb);

	spin_lock_irq(&vb->goal_lock);
	if (gen != vb->goal_gen) {
		vb->goal_gen = gen;
		/* A new request: the hold-off protects it again. */
		atomic_set(&vb->holdoff_refusals, 0);
		/* A lowering since notification gen stands. */
		if ((long)(vb->lowered_gen - gen) >= 0)
			vb->goal = min(vb->goal, target);
		else
			vb->goal = target;
	}
	goal = vb->goal;
	spin_unlock_irq(&vb->goal_lock);
	return goal;
}

/*
 * The balloon was deflated under the guest's pressure: do not inflate
 * again before the host writes a new target.  Any process context.
 */
void vb_auto_lower_goal(struct vballoon *vb)
{
	if (!vb->auto_balloon)
		return;
	spin_lock_irq(&vb->goal_lock);
	vb->goal = min(vb->goal, READ_ONCE(vb->num_pages));
	vb->lowered_gen = vb->target_gen;
	spin_unlock_irq(&vb->goal_lock);
	spin_lock(&vb->stats_lock);
	vb->ctr.goal_lowered++;
	spin_unlock(&vb->stats_lock);
}

/* Free pages are below the sum of every zone's min watermark. */
static bool vb_below_min(void)
{
	unsigned long min = 0;
	struct zone *z;
	int nid, i;

	for_each_online_node(nid) {
		for (i = 0; i < MAX_NR_ZONES; i++) {
			z = &NODE_DATA(nid)->node_zones[i];
			if (populated_zone(z))
				min += min_wmark_pages(z);
		}
	}
	return global_zone_page_state(NR_FREE_PAGES) < min;
}

/* File pages on the LRU are more than auto_cache_pct % of RAM. */
static bool vb_cache_left(void)
{
	unsigned long file, limit;

	file = global_node_page_state(NR_ACTIVE_FILE) +
	       global_node_page_state(NR_INACTIVE_FILE);
	limit = totalram_pages() / 100 * READ_ONCE(auto_cache_pct);
	return file > limit;
}

/*
 * An allocation's own reclaim (direct reclaim, or kswapd) runs with
 * PF_MEMALLOC and a reclaim_state; drop_caches and other callers of
 * shrink_slab() outside reclaim do not, and are no sign of pressure.
 */
static bool vb_in_reclaim(void)
{
	return current->reclaim_state && (current->flags & PF_MEMALLOC);
}

/* guarded: why this reclaim must not deflate, or VB_SHRINK_OK. */
static enum vb_refusal vb_guard(struct vballoon *vb)
{
	unsigned long hold = msecs_to_jiffies(READ_ONCE(auto_holdoff_ms));

	if (current_is_kswapd())
		return VB_REFUSE_KSWAPD;
	if (!vb_in_reclaim())
		return VB_REFUSE_NOTRECLAIM;
	/* The inflate worker's own allocation would deflate its own work. */
	if (READ_ONCE(vb->inflater) == current)
		return VB_REFUSE_SELF;
	if (vb_cache_left())
		return VB_REFUSE_CACHE;
	if (!READ_ONCE(vb->inflated_once) ||
	    !time_before(jiffies, READ_ONCE(vb->last_inflate) + hold))
		return VB_SHRINK_OK;
	/* In the hold-off: only when really short. */
	if (vb_below_min() ||
	    atomic_read(&vb->holdoff_refusals) >= VB_HOLDOFF_SWEEP)
		return VB_SHRINK_URGENT;
	atomic_inc(&vb->holdoff_refusals);
	return VB_REFUSE_HOLDOFF;
}

static unsigned long vb_shrink_count(struct shrinker *s,
				     struct shrink_control *sc)
{
	struct vballoon *vb = container_of(s, struct vballoon, shrinker);
	unsigned long n = READ_ONCE(vb->num_pages);

	/*
	 * guarded: kswapd never deflates, so do not let it call scan at all
	 * (it would, thousands of times, while it fails to balance a node).
	 */
	if (!vb_naive && current_is_kswapd()) {
		atomic_long_inc(&vb->kswapd_skips);
		return 0;
	}
	/* Nor drop_caches: nothing is deferred for a later pass either. */
	if (!vb_naive && !vb_in_reclaim())
		return 0;
	if (!n)
		return SHRINK_EMPTY;
	/*
	 * guarded: never more than auto_max_pages.  One shrink_slab() call
	 * scans up to twice what we count, (count >> priority) * 2 plus
	 * deferred work, batch by batch: counting the whole balloon, a
	 * reclaim at priority 0 would empty it; counting auto_max_pages (one
	 * batch) it is scanned only at priorities 1 and 0, at most twice
	 * that per call, which is also the mark of a reclaim that found
	 * little elsewhere.
	 */
	return vb_naive ? n : min_t(unsigned long, n, READ_ONCE(auto_max_pages));
}

static void vb_shrink_account(struct vballoon *vb, enum vb_refusal why,
			      unsigned long done, u64 ns)
{
	struct vb_counters *k = &vb->ctr;

	spin_lock(&vb->stats_lock);
	k->shrink_calls++;
	k->shrink_pages += done;
	k->shrink_ns += ns;
	k->shrink_max_ns = max(k->shrink_max_ns, ns);
	if (why < VB_NR_REFUSALS)
		k->shrink_refused[why]++;
	else if (why == VB_SHRINK_URGENT)
		k->shrink_urgent++;
	spin_unlock(&vb->stats_lock);
}

static unsigned long vb_shrink_scan(struct shrinker *s,
				    struct shrink_control *sc)
{
	struct vballoon *vb = container_of(s, struct vballoon, shrinker);
	enum vb_refusal why = VB_SHRINK_OK;
	unsigned long want = sc->nr_to_scan, done = 0, hinted;
	u64 t0 = ktime_get_ns();

	/* Returned hint blocks first: they cost the host nothing. */
	hinted = vb_hint_release(vb, want);
	if (hinted >= want)
		goto out;
	want -= hinted;
	if (!vb_naive) {
		why = vb_guard(vb);
		if (why < VB_NR_REFUSALS)
			goto out;
		want = min_t(unsigned long, want, READ_ONCE(auto_max_pages));
	}
	if (!mutex_trylock(&vb->dq.lock)) {
		why = VB_REFUSE_BUSY;
		goto out;
	}
	if (vb->dq.vq)
		done = vb_deflate_until(vb, want,
					jiffies + VB_SHRINK_TIMEOUT, 0, true);
	if (done) {
		vb_report_actual(vb);
		/* The seed's naive shrinker chased num_pages again. */
		if (!vb_naive)
			vb_auto_lower_goal(vb);
	} else if (READ_ONCE(vb->num_pages)) {
		why = VB_REFUSE_HOST;
	}
	mutex_unlock(&vb->dq.lock);
out:
	done += hinted;
	/*
	 * Freed pages count as reclaim progress, as slab pages do, so the
	 * allocator does not declare OOM while the balloon still gives.
	 */
	if (done && current->reclaim_state)
		current->reclaim_state->reclaimed_slab += done;
	sc->nr_scanned = done;
	/* shrink_pages: the balloon's; hint_shrunk_pages has the rest. */
	vb_shrink_account(vb, why, done - hinted, ktime_get_ns() - t0);
	return done ? done : SHRINK_STOP;
}

/*
 * Thrashing: reclaim that always succeeds never reaches the shrinker at
 * the priorities it answers, yet the guest may spend its time reading
 * back what it just evicted (a kernel build squeezed below its working
 * set: headers, the compiler's text, objects the linker reads).  The
 * kernel leaves a shadow entry where it evicts a page cache or swap page
 * and counts a workingset refault when the page comes back while the
 * entry is still there.  A file read once never refaults, nor does one
 * whose cache is dropped between reads (a block device's on its last
 * close), so reading through data once, the ordinary cache reclaim that
 * upstream's shrinker fought against, does not trip this.  A regular
 * file larger than the guest read over and over does (README.md,
 * "Thrashing", known limitation).  The kernel's activations and
 * restores would be narrower still, but they stop counting once the
 * active list has collapsed, which is exactly when the guest thrashes
 * worst.
 */
static unsigned long vb_ws_refaults(void)
{
	return global_node_page_state(WORKINGSET_REFAULT_ANON) +
	       global_node_page_state(WORKINGSET_REFAULT_FILE);
}

/*
 * Once a period: when the guest refaulted faster than
 * auto_thrash_permille of RAM per second, give back as many pages as it
 * refaulted (at most VB_THRASH_MAX) and lower the goal, as the shrinker
 * does.  Worker context: it may wait for dq.lock and the host.
 */
void vb_thrash_work(struct work_struct *work)
{
	struct vballoon *vb = container_of(to_delayed_work(work),
					   struct vballoon, thrash_work);
	unsigned long seen = vb_ws_refaults(), now = jiffies;
	unsigned long delta = seen - vb->thrash_seen;
	unsigned long elapsed = now - vb->thrash_at;
	unsigned long limit, want, done = 0;
	unsigned int pm = min(READ_ONCE(auto_thrash_permille), 1000U);

	vb->thrash_seen = seen;
	vb->thrash_at = now;
	if (!pm || !elapsed || !READ_ONCE(vb->num_pages))
		goto again;
	limit = totalram_pages() / 1000 * pm * elapsed / HZ;
	if (delta <= limit)
		goto again;
	want = min_t(unsigned long, delta, VB_THRASH_MAX);
	mutex_lock(&vb->dq.lock);
	if (vb->dq.vq)
		done = vb_deflate_until(vb, want, jiffies + VB_THRASH_TIME,
					VB_THRASH_TIMEOUT, true);
	mutex_unlock(&vb->dq.lock);
	if (done) {
		vb_report_actual(vb);
		vb_auto_lower_goal(vb);
	}
	spin_lock(&vb->stats_lock);
	vb->ctr.thrash_events++;
	vb->ctr.thrash_pages += done;
	spin_unlock(&vb->stats_lock);
again:
	vb_queue_dwork(vb, &vb->thrash_work, VB_THRASH_PERIOD);
}

/* Probe and restore: the guarded policy watches for thrashing. */
void vb_thrash_start(struct vballoon *vb)
{
	if (!vb->auto_balloon || vb_naive)
		return;
	vb->thrash_seen = vb_ws_refaults();
	vb->thrash_at = jiffies;
	vb_queue_dwork(vb, &vb->thrash_work, VB_THRASH_PERIOD);
}

int vb_auto_start(struct vballoon *vb)
{
	int err;

	if (!vb->auto_balloon)
		return 0;
	vb->shrinker.count_objects = vb_shrink_count;
	vb->shrinker.scan_objects = vb_shrink_scan;
	vb->shrinker.batch = VB_SHRINK_BATCH;
	vb->shrinker.seeks = DEFAULT_SEEKS;
	err = register_shrinker(&vb->shrinker, "vballoon-%d", vb->vdev->index);
	if (err) {
		/* The bit allows deflating, it does not oblige: go on without. */
		dev_warn(&vb->vdev->dev,
			 "no shrinker (%d): the balloon deflates only when the host asks\n",
			 err);
		return 0;
	}
	vb->shrinker_registered = true;
	return 0;
}

/* Waits for a running scan_objects to return. */
void vb_auto_stop(struct vballoon *vb)
{
	if (!vb->shrinker_registered)
		return;
	unregister_shrinker(&vb->shrinker);
	vb->shrinker_registered = false;
}
