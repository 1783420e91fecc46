// SPDX-License-Identifier: GPL-2.0
/*
 * xfer.c - turning batches of blocks into requests, per transfer mode.
 *
 * A batch is an array of blocks (struct vb_ent).  A cursor walks it as runs
 * of physically contiguous frames; each mode packs runs into its message
 * format (include/vballoon_proto.h, docs/protocol.md), posts the requests,
 * notifies the host once and waits until the host has returned every one.
 * The caller holds vb->lock.
 */
#include <linux/bitmap.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "vballoon.h"

/* Longest run one SG descriptor may carry, frames. */
#define VB_SG_RUN_MAX	(VBALLOON_SG_MAX_LEN >> VBALLOON_PFN_SHIFT)

/*
 * A bitmap record grows over a gap of empty frames as long as the wasted
 * bitmap words cost no more than a new 16-byte header would.
 */
#define VB_BITMAP_GAP_MAX	(2 * 64)

/*
 * The longest run a bitmap record takes in one go: a record starts at the
 * run's frame rounded down to 64, so leave room for that rounding.
 */
#define VB_BITMAP_RUN_MAX	(VBALLOON_BITMAP_MAX_PAGES - \
				 (VBALLOON_BITMAP_ALIGN_PAGES - 1))

/* Position in a batch: entry index and frames of that entry consumed. */
struct vb_cur {
	const struct vb_ent *ent;	/* the batch */
	unsigned int nr;		/* entries in the batch */
	unsigned int idx;		/* current entry */
	unsigned long off;		/* frames of ent[idx] already taken */
};

/* Fill one request buffer from the cursor; returns its length in bytes. */
typedef size_t (*vb_fill_fn)(struct vb_cur *c, void *buf);

static bool vb_cur_done(const struct vb_cur *c)
{
	return c->idx >= c->nr;
}

/*
 * Take the next run of contiguous frames, at most max of them, merging
 * adjacent entries.  Returns the number of frames (0 at the end).
 */
static unsigned long vb_cur_run(struct vb_cur *c, unsigned long max,
				unsigned long *pfn)
{
	unsigned long start = 0, len = 0;

	while (c->idx < c->nr && len < max) {
		const struct vb_ent *e = &c->ent[c->idx];
		unsigned long size = 1UL << e->order;
		unsigned long p = e->pfn + c->off;
		unsigned long take;

		if (len && p != start + len)
			break;
		if (!len)
			start = p;
		take = min(size - c->off, max - len);
		len += take;
		c->off += take;
		if (c->off == size) {
			c->idx++;
			c->off = 0;
		}
	}
	*pfn = start;
	return len;
}

/* Legacy: up to VBALLOON_LEGACY_MAX_PFNS __le32 frame numbers. */
static size_t vb_legacy_fill(struct vb_cur *c, void *buf)
{
	__le32 *pfns = buf;
	unsigned int n = 0;
	unsigned long pfn, len, i;

	while (n < VBALLOON_LEGACY_MAX_PFNS) {
		len = vb_cur_run(c, VBALLOON_LEGACY_MAX_PFNS - n, &pfn);
		if (!len)
			break;
		/* Frames above 2^32 cannot be named; guests here are small. */
		for (i = 0; i < len; i++)
			pfns[n++] = cpu_to_le32(pfn + i);
	}
	return n * sizeof(*pfns);
}

static size_t vb_bitmap_words(unsigned long frames)
{
	return DIV_ROUND_UP(frames, BITS_PER_LONG);
}

/*
 * PAGE_BITMAP: records (header + bitmap) back to back, at most
 * VBALLOON_BITMAP_MAX_REQ_BYTES.  Runs arrive in ascending order (the batch
 * is sorted); a run extends the open record unless the gap is too wide, the
 * record would exceed VBALLOON_BITMAP_MAX_PAGES or the buffer is full.
 */
