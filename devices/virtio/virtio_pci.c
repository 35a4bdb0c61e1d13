/* The modern virtio-pci transport (virtio 1.2 §4.1): config space, capabilities, common config,
 * notify, MSI-X. */
#include "devices/virtio/virtio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040 /* §4.1.2.1: 0x1040 + device ID */
#define VIRTIO_PCI_SUBSYSTEM_ID 0x40

/* Capability types (§4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define PCI_CAP_ID_VNDR		  0x09

/* Capability chain in config space. */
#define CAP_MSIX   0x40
#define CAP_COMMON 0x4c
#define CAP_ISR	   0x5c
#define CAP_DEVICE 0x6c
#define CAP_NOTIFY 0x7c /* 20 bytes: ends at 0x90 */

/* Common configuration offsets (§4.1.4.3). */
#define COMMON_DFSELECT	     0x00
#define COMMON_DF	     0x04
#define COMMON_GFSELECT	     0x08
#define COMMON_GF	     0x0c
#define COMMON_MSIX	     0x10
#define COMMON_NUMQ	     0x12
#define COMMON_STATUS	     0x14
#define COMMON_CFGGENERATION 0x15
#define COMMON_Q_SELECT	     0x16
#define COMMON_Q_SIZE	     0x18
#define COMMON_Q_MSIX	     0x1a
#define COMMON_Q_ENABLE	     0x1c
#define COMMON_Q_NOFF	     0x1e
#define COMMON_Q_DESCLO	     0x20
#define COMMON_Q_DESCHI	     0x24
#define COMMON_Q_AVAILLO     0x28
#define COMMON_Q_AVAILHI     0x2c
#define COMMON_Q_USEDLO	     0x30
#define COMMON_Q_USEDHI	     0x34
#define COMMON_SIZE	     0x38

static void virtio_pci_kick_done(struct io_loop_op *op, int res);

unsigned int virtio_pci_vector_count(const struct virtio_device_ops *ops, unsigned int num_queues)
{
	return ops->shared_queue_vector ? 2 : 1 + num_queues;
}

static void virtio_pci_put_cap(uint8_t *cfg, unsigned int at, uint8_t next, uint8_t type,
			       uint8_t cap_len, uint32_t offset, uint32_t length)
{
	cfg[at] = PCI_CAP_ID_VNDR;
	cfg[at + 1] = next;
	cfg[at + 2] = cap_len;
	cfg[at + 3] = type;
	cfg[at + 4] = 0; /* BAR 0 */
	le_put(cfg + at + 8, 4, offset);
	le_put(cfg + at + 12, 4, length);
}

