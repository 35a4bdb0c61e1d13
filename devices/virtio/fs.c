/* virtio-fs (virtio 1.2 §5.11) as a vhost-user front-end: virtiofsd serves the queues itself. */
#include "devices/virtio/fs.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/io.h"
#include "devices/virtio/virtio.h"

/* Ring features both C and Rust virtiofsd implement; anything else stays off. */
#define VIRTIO_FS_RING_FEATURES                                                                    \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |                         \
	 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))

static void virtio_fs_backend_gone(struct virtio_fs *fs)
{
	if (fs->gone)
		return;
	fs->gone = true;
	virtio_pci_set_broken(&fs->vp, VIRTIO_PCI_NO_QUEUE, "the vhost-user back-end is gone");
	if (fs->on_gone)
		fs->on_gone(fs->gone_ctx, fs);
}

static void virtio_fs_config_read(void *dev, uint32_t offset, uint8_t *data, unsigned int size)
{
	struct virtio_fs *fs = dev;

	/* The transport checked offset + size <= config_size. */
	memcpy(data, fs->config + offset, size);
}

/* Hands one enabled queue to the back-end: vhost-user.rst "Starting and stopping rings". */
static int virtio_fs_start_queue(struct virtio_fs *fs, struct virtio_pci *vp, unsigned int q)
{
	const struct virtq *vq = &vp->queues[q].vq;
	int ret;

	/* A fresh ring starts at index 0 (virtio 1.2 §2.7.6); the back-end reads used->idx. */
	ret = vhost_user_set_vring_num(&fs->vu, q, vq->size);
	if (!ret)
		ret = vhost_user_set_vring_base(&fs->vu, q, 0);
	/* vhost-user takes ring addresses in the front-end's address space, not GPAs. */
	if (!ret)
		ret = vhost_user_set_vring_addr(&fs->vu, q, (uint64_t)(uintptr_t)vq->desc,
						(uint64_t)(uintptr_t)vq->used,
						(uint64_t)(uintptr_t)vq->avail);
	/* CALL before KICK: the back-end starts the ring when the kick fd arrives. */
	if (!ret)
		ret = vhost_user_set_vring_call(&fs->vu, q, virtio_pci_queue_call_fd(vp, q));
	if (!ret)
		ret = vhost_user_set_vring_kick(&fs->vu, q, vp->queues[q].kick_fd);
	return ret;
}

static int virtio_fs_activate(void *dev, struct virtio_pci *vp)
{
	struct virtio_fs *fs = dev;
	/* The guest's choice, plus the protocol extension the back-end needs to enable rings. */
	uint64_t features = vp->negotiated & VIRTIO_FS_RING_FEATURES;
	int ret;

	if (fs->gone)
		return -EPIPE;
	if (fs->protocol_features)
		features |= VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	ret = vhost_user_set_features(&fs->vu, features);
	/* The table must precede ring addresses: they are translated through it. */
	if (!ret)
		ret = vhost_user_set_mem_table(&fs->vu, fs->regions, fs->region_count);
	for (unsigned int q = 0; q < VIRTIO_FS_QUEUES && !ret; q++)
		if (vp->queues[q].vq.ready)
			ret = virtio_fs_start_queue(fs, vp, q);
	fs->started = true;
	/* With the extension negotiated, rings start disabled until SET_VRING_ENABLE. */
	for (unsigned int q = 0; q < VIRTIO_FS_QUEUES && !ret && fs->protocol_features; q++)
		if (vp->queues[q].vq.ready)
			ret = vhost_user_set_vring_enable(&fs->vu, q, true);
	if (ret && fs->vu.broken)
		virtio_fs_backend_gone(fs);
	return ret;
}

