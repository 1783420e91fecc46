// SPDX-License-Identifier: GPL-2.0
/*
 * core.c - the balloonbench virtio-balloon driver: probe and removal,
 * inflate and deflate policy, high-order blocks, OOM and compaction.
 *
 * Pages in the balloon are kept in two places:
 *  - single pages (order 0) on the balloon_dev_info list, movable by
 *    compaction through the balloon_compaction API;
 *  - blocks of order 1..max_order on vb->blocks[order], linked through the
 *    head page's lru, every page marked PageOffline; they are not movable.
 * Deflate gives back whole blocks, largest first, then single pages, and
 * splits one block only when nothing smaller is left.
 *
 * The inflate worker allocates a batch with no lock held, then sends it
 * holding only the inflate queue's lock; the OOM notifier deflates on the
 * deflate queue and so never waits for an inflate, for an allocation or,
 * beyond VB_OOM_TIMEOUT, for the host.  A page named in a request the host
 * has not returned is never given back to the guest while the host may
 * still act on it: inflated pages wait in limbo until the request comes
 * back (or the device is reset), deflated ones go back into the balloon
 * when MUST_TELL_HOST is negotiated.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/oom.h>
#include <linux/poison.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/vmstat.h>

#include "vballoon.h"

/* Priority among OOM notifiers; the upstream balloon uses the same. */
#define VB_OOM_PRIORITY		80

/* Retry delay after an inflate or deflate that made no progress. */
#define VB_RETRY_DELAY		(HZ / 5)

/*
 * How long the worker and removal wait for the host to return a round of
 * requests.  A host that is only slow loses nothing when this runs out:
 * the requests stay in the ring and their pages are settled when they
 * come back.  Far below the hung-task timeout.
 */
#define VB_ACK_TIMEOUT		(5 * HZ)

/*
 * One OOM notifier call: it polls for the deflate queue's lock and starts
 * batches only this long; each round of requests waits for the host what
 * was left when its batch started (one round for the default oom_pages;
 * a batch of several rounds may end past it).
 */
#define VB_OOM_TIMEOUT		(HZ / 2)

/* Each of the two requests of a migration (compaction waits meanwhile). */
#define VB_MIGRATE_TIMEOUT	(HZ / 10)

static char *mode = "auto";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode,
		 "transfer mode: auto, legacy, bitmap, chunk or sg");

static unsigned int max_order = 9;
module_param(max_order, uint, 0444);
MODULE_PARM_DESC(max_order,
		 "largest block order to allocate, 0..10 (default 9 = 2 MiB)");

static bool split_blocks = true;
module_param(split_blocks, bool, 0444);
MODULE_PARM_DESC(split_blocks,
		 "take single balloon pages as free pageblocks cut up while there are any (not in legacy mode)");

static unsigned int oom_pages = 256;
module_param(oom_pages, uint, 0644);
MODULE_PARM_DESC(oom_pages,
		 "pages to give back per OOM notification (DEFLATE_ON_OOM)");

bool vb_allow_inject;
module_param_named(allow_inject, vb_allow_inject, bool, 0444);
MODULE_PARM_DESC(allow_inject,
		 "create debugfs vballoon/inject for host tests (unsafe)");

/* mode= parsed at load: a VB_MODE_* or -1 for auto. */
static int vb_want_mode = -1;

static const unsigned int vb_features[] = {
	VBALLOON_F_MUST_TELL_HOST,
	VBALLOON_F_STATS_VQ,
	VBALLOON_F_DEFLATE_ON_OOM,
	VBALLOON_F_FREE_PAGE_HINT,
	VBALLOON_F_PAGE_POISON,
	VBALLOON_F_PAGE_BITMAP,
	VBALLOON_F_CHUNK_TRANSFER,
	VBALLOON_F_SG,
	VBALLOON_F_AUTO_BALLOON,
	VIRTIO_BALLOON_F_REPORTING,
	VBALLOON_F_FREE_PAGE_BITMAP,
};

u32 vb_target(struct vballoon *vb)
{
	u32 target;

	virtio_cread_le(vb->vdev, struct virtio_balloon_config, num_pages,
			&target);
	return target;
}

/* The caller makes sure the device is there (holds a queue lock, or work). */
void vb_report_actual(struct vballoon *vb)
{
	u32 actual;

	vb_lock(vb);
	actual = vb->num_pages;
	virtio_cwrite_le(vb->vdev, struct virtio_balloon_config, actual,
			 &actual);
	vb_unlock(vb);
}

static void vb_add_array(u64 *dst, const u64 *src)
{
	unsigned int i;

	for (i = 0; i < VB_NR_ORDERS; i++)
		dst[i] += src[i];
}

