// SPDX-License-Identifier: GPL-2.0
/*
 * xfer.c - turning batches of blocks into requests, per transfer mode.
 *
 * A batch is an array of blocks (struct vb_ent) in allocation order.  A
 * cursor reads it as runs of physically contiguous frames: legacy mode
 * walks the array as it is (like the upstream driver), the other modes go
 * through a scratch bitmap of frames, which yields the runs in ascending
 * order with neighbouring blocks merged, at the cost of one pass over the
 * batch instead of a sort.  Each mode packs runs into its message format
 * (include/vballoon_proto.h, docs/protocol.md), posts the requests,
 * notifies the host once and waits until the host has returned every one.
 * The caller holds vb->lock.
 */
#include <linux/bitmap.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vballoon.h"

/* Longest run one SG descriptor may carry, frames. */
#define VB_SG_RUN_MAX	(VBALLOON_SG_MAX_LEN >> VBALLOON_PFN_SHIFT)

/*
 * A bitmap record grows over a gap of empty frames as long as the wasted
 * bitmap words cost no more than a new 16-byte header would.
 */
#define VB_BITMAP_GAP_MAX	(2 * 64)

/* Position in a batch, read as runs of contiguous frames. */
struct vb_cur {
	const struct vb_ent *ent;	/* the batch */
	unsigned int nr;		/* entries in the batch */
	/* Array walk (legacy mode). */
	unsigned int idx;		/* current entry */
	unsigned long off;		/* frames of ent[idx] already taken */
	/* Bitmap walk (other modes): frames [base, base + win) in map. */
	unsigned long *map;		/* scratch map, NULL: array walk */
	unsigned long lo;		/* lowest frame of the batch */
	unsigned long hi;		/* one past its highest frame */
	unsigned long base;		/* first frame of the window */
	unsigned long win;		/* frames in the window, 0: none */
	unsigned long pos;		/* next bit of the window */
};

/* Fill one request buffer from the cursor; returns its length in bytes. */
typedef size_t (*vb_fill_fn)(struct vb_cur *c, void *buf);

static void vb_cur_init(struct vb_cur *c, struct vballoon *vb,
			const struct vb_ent *ent, unsigned int nr)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->ent = ent;
	c->nr = nr;
	if (!vb->map || !nr)
		return;
	c->map = vb->map;
	c->lo = ULONG_MAX;
	for (i = 0; i < nr; i++) {
		c->lo = min(c->lo, ent[i].pfn);
		c->hi = max(c->hi, ent[i].pfn + (1UL << ent[i].order));
	}
	c->base = c->lo;
}

/* Clear what the loaded window left in the scratch map. */
static void vb_cur_unload(struct vb_cur *c)
{
	if (c->win)
		bitmap_zero(c->map, c->win);
	c->base += c->win;
	c->win = 0;
	c->pos = 0;
}

/* Load the frames of the batch in [base, base + VB_MAP_BITS). */
static void vb_cur_load(struct vb_cur *c)
{
	unsigned long s, e, end;
	unsigned int i;

	c->win = min_t(unsigned long, c->hi - c->base, VB_MAP_BITS);
	end = c->base + c->win;
	for (i = 0; i < c->nr; i++) {
		s = c->ent[i].pfn;
		e = s + (1UL << c->ent[i].order);
		if (e <= c->base || s >= end)
			continue;
		s = max(s, c->base);
		e = min(e, end);
		bitmap_set(c->map, s - c->base, e - s);
	}
}

/*
 * The next run, at most max frames, without taking it; 0 at the end.
 * A bitmap walk may load the next window here, which loses nothing.
 */
static unsigned long vb_cur_peek(struct vb_cur *c, unsigned long max,
				 unsigned long *pfn)
{
	unsigned long start = 0, len = 0, bit, end;
	unsigned int idx;
	unsigned long off;

	if (c->map) {
		while (c->base < c->hi) {
			if (!c->win)
				vb_cur_load(c);
			bit = find_next_bit(c->map, c->win, c->pos);
			if (bit < c->win) {
				c->pos = bit;
				end = find_next_zero_bit(c->map, c->win, bit);
				*pfn = c->base + bit;
				return min(end - bit, max);
			}
			vb_cur_unload(c);
		}
		return 0;
	}
	for (idx = c->idx, off = c->off; idx < c->nr && len < max; ) {
		const struct vb_ent *e = &c->ent[idx];
		unsigned long size = 1UL << e->order;
		unsigned long p = e->pfn + off;
		unsigned long take;

		if (len && p != start + len)
			break;
		if (!len)
			start = p;
		take = min(size - off, max - len);
		len += take;
		off += take;
		if (off == size) {
			idx++;
			off = 0;
		}
	}
	*pfn = start;
	return len;
}

