// SPDX-License-Identifier: GPL-2.0
/*
 * freepage.c - free page hinting (upstream FREE_PAGE_HINT, bit 3) and the
 * free page bitmap (FREE_PAGE_BITMAP, bit 20), both for live migration.
 *
 * Both answer a command id the host writes into free_page_hint_cmd_id, on
 * the free page queue.  config_changed (maybe in interrupt context) only
 * notes that the id may have changed and queues fp_work on our own
 * workqueue (a request may run for seconds); the work reads the id.
 * Everything on the queue belongs to whoever holds fp_lock.
 *
 * Hinting: the work sends the id, then allocates free blocks of the
 * largest order without any reclaim and posts each as one device-writable
 * buffer, until allocation fails, the host writes another id, the guest
 * is short of memory, or the ring stays full for VB_FP_TIMEOUT; then it
 * sends STOP and waits (VB_FP_TIMEOUT) for the host to return the blocks.
 * A posted block (fp_posted) may still be dropped from the round by the
 * host: were the guest to reuse it before the host acts on the hint, the
 * host would clear the new owner's write from its dirty log and never
 * send it.  So a posted block is freed only on DONE, once the host gave it
 * back, or after the device reset.  A block the host returned
 * (fp_returned) is done with: the shrinker and the OOM notifier free
 * those, waiting for nothing but fp_list_lock, a spinlock held only to
 * move list entries.  A block reused after its hint was acted on is
 * written, hence dirtied and sent in a later round.
 *
 * Bitmap: the work scans every populated zone by frame number, at most
 * VB_SCAN_CHUNK frames per hold of zone->lock, and sets a bit per frame of
 * every buddy block it finds, in records preallocated at probe (the scan
 * allocates nothing); then it sends the id, every record with a bit set
 * and STOP, and waits for the host to return them.  A frame is only marked
 * while it is in a buddy block under that zone's lock; frames freed
 * between holds are only left unmarked, which costs the host a page it
 * sends needlessly.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/nodemask.h>
#include <linux/page-flags.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/vmstat.h>
#include <linux/virtio_config.h>
#include <linux/workqueue.h>

#include "vballoon.h"

bool vb_hint_param = true;
module_param_named(hint, vb_hint_param, bool, 0444);
MODULE_PARM_DESC(hint,
		 "answer free page hint requests (FREE_PAGE_HINT, bit 3, always acknowledged when offered): on (default) or off");

bool vb_fbitmap_param = true;
module_param_named(free_bitmap, vb_fbitmap_param, bool, 0444);
MODULE_PARM_DESC(free_bitmap,
		 "acknowledge the free page bitmap (FREE_PAGE_BITMAP, bit 20) when offered: on (default) or off");

/* Hint blocks: the largest order the allocator has, as upstream. */
#define VB_HINT_ORDER		(MAX_ORDER - 1)
#define VB_HINT_PAGES		(1UL << VB_HINT_ORDER)

/*
 * No reclaim of any kind, not even waking kswapd, no reserves: hinting
 * takes memory that is free anyway and must never push anything out.
 */
#define VB_HINT_GFP	(__GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN)

/*
 * How long the host may keep the ring full (hints) or keep one buffer
 * (bitmap) before the work gives up on the request.
 */
#define VB_FP_TIMEOUT		HZ

/*
 * How often a wait for the host notifies it again.  A host may miss a
 * kick: QEMU's free page handler (7.2 at least) turns notifications back
 * on without looking at the ring again, so a buffer added just before
 * sits there until the next kick.
 */
#define VB_FP_NUDGE		max(HZ / 10, 1)

/*
 * Frames looked at per hold of zone->lock, with interrupts off: 64 MiB of
 * guest memory, 1 MiB of struct pages read in order (a free block is
 * skipped whole).  A multiple of MAX_ORDER_NR_PAGES, so that no buddy
 * block crosses two holds.  The longest hold is bitmap_lock_max_ns.
 */
#define VB_SCAN_CHUNK		16384UL

/* Bits of vballoon.fp_flags. */
#define VB_FP_CHANGED	0	/* config changed: read the id again */
#define VB_FP_PRESSURE	1	/* the guest is short: end a hint run */
#define VB_FP_RETRY	2	/* the work gave up waiting for returns */

/* Bytes of one bitmap record that covers nr_pages frames. */
static size_t vb_rec_bytes(unsigned long nr_pages)
{
	return sizeof(struct vballoon_bitmap_hdr) +
	       DIV_ROUND_UP(nr_pages, 64) * sizeof(__le64);
}

static unsigned long *vb_rec_words(void *rec)
{
	return (unsigned long *)((struct vballoon_bitmap_hdr *)rec + 1);
}

