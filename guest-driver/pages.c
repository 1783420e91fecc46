// SPDX-License-Identifier: GPL-2.0
/*
 * pages.c - the pages of the balloon: allocating a batch, filing it into
 * the balloon, picking pages out of it, giving them back.
 *
 * Allocation runs with no lock held.  Everything that touches the lists
 * holds vb->lock for at most VB_CHUNK entries, and every call that runs
 * with interrupts off (the bulk allocator, the balloon_compaction list
 * walks under pages_lock) handles at most VB_CHUNK pages, with
 * cond_resched() between.
 */
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/vmstat.h>

#include "vballoon.h"

/*
 * High-order blocks: take what is free, never reclaim, compact or dip
 * into reserves for them (single pages still reclaim, like upstream).
 * Blocks below pageblock order (only with max_order below it) are asked
 * for as unmovable, so that they come from unmovable pageblocks where
 * there are any, never from ZONE_MOVABLE or CMA.
 */
#define VB_BLOCK_GFP	((GFP_HIGHUSER & ~__GFP_RECLAIM) | __GFP_NORETRY | \
			 __GFP_NOWARN | __GFP_NOMEMALLOC)

/*
 * Blocks of a whole pageblock or more are taken as movable, from movable
 * pageblocks, and go back to them: nothing else shares their pageblocks,
 * so they fragment nothing.  Taken as unmovable they turn those pageblocks
 * unmovable; once the balloon gives back part of one (the OOM notifier, a
 * smaller target), the guest's own movable allocations must steal from it,
 * and each such steal raises the zone's watermark boost, which only kswapd
 * takes down.  In a swapless guest whose kswapd had given up after an OOM
 * that boost stayed at its maximum for good: 97 MiB above the usual min
 * watermark of a 1 GiB guest, and the balloon was refused its last pages
 * with 145 MiB free.  Without __GFP_HIGHMEM: never from ZONE_MOVABLE.
 * Not on a system with CMA areas, from which movable requests may be
 * served (vb_pages_init).
 */
#define VB_WHOLE_GFP	((GFP_USER & ~__GFP_RECLAIM) | __GFP_MOVABLE | \
			 __GFP_NORETRY | __GFP_NOWARN | __GFP_NOMEMALLOC)

/*
 * The smallest block order worth taking, and whether pageblock-sized
 * blocks may be taken as movable (VB_WHOLE_GFP).  Below pageblock order a
 * block would be an unmovable island in a pageblock others use, pinned
 * for the balloon's lifetime, so when order 9 (or 10) fails the ladder
 * goes straight to single pages, which compaction can move.  Only a
 * max_order below pageblock order (an experiment: smaller blocks) takes
 * such blocks, unmovable, and says so in its stats.
 */
void vb_pages_init(struct vballoon *vb)
{
	int nid, z;

	vb->min_block_order = vb->max_order >= pageblock_order ?
			      pageblock_order : 1;
	vb->whole_movable = true;
	for_each_online_node(nid)
		for (z = 0; z < MAX_NR_ZONES; z++)
			if (zone_cma_pages(&NODE_DATA(nid)->node_zones[z]))
				vb->whole_movable = false;
	/* Legacy mode stays the baseline: every page from the allocator. */
	vb->split_blocks = vb->split_blocks && vb->mode != VB_MODE_LEGACY &&
			   vb->max_order < pageblock_order;
}

/*
 * Single pages: what balloon_page_alloc() asks for, taken in bulk from the
 * per-CPU lists so the allocator's entry costs are paid once per chunk.
 */
#define VB_SINGLE_GFP	(balloon_mapping_gfp_mask() | __GFP_NOMEMALLOC | \
			 __GFP_NORETRY | __GFP_NOWARN)

/*
 * A pageblock to cut into single pages: from wherever single balloon pages
 * may come (ZONE_MOVABLE and CMA included: every page stays movable), but
 * only what is free, like a block.
 */
#define VB_SPLIT_GFP	((balloon_mapping_gfp_mask() & ~__GFP_RECLAIM) | \
			 __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN)

void vb_note_max(struct vballoon *vb, u64 *max, u64 ns)
{
	spin_lock(&vb->stats_lock);
	if (ns > *max)
		*max = ns;
	spin_unlock(&vb->stats_lock);
}

/* vb->lock, with the longest hold recorded. */
void vb_lock(struct vballoon *vb)
{
	mutex_lock(&vb->lock);
	vb->lock_t0 = ktime_get_ns();
}