void vb_account(struct vballoon *vb, bool inflate,
		const struct vb_batch_cost *c)
{
	struct vb_counters *k = &vb->ctr;

	spin_lock(&vb->stats_lock);
	k->xfer_timeouts += c->x.timeouts;
	if (inflate) {
		k->inflate_pages += c->pages;
		vb_add_array(k->inflate_blocks, c->blocks);
		vb_add_array(k->inflate_alloc_fail, c->alloc_fail);
		k->inflate_split_blocks += c->split_blocks;
		k->inflate_split_fail += c->split_fail;
		k->inflate_batches += !!c->pages;
		k->inflate_requests += c->x.requests;
		k->inflate_kicks += c->x.kicks;
		k->inflate_alloc_ns += c->alloc_ns;
		k->inflate_build_ns += c->x.build_ns;
		k->inflate_commit_ns += c->commit_ns;
		k->inflate_wait_ns += c->x.wait_ns;
		k->inflate_ns += c->total_ns;
	} else {
		k->deflate_pages += c->pages;
		vb_add_array(k->deflate_blocks, c->blocks);
		k->deflate_splits += c->splits;
		k->deflate_batches += !!c->pages;
		k->deflate_requests += c->x.requests;
		k->deflate_kicks += c->x.kicks;
		k->deflate_build_ns += c->x.build_ns;
		k->deflate_wait_ns += c->x.wait_ns;
		k->deflate_free_ns += c->free_ns;
		k->deflate_ns += c->total_ns;
	}
	spin_unlock(&vb->stats_lock);
}

/*
 * A transfer failed.  Quiet for -EBUSY (the host still has an earlier
 * one, already reported) and -ESHUTDOWN (the device is going away).
 */
static void vb_xfer_failed(struct vballoon *vb, const char *what, int err)
{
	if (err == -EBUSY || err == -ESHUTDOWN)
		return;
	dev_warn_ratelimited(&vb->vdev->dev, "%s request failed: %d\n",
			     what, err);
	spin_lock(&vb->stats_lock);
	vb->ctr.xfer_errors++;
	spin_unlock(&vb->stats_lock);
}

/*
 * May an inflate request go out?  The caller holds iq.lock.  Once the host
 * has returned everything, a page compaction left in limbo is inflated.
 */
static int vb_iq_ready(struct vballoon *vb)
{
	struct page *page = vb->mig_limbo;
	int err;

	lockdep_assert_held(&vb->iq.lock);
	err = vb_queue_ready(vb, &vb->iq);
	if (err || !page)
		return err;
	vb->mig_limbo = NULL;
	vb_lock(vb);
	vb_insert_range(vb, page, 1);
	WRITE_ONCE(vb->num_pages, vb->num_pages + 1);
	vb_unlock(vb);
	return 0;
}

/*
 * The worker's entries the host had not returned: inflated once it has
 * returned them.  The caller holds iq.lock.
 */
static void vb_settle_limbo(struct vballoon *vb, struct vb_batch_cost *c)
{
	lockdep_assert_held(&vb->iq.lock);
	if (!vb->ilimbo || vb_iq_ready(vb))
		return;
	vb_commit(vb, vb->ibatch, vb->ilimbo, c);
	vb->ilimbo = 0;
}

/*
 * After a failed inflate transfer: what the host returned is inflated,
 * what it never saw is freed, and what it may still act on waits in limbo
 * (or is inflated, if nothing is out any more).  Holds iq.lock.
 */
static void vb_inflate_failed(struct vballoon *vb, unsigned int nr,
			      const struct vb_sent *s, struct vb_batch_cost *c)
{
	struct vb_ent *ent = vb->ibatch;
	unsigned int posted, acked;

	lockdep_assert_held(&vb->iq.lock);
	vb_sent_fates(s, ent, nr);
	posted = vb_sort_out(ent, nr, VB_POSTED);
	acked = vb_sort_out(ent + posted, nr - posted, VB_ACKED);
	vb_commit(vb, ent + posted, acked, c);
	vb_free_fresh(ent + posted + acked, nr - posted - acked);
	if (vb->iq.stale)
		vb->ilimbo = posted;
	else
		vb_commit(vb, ent, posted, c);
}

/*
 * One inflate batch of at most want pages, or, while the host has not
 * returned the last one, settling that.  Returns pages inflated.
 */
static unsigned long vb_inflate(struct vballoon *vb, unsigned long want)
{
	struct vb_queue *q = &vb->iq;
	struct vb_batch_cost c = {};
	u64 t0 = ktime_get_ns();
	struct vb_sent s;
	unsigned int nr;
	bool settled;
	int err;

	mutex_lock(&q->lock);
	settled = vb->mig_limbo;
	vb_settle_limbo(vb, &c);
	err = vb->ilimbo ? -EBUSY : vb_iq_ready(vb);
	settled = settled && !vb->mig_limbo;
	mutex_unlock(&q->lock);
	/* Allocate nothing for a host that still has the last batch. */
	if (err || c.pages || settled)
		goto out;

	/* No lock held: reclaim may call the OOM notifier. */
	/* Our own reclaim must not make the shrinker deflate (auto.c). */
	WRITE_ONCE(vb->inflater, current);
	nr = vb_alloc_batch(vb, want, &c);
	WRITE_ONCE(vb->inflater, NULL);
	c.alloc_ns = ktime_get_ns() - t0;
	if (!nr) {
		dev_info_ratelimited(&vb->vdev->dev,
				     "out of memory, %lu pages to go\n", want);
		goto out;
	}

	mutex_lock(&q->lock);
	err = vb_iq_ready(vb);
	if (err) {
		/* Compaction's request is still out: try again later. */
		vb_free_fresh(vb->ibatch, nr);
	} else {
		err = vb_send(vb, q, vb->ibatch, nr, VB_ACK_TIMEOUT, &c.x, &s);
		if (!err)
			vb_commit(vb, vb->ibatch, nr, &c);
		else
			vb_inflate_failed(vb, nr, &s, &c);
	}
	mutex_unlock(&q->lock);
	if (err)
		vb_xfer_failed(vb, "inflate", err);
out:
	c.total_ns = ktime_get_ns() - t0;
	vb_account(vb, true, &c);
	return c.pages + settled;
}