/* Take len frames of the run vb_cur_peek() just returned. */
static void vb_cur_take(struct vb_cur *c, unsigned long len)
{
	unsigned long take;

	if (c->map) {
		c->pos += len;
		return;
	}
	while (len) {
		take = min(len, (1UL << c->ent[c->idx].order) - c->off);
		len -= take;
		c->off += take;
		if (c->off == 1UL << c->ent[c->idx].order) {
			c->idx++;
			c->off = 0;
		}
	}
}

/* Take the next run of at most max frames; 0 at the end. */
static unsigned long vb_cur_run(struct vb_cur *c, unsigned long max,
				unsigned long *pfn)
{
	unsigned long len = vb_cur_peek(c, max, pfn);

	vb_cur_take(c, len);
	return len;
}

static bool vb_cur_done(struct vb_cur *c)
{
	unsigned long pfn;

	return !vb_cur_peek(c, 1, &pfn);
}

/* Leave the scratch map clean, whether or not everything was sent. */
static void vb_cur_finish(struct vb_cur *c)
{
	if (c->map)
		vb_cur_unload(c);
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

static size_t vb_bitmap_bytes(unsigned long frames)
{
	return sizeof(struct vballoon_bitmap_hdr) +
	       DIV_ROUND_UP(frames, BITS_PER_LONG) * sizeof(u64);
}

/*
 * PAGE_BITMAP: records (header + bitmap) back to back, at most
 * VBALLOON_BITMAP_MAX_REQ_BYTES.  Runs arrive in ascending order; a run
 * extends the open record unless the gap is too wide, the record would
 * cover more than VBALLOON_BITMAP_MAX_PAGES or the buffer is full, in which
 * case as much of the run as fits goes into a new record or request.
 */
static size_t vb_bitmap_fill(struct vb_cur *c, void *buf)
{
	const size_t cap = VBALLOON_BITMAP_MAX_REQ_BYTES;
	struct vballoon_bitmap_hdr *hdr = NULL;
	unsigned long *words = NULL;
	unsigned long base = 0, end = 0, nwords = 0, pfn, len, room, need;
	size_t pos = 0;

	while ((len = vb_cur_peek(c, ULONG_MAX, &pfn))) {
		if (hdr && (pfn < end || pfn - end > VB_BITMAP_GAP_MAX ||
			    pfn + len - base > VBALLOON_BITMAP_MAX_PAGES ||
			    pos + vb_bitmap_bytes(pfn + len - base) > cap)) {
			pos += vb_bitmap_bytes(end - base);
			hdr = NULL;
		}
		if (!hdr) {
			base = ALIGN_DOWN(pfn, VBALLOON_BITMAP_ALIGN_PAGES);
			/* Frames of this run that fit into a new record. */
			if (pos + vb_bitmap_bytes(pfn + 1 - base) > cap)
				break;
			room = ((cap - pos - sizeof(*hdr)) / sizeof(u64)) *
			       BITS_PER_LONG;
			room = min_t(unsigned long, room,
				     VBALLOON_BITMAP_MAX_PAGES);
			len = min(len, base + room - pfn);
			hdr = buf + pos;
			words = (unsigned long *)(hdr + 1);
			nwords = 0;
			hdr->base_pfn = cpu_to_le64(base);
			hdr->reserved = 0;
		}
		need = DIV_ROUND_UP(pfn + len - base, BITS_PER_LONG);
		if (need > nwords) {
			memset(words + nwords, 0,
			       (need - nwords) * sizeof(u64));
			nwords = need;
		}
		bitmap_set(words, pfn - base, len);
		vb_cur_take(c, len);
		end = pfn + len;
		hdr->nr_pages = cpu_to_le32(end - base);
	}
	if (hdr)
		pos += vb_bitmap_bytes(end - base);
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

	while (!err) {
		/* The first look at the batch loads the map: count it here. */
		t0 = ktime_get_ns();
		for (n = 0; n < nbufs && !vb_cur_done(c); n++) {
			len[n] = fill(c, vb->buf[n]);
			if (WARN_ON_ONCE(!len[n])) {
				err = -EINVAL;
				break;
			}
		}
		t1 = ktime_get_ns();
		x->build_ns += t1 - t0;
		if (!n)
			break;

		for (queued = 0; !err && queued < n; queued++) {
			sg_init_one(&sg, vb->buf[queued], len[queued]);
			err = virtqueue_add_outbuf(vq, &sg, 1, vb->buf[queued],
						   GFP_NOWAIT | __GFP_NOWARN);
			if (err)
				break;
		}
		if (queued)
			vb_kick_wait(vb, vq, queued, x);
		x->wait_ns += ktime_get_ns() - t1;
	}
	return err;
}

/* Build one SG chain of at most max descriptors into vb->sg. */
static unsigned int vb_sg_fill(struct vballoon *vb, struct vb_cur *c,
			       unsigned int max)
{
	unsigned int n = 0;
	unsigned long pfn, len;

	while (n < max) {
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
 * ring is full (or the batch is done), then the host is notified once.  A
 * chain the ring could not take waits in vb->sg for the next round.
 */
static int vb_sg_send(struct vballoon *vb, struct virtqueue *vq,
		      struct vb_cur *c, struct vb_xfer *x)
{
	bool indirect = virtio_has_feature(vb->vdev,
					   VIRTIO_RING_F_INDIRECT_DESC);
	unsigned int n = 0, queued, max;
	int err = 0;
	u64 t0, t1;

	for (;;) {
		queued = 0;
		for (;;) {
			if (!n) {
				/* Without indirect tables, one slot each. */
				max = indirect ? vb->sg_max :
				      min(vb->sg_max, vq->num_free);
				if (!max)
					break;
				t0 = ktime_get_ns();
				n = vb_sg_fill(vb, c, max);
				x->build_ns += ktime_get_ns() - t0;
				if (!n)
					break;
			}
			t1 = ktime_get_ns();
			/* Never sleep here: the OOM notifier may be waiting. */
			err = virtqueue_add_outbuf(vq, vb->sg, n, vb,
						   GFP_NOWAIT | __GFP_NOWARN);
			x->wait_ns += ktime_get_ns() - t1;
			if (err)
				break;
			n = 0;
			queued++;
		}
		if (!queued)
			break;
		t1 = ktime_get_ns();
		vb_kick_wait(vb, vq, queued, x);
		x->wait_ns += ktime_get_ns() - t1;
		if (err && err != -ENOSPC)
			break;
		err = 0;
	}
	/* A full ring that never drained, or a chain it cannot take. */
	if (!err && (n || !vb_cur_done(c)))
		err = -ENOSPC;
	return err;
}

static int vb_legacy_send(struct vballoon *vb, struct virtqueue *vq,
			  struct vb_cur *c, struct vb_xfer *x)
{
	/* One request per notification, as the upstream driver does. */
	return vb_send_bufs(vb, vq, c, vb_legacy_fill, 1, x);
}

static int vb_bitmap_send(struct vballoon *vb, struct virtqueue *vq,
			  struct vb_cur *c, struct vb_xfer *x)
{
	return vb_send_bufs(vb, vq, c, vb_bitmap_fill, vb->nr_bufs, x);
}

static int vb_chunk_send(struct vballoon *vb, struct virtqueue *vq,
			 struct vb_cur *c, struct vb_xfer *x)
{
	return vb_send_bufs(vb, vq, c, vb_chunk_fill, vb->nr_bufs, x);
}

const struct vb_mode_ops vb_modes[VB_NR_MODES] = {
	[VB_MODE_LEGACY] = {
		.name = "legacy",
		.feature = -1,
		.ascending = false,
		.send = vb_legacy_send,
	},
	[VB_MODE_BITMAP] = {
		.name = "bitmap",
		.feature = VBALLOON_F_PAGE_BITMAP,
		.ascending = true,
		.send = vb_bitmap_send,
	},
	[VB_MODE_CHUNK] = {
		.name = "chunk",
		.feature = VBALLOON_F_CHUNK_TRANSFER,
		.ascending = true,
		.send = vb_chunk_send,
	},
	[VB_MODE_SG] = {
		.name = "sg",
		.feature = VBALLOON_F_SG,
		.ascending = true,
		.send = vb_sg_send,
	},
};

int vb_send(struct vballoon *vb, struct virtqueue *vq,
	    const struct vb_ent *ent, unsigned int nr, struct vb_xfer *x)
{
	struct vb_cur c;
	u64 t0;
	int err;

	if (!nr)
		return 0;
	vb_cur_init(&c, vb, ent, nr);
	err = vb->ops->send(vb, vq, &c, x);
	t0 = ktime_get_ns();
	vb_cur_finish(&c);
	x->build_ns += ktime_get_ns() - t0;
	return err;
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
	if (vb->ops->ascending) {
		vb->map = kvzalloc(BITS_TO_LONGS(VB_MAP_BITS) * sizeof(long),
				   GFP_KERNEL);
		if (!vb->map)
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
	kvfree(vb->map);
	vb->map = NULL;
	kvfree(vb->batch);
	vb->batch = NULL;
}
