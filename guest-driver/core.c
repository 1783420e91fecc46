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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/oom.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/vmstat.h>

#include "vballoon.h"

/* Priority among OOM notifiers; the upstream balloon uses the same. */
#define VB_OOM_PRIORITY		80

/* Retry delay after an inflate or deflate that made no progress. */
#define VB_RETRY_DELAY		(HZ / 5)

/*
 * High-order blocks: take what is free, never reclaim, compact or dip
 * into reserves for them (single pages still reclaim, like upstream).
 * They are unmovable, so they must not come from movable or CMA blocks.
 */
#define VB_BLOCK_GFP	((GFP_HIGHUSER & ~__GFP_RECLAIM) | __GFP_NORETRY | \
			 __GFP_NOWARN | __GFP_NOMEMALLOC)

/*
 * Single pages: what balloon_page_alloc() asks for, taken in bulk from the
 * per-CPU lists so the allocator's entry costs are paid once per batch.
 */
#define VB_SINGLE_GFP	(balloon_mapping_gfp_mask() | __GFP_NOMEMALLOC | \
			 __GFP_NORETRY | __GFP_NOWARN)

static char *mode = "auto";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode,
		 "transfer mode: auto, legacy, bitmap, chunk or sg");

static unsigned int max_order = 9;
module_param(max_order, uint, 0444);
MODULE_PARM_DESC(max_order,
		 "largest block order to allocate, 0..10 (default 9 = 2 MiB)");

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
	VBALLOON_F_PAGE_BITMAP,
	VBALLOON_F_CHUNK_TRANSFER,
	VBALLOON_F_SG,
};

u32 vb_target(struct vballoon *vb)
{
	u32 target;

	virtio_cread_le(vb->vdev, struct virtio_balloon_config, num_pages,
			&target);
	return target;
}

