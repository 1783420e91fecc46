// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - /sys/kernel/debug/vballoon/{stats,reset,inject}.
 *
 * stats   one JSON object on one line (keys and units: README.md);
 *         writing "0" resets the counters
 * reset   writing anything resets the counters
 * inject  (allow_inject=1 only) one crafted request per written line,
 *         sent on the inflate queue without allocating anything; a
 *         bitmap line with the option vq=free goes on the free page
 *         queue instead, and "freeid N" sends a 4-byte buffer holding
 *         the __le32 N on the free page queue, "hint ADDR LEN..." one
 *         device-writable descriptor per pair there (an upstream
 *         FREE_PAGE_HINT buffer); "runs" sends frames
 *         through the negotiated mode's own encoder (README.md, "inject")
 */
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/panic.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <xen/xen.h>

#include "vballoon.h"

/* Most frames a runs line may name. */
#define VB_INJECT_MAX_RUN_FRAMES	65536

/* Longest line accepted by inject, bytes. */
#define VB_INJECT_MAX_LINE	(1024 * 1024)

/* Largest injected buffer (legacy, bitmap, chunk), bytes. */
#define VB_INJECT_MAX_BYTES	(256 * 1024)

/* Most descriptors in one injected SG chain. */
#define VB_INJECT_MAX_SG	2048

/* Most descriptors in one injected hint. */
#define VB_INJECT_MAX_HINT	64

/* How long an injected request may stay with the host. */
#define VB_INJECT_TIMEOUT	(30 * HZ)

static void vb_json_u64(struct seq_file *m, const char *key, u64 v)
{
	seq_printf(m, ",\"%s\":%llu", key, v);
}

static void vb_json_orders(struct seq_file *m, const char *key, const u64 *v)
{
	unsigned int i;

	seq_printf(m, ",\"%s\":[", key);
	for (i = 0; i < VB_NR_ORDERS; i++)
		seq_printf(m, "%s%llu", i ? "," : "", v[i]);
	seq_putc(m, ']');
}

static void vb_json_bool(struct seq_file *m, const char *key, bool v)
{
	seq_printf(m, ",\"%s\":%s", key, v ? "true" : "false");
}

static void vb_show_state(struct seq_file *m, struct vballoon *vb)
{
	u64 held[VB_NR_ORDERS];
	unsigned int o;

	/* Unlocked snapshot: exact when no inflate or deflate runs. */
	held[0] = READ_ONCE(vb->nr_singles);
	for (o = 1; o < VB_NR_ORDERS; o++)
		held[o] = READ_ONCE(vb->nr_blocks[o]);

	seq_printf(m, "{\"version\":1,\"mode\":\"%s\"", vb->ops->name);
	vb_json_u64(m, "max_order", vb->max_order);
	vb_json_u64(m, "min_block_order", vb->min_block_order);
	vb_json_bool(m, "whole_blocks_movable", vb->whole_movable);
	vb_json_bool(m, "split_blocks", vb->split_blocks);
	vb_json_u64(m, "page_size_bytes", VBALLOON_PAGE_SIZE);
	vb_json_bool(m, "stats_vq",
		     virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_STATS_VQ));
	vb_json_bool(m, "deflate_on_oom", vb->deflate_on_oom);
	vb_json_bool(m, "must_tell_host", vb->tell_host_first);
	vb_json_u64(m, "balloon_pages", READ_ONCE(vb->num_pages));
	vb_json_u64(m, "target_pages", vb->iq.vq ? vb_target(vb) : 0);
	vb_json_bool(m, "auto_balloon", vb->auto_balloon);
	seq_printf(m, ",\"auto_policy\":\"%s\"",
		   vb->auto_balloon ? vb_auto_policy_name() : "off");
	/* Without AUTO_BALLOON the goal is the target. */
	vb_json_u64(m, "goal_pages", vb->auto_balloon ? READ_ONCE(vb->goal) :
		    vb->iq.vq ? vb_target(vb) : 0);
	vb_json_bool(m, "shrinker", vb->shrinker_registered);
	vb_json_bool(m, "reporting", vb->reporting);
	vb_json_bool(m, "hint", vb->hint);
	vb_json_bool(m, "free_bitmap", vb->fbitmap);
	vb_json_bool(m, "page_poison",
		     virtio_has_feature(vb->vdev, VIRTIO_BALLOON_F_PAGE_POISON));
	vb_json_u64(m, "hint_held_pages", READ_ONCE(vb->fp_nr_posted) +
		    READ_ONCE(vb->fp_nr_returned));
	vb_json_u64(m, "hint_posted_pages", READ_ONCE(vb->fp_nr_posted));
	vb_json_orders(m, "balloon_blocks_by_order", held);
}