/*
 * One deflate batch of at most want pages, each round waiting at most
 * timeout jiffies for the host.  The host is told before the pages are
 * reused.  Should it not answer, MUST_TELL_HOST keeps the pages in the
 * balloon; without it they are freed anyway, which the protocol allows.
 * The caller holds dq.lock.  Returns pages deflated.
 */
unsigned long vb_deflate(struct vballoon *vb, unsigned long want,
			 unsigned long timeout)
{
	struct vb_queue *q = &vb->dq;
	struct vb_batch_cost c = {};
	u64 t0 = ktime_get_ns(), t1;
	unsigned int nr, acked;
	struct vb_sent s;
	int err;

	lockdep_assert_held(&q->lock);
	err = vb_queue_ready(vb, q);
	if (err && vb->tell_host_first)
		return 0;
	nr = vb_pick_batch(vb, want, &c);
	if (!nr)
		return 0;
	if (!err) {
		err = vb_send(vb, q, vb->dbatch, nr, timeout, &c.x, &s);
		if (err && vb->tell_host_first) {
			vb_sent_fates(&s, vb->dbatch, nr);
			acked = vb_sort_out(vb->dbatch, nr, VB_ACKED);
			vb_put_back(vb, vb->dbatch + acked, nr - acked);
			nr = acked;
		}
	}
	if (err)
		vb_xfer_failed(vb, "deflate", err);
	t1 = ktime_get_ns();
	vb_release(vb, vb->dbatch, nr, &c);
	c.free_ns = ktime_get_ns() - t1;
	c.total_ns = ktime_get_ns() - t0;
	vb_account(vb, false, &c);
	return c.pages;
}

/*
 * Deflate batch after batch until want pages are back, the balloon is
 * empty, a batch gives nothing, or deadline (jiffies) passes.  A batch
 * starts only before the deadline, and after the first only when:
 *  - the OOM notifier is not waiting for dq.lock (it then waits for one
 *    batch at most, as for the worker);
 *  - with told_only, the host can be told (no stale request, no abort,
 *    queue not broken); without MUST_TELL_HOST vb_deflate() would free
 *    the pages untold, which only the OOM notifier may want.
 * Each round of requests waits for the host round_wait jiffies, or, with
 * round_wait 0, what is left until the deadline (a batch of several
 * rounds may then end past it).  The caller holds dq.lock.  Returns
 * pages deflated.
 */
unsigned long vb_deflate_until(struct vballoon *vb, unsigned long want,
			       unsigned long deadline, unsigned long round_wait,
			       bool told_only)
{
	unsigned long done = 0, n;
	long left;

	lockdep_assert_held(&vb->dq.lock);
	while (done < want && READ_ONCE(vb->num_pages)) {
		left = (long)(deadline - jiffies);
		if (left <= 0)
			break;
		if (done && atomic_read(&vb->oom_waiting))
			break;
		if (done && told_only && vb_queue_ready(vb, &vb->dq))
			break;
		n = vb_deflate(vb, want - done, round_wait ?: left);
		if (!n)
			break;
		done += n;
	}
	return done;
}

/* Any context: queue work on wq, unless the device is being stopped. */
void vb_queue_work(struct vballoon *vb, struct workqueue_struct *wq,
		   struct work_struct *work)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stop)
		queue_work(wq, work);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

/* (Re)arm dwork to run after delay, unless the device is being stopped. */
void vb_queue_dwork(struct vballoon *vb, struct delayed_work *dwork,
		    unsigned long delay)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stop)
		mod_delayed_work(system_freezable_wq, dwork, delay);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

static void vb_queue_update(struct vballoon *vb, unsigned long delay)
{
	vb_queue_dwork(vb, &vb->update_work, delay);
}

/*
 * One batch towards the goal (vb_goal(): the target, or less with
 * AUTO_BALLOON) per run.  A batch is at most VB_BATCH_BYTES, so a new
 * target is seen within one batch; the OOM notifier never waits for an
 * inflate, and for a deflate at most one batch.
 */
static void vb_update_work(struct work_struct *work)
{
	struct vballoon *vb = container_of(to_delayed_work(work),
					   struct vballoon, update_work);
	unsigned long done = 0;
	long diff;

	diff = (long)vb_goal(vb) - (long)READ_ONCE(vb->num_pages);
	if (diff > 0 || vb->ilimbo) {
		done = vb_inflate(vb, max(diff, 0L));
		if (done) {
			/* The shrinker's hold-off runs from here (auto.c). */
			WRITE_ONCE(vb->last_inflate, jiffies);
			WRITE_ONCE(vb->inflated_once, true);
		}
	} else if (diff < 0) {
		mutex_lock(&vb->dq.lock);
		done = vb_deflate(vb, -diff, VB_ACK_TIMEOUT);
		mutex_unlock(&vb->dq.lock);
	}
	vb_report_actual(vb);

	if (diff || vb->ilimbo)
		vb_queue_update(vb, done ? 0 : VB_RETRY_DELAY);
}