/* With hinting every buffer of ours but the two ids is a block. */
static bool vb_fp_is_block(struct vballoon *vb, void *tok)
{
	return vb->hint && tok != &vb->fp_id_buf && tok != &vb->fp_stop_buf;
}

/* The host gave a hinted block back: from now on it may be freed. */
static void vb_hint_returned(struct vballoon *vb, struct page *page)
{
	spin_lock(&vb->fp_list_lock);
	list_move(&page->lru, &vb->fp_returned);
	vb->fp_nr_posted -= VB_HINT_PAGES;
	vb->fp_nr_returned += VB_HINT_PAGES;
	spin_unlock(&vb->fp_list_lock);
}

/* Collect what the host returned on the free page queue.  fp_lock held. */
static void vb_fp_reap(struct vballoon *vb)
{
	unsigned int len;
	void *tok;

	lockdep_assert_held(&vb->fp_lock);
	while ((tok = virtqueue_get_buf(vb->fvq, &len))) {
		if (tok == vb->fp_inject_tok) {
			if (vb->fp_inject_owned)
				kfree(tok);
			vb->fp_inject_tok = NULL;
			vb->fp_inject_owned = false;
			continue;
		}
		if (!WARN_ON_ONCE(!vb->fp_inflight))
			vb->fp_inflight--;
		if (vb_fp_is_block(vb, tok))
			vb_hint_returned(vb, tok);
	}
}

/* The id the host wants answered, read again after a config change. */
static u32 vb_fp_cmd(struct vballoon *vb)
{
	u32 id;

	if (test_and_clear_bit(VB_FP_CHANGED, &vb->fp_flags)) {
		virtio_cread_le(vb->vdev, struct virtio_balloon_config,
				free_page_hint_cmd_id, &id);
		vb->fp_cmd = id;
	}
	return vb->fp_cmd;
}

/* A running request ends: the host wants something else, or we go away. */
static bool vb_fp_ended(struct vballoon *vb, u32 id)
{
	return READ_ONCE(vb->abort) || virtqueue_is_broken(vb->fvq) ||
	       vb_fp_cmd(vb) != id;
}

static bool vb_fp_room_cond(struct vballoon *vb, unsigned int need)
{
	vb_fp_reap(vb);
	return vb->fvq->num_free >= need || READ_ONCE(vb->abort) ||
	       virtqueue_is_broken(vb->fvq);
}

/*
 * Wait up to timeout jiffies (rounded up to VB_FP_NUDGE) for cond; every
 * VB_FP_NUDGE the wait goes on, notify the host again.
 */
static void vb_fp_wait(struct vballoon *vb,
		       bool (*cond)(struct vballoon *vb, unsigned int need),
		       unsigned int need, unsigned long timeout)
{
	unsigned long slices = max(DIV_ROUND_UP(timeout, VB_FP_NUDGE), 1UL);

	while (!wait_event_timeout(vb->acked, cond(vb, need), VB_FP_NUDGE) &&
	       --slices) {
		virtqueue_notify(vb->fvq);
		spin_lock(&vb->stats_lock);
		vb->ctr.fp_renotified++;
		spin_unlock(&vb->stats_lock);
	}
}

/* Wait up to VB_FP_TIMEOUT until the ring has need free slots. */
static int vb_fp_room(struct vballoon *vb, unsigned int need)
{
	vb_fp_wait(vb, vb_fp_room_cond, need, VB_FP_TIMEOUT);
	if (READ_ONCE(vb->abort))
		return -ESHUTDOWN;
	if (virtqueue_is_broken(vb->fvq))
		return -EIO;
	return vb->fvq->num_free >= need ? 0 : -ETIMEDOUT;
}

static bool vb_fp_idle_cond(struct vballoon *vb, unsigned int unused)
{
	vb_fp_reap(vb);
	return !vb->fp_inflight || READ_ONCE(vb->abort) ||
	       virtqueue_is_broken(vb->fvq);
}

/* Wait up to timeout jiffies for every buffer of ours to come back. */
static int vb_fp_idle(struct vballoon *vb, unsigned long timeout)
{
	vb_fp_wait(vb, vb_fp_idle_cond, 0, timeout);
	if (!vb->fp_inflight)
		return 0;
	if (READ_ONCE(vb->abort))
		return -ESHUTDOWN;
	return virtqueue_is_broken(vb->fvq) ? -EIO : -ETIMEDOUT;
}