/* The shrinker's counters (AUTO_BALLOON), refusals by enum vb_refusal. */
static void vb_show_shrink(struct seq_file *m, const struct vb_counters *k,
			   u64 kswapd)
{
	const u64 *r = k->shrink_refused;

	vb_json_u64(m, "shrink_calls", k->shrink_calls);
	vb_json_u64(m, "shrink_pages", k->shrink_pages);
	vb_json_u64(m, "shrink_ns", k->shrink_ns);
	vb_json_u64(m, "shrink_max_ns", k->shrink_max_ns);
	vb_json_u64(m, "shrink_urgent", k->shrink_urgent);
	vb_json_u64(m, "shrink_refused_kswapd", r[VB_REFUSE_KSWAPD] + kswapd);
	vb_json_u64(m, "shrink_refused_self", r[VB_REFUSE_SELF]);
	vb_json_u64(m, "shrink_refused_cache", r[VB_REFUSE_CACHE]);
	vb_json_u64(m, "shrink_refused_holdoff", r[VB_REFUSE_HOLDOFF]);
	vb_json_u64(m, "shrink_refused_busy", r[VB_REFUSE_BUSY]);
	vb_json_u64(m, "shrink_refused_host", r[VB_REFUSE_HOST]);
	vb_json_u64(m, "shrink_refused_notreclaim", r[VB_REFUSE_NOTRECLAIM]);
	vb_json_u64(m, "goal_lowered", k->goal_lowered);
	vb_json_u64(m, "thrash_events", k->thrash_events);
	vb_json_u64(m, "thrash_pages", k->thrash_pages);
}

/* Free page hinting (bit 3) and the free page bitmap (bit 20). */
static void vb_show_free_page(struct seq_file *m, const struct vb_counters *k)
{
	vb_json_u64(m, "hint_requests", k->hint_requests);
	vb_json_u64(m, "hint_blocks", k->hint_blocks);
	vb_json_u64(m, "hint_pages", k->hint_pages);
	vb_json_u64(m, "hint_ns", k->hint_ns);
	vb_json_u64(m, "hint_freed_pages", k->hint_freed_pages);
	vb_json_u64(m, "hint_shrunk_pages", k->hint_shrunk_pages);
	vb_json_u64(m, "fp_renotified", k->fp_renotified);
	vb_json_u64(m, "bitmap_requests", k->bitmap_requests);
	vb_json_u64(m, "bitmap_aborted", k->bitmap_aborted);
	vb_json_u64(m, "bitmap_build_ns", k->bitmap_build_ns);
	vb_json_u64(m, "bitmap_build_max_ns", k->bitmap_build_max_ns);
	vb_json_u64(m, "bitmap_send_ns", k->bitmap_send_ns);
	vb_json_u64(m, "bitmap_pages", k->bitmap_pages);
	vb_json_u64(m, "bitmap_pages_total", k->bitmap_pages_total);
	vb_json_u64(m, "bitmap_bytes", k->bitmap_bytes);
	vb_json_u64(m, "bitmap_chunks", k->bitmap_chunks);
	vb_json_u64(m, "bitmap_lock_max_ns", k->bitmap_lock_max_ns);
}