static size_t vb_bitmap_fill(struct vb_cur *c, void *buf)
{
	const size_t cap = VBALLOON_BITMAP_MAX_REQ_BYTES;
	struct vballoon_bitmap_hdr *hdr = NULL;
	unsigned long *words = NULL;
	unsigned long base = 0, end = 0, nwords = 0;
	size_t pos = 0;

	while (!vb_cur_done(c)) {
		struct vb_cur save = *c;
		unsigned long pfn, len, need;

		len = vb_cur_run(c, VB_BITMAP_RUN_MAX, &pfn);
		if (hdr && (pfn < end || pfn - end > VB_BITMAP_GAP_MAX ||
			    pfn + len - base > VBALLOON_BITMAP_MAX_PAGES ||
			    pos + sizeof(*hdr) +
			    vb_bitmap_words(pfn + len - base) * 8 > cap)) {
			pos += sizeof(*hdr) + nwords * 8;
			hdr = NULL;
		}
		if (!hdr) {
			base = ALIGN_DOWN(pfn, VBALLOON_BITMAP_ALIGN_PAGES);
			if (pos + sizeof(*hdr) +
			    vb_bitmap_words(pfn + len - base) * 8 > cap) {
				*c = save;
				break;
			}
			hdr = buf + pos;
			words = (unsigned long *)(hdr + 1);
			nwords = 0;
			hdr->base_pfn = cpu_to_le64(base);
			hdr->reserved = 0;
		}
		need = vb_bitmap_words(pfn + len - base);
		if (need > nwords) {
			memset(words + nwords, 0, (need - nwords) * 8);
			nwords = need;
		}
		bitmap_set(words, pfn - base, len);
		end = pfn + len;
		hdr->nr_pages = cpu_to_le32(end - base);
	}
	if (hdr)
		pos += sizeof(*hdr) + nwords * 8;
	return pos;
}

/* CHUNK_TRANSFER: up to VBALLOON_CHUNK_MAX_PER_REQ (addr, len) pairs. */
static size_t vb_chunk_fill(struct vb_cur *c, void *buf)
{
	struct vballoon_chunk *ch = buf;
	unsigned int n = 0;
	unsigned long pfn, len;

	while (n < VBALLOON_CHUNK_MAX_PER_REQ) {
		len = vb_cur_run(c, ULONG_MAX, &pfn);
		if (!len)
			break;
		ch[n].addr = cpu_to_le64((u64)pfn << VBALLOON_PFN_SHIFT);
		ch[n].len = cpu_to_le64((u64)len << VBALLOON_PFN_SHIFT);
		n++;
	}
	return n * sizeof(*ch);
}

/* A timed-out injection came back at last: free what it held. */
static bool vb_drop_stale(struct vballoon *vb, void *tok)
{
	if (!vb->inject_stale || tok != vb->inject_stale)
		return false;
	kfree(vb->inject_stale_buf);
	vb->inject_stale = NULL;
	vb->inject_stale_buf = NULL;
	return true;
}

/* Collect returned requests; true once none is left (or vq is dead). */
static bool vb_reap(struct vballoon *vb, struct virtqueue *vq,
		    unsigned int *left)
{
	unsigned int len;
	void *tok;

	while ((tok = virtqueue_get_buf(vq, &len))) {
		if (vb_drop_stale(vb, tok))
			continue;
		if (!WARN_ON_ONCE(!*left))
			(*left)--;
	}
	return !*left || virtqueue_is_broken(vq);
}

void vb_ack(struct virtqueue *vq)
{
	struct vballoon *vb = vq->vdev->priv;

	wake_up(&vb->acked);
}

static void vb_kick_wait(struct vballoon *vb, struct virtqueue *vq,
			 unsigned int queued, struct vb_xfer *x)
{
	virtqueue_kick(vq);
	x->kicks++;
	x->requests += queued;
	wait_event(vb->acked, vb_reap(vb, vq, &queued));
}

/* Legacy, bitmap, chunk: each request is one buffer, one descriptor. */
static int vb_send_bufs(struct vballoon *vb, struct virtqueue *vq,
			struct vb_cur *c, vb_fill_fn fill, unsigned int nbufs,
			struct vb_xfer *x)
{
	size_t len[VB_NR_BUFS];
	struct scatterlist sg;
	unsigned int n, queued;
	int err = 0;
	u64 t0, t1;

	while (!vb_cur_done(c)) {
		t0 = ktime_get_ns();
		for (n = 0; n < nbufs && !vb_cur_done(c); n++) {
			len[n] = fill(c, vb->buf[n]);
			if (WARN_ON_ONCE(!len[n]))
				return -EINVAL;
		}
		t1 = ktime_get_ns();
		x->build_ns += t1 - t0;

		for (queued = 0; queued < n; queued++) {
			sg_init_one(&sg, vb->buf[queued], len[queued]);
			err = virtqueue_add_outbuf(vq, &sg, 1, vb->buf[queued],
						   GFP_NOWAIT | __GFP_NOWARN);
			if (err)
				break;
		}
		if (queued)
			vb_kick_wait(vb, vq, queued, x);
		x->wait_ns += ktime_get_ns() - t1;
		if (err)
			return err;
	}
	return 0;
}

static int vb_legacy_send(struct vballoon *vb, struct virtqueue *vq,
			  const struct vb_ent *ent, unsigned int nr,
			  struct vb_xfer *x)
{
	struct vb_cur c = { .ent = ent, .nr = nr };

	/* One request per notification, as the upstream driver does. */
	return vb_send_bufs(vb, vq, &c, vb_legacy_fill, 1, x);
}