static void vb_config_changed(struct virtio_device *vdev)
{
	struct vballoon *vb = vdev->priv;

	/* May be interrupt context: the worker reads the new target. */
	vb_auto_new_target(vb);
	vb_queue_update(vb, 0);
	/* And the free page work the command id. */
	vb_fp_config_changed(vb);
}

/*
 * mutex_lock() with a deadline: the OOM notifier may not wait long for a
 * deflate that itself waits for the host.  There is no timed mutex_lock().
 */
static bool vb_lock_until(struct mutex *lock, unsigned long deadline)
{
	while (!mutex_trylock(lock)) {
		if (time_after_eq(jiffies, deadline))
			return false;
		schedule_timeout_uninterruptible(1);
	}
	return true;
}

/*
 * Called under oom_lock: gives back up to oom_pages pages, starting
 * batches within VB_OOM_TIMEOUT, whatever the host does.  With
 * MUST_TELL_HOST a batch the host has not answered gives nothing back, so
 * it then polls for dq.lock only about the first half of that, leaving
 * its first batch up to the second half to hear from the host; without
 * it, a batch frees its pages whatever the host says, and it polls for
 * the whole of it.
 */
static int vb_oom_notify(struct notifier_block *nb, unsigned long unused,
			 void *arg)
{
	struct vballoon *vb = container_of(nb, struct vballoon, oom_nb);
	unsigned long deadline = jiffies + VB_OOM_TIMEOUT;
	unsigned long want = READ_ONCE(oom_pages), done = 0, n;
	unsigned long *freed = arg;
	u64 t0 = ktime_get_ns();
	bool busy = true, locked;

	/* Returned hint blocks first: the host is done with them. */
	n = vb_hint_release(vb, want);
	*freed += n;
	want -= min(want, n);

	atomic_inc(&vb->oom_waiting);
	locked = vb_lock_until(&vb->dq.lock, vb->tell_host_first ?
			       deadline - VB_OOM_TIMEOUT / 2 : deadline);
	atomic_dec(&vb->oom_waiting);
	if (locked) {
		busy = false;
		done = vb_deflate_until(vb, want, deadline, 0, false);
		if (done && vb->dq.vq) {
			vb_report_actual(vb);
			vb_auto_lower_goal(vb);
		}
		mutex_unlock(&vb->dq.lock);
	}

	spin_lock(&vb->stats_lock);
	vb->ctr.oom_events++;
	vb->ctr.oom_pages += done;
	vb->ctr.oom_busy += busy;
	vb->ctr.oom_max_ns = max(vb->ctr.oom_max_ns, ktime_get_ns() - t0);
	spin_unlock(&vb->stats_lock);
	*freed += done;
	return NOTIFY_OK;
}

#ifdef CONFIG_BALLOON_COMPACTION
/*
 * Compaction moves a single balloon page: deflate the old page, then
 * inflate the new one, both in the negotiated mode.  Blocks are never
 * offered here.  Deflating first means a failure never has to hand back a
 * new page the host may still discard: if the new page's request does not
 * come back, the migration succeeds and the page waits in vb->mig_limbo.
 */
static int vb_migratepage(struct balloon_dev_info *bdi, struct page *newpage,
			  struct page *page, enum migrate_mode mode)
{
	struct vballoon *vb = container_of(bdi, struct vballoon, bdi);
	struct vb_ent ent = { .order = 0, .kind = VB_ENT_SINGLE };
	struct vb_xfer x = {};
	unsigned long flags;
	struct vb_sent s;
	int rc = -EAGAIN, err;

	/* Inflate or deflate in progress: let compaction try again later. */
	if (!mutex_trylock(&vb->iq.lock))
		return -EAGAIN;
	if (!mutex_trylock(&vb->dq.lock))
		goto out_iq;
	/* Nor while the host has not returned earlier requests. */
	if (vb_iq_ready(vb) || vb_queue_ready(vb, &vb->dq))
		goto out_dq;
	/* Legacy requests cannot name a frame at or above 16 TiB: no retry. */
	if (vb->mode == VB_MODE_LEGACY && page_to_pfn(newpage) > U32_MAX) {
		rc = -EBUSY;
		goto out_dq;
	}

	ent.pfn = page_to_pfn(page);
	err = vb_send(vb, &vb->dq, &ent, 1, VB_MIGRATE_TIMEOUT, &x, &s);
	if (err) {
		vb_xfer_failed(vb, "deflate", err);
		if (vb->tell_host_first)
			goto out_dq;
	}

	get_page(newpage);	/* the balloon's reference */
	ent.pfn = page_to_pfn(newpage);
	err = vb_send(vb, &vb->iq, &ent, 1, VB_MIGRATE_TIMEOUT, &x, &s);
	if (err) {
		vb_xfer_failed(vb, "inflate", err);
		/* Ours, out of the balloon, until the host returns it. */
		vb->mig_limbo = newpage;
		vb_lock(vb);
		vb->nr_singles--;
		WRITE_ONCE(vb->num_pages, vb->num_pages - 1);
		vb_unlock(vb);
		/* The worker files it once the host is back. */
		vb_queue_update(vb, VB_RETRY_DELAY);
	}

	spin_lock_irqsave(&bdi->pages_lock, flags);
	if (!err)
		balloon_page_insert(bdi, newpage);
	bdi->isolated_pages--;
	__count_vm_event(BALLOON_MIGRATE);
	spin_unlock_irqrestore(&bdi->pages_lock, flags);