static void virtio_pci_build_config(struct virtio_pci *vp, uint64_t bar_addr)
{
	struct pci_function *fn = &vp->fn;
	uint8_t *cfg = fn->config;

	pci_function_init(fn, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + vp->ops->device_id,
			  vp->ops->pci_class, VIRTIO_PCI_BAR_SIZE, bar_addr);
	cfg[PCI_REVISION_ID] = 1; /* §4.1.2.1: modern devices have revision >= 1 */
	le_put(cfg + PCI_SUBSYSTEM_VENDOR_ID, 2, VIRTIO_PCI_VENDOR);
	le_put(cfg + PCI_SUBSYSTEM_ID, 2, VIRTIO_PCI_SUBSYSTEM_ID);
	le_put(cfg + PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	cfg[PCI_CAPABILITY_LIST] = CAP_MSIX;
	cfg[PCI_INTERRUPT_PIN] = 0; /* MSI-X only: no INTx (acpi-notes 2.6) */
	msix_write_capability(&vp->msix, cfg + CAP_MSIX, CAP_COMMON, VIRTIO_PCI_MSIX_TABLE_OFFSET,
			      VIRTIO_PCI_MSIX_PBA_OFFSET, 0);
	/* Message Control's enable and function-mask bits are the guest's. */
	fn->wmask[CAP_MSIX + 3] = 0xc0;
	virtio_pci_put_cap(cfg, CAP_COMMON, CAP_ISR, VIRTIO_PCI_CAP_COMMON_CFG, 16,
			   VIRTIO_PCI_COMMON_OFFSET, COMMON_SIZE);
	virtio_pci_put_cap(cfg, CAP_ISR, CAP_DEVICE, VIRTIO_PCI_CAP_ISR_CFG, 16,
			   VIRTIO_PCI_ISR_OFFSET, 4);
	virtio_pci_put_cap(cfg, CAP_DEVICE, CAP_NOTIFY, VIRTIO_PCI_CAP_DEVICE_CFG, 16,
			   VIRTIO_PCI_DEVICE_OFFSET,
			   vp->ops->config_size ? vp->ops->config_size : 4);
	virtio_pci_put_cap(cfg, CAP_NOTIFY, 0, VIRTIO_PCI_CAP_NOTIFY_CFG, 20,
			   VIRTIO_PCI_NOTIFY_OFFSET, VIRTIO_PCI_NOTIFY_MULTIPLIER * vp->num_queues);
	le_put(cfg + CAP_NOTIFY + 16, 4, VIRTIO_PCI_NOTIFY_MULTIPLIER);
}

/* ---- notify and ioeventfds ---- */

static uint64_t virtio_pci_notify_addr(const struct virtio_pci *vp, unsigned int q)
{
	return vp->fn.bar_addr + VIRTIO_PCI_NOTIFY_OFFSET +
	       (uint64_t)q * VIRTIO_PCI_NOTIFY_MULTIPLIER;
}

/* Called with vp->lock held: point each queue's ioeventfd at the current BAR, or drop it. */
static void virtio_pci_update_ioeventfds(struct virtio_pci *vp, bool want)
{
	for (unsigned int q = 0; q < vp->num_queues; q++) {
		struct virtio_pci_queue *vq = &vp->queues[q];
		uint64_t addr = virtio_pci_notify_addr(vp, q);

		if (vq->ioeventfd_addr_valid && (!want || vq->ioeventfd_addr != addr)) {
			vp->host.ioeventfd(vp->host.ctx, vq->ioeventfd_addr, vq->kick_fd, false);
			vq->ioeventfd_addr_valid = false;
		}
		if (want && !vq->ioeventfd_addr_valid &&
		    vp->host.ioeventfd(vp->host.ctx, addr, vq->kick_fd, true) == 0) {
			vq->ioeventfd_addr = addr;
			vq->ioeventfd_addr_valid = true;
		}
	}
}

static void virtio_pci_bar_changed(struct pci_function *fn, uint64_t addr, bool enabled)
{
	struct virtio_pci *vp = fn->opaque;

	(void)addr;
	pthread_mutex_lock(&vp->lock);
	virtio_pci_update_ioeventfds(vp, enabled && (vp->status & VIRTIO_STATUS_DRIVER_OK));
	pthread_mutex_unlock(&vp->lock);
}

static void virtio_pci_kick(struct virtio_pci *vp, unsigned int q)
{
	uint64_t one = 1;

	/* A notify that reached us as an MMIO exit (no ioeventfd yet) takes the same path. */
	if (q < vp->num_queues) {
		ssize_t ignored = write(vp->queues[q].kick_fd, &one, sizeof(one));
		(void)ignored;
	}
}

static void virtio_pci_kick_done(struct io_loop_op *op, int res)
{
	struct virtio_pci_queue *vq = op->opaque;
	struct virtio_pci *vp = vq->vp;
	unsigned int q = (unsigned int)(vq - vp->queues);

	(void)res;
	if (vp->live && vq->vq.ready && !vq->vq.broken)
		vp->ops->queue_notify(vp->dev, q);
	if (io_loop_read(vp->host.loop, op, vq->kick_fd, &vq->kick_buf, sizeof(vq->kick_buf)))
		virtio_pci_set_broken(vp, q, "cannot re-arm a queue notification");
}

/* ---- activation and reset (loop thread) ---- */

static void virtio_pci_activate_work(void *arg)
{
	struct virtio_pci *vp = arg;
	bool event_idx = vp->negotiated & VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
	bool indirect = vp->negotiated & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);

	for (unsigned int q = 0; q < vp->num_queues; q++) {
		struct virtio_pci_queue *vq = &vp->queues[q];

		virtq_reset(&vq->vq);
		pthread_mutex_lock(&vp->lock);
		struct virtio_pci_queue regs = *vq;

		pthread_mutex_unlock(&vp->lock);
		vq->vector = regs.msix_vector;
		if (!regs.enabled)
			continue;
		/* GUEST: ring addresses and size are checked against RAM by virtq_activate. */
		if (virtq_activate(&vq->vq, vp->host.ram, regs.size, regs.desc, regs.driver,
				   regs.device, event_idx, indirect)) {
			virtio_pci_set_broken(vp, q, vq->vq.error);
			return;
		}
	}
	vp->live = true;
	__atomic_add_fetch(&vp->activations, 1, __ATOMIC_RELAXED);
	if (vp->ops->activate(vp->dev, vp)) {
		virtio_pci_set_broken(vp, VIRTIO_PCI_NO_QUEUE, "the device could not start");
		return;
	}
	if (vp->ops->backend_queues)
		return;
	/* Kicks that arrived before activation are not lost: look at every queue once. */
	for (unsigned int q = 0; q < vp->num_queues; q++)
		if (vp->queues[q].vq.ready && vp->live)
			vp->ops->queue_notify(vp->dev, q);
}

