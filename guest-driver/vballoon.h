/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vballoon.h - internal interfaces of the balloonbench virtio-balloon driver.
 *
 * core.c     probe/remove, inflate and deflate policy, OOM, migration
 * pages.c    the balloon's pages: allocate, file, pick, give back
 * xfer.c     the four transfer modes: encoding requests and waiting
 * statsvq.c  the upstream memory statistics virtqueue
 * debugfs.c  stats/reset/inject files under /sys/kernel/debug/vballoon
 * auto.c     AUTO_BALLOON: the goal, the shrinker
 * reporting.c  free page reporting (upstream REPORTING, bit 5)
 * freepage.c free page hinting (bit 3) and the free page bitmap (bit 20)
 *
 * Locking, outermost first:
 *   iq.lock   the inflate queue: the inflate worker, compaction, inject
 *   dq.lock   the deflate queue: the worker, the OOM notifier, compaction,
 *             removal, the shrinker (trylock) and the thrash check; those
 *             two deflate through vb_deflate_until(), which stops between
 *             batches while the OOM notifier waits for it (oom_waiting)
 *   lock      the balloon's lists and counts, held for at most VB_CHUNK
 *             entries at a time
 *   bdi.pages_lock, stats_lock, stop_lock, goal_lock (spinlocks)
 *   fp_lock   the free page queue (freepage.c): the free page work,
 *             inject, teardown (inside iq.lock and dq.lock); never
 *             taken by reclaim or the OOM notifier
 *   fp_list_lock  held hint blocks (spinlock; the shrinker, OOM notifier,
 *             the free page queue's reaper)
 * Nothing allocates memory that may reclaim while holding dq.lock or lock,
 * the two the OOM notifier takes, and every wait for the host is bounded.
 */
#ifndef VBALLOON_H
#define VBALLOON_H

#include <linux/balloon_compaction.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/page_reporting.h>
#include <linux/scatterlist.h>
#include <linux/shrinker.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/virtio.h>
#include <linux/virtio_balloon.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "vballoon_proto.h"

#if !defined(CONFIG_64BIT) || defined(__BIG_ENDIAN)
/* Bitmaps are built with the native bitmap helpers straight into __le64. */
#error "vballoon supports 64-bit little-endian guests only"
#endif

/* Block orders 0..VBALLOON_MAX_BLOCK_ORDER. */
#define VB_NR_ORDERS		(VBALLOON_MAX_BLOCK_ORDER + 1)

/* Request buffers posted per kick in the bitmap and chunk modes. */
#define VB_NR_BUFS		8

/* Size of one request buffer in the bitmap and chunk modes, bytes. */
#define VB_BUF_BYTES		(64 * 1024)

/*
 * Entries (blocks) per batch outside legacy mode: enough to fill all
 * VB_NR_BUFS chunk buffers twice, or 128 SG chains of 128 descriptors.
 */
#define VB_BATCH_MAX		16384

/*
 * Largest batch, bytes (256 MiB).  Target changes, compaction and the
 * deflate queue's other users get their turn between batches; a batch of
 * this size takes a few tens of milliseconds to allocate and discard.
 */
#define VB_BATCH_BYTES		(256UL << 20)

/*
 * Pages per call that runs with interrupts off (the bulk allocator, the
 * balloon list walks under pages_lock) and entries per hold of vb->lock;
 * cond_resched() between.  Zeroing 256 pages (init_on_alloc) takes about
 * 100 us.
 */
#define VB_CHUNK		256

/* Longest SG chain we build, descriptors (also bounded by the ring). */
#define VB_SG_CHAIN_MAX		256

/* Frames covered by the scratch bitmap at once: 16 GiB, a 512 KiB map. */
#define VB_MAP_BITS		(1UL << 22)

enum vb_mode {
	VB_MODE_LEGACY,
	VB_MODE_BITMAP,
	VB_MODE_CHUNK,
	VB_MODE_SG,
	VB_NR_MODES,
};

/* Where a batch entry comes from; decides how it goes back on deflate. */
enum vb_ent_kind {
	VB_ENT_SINGLE,	/* order-0 page from the balloon_dev_info list */
	VB_ENT_BLOCK,	/* head of a block kept on vb->blocks[order] */
	VB_ENT_SPLIT,	/* order-0 page cut out of a block (split_page) */
};

/* Where an entry of a transfer that failed stands with the host. */
enum vb_fate {
	VB_ACKED,	/* only in requests the host returned */
	VB_POSTED,	/* in a request the host may not have acted on yet */
	VB_UNSENT,	/* in no request the host ever saw */
};

/*
 * Why a shrinker call (auto.c) gave nothing back; indexes
 * vb_counters.shrink_refused.  Values past VB_NR_REFUSALS are not refusals.
 */
enum vb_refusal {
	VB_REFUSE_KSWAPD,	/* background reclaim (kswapd) */
	VB_REFUSE_SELF,		/* the inflate worker's own allocation */
	VB_REFUSE_CACHE,	/* page cache above auto_cache_pct */
	VB_REFUSE_HOLDOFF,	/* within auto_holdoff_ms of inflate progress */
	VB_REFUSE_BUSY,		/* deflate queue's lock taken */
	VB_REFUSE_HOST,		/* deflated nothing: host silent, queue busy */
	VB_REFUSE_NOTRECLAIM,	/* not an allocation's reclaim (drop_caches) */
	VB_NR_REFUSALS,
	VB_SHRINK_OK = VB_NR_REFUSALS,	/* deflate */
	VB_SHRINK_URGENT,	/* deflate in the hold-off: below min watermark */
};

/* One block of 2^order physically contiguous 4 KiB frames. */
struct vb_ent {
	unsigned long pfn;	/* first frame */
	u8 order;		/* the block covers 2^order frames */
	u8 kind;		/* enum vb_ent_kind */
	u8 fate;		/* enum vb_fate, set by vb_sent_fates() */
};

/* What one transfer (a batch, a migration step, an injection) cost. */
struct vb_xfer {
	u64 requests;	/* requests the host completed */
	u64 kicks;	/* notifications sent to the host */
	u64 timeouts;	/* rounds the host did not complete in time */
	u64 build_ns;	/* encoding requests, ns */
	u64 wait_ns;	/* first add to last completion, ns */
};

/* A position in a batch: every frame before it was put into a request. */
struct vb_pos {
	unsigned int idx;	/* array walk: entry */
	unsigned long off;	/* array walk: frames of that entry taken */
	unsigned long pfn;	/* bitmap walk: first frame not taken */
};

/* How far a transfer got, for sorting out the entries of a failed one. */
struct vb_sent {
	bool by_pfn;		/* positions are frames (bitmap walk) */
	struct vb_pos acked;	/* requests before this came back */
	struct vb_pos posted;	/* requests before this were posted */
};

/*
 * Counters shown in debugfs stats; protected by vballoon.stats_lock.
 * Arrays are indexed by block order.
 */
struct vb_counters {
	u64 inflate_pages;	/* pages given to the host */
	u64 inflate_blocks[VB_NR_ORDERS];	/* blocks given */
	u64 inflate_alloc_fail[VB_NR_ORDERS];	/* failed allocations */
	u64 inflate_split_blocks;	/* pageblocks cut into single pages */
	u64 inflate_split_fail;	/* batches that found no free pageblock */
	u64 inflate_batches;	/* inflate batches completed */
	u64 inflate_requests;	/* inflate requests completed */
	u64 inflate_kicks;	/* inflate queue notifications */
	u64 inflate_alloc_ns;	/* allocating pages, ns */
	u64 inflate_build_ns;	/* encoding inflate requests, ns */
	u64 inflate_commit_ns;	/* filing acknowledged pages, ns */
	u64 inflate_wait_ns;	/* first add to last completion, ns */
	u64 inflate_ns;		/* whole inflate batches, ns */
	u64 deflate_pages;	/* pages taken back */
	u64 deflate_blocks[VB_NR_ORDERS];	/* blocks taken back */
	u64 deflate_splits;	/* blocks split to deflate a part */
	u64 deflate_batches;	/* deflate batches completed */
	u64 deflate_requests;	/* deflate requests completed */
	u64 deflate_kicks;	/* deflate queue notifications */
	u64 deflate_build_ns;	/* encoding deflate requests, ns */
	u64 deflate_wait_ns;	/* first add to last completion, ns */
	u64 deflate_free_ns;	/* freeing pages, ns */
	u64 deflate_ns;		/* whole deflate batches, ns */
	u64 xfer_errors;	/* transfers that failed */
	u64 xfer_timeouts;	/* waits for the host that ran out of time */
	u64 leaked_pages;	/* never reused: the host was not told */
	u64 oom_events;		/* OOM notifier calls */
	u64 oom_pages;		/* pages freed by the OOM notifier */
	u64 oom_busy;		/* OOM calls that found the queue busy */
	u64 oom_max_ns;		/* longest OOM notifier call, ns */
	u64 lock_max_ns;	/* longest hold of vballoon.lock, ns */
	u64 irqoff_max_ns;	/* longest bulk allocation or list walk, ns */
	u64 migrated_pages;	/* single pages moved by compaction */
	u64 stats_updates;	/* stats buffers sent to the host */
	u64 inject_messages;	/* injected messages completed */
	u64 inject_timeouts;	/* injected messages not completed */
	u64 shrink_calls;	/* shrinker scan calls */
	u64 shrink_pages;	/* pages deflated by the shrinker */
	u64 shrink_ns;		/* time in scan calls, ns */
	u64 shrink_max_ns;	/* longest scan call, ns */
	u64 shrink_refused[VB_NR_REFUSALS];	/* calls refused, by reason */
	u64 shrink_urgent;	/* deflates let through the hold-off */
	u64 goal_lowered;	/* times a deflate under pressure lowered the goal */
	u64 thrash_events;	/* periods over the limit, balloon not empty */
	u64 thrash_pages;	/* pages deflated in them */
	u64 report_requests;	/* free page reports the host returned */
	u64 report_pages;	/* pages in them (4 KiB) */
	u64 report_errors;	/* reports not posted or never returned */
	u64 report_slow;	/* VB_REPORT_WARN_PERIODs spent waiting */
	u64 report_ns;		/* time in reports, posting to return, ns */
	u64 hint_requests;	/* hint requests answered (STOP sent) */
	u64 hint_blocks;	/* blocks hinted */
	u64 hint_pages;		/* pages hinted (4 KiB) */
	u64 hint_ns;		/* last request, id read to STOP sent, ns */
	u64 hint_freed_pages;	/* held pages freed on DONE or reset */
	u64 hint_shrunk_pages;	/* held pages freed under pressure */
	u64 fp_renotified;	/* free page queue notified again (VB_FP_NUDGE) */
	u64 bitmap_requests;	/* free page bitmap requests begun */
	u64 bitmap_aborted;	/* of which ended early or not sent */
	u64 bitmap_build_ns;	/* last walk of the free lists, ns */
	u64 bitmap_build_max_ns;	/* longest walk, ns */
	u64 bitmap_send_ns;	/* last send, id to every buffer back, ns */
	u64 bitmap_pages;	/* frames marked free in the last bitmap */
	u64 bitmap_pages_total;	/* ... in every bitmap since the reset */
	u64 bitmap_bytes;	/* bytes of records in the last bitmap */
	u64 bitmap_chunks;	/* zone-lock holds of the last scan */
	u64 bitmap_lock_max_ns;	/* longest hold of a zone lock, ns */
};

/* One inflate or deflate batch, as accounted into vb_counters. */
struct vb_batch_cost {
	unsigned long pages;	/* pages moved */
	u64 blocks[VB_NR_ORDERS];	/* blocks moved, by order */
	u64 alloc_fail[VB_NR_ORDERS];	/* failed allocations, by order */
	u64 splits;		/* blocks split */
	u64 split_blocks;	/* pageblocks cut into single pages (inflate) */
	u64 split_fail;		/* no free pageblock to cut (inflate) */
	u64 alloc_ns;		/* allocating, ns (inflate) */
	u64 commit_ns;		/* filing into the balloon, ns (inflate) */
	u64 free_ns;		/* freeing, ns (deflate) */
	u64 total_ns;		/* the whole batch, ns */
	struct vb_xfer x;	/* transfer cost */
};

struct vballoon;
struct vb_tx;

/* A transfer mode: how blocks become requests on a virtqueue. */
struct vb_mode_ops {
	const char *name;	/* value of the mode= parameter */
	int feature;		/* feature bit, -1 for legacy */
	bool ascending;		/* runs read in PFN order via the queue's map */
	/* Encode the runs of t's batch, send them, wait; 0 or -errno. */
	int (*send)(struct vb_tx *t);
};

extern const struct vb_mode_ops vb_modes[VB_NR_MODES];

/*
 * The inflate or the deflate queue and what a transfer on it needs; all
 * of it belongs to whoever holds lock.
 */
struct vb_queue {
	struct virtqueue *vq;		/* the virtqueue, NULL: no device */
	struct mutex lock;		/* serialises requests on vq */
	unsigned int stale;		/* requests left in the ring */
	void *buf[VB_NR_BUFS];		/* request buffers (not SG) */
	unsigned int nr_bufs;		/* buffers, at most the ring size */
	struct scatterlist *sg;		/* SG mode chain, sg_max long */
	unsigned int sg_max;		/* descriptors per SG chain */
	unsigned long *map;		/* scratch bitmap, VB_MAP_BITS */
};

/* Per-device state. */
struct vballoon {
	struct virtio_device *vdev;	/* our device */
	struct vb_queue iq;		/* inflate queue */
	struct vb_queue dq;		/* deflate queue */
	struct virtqueue *svq;		/* stats queue, or NULL */
	struct virtqueue *rvq;		/* free page reporting queue, or NULL */
	struct page_reporting_dev_info prdev;	/* registered: reporting */
	bool reporting;			/* prdev is registered */
	bool rvq_reset;			/* device reset: no report is acted on */
	enum vb_mode mode;		/* negotiated transfer mode */
	const struct vb_mode_ops *ops;	/* vb_modes[mode] */
	unsigned int max_order;		/* largest block order */
	unsigned int min_block_order;	/* smaller: single pages */
	bool whole_movable;		/* pageblock-sized blocks: movable */
	bool split_blocks;		/* single pages from split pageblocks */
	bool tell_host_first;		/* MUST_TELL_HOST negotiated */
	bool deflate_on_oom;		/* DEFLATE_ON_OOM negotiated */

	/* The balloon: the lists, counts and num_pages below. */
	struct mutex lock;
	u64 lock_t0;			/* when lock was taken, ns */
	wait_queue_head_t acked;	/* woken when the host returns */
	bool abort;			/* waits for the host end now */
	atomic_t oom_waiting;		/* the OOM notifier waits for dq.lock */
	struct delayed_work update_work; /* moves towards the target */
	struct work_struct stats_work;	/* answers a stats request */
	spinlock_t stop_lock;		/* protects stop */
	bool stop;			/* no more work may be queued */

	unsigned long num_pages;	/* pages in the balloon (4 KiB) */
	unsigned long nr_singles;	/* of which single pages */
	unsigned long nr_blocks[VB_NR_ORDERS];	/* blocks held */
	struct list_head blocks[VB_NR_ORDERS];	/* via head page->lru */
	struct balloon_dev_info bdi;	/* single pages, movable */

	/* The inflate worker's own: filled before any lock is taken. */
	struct vb_ent *ibatch;		/* VB_BATCH_MAX entries */
	unsigned int ilimbo;		/* ibatch entries the host still has */
	struct page **bulk;		/* VB_CHUNK bulk allocator slots */
	/* Under dq.lock. */
	struct vb_ent *dbatch;		/* VB_BATCH_MAX entries */
	/* Under iq.lock: a page compaction gave the host, not yet returned. */
	struct page *mig_limbo;
	unsigned int batch_cap;		/* entries usable per batch */
	unsigned long batch_pages;	/* pages per batch */

	/* Upstream statistics; the host reads them while posted on svq. */
	struct virtio_balloon_stat stats[VIRTIO_BALLOON_S_NR];

	spinlock_t stats_lock;		/* protects ctr */
	struct vb_counters ctr;		/* debugfs counters */

	struct notifier_block oom_nb;	/* OOM notifier (DEFLATE_ON_OOM) */
	bool oom_registered;		/* oom_nb is registered */

	/* AUTO_BALLOON (auto.c); goal_lock is taken in interrupt context. */
	bool auto_balloon;		/* AUTO_BALLOON negotiated */
	spinlock_t goal_lock;		/* protects goal and the generations */
	unsigned long goal;		/* pages the worker moves towards */
	unsigned long target_gen;	/* new targets notified (count) */
	unsigned long goal_gen;		/* target_gen last applied to goal */
	unsigned long lowered_gen;	/* target_gen at the last lowering */
	unsigned long last_inflate;	/* jiffies of the last inflate progress */
	bool inflated_once;		/* last_inflate is set */
	atomic_t holdoff_refusals;	/* hold-off refusals since the target */
	atomic_long_t kswapd_skips;	/* counts kswapd asked for, answered 0 */
	struct task_struct *inflater;	/* the worker while it allocates */
	struct shrinker shrinker;	/* deflate under guest pressure */
	bool shrinker_registered;	/* shrinker is registered */
	struct delayed_work thrash_work; /* deflates while the guest thrashes */
	unsigned long thrash_seen;	/* workingset refaults last seen */
	unsigned long thrash_at;	/* jiffies they were read */

	/* Free page hinting and bitmap (freepage.c); the queue under fp_lock. */
	struct virtqueue *fvq;		/* free page queue, or NULL */
	bool hint;			/* answer ids with hints (bit 3) */
	bool fbitmap;			/* answer ids with bitmaps (bit 20) */
	struct work_struct fp_work;	/* answers the host's command id */
	struct mutex fp_lock;		/* fvq, the buffers below, fp_cmd */
	unsigned long fp_flags;		/* VB_FP_* bits (atomic) */
	u32 fp_cmd;			/* id last read from the config */
	u32 fp_active;			/* id last answered */
	__le32 fp_id_buf;		/* the id buffer the host reads */
	__le32 fp_stop_buf;		/* the STOP buffer the host reads */
	unsigned int fp_inflight;	/* our buffers the host still has */
	void *fp_inject_tok;		/* injected buffer not back yet */
	bool fp_inject_owned;		/* vb frees it when it comes back */
	struct workqueue_struct *fp_wq;	/* runs fp_work (long, freezable) */
	spinlock_t fp_list_lock;	/* protects the two lists, counts */
	struct list_head fp_posted;	/* hint blocks the host may hold */
	struct list_head fp_returned;	/* hint blocks back from the host */
	unsigned long fp_nr_posted;	/* pages in fp_posted (4 KiB) */
	unsigned long fp_nr_returned;	/* pages in fp_returned (4 KiB) */
	struct shrinker fp_shrinker;	/* gives held blocks back */
	bool fp_shrinker_registered;	/* fp_shrinker is registered */
	void **fp_rec;			/* bitmap records, one per GiB */
	unsigned long fp_nr_rec;	/* how many */

	struct dentry *debugfs;		/* our debugfs directory */
	void *inject_stale;		/* token of a timed-out injection */
	void *inject_stale_buf;		/* its buffer, freed on return */
	/* an inject's own buffer (device-writable or crafted), vb's lifetime */
	u8 inject_wbuf[64] ____cacheline_aligned;
};

/* Module parameters (core.c, auto.c). */
extern bool vb_allow_inject;
extern bool vb_auto;

/* core.c */
void vb_account(struct vballoon *vb, bool inflate,
		const struct vb_batch_cost *c);
u32 vb_target(struct vballoon *vb);
void vb_report_actual(struct vballoon *vb);
unsigned long vb_deflate_until(struct vballoon *vb, unsigned long want,
			       unsigned long deadline, unsigned long round_wait,
			       bool told_only);
void vb_queue_work(struct vballoon *vb, struct workqueue_struct *wq,
		   struct work_struct *work);
void vb_queue_dwork(struct vballoon *vb, struct delayed_work *dwork,
		    unsigned long delay);
unsigned long vb_deflate(struct vballoon *vb, unsigned long want,
			 unsigned long timeout);

/* pages.c */
void vb_note_max(struct vballoon *vb, u64 *max, u64 ns);
void vb_lock(struct vballoon *vb);
void vb_unlock(struct vballoon *vb);
unsigned int vb_sort_out(struct vb_ent *ent, unsigned int nr,
			 enum vb_fate fate);
void vb_pages_init(struct vballoon *vb);
unsigned int vb_alloc_batch(struct vballoon *vb, unsigned long want,
			    struct vb_batch_cost *c);
void vb_free_fresh(const struct vb_ent *ent, unsigned int nr);
void vb_insert_range(struct vballoon *vb, struct page *page, unsigned long n);
void vb_commit(struct vballoon *vb, const struct vb_ent *ent, unsigned int nr,
	       struct vb_batch_cost *c);
unsigned int vb_pick_batch(struct vballoon *vb, unsigned long want,
			   struct vb_batch_cost *c);
void vb_put_back(struct vballoon *vb, const struct vb_ent *ent,
		 unsigned int nr);
void vb_release(struct vballoon *vb, const struct vb_ent *ent, unsigned int nr,
		struct vb_batch_cost *c);
unsigned long vb_leak(struct vballoon *vb, const struct vb_ent *ent,
		      unsigned int nr);
void vb_count_leak(struct vballoon *vb, unsigned long pages);

/* xfer.c */
int vb_xfer_init(struct vballoon *vb);
void vb_xfer_exit(struct vballoon *vb);
int vb_queue_ready(struct vballoon *vb, struct vb_queue *q);
bool vb_queue_wait_idle(struct vballoon *vb, struct vb_queue *q,
			unsigned long timeout);
void vb_queue_detach(struct vballoon *vb, struct vb_queue *q);
int vb_send(struct vballoon *vb, struct vb_queue *q, const struct vb_ent *ent,
	    unsigned int nr, unsigned long timeout, struct vb_xfer *x,
	    struct vb_sent *s);
void vb_sent_fates(const struct vb_sent *s, struct vb_ent *ent,
		   unsigned int nr);
int vb_send_raw_buf(struct vballoon *vb, void *buf, size_t len, bool wdesc,
		    unsigned long timeout);
int vb_send_raw_sg(struct vballoon *vb, struct scatterlist *sg,
		   unsigned int nents, bool wdesc, unsigned long timeout);
int vb_send_zero_indirect(struct vballoon *vb, unsigned long timeout);
/* vb_send_raw() flags */
#define VB_RAW_WDESC		BIT(0)	/* a device-writable descriptor follows */
#define VB_RAW_ZERO_INDIRECT	BIT(1)	/* its indirect descriptor gets len 0 */
void vb_ack(struct virtqueue *vq);

/* reporting.c; without CONFIG_PAGE_REPORTING the bit is never acked */
#ifdef CONFIG_PAGE_REPORTING
extern bool vb_reporting_param;
void vb_reporting_done(struct virtqueue *vq);
void vb_reporting_start(struct vballoon *vb);
void vb_reporting_stop(struct vballoon *vb);
#else
#define vb_reporting_param false
#define vb_reporting_done NULL
static inline void vb_reporting_start(struct vballoon *vb) { }
static inline void vb_reporting_stop(struct vballoon *vb) { }
#endif

/* freepage.c */
extern bool vb_hint_param;
extern bool vb_fbitmap_param;
int vb_fp_init(struct vballoon *vb);
void vb_fp_start(struct vballoon *vb);
void vb_fp_config_changed(struct vballoon *vb);
void vb_fp_returned(struct virtqueue *vq);
unsigned long vb_hint_release(struct vballoon *vb, unsigned long want);
int vb_fp_inject(struct vballoon *vb, void *tok, struct scatterlist *sg,
		 unsigned int nents, bool writable, unsigned long timeout,
		 bool *kept);
void vb_fp_detach(struct vballoon *vb);
void vb_fp_stop(struct vballoon *vb);
void vb_fp_exit(struct vballoon *vb);

/* statsvq.c */
int vb_statsvq_start(struct vballoon *vb);
void vb_statsvq_request(struct virtqueue *vq);
void vb_statsvq_work(struct work_struct *work);

/* auto.c */
int vb_auto_parse_params(void);
const char *vb_auto_policy_name(void);
void vb_auto_new_target(struct vballoon *vb);
unsigned long vb_goal(struct vballoon *vb);
void vb_auto_lower_goal(struct vballoon *vb);
void vb_thrash_work(struct work_struct *work);
void vb_thrash_start(struct vballoon *vb);
int vb_auto_start(struct vballoon *vb);
void vb_auto_stop(struct vballoon *vb);

/* debugfs.c */
void vb_debugfs_init(struct vballoon *vb);
void vb_debugfs_exit(struct vballoon *vb);

#endif /* VBALLOON_H */