static void vb_show_counters(struct seq_file *m, const struct vb_counters *k,
			     u64 kswapd)
{
	vb_json_u64(m, "inflate_pages", k->inflate_pages);
	vb_json_orders(m, "inflate_blocks_by_order", k->inflate_blocks);
	vb_json_orders(m, "inflate_alloc_failures_by_order",
		       k->inflate_alloc_fail);
	vb_json_u64(m, "inflate_split_blocks", k->inflate_split_blocks);
	vb_json_u64(m, "inflate_split_fail", k->inflate_split_fail);
	vb_json_u64(m, "inflate_batches", k->inflate_batches);
	vb_json_u64(m, "inflate_requests", k->inflate_requests);
	vb_json_u64(m, "inflate_kicks", k->inflate_kicks);
	vb_json_u64(m, "inflate_alloc_ns", k->inflate_alloc_ns);
	vb_json_u64(m, "inflate_build_ns", k->inflate_build_ns);
	vb_json_u64(m, "inflate_commit_ns", k->inflate_commit_ns);
	vb_json_u64(m, "inflate_wait_ns", k->inflate_wait_ns);
	vb_json_u64(m, "inflate_total_ns", k->inflate_ns);
	vb_json_u64(m, "deflate_pages", k->deflate_pages);
	vb_json_orders(m, "deflate_blocks_by_order", k->deflate_blocks);
	vb_json_u64(m, "deflate_splits", k->deflate_splits);
	vb_json_u64(m, "deflate_batches", k->deflate_batches);
	vb_json_u64(m, "deflate_requests", k->deflate_requests);
	vb_json_u64(m, "deflate_kicks", k->deflate_kicks);
	vb_json_u64(m, "deflate_build_ns", k->deflate_build_ns);
	vb_json_u64(m, "deflate_wait_ns", k->deflate_wait_ns);
	vb_json_u64(m, "deflate_free_ns", k->deflate_free_ns);
	vb_json_u64(m, "deflate_total_ns", k->deflate_ns);
	vb_json_u64(m, "xfer_errors", k->xfer_errors);
	vb_json_u64(m, "xfer_timeouts", k->xfer_timeouts);
	vb_json_u64(m, "leaked_pages", k->leaked_pages);
	vb_json_u64(m, "oom_events", k->oom_events);
	vb_json_u64(m, "oom_pages", k->oom_pages);
	vb_json_u64(m, "oom_busy", k->oom_busy);
	vb_json_u64(m, "oom_max_ns", k->oom_max_ns);
	vb_json_u64(m, "lock_max_ns", k->lock_max_ns);
	vb_json_u64(m, "irqoff_max_ns", k->irqoff_max_ns);
	vb_json_u64(m, "migrated_pages", k->migrated_pages);
	vb_json_u64(m, "stats_updates", k->stats_updates);
	vb_json_u64(m, "inject_messages", k->inject_messages);
	vb_json_u64(m, "inject_timeouts", k->inject_timeouts);
	vb_show_shrink(m, k, kswapd);
	vb_json_u64(m, "report_requests", k->report_requests);
	vb_json_u64(m, "report_pages", k->report_pages);
	vb_json_u64(m, "report_errors", k->report_errors);
	vb_json_u64(m, "report_slow", k->report_slow);
	vb_json_u64(m, "report_ns", k->report_ns);
	vb_show_free_page(m, k);
}

static int vb_stats_show(struct seq_file *m, void *unused)
{
	struct vballoon *vb = m->private;
	struct vb_counters k;

	spin_lock(&vb->stats_lock);
	k = vb->ctr;
	spin_unlock(&vb->stats_lock);

	vb_show_state(m, vb);
	vb_show_counters(m, &k, atomic_long_read(&vb->kswapd_skips));
	seq_puts(m, "}\n");
	return 0;
}