static void virtio_pci_reset_work(void *arg)
{
	struct virtio_pci *vp = arg;

	if (vp->activations)
		__atomic_fetch_add(&vp->resets, 1, __ATOMIC_RELAXED);
	if (vp->ops->reset)
		vp->ops->reset(vp->dev);
	vp->live = false;
	vp->broken_logged = false;
	for (unsigned int q = 0; q < vp->num_queues; q++)
		virtq_reset(&vp->queues[q].vq);
	pthread_mutex_lock(&vp->lock);
	vp->reset_pending = false;
	pthread_cond_broadcast(&vp->reset_done);
	pthread_mutex_unlock(&vp->lock);
}

/* Called with vp->lock held; returns with it held once the loop has quiesced the device. */
static void virtio_pci_reset(struct virtio_pci *vp)
{
	virtio_pci_update_ioeventfds(vp, false);
	if (vp->host.loop->started) {
		/* Two vCPUs may reset at once: the second waits for the first's run. */
		if (!vp->reset_pending) {
			vp->reset_pending = true;
			io_loop_call(vp->host.loop, &vp->reset_call);
		}
		/* §4.1.4.3.2: the driver re-reads status until 0, so finish before answering. */
		while (vp->reset_pending)
			pthread_cond_wait(&vp->reset_done, &vp->lock);
	}
	vp->status = 0;
	vp->driver_features = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->queue_select = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (unsigned int q = 0; q < vp->num_queues; q++) {
		struct virtio_pci_queue *vq = &vp->queues[q];

		vq->size = vp->ops->queue_max_size_of ? vp->ops->queue_max_size_of(q)
						      : vp->ops->queue_max_size;
		vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
		vq->enabled = false;
		vq->desc = vq->driver = vq->device = 0;
	}
}

static void virtio_pci_set_status(struct virtio_pci *vp, uint8_t status)
{
	uint8_t old = vp->status;

	if (status == 0) {
		virtio_pci_reset(vp);
		return;
	}
	/*
	 * §2.1.1: the driver clears status bits only by writing 0. A write that
	 * tries (DRIVER_OK, then 0x0b, then DRIVER_OK again) keeps the bits set,
	 * so the device activates once per reset: a second activation would
	 * hand the vhost-user back-end rings it has already started.
	 */
	status |= old & (uint8_t)~VIRTIO_STATUS_NEEDS_RESET;
	/* §2.2.2: refuse FEATURES_OK when the driver asked for bits we lack or skipped VERSION_1.
	 */
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vp->driver_features & ~vp->device_features) ||
	     !(vp->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))))
		status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	vp->status = status | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    (status & VIRTIO_STATUS_FEATURES_OK)) {
		vp->negotiated = vp->driver_features;
		virtio_pci_update_ioeventfds(vp, vp->fn.bar_enabled);
		io_loop_call(vp->host.loop, &vp->activate_call);
	}
}

/* ---- common configuration (vCPU threads, vp->lock held) ---- */

