// SPDX-License-Identifier: GPL-2.0
/*
 * statsvq.c - the upstream memory statistics queue (STATS_VQ).
 *
 * The driver keeps one buffer of (tag, value) pairs posted on the stats
 * queue.  When the host wants fresh figures it returns the buffer; the
 * driver refills it and posts it again.  Tags and units are those of
 * include/uapi/linux/virtio_balloon.h: memory in bytes, faults as counts.
 */
#include <linux/mm.h>
#include <linux/vmstat.h>
#include <linux/virtio_config.h>

#include "vballoon.h"

static void vb_stat(struct vballoon *vb, unsigned int *i, u16 tag, u64 val)
{
	if (WARN_ON_ONCE(*i >= VIRTIO_BALLOON_S_NR))
		return;
	vb->stats[*i].tag = cpu_to_virtio16(vb->vdev, tag);
	vb->stats[*i].val = cpu_to_virtio64(vb->vdev, val);
	(*i)++;
}

static u64 vb_bytes(unsigned long pages)
{
	return (u64)pages << PAGE_SHIFT;
}

/* Refill vb->stats; returns the number of entries. */
static unsigned int vb_fill_stats(struct vballoon *vb)
{
	struct sysinfo si;
	unsigned int i = 0;
#ifdef CONFIG_VM_EVENT_COUNTERS
	unsigned long ev[NR_VM_EVENT_ITEMS];

	all_vm_events(ev);
	vb_stat(vb, &i, VIRTIO_BALLOON_S_SWAP_IN, vb_bytes(ev[PSWPIN]));
	vb_stat(vb, &i, VIRTIO_BALLOON_S_SWAP_OUT, vb_bytes(ev[PSWPOUT]));
	vb_stat(vb, &i, VIRTIO_BALLOON_S_MAJFLT, ev[PGMAJFAULT]);
	/* All faults, as the upstream driver reports them. */
	vb_stat(vb, &i, VIRTIO_BALLOON_S_MINFLT, ev[PGFAULT]);
#ifdef CONFIG_HUGETLB_PAGE
	vb_stat(vb, &i, VIRTIO_BALLOON_S_HTLB_PGALLOC,
		ev[HTLB_BUDDY_PGALLOC]);
	vb_stat(vb, &i, VIRTIO_BALLOON_S_HTLB_PGFAIL,
		ev[HTLB_BUDDY_PGALLOC_FAIL]);
#endif
#endif
	si_meminfo(&si);
	vb_stat(vb, &i, VIRTIO_BALLOON_S_MEMFREE, vb_bytes(si.freeram));
	vb_stat(vb, &i, VIRTIO_BALLOON_S_MEMTOT, vb_bytes(si.totalram));
	vb_stat(vb, &i, VIRTIO_BALLOON_S_AVAIL,
		vb_bytes(si_mem_available()));
	vb_stat(vb, &i, VIRTIO_BALLOON_S_CACHES,
		vb_bytes(global_node_page_state(NR_FILE_PAGES)));
	return i;
}

static int vb_stats_post(struct vballoon *vb)
{
	struct scatterlist sg;
	unsigned int n = vb_fill_stats(vb);
	int err;

	sg_init_one(&sg, vb->stats, sizeof(vb->stats[0]) * n);
	err = virtqueue_add_outbuf(vb->svq, &sg, 1, vb, GFP_KERNEL);
	if (err)
		return err;
	virtqueue_kick(vb->svq);
	spin_lock(&vb->stats_lock);
	vb->ctr.stats_updates++;
	spin_unlock(&vb->stats_lock);
	return 0;
}

/* Post the first buffer, so the host has one to return when it asks. */
int vb_statsvq_start(struct vballoon *vb)
{
	return vb_stats_post(vb);
}

/* The host returned the buffer: it wants fresh figures (may be in IRQ). */
void vb_statsvq_request(struct virtqueue *vq)
{
	struct vballoon *vb = vq->vdev->priv;

	vb_queue_work(vb, system_freezable_wq, &vb->stats_work);
}

void vb_statsvq_work(struct work_struct *work)
{
	struct vballoon *vb = container_of(work, struct vballoon, stats_work);
	unsigned int len;
	int err;

	if (!virtqueue_get_buf(vb->svq, &len))
		return;
	err = vb_stats_post(vb);
	if (err)
		dev_warn_ratelimited(&vb->vdev->dev,
				     "stats buffer not posted: %d\n", err);
}