static void vb_reset_counters(struct vballoon *vb)
{
	spin_lock(&vb->stats_lock);
	memset(&vb->ctr, 0, sizeof(vb->ctr));
	atomic_long_set(&vb->kswapd_skips, 0);
	spin_unlock(&vb->stats_lock);
}

static int vb_stats_open(struct inode *inode, struct file *file)
{
	return single_open(file, vb_stats_show, inode->i_private);
}

static ssize_t vb_stats_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	struct vballoon *vb = file_inode(file)->i_private;
	char s[8] = {};

	if (!count || count >= sizeof(s))
		return -EINVAL;
	if (copy_from_user(s, ubuf, count))
		return -EFAULT;
	if (strcmp(strim(s), "0"))
		return -EINVAL;
	vb_reset_counters(vb);
	return count;
}

static const struct file_operations vb_stats_fops = {
	.owner = THIS_MODULE,
	.open = vb_stats_open,
	.read = seq_read,
	.write = vb_stats_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static ssize_t vb_reset_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	vb_reset_counters(file_inode(file)->i_private);
	return count;
}

static const struct file_operations vb_reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vb_reset_write,
	.llseek = noop_llseek,
};

/* What an inject line asks for, once parsed. */
struct vb_inject {
	enum vb_mode kind;	/* message format named by the keyword */
	u64 *num;		/* the numbers after the options */
	unsigned int nnum;	/* how many */
	u64 repeat;		/* times the item list is repeated */
	u64 reserved;		/* bitmap header reserved field */
	bool freeid;		/* a freeid line: one __le32 id */
	bool hint;		/* a hint line: device-writable descriptors */
	bool freevq;		/* sent on the free page queue */
	bool runs;		/* (pfn, len) runs for the mode's encoder */
	bool wdesc;		/* a device-writable descriptor follows */
	bool zeroind;		/* a packed indirect descriptor of length 0 */
};

static char *vb_next_token(char **p)
{
	char *t;

	do {
		t = strsep(p, " \t\n");
	} while (t && !*t);
	return t;
}

/* Decimal, or hex with 0x. */
static int vb_parse_u64(const char *s, u64 *v)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return kstrtou64(s + 2, 16, v);
	return kstrtou64(s, 10, v);
}

static int vb_parse_option(struct vb_inject *in, const char *t)
{
	const char *v = strchr(t, '=') + 1;
	u64 n;

	/* An id goes on the free page queue, nowhere else; a hint too. */
	if ((in->freeid && !strncmp(t, "vq=", 3)) || in->hint)
		return -EINVAL;
	if (!strcmp(t, "vq=free") && in->kind == VB_MODE_BITMAP) {
		in->freevq = true;
		return 0;
	}
	if (!strcmp(t, "vq=inflate")) {
		in->freevq = false;
		return 0;
	}
	if (vb_parse_u64(v, &n))
		return -EINVAL;
	if (!strcmp(t, "in=1")) {
		in->wdesc = true;
		return 0;
	}
	if (!strncmp(t, "repeat=", 7) && n >= 1 && n <= VB_INJECT_MAX_BYTES) {
		in->repeat = n;
		return 0;
	}
	if (!strncmp(t, "reserved=", 9) && in->kind == VB_MODE_BITMAP &&
	    n <= U32_MAX) {
		in->reserved = n;
		return 0;
	}
	return -EINVAL;
}

