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
 *
 * Every wait is bounded: by a timeout, by the queue breaking and by
 * vb->abort (remove, freeze).  Requests the host did not return stay in
 * the ring and are counted in q->stale; the queue takes no new request
 * until they are back, so that their buffers are never overwritten.  The
 * caller of a transfer holds q->lock.
 */
#include <linux/bitmap.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
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

/* One transfer of a batch on one queue. */
struct vb_tx {
	struct vballoon *vb;		/* the device */
	struct vb_queue *q;		/* the queue, locked */
	struct vb_cur c;		/* the batch */
	unsigned long timeout;		/* jiffies a round may wait */
	struct vb_xfer *x;		/* costs, added to */
	struct vb_sent *s;		/* how far it got */
};

/* Fill one request buffer from the cursor; returns its length in bytes. */
typedef size_t (*vb_fill_fn)(struct vb_cur *c, void *buf);

static void vb_cur_init(struct vb_cur *c, unsigned long *map,
			const struct vb_ent *ent, unsigned int nr)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->ent = ent;
	c->nr = nr;
	if (!map || !nr)
		return;
	c->map = map;
	c->lo = ULONG_MAX;
	for (i = 0; i < nr; i++) {
		c->lo = min(c->lo, ent[i].pfn);
		c->hi = max(c->hi, ent[i].pfn + (1UL << ent[i].order));
	}
	c->base = c->lo;
}