/* Guest reset: stop every ring and take it back (vhost-user.rst "Starting and stopping rings"). */
static void virtio_fs_reset(void *dev)
{
	struct virtio_fs *fs = dev;
	unsigned int base;

	if (!fs->started || fs->gone)
		return;
	fs->started = false;
	for (unsigned int q = 0; q < VIRTIO_FS_QUEUES; q++) {
		if (!virtio_pci_vq(&fs->vp, q)->ready)
			continue;
		/* Errors show as vu.broken below; a reset itself cannot fail (§2.1). */
		if (fs->protocol_features && vhost_user_set_vring_enable(&fs->vu, q, false))
			break;
		/* GET_VRING_BASE stops the ring; its index is useless after a reset. */
		if (vhost_user_get_vring_base(&fs->vu, q, &base))
			break;
	}
	if (fs->vu.broken)
		virtio_fs_backend_gone(fs);
}

static const struct virtio_device_ops virtio_fs_ops = {
    .name = "fs", /* the log says virtio-fs */
    .device_id = VIRTIO_ID_FS,
    .pci_class = 0x018000, /* mass storage, other */
    .num_queues = VIRTIO_FS_QUEUES,
    .queue_max_size = VIRTIO_FS_QUEUE_MAX,
    .features = 0,
    .config_size = VIRTIO_FS_TAG_LEN + 4,
    .backend_queues = true,
    .config_read = virtio_fs_config_read,
    .activate = virtio_fs_activate,
    .reset = virtio_fs_reset,
};

static void virtio_fs_hangup(struct io_loop_op *op, int res)
{
	struct virtio_fs *fs = op->opaque;

	/* -ECANCELED: the loop is stopping; anything else means the socket died. */
	if (res == -ECANCELED)
		return;
	virtio_fs_backend_gone(fs);
}

int virtio_fs_init(struct virtio_fs *fs, const char *tag, int sock,
		   const struct vhost_user_region *regions, unsigned int region_count,
		   const struct virtio_pci_host *host, uint64_t bar_addr)
{
	size_t tag_len = strlen(tag);
	int ret;

	memset(fs, 0, sizeof(*fs));
	vhost_user_init(&fs->vu);
	if (tag_len == 0 || tag_len > VIRTIO_FS_TAG_LEN || region_count > VHOST_USER_MAX_REGIONS) {
		close(sock);
		return -EINVAL;
	}
	snprintf(fs->name, sizeof(fs->name), "virtio-fs %s", tag);
	/* §5.11.4: the tag is NUL-padded and not terminated when it fills all 36 bytes. */
	memcpy(fs->config, tag, tag_len);
	le_put(fs->config + VIRTIO_FS_TAG_LEN, 4, 1);
	memcpy(fs->regions, regions, sizeof(regions[0]) * region_count);
	fs->region_count = region_count;
	ret = vhost_user_attach(&fs->vu, sock, VIRTIO_FS_BACKEND_TIMEOUT_MS);
	if (ret) {
		close(sock);
		return ret;
	}
	ret = vhost_user_handshake(&fs->vu);
	if (ret)
		return ret;
	if (!(fs->vu.features & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
		return -EPROTO; /* a legacy-only back-end cannot serve a modern device */
	fs->protocol_features = fs->vu.features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	ret = virtio_pci_init(&fs->vp, &virtio_fs_ops, fs, host, bar_addr);
	if (ret)
		return ret;
	virtio_pci_limit_features(&fs->vp, fs->vu.features & VIRTIO_FS_RING_FEATURES);
	return 0;
}

int virtio_fs_watch(struct virtio_fs *fs, virtio_fs_gone_fn on_gone, void *ctx)
{
	fs->on_gone = on_gone;
	fs->gone_ctx = ctx;
	fs->hangup_op = (struct io_loop_op){.cb = virtio_fs_hangup, .opaque = fs};
	/* Only a hang-up: the back-end never talks unless asked (no BACKEND_REQ channel). */
	return io_loop_poll(fs->vp.host.loop, &fs->hangup_op, fs->vu.sock, POLLRDHUP | POLLHUP);
}

void virtio_fs_destroy(struct virtio_fs *fs)
{
	virtio_pci_destroy(&fs->vp);
	vhost_user_close(&fs->vu);
}