static int vb_parse_line(char *line, size_t len, struct vb_inject *in)
{
	char *p = line, *t;
	int m;

	t = vb_next_token(&p);
	if (!t)
		return -EINVAL;
	if (!strcmp(t, "runs")) {
		/* Encoded in the negotiated mode: vb_inject_runs(). */
		in->runs = true;
		m = VB_MODE_LEGACY;
	} else if (!strcmp(t, "zero-indirect")) {
		in->zeroind = true;
		m = VB_MODE_LEGACY;
	} else if (!strcmp(t, "freeid")) {
		/* An id is a one-entry legacy array on the free page queue. */
		in->freeid = true;
		in->freevq = true;
		m = VB_MODE_LEGACY;
	} else if (!strcmp(t, "hint")) {
		/* (addr, len) pairs as an SG line, on the free page queue. */
		in->hint = true;
		in->freevq = true;
		m = VB_MODE_SG;
	} else {
		for (m = 0; m < VB_NR_MODES; m++)
			if (!strcmp(t, vb_modes[m].name))
				break;
		if (m == VB_NR_MODES)
			return -EINVAL;
	}
	in->kind = m;
	in->repeat = 1;
	/* At most one number per two bytes of input. */
	in->num = kvmalloc_array(len / 2 + 1, sizeof(*in->num), GFP_KERNEL);
	if (!in->num)
		return -ENOMEM;
	while ((t = vb_next_token(&p))) {
		if (strchr(t, '=')) {
			if (in->nnum || vb_parse_option(in, t))
				return -EINVAL;
			continue;
		}
		if (vb_parse_u64(t, &in->num[in->nnum++]))
			return -EINVAL;
	}
	return 0;
}

/*
 * Check the numbers against the format, and a runs line against the
 * negotiated mode; returns the message size (a runs line: its frames).
 */
static int vb_inject_size(const struct vballoon *vb,
			  const struct vb_inject *in, size_t *bytes)
{
	unsigned int i;
	u64 item;

	if (in->zeroind) {
		/*
		 * A packed ring with indirect descriptors, reached through
		 * the linear map: no DMA API (Xen guests always use it).
		 */
		if (in->nnum || in->repeat != 1 || in->wdesc ||
		    !virtio_has_feature(vb->vdev, VIRTIO_F_RING_PACKED) ||
		    !virtio_has_feature(vb->vdev,
					VIRTIO_RING_F_INDIRECT_DESC) ||
		    xen_domain())
			return -EINVAL;
		*bytes = 0;
		return 0;
	}
	if (in->runs) {
		u64 frames = 0, lo = U64_MAX, hi = 0;

		/*
		 * Options are for crafted buffers, not for the encoder.  Not
		 * in SG mode, whose encoder would hand the frames' struct
		 * pages to the DMA layer.
		 */
		if (!in->nnum || in->nnum % 2 || in->repeat != 1 ||
		    in->freevq || in->wdesc || vb->mode == VB_MODE_SG)
			return -EINVAL;
		/*
		 * Frames a physical address can have, within one window of
		 * the encoder's scratch map: a wider span would be walked
		 * window by window with the inflate queue held.
		 */
		for (i = 0; i < in->nnum; i += 2) {
			/* Written so that no sum can wrap around 2^64. */
			if (!in->num[i + 1] ||
			    in->num[i + 1] > VB_INJECT_MAX_RUN_FRAMES ||
			    in->num[i] > (1ULL << (MAX_PHYSMEM_BITS -
						   PAGE_SHIFT)) - in->num[i + 1])
				return -EINVAL;
			/* Legacy requests name frames in 32 bits. */
			if (vb->mode == VB_MODE_LEGACY &&
			    in->num[i] + in->num[i + 1] - 1 > U32_MAX)
				return -EINVAL;
			frames += in->num[i + 1];
			lo = min(lo, in->num[i]);
			hi = max(hi, in->num[i] + in->num[i + 1]);
		}
		if (frames > VB_INJECT_MAX_RUN_FRAMES || hi - lo > VB_MAP_BITS)
			return -EINVAL;
		*bytes = frames;
		return 0;
	}
	if (in->freeid && (in->nnum != 1 || in->repeat != 1))
		return -EINVAL;
	if (in->hint) {
		if (!in->nnum || in->nnum % 2 ||
		    in->nnum / 2 > VB_INJECT_MAX_HINT)
			return -EINVAL;
		for (i = 1; i < in->nnum; i += 2)
			if (in->num[i] > U32_MAX)
				return -EINVAL;
		/* Counted in descriptors, not bytes. */
		*bytes = in->nnum / 2;
		return 0;
	}
	/* Free page requests carry no device-writable part here. */
	if (in->freevq && in->wdesc)
		return -EINVAL;
	switch (in->kind) {
	case VB_MODE_LEGACY:
		for (i = 0; i < in->nnum; i++)
			if (in->num[i] > U32_MAX)
				return -EINVAL;
		item = in->nnum * sizeof(__le32);
		break;
	case VB_MODE_BITMAP:
		if (in->nnum < 2 || in->num[1] > U32_MAX)
			return -EINVAL;
		item = sizeof(struct vballoon_bitmap_hdr) +
		       (in->nnum - 2) * sizeof(__le64);
		break;
	case VB_MODE_CHUNK:
		if (in->nnum % 2)
			return -EINVAL;
		item = in->nnum / 2 * sizeof(struct vballoon_chunk);
		break;
	case VB_MODE_SG:
		if (in->nnum % 2)
			return -EINVAL;
		for (i = 1; i < in->nnum; i += 2)
			if (in->num[i] > U32_MAX)
				return -EINVAL;
		/* Counted in descriptors, not bytes. */
		item = in->nnum / 2;
		if (!item || item * in->repeat > VB_INJECT_MAX_SG)
			return -EINVAL;
		*bytes = item * in->repeat;
		return 0;
	default:
		return -EINVAL;
	}
	/* An empty buffer is not a request a virtio device can take. */
	if (!item || item * in->repeat > VB_INJECT_MAX_BYTES)
		return -EINVAL;
	*bytes = item * in->repeat;
	return 0;
}