void vb_unlock(struct vballoon *vb)
{
	u64 ns = ktime_get_ns() - vb->lock_t0;

	mutex_unlock(&vb->lock);
	vb_note_max(vb, &vb->ctr.lock_max_ns, ns);
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
	long delta;		/* pages to add to its managed count */
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

static void vb_ent_set(struct vb_ent *e, struct page *page,
		       unsigned int order, enum vb_ent_kind kind)
{
	e->pfn = page_to_pfn(page);
	e->order = order;
	e->kind = kind;
}

/* Move the entries of one fate to the front; returns how many there are. */
unsigned int vb_sort_out(struct vb_ent *ent, unsigned int nr,
			 enum vb_fate fate)
{
	unsigned int i, n = 0;

	for (i = 0; i < nr; i++) {
		if (ent[i].fate != fate)
			continue;
		swap(ent[i], ent[n]);
		n++;
	}
	return n;
}

/*
 * Up to want single pages into vb->ibatch from entry nr on, VB_CHUNK per
 * call of the bulk allocator, which runs with interrupts off.  It falls
 * back to one ordinary allocation (with its reclaim) when the per-CPU
 * lists cannot serve, so it returns 0 only when that failed too.  No lock
 * is held: reclaim may call the OOM notifier.
 */
static unsigned int vb_alloc_singles(struct vballoon *vb, unsigned int nr,
				     unsigned int want)
{
	unsigned int got = 0, ask, n, i;
	u64 t0;

	while (got < want) {
		ask = min_t(unsigned int, want - got, VB_CHUNK);
		t0 = ktime_get_ns();
		n = alloc_pages_bulk_array(VB_SINGLE_GFP, ask, vb->bulk);
		vb_note_max(vb, &vb->ctr.irqoff_max_ns, ktime_get_ns() - t0);
		for (i = 0; i < n; i++) {
			vb_ent_set(&vb->ibatch[nr + got++], vb->bulk[i], 0,
				   VB_ENT_SINGLE);
			vb->bulk[i] = NULL;
		}
		if (n < ask)
			break;
		cond_resched();
	}
	return got;
}

/*
 * A free pageblock cut into single pages at entry nr: one allocation and
 * one split_page() for pageblock_nr_pages pages, where the bulk allocator
 * takes each page off the per-CPU lists (and refills them from the buddy
 * lists) one by one (guest-driver/README.md, "How the balloon is held",
 * has the measurement).  Every page of it becomes an ordinary movable
 * balloon page, which compaction moves and deflate frees one at a time.
 * Unlike the bulk allocator, which serves single pages from the smallest
 * free pieces, this takes whole free pageblocks first, as order-9 blocks
 * do.  Only what is free: no reclaim, no compaction.  Returns the pages,
 * 0 if no free pageblock was left.
 */
static unsigned int vb_alloc_split(struct vballoon *vb, unsigned int nr)
{
	struct page *page;
	unsigned long i;

	page = alloc_pages(VB_SPLIT_GFP, pageblock_order);
	if (!page)
		return 0;
	split_page(page, pageblock_order);
	for (i = 0; i < pageblock_nr_pages; i++)
		vb_ent_set(&vb->ibatch[nr + i], page + i, 0, VB_ENT_SINGLE);
	return pageblock_nr_pages;
}

/*
 * Allocate up to want pages into vb->ibatch, largest blocks first, with no
 * lock held.  An order that fails is not tried again in this batch, nor is
 * a split pageblock.  Returns the entries filled.
 */
static unsigned int vb_alloc_some(struct vballoon *vb, unsigned long want,
				  struct vb_batch_cost *c)
{
	unsigned int order = vb->max_order, nr = 0, o, got, cut;
	bool split = vb->split_blocks;
	unsigned long pages = 0;
	struct page *page;

	want = min(want, vb->batch_pages);
	while (nr < vb->batch_cap && pages < want) {
		/* Never overshoot the target with a block. */
		o = min_t(unsigned int, order, ilog2(want - pages));
		if (o < vb->min_block_order) {
			got = min_t(unsigned long, want - pages,
				    vb->batch_cap - nr);
			if (split && got >= pageblock_nr_pages) {
				cut = vb_alloc_split(vb, nr);
				if (cut) {
					c->split_blocks++;
					nr += cut;
					pages += cut;
					cond_resched();
					continue;
				}
				c->split_fail++;
				split = false;
			}
			got = vb_alloc_singles(vb, nr, got);
			if (!got) {
				c->alloc_fail[0]++;
				break;
			}
			nr += got;
			pages += got;
			continue;
		}
		page = alloc_pages(o >= pageblock_order && vb->whole_movable ?
				   VB_WHOLE_GFP : VB_BLOCK_GFP, o);
		if (!page) {
			c->alloc_fail[o]++;
			order = o - 1;
			continue;
		}
		vb_set_offline(page, o, true);
		vb_ent_set(&vb->ibatch[nr++], page, o, VB_ENT_BLOCK);
		pages += 1UL << o;
		cond_resched();
	}
	return nr;
}

/*
 * Legacy requests name frames in 32 bits (as upstream's): a page at or
 * above 16 TiB cannot be told to the host, so it goes straight back and
 * the batch ends short, with a warning, instead of the host being given a
 * truncated frame number (another page of the guest).
 */
static unsigned int vb_keep_nameable(struct vballoon *vb, unsigned int nr)
{
	unsigned int i, n = 0;

	for (i = 0; i < nr; i++) {
		struct vb_ent *e = &vb->ibatch[i];

		if (e->pfn + (1UL << e->order) - 1 <= U32_MAX) {
			vb->ibatch[n++] = *e;
			continue;
		}
		dev_warn_once(&vb->vdev->dev,
			      "legacy mode names frames in 32 bits: memory above 16 TiB is not ballooned\n");
		vb_free_fresh(e, 1);
	}
	return n;
}

unsigned int vb_alloc_batch(struct vballoon *vb, unsigned long want,
			    struct vb_batch_cost *c)
{
	unsigned int nr = vb_alloc_some(vb, want, c);

	return vb->mode == VB_MODE_LEGACY ? vb_keep_nameable(vb, nr) : nr;
}

/* The host never saw these (or forgot them in a reset): straight back. */
void vb_free_fresh(const struct vb_ent *ent, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(ent[i].pfn);
		unsigned int o = ent[i].order;

		if (o)
			vb_set_offline(page, o, false);
		__free_pages(page, o);
		if (!((i + 1) % VB_CHUNK))
			cond_resched();
	}
}