/* Post one device-readable buffer of ours and notify; len bytes at buf. */
static int vb_fp_post(struct vballoon *vb, void *buf, unsigned int len)
{
	struct scatterlist sg;
	int err;

	err = vb_fp_room(vb, 1);
	if (err)
		return err;
	sg_init_one(&sg, buf, len);
	err = virtqueue_add_outbuf(vb->fvq, &sg, 1, buf,
				   GFP_NOWAIT | __GFP_NOWARN);
	if (err)
		return err;
	vb->fp_inflight++;
	virtqueue_kick(vb->fvq);
	return 0;
}

/* Send an id (le32) in one of the two id buffers. */
static int vb_fp_send_id(struct vballoon *vb, __le32 *buf, u32 id)
{
	/*
	 * Ours to overwrite: vb_fp_work() saw every earlier buffer back
	 * before this request began.
	 */
	*buf = cpu_to_le32(id);
	return vb_fp_post(vb, buf, VBALLOON_FREE_PAGE_ID_BYTES);
}

/* Free the pages of every block on list (taken off the shared lists). */
static void vb_hint_put_list(struct list_head *list)
{
	struct page *page;

	while (!list_empty(list)) {
		page = list_first_entry(list, struct page, lru);
		list_del(&page->lru);
		__free_pages(page, VB_HINT_ORDER);
	}
}

/* Free at most want pages of returned hint blocks; returns pages freed. */
static unsigned long vb_hint_free(struct vballoon *vb, unsigned long want)
{
	unsigned long done = 0;
	struct page *page;
	LIST_HEAD(out);

	spin_lock(&vb->fp_list_lock);
	while (done < want && !list_empty(&vb->fp_returned)) {
		page = list_first_entry(&vb->fp_returned, struct page, lru);
		list_move(&page->lru, &out);
		vb->fp_nr_returned -= VB_HINT_PAGES;
		done += VB_HINT_PAGES;
	}
	spin_unlock(&vb->fp_list_lock);
	vb_hint_put_list(&out);
	return done;
}

/*
 * After the device reset only: every held block, posted or not, since
 * the host acts on nothing any more.  Returns pages freed.
 */
static unsigned long vb_hint_free_all(struct vballoon *vb)
{
	unsigned long done;
	LIST_HEAD(out);

	spin_lock(&vb->fp_list_lock);
	list_splice_init(&vb->fp_posted, &out);
	list_splice_init(&vb->fp_returned, &out);
	done = vb->fp_nr_posted + vb->fp_nr_returned;
	vb->fp_nr_posted = 0;
	vb->fp_nr_returned = 0;
	spin_unlock(&vb->fp_list_lock);
	vb_hint_put_list(&out);
	return done;
}

static void vb_hint_count_freed(struct vballoon *vb, unsigned long pages,
				bool shrunk)
{
	if (!pages)
		return;
	spin_lock(&vb->stats_lock);
	if (shrunk)
		vb->ctr.hint_shrunk_pages += pages;
	else
		vb->ctr.hint_freed_pages += pages;
	spin_unlock(&vb->stats_lock);
}

/*
 * The guest is short (a shrinker, the OOM notifier): end a running hint
 * request, and collect what the host returned if the queue is free now
 * (never wait for it: the work may itself wait for the host).
 */
static void vb_hint_pressure(struct vballoon *vb)
{
	set_bit(VB_FP_PRESSURE, &vb->fp_flags);
	if (!mutex_trylock(&vb->fp_lock))
		return;
	if (vb->fvq)
		vb_fp_reap(vb);
	mutex_unlock(&vb->fp_lock);
}

/*
 * The guest needs memory (OOM notifier, AUTO_BALLOON shrinker): free up
 * to want pages of blocks the host returned.
 */
unsigned long vb_hint_release(struct vballoon *vb, unsigned long want)
{
	unsigned long done;

	if (!vb->hint)
		return 0;
	vb_hint_pressure(vb);
	done = vb_hint_free(vb, want);
	vb_hint_count_freed(vb, done, true);
	return done;
}

/* Allocate one block and post it as a hint; false: no more. */
static bool vb_hint_one(struct vballoon *vb)
{
	struct scatterlist sg;
	struct page *page;

	/* One slot for this block, one kept for STOP. */
	if (vb_fp_room(vb, 2))
		return false;
	page = alloc_pages(VB_HINT_GFP, VB_HINT_ORDER);
	if (!page)
		return false;
	sg_init_table(&sg, 1);
	sg_set_page(&sg, page, VB_HINT_PAGES << PAGE_SHIFT, 0);
	if (virtqueue_add_inbuf(vb->fvq, &sg, 1, page,
				GFP_NOWAIT | __GFP_NOWARN))
		goto out_free;
	vb->fp_inflight++;
	/* Before the kick: only vb_fp_reap() moves it, under fp_lock. */
	spin_lock(&vb->fp_list_lock);
	list_add(&page->lru, &vb->fp_posted);
	vb->fp_nr_posted += VB_HINT_PAGES;
	spin_unlock(&vb->fp_list_lock);
	virtqueue_kick(vb->fvq);
	return true;

out_free:
	__free_pages(page, VB_HINT_ORDER);
	return false;
}