static void vb_inject_encode(const struct vb_inject *in, void *buf)
{
	struct vballoon_bitmap_hdr *hdr;
	struct vballoon_chunk *ch;
	__le64 *w;
	__le32 *pfn;
	unsigned int i;

	switch (in->kind) {
	case VB_MODE_LEGACY:
		pfn = buf;
		for (i = 0; i < in->nnum; i++)
			pfn[i] = cpu_to_le32(in->num[i]);
		break;
	case VB_MODE_BITMAP:
		hdr = buf;
		hdr->base_pfn = cpu_to_le64(in->num[0]);
		hdr->nr_pages = cpu_to_le32(in->num[1]);
		hdr->reserved = cpu_to_le32(in->reserved);
		w = (__le64 *)(hdr + 1);
		for (i = 2; i < in->nnum; i++)
			w[i - 2] = cpu_to_le64(in->num[i]);
		break;
	case VB_MODE_CHUNK:
		ch = buf;
		for (i = 0; i < in->nnum / 2; i++) {
			ch[i].addr = cpu_to_le64(in->num[2 * i]);
			ch[i].len = cpu_to_le64(in->num[2 * i + 1]);
		}
		break;
	default:
		WARN_ON_ONCE(1);
	}
}

/* The buffer of a legacy, bitmap or chunk request, repeats included. */
static void *vb_inject_build_buf(const struct vb_inject *in, size_t bytes)
{
	size_t item = bytes / in->repeat;
	unsigned int r;
	void *buf;

	buf = kmalloc(bytes, GFP_KERNEL | __GFP_NOWARN);
	if (!buf)
		return NULL;
	vb_inject_encode(in, buf);
	for (r = 1; r < in->repeat; r++)
		memcpy(buf + r * item, buf, item);
	return buf;
}

/*
 * SG descriptors name addresses directly.  Without the DMA API (the driver
 * refuses ACCESS_PLATFORM) the ring stores page_to_phys(page) + offset, so
 * pfn_to_page() arithmetic reaches any address, RAM or not; the struct page
 * is never dereferenced.
 */