static uint32_t virtio_pci_common_read(struct virtio_pci *vp, unsigned int off)
{
	const struct virtio_pci_queue *vq =
	    vp->queue_select < vp->num_queues ? &vp->queues[vp->queue_select] : NULL;

	switch (off) {
	case COMMON_DFSELECT:
		return vp->device_feature_select;
	case COMMON_DF:
		return vp->device_feature_select < 2
			   ? (uint32_t)(vp->device_features >> (32 * vp->device_feature_select))
			   : 0;
	case COMMON_GFSELECT:
		return vp->driver_feature_select;
	case COMMON_GF:
		return vp->driver_feature_select < 2
			   ? (uint32_t)(vp->driver_features >> (32 * vp->driver_feature_select))
			   : 0;
	case COMMON_MSIX:
		return vp->msix_config;
	case COMMON_NUMQ:
		return vp->num_queues;
	case COMMON_STATUS:
		return vp->status;
	case COMMON_CFGGENERATION:
		return vp->config_generation;
	case COMMON_Q_SELECT:
		return vp->queue_select;
	/* §4.1.4.3.2: an out-of-range queue_select reads size 0. */
	case COMMON_Q_SIZE:
		return vq ? vq->size : 0;
	case COMMON_Q_MSIX:
		return vq ? vq->msix_vector : VIRTIO_MSI_NO_VECTOR;
	case COMMON_Q_ENABLE:
		return vq ? vq->enabled : 0;
	case COMMON_Q_NOFF:
		return vp->queue_select;
	case COMMON_Q_DESCLO:
		return vq ? (uint32_t)vq->desc : 0;
	case COMMON_Q_DESCHI:
		return vq ? (uint32_t)(vq->desc >> 32) : 0;
	case COMMON_Q_AVAILLO:
		return vq ? (uint32_t)vq->driver : 0;
	case COMMON_Q_AVAILHI:
		return vq ? (uint32_t)(vq->driver >> 32) : 0;
	case COMMON_Q_USEDLO:
		return vq ? (uint32_t)vq->device : 0;
	case COMMON_Q_USEDHI:
		return vq ? (uint32_t)(vq->device >> 32) : 0;
	default:
		return 0;
	}
}