static int vb_bitmap_send(struct vballoon *vb, struct virtqueue *vq,
			  const struct vb_ent *ent, unsigned int nr,
			  struct vb_xfer *x)
{
	struct vb_cur c = { .ent = ent, .nr = nr };

	return vb_send_bufs(vb, vq, &c, vb_bitmap_fill, vb->nr_bufs, x);
}

static int vb_chunk_send(struct vballoon *vb, struct virtqueue *vq,
			 const struct vb_ent *ent, unsigned int nr,
			 struct vb_xfer *x)
{
	struct vb_cur c = { .ent = ent, .nr = nr };

	return vb_send_bufs(vb, vq, &c, vb_chunk_fill, vb->nr_bufs, x);
}

/* Build one SG chain from the cursor into vb->sg; returns descriptors. */
static unsigned int vb_sg_fill(struct vballoon *vb, struct vb_cur *c)
{
	unsigned int n = 0;
	unsigned long pfn, len;

	while (n < vb->sg_max) {
		len = vb_cur_run(c, VB_SG_RUN_MAX, &pfn);
		if (!len)
			break;
		sg_unmark_end(&vb->sg[n]);
		/* The descriptor is the ballooned memory itself. */
		sg_set_page(&vb->sg[n], pfn_to_page(pfn), len << PAGE_SHIFT, 0);
		n++;
	}
	if (n)
		sg_mark_end(&vb->sg[n - 1]);
	return n;
}

/*
 * SG: every run is one descriptor of a chain; chains are added until the
 * ring is full (or the batch is done), then the host is notified once.
 */
static int vb_sg_send(struct vballoon *vb, struct virtqueue *vq,
		      const struct vb_ent *ent, unsigned int nr,
		      struct vb_xfer *x)
{
	struct vb_cur c = { .ent = ent, .nr = nr };
	unsigned int n, queued;
	int err;
	u64 t0, t1;

	while (!vb_cur_done(&c)) {
		queued = 0;
		err = 0;
		while (!vb_cur_done(&c)) {
			struct vb_cur save = c;

			t0 = ktime_get_ns();
			n = vb_sg_fill(vb, &c);
			t1 = ktime_get_ns();
			x->build_ns += t1 - t0;
			/* Never sleep here: the OOM notifier may be waiting. */
			err = virtqueue_add_outbuf(vq, vb->sg, n, vb,
						   GFP_NOWAIT | __GFP_NOWARN);
			x->wait_ns += ktime_get_ns() - t1;
			if (err) {
				c = save;
				break;
			}
			queued++;
		}
		if (!queued)
			return err;
		t0 = ktime_get_ns();
		vb_kick_wait(vb, vq, queued, x);
		x->wait_ns += ktime_get_ns() - t0;
		if (err && err != -ENOSPC)
			return err;
	}
	return 0;
}

const struct vb_mode_ops vb_modes[VB_NR_MODES] = {
	[VB_MODE_LEGACY] = {
		.name = "legacy",
		.feature = -1,
		.sort = false,
		.send = vb_legacy_send,
	},
	[VB_MODE_BITMAP] = {
		.name = "bitmap",
		.feature = VBALLOON_F_PAGE_BITMAP,
		.sort = true,
		.send = vb_bitmap_send,
	},
	[VB_MODE_CHUNK] = {
		.name = "chunk",
		.feature = VBALLOON_F_CHUNK_TRANSFER,
		.sort = true,
		.send = vb_chunk_send,
	},
	[VB_MODE_SG] = {
		.name = "sg",
		.feature = VBALLOON_F_SG,
		.sort = true,
		.send = vb_sg_send,
	},
};

int vb_send(struct vballoon *vb, struct virtqueue *vq,
	    const struct vb_ent *ent, unsigned int nr, struct vb_xfer *x)
{
	if (!nr)
		return 0;
	return vb->ops->send(vb, vq, ent, nr, x);
}

/* Collect returned requests until tok is back (or the vq is dead). */
static bool vb_reap_token(struct vballoon *vb, void *tok, bool *back)
{
	unsigned int len;
	void *t;

	while ((t = virtqueue_get_buf(vb->ivq, &len))) {
		if (t == tok)
			*back = true;
		else
			vb_drop_stale(vb, t);
	}
	return *back || virtqueue_is_broken(vb->ivq);
}

/*
 * Post one crafted request on the inflate queue and wait up to timeout
 * jiffies.  On -ETIMEDOUT the request stays in the ring: buf (may be NULL)
 * is then owned by vb and freed when the host returns it or at removal.
 */