static struct scatterlist *vb_inject_build_sg(const struct vb_inject *in,
					      unsigned int nents)
{
	unsigned int i, per = in->nnum / 2;
	struct scatterlist *sg;

	sg = kvmalloc_array(nents, sizeof(*sg), GFP_KERNEL);
	if (!sg)
		return NULL;
	sg_init_table(sg, nents);
	for (i = 0; i < nents; i++) {
		u64 addr = in->num[2 * (i % per)];
		u64 len = in->num[2 * (i % per) + 1];

		sg_set_page(&sg[i], pfn_to_page(PHYS_PFN(addr)), len,
			    offset_in_page(addr));
	}
	return sg;
}

/* Without indirect descriptors a chain must fit in the ring. */
static int vb_inject_sg_fits(struct vballoon *vb, unsigned int nents)
{
	if (!virtio_has_feature(vb->vdev, VIRTIO_RING_F_INDIRECT_DESC) &&
	    nents > virtqueue_get_vring_size(vb->iq.vq))
		return -EINVAL;
	return 0;
}

static void vb_inject_count(struct vballoon *vb, int err)
{
	spin_lock(&vb->stats_lock);
	if (!err)
		vb->ctr.inject_messages++;
	else if (err == -ETIMEDOUT)
		vb->ctr.inject_timeouts++;
	spin_unlock(&vb->stats_lock);
}

/*
 * vq=free, freeid and hint lines: one buffer on the free page queue.  A
 * hint's descriptors name addresses as an SG line's do; its token is a
 * byte of its own.
 */
static int vb_inject_free(struct vballoon *vb, const struct vb_inject *in,
			  size_t size)
{
	struct scatterlist one, *sg = &one;
	unsigned int nents = 1;
	bool kept;
	void *buf;
	int err;

	if (in->hint) {
		buf = kmalloc(1, GFP_KERNEL);
		sg = vb_inject_build_sg(in, size);
		nents = size;
		err = -ENOMEM;
		if (!buf || !sg)
			goto out;
	} else {
		buf = vb_inject_build_buf(in, size);
		if (!buf)
			return -ENOMEM;
		sg_init_one(&one, buf, size);
	}
	err = vb_fp_inject(vb, buf, sg, nents, in->hint, VB_INJECT_TIMEOUT,
			   &kept);
	vb_inject_count(vb, err);
	/* A buffer the host did not return stays with the ring; vb frees it. */
	if (kept)
		buf = NULL;
out:
	if (sg != &one)
		kvfree(sg);
	kfree(buf);
	return err;
}

/*
 * A runs line: one order-0 entry per frame, sent as a batch through
 * vb_send(), the negotiated mode's own encoder and transfer, so that a
 * test can see what the encoder makes of a layout that a guest does not
 * produce on demand.  Nothing is allocated or accounted as inflated; the
 * frames should lie outside guest RAM.  vb_inject_size() checked the line
 * against the mode.
 */
static int vb_inject_runs(struct vballoon *vb, const struct vb_inject *in,
			  size_t frames)
{
	struct vb_xfer x = {};
	struct vb_sent sent;
	struct vb_ent *ent;
	unsigned int i, n = 0;
	u64 f;
	int err;

	/* Allocate before taking the inflate queue's lock. */
	ent = kvcalloc(frames, sizeof(*ent), GFP_KERNEL);
	if (!ent)
		return -ENOMEM;
	for (i = 0; i < in->nnum; i += 2)
		for (f = 0; f < in->num[i + 1]; f++)
			ent[n++].pfn = in->num[i] + f;

	err = mutex_lock_interruptible(&vb->iq.lock);
	if (err)
		goto out;
	/* The worker's last batch is still with the host. */
	err = vb->ilimbo ? -EBUSY : vb_queue_ready(vb, &vb->iq);
	if (!err)
		err = vb_send(vb, &vb->iq, ent, n, VB_INJECT_TIMEOUT, &x,
			      &sent);
	mutex_unlock(&vb->iq.lock);
	vb_inject_count(vb, err);
out:
	kvfree(ent);
	return err;
}