	if (!vb->deflate_on_oom && page_zone(page) != page_zone(newpage)) {
		adjust_managed_page_count(page, 1);
		adjust_managed_page_count(newpage, -1);
	}
	balloon_page_finalize(page);
	put_page(page);		/* drop the balloon's reference */

	spin_lock(&vb->stats_lock);
	vb->ctr.migrated_pages++;
	vb->ctr.xfer_timeouts += x.timeouts;
	spin_unlock(&vb->stats_lock);
	rc = MIGRATEPAGE_SUCCESS;
out_dq:
	mutex_unlock(&vb->dq.lock);
out_iq:
	mutex_unlock(&vb->iq.lock);
	return rc;
}
#endif

/* Which transfer mode validate() left negotiated. */
static enum vb_mode vb_negotiated_mode(struct virtio_device *vdev)
{
	enum vb_mode m;

	for (m = VB_MODE_SG; m > VB_MODE_LEGACY; m--)
		if (virtio_has_feature(vdev, vb_modes[m].feature))
			return m;
	return VB_MODE_LEGACY;
}

/*
 * Free page reporting, hinting, the free page bitmap and poisoning, as
 * upstream's validate for the first two: the host must know the value of
 * free pages (PAGE_POISON) when they are poisoned or zeroed on free, and
 * a host that cannot be told may not discard them (REPORTING).
 */
static void vb_validate_free_pages(struct virtio_device *vdev)
{
	bool filled = want_init_on_free() || page_poisoning_enabled_static();

	if (!filled)
		__virtio_clear_bit(vdev, VIRTIO_BALLOON_F_PAGE_POISON);
	else if (!virtio_has_feature(vdev, VIRTIO_BALLOON_F_PAGE_POISON))
		__virtio_clear_bit(vdev, VIRTIO_BALLOON_F_REPORTING);
	if (!vb_reporting_param || !IS_ENABLED(CONFIG_PAGE_REPORTING))
		__virtio_clear_bit(vdev, VIRTIO_BALLOON_F_REPORTING);
	/*
	 * FREE_PAGE_HINT stays acknowledged whatever hint= says: a device that
	 * follows the spec numbers the reporting queue by it.  hint=off only
	 * never answers a request (freepage.c).
	 */
	if (!vb_fbitmap_param)
		__virtio_clear_bit(vdev, VBALLOON_F_FREE_PAGE_BITMAP);
	/*
	 * The bitmap lets the host keep a stale copy of a page that was
	 * freed after it was last sent; a guest that expects poison or
	 * zeroes in free pages would find that copy after the migration.
	 * Hints do not: a hinted block is held, and written (poisoned,
	 * zeroed) when freed.
	 */
	if (filled && virtio_has_feature(vdev, VBALLOON_F_FREE_PAGE_BITMAP)) {
		dev_info_once(&vdev->dev,
			      "free page bitmap off: free pages are %s\n",
			      want_init_on_free() ? "zeroed (init_on_free)" :
			      "poisoned (page_poison)");
		__virtio_clear_bit(vdev, VBALLOON_F_FREE_PAGE_BITMAP);
	}
}

/*
 * Pick the transfer mode and clear every other mode bit, so the device sees
 * exactly one (or none: legacy) acknowledged.
 */
static int vb_validate(struct virtio_device *vdev)
{
	enum vb_mode m, pick;

	/* Requests carry guest-physical addresses, never IOVAs. */
	__virtio_clear_bit(vdev, VIRTIO_F_ACCESS_PLATFORM);

	if (vb_want_mode >= 0) {
		pick = vb_want_mode;
		if (vb_modes[pick].feature >= 0 &&
		    !virtio_has_feature(vdev, vb_modes[pick].feature)) {
			dev_err(&vdev->dev,
				"mode=%s needs feature bit %d, which the device does not offer\n",
				vb_modes[pick].name, vb_modes[pick].feature);
			return -EINVAL;
		}
	} else {
		pick = vb_negotiated_mode(vdev);
	}
	for (m = VB_MODE_LEGACY; m < VB_NR_MODES; m++)
		if (m != pick && vb_modes[m].feature >= 0)
			__virtio_clear_bit(vdev, vb_modes[m].feature);
	/* auto=off: the driver behaves as without the bit. */
	if (!vb_auto)
		__virtio_clear_bit(vdev, VBALLOON_F_AUTO_BALLOON);
	vb_validate_free_pages(vdev);
	return 0;
}

/*
 * Queues in the spec's order; an absent one takes no index.  The device
 * creates the free page queue whenever it offers FREE_PAGE_HINT (or our
 * FREE_PAGE_BITMAP), acknowledged or not, so it is set up by what is
 * offered: the reporting queue's index then agrees with the device's.
 */
enum {
	VB_VQ_INFLATE,
	VB_VQ_DEFLATE,
	VB_VQ_STATS,
	VB_VQ_FREE_PAGE,
	VB_VQ_REPORTING,
	VB_NR_VQS,
};

static bool vb_free_page_vq_offered(struct virtio_device *vdev)
{
	u64 offered = vdev->config->get_features(vdev);

	return offered & (BIT_ULL(VIRTIO_BALLOON_F_FREE_PAGE_HINT) |
			  BIT_ULL(VBALLOON_F_FREE_PAGE_BITMAP));
}