static void virtio_pci_set_addr_half(uint64_t *field, bool high, uint32_t v)
{
	if (high)
		*field = (*field & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*field = (*field & ~0xffffffffULL) | v;
}

static uint16_t virtio_pci_checked_vector(const struct virtio_pci *vp, uint32_t v)
{
	/* §4.1.5.1.2: a vector the function does not have reads back as NO_VECTOR. */
	return v < vp->vectors ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void virtio_pci_queue_write(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	struct virtio_pci_queue *vq = &vp->queues[vp->queue_select];

	/* §4.1.4.3.2: queue registers are frozen once DRIVER_OK is set. */
	if (vp->status & VIRTIO_STATUS_DRIVER_OK && off != COMMON_Q_MSIX)
		return;
	switch (off) {
	case COMMON_Q_SIZE:
		vq->size = (uint16_t)v;
		break;
	case COMMON_Q_MSIX:
		vq->msix_vector = virtio_pci_checked_vector(vp, v);
		break;
	case COMMON_Q_ENABLE:
		vq->enabled = v == 1;
		break;
	case COMMON_Q_DESCLO:
		virtio_pci_set_addr_half(&vq->desc, false, v);
		break;
	case COMMON_Q_DESCHI:
		virtio_pci_set_addr_half(&vq->desc, true, v);
		break;
	case COMMON_Q_AVAILLO:
		virtio_pci_set_addr_half(&vq->driver, false, v);
		break;
	case COMMON_Q_AVAILHI:
		virtio_pci_set_addr_half(&vq->driver, true, v);
		break;
	case COMMON_Q_USEDLO:
		virtio_pci_set_addr_half(&vq->device, false, v);
		break;
	case COMMON_Q_USEDHI:
		virtio_pci_set_addr_half(&vq->device, true, v);
		break;
	default:
		break;
	}
}

static void virtio_pci_common_write(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	switch (off) {
	case COMMON_DFSELECT:
		vp->device_feature_select = v;
		return;
	case COMMON_GFSELECT:
		vp->driver_feature_select = v;
		return;
	case COMMON_GF:
		if (vp->driver_feature_select < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK))
			virtio_pci_set_addr_half(&vp->driver_features, vp->driver_feature_select,
						 v);
		return;
	case COMMON_MSIX:
		vp->msix_config = virtio_pci_checked_vector(vp, v);
		return;
	case COMMON_STATUS:
		virtio_pci_set_status(vp, (uint8_t)v);
		return;
	case COMMON_Q_SELECT:
		vp->queue_select = (uint16_t)v;
		return;
	default:
		if (off >= COMMON_Q_SIZE && vp->queue_select < vp->num_queues)
			virtio_pci_queue_write(vp, off, v);
		return;
	}
}

/* Field width of each common register: accesses must match it (§4.1.3.1). */
static unsigned int virtio_pci_common_width(unsigned int off)
{
	if (off < COMMON_MSIX || (off >= COMMON_Q_DESCLO && off < COMMON_SIZE))
		return 4;
	if (off == COMMON_STATUS || off == COMMON_CFGGENERATION)
		return 1;
	return 2;
}

/* ---- BAR0 ---- */

static void virtio_pci_bar_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct virtio_pci *vp = opaque;
	uint32_t v = 0;

	memset(data, 0, size);
	if (offset >= VIRTIO_PCI_MSIX_PBA_OFFSET) {
		msix_pba_read(&vp->msix, offset - VIRTIO_PCI_MSIX_PBA_OFFSET, data, size);
		return;
	}
	if (offset >= VIRTIO_PCI_MSIX_TABLE_OFFSET) {
		msix_table_read(&vp->msix, offset - VIRTIO_PCI_MSIX_TABLE_OFFSET, data, size);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (offset < COMMON_SIZE) {
		if (size == virtio_pci_common_width((unsigned int)offset) && size <= 4)
			v = virtio_pci_common_read(vp, (unsigned int)offset);
		le_put(data, size, v);
	} else if (offset >= VIRTIO_PCI_DEVICE_OFFSET && offset < VIRTIO_PCI_NOTIFY_OFFSET) {
		uint64_t off = offset - VIRTIO_PCI_DEVICE_OFFSET;

		if (vp->ops->config_read && off + size <= vp->ops->config_size)
			vp->ops->config_read(vp->dev, (uint32_t)off, data, size);
	}
	/* ISR reads 0: with MSI-X the ISR is unused (§4.1.4.5). */
	pthread_mutex_unlock(&vp->lock);
}

static void virtio_pci_bar_write(void *opaque, uint64_t offset, const uint8_t *data,
				 unsigned int size)
{
	struct virtio_pci *vp = opaque;

	if (offset >= VIRTIO_PCI_MSIX_PBA_OFFSET)
		return;
	if (offset >= VIRTIO_PCI_MSIX_TABLE_OFFSET) {
		msix_table_write(&vp->msix, offset - VIRTIO_PCI_MSIX_TABLE_OFFSET, data, size);
		return;
	}
	if (offset >= VIRTIO_PCI_NOTIFY_OFFSET) {
		virtio_pci_kick(vp, (unsigned int)((offset - VIRTIO_PCI_NOTIFY_OFFSET) /
						   VIRTIO_PCI_NOTIFY_MULTIPLIER));
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (offset < COMMON_SIZE) {
		if (size == virtio_pci_common_width((unsigned int)offset) && size <= 4)
			virtio_pci_common_write(vp, (unsigned int)offset,
						(uint32_t)le_get(data, size));
	} else if (offset >= VIRTIO_PCI_DEVICE_OFFSET) {
		uint64_t off = offset - VIRTIO_PCI_DEVICE_OFFSET;

		if (vp->ops->config_write && off + size <= vp->ops->config_size)
			vp->ops->config_write(vp->dev, (uint32_t)off, data, size);
	}
	pthread_mutex_unlock(&vp->lock);
}

static const struct io_ops virtio_pci_bar_ops = {.read = virtio_pci_bar_read,
						 .write = virtio_pci_bar_write};

/* Config-space writes that have side effects: MSI-X Message Control. */
static void virtio_pci_config_write(struct pci_function *fn, unsigned int offset, unsigned int size)
{
	struct virtio_pci *vp = fn->opaque;

	if (offset < CAP_MSIX + 4 && offset + size > CAP_MSIX + 2)
		msix_set_control(&vp->msix, (uint16_t)le_get(fn->config + CAP_MSIX + 2, 2));
}

/* ---- life cycle ---- */

int virtio_pci_init(struct virtio_pci *vp, const struct virtio_device_ops *ops, void *dev,
		    const struct virtio_pci_host *host, uint64_t bar_addr)
{
	return virtio_pci_init_queues(vp, ops, dev, host, bar_addr, ops->num_queues);
}

int virtio_pci_init_queues(struct virtio_pci *vp, const struct virtio_device_ops *ops, void *dev,
			   const struct virtio_pci_host *host, uint64_t bar_addr,
			   unsigned int num_queues)
{
	int ret;

	memset(vp, 0, sizeof(*vp));
	vp->activate_call = (struct io_loop_call){.fn = virtio_pci_activate_work, .arg = vp};
	vp->reset_call = (struct io_loop_call){.fn = virtio_pci_reset_work, .arg = vp};
	for (unsigned int q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++)
		vp->queues[q].kick_fd = -1;
	if (num_queues == 0 || num_queues > ops->num_queues || num_queues > VIRTIO_PCI_MAX_QUEUES)
		return -EINVAL;
	vp->num_queues = num_queues;
	vp->ops = ops;
	vp->dev = dev;
	vp->host = *host;
	vp->vectors = virtio_pci_vector_count(ops, num_queues);
	vp->device_features = ops->features | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			      VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	ret = msix_init(&vp->msix, vp->vectors, host->msix_sink);
	if (ret)
		return ret;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_cond_init(&vp->reset_done, NULL);
	virtio_pci_build_config(vp, bar_addr);
	vp->fn.opaque = vp;
	vp->fn.write = virtio_pci_config_write;
	vp->fn.bar_ops = &virtio_pci_bar_ops;
	vp->fn.bar_opaque = vp;
	vp->fn.bar_changed = virtio_pci_bar_changed;
	pthread_mutex_lock(&vp->lock);
	virtio_pci_reset(vp);
	pthread_mutex_unlock(&vp->lock);
	for (unsigned int q = 0; q < num_queues; q++) {
		struct virtio_pci_queue *vq = &vp->queues[q];

		vq->vp = vp;
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->kick_fd < 0)
			return -errno;
		if (ops->backend_queues)
			continue; /* the back-end reads kicks itself */
		vq->kick_op = (struct io_loop_op){.cb = virtio_pci_kick_done, .opaque = vq};
		ret = io_loop_read(host->loop, &vq->kick_op, vq->kick_fd, &vq->kick_buf,
				   sizeof(vq->kick_buf));
		if (ret)
			return ret;
	}
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp->ops)
		return;
	for (unsigned int q = 0; q < VIRTIO_PCI_MAX_QUEUES; q++) {
		if (vp->queues[q].kick_fd >= 0)
			close(vp->queues[q].kick_fd);
		vp->queues[q].kick_fd = -1;
	}
	msix_destroy(&vp->msix);
	pthread_cond_destroy(&vp->reset_done);
	pthread_mutex_destroy(&vp->lock);
	vp->ops = NULL;
}