static int vb_send_raw(struct vballoon *vb, struct scatterlist *sg,
		       unsigned int nents, void *tok, void *buf,
		       unsigned long timeout)
{
	bool back = false;
	int err;

	if (vb->inject_stale)
		return -EBUSY;
	/* NORETRY: no OOM kill (whose notifier takes vb->lock) from here. */
	err = virtqueue_add_outbuf(vb->ivq, sg, nents, tok,
				   GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN);
	if (err)
		return err;
	virtqueue_kick(vb->ivq);
	if (!wait_event_timeout(vb->acked, vb_reap_token(vb, tok, &back),
				timeout)) {
		vb->inject_stale = tok;
		vb->inject_stale_buf = buf;
		return -ETIMEDOUT;
	}
	return back ? 0 : -EIO;
}

int vb_send_raw_buf(struct vballoon *vb, void *buf, size_t len,
		    unsigned long timeout)
{
	struct scatterlist sg;

	sg_init_one(&sg, buf, len);
	return vb_send_raw(vb, &sg, 1, buf, buf, timeout);
}

int vb_send_raw_sg(struct vballoon *vb, struct scatterlist *sg,
		   unsigned int nents, unsigned long timeout)
{
	/* Any unique non-NULL token will do; the field's address is one. */
	return vb_send_raw(vb, sg, nents, &vb->inject_stale, NULL, timeout);
}

/* Free what a timed-out injection left once the device has been reset. */
void vb_xfer_drain(struct vballoon *vb)
{
	struct virtqueue *vq[] = { vb->ivq, vb->dvq };
	unsigned int i;
	void *tok;

	for (i = 0; i < ARRAY_SIZE(vq); i++)
		while ((tok = virtqueue_detach_unused_buf(vq[i])))
			vb_drop_stale(vb, tok);
}

static unsigned int vb_sg_chain_max(struct vballoon *vb)
{
	unsigned int n = VB_SG_CHAIN_MAX;

	/* A chain may not be longer than the queue it goes on. */
	n = min(n, virtqueue_get_vring_size(vb->ivq));
	n = min(n, virtqueue_get_vring_size(vb->dvq));
	return n;
}

/* Allocate the batch and the request buffers the mode needs. */
int vb_xfer_init(struct vballoon *vb)
{
	unsigned int want;

	vb->batch = kvcalloc(VB_BATCH_MAX, sizeof(*vb->batch), GFP_KERNEL);
	if (!vb->batch)
		return -ENOMEM;
	vb->batch_cap = VB_BATCH_MAX;
	vb->batch_pages = 0;

	switch (vb->mode) {
	case VB_MODE_LEGACY:
		vb->buf[0] = kmalloc(VBALLOON_LEGACY_MAX_PFNS * sizeof(__le32),
				     GFP_KERNEL);
		if (!vb->buf[0])
			goto err;
		vb->nr_bufs = 1;
		/* A batch is one request, or one whole block if larger. */
		vb->batch_pages = max_t(unsigned long, VBALLOON_LEGACY_MAX_PFNS,
					1UL << vb->max_order);
		break;
	case VB_MODE_BITMAP:
	case VB_MODE_CHUNK:
		BUILD_BUG_ON(VBALLOON_CHUNK_MAX_PER_REQ *
			     sizeof(struct vballoon_chunk) > VB_BUF_BYTES);
		BUILD_BUG_ON(VBALLOON_BITMAP_MAX_REQ_BYTES > VB_BUF_BYTES);
		want = min_t(unsigned int, VB_NR_BUFS,
			     virtqueue_get_vring_size(vb->ivq));
		for (vb->nr_bufs = 0; vb->nr_bufs < want; vb->nr_bufs++) {
			vb->buf[vb->nr_bufs] = kmalloc(VB_BUF_BYTES,
						       GFP_KERNEL |
						       __GFP_NOWARN);
			if (!vb->buf[vb->nr_bufs])
				break;
		}
		if (!vb->nr_bufs)
			goto err;
		break;
	case VB_MODE_SG:
		vb->sg_max = vb_sg_chain_max(vb);
		vb->sg = kvcalloc(vb->sg_max, sizeof(*vb->sg), GFP_KERNEL);
		if (!vb->sg)
			goto err;
		sg_init_table(vb->sg, vb->sg_max);
		break;
	default:
		WARN_ON_ONCE(1);
		goto err;
	}
	return 0;
err:
	vb_xfer_exit(vb);
	return -ENOMEM;
}

void vb_xfer_exit(struct vballoon *vb)
{
	unsigned int i;

	for (i = 0; i < VB_NR_BUFS; i++) {
		kfree(vb->buf[i]);
		vb->buf[i] = NULL;
	}
	vb->nr_bufs = 0;
	kvfree(vb->sg);
	vb->sg = NULL;
	kvfree(vb->batch);
	vb->batch = NULL;
}