/* A hint run ends: the request ended, or the guest is short. */
static bool vb_hint_stop(struct vballoon *vb, u32 id)
{
	return test_bit(VB_FP_PRESSURE, &vb->fp_flags) || vb_fp_ended(vb, id);
}

/* Answer id with hints: id, blocks until something ends it, STOP. */
static void vb_hint_run(struct vballoon *vb, u32 id)
{
	u64 t0 = ktime_get_ns(), ns;
	unsigned long blocks = 0;

	clear_bit(VB_FP_PRESSURE, &vb->fp_flags);
	if (vb_fp_send_id(vb, &vb->fp_id_buf, id))
		return;
	while (!vb_hint_stop(vb, id) && vb_hint_one(vb)) {
		blocks++;
		/* init_on_alloc zeroes each 4 MiB block. */
		cond_resched();
	}
	if (READ_ONCE(vb->abort))
		return;
	vb_fp_send_id(vb, &vb->fp_stop_buf, VBALLOON_FREE_PAGE_CMD_STOP);
	ns = ktime_get_ns() - t0;
	/* Returned blocks are the ones pressure may take back. */
	vb_fp_idle(vb, VB_FP_TIMEOUT);

	spin_lock(&vb->stats_lock);
	vb->ctr.hint_requests++;
	vb->ctr.hint_blocks += blocks;
	vb->ctr.hint_pages += blocks * VB_HINT_PAGES;
	vb->ctr.hint_ns = ns;
	spin_unlock(&vb->stats_lock);
}

/* What one scan of the zones found. */
struct vb_walk {
	unsigned long pages;	/* frames marked */
	unsigned long chunks;	/* holds of a zone lock */
	u64 lock_max_ns;	/* longest hold of a zone lock, ns */
};

/* Mark n frames from pfn (one buddy block: never across two records). */
static void vb_walk_mark(struct vballoon *vb, unsigned long pfn,
			 unsigned long n, struct vb_walk *w)
{
	unsigned long rec = pfn / VBALLOON_BITMAP_MAX_PAGES;

	if (rec >= vb->fp_nr_rec)
		return;	/* memory added after probe: left out */
	bitmap_set(vb_rec_words(vb->fp_rec[rec]),
		   pfn % VBALLOON_BITMAP_MAX_PAGES, n);
	w->pages += n;
}

/*
 * Mark the buddy blocks of zone in [pfn, end), under its lock.  A page is
 * online or not a subsection at a time; a block's struct pages are
 * contiguous.  A frame of another zone is not ours to look at.
 */
static void vb_scan_range(struct vballoon *vb, struct zone *zone,
			  unsigned long pfn, unsigned long end,
			  struct vb_walk *w)
{
	unsigned long next, order;
	struct page *page;

	lockdep_assert_held(&zone->lock);
	while (pfn < end) {
		next = min(ALIGN(pfn + 1, PAGES_PER_SUBSECTION), end);
		page = pfn_to_online_page(pfn);
		if (!page) {
			pfn = next;
			continue;
		}
		while (pfn < next) {
			if (!PageBuddy(page) || page_zone(page) != zone) {
				pfn++;
				page++;
				continue;
			}
			/* Under zone->lock a buddy's order: page_private. */
			order = page_private(page);
			if (WARN_ON_ONCE(order >= MAX_ORDER ||
					 !IS_ALIGNED(pfn, 1UL << order)))
				return;
			vb_walk_mark(vb, pfn, 1UL << order, w);
			pfn += 1UL << order;
			page += 1UL << order;
		}
	}
}

/*
 * One zone, VB_SCAN_CHUNK frames per hold of its lock; from a pfn aligned
 * to MAX_ORDER_NR_PAGES, so that every hold begins at a block boundary.
 * false: the request ended.
 */
static bool vb_scan_zone(struct vballoon *vb, struct zone *zone, u32 id,
			 struct vb_walk *w)
{
	unsigned long pfn, end, flags;
	u64 t0, ns;

