/*
 * The contract between a virtio device model and its transport: what a
 * device declares (IDs, queues, features, config size) and the callbacks
 * the transport makes. Devices include this and virtio_pci.h's accessors;
 * they never touch the transport's registers or queue state directly.
 */
#ifndef MICROVMM_DEVICES_VIRTIO_VIRTIO_DEVICE_H
#define MICROVMM_DEVICES_VIRTIO_VIRTIO_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_pci;

/*
 * What a device model provides. Queue work, activation and reset run on
 * the device loop thread; config_read/config_write run on vCPU threads with
 * the transport's lock held (the device guards its config with its own
 * lock if the loop also changes it).
 */
struct virtio_device_ops {
	const char *name;
	uint16_t device_id; /* virtio device ID (§5) */
	uint32_t pci_class;
	unsigned int num_queues;
	uint16_t queue_max_size;
	/* Where queues differ: queue's own maximum (§4.1.4.3 queue_size); NULL: queue_max_size. */
	uint16_t (*queue_max_size_of)(unsigned int queue);
	uint64_t features; /* device-specific bits; the transport adds VERSION_1, EVENT_IDX,
			      INDIRECT_DESC */
	uint32_t config_size;
	/*
	 * The queues are served by another process (vhost-user): the transport
	 * still validates ring addresses at activation but never reads the
	 * kick eventfds; the device hands them and the MSI eventfds to its
	 * back-end. queue_notify is not called.
	 */
	bool backend_queues;
	/*
	 * Two MSI-X vectors instead of 1 + num_queues: config changes, and one
	 * that every queue shares. For a device with many queues that are
	 * mostly idle (the console's ports): Linux then programs two table
	 * entries instead of one per queue (three rounds of table writes each,
	 * every write a VM exit) and the VMM keeps two routes and irqfds
	 * (virtio_pci_common.c vp_find_vqs falls back to the shared layout by
	 * itself when the table is smaller than 1 + queues).
	 */
	bool shared_queue_vector;
	void (*config_read)(void *dev, uint32_t offset, uint8_t *data, unsigned int size);
	void (*config_write)(void *dev, uint32_t offset, const uint8_t *data, unsigned int size);
	/* Queues in vp->queues[] are live; return -errno to mark the device broken. */
	int (*activate)(void *dev, struct virtio_pci *vp);
	void (*reset)(void *dev);
	void (*queue_notify)(void *dev, unsigned int queue);
};

#endif
