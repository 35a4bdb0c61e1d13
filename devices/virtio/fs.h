/* virtio-fs (virtio 1.2 §5.11) as a vhost-user front-end: virtiofsd serves the queues itself. */
#ifndef MICROVMM_DEVICES_VIRTIO_FS_H
#define MICROVMM_DEVICES_VIRTIO_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/vhost/vhost_user.h"
#include "devices/virtio/virtio_pci.h"

/* Queue 0 is hiprio (FORGET, INTERRUPT), queue 1 the one request queue (§5.11.2). */
#define VIRTIO_FS_QUEUES    2
#define VIRTIO_FS_QUEUE_MAX 1024
#define VIRTIO_FS_TAG_LEN   36

/*
 * Ownership: the device owns the vhost-user connection (and closes it in
 * virtio_fs_destroy); the VMM owns the guest memory fd the regions name and
 * the process at the other end. Threading: init and destroy on the main
 * thread before the loop starts / after it stopped; activation, reset and
 * the hang-up watch run on the device loop (vhost-user calls block there for
 * at most VIRTIO_FS_BACKEND_TIMEOUT_MS).
 *
 * Data path: the guest's notify writes hit the KVM ioeventfd that is the
 * back-end's kick fd; the back-end's call fd is the queue's MSI eventfd
 * (KVM irqfd). microvmm never sees a request or a byte of file data.
 */
/*
 * 30 s: virtiofsd answers the first handshake only once it has started, and
 * on a host loaded with other VMs (the sanitizer suite beside three others
 * in one level-1 host) 10 s were not always enough.
 */
#define VIRTIO_FS_BACKEND_TIMEOUT_MS 30000

struct virtio_fs;

/* The back-end hung up or stopped answering (loop thread). Called at most once. */
typedef void (*virtio_fs_gone_fn)(void *ctx, struct virtio_fs *fs);

struct virtio_fs {
	struct virtio_pci vp;
	struct vhost_user vu;
	uint8_t config[VIRTIO_FS_TAG_LEN + 4]; /* tag[36], le32 num_request_queues */
	struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
	unsigned int region_count;
	bool protocol_features; /* VHOST_USER_F_PROTOCOL_FEATURES: rings start disabled */
	bool started;		/* rings handed to the back-end */
	bool gone;
	struct io_loop_op hangup_op;
	virtio_fs_gone_fn on_gone;
	void *gone_ctx;
	char name[48]; /* for logs: "virtio-fs TAG" */
};

/*
 * Takes a connected vhost-user socket (owned from here on, even on
 * failure), negotiates with the back-end (blocking, up to the timeout) and
 * builds the PCI function. `regions` describe all of guest RAM in the
 * VMM's mapping of the memfd. Call before the loop starts. Returns 0 or
 * -errno; -EPIPE/-ETIMEDOUT/-EPROTO when the back-end failed.
 */
int virtio_fs_init(struct virtio_fs *fs, const char *tag, int sock,
		   const struct vhost_user_region *regions, unsigned int region_count,
		   const struct virtio_pci_host *host, uint64_t bar_addr)
    __attribute__((warn_unused_result));

/* Main thread, before the loop starts: watch the connection and report a hang-up. */
int virtio_fs_watch(struct virtio_fs *fs, virtio_fs_gone_fn on_gone, void *ctx)
    __attribute__((warn_unused_result));

/* After the loop stopped: closes the connection (the back-end then exits). Idempotent. */
void virtio_fs_destroy(struct virtio_fs *fs);

#endif