static void vb_report_actual(struct vballoon *vb)
{
	u32 actual = vb->num_pages;

	virtio_cwrite_le(vb->vdev, struct virtio_balloon_config, actual,
			 &actual);
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
	if (inflate) {
		k->inflate_pages += c->pages;
		vb_add_array(k->inflate_blocks, c->blocks);
		vb_add_array(k->inflate_alloc_fail, c->alloc_fail);
		k->inflate_batches += !!c->pages;
		k->inflate_requests += c->x.requests;
		k->inflate_kicks += c->x.kicks;
		k->inflate_alloc_ns += c->alloc_ns;
		k->inflate_build_ns += c->x.build_ns;
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

static void vb_count_error(struct vballoon *vb)
{
	spin_lock(&vb->stats_lock);
	vb->ctr.xfer_errors++;
	spin_unlock(&vb->stats_lock);
}

static void vb_set_offline(struct page *page, unsigned int order, bool on)
{
	unsigned long i;

	for (i = 0; i < (1UL << order); i++) {
		if (on)
			__SetPageOffline(page + i);
		else
			__ClearPageOffline(page + i);
	}
}

/*
 * MemTotal follows the balloon without DEFLATE_ON_OOM.  Changes are summed
 * over runs of pages in one zone so a batch costs a few atomic updates, not
 * one per page.
 */
struct vb_managed {
	struct page *page;	/* any page of the zone being summed */
	long delta;
};

static void vb_managed_flush(struct vb_managed *m)
{
	if (m->page && m->delta)
		adjust_managed_page_count(m->page, m->delta);
	m->page = NULL;
	m->delta = 0;
}

static void vb_managed_add(struct vb_managed *m, struct page *page, long n)
{
	if (m->page && page_zone(m->page) != page_zone(page))
		vb_managed_flush(m);
	if (!m->page)
		m->page = page;
	m->delta += n;
}

static void vb_batch_set(struct vballoon *vb, unsigned int i,
			 struct page *page, unsigned int order,
			 enum vb_ent_kind kind)
{
	vb->batch[i].pfn = page_to_pfn(page);
	vb->batch[i].order = order;
	vb->batch[i].kind = kind;
}

/*
 * Up to want single pages into vb->batch from entry nr on.  The bulk
 * allocator falls back to one ordinary allocation (with its reclaim) when
 * the per-CPU lists cannot serve, so it returns 0 only when that failed.
 */
static unsigned int vb_alloc_singles(struct vballoon *vb, unsigned int nr,
				     unsigned long want)
{
	LIST_HEAD(pages);
	struct page *page;
	unsigned int got = 0;

	alloc_pages_bulk_list(VB_SINGLE_GFP, want, &pages);
	/* commit or vb_free_fresh() reuses lru; no need to unlink here. */
	list_for_each_entry(page, &pages, lru)
		vb_batch_set(vb, nr + got++, page, 0, VB_ENT_SINGLE);
	return got;
}

/*
 * Allocate up to want pages into vb->batch, largest blocks first.  An order
 * that fails is not tried again in this batch.  Returns the entries filled.
 */
static unsigned int vb_alloc_batch(struct vballoon *vb, unsigned long want,
				   struct vb_batch_cost *c)
{
	unsigned int order = vb->max_order, nr = 0, o, got;
	unsigned long pages = 0;
	struct page *page;

	if (vb->batch_pages)
		want = min(want, vb->batch_pages);
	while (nr < vb->batch_cap && pages < want) {
		/* Never overshoot the target with a block. */
		o = min_t(unsigned int, order, ilog2(want - pages));
		if (!o) {
			got = vb_alloc_singles(vb, nr,
					       min_t(unsigned long, want - pages,
						     vb->batch_cap - nr));
			if (!got) {
				c->alloc_fail[0]++;
				break;
			}
			nr += got;
			pages += got;
			continue;
		}
		page = alloc_pages(VB_BLOCK_GFP, o);
		if (!page) {
			c->alloc_fail[o]++;
			order = o - 1;
			continue;
		}
		vb_set_offline(page, o, true);
		vb_batch_set(vb, nr++, page, o, VB_ENT_BLOCK);
		pages += 1UL << o;
	}
	return nr;
}

/* The host never saw these (transfer failed): give them straight back. */
static void vb_free_fresh(struct vballoon *vb, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(vb->batch[i].pfn);
		unsigned int o = vb->batch[i].order;

		if (o)
			vb_set_offline(page, o, false);
		__free_pages(page, o);
	}
}

/* The host has the batch: file every block where deflate will find it. */
static void vb_commit_inflate(struct vballoon *vb, unsigned int nr,
			      struct vb_batch_cost *c)
{
	LIST_HEAD(singles);
	struct vb_managed m = {};
	unsigned int i;

	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(vb->batch[i].pfn);
		unsigned int o = vb->batch[i].order;

		if (!o) {
			list_add(&page->lru, &singles);
		} else {
			list_add(&page->lru, &vb->blocks[o]);
			vb->nr_blocks[o]++;
			count_vm_events(BALLOON_INFLATE, 1UL << o);
		}
		/* Without DEFLATE_ON_OOM the pages leave MemTotal. */
		if (!vb->deflate_on_oom)
			vb_managed_add(&m, page, -(1L << o));
		c->blocks[o]++;
		c->pages += 1UL << o;
	}
	vb_managed_flush(&m);
	vb->nr_singles += balloon_page_list_enqueue(&vb->bdi, &singles);
	WRITE_ONCE(vb->num_pages, vb->num_pages + c->pages);
}

/* One inflate batch of at most want pages.  Returns pages inflated. */
static unsigned long vb_inflate(struct vballoon *vb, unsigned long want)
{
	struct vb_batch_cost c = {};
	u64 t0 = ktime_get_ns(), t1;
	unsigned int nr;
	int err;

	nr = vb_alloc_batch(vb, want, &c);
	t1 = ktime_get_ns();
	c.alloc_ns = t1 - t0;
	if (!nr)
		dev_info_ratelimited(&vb->vdev->dev,
				     "out of memory, %lu pages to go\n", want);
	err = vb_send(vb, vb->ivq, vb->batch, nr, &c.x);
	if (err) {
		dev_warn_ratelimited(&vb->vdev->dev,
				     "inflate request failed: %d\n", err);
		vb_count_error(vb);
		vb_free_fresh(vb, nr);
	} else {
		vb_commit_inflate(vb, nr, &c);
	}
	c.total_ns = ktime_get_ns() - t0;
	vb_account(vb, true, &c);
	return c.pages;
}

/*
 * Nothing smaller than a block is left: split the smallest block, take
 * what is needed and keep the rest as single (movable) pages.
 */
static unsigned int vb_split_block(struct vballoon *vb, unsigned int nr,
				   unsigned long left, struct vb_batch_cost *c)
{
	LIST_HEAD(rest);
	struct page *page;
	unsigned long i, take, size;
	unsigned int o;

	for (o = 1; o < VB_NR_ORDERS; o++)
		if (vb->nr_blocks[o])
			break;
	if (o == VB_NR_ORDERS)
		return nr;
	page = list_first_entry(&vb->blocks[o], struct page, lru);
	list_del(&page->lru);
	vb->nr_blocks[o]--;
	split_page(page, o);
	c->splits++;

	size = 1UL << o;
	take = min3(left, size, (unsigned long)(vb->batch_cap - nr));
	for (i = 0; i < take; i++)
		vb_batch_set(vb, nr++, page + i, 0, VB_ENT_SPLIT);
	for (; i < size; i++) {
		__ClearPageOffline(page + i);
		list_add(&page[i].lru, &rest);
	}
	vb->nr_singles += balloon_page_list_enqueue(&vb->bdi, &rest);
	/* Those were counted as inflated with their block already. */
	count_vm_events(BALLOON_INFLATE, -(long)(size - take));
	return nr;
}