	pfn = ALIGN_DOWN(zone->zone_start_pfn, MAX_ORDER_NR_PAGES);
	while (pfn < zone_end_pfn(zone)) {
		end = min(pfn + VB_SCAN_CHUNK, zone_end_pfn(zone));
		spin_lock_irqsave(&zone->lock, flags);
		t0 = ktime_get_ns();
		vb_scan_range(vb, zone, pfn, end, w);
		ns = ktime_get_ns() - t0;
		spin_unlock_irqrestore(&zone->lock, flags);
		w->lock_max_ns = max(w->lock_max_ns, ns);
		w->chunks++;
		pfn = end;
		cond_resched();
		if (vb_fp_ended(vb, id))
			return false;
	}
	return true;
}

/* Scan every populated zone; false: the request ended. */
static bool vb_walk_all(struct vballoon *vb, u32 id, struct vb_walk *w)
{
	struct zone *zone;
	int nid, z;

	for_each_online_node(nid) {
		for (z = 0; z < MAX_NR_ZONES; z++) {
			zone = &NODE_DATA(nid)->node_zones[z];
			if (populated_zone(zone) &&
			    !vb_scan_zone(vb, zone, id, w))
				return false;
		}
	}
	return true;
}

/*
 * The records are built as bitmaps of longs and sent as __le64 words:
 * converted in place, a no-op on x86 (little-endian, 64-bit longs, the
 * only architecture built today; BITS_PER_LONG is checked at probe).
 */
static void vb_rec_to_le(void *rec, unsigned long nr_words)
{
	unsigned long *w = vb_rec_words(rec);
	__le64 *le = (__le64 *)w;
	unsigned long i;

	for (i = 0; i < nr_words; i++)
		le[i] = cpu_to_le64(w[i]);
}

/* Fill the header of record i; returns its length, 0 if it marks nothing. */
static size_t vb_rec_finish(struct vballoon *vb, unsigned long i)
{
	struct vballoon_bitmap_hdr *hdr = vb->fp_rec[i];
	unsigned long last, nr;

	last = find_last_bit(vb_rec_words(hdr), VBALLOON_BITMAP_MAX_PAGES);
	if (last >= VBALLOON_BITMAP_MAX_PAGES)
		return 0;
	/* Trimmed after the last set bit; the rest of its word is zero. */
	nr = last + 1;
	vb_rec_to_le(hdr, DIV_ROUND_UP(nr, 64));
	hdr->base_pfn = cpu_to_le64((u64)i * VBALLOON_BITMAP_MAX_PAGES);
	hdr->nr_pages = cpu_to_le32(nr);
	hdr->reserved = 0;
	return vb_rec_bytes(nr);
}

static void vb_bitmap_account(struct vballoon *vb, bool done, u64 build_ns,
			      u64 send_ns, unsigned long bytes,
			      const struct vb_walk *w)
{
	struct vb_counters *k = &vb->ctr;

	spin_lock(&vb->stats_lock);
	k->bitmap_requests++;
	k->bitmap_aborted += !done;
	k->bitmap_build_ns = build_ns;
	k->bitmap_build_max_ns = max(k->bitmap_build_max_ns, build_ns);
	k->bitmap_send_ns = send_ns;
	k->bitmap_pages = w->pages;
	k->bitmap_pages_total += w->pages;
	k->bitmap_bytes = bytes;
	k->bitmap_chunks = w->chunks;
	k->bitmap_lock_max_ns = max(k->bitmap_lock_max_ns, w->lock_max_ns);
	spin_unlock(&vb->stats_lock);
}

/* Send the id, every record that marks something, STOP; wait for them. */
static int vb_bitmap_send(struct vballoon *vb, u32 id, unsigned long *bytes)
{
	unsigned long i, sent = 0;
	size_t len;
	int err, end;

	err = vb_fp_send_id(vb, &vb->fp_id_buf, id);
	for (i = 0; !err && i < vb->fp_nr_rec; i++) {
		if (vb_fp_ended(vb, id)) {
			err = -EINTR;
			break;
		}
		len = vb_rec_finish(vb, i);
		if (!len)
			continue;
		/* Keep a slot for STOP. */
		err = vb_fp_room(vb, 2) ?: vb_fp_post(vb, vb->fp_rec[i], len);
		if (err)
			break;
		*bytes += len;
		sent++;
	}
	if (err == -ESHUTDOWN || err == -EIO)
		return err;
	/*
	 * STOP ends the sequence, also one cut short; and the next id, which
	 * cut it short, waits for these buffers: wait for them here too.
	 */
	end = vb_fp_send_id(vb, &vb->fp_stop_buf, VBALLOON_FREE_PAGE_CMD_STOP);
	if (!end)
		end = vb_fp_idle(vb, VB_FP_TIMEOUT * (sent + 2));
	return err ?: end;
}