/* Where the cursor is: every frame before this has been taken. */
static void vb_cur_pos(const struct vb_cur *c, struct vb_pos *p)
{
	p->idx = c->idx;
	p->off = c->off;
	p->pfn = c->base + c->pos;
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
		/* vb_alloc_batch() and compaction keep frames below 2^32. */
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
 * case as much of the run as fits goes into a new record or request.  A
 * request takes at most VBALLOON_BITMAP_MAX_RUNS_PER_REQ runs: each pass
 * below sets one span of bits, which is at most one run of set bits for
 * the host (a run split at a word boundary is counted twice, never less).
 */
static size_t vb_bitmap_fill(struct vb_cur *c, void *buf)
{
	const size_t cap = VBALLOON_BITMAP_MAX_REQ_BYTES;
	struct vballoon_bitmap_hdr *hdr = NULL;
	unsigned long *words = NULL;
	unsigned long base = 0, end = 0, nwords = 0, pfn, len, room, need;
	unsigned int runs = 0;
	size_t pos = 0;

	while (runs < VBALLOON_BITMAP_MAX_RUNS_PER_REQ &&
	       (len = vb_cur_peek(c, ULONG_MAX, &pfn))) {
		/*
		 * Frames within the open record's last word cost no byte and
		 * stay below its frame limit (base and the limit are multiples
		 * of 64): they always join it.  So a record is only ever
		 * closed at a word boundary or before a gap, and the next one,
		 * starting at its first frame rounded down to 64, never
		 * overlaps it.
		 */
		if (hdr && pfn >= end &&
		    pfn < ALIGN(end, VBALLOON_BITMAP_ALIGN_PAGES))
			len = min(len,
				  ALIGN(end, VBALLOON_BITMAP_ALIGN_PAGES) - pfn);
		else if (hdr && (pfn < end || pfn - end > VB_BITMAP_GAP_MAX ||
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
		runs++;
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

/*
 * Collect what the host returned on q.  Our own requests carry q as their
 * token and count down *left; a late injection is freed.
 */
static void vb_reap(struct vballoon *vb, struct vb_queue *q,
		    unsigned int *left)
{
	unsigned int len;
	void *tok;

	while ((tok = virtqueue_get_buf(q->vq, &len))) {
		if (vb_drop_stale(vb, tok))
			continue;
		if (!WARN_ON_ONCE(tok != q || !*left))
			(*left)--;
	}
}

/* The wait for q is over: all back, or no point in waiting on. */
static bool vb_wait_done(struct vballoon *vb, struct vb_queue *q,
			 unsigned int *left)
{
	vb_reap(vb, q, left);
	return !*left || virtqueue_is_broken(q->vq) || READ_ONCE(vb->abort);
}

void vb_ack(struct virtqueue *vq)
{
	struct vballoon *vb = vq->vdev->priv;

	wake_up_all(&vb->acked);
}

/*
 * Notify the host of queued requests and wait for all of them.  What is
 * not back in time is left in the ring and counted as stale.
 */
static int vb_kick_wait(struct vb_tx *t, unsigned int queued)
{
	struct vballoon *vb = t->vb;
	struct vb_queue *q = t->q;
	unsigned int left = queued;
	u64 t0 = ktime_get_ns();

	virtqueue_kick(q->vq);
	t->x->kicks++;
	wait_event_timeout(vb->acked, vb_wait_done(vb, q, &left), t->timeout);
	t->x->wait_ns += ktime_get_ns() - t0;
	t->x->requests += queued - left;
	if (!left) {
		t->s->acked = t->s->posted;
		return 0;
	}
	q->stale = left;
	if (virtqueue_is_broken(q->vq))
		return -EIO;
	if (READ_ONCE(vb->abort))
		return -ESHUTDOWN;
	t->x->timeouts++;
	return -ETIMEDOUT;
}

/*
 * Legacy, bitmap, chunk: each request is one buffer, one descriptor.  Up
 * to nbufs buffers are filled, posted and waited for per round; a buffer
 * the ring had no room for is posted in the next round as it is.
 */
static int vb_send_bufs(struct vb_tx *t, vb_fill_fn fill, unsigned int nbufs)
{
	struct vb_queue *q = t->q;
	struct vb_pos end[VB_NR_BUFS];
	size_t len[VB_NR_BUFS];
	unsigned int n = 0, next = 0, queued;
	struct scatterlist sg;
	int err = 0, werr;
	u64 t0;

	for (;;) {
		if (next == n) {
			/* The first look at the batch loads the map. */
			t0 = ktime_get_ns();
			for (n = 0, next = 0; n < nbufs && !vb_cur_done(&t->c);
			     n++) {
				len[n] = fill(&t->c, q->buf[n]);
				if (WARN_ON_ONCE(!len[n]))
					return -EINVAL;
				vb_cur_pos(&t->c, &end[n]);
			}
			t->x->build_ns += ktime_get_ns() - t0;
			if (!n)
				return 0;
		}
		for (queued = 0; next < n; next++, queued++) {
			sg_init_one(&sg, q->buf[next], len[next]);
			err = virtqueue_add_outbuf(q->vq, &sg, 1, q,
						   GFP_NOWAIT | __GFP_NOWARN);
			if (err)
				break;
			t->s->posted = end[next];
		}
		if (!queued)
			return err;
		werr = vb_kick_wait(t, queued);
		if (werr)
			return werr;
		/* A full ring takes the rest once it has drained. */
		if (err && err != -ENOSPC)
			return err;
	}
}

/* Build one SG chain of at most max descriptors into q->sg. */
static unsigned int vb_sg_fill(struct vb_queue *q, struct vb_cur *c,
			       unsigned int max)
{
	unsigned int n = 0;
	unsigned long pfn, len;

	while (n < max) {
		len = vb_cur_run(c, VB_SG_RUN_MAX, &pfn);
		if (!len)
			break;
		sg_unmark_end(&q->sg[n]);
		/* The descriptor is the ballooned memory itself. */
		sg_set_page(&q->sg[n], pfn_to_page(pfn), len << PAGE_SHIFT, 0);
		n++;
	}
	if (n)
		sg_mark_end(&q->sg[n - 1]);
	return n;
}

/*
 * SG: every run is one descriptor of a chain; chains are added until the
 * ring is full (or the batch is done), then the host is notified once.  A
 * chain the ring could not take waits in q->sg for the next round.
 */
static int vb_sg_send(struct vb_tx *t)
{
	struct vb_queue *q = t->q;
	bool indirect = virtio_has_feature(t->vb->vdev,
					   VIRTIO_RING_F_INDIRECT_DESC);
	unsigned int n = 0, queued, max;
	struct vb_pos end = {};
	int err = 0, werr;
	u64 t0;

	for (;;) {
		queued = 0;
		for (;;) {
			if (!n) {
				/* Without indirect tables, one slot each. */
				max = indirect ? q->sg_max :
				      min(q->sg_max, q->vq->num_free);
				if (!max)
					break;
				t0 = ktime_get_ns();
				n = vb_sg_fill(q, &t->c, max);
				vb_cur_pos(&t->c, &end);
				t->x->build_ns += ktime_get_ns() - t0;
				if (!n)
					break;
			}
			t0 = ktime_get_ns();
			/* Never sleep here: the OOM notifier may be waiting. */
			err = virtqueue_add_outbuf(q->vq, q->sg, n, q,
						   GFP_NOWAIT | __GFP_NOWARN);
			t->x->wait_ns += ktime_get_ns() - t0;
			if (err)
				break;
			t->s->posted = end;
			n = 0;
			queued++;
		}
		if (!queued)
			break;
		werr = vb_kick_wait(t, queued);
		if (werr)
			return werr;
		if (err && err != -ENOSPC)
			return err;
		err = 0;
	}
	/* A full ring that never drained, or a chain it cannot take. */
	if (!err && (n || !vb_cur_done(&t->c)))
		err = -ENOSPC;
	return err;
}

static int vb_legacy_send(struct vb_tx *t)
{
	/* One request per notification, as the upstream driver does. */
	return vb_send_bufs(t, vb_legacy_fill, 1);
}

static int vb_bitmap_send(struct vb_tx *t)
{
	return vb_send_bufs(t, vb_bitmap_fill, t->q->nr_bufs);
}

static int vb_chunk_send(struct vb_tx *t)
{
	return vb_send_bufs(t, vb_chunk_fill, t->q->nr_bufs);
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

/*
 * Send nr entries on q and wait for the host, each round at most timeout
 * jiffies.  On failure s says which entries the host acknowledged, which
 * it may still act on and which it never saw (vb_sent_fates()).  The
 * caller holds q->lock and has checked vb_queue_ready().
 */
int vb_send(struct vballoon *vb, struct vb_queue *q, const struct vb_ent *ent,
	    unsigned int nr, unsigned long timeout, struct vb_xfer *x,
	    struct vb_sent *s)
{
	struct vb_tx t = {
		.vb = vb,
		.q = q,
		.timeout = timeout,
		.x = x,
		.s = s,
	};
	u64 t0;
	int err;

	lockdep_assert_held(&q->lock);
	vb_cur_init(&t.c, q->map, ent, nr);
	s->by_pfn = t.c.map;
	vb_cur_pos(&t.c, &s->acked);
	s->posted = s->acked;
	if (!nr)
		return 0;
	if (WARN_ON_ONCE(q->stale))
		return -EBUSY;
	err = vb->ops->send(&t);
	t0 = ktime_get_ns();
	vb_cur_finish(&t.c);
	x->build_ns += ktime_get_ns() - t0;
	return err;
}

/* Every frame of ent[i] lies before p. */
static bool vb_pos_covers(const struct vb_sent *s, const struct vb_pos *p,
			  const struct vb_ent *ent, unsigned int i)
{
	if (s->by_pfn)
		return ent[i].pfn + (1UL << ent[i].order) <= p->pfn;
	return i < p->idx;
}

/* Some frame of ent[i] lies before p. */
static bool vb_pos_touches(const struct vb_sent *s, const struct vb_pos *p,
			   const struct vb_ent *ent, unsigned int i)
{
	if (s->by_pfn)
		return ent[i].pfn < p->pfn;
	return i < p->idx || (i == p->idx && p->off);
}

/* After a failed vb_send(): where each entry stands, in ent[i].fate. */
void vb_sent_fates(const struct vb_sent *s, struct vb_ent *ent,
		   unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (vb_pos_covers(s, &s->acked, ent, i))
			ent[i].fate = VB_ACKED;
		else if (vb_pos_touches(s, &s->posted, ent, i))
			ent[i].fate = VB_POSTED;
		else
			ent[i].fate = VB_UNSENT;
	}
}

/*
 * May a new request go on q?  Collects what the host returned since the
 * last look.  0, or -ENODEV (no device), -ESHUTDOWN (going away), -EIO
 * (broken), -EBUSY (requests of an earlier transfer still out).
 */
int vb_queue_ready(struct vballoon *vb, struct vb_queue *q)
{
	lockdep_assert_held(&q->lock);
	if (!q->vq)
		return -ENODEV;
	if (READ_ONCE(vb->abort))
		return -ESHUTDOWN;
	vb_reap(vb, q, &q->stale);
	if (virtqueue_is_broken(q->vq))
		return -EIO;
	return q->stale ? -EBUSY : 0;
}

/* Wait up to timeout jiffies for the stale requests of q; true when none. */
bool vb_queue_wait_idle(struct vballoon *vb, struct vb_queue *q,
			unsigned long timeout)
{
	lockdep_assert_held(&q->lock);
	if (!q->vq)
		return false;
	wait_event_timeout(vb->acked, vb_wait_done(vb, q, &q->stale), timeout);
	return !q->stale;
}

/* After the device reset: nothing in the ring will be acted on any more. */
void vb_queue_detach(struct vballoon *vb, struct vb_queue *q)
{
	void *tok;

	lockdep_assert_held(&q->lock);
	if (!q->vq)
		return;
	vb_reap(vb, q, &q->stale);
	while ((tok = virtqueue_detach_unused_buf(q->vq))) {
		if (vb_drop_stale(vb, tok))
			continue;
		if (!WARN_ON_ONCE(tok != q || !q->stale))
			q->stale--;
	}
	WARN_ON_ONCE(q->stale);
	q->stale = 0;
}

/*
 * Collect returned requests until tok is back.  Stale requests of our own
 * that come back meanwhile count down q->stale.
 */
static bool vb_reap_token(struct vballoon *vb, void *tok, bool *back)
{
	struct vb_queue *q = &vb->iq;
	unsigned int len;
	void *t;

	while ((t = virtqueue_get_buf(q->vq, &len))) {
		if (t == tok)
			*back = true;
		else if (vb_drop_stale(vb, t))
			continue;
		else if (!WARN_ON_ONCE(t != q || !q->stale))
			q->stale--;
	}
	return *back || virtqueue_is_broken(q->vq) || READ_ONCE(vb->abort);
}

/*
 * Packed ring only: the available descriptor that heads an indirect table
 * gets length 0 before the host is told, a descriptor no driver writes
 * (an unpatched QEMU aborts on it).  Without the DMA API the ring holds
 * physical addresses, so the ring is reached through the linear map.
 * Returns how many descriptors were changed; the caller made sure that
 * nothing else is outstanding on the queue.  The descriptor is already
 * visible when its length changes: a host that polls the ring (not QEMU
 * under TCG, which pops on the notification) could read the old length.
 */
static unsigned int vb_zero_indirect(struct virtqueue *vq)
{
	struct vring_packed_desc *ring;
	unsigned int i, n = 0;

	ring = phys_to_virt(virtqueue_get_desc_addr(vq));
	for (i = 0; i < virtqueue_get_vring_size(vq); i++) {
		u16 f = le16_to_cpu(READ_ONCE(ring[i].flags));
		bool avail = f & BIT(VRING_PACKED_DESC_F_AVAIL);
		bool used = f & BIT(VRING_PACKED_DESC_F_USED);

		if ((f & VRING_DESC_F_INDIRECT) && avail != used) {
			WRITE_ONCE(ring[i].len, 0);
			n++;
		}
	}
	/* The length is in memory before the notification. */
	virtio_wmb(false);
	return n;
}

/*
 * Post one crafted request on the inflate queue and wait up to timeout
 * jiffies.  If it was posted but is not back (-ETIMEDOUT; -EIO: broken;
 * -ENODEV: the device is going away) it stays in the ring: buf (may be
 * NULL) is then owned by vb and freed when the host returns it or at
 * removal.  The caller holds iq.lock; the OOM notifier never takes it, so
 * the ring may allocate its indirect table with reclaim.
 *
 * With VB_RAW_WDESC, a device-writable descriptor follows the request: the
 * driver's own 64-byte inject_wbuf, which lives as long as vb, so that a
 * request the host keeps cannot make it write into freed memory.  With
 * VB_RAW_ZERO_INDIRECT the request's indirect descriptor gets length 0
 * (vb_zero_indirect()).
 */
static int vb_send_raw(struct vballoon *vb, struct scatterlist *sg,
		       unsigned int nents, unsigned int flags, void *tok,
		       void *buf, unsigned long timeout)
{
	struct scatterlist win, *sgs[2] = { sg, &win };
	struct vb_queue *q = &vb->iq;
	unsigned int zeroed = 0;
	bool back = false;
	int err;

	lockdep_assert_held(&q->lock);
	if (READ_ONCE(vb->abort))
		return -ENODEV;
	/* A late injection may be back by now. */
	vb_reap(vb, q, &q->stale);
	if (vb->inject_stale)
		return -EBUSY;
	/* NORETRY: no OOM kill from here. */
	if (flags & VB_RAW_WDESC) {
		sg_init_one(&win, vb->inject_wbuf, sizeof(vb->inject_wbuf));
		err = virtqueue_add_sgs(q->vq, sgs, 1, 1, tok,
					GFP_KERNEL | __GFP_NORETRY |
					__GFP_NOWARN);
	} else {
		err = virtqueue_add_outbuf(q->vq, sg, nents, tok,
					   GFP_KERNEL | __GFP_NORETRY |
					   __GFP_NOWARN);
	}
	if (err)
		return err;
	if (flags & VB_RAW_ZERO_INDIRECT)
		zeroed = vb_zero_indirect(q->vq);
	virtqueue_kick(q->vq);
	wait_event_timeout(vb->acked, vb_reap_token(vb, tok, &back), timeout);
	/* Not the descriptor asked for: the host saw an ordinary request. */
	if (back)
		return (flags & VB_RAW_ZERO_INDIRECT) && zeroed != 1 ? -EIO : 0;
	vb->inject_stale = tok;
	vb->inject_stale_buf = buf;
	if (virtqueue_is_broken(q->vq))
		return -EIO;
	return READ_ONCE(vb->abort) ? -ENODEV : -ETIMEDOUT;
}

int vb_send_raw_buf(struct vballoon *vb, void *buf, size_t len, bool wdesc,
		    unsigned long timeout)
{
	struct scatterlist sg;

	sg_init_one(&sg, buf, len);
	return vb_send_raw(vb, &sg, 1, wdesc ? VB_RAW_WDESC : 0, buf, buf,
			   timeout);
}

/*
 * Two device-readable halves of inject_wbuf, which the virtio core puts in
 * an indirect table, whose ring descriptor then gets length 0.  The device
 * must refuse the ring, not abort; the request is then never returned.
 * Only on an idle queue, so that no other request is touched.  The bytes
 * are all ones, which every mode refuses (misaligned, reserved bits, a
 * PFN beyond RAM) should the host read them after all (-EIO).
 */
int vb_send_zero_indirect(struct vballoon *vb, unsigned long timeout)
{
	struct vb_queue *q = &vb->iq;
	unsigned int half = sizeof(vb->inject_wbuf) / 2;
	struct scatterlist sg[2];

	lockdep_assert_held(&q->lock);
	if (vb->ilimbo || q->stale || vb->inject_stale ||
	    q->vq->num_free != virtqueue_get_vring_size(q->vq))
		return -EBUSY;
	memset(vb->inject_wbuf, 0xff, sizeof(vb->inject_wbuf));
	sg_init_table(sg, 2);
	sg_set_buf(&sg[0], vb->inject_wbuf, half);
	sg_set_buf(&sg[1], vb->inject_wbuf + half, half);
	/* Any unique non-NULL token will do; the field's address is one. */
	return vb_send_raw(vb, sg, 2, VB_RAW_ZERO_INDIRECT, &vb->inject_stale,
			   NULL, timeout);
}

int vb_send_raw_sg(struct vballoon *vb, struct scatterlist *sg,
		   unsigned int nents, bool wdesc, unsigned long timeout)
{
	/* Any unique non-NULL token will do; the field's address is one. */
	return vb_send_raw(vb, sg, nents, wdesc ? VB_RAW_WDESC : 0,
			   &vb->inject_stale, NULL, timeout);
}

/* Request buffers sized for the queue they are used on. */
static int vb_queue_alloc(struct vballoon *vb, struct vb_queue *q)
{
	unsigned int want, ring = virtqueue_get_vring_size(q->vq);

	switch (vb->mode) {
	case VB_MODE_LEGACY:
		q->buf[0] = kmalloc(VBALLOON_LEGACY_MAX_PFNS * sizeof(__le32),
				    GFP_KERNEL);
		if (!q->buf[0])
			return -ENOMEM;
		q->nr_bufs = 1;
		break;
	case VB_MODE_BITMAP:
	case VB_MODE_CHUNK:
		BUILD_BUG_ON(VBALLOON_CHUNK_MAX_PER_REQ *
			     sizeof(struct vballoon_chunk) > VB_BUF_BYTES);
		BUILD_BUG_ON(VBALLOON_BITMAP_MAX_REQ_BYTES > VB_BUF_BYTES);
		/* vb_bitmap_fill(): a record's last word is within its limit. */
		BUILD_BUG_ON(VBALLOON_BITMAP_MAX_PAGES %
			     VBALLOON_BITMAP_ALIGN_PAGES);
		want = min_t(unsigned int, VB_NR_BUFS, ring);
		for (q->nr_bufs = 0; q->nr_bufs < want; q->nr_bufs++) {
			q->buf[q->nr_bufs] = kmalloc(VB_BUF_BYTES,
						     GFP_KERNEL | __GFP_NOWARN);
			if (!q->buf[q->nr_bufs])
				break;
		}
		if (!q->nr_bufs)
			return -ENOMEM;
		break;
	case VB_MODE_SG:
		/* A chain may not be longer than the queue it goes on. */
		q->sg_max = min_t(unsigned int, VB_SG_CHAIN_MAX, ring);
		q->sg = kvcalloc(q->sg_max, sizeof(*q->sg), GFP_KERNEL);
		if (!q->sg)
			return -ENOMEM;
		sg_init_table(q->sg, q->sg_max);
		break;
	default:
		WARN_ON_ONCE(1);
		return -EINVAL;
	}
	if (vb->ops->ascending) {
		q->map = kvzalloc(BITS_TO_LONGS(VB_MAP_BITS) * sizeof(long),
				  GFP_KERNEL);
		if (!q->map)
			return -ENOMEM;
	}
	return 0;
}

static void vb_queue_free(struct vb_queue *q)
{
	unsigned int i;

	for (i = 0; i < VB_NR_BUFS; i++) {
		kfree(q->buf[i]);
		q->buf[i] = NULL;
	}
	q->nr_bufs = 0;
	kvfree(q->sg);
	q->sg = NULL;
	kvfree(q->map);
	q->map = NULL;
}

/* Allocate the batches and the request buffers the mode needs. */
int vb_xfer_init(struct vballoon *vb)
{
	int err = -ENOMEM;

	vb->ibatch = kvcalloc(VB_BATCH_MAX, sizeof(*vb->ibatch), GFP_KERNEL);
	vb->dbatch = kvcalloc(VB_BATCH_MAX, sizeof(*vb->dbatch), GFP_KERNEL);
	vb->bulk = kcalloc(VB_CHUNK, sizeof(*vb->bulk), GFP_KERNEL);
	if (!vb->ibatch || !vb->dbatch || !vb->bulk)
		goto err;
	vb->batch_cap = VB_BATCH_MAX;
	vb->batch_pages = VB_BATCH_BYTES >> PAGE_SHIFT;
	/* Legacy: a batch is one request, or one whole block if larger. */
	if (vb->mode == VB_MODE_LEGACY)
		vb->batch_pages = max_t(unsigned long, VBALLOON_LEGACY_MAX_PFNS,
					1UL << vb->max_order);
	err = vb_queue_alloc(vb, &vb->iq);
	if (!err)
		err = vb_queue_alloc(vb, &vb->dq);
	if (!err)
		return 0;
err:
	vb_xfer_exit(vb);
	return err;
}

void vb_xfer_exit(struct vballoon *vb)
{
	vb_queue_free(&vb->iq);
	vb_queue_free(&vb->dq);
	kfree(vb->bulk);
	vb->bulk = NULL;
	kvfree(vb->dbatch);
	vb->dbatch = NULL;
	kvfree(vb->ibatch);
	vb->ibatch = NULL;
}