/* Take up to want pages out of the balloon into vb->batch. */
static unsigned int vb_pick_batch(struct vballoon *vb, unsigned long want,
				  struct vb_batch_cost *c)
{
	unsigned long left, got;
	struct page *page, *tmp;
	LIST_HEAD(pages);
	unsigned int nr = 0, o;

	want = min(want, vb->num_pages);
	if (vb->batch_pages)
		want = min(want, vb->batch_pages);
	left = want;
	/* Largest blocks first: the guest gets large free blocks back. */
	for (o = VB_NR_ORDERS - 1; o > 0; o--) {
		while (vb->nr_blocks[o] && (1UL << o) <= left &&
		       nr < vb->batch_cap) {
			page = list_first_entry(&vb->blocks[o], struct page,
						lru);
			list_del(&page->lru);
			vb->nr_blocks[o]--;
			vb_batch_set(vb, nr++, page, o, VB_ENT_BLOCK);
			left -= 1UL << o;
		}
	}
	if (left && nr < vb->batch_cap && vb->nr_singles) {
		got = balloon_page_list_dequeue(&vb->bdi, &pages,
						min_t(unsigned long, left,
						      vb->batch_cap - nr));
		list_for_each_entry_safe(page, tmp, &pages, lru) {
			list_del(&page->lru);
			vb_batch_set(vb, nr++, page, 0, VB_ENT_SINGLE);
		}
		vb->nr_singles -= got;
		left -= got;
	}
	if (left && nr < vb->batch_cap)
		nr = vb_split_block(vb, nr, left, c);
	return nr;
}

/* Give the pages of vb->batch back to the guest. */
static void vb_release(struct vballoon *vb, unsigned int nr,
		       struct vb_batch_cost *c)
{
	struct vb_managed m = {};
	unsigned int i;

	/*
	 * Back into MemTotal before the pages go back to the allocator: freeing
	 * first and adjusting once after measured twice as slow (1.75 GiB of
	 * order-9 blocks: deflate_free_ns about 30 ms against 13 ms).
	 */
	if (!vb->deflate_on_oom) {
		for (i = 0; i < nr; i++)
			vb_managed_add(&m, pfn_to_page(vb->batch[i].pfn),
				       1L << vb->batch[i].order);
		vb_managed_flush(&m);
	}
	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(vb->batch[i].pfn);
		unsigned int o = vb->batch[i].order;

		switch (vb->batch[i].kind) {
		case VB_ENT_SINGLE:
			/* balloon_page_list_dequeue() finalized it. */
			put_page(page);
			break;
		case VB_ENT_BLOCK:
		case VB_ENT_SPLIT:
			vb_set_offline(page, o, false);
			__free_pages(page, o);
			count_vm_events(BALLOON_DEFLATE, 1UL << o);
			break;
		}
		c->blocks[o]++;
		c->pages += 1UL << o;
	}
	WRITE_ONCE(vb->num_pages, vb->num_pages - c->pages);
}

/*
 * One deflate batch of at most want pages.  The host is always told before
 * the pages are reused, which is what MUST_TELL_HOST asks for and costs
 * nothing extra otherwise.  Returns pages deflated.
 */
static unsigned long vb_deflate(struct vballoon *vb, unsigned long want)
{
	struct vb_batch_cost c = {};
	u64 t0 = ktime_get_ns(), t1;
	unsigned int nr;
	int err;

	nr = vb_pick_batch(vb, want, &c);
	if (!nr)
		return 0;
	err = vb_send(vb, vb->dvq, vb->batch, nr, &c.x);
	if (err) {
		/* The device is gone or broken; the guest needs the memory. */
		dev_warn_ratelimited(&vb->vdev->dev,
				     "deflate request failed: %d\n", err);
		vb_count_error(vb);
	}
	t1 = ktime_get_ns();
	vb_release(vb, nr, &c);
	c.free_ns = ktime_get_ns() - t1;
	c.total_ns = ktime_get_ns() - t0;
	vb_account(vb, false, &c);
	return c.pages;
}

