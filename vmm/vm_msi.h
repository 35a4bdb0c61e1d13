/* One virtio-pci function's block of MSI routes, shared by the VM's virtio devices. */
#ifndef MICROVMM_VMM_VM_MSI_H
#define MICROVMM_VMM_VM_MSI_H

#include "devices/pci/msix.h"

struct vm;

/* Owned by the device's VM-side state; the fds belong to the IRQ router. */
struct vm_msi_block {
	struct vm *vm;
	int base; /* first route in the router */
	int fds[MSIX_MAX_VECTORS];
};

#endif