static int vb_inject_send(struct vballoon *vb, const struct vb_inject *in,
			  size_t size)
{
	struct scatterlist *sg = NULL;
	void *buf = NULL;
	int err;

	if (in->freevq)
		return vb_inject_free(vb, in, size);
	if (in->runs)
		return vb_inject_runs(vb, in, size);
	if (in->zeroind) {
		err = mutex_lock_interruptible(&vb->iq.lock);
		if (err)
			return err;
		err = vb->iq.vq ? vb_send_zero_indirect(vb, VB_INJECT_TIMEOUT) :
				  -ENODEV;
		mutex_unlock(&vb->iq.lock);
		vb_inject_count(vb, err);
		return err;
	}

	/* SG descriptors only make sense in SG mode, buffers only outside. */
	if ((in->kind == VB_MODE_SG) != (vb->mode == VB_MODE_SG))
		return -EINVAL;
	/* Allocate before taking the inflate queue's lock. */
	if (in->kind == VB_MODE_SG)
		sg = vb_inject_build_sg(in, size);
	else
		buf = vb_inject_build_buf(in, size);
	if (!sg && !buf)
		return -ENOMEM;

	err = mutex_lock_interruptible(&vb->iq.lock);
	if (err)
		goto out;
	if (!vb->iq.vq)
		err = -ENODEV;
	else if (sg)
		err = vb_inject_sg_fits(vb, size + in->wdesc) ?:
		      vb_send_raw_sg(vb, sg, size, in->wdesc,
				     VB_INJECT_TIMEOUT);
	else
		err = vb_send_raw_buf(vb, buf, size, in->wdesc,
				      VB_INJECT_TIMEOUT);
	/* A buffer the host did not return stays with the ring; vb frees it. */
	if (buf && vb->inject_stale_buf == buf)
		buf = NULL;
	mutex_unlock(&vb->iq.lock);
	vb_inject_count(vb, err);
out:
	kfree(buf);
	kvfree(sg);
	return err;
}

static ssize_t vb_inject_write(struct file *file, const char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	struct vballoon *vb = file_inode(file)->i_private;
	struct vb_inject in = {};
	size_t size;
	char *line;
	int err;

	if (!count || count > VB_INJECT_MAX_LINE)
		return -EINVAL;
	line = memdup_user_nul(ubuf, count);
	if (IS_ERR(line))
		return PTR_ERR(line);
	err = vb_parse_line(line, count, &in);
	if (!err)
		err = vb_inject_size(vb, &in, &size);
	if (!err) {
		/* The host may now discard memory the guest is using. */
		add_taint(TAINT_USER, LOCKDEP_STILL_OK);
		err = vb_inject_send(vb, &in, size);
	}
	kvfree(in.num);
	kfree(line);
	return err ? err : count;
}

static const struct file_operations vb_inject_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vb_inject_write,
	.llseek = noop_llseek,
};

void vb_debugfs_init(struct vballoon *vb)
{
	char name[32] = "vballoon";
	struct dentry *old;

	/* A second balloon device gets vballoon.<index>. */
	old = debugfs_lookup(name, NULL);
	if (old) {
		dput(old);
		snprintf(name, sizeof(name), "vballoon.%d", vb->vdev->index);
	}
	vb->debugfs = debugfs_create_dir(name, NULL);
	debugfs_create_file("stats", 0600, vb->debugfs, vb, &vb_stats_fops);
	debugfs_create_file("reset", 0200, vb->debugfs, vb, &vb_reset_fops);
	if (vb_allow_inject)
		debugfs_create_file("inject", 0200, vb->debugfs, vb,
				    &vb_inject_fops);
}

void vb_debugfs_exit(struct vballoon *vb)
{
	debugfs_remove(vb->debugfs);
	vb->debugfs = NULL;
}