/* Answer id with a bitmap of the free frames. */
static void vb_bitmap_run(struct vballoon *vb, u32 id)
{
	unsigned long i, bytes = 0;
	struct vb_walk w = {};
	u64 t0, t1, t2;
	bool done;

	t0 = ktime_get_ns();
	for (i = 0; i < vb->fp_nr_rec; i++)
		bitmap_zero(vb_rec_words(vb->fp_rec[i]),
			    VBALLOON_BITMAP_MAX_PAGES);
	done = vb_walk_all(vb, id, &w);
	t1 = ktime_get_ns();
	if (done)
		done = !vb_bitmap_send(vb, id, &bytes);
	t2 = ktime_get_ns();
	vb_bitmap_account(vb, done, t1 - t0, done ? t2 - t1 : 0, bytes, &w);
}

/*
 * The host kept buffers past VB_FP_TIMEOUT (err from vb_fp_idle()): have
 * the queue's callback run the work again when it returns one, and
 * collect those it returned before the callback could see the bit (the
 * barrier pairs with the one in vb_fp_returned()).  fp_lock held.
 */
static void vb_fp_retry_later(struct vballoon *vb, int err)
{
	if (err != -ETIMEDOUT)
		return;
	set_bit(VB_FP_RETRY, &vb->fp_flags);
	smp_mb__after_atomic();
	vb_fp_reap(vb);
}

/*
 * DONE: the host is done with every block.  Those it still has come back
 * first (a block must not be freed while its token is in the ring); one
 * it keeps past VB_FP_TIMEOUT stays posted until it does (the work runs
 * again then), or the reset.
 */
static void vb_hint_done(struct vballoon *vb)
{
	vb_fp_retry_later(vb, vb_fp_idle(vb, VB_FP_TIMEOUT));
	vb_hint_count_freed(vb, vb_hint_free(vb, ULONG_MAX), false);
}

/* Answers the host's command ids; one at a time, under fp_lock. */
static void vb_fp_work(struct work_struct *work)
{
	struct vballoon *vb = container_of(work, struct vballoon, fp_work);
	u32 id;
	int err;

	mutex_lock(&vb->fp_lock);
	if (!vb->fvq || READ_ONCE(vb->abort))
		goto out;
	/* Whatever the work waited for is looked at again below. */
	clear_bit(VB_FP_RETRY, &vb->fp_flags);
	id = vb_fp_cmd(vb);
	if (id == VBALLOON_FREE_PAGE_CMD_DONE) {
		vb_hint_done(vb);
		goto out;
	}
	if (id < VBALLOON_FREE_PAGE_CMD_MIN || id == vb->fp_active)
		goto out;
	/* Our buffers are ours to reuse once the host has them back. */
	err = vb_fp_idle(vb, VB_FP_TIMEOUT);
	if (err) {
		dev_warn_ratelimited(&vb->vdev->dev,
				     "free page request %u not answered yet: the host still has the last one\n",
				     id);
		vb_fp_retry_later(vb, err);
		goto out;
	}
	vb->fp_active = id;
	if (vb->fbitmap)
		vb_bitmap_run(vb, id);
	else if (vb->hint)
		vb_hint_run(vb, id);
out:
	mutex_unlock(&vb->fp_lock);
}

/* Any context: have fp_work run, unless the driver is stopping. */
static void vb_fp_queue(struct vballoon *vb)
{
	vb_queue_work(vb, vb->fp_wq, &vb->fp_work);
}

/* config_changed, any context: the id may be new. */
void vb_fp_config_changed(struct vballoon *vb)
{
	if (!vb->hint && !vb->fbitmap)
		return;
	set_bit(VB_FP_CHANGED, &vb->fp_flags);
	vb_fp_queue(vb);
}

/*
 * The free page queue's callback: the host returned buffers.  Wake the
 * work waiting for them, or, when the work gave up waiting (a request
 * not answered yet, blocks DONE could not free), have it run again.
 */
void vb_fp_returned(struct virtqueue *vq)
{
	struct vballoon *vb = vq->vdev->priv;

	wake_up_all(&vb->acked);
	/* Pairs with vb_fp_retry_later(): the used ring, then the bit. */
	smp_mb();
	if (test_bit(VB_FP_RETRY, &vb->fp_flags))
		vb_fp_queue(vb);
}

/* After DRIVER_OK (probe, restore): answer an id already there. */
void vb_fp_start(struct vballoon *vb)
{
	vb->fp_active = VBALLOON_FREE_PAGE_CMD_STOP;
	vb_fp_config_changed(vb);
}

