/* PCI bus 0 behind configuration mechanism #1 (ports 0xcf8..0xcff), with a host bridge at 00:00.0.
 */
#ifndef MICROVMM_DEVICES_PCI_PCI_BUS_H
#define MICROVMM_DEVICES_PCI_PCI_BUS_H

#include <pthread.h>
#include <stdint.h>

#include <stdbool.h>

#include "boot/layout.h"
#include "devices/io.h"
#include "devices/legacy/power.h"

#define PCI_SLOTS	32
#define PCI_CONFIG_SIZE 256

/* Standard header offsets (PCI Local Bus 3.0 §6.1). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a
#define PCI_HEADER_TYPE		0x0e
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_BAR0		0x10
#define PCI_CAPABILITY_LIST	0x34
#define PCI_COMMAND_MEMORY	0x2
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_BAR_MEM_TYPE_64	0x4

/*
 * A function's config space: `config` holds the current bytes, `wmask` the
 * bits the guest may change. Functions with side effects (BARs, MSI-X) hook
 * `write` and get called after the masked store.
 */
struct pci_function {
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];
	void (*write)(struct pci_function *fn, unsigned int offset, unsigned int size);
	void *opaque;

	/*
	 * An optional 64-bit memory BAR0 (BAR0/BAR1). Its size is a power of
	 * two; the guest places it, and `bar_changed` hears every move or
	 * decode change (called with the bus lock held, on a vCPU thread).
	 */
	uint64_t bar_size;
	const struct io_ops *bar_ops;
	void *bar_opaque;
	void (*bar_changed)(struct pci_function *fn, uint64_t addr, bool enabled);
	uint64_t bar_addr; /* current BAR0 address, valid when bar_enabled */
	bool bar_enabled;
};

/*
 * Sets up a type-0 header with vendor/device/class and, when bar_size is
 * non-zero, a 64-bit non-prefetchable memory BAR0 placed at `bar_addr`
 * (the guest may move it). Capabilities are added by the caller.
 */
void pci_function_init(struct pci_function *fn, uint16_t vendor, uint16_t device,
		       uint32_t class_code, uint64_t bar_size, uint64_t bar_addr);

/*
 * Locking: `lock` serialises config accesses from all vCPUs (the address
 * latch is shared state). Slots are filled before the VM runs.
 */
struct pci_bus {
	pthread_mutex_t lock;
	uint32_t address; /* the 0xcf8 latch */
	struct pci_function host_bridge;
	struct pci_function *slots[PCI_SLOTS];
	struct power_sink *power; /* 0xcf9 reset control */
};

extern const struct io_ops pci_bus_io_ops; /* registered at LAYOUT_PORT_PCI_CONF_ADDR, 8 ports */
/* Registered over the PCI MMIO window: forwards to the function whose BAR holds the address. */
extern const struct io_ops pci_bus_mmio_ops;
/* The MMIO window's base, so pci_bus_mmio_ops can turn offsets back into addresses. */
#define PCI_BUS_MMIO_BASE LAYOUT_PCI_MMIO32_START

int pci_bus_init(struct pci_bus *bus, struct power_sink *power) __attribute__((warn_unused_result));
void pci_bus_destroy(struct pci_bus *bus);

/* Puts `fn` in the first free slot; returns the slot number or -ENOSPC. */
int pci_bus_add(struct pci_bus *bus, struct pci_function *fn) __attribute__((warn_unused_result));

/* Config space accessors used by the port handler and by tests. */
uint32_t pci_bus_config_read(struct pci_bus *bus, unsigned int slot, unsigned int offset,
			     unsigned int size);
void pci_bus_config_write(struct pci_bus *bus, unsigned int slot, unsigned int offset,
			  unsigned int size, uint32_t value);

#endif