static int vb_find_vqs(struct vballoon *vb)
{
	vq_callback_t *cbs[VB_NR_VQS] = {
		vb_ack, vb_ack, vb_statsvq_request, vb_fp_returned,
		vb_reporting_done,
	};
	const char *names[VB_NR_VQS] = {
		"inflate", "deflate", "stats", "free_page", "reporting",
	};
	struct virtqueue *vqs[VB_NR_VQS];
	int err;

	if (!virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_STATS_VQ))
		names[VB_VQ_STATS] = NULL;
	if (!vb_free_page_vq_offered(vb->vdev))
		names[VB_VQ_FREE_PAGE] = NULL;
	if (!virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_REPORTING))
		names[VB_VQ_REPORTING] = NULL;
	err = virtio_find_vqs(vb->vdev, VB_NR_VQS, vqs, cbs, names, NULL);
	if (err)
		return err;
	vb->iq.vq = vqs[VB_VQ_INFLATE];
	vb->dq.vq = vqs[VB_VQ_DEFLATE];
	vb->svq = names[VB_VQ_STATS] ? vqs[VB_VQ_STATS] : NULL;
	vb->fvq = names[VB_VQ_FREE_PAGE] ? vqs[VB_VQ_FREE_PAGE] : NULL;
	vb->rvq = names[VB_VQ_REPORTING] ? vqs[VB_VQ_REPORTING] : NULL;
	return 0;
}

/* DRIVER_OK given: prime the stats queue, catch up with the target. */
static void vb_start(struct vballoon *vb)
{
	int err;

	/* A new target (probe, restore): the goal becomes num_pages. */
	vb_auto_new_target(vb);
	vb_report_actual(vb);
	if (vb->svq) {
		err = vb_statsvq_start(vb);
		if (err)
			dev_warn(&vb->vdev->dev,
				 "stats queue not primed: %d\n", err);
	}
	vb_reporting_start(vb);
	vb_fp_start(vb);
	vb_thrash_start(vb);
	vb_queue_update(vb, 0);
}

/*
 * Nothing could be taken out of the balloon although it is not empty:
 * single pages isolated by compaction come back shortly.  Gives up after
 * about 10 s, which only a wrong count could cause.
 */
static bool vb_wait_isolated(unsigned int *tries)
{
	if (WARN_ON_ONCE(++*tries > 500))
		return false;
	msleep(20);
	return true;
}

/*
 * Before the reset: let the host return what it still has (for a while),
 * file what it returned, and give every page back while it answers.
 */
static void vb_release_all(struct vballoon *vb)
{
	struct vb_batch_cost c = {};
	unsigned int tries = 0;
	bool more = true;

	mutex_lock(&vb->iq.lock);
	vb_queue_wait_idle(vb, &vb->iq, VB_ACK_TIMEOUT);
	vb_settle_limbo(vb, &c);
	vb_iq_ready(vb);
	mutex_unlock(&vb->iq.lock);
	vb_account(vb, true, &c);

	mutex_lock(&vb->dq.lock);
	vb_queue_wait_idle(vb, &vb->dq, VB_ACK_TIMEOUT);
	while (more && READ_ONCE(vb->num_pages)) {
		if (vb_deflate(vb, vb->num_pages, VB_ACK_TIMEOUT))
			continue;
		/* A host that did not answer is asked no more. */
		if (vb_queue_ready(vb, &vb->dq))
			break;
		mutex_unlock(&vb->dq.lock);
		more = vb_wait_isolated(&tries);
		mutex_lock(&vb->dq.lock);
	}
	vb_report_actual(vb);
	mutex_unlock(&vb->dq.lock);
}

/*
 * After the reset nothing the host had is acted on any more.  What is
 * left (limbo, and the balloon if the host stopped answering) is freed,
 * or, with MUST_TELL_HOST, never used again.  Holds both queue locks.
 */
static void vb_drop_rest(struct vballoon *vb)
{
	struct vb_batch_cost c = {};
	struct page *page = vb->mig_limbo;
	unsigned int nr, tries = 0;
	unsigned long leaked = 0;

	lockdep_assert_held(&vb->iq.lock);
	lockdep_assert_held(&vb->dq.lock);
	if (vb->tell_host_first) {
		if (!vb->deflate_on_oom)
			/* Limbo pages never left MemTotal; these do now. */
			for (nr = 0; nr < vb->ilimbo; nr++)
				adjust_managed_page_count(
					pfn_to_page(vb->ibatch[nr].pfn),
					-(1L << vb->ibatch[nr].order));
		for (nr = 0; nr < vb->ilimbo; nr++)
			leaked += 1UL << vb->ibatch[nr].order;
		if (page) {
			__SetPageOffline(page);
			leaked++;
		}
	} else {
		vb_free_fresh(vb->ibatch, vb->ilimbo);
		if (page) {
			if (!vb->deflate_on_oom)
				adjust_managed_page_count(page, 1);
			put_page(page);
		}
	}
	vb->ilimbo = 0;
	vb->mig_limbo = NULL;

	while (READ_ONCE(vb->num_pages)) {
		nr = vb_pick_batch(vb, vb->num_pages, &c);
		if (!nr) {
			/* Compaction cannot take the queue locks: back soon. */
			if (!vb_wait_isolated(&tries))
				break;
			continue;
		}
		if (vb->tell_host_first)
			leaked += vb_leak(vb, vb->dbatch, nr);
		else
			vb_release(vb, vb->dbatch, nr, &c);
	}
	vb_account(vb, false, &c);
	vb_count_leak(vb, leaked);
}

