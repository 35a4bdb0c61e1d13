/* The modern virtio-pci transport (virtio 1.2 §4.1): config space, capabilities, common config,
 * notify, MSI-X. */
#ifndef MICROVMM_DEVICES_VIRTIO_VIRTIO_PCI_H
#define MICROVMM_DEVICES_VIRTIO_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/guest_ram.h"
#include "devices/io_loop.h"
#include "devices/pci/msix.h"
#include "devices/pci/pci_bus.h"
#include "devices/virtio/virtio_device.h"
#include "devices/virtio/virtq.h"

#define VIRTIO_PCI_MAX_QUEUES 16
/* BAR0 layout: one page per structure, like the virtio spec's examples. */
#define VIRTIO_PCI_BAR_SIZE	     0x8000
#define VIRTIO_PCI_COMMON_OFFSET     0x0000
#define VIRTIO_PCI_ISR_OFFSET	     0x1000
#define VIRTIO_PCI_DEVICE_OFFSET     0x2000
#define VIRTIO_PCI_NOTIFY_OFFSET     0x3000
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 4
#define VIRTIO_PCI_MSIX_TABLE_OFFSET 0x4000
#define VIRTIO_PCI_MSIX_PBA_OFFSET   0x5000

struct virtio_pci;

/* VMM services the transport needs; the VMM owns the eventfds. */
struct virtio_pci_host {
	const struct guest_ram *ram;
	struct io_loop *loop;
	/* (Un)registers a KVM ioeventfd for a 2-byte notify write at addr. */
	int (*ioeventfd)(void *ctx, uint64_t addr, int fd, bool assign);
	/*
	 * One warning line (no newline) about something the guest caused, on
	 * the loop thread; NULL to drop them. A guest can cause many, so the
	 * VMM rate-limits them across all devices. Shares `ctx`.
	 */
	void (*log)(void *ctx, const char *line);
	void *ctx;
	struct msix_sink msix_sink;
	/*
	 * One eventfd per MSI-X vector: writing it raises the vector. Read only
	 * once the device is live, so the VMM may fill the array after
	 * virtio_pci_init() has settled the vector count.
	 */
	const int *msi_fds;
};

struct virtio_pci_queue {
	/* Registers the guest programs (under vp->lock, vCPU threads). */
	uint16_t size, msix_vector;
	bool enabled;
	uint64_t desc, driver, device;
	/* Runtime (loop thread). */
	struct virtq vq;
	uint16_t vector; /* snapshot at activation */
	int kick_fd;
	uint64_t kick_buf;
	struct io_loop_op kick_op;
	bool ioeventfd_addr_valid;
	uint64_t ioeventfd_addr;
	struct virtio_pci *vp;
};

struct virtio_pci {
	struct pci_function fn;
	const struct virtio_device_ops *ops;
	void *dev;
	struct virtio_pci_host host;
	struct msix msix;
	unsigned int vectors;	 /* virtio_pci_vector_count(): vector 0 for config changes */
	unsigned int num_queues; /* this instance's (at most ops->num_queues) */

	pthread_mutex_t lock; /* guest-visible registers */
	pthread_cond_t reset_done;
	bool reset_pending;
	uint32_t device_feature_select, driver_feature_select;
	uint64_t device_features, driver_features;
	uint8_t status, config_generation;
	uint16_t queue_select, msix_config;
	struct virtio_pci_queue queues[VIRTIO_PCI_MAX_QUEUES];

	/* Loop-thread state. */
	bool live;		  /* activated and not reset or broken */
	unsigned int activations; /* DRIVER_OK runs since creation (loop thread writes) */
	uint64_t resets;    /* resets after an activation (loop thread adds, relaxed atomic) */
	bool broken_logged; /* this break has its log line; cleared by the next reset */
	uint64_t negotiated;
	struct io_loop_call activate_call, reset_call;
};

/*
 * Builds the PCI function for a device: header, capabilities, BAR0 at
 * `bar_addr`, MSI-X (virtio_pci_vector_count), kick eventfds armed on the
 * loop. Call before the loop starts. Returns 0 or -errno.
 */
int virtio_pci_init(struct virtio_pci *vp, const struct virtio_device_ops *ops, void *dev,
		    const struct virtio_pci_host *host, uint64_t bar_addr)
    __attribute__((warn_unused_result));
/*
 * The same for a device whose queue count is per instance (the console's
 * grows with its ports): `num_queues` of at most ops->num_queues, so the
 * ops stay one static const table.
 */
int virtio_pci_init_queues(struct virtio_pci *vp, const struct virtio_device_ops *ops, void *dev,
			   const struct virtio_pci_host *host, uint64_t bar_addr,
			   unsigned int num_queues) __attribute__((warn_unused_result));
void virtio_pci_destroy(struct virtio_pci *vp);

/*
 * MSI-X vectors a device with `num_queues` queues offers: one for config
 * changes plus one per queue, or two with ops->shared_queue_vector.
 */
unsigned int virtio_pci_vector_count(const struct virtio_device_ops *ops, unsigned int num_queues);

/*
 * Before the loop starts: the device offers only these of the transport's
 * and its own feature bits (a vhost-user back-end may lack some).
 */
void virtio_pci_limit_features(struct virtio_pci *vp, uint64_t mask);

/* Loop thread, after activation: the eventfd a queue's interrupt goes to, or -1 for none. */
int virtio_pci_queue_call_fd(const struct virtio_pci *vp, unsigned int queue);

/* Loop thread: raise the queue's interrupt if the driver wants one (EVENT_IDX rules). */
void virtio_pci_notify_queue(struct virtio_pci *vp, unsigned int queue);

/* The fault is the device's, not one queue's (virtio_pci_set_broken). */
#define VIRTIO_PCI_NO_QUEUE (~0u)

/*
 * Loop thread: the device saw a bad ring or request on `queue` (or
 * VIRTIO_PCI_NO_QUEUE); it stops and tells the driver (§2.1.2). The first
 * call after a reset logs "virtio-NAME: queue N broken: WHY" through the
 * host's log callback; `why` is a static string, the virtq's own q->error
 * when virtq_pop failed.
 */
void virtio_pci_set_broken(struct virtio_pci *vp, unsigned int queue, const char *why);

/* Loop thread: queue `queue`'s ring (valid while the device is live). */
static inline struct virtq *virtio_pci_vq(struct virtio_pci *vp, unsigned int queue)
{
	return &vp->queues[queue].vq;
}

/* Loop thread: activated and neither reset nor broken since. */
static inline bool virtio_pci_is_live(const struct virtio_pci *vp)
{
	return vp->live;
}

/*
 * Any thread, once the loop has stopped or as a hint: whether the driver
 * restarted the device after its first activation, or it is NEEDS_RESET.
 * Either way whatever a guest process had open on it is gone.
 */
bool virtio_pci_was_disrupted(struct virtio_pci *vp);

/* Whether `bit` was negotiated (loop thread, after activation). */
static inline bool virtio_pci_has_feature(const struct virtio_pci *vp, unsigned int bit)
{
	return vp->negotiated & (1ULL << bit);
}

#endif