static void vb_queue_update(struct vballoon *vb, unsigned long delay)
{
	unsigned long flags;

	spin_lock_irqsave(&vb->stop_lock, flags);
	if (!vb->stop)
		mod_delayed_work(system_freezable_wq, &vb->update_work, delay);
	spin_unlock_irqrestore(&vb->stop_lock, flags);
}

/* One batch towards the target per run, so target changes are seen. */
static void vb_update_work(struct work_struct *work)
{
	struct vballoon *vb = container_of(to_delayed_work(work),
					   struct vballoon, update_work);
	unsigned long done = 0;
	long diff;

	mutex_lock(&vb->lock);
	diff = (long)vb_target(vb) - (long)vb->num_pages;
	if (diff > 0)
		done = vb_inflate(vb, diff);
	else if (diff < 0)
		done = vb_deflate(vb, -diff);
	vb_report_actual(vb);
	mutex_unlock(&vb->lock);

	if (diff)
		vb_queue_update(vb, done ? 0 : VB_RETRY_DELAY);
}

static void vb_config_changed(struct virtio_device *vdev)
{
	vb_queue_update(vdev->priv, 0);
}

static int vb_oom_notify(struct notifier_block *nb, unsigned long unused,
			 void *arg)
{
	struct vballoon *vb = container_of(nb, struct vballoon, oom_nb);
	unsigned long want = READ_ONCE(oom_pages), done = 0, n;
	unsigned long *freed = arg;

	mutex_lock(&vb->lock);
	while (done < want && vb->num_pages) {
		n = vb_deflate(vb, want - done);
		if (!n)
			break;
		done += n;
	}
	if (done)
		vb_report_actual(vb);
	mutex_unlock(&vb->lock);

	spin_lock(&vb->stats_lock);
	vb->ctr.oom_events++;
	vb->ctr.oom_pages += done;
	spin_unlock(&vb->stats_lock);
	*freed += done;
	return NOTIFY_OK;
}

#ifdef CONFIG_BALLOON_COMPACTION
/*
 * Compaction moves a single balloon page: inflate the new page, deflate the
 * old one, both in the negotiated mode.  Blocks are never offered here.
 */
static int vb_migratepage(struct balloon_dev_info *bdi, struct page *newpage,
			  struct page *page, enum migrate_mode mode)
{
	struct vballoon *vb = container_of(bdi, struct vballoon, bdi);
	struct vb_ent ent = { .order = 0, .kind = VB_ENT_SINGLE };
	struct vb_xfer x = {};
	unsigned long flags;

	/* Inflate or deflate in progress: let compaction try again later. */
	if (!mutex_trylock(&vb->lock))
		return -EAGAIN;

	get_page(newpage);	/* the balloon's reference */
	ent.pfn = page_to_pfn(newpage);
	if (vb_send(vb, vb->ivq, &ent, 1, &x))
		vb_count_error(vb);

	spin_lock_irqsave(&bdi->pages_lock, flags);
	balloon_page_insert(bdi, newpage);
	bdi->isolated_pages--;
	__count_vm_event(BALLOON_MIGRATE);
	spin_unlock_irqrestore(&bdi->pages_lock, flags);

	if (!vb->deflate_on_oom && page_zone(page) != page_zone(newpage)) {
		adjust_managed_page_count(page, 1);
		adjust_managed_page_count(newpage, -1);
	}

	ent.pfn = page_to_pfn(page);
	if (vb_send(vb, vb->dvq, &ent, 1, &x))
		vb_count_error(vb);
	balloon_page_finalize(page);
	put_page(page);		/* drop the balloon's reference */

	spin_lock(&vb->stats_lock);
	vb->ctr.migrated_pages++;
	spin_unlock(&vb->stats_lock);
	mutex_unlock(&vb->lock);
	return MIGRATEPAGE_SUCCESS;
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
	return 0;
}

static int vb_find_vqs(struct vballoon *vb)
{
	vq_callback_t *cbs[] = { vb_ack, vb_ack, vb_statsvq_request };
	static const char * const names[] = { "inflate", "deflate", "stats" };
	struct virtqueue *vqs[ARRAY_SIZE(names)];
	unsigned int n = ARRAY_SIZE(names);
	int err;

	if (!virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_STATS_VQ))
		n--;
	err = virtio_find_vqs(vb->vdev, n, vqs, cbs, names, NULL);
	if (err)
		return err;
	vb->ivq = vqs[0];
	vb->dvq = vqs[1];
	vb->svq = n > 2 ? vqs[2] : NULL;
	return 0;
}