/*
 * One single page into the balloon list, as balloon_page_enqueue() files
 * it.  Nobody else can reach the page yet, so its lock is free.  The
 * caller holds bdi.pages_lock.
 */
static void vb_insert_one(struct vballoon *vb, struct page *page)
{
	bool locked = trylock_page(page);

	WARN_ON_ONCE(!locked);
	balloon_page_insert(&vb->bdi, page);
	if (locked)
		unlock_page(page);
}

/*
 * n contiguous single pages into the balloon list, not counted as inflated
 * again: they already were (as part of a block, or before compaction moved
 * them).  The caller holds vb->lock.
 */
void vb_insert_range(struct vballoon *vb, struct page *page, unsigned long n)
{
	unsigned long i = 0, end, flags;
	u64 t0;

	lockdep_assert_held(&vb->lock);
	while (i < n) {
		end = min(n, i + VB_CHUNK);
		t0 = ktime_get_ns();
		spin_lock_irqsave(&vb->bdi.pages_lock, flags);
		for (; i < end; i++)
			vb_insert_one(vb, page + i);
		spin_unlock_irqrestore(&vb->bdi.pages_lock, flags);
		vb_note_max(vb, &vb->ctr.irqoff_max_ns, ktime_get_ns() - t0);
	}
	vb->nr_singles += n;
}

/*
 * At most VB_CHUNK entries the host has into the balloon, in one pass
 * under pages_lock: single pages straight into the balloon list (not
 * first onto a list of our own for balloon_page_list_enqueue() to walk
 * again), blocks onto theirs.  Holds vb->lock.
 */
static void vb_commit_chunk(struct vballoon *vb, const struct vb_ent *ent,
			    unsigned int nr, struct vb_batch_cost *c)
{
	unsigned long pages = 0, singles = 0, flags;
	struct vb_managed m = {};
	unsigned int i;
	u64 t0;

	lockdep_assert_held(&vb->lock);
	t0 = ktime_get_ns();
	spin_lock_irqsave(&vb->bdi.pages_lock, flags);
	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(ent[i].pfn);
		unsigned int o = ent[i].order;

		if (!o) {
			vb_insert_one(vb, page);
			singles++;
		} else {
			list_add(&page->lru, &vb->blocks[o]);
			vb->nr_blocks[o]++;
		}
		/* Without DEFLATE_ON_OOM the pages leave MemTotal. */
		if (!vb->deflate_on_oom)
			vb_managed_add(&m, page, -(1L << o));
		c->blocks[o]++;
		pages += 1UL << o;
	}
	vb_managed_flush(&m);
	spin_unlock_irqrestore(&vb->bdi.pages_lock, flags);
	vb_note_max(vb, &vb->ctr.irqoff_max_ns, ktime_get_ns() - t0);
	count_vm_events(BALLOON_INFLATE, pages);
	vb->nr_singles += singles;
	WRITE_ONCE(vb->num_pages, vb->num_pages + pages);
	c->pages += pages;
}