static void vb_set_stop(struct vballoon *vb, bool stop)
{
	spin_lock_irq(&vb->stop_lock);
	vb->stop = stop;
	spin_unlock_irq(&vb->stop_lock);
}

/* Remove or freeze: queue no more work and end every wait for the host. */
static void vb_quiesce(struct vballoon *vb)
{
	vb_set_stop(vb, true);
	WRITE_ONCE(vb->abort, true);
	wake_up_all(&vb->acked);
}

/* No work runs after this; waits for the host end by time again. */
static void vb_cancel_work(struct vballoon *vb)
{
	cancel_delayed_work_sync(&vb->update_work);
	cancel_delayed_work_sync(&vb->thrash_work);
	cancel_work_sync(&vb->stats_work);
	cancel_work_sync(&vb->fp_work);
	WRITE_ONCE(vb->abort, false);
}

/* Empty the balloon, reset the device and drop its queues. */
static void vb_teardown(struct vballoon *vb)
{
	/* A restore that failed left no queues, and the balloon empty. */
	if (!vb->iq.vq)
		return;
	vb_release_all(vb);
	mutex_lock(&vb->iq.lock);
	mutex_lock(&vb->dq.lock);
	virtio_reset_device(vb->vdev);
	/* The reset host acts on no report: a waiting one may end now. */
	vb_reporting_stop(vb);
	/* Held hint blocks go back; nothing on the free page queue counts. */
	vb_fp_detach(vb);
	vb_queue_detach(vb, &vb->iq);
	vb_queue_detach(vb, &vb->dq);
	vb_drop_rest(vb);
	vb->vdev->config->del_vqs(vb->vdev);
	vb->iq.vq = NULL;
	vb->dq.vq = NULL;
	vb->svq = NULL;
	vb->rvq = NULL;
	mutex_unlock(&vb->dq.lock);
	mutex_unlock(&vb->iq.lock);
}

static void vb_init_state(struct vballoon *vb)
{
	unsigned int o;

	mutex_init(&vb->lock);
	/* Two lock classes: iq.lock is taken before dq.lock. */
	mutex_init(&vb->iq.lock);
	mutex_init(&vb->dq.lock);
	init_waitqueue_head(&vb->acked);
	atomic_set(&vb->oom_waiting, 0);
	INIT_DELAYED_WORK(&vb->update_work, vb_update_work);
	INIT_DELAYED_WORK(&vb->thrash_work, vb_thrash_work);
	INIT_WORK(&vb->stats_work, vb_statsvq_work);
	spin_lock_init(&vb->stop_lock);
	spin_lock_init(&vb->stats_lock);
	spin_lock_init(&vb->goal_lock);
	for (o = 0; o < VB_NR_ORDERS; o++)
		INIT_LIST_HEAD(&vb->blocks[o]);
	balloon_devinfo_init(&vb->bdi);
#ifdef CONFIG_BALLOON_COMPACTION
	vb->bdi.migratepage = vb_migratepage;
#endif
	vb->oom_nb.notifier_call = vb_oom_notify;
	vb->oom_nb.priority = VB_OOM_PRIORITY;
}

/*
 * PAGE_POISON: tell the host what free pages hold, as upstream does: the
 * poison byte in every byte, or 0 when they are zeroed on free.
 */
static void vb_write_poison(struct vballoon *vb)
{
	u32 val = 0;

	if (!virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_PAGE_POISON))
		return;
	if (!want_init_on_free())
		memset(&val, PAGE_POISON, sizeof(val));
	virtio_cwrite_le(vb->vdev, struct virtio_balloon_config, poison_val,
			 &val);
}