static void virtio_pci_raise(struct virtio_pci *vp, uint16_t vector)
{
	uint64_t one = 1;

	if (vector >= vp->vectors || !vp->host.msi_fds)
		return;
	ssize_t ignored = write(vp->host.msi_fds[vector], &one, sizeof(one));
	(void)ignored;
}

void virtio_pci_limit_features(struct virtio_pci *vp, uint64_t mask)
{
	/* VERSION_1 is what makes this a modern device: never drop it. */
	vp->device_features &= mask | VIRTIO_BIT(VIRTIO_F_VERSION_1);
}

int virtio_pci_queue_call_fd(const struct virtio_pci *vp, unsigned int queue)
{
	uint16_t vector = vp->queues[queue].vector;

	if (vector >= vp->vectors || !vp->host.msi_fds)
		return -1;
	return vp->host.msi_fds[vector];
}

void virtio_pci_notify_queue(struct virtio_pci *vp, unsigned int queue)
{
	struct virtio_pci_queue *vq = &vp->queues[queue];

	if (virtq_should_notify(&vq->vq))
		virtio_pci_raise(vp, vq->vector);
}

/* One line per reset: a guest that keeps a broken device busy cannot repeat it. */
static void virtio_pci_log_broken(struct virtio_pci *vp, unsigned int queue, const char *why)
{
	char line[256];

	if (vp->broken_logged || !vp->host.log)
		return;
	vp->broken_logged = true;
	if (!why)
		why = "unknown";
	if (queue == VIRTIO_PCI_NO_QUEUE)
		snprintf(line, sizeof(line), "virtio-%s: device broken: %s", vp->ops->name, why);
	else
		snprintf(line, sizeof(line), "virtio-%s: queue %u broken: %s", vp->ops->name, queue,
			 why);
	vp->host.log(vp->host.ctx, line);
}

void virtio_pci_set_broken(struct virtio_pci *vp, unsigned int queue, const char *why)
{
	uint16_t vector;

	virtio_pci_log_broken(vp, queue, why);
	vp->live = false;
	pthread_mutex_lock(&vp->lock);
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	vp->config_generation++;
	vector = vp->msix_config;
	pthread_mutex_unlock(&vp->lock);
	/* §4.1.5.2: NEEDS_RESET is announced with a configuration change notification. */
	virtio_pci_raise(vp, vector);
}

bool virtio_pci_was_disrupted(struct virtio_pci *vp)
{
	pthread_mutex_lock(&vp->lock);
	bool needs_reset = vp->status & VIRTIO_STATUS_NEEDS_RESET;

	pthread_mutex_unlock(&vp->lock);
	return needs_reset || __atomic_load_n(&vp->activations, __ATOMIC_RELAXED) > 1;
}