static unsigned long vb_hint_shrink_count(struct shrinker *s,
					  struct shrink_control *sc)
{
	struct vballoon *vb = container_of(s, struct vballoon, fp_shrinker);
	unsigned long n = READ_ONCE(vb->fp_nr_returned);

	return n ? n : SHRINK_EMPTY;
}

/* Never waits (but for fp_list_lock's few list moves), never allocates. */
static unsigned long vb_hint_shrink_scan(struct shrinker *s,
					 struct shrink_control *sc)
{
	struct vballoon *vb = container_of(s, struct vballoon, fp_shrinker);
	unsigned long done;

	done = vb_hint_release(vb, sc->nr_to_scan);
	if (done && current->reclaim_state)
		current->reclaim_state->reclaimed_slab += done;
	sc->nr_scanned = done;
	return done ? done : SHRINK_STOP;
}

/* Highest frame of any online node, plus one. */
static unsigned long vb_end_pfn(void)
{
	unsigned long end = 0;
	int nid;

	for_each_online_node(nid)
		end = max(end, pgdat_end_pfn(NODE_DATA(nid)));
	return end;
}

static void vb_fbitmap_free(struct vballoon *vb)
{
	unsigned long i;

	for (i = 0; vb->fp_rec && i < vb->fp_nr_rec; i++)
		kfree(vb->fp_rec[i]);
	kfree(vb->fp_rec);
	vb->fp_rec = NULL;
	vb->fp_nr_rec = 0;
}

static int vb_fbitmap_alloc(struct vballoon *vb)
{
	unsigned long i, n;

	n = DIV_ROUND_UP(vb_end_pfn(), VBALLOON_BITMAP_MAX_PAGES);
	BUILD_BUG_ON(sizeof(struct vballoon_bitmap_hdr) +
		     VBALLOON_BITMAP_MAX_PAGES / 8 >
		     VBALLOON_BITMAP_MAX_REQ_BYTES);
	/* vb_rec_to_le() converts longs to __le64 words in place. */
	BUILD_BUG_ON(BITS_PER_LONG != 64);
	BUILD_BUG_ON(VB_SCAN_CHUNK % MAX_ORDER_NR_PAGES);
	vb->fp_rec = kcalloc(n, sizeof(*vb->fp_rec), GFP_KERNEL);
	if (!vb->fp_rec)
		return -ENOMEM;
	vb->fp_nr_rec = n;
	for (i = 0; i < n; i++) {
		vb->fp_rec[i] = kmalloc(vb_rec_bytes(VBALLOON_BITMAP_MAX_PAGES),
					GFP_KERNEL | __GFP_NOWARN);
		if (!vb->fp_rec[i])
			return -ENOMEM;
	}
	return 0;
}

static void vb_fp_init_bitmap(struct vballoon *vb)
{
	if (!virtio_has_feature(vb->vdev, VBALLOON_F_FREE_PAGE_BITMAP))
		return;
	vb->fbitmap = true;
	if (!vb_fbitmap_alloc(vb))
		return;
	dev_warn(&vb->vdev->dev,
		 "free page bitmap off: no memory for its records\n");
	vb_fbitmap_free(vb);
	vb->fbitmap = false;
}

static void vb_fp_init_hint(struct vballoon *vb)
{
	int err;

	/*
	 * hint=off: bit 3 stays acknowledged (the queues keep the spec's
	 * numbering) and no id is ever answered.  With both bits negotiated
	 * the bitmap answers (vballoon_proto.h).
	 */
	vb->hint = vb_hint_param && !vb->fbitmap &&
		   virtio_has_feature(vb->vdev,
				      VIRTIO_BALLOON_F_FREE_PAGE_HINT);
	if (!vb->hint)
		return;
	vb->fp_shrinker.count_objects = vb_hint_shrink_count;
	vb->fp_shrinker.scan_objects = vb_hint_shrink_scan;
	vb->fp_shrinker.seeks = DEFAULT_SEEKS;
	err = register_shrinker(&vb->fp_shrinker, "vballoon-hint-%d",
				vb->vdev->index);
	if (err) {
		/* Held blocks could not be given back under pressure. */
		dev_warn(&vb->vdev->dev,
			 "free page hinting off: no shrinker (%d)\n", err);
		vb->hint = false;
		return;
	}
	vb->fp_shrinker_registered = true;
}

/*
 * At probe, after the queues exist: what was negotiated, the workqueue,
 * the bitmap's records, the shrinker.  A failure here turns the feature
 * off rather than failing the probe: the host then gets no answer, as
 * from a guest without the driver.
 */