static int vb_probe(struct virtio_device *vdev)
{
	struct vballoon *vb;
	int err;

	if (!vdev->config->get) {
		dev_err(&vdev->dev, "config space not readable\n");
		return -EINVAL;
	}
	vb = kzalloc(sizeof(*vb), GFP_KERNEL);
	if (!vb)
		return -ENOMEM;
	vdev->priv = vb;
	vb->vdev = vdev;
	vb->mode = vb_negotiated_mode(vdev);
	vb->ops = &vb_modes[vb->mode];
	vb->max_order = max_order;
	vb->split_blocks = split_blocks;
	vb_pages_init(vb);
	vb->tell_host_first = virtio_has_feature(vdev,
					VIRTIO_BALLOON_F_MUST_TELL_HOST);
	vb->deflate_on_oom = virtio_has_feature(vdev,
					VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	vb->auto_balloon = virtio_has_feature(vdev, VBALLOON_F_AUTO_BALLOON);
	vb_init_state(vb);

	err = vb_find_vqs(vb);
	if (err)
		goto out_free;
	err = vb_xfer_init(vb);
	if (err)
		goto out_del_vqs;
	err = vb_fp_init(vb);
	if (err)
		goto out_xfer;
	vb_write_poison(vb);
	/*
	 * AUTO_BALLOON lets the guest deflate whenever it is short; the OOM
	 * notifier is the last chance when the shrinker's guards held back.
	 */
	if (vb->deflate_on_oom || vb->auto_balloon) {
		err = register_oom_notifier(&vb->oom_nb);
		if (err)
			goto out_fp;
		vb->oom_registered = true;
	}
	err = vb_auto_start(vb);
	if (err)
		goto out_oom;
	vb_debugfs_init(vb);
	virtio_device_ready(vdev);
	vb_start(vb);
	dev_info(&vdev->dev,
		 "mode %s, max_order %u, split_blocks %d, stats_vq %d, deflate_on_oom %d, must_tell_host %d, auto_balloon %d (%s), reporting %d, hint %d, free_bitmap %d, page_poison %d\n",
		 vb->ops->name, vb->max_order, vb->split_blocks, !!vb->svq, vb->deflate_on_oom,
		 vb->tell_host_first, vb->auto_balloon,
		 vb->auto_balloon ? vb_auto_policy_name() : "-",
		 vb->reporting, vb->hint, vb->fbitmap,
		 virtio_has_feature(vdev, VIRTIO_BALLOON_F_PAGE_POISON));
	return 0;

out_oom:
	if (vb->oom_registered)
		unregister_oom_notifier(&vb->oom_nb);
out_fp:
	vb_fp_stop(vb);
	vb_fp_exit(vb);
out_xfer:
	vb_xfer_exit(vb);
out_del_vqs:
	vdev->config->del_vqs(vdev);
out_free:
	kfree(vb);
	vdev->priv = NULL;
	return err;
}

static void vb_remove(struct virtio_device *vdev)
{
	struct vballoon *vb = vdev->priv;

	vb_quiesce(vb);
	/* Waits for a running injection, which the abort has ended. */
	vb_debugfs_exit(vb);
	if (vb->oom_registered)
		unregister_oom_notifier(&vb->oom_nb);
	/* Waits for a running scan, which the abort has cut short. */
	vb_auto_stop(vb);
	vb_fp_stop(vb);
	vb_cancel_work(vb);
	vb_teardown(vb);
	vb_xfer_exit(vb);
	vb_fp_exit(vb);
	kfree(vb);
}

#ifdef CONFIG_PM_SLEEP
static int vb_freeze(struct virtio_device *vdev)
{
	struct vballoon *vb = vdev->priv;

	vb_quiesce(vb);
	vb_cancel_work(vb);
	vb_teardown(vb);
	return 0;
}

static int vb_restore(struct virtio_device *vdev)
{
	struct vballoon *vb = vdev->priv;
	int err;

	mutex_lock(&vb->iq.lock);
	mutex_lock(&vb->dq.lock);
	err = vb_find_vqs(vb);
	mutex_unlock(&vb->dq.lock);
	mutex_unlock(&vb->iq.lock);
	if (err)
		return err;
	/* The reset zeroed poison_val. */
	vb_write_poison(vb);
	virtio_device_ready(vdev);
	vb_set_stop(vb, false);
	vb_start(vb);
	return 0;
}
#endif

static const struct virtio_device_id vb_id_table[] = {
	{ VIRTIO_ID_BALLOON, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct virtio_driver vb_driver = {
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = vb_id_table,
	.feature_table = vb_features,
	.feature_table_size = ARRAY_SIZE(vb_features),
	.validate = vb_validate,
	.probe = vb_probe,
	.remove = vb_remove,
	.config_changed = vb_config_changed,
#ifdef CONFIG_PM_SLEEP
	.freeze = vb_freeze,
	.restore = vb_restore,
#endif
};

static int __init vb_init(void)
{
	int m;

	/* Balloon page numbers are 4 KiB frames; so are ours. */
	BUILD_BUG_ON(PAGE_SHIFT != VBALLOON_PFN_SHIFT);
	BUILD_BUG_ON(VBALLOON_MAX_BLOCK_ORDER >= MAX_ORDER);
	BUILD_BUG_ON(VBALLOON_F_MUST_TELL_HOST !=
		     VIRTIO_BALLOON_F_MUST_TELL_HOST);
	BUILD_BUG_ON(VBALLOON_F_STATS_VQ != VIRTIO_BALLOON_F_STATS_VQ);
	BUILD_BUG_ON(VBALLOON_F_DEFLATE_ON_OOM !=
		     VIRTIO_BALLOON_F_DEFLATE_ON_OOM);

	if (max_order > VBALLOON_MAX_BLOCK_ORDER) {
		pr_err("max_order=%u out of range 0..%d\n",
		       max_order, VBALLOON_MAX_BLOCK_ORDER);
		return -EINVAL;
	}
	if (vb_auto_parse_params())
		return -EINVAL;
	vb_want_mode = -1;
	if (strcmp(mode, "auto")) {
		for (m = 0; m < VB_NR_MODES; m++)
			if (!strcmp(mode, vb_modes[m].name))
				break;
		if (m == VB_NR_MODES) {
			pr_err("mode=%s unknown (auto|legacy|bitmap|chunk|sg)\n",
			       mode);
			return -EINVAL;
		}
		vb_want_mode = m;
	}
	return register_virtio_driver(&vb_driver);
}

static void __exit vb_exit(void)
{
	unregister_virtio_driver(&vb_driver);
}

module_init(vb_init);
module_exit(vb_exit);

MODULE_DEVICE_TABLE(virtio, vb_id_table);
MODULE_DESCRIPTION("balloonbench virtio-balloon driver (bitmap, chunk, sg)");
MODULE_LICENSE("GPL");
