/* How the VM wires a virtio-pci function: the device's MSI routes and the one registration path. */
#ifndef MICROVMM_VMM_VM_MSI_H
#define MICROVMM_VMM_VM_MSI_H

#include <stddef.h>
#include <stdint.h>

#include "devices/pci/msix.h"

struct vm;
struct virtio_pci;
struct virtio_pci_host;

/* Owned by the device's VM-side state; the fds belong to the IRQ router. */
struct vm_msi_block {
	struct vm *vm;
	int base; /* first route in the router */
	unsigned int count;
	int fds[MSIX_MAX_VECTORS];
};

/*
 * A virtio device as the VM sees it. The device declares what it needs in
 * its struct virtio_device_ops (queues, hence MSI-X vectors); the VM hands
 * it the host services and a BAR, routes its vectors and puts its function
 * on the PCI bus. Nothing here knows one device from another.
 */
struct vm_virtio_dev {
	const char *what; /* for error lines: "no PCI slot for WHAT" */
	/*
	 * Builds the device on `host` with BAR0 at `bar` (it calls
	 * virtio_pci_init()). On failure writes one user-facing line into
	 * `err` and returns -errno.
	 */
	int (*init)(void *ctx, const struct virtio_pci_host *host, uint64_t bar, char *err,
		    size_t err_len);
	/* Undoes init, also one that failed half-way. */
	void (*destroy)(void *ctx);
	void *ctx;
	struct virtio_pci *vp; /* the device's transport, valid once init returned */
};

/*
 * vm_virtio.c, main thread, with the loop and IRQ router up and before the
 * loop starts: builds `dev`, gives it the MSI routes its transport asks for
 * (in `msi`) and a PCI slot. Returns 0 with the device built and on the bus
 * (the caller destroys it later), or -errno with one line in `err` and the
 * device already destroyed.
 */
/*
 * Any thread: ends the VM with an error (VM_END_ERROR) and `detail` as the
 * user's line; what a device's wiring calls when its back-end dies.
 */
void vm_fail(struct vm *vm, const char *detail);

int vm_virtio_add(struct vm *vm, const struct vm_virtio_dev *dev, struct vm_msi_block *msi,
		  char *err, size_t err_len) __attribute__((warn_unused_result));

#endif
