/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vballoon.h - internal interfaces of the balloonbench virtio-balloon driver.
 *
 * core.c     probe/remove, inflate and deflate policy, OOM, migration
 * xfer.c     the four transfer modes: encoding requests and waiting
 * statsvq.c  the upstream memory statistics virtqueue
 * debugfs.c  stats/reset/inject files under /sys/kernel/debug/vballoon
 */
#ifndef VBALLOON_H
#define VBALLOON_H

#include <linux/balloon_compaction.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/scatterlist.h>
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

/* One block of 2^order physically contiguous 4 KiB frames. */
struct vb_ent {
	unsigned long pfn;	/* first frame */
	u8 order;		/* the block covers 2^order frames */
	u8 kind;		/* enum vb_ent_kind */
};

/* What one transfer (a batch, a migration step, an injection) cost. */
struct vb_xfer {
	u64 requests;	/* requests the host completed */
	u64 kicks;	/* notifications sent to the host */
	u64 build_ns;	/* encoding requests, ns */
	u64 wait_ns;	/* first add to last completion, ns */
};

/*
 * Counters shown in debugfs stats; protected by vballoon.stats_lock.
 * Arrays are indexed by block order.
 */
struct vb_counters {
	u64 inflate_pages;	/* pages given to the host */
	u64 inflate_blocks[VB_NR_ORDERS];	/* blocks given */
	u64 inflate_alloc_fail[VB_NR_ORDERS];	/* failed allocations */
	u64 inflate_batches;	/* inflate batches completed */
	u64 inflate_requests;	/* inflate requests completed */
	u64 inflate_kicks;	/* inflate queue notifications */
	u64 inflate_alloc_ns;	/* allocating pages, ns */
	u64 inflate_build_ns;	/* encoding inflate requests, ns */
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
	u64 xfer_errors;	/* transfers the ring refused */
	u64 oom_events;		/* OOM notifier calls */
	u64 oom_pages;		/* pages freed by the OOM notifier */
	u64 migrated_pages;	/* single pages moved by compaction */
	u64 stats_updates;	/* stats buffers sent to the host */
	u64 inject_messages;	/* injected messages completed */
	u64 inject_timeouts;	/* injected messages not completed */
};

/* One inflate or deflate batch, as accounted into vb_counters. */
struct vb_batch_cost {
	unsigned long pages;	/* pages moved */
	u64 blocks[VB_NR_ORDERS];	/* blocks moved, by order */
	u64 alloc_fail[VB_NR_ORDERS];	/* failed allocations, by order */
	u64 splits;		/* blocks split */
	u64 alloc_ns;		/* allocating, ns (inflate) */
	u64 free_ns;		/* freeing, ns (deflate) */
	u64 total_ns;		/* the whole batch, ns */
	struct vb_xfer x;	/* transfer cost */
};

struct vballoon;
struct vb_cur;

/* A transfer mode: how blocks become requests on a virtqueue. */
struct vb_mode_ops {
	const char *name;	/* value of the mode= parameter */
	int feature;		/* feature bit, -1 for legacy */
	bool ascending;		/* runs read in PFN order via vb->map */
	/* Encode the runs of c, send them on vq, wait; 0 or -errno. */
	int (*send)(struct vballoon *vb, struct virtqueue *vq,
		    struct vb_cur *c, struct vb_xfer *x);
};

extern const struct vb_mode_ops vb_modes[VB_NR_MODES];

/* Per-device state. */
struct vballoon {
	struct virtio_device *vdev;	/* our device */
	struct virtqueue *ivq;		/* inflate queue */
	struct virtqueue *dvq;		/* deflate queue */
	struct virtqueue *svq;		/* stats queue, or NULL */
	enum vb_mode mode;		/* negotiated transfer mode */
	const struct vb_mode_ops *ops;	/* vb_modes[mode] */
	unsigned int max_order;		/* largest block order */
	bool tell_host_first;		/* MUST_TELL_HOST negotiated */
	bool deflate_on_oom;		/* DEFLATE_ON_OOM negotiated */

	/* Serialises all use of ivq, dvq, the batch and the lists below. */
	struct mutex lock;
	wait_queue_head_t acked;	/* woken when the host returns */
	struct delayed_work update_work; /* moves towards the target */
	struct work_struct stats_work;	/* answers a stats request */
	spinlock_t stop_lock;		/* protects stop */
	bool stop;			/* no more work may be queued */

	unsigned long num_pages;	/* pages in the balloon (4 KiB) */
	unsigned long nr_singles;	/* of which single pages */
	unsigned long nr_blocks[VB_NR_ORDERS];	/* blocks held */
	struct list_head blocks[VB_NR_ORDERS];	/* via head page->lru */
	struct balloon_dev_info bdi;	/* single pages, movable */

	struct vb_ent *batch;		/* VB_BATCH_MAX entries */
	unsigned int batch_cap;		/* entries usable per batch */
	unsigned long batch_pages;	/* pages per batch, 0: no limit */
	void *buf[VB_NR_BUFS];		/* request buffers (not SG) */
	unsigned int nr_bufs;		/* buffers allocated */
	struct scatterlist *sg;		/* SG mode chain, sg_max long */
	unsigned int sg_max;		/* descriptors per SG chain */
	unsigned long *map;		/* scratch bitmap, VB_MAP_BITS */

	/* Upstream statistics; the host reads them while posted on svq. */
	struct virtio_balloon_stat stats[VIRTIO_BALLOON_S_NR];

	spinlock_t stats_lock;		/* protects ctr */
	struct vb_counters ctr;		/* debugfs counters */

	struct notifier_block oom_nb;	/* OOM notifier (DEFLATE_ON_OOM) */
	bool oom_registered;		/* oom_nb is registered */

	struct dentry *debugfs;		/* our debugfs directory */
	void *inject_stale;		/* token of a timed-out injection */
	void *inject_stale_buf;		/* its buffer, freed on return */
};

/* Module parameters (core.c). */
extern bool vb_allow_inject;

/* core.c */
void vb_account(struct vballoon *vb, bool inflate,
		const struct vb_batch_cost *c);
u32 vb_target(struct vballoon *vb);

/* xfer.c */
int vb_xfer_init(struct vballoon *vb);
void vb_xfer_exit(struct vballoon *vb);
void vb_xfer_drain(struct vballoon *vb);
int vb_send(struct vballoon *vb, struct virtqueue *vq,
	    const struct vb_ent *ent, unsigned int nr, struct vb_xfer *x);
int vb_send_raw_buf(struct vballoon *vb, void *buf, size_t len,
		    unsigned long timeout);
int vb_send_raw_sg(struct vballoon *vb, struct scatterlist *sg,
		   unsigned int nents, unsigned long timeout);
void vb_ack(struct virtqueue *vq);

/* statsvq.c */
int vb_statsvq_start(struct vballoon *vb);
void vb_statsvq_request(struct virtqueue *vq);
void vb_statsvq_work(struct work_struct *work);

/* debugfs.c */
void vb_debugfs_init(struct vballoon *vb);
void vb_debugfs_exit(struct vballoon *vb);

#endif /* VBALLOON_H */