/* DRIVER_OK given: prime the stats queue, catch up with the target. */
static void vb_start(struct vballoon *vb)
{
	int err;

	mutex_lock(&vb->lock);
	vb_report_actual(vb);
	mutex_unlock(&vb->lock);
	if (vb->svq) {
		err = vb_statsvq_start(vb);
		if (err)
			dev_warn(&vb->vdev->dev,
				 "stats queue not primed: %d\n", err);
	}
	vb_queue_update(vb, 0);
}

/* Give every page back, telling the host while it still listens. */
static void vb_release_all(struct vballoon *vb)
{
	mutex_lock(&vb->lock);
	while (vb->num_pages) {
		if (vb_deflate(vb, vb->num_pages))
			continue;
		/* Single pages isolated by compaction come back shortly. */
		mutex_unlock(&vb->lock);
		msleep(20);
		mutex_lock(&vb->lock);
	}
	vb_report_actual(vb);
	mutex_unlock(&vb->lock);
}

static void vb_set_stop(struct vballoon *vb, bool stop)
{
	spin_lock_irq(&vb->stop_lock);
	vb->stop = stop;
	spin_unlock_irq(&vb->stop_lock);
}

/* No work runs or gets queued after this, until vb_set_stop(vb, false). */
static void vb_cancel_work(struct vballoon *vb)
{
	vb_set_stop(vb, true);
	cancel_delayed_work_sync(&vb->update_work);
	cancel_work_sync(&vb->stats_work);
}

/* Empty the balloon, reset the device and drop its queues. */
static void vb_teardown(struct vballoon *vb)
{
	vb_release_all(vb);
	mutex_lock(&vb->lock);
	virtio_reset_device(vb->vdev);
	vb_xfer_drain(vb);
	vb->vdev->config->del_vqs(vb->vdev);
	vb->ivq = NULL;
	vb->dvq = NULL;
	vb->svq = NULL;
	mutex_unlock(&vb->lock);
}

static void vb_init_state(struct vballoon *vb)
{
	unsigned int o;

	mutex_init(&vb->lock);
	init_waitqueue_head(&vb->acked);
	INIT_DELAYED_WORK(&vb->update_work, vb_update_work);
	INIT_WORK(&vb->stats_work, vb_statsvq_work);
	spin_lock_init(&vb->stop_lock);
	spin_lock_init(&vb->stats_lock);
	for (o = 0; o < VB_NR_ORDERS; o++)
		INIT_LIST_HEAD(&vb->blocks[o]);
	balloon_devinfo_init(&vb->bdi);
#ifdef CONFIG_BALLOON_COMPACTION
	vb->bdi.migratepage = vb_migratepage;
#endif
	vb->oom_nb.notifier_call = vb_oom_notify;
	vb->oom_nb.priority = VB_OOM_PRIORITY;
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
	vb->tell_host_first = virtio_has_feature(vdev,
					VIRTIO_BALLOON_F_MUST_TELL_HOST);
	vb->deflate_on_oom = virtio_has_feature(vdev,
					VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	vb_init_state(vb);

	err = vb_find_vqs(vb);
	if (err)
		goto out_free;
	err = vb_xfer_init(vb);
	if (err)
		goto out_del_vqs;
	if (vb->deflate_on_oom) {
		err = register_oom_notifier(&vb->oom_nb);
		if (err)
			goto out_xfer;
		vb->oom_registered = true;
	}
	vb_debugfs_init(vb);
	virtio_device_ready(vdev);
	vb_start(vb);
	dev_info(&vdev->dev,
		 "mode %s, max_order %u, stats_vq %d, deflate_on_oom %d, must_tell_host %d\n",
		 vb->ops->name, vb->max_order, !!vb->svq, vb->deflate_on_oom,
		 vb->tell_host_first);
	return 0;

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

	vb_debugfs_exit(vb);
	if (vb->oom_registered)
		unregister_oom_notifier(&vb->oom_nb);
	vb_cancel_work(vb);
	vb_teardown(vb);
	vb_xfer_exit(vb);
	kfree(vb);
}

#ifdef CONFIG_PM_SLEEP
static int vb_freeze(struct virtio_device *vdev)
{
	struct vballoon *vb = vdev->priv;

	vb_cancel_work(vb);
	vb_teardown(vb);
	return 0;
}

static int vb_restore(struct virtio_device *vdev)
{
	struct vballoon *vb = vdev->priv;
	int err;

	mutex_lock(&vb->lock);
	err = vb_find_vqs(vb);
	mutex_unlock(&vb->lock);
	if (err)
		return err;
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
