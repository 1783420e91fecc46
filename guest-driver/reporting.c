// SPDX-License-Identifier: GPL-2.0
/*
 * reporting.c - free page reporting (upstream feature bit 5, REPORTING).
 *
 * The kernel's page_reporting core takes free blocks of at least
 * pageblock order off the free lists and hands them to us as one
 * scatterlist of at most PAGE_REPORTING_CAPACITY entries.  We post it on
 * the reporting queue as one buffer of device-writable descriptors (the
 * format upstream QEMU reads), and return only once the host has given
 * the buffer back: the host discards the memory while it holds the
 * buffer, so the blocks may go back to the free lists only after that.
 *
 * A host that does not answer keeps the blocks and the reporting worker
 * waiting, and nothing else: no lock is held while we wait, and neither
 * reclaim nor the OOM notifier waits for the reporting worker.  A reset
 * of the device (removal, freeze) ends the wait, since a reset host acts
 * on nothing it had not already handled.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/page_reporting.h>
#include <linux/scatterlist.h>
#include <linux/virtio.h>

#include "vballoon.h"

bool vb_reporting_param = true;
module_param_named(reporting, vb_reporting_param, bool, 0444);
MODULE_PARM_DESC(reporting,
		 "acknowledge free page reporting (REPORTING, bit 5) when offered");

/* How long between two complaints about a report the host keeps. */
#define VB_REPORT_WARN_PERIOD	(10 * HZ)

void vb_reporting_done(struct virtqueue *vq)
{
	struct vballoon *vb = vq->vdev->priv;

	wake_up(&vb->acked);
}

/*
 * The host gave the buffer back, or it never will act on it (the device
 * was reset).  A queue the guest found broken is not enough: the host may
 * still be running and discard the blocks, so we keep waiting, until the
 * reset that removal or freeze makes.
 */
static bool vb_report_back(struct vballoon *vb, bool *lost)
{
	unsigned int len;

	if (virtqueue_get_buf(vb->rvq, &len))
		return true;
	*lost = READ_ONCE(vb->rvq_reset);
	return *lost;
}

static int vb_report(struct page_reporting_dev_info *pr,
		     struct scatterlist *sg, unsigned int nents)
{
	struct vballoon *vb = container_of(pr, struct vballoon, prdev);
	unsigned long pages = 0, waits = 0;
	u64 t0 = ktime_get_ns();
	struct scatterlist *s;
	bool lost = false;
	unsigned int i;
	int err;

	if (READ_ONCE(vb->rvq_reset))
		return -ENODEV;
	for_each_sg(sg, s, nents, i)
		pages += s->length >> PAGE_SHIFT;
	/* GFP_NOWAIT: an indirect table, else direct descriptors. */
	err = virtqueue_add_inbuf(vb->rvq, sg, nents, vb,
				  GFP_NOWAIT | __GFP_NOWARN);
	if (err)
		goto out;
	virtqueue_kick(vb->rvq);
	while (!wait_event_timeout(vb->acked, vb_report_back(vb, &lost),
				   VB_REPORT_WARN_PERIOD)) {
		waits++;
		dev_warn(&vb->vdev->dev,
			 "the host has kept a free page report of %lu pages for %lu s\n",
			 pages, waits * VB_REPORT_WARN_PERIOD / HZ);
	}
	if (lost)
		err = -EIO;
out:
	spin_lock(&vb->stats_lock);
	if (err) {
		vb->ctr.report_errors++;
	} else {
		vb->ctr.report_requests++;
		vb->ctr.report_pages += pages;
	}
	vb->ctr.report_slow += waits;
	vb->ctr.report_ns += ktime_get_ns() - t0;
	spin_unlock(&vb->stats_lock);
	return err;
}

/* After DRIVER_OK: reports may start at once. */
void vb_reporting_start(struct vballoon *vb)
{
	int err;

	if (!vb->rvq || vb->reporting)
		return;
	WRITE_ONCE(vb->rvq_reset, false);
	vb->prdev.report = vb_report;
	err = page_reporting_register(&vb->prdev);
	if (err) {
		/* -EBUSY: another device reports already. */
		dev_warn(&vb->vdev->dev,
			 "free page reporting not started: %d\n", err);
		return;
	}
	vb->reporting = true;
}

/*
 * After the device was reset: a report the host still had ends (the host
 * will not act on it any more), and no new one starts.
 */
void vb_reporting_stop(struct vballoon *vb)
{
	WRITE_ONCE(vb->rvq_reset, true);
	wake_up(&vb->acked);
	if (vb->reporting)
		page_reporting_unregister(&vb->prdev);
	vb->reporting = false;
}