/* The host has the entries: file them where deflate will find them. */
void vb_commit(struct vballoon *vb, const struct vb_ent *ent, unsigned int nr,
	       struct vb_batch_cost *c)
{
	u64 t0 = ktime_get_ns();
	unsigned int i, n;

	for (i = 0; i < nr; i += n) {
		n = min_t(unsigned int, nr - i, VB_CHUNK);
		vb_lock(vb);
		vb_commit_chunk(vb, ent + i, n, c);
		vb_unlock(vb);
		cond_resched();
	}
	c->commit_ns += ktime_get_ns() - t0;
}

/*
 * Nothing smaller than a block is left: split the smallest block, take
 * up to max pages of it into ent and keep the rest as single (movable)
 * pages.  Returns the pages taken.  The caller holds vb->lock.
 */
static unsigned int vb_split_block(struct vballoon *vb, struct vb_ent *ent,
				   unsigned int max, unsigned long left,
				   struct vb_batch_cost *c)
{
	unsigned long i, take, size;
	struct page *page;
	unsigned int o;

	lockdep_assert_held(&vb->lock);
	for (o = 1; o < VB_NR_ORDERS; o++)
		if (vb->nr_blocks[o])
			break;
	if (o == VB_NR_ORDERS)
		return 0;
	page = list_first_entry(&vb->blocks[o], struct page, lru);
	list_del(&page->lru);
	vb->nr_blocks[o]--;
	split_page(page, o);
	c->splits++;

	size = 1UL << o;
	take = min3(left, size, (unsigned long)max);
	for (i = 0; i < take; i++)
		vb_ent_set(&ent[i], page + i, 0, VB_ENT_SPLIT);
	for (i = take; i < size; i++)
		__ClearPageOffline(page + i);
	vb_insert_range(vb, page + take, size - take);
	return take;
}

/*
 * Up to max entries of at most *left pages out of the balloon into ent:
 * blocks largest first (the guest gets large free blocks back), then
 * single pages, then a piece of a split block.  The caller holds vb->lock.
 */
static unsigned int vb_pick_chunk(struct vballoon *vb, struct vb_ent *ent,
				  unsigned int max, unsigned long *left,
				  struct vb_batch_cost *c)
{
	struct page *page, *tmp;
	unsigned int n = 0, o;
	LIST_HEAD(pages);
	size_t got;
	u64 t0;

	lockdep_assert_held(&vb->lock);
	for (o = VB_NR_ORDERS - 1; o > 0; o--) {
		while (n < max && vb->nr_blocks[o] && (1UL << o) <= *left) {
			page = list_first_entry(&vb->blocks[o], struct page,
						lru);
			list_del(&page->lru);
			vb->nr_blocks[o]--;
			vb_ent_set(&ent[n++], page, o, VB_ENT_BLOCK);
			*left -= 1UL << o;
		}
	}
	if (n < max && *left && vb->nr_singles) {
		t0 = ktime_get_ns();
		got = balloon_page_list_dequeue(&vb->bdi, &pages,
						min_t(unsigned long, *left,
						      max - n));
		vb_note_max(vb, &vb->ctr.irqoff_max_ns, ktime_get_ns() - t0);
		list_for_each_entry_safe(page, tmp, &pages, lru) {
			list_del(&page->lru);
			vb_ent_set(&ent[n++], page, 0, VB_ENT_SINGLE);
		}
		vb->nr_singles -= got;
		*left -= got;
	}
	if (!n && *left) {
		n = vb_split_block(vb, ent, max, *left, c);
		*left -= n;
	}
	return n;
}

/* Take up to want pages out of the balloon into vb->dbatch. */
unsigned int vb_pick_batch(struct vballoon *vb, unsigned long want,
			   struct vb_batch_cost *c)
{
	unsigned int nr = 0, n;
	unsigned long left;