int vb_fp_init(struct vballoon *vb)
{
	INIT_WORK(&vb->fp_work, vb_fp_work);
	mutex_init(&vb->fp_lock);
	spin_lock_init(&vb->fp_list_lock);
	INIT_LIST_HEAD(&vb->fp_posted);
	INIT_LIST_HEAD(&vb->fp_returned);
	if (!vb->fvq)
		return 0;
	/* A request may run for seconds: not on a system workqueue. */
	vb->fp_wq = alloc_workqueue("vballoon-fp", WQ_FREEZABLE | WQ_UNBOUND,
				    0);
	if (!vb->fp_wq) {
		dev_warn(&vb->vdev->dev,
			 "free page hinting and bitmap off: no workqueue\n");
		return 0;
	}
	vb_fp_init_bitmap(vb);
	vb_fp_init_hint(vb);
	return 0;
}

/*
 * After the device reset (removal, freeze): nothing in the ring is acted
 * on any more; held blocks go back, a late injection is freed.
 */
void vb_fp_detach(struct vballoon *vb)
{
	void *tok;

	mutex_lock(&vb->fp_lock);
	if (vb->fvq) {
		vb_fp_reap(vb);
		while ((tok = virtqueue_detach_unused_buf(vb->fvq))) {
			if (tok == vb->fp_inject_tok) {
				if (vb->fp_inject_owned)
					kfree(tok);
				vb->fp_inject_tok = NULL;
				vb->fp_inject_owned = false;
			} else if (!WARN_ON_ONCE(!vb->fp_inflight)) {
				vb->fp_inflight--;
			}
		}
		WARN_ON_ONCE(vb->fp_inflight);
		vb->fp_inflight = 0;
		vb->fvq = NULL;
		clear_bit(VB_FP_RETRY, &vb->fp_flags);
	}
	mutex_unlock(&vb->fp_lock);
	vb_hint_count_freed(vb, vb_hint_free_all(vb), false);
}

/* Removal, before the work is cancelled: no more shrinker calls. */
void vb_fp_stop(struct vballoon *vb)
{
	if (!vb->fp_shrinker_registered)
		return;
	unregister_shrinker(&vb->fp_shrinker);
	vb->fp_shrinker_registered = false;
}

/* Removal or a failed probe, after the work is cancelled. */
void vb_fp_exit(struct vballoon *vb)
{
	vb_fbitmap_free(vb);
	if (vb->fp_wq)
		destroy_workqueue(vb->fp_wq);
	vb->fp_wq = NULL;
}

/*
 * vb_fp_inject() holds fp_lock for the whole wait: only the reap can
 * clear fp_inject_tok meanwhile, and nothing else sets it.
 */
static bool vb_fp_inject_cond(struct vballoon *vb, unsigned int unused)
{
	vb_fp_reap(vb);
	return !vb->fp_inject_tok || READ_ONCE(vb->abort) ||
	       virtqueue_is_broken(vb->fvq);
}

/*
 * debugfs inject: post sg (nents entries; device-writable with writable)
 * on the free page queue with the kmalloc'd token tok, and wait up to
 * timeout.  Not back in time: tok stays in the ring, owned by vb, and
 * *kept says so.
 */
int vb_fp_inject(struct vballoon *vb, void *tok, struct scatterlist *sg,
		 unsigned int nents, bool writable, unsigned long timeout,
		 bool *kept)
{
	int err;

	*kept = false;
	err = mutex_lock_interruptible(&vb->fp_lock);
	if (err)
		return err;
	if (!vb->fvq || READ_ONCE(vb->abort)) {
		err = -ENODEV;
		goto out;
	}
	vb_fp_reap(vb);
	if (vb->fp_inject_tok) {
		err = -EBUSY;
		goto out;
	}
	if (writable)
		err = virtqueue_add_inbuf(vb->fvq, sg, nents, tok,
					  GFP_KERNEL | __GFP_NORETRY |
					  __GFP_NOWARN);
	else
		err = virtqueue_add_outbuf(vb->fvq, sg, nents, tok,
					   GFP_KERNEL | __GFP_NORETRY |
					   __GFP_NOWARN);
	if (err)
		goto out;
	vb->fp_inject_tok = tok;
	virtqueue_kick(vb->fvq);
	vb_fp_wait(vb, vb_fp_inject_cond, 0, timeout);
	if (vb->fp_inject_tok != tok)
		goto out;
	vb->fp_inject_owned = true;
	*kept = true;
	if (virtqueue_is_broken(vb->fvq))
		err = -EIO;
	else
		err = READ_ONCE(vb->abort) ? -ENODEV : -ETIMEDOUT;
out:
	mutex_unlock(&vb->fp_lock);
	return err;
}