	lockdep_assert_held(&vb->dq.lock);
	left = min3(want, READ_ONCE(vb->num_pages), vb->batch_pages);
	while (left && nr < vb->batch_cap) {
		vb_lock(vb);
		n = vb_pick_chunk(vb, vb->dbatch + nr,
				  min_t(unsigned int, VB_CHUNK,
					vb->batch_cap - nr),
				  &left, c);
		vb_unlock(vb);
		if (!n)
			break;
		nr += n;
		cond_resched();
	}
	return nr;
}

/* The host was not told about these (MUST_TELL_HOST): back they go. */
static void vb_put_back_chunk(struct vballoon *vb, const struct vb_ent *ent,
			      unsigned int nr)
{
	LIST_HEAD(singles);
	unsigned int i;
	u64 t0;

	lockdep_assert_held(&vb->lock);
	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(ent[i].pfn);
		unsigned int o = ent[i].order;

		switch (ent[i].kind) {
		case VB_ENT_BLOCK:
			list_add(&page->lru, &vb->blocks[o]);
			vb->nr_blocks[o]++;
			break;
		case VB_ENT_SPLIT:
			__ClearPageOffline(page);
			vb_insert_range(vb, page, 1);
			break;
		case VB_ENT_SINGLE:
			list_add(&page->lru, &singles);
			break;
		}
	}
	/* Dequeue counted these as deflated; enqueue counts them back. */
	t0 = ktime_get_ns();
	vb->nr_singles += balloon_page_list_enqueue(&vb->bdi, &singles);
	vb_note_max(vb, &vb->ctr.irqoff_max_ns, ktime_get_ns() - t0);
}

void vb_put_back(struct vballoon *vb, const struct vb_ent *ent,
		 unsigned int nr)
{
	unsigned int i, n;

	for (i = 0; i < nr; i += n) {
		n = min_t(unsigned int, nr - i, VB_CHUNK);
		vb_lock(vb);
		vb_put_back_chunk(vb, ent + i, n);
		vb_unlock(vb);
		cond_resched();
	}
}

/* Give entries taken out of the balloon back to the guest. */
void vb_release(struct vballoon *vb, const struct vb_ent *ent, unsigned int nr,
		struct vb_batch_cost *c)
{
	struct vb_managed m = {};
	unsigned long pages = 0;
	unsigned int i;

	/*
	 * Back into MemTotal before the pages go back to the allocator: freeing
	 * first and adjusting once after measured twice as slow (1.75 GiB of
	 * order-9 blocks: deflate_free_ns about 30 ms against 13 ms).
	 */
	if (!vb->deflate_on_oom) {
		for (i = 0; i < nr; i++)
			vb_managed_add(&m, pfn_to_page(ent[i].pfn),
				       1L << ent[i].order);
		vb_managed_flush(&m);
	}
	for (i = 0; i < nr; i++) {
		struct page *page = pfn_to_page(ent[i].pfn);
		unsigned int o = ent[i].order;

		switch (ent[i].kind) {
		case VB_ENT_SINGLE:
			/*
			 * balloon_page_list_dequeue() finalized it.  Freeing
			 * 32 at a time with release_pages() measured no
			 * faster: about 500 ns per page either way under TCG.
			 */
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
		pages += 1UL << o;
		if (!((i + 1) % VB_CHUNK))
			cond_resched();
	}
	vb_lock(vb);
	WRITE_ONCE(vb->num_pages, vb->num_pages - pages);
	vb_unlock(vb);
	c->pages += pages;
}

void vb_count_leak(struct vballoon *vb, unsigned long pages)
{
	if (!pages)
		return;
	dev_warn(&vb->vdev->dev,
		 "%lu pages stay unused: the host never acknowledged them and MUST_TELL_HOST forbids reusing them\n",
		 pages);
	spin_lock(&vb->stats_lock);
	vb->ctr.leaked_pages += pages;
	spin_unlock(&vb->stats_lock);
}

/*
 * Entries taken out of the balloon that the host was not told about and
 * now never will be (MUST_TELL_HOST, device reset): kept out of use for
 * good.  Returns the pages.
 */
unsigned long vb_leak(struct vballoon *vb, const struct vb_ent *ent,
		      unsigned int nr)
{
	unsigned long pages = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		/* Dequeue cleared it; blocks and split pages still have it. */
		if (ent[i].kind == VB_ENT_SINGLE)
			__SetPageOffline(pfn_to_page(ent[i].pfn));
		pages += 1UL << ent[i].order;
	}
	vb_lock(vb);
	WRITE_ONCE(vb->num_pages, vb->num_pages - pages);
	vb_unlock(vb);
	return pages;
}
