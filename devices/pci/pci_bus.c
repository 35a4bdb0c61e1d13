/* PCI bus 0 behind configuration mechanism #1 (ports 0xcf8..0xcff), with a host bridge at 00:00.0.
 */
#include "devices/pci/pci_bus.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "boot/le.h"

/* CONFIG_ADDRESS (PCI Local Bus 3.0 §3.2.2.3.2). */
#define CONF1_ENABLE  0x80000000u
#define CONF1_BUS(a)  (((a) >> 16) & 0xff)
#define CONF1_SLOT(a) (((a) >> 11) & 0x1f)
#define CONF1_FUNC(a) (((a) >> 8) & 0x7)
#define CONF1_REG(a)  ((a)&0xfc)
/* Linux puts extended register bits 11:8 in 27:24; we only have 256 bytes. */
#define CONF1_EXT_REG(a) (((a) >> 24) & 0xf)

/* Port 0xcf9, "reset control" (Intel PIIX/ICH): bit 2 starts a reset. */
#define PORT_RESET_CONTROL_OFFSET 1
#define RESET_CONTROL_RESET	  0x04

/* Red Hat, Inc. "QEMU PCIe host bridge" ID: class 0x0600 is what Linux's conf1 probe looks for. */
#define HOST_BRIDGE_VENDOR    0x1b36
#define HOST_BRIDGE_DEVICE    0x0008
#define PCI_CLASS_BRIDGE_HOST 0x0600

void pci_function_init(struct pci_function *fn, uint16_t vendor, uint16_t device,
		       uint32_t class_code, uint64_t bar_size, uint64_t bar_addr)
{
	memset(fn->config, 0, sizeof(fn->config));
	memset(fn->wmask, 0, sizeof(fn->wmask));
	le_put16(fn->config + PCI_VENDOR_ID, vendor);
	le_put16(fn->config + PCI_DEVICE_ID, device);
	fn->config[PCI_CLASS_PROG] = (uint8_t)class_code;
	le_put16(fn->config + PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
	/* Memory decode and bus mastering are the guest's to switch; INTx disable too. */
	fn->wmask[PCI_COMMAND] = 0x06;
	fn->wmask[PCI_COMMAND + 1] = 0x04;
	fn->wmask[PCI_INTERRUPT_LINE] = 0xff;
	fn->bar_size = bar_size;
	fn->bar_enabled = false;
	if (!bar_size)
		return;
	/* 64-bit memory BAR: low type bits read-only, address bits above the size writable. */
	uint64_t mask = ~(bar_size - 1);
	uint64_t value = (bar_addr & mask) | PCI_BAR_MEM_TYPE_64;

	for (unsigned int i = 0; i < 8; i++) {
		fn->config[PCI_BAR0 + i] = (uint8_t)(value >> (8 * i));
		fn->wmask[PCI_BAR0 + i] = (uint8_t)((mask & ~0xfULL) >> (8 * i));
	}
	fn->bar_addr = bar_addr & mask;
}

static uint64_t pci_function_bar_addr(const struct pci_function *fn)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < 8; i++)
		v |= (uint64_t)fn->config[PCI_BAR0 + i] << (8 * i);
	return v & ~0xfULL;
}

/* After a config write: recompute where BAR0 decodes and tell the owner if that changed. */
static void pci_function_update_bar(struct pci_function *fn)
{
	if (!fn->bar_size)
		return;
	uint64_t addr = pci_function_bar_addr(fn);
	/* Linux sizes BARs with decoding off; an all-ones address is never live. */
	bool enabled = (fn->config[PCI_COMMAND] & PCI_COMMAND_MEMORY) &&
		       addr + fn->bar_size > addr && addr != (~(fn->bar_size - 1) & ~0xfULL);

	if (addr == fn->bar_addr && enabled == fn->bar_enabled)
		return;
	fn->bar_addr = addr;
	fn->bar_enabled = enabled;
	if (fn->bar_changed)
		fn->bar_changed(fn, addr, enabled);
}

int pci_bus_init(struct pci_bus *bus, struct power_sink *power)
{
	memset(bus, 0, sizeof(*bus));
	bus->power = power;
	le_put16(bus->host_bridge.config + PCI_VENDOR_ID, HOST_BRIDGE_VENDOR);
	le_put16(bus->host_bridge.config + PCI_DEVICE_ID, HOST_BRIDGE_DEVICE);
	le_put16(bus->host_bridge.config + PCI_CLASS_DEVICE, PCI_CLASS_BRIDGE_HOST);
	bus->slots[0] = &bus->host_bridge;
	return -pthread_mutex_init(&bus->lock, NULL);
}

void pci_bus_destroy(struct pci_bus *bus)
{
	pthread_mutex_destroy(&bus->lock);
}

int pci_bus_add(struct pci_bus *bus, struct pci_function *fn)
{
	for (int slot = 1; slot < PCI_SLOTS; slot++) {
		if (!bus->slots[slot]) {
			bus->slots[slot] = fn;
			return slot;
		}
	}
	return -ENOSPC;
}

uint32_t pci_bus_config_read(struct pci_bus *bus, unsigned int slot, unsigned int offset,
			     unsigned int size)
{
	uint32_t v = 0;

	if (slot >= PCI_SLOTS || !bus->slots[slot] || size > 4 || offset + size > PCI_CONFIG_SIZE)
		return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)bus->slots[slot]->config[offset + i] << (8 * i);
	return v;
}

void pci_bus_config_write(struct pci_bus *bus, unsigned int slot, unsigned int offset,
			  unsigned int size, uint32_t value)
{
	struct pci_function *fn;

	if (slot >= PCI_SLOTS || !bus->slots[slot] || size > 4 || offset + size > PCI_CONFIG_SIZE)
		return;
	fn = bus->slots[slot];
	for (unsigned int i = 0; i < size; i++) {
		uint8_t mask = fn->wmask[offset + i];
		uint8_t byte = (uint8_t)(value >> (8 * i));

		fn->config[offset + i] =
		    (uint8_t)((fn->config[offset + i] & ~mask) | (byte & mask));
	}
	if (offset < PCI_BAR0 + 8 && offset + size > PCI_COMMAND)
		pci_function_update_bar(fn);
	if (fn->write)
		fn->write(fn, offset, size);
}

/* The slot an access through 0xcfc goes to, or -1 for "no device" (reads all ones). */
static int pci_bus_target(const struct pci_bus *bus)
{
	uint32_t a = bus->address;

	if (!(a & CONF1_ENABLE) || CONF1_BUS(a) || CONF1_FUNC(a) || CONF1_EXT_REG(a))
		return -1;
	return (int)CONF1_SLOT(a);
}

static void pci_bus_io_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct pci_bus *bus = opaque;

	pthread_mutex_lock(&bus->lock);
	if (offset == 0 && size == 4) {
		le_put(data, 4, bus->address);
	} else if (offset >= 4) {
		int slot = pci_bus_target(bus);
		unsigned int reg = CONF1_REG(bus->address) + (unsigned int)(offset - 4);
		uint32_t v = slot < 0 ? 0xffffffffu
				      : pci_bus_config_read(bus, (unsigned int)slot, reg, size);

		le_put(data, size, v);
	} else {
		memset(data, 0xff, size);
	}
	pthread_mutex_unlock(&bus->lock);
}

static void pci_bus_io_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct pci_bus *bus = opaque;
	bool reset = false;

	pthread_mutex_lock(&bus->lock);
	if (offset == 0 && size == 4) {
		bus->address = (uint32_t)le_get(data, 4);
	} else if (offset == PORT_RESET_CONTROL_OFFSET && size == 1) {
		reset = data[0] & RESET_CONTROL_RESET;
	} else if (offset >= 4) {
		int slot = pci_bus_target(bus);
		unsigned int reg = CONF1_REG(bus->address) + (unsigned int)(offset - 4);

		if (slot >= 0)
			pci_bus_config_write(bus, (unsigned int)slot, reg, size,
					     (uint32_t)le_get(data, size));
	}
	/* Other byte/word writes to 0xcf8..0xcfb (Linux's probe writes 0xcfb) are ignored. */
	pthread_mutex_unlock(&bus->lock);
	if (reset && bus->power && bus->power->event)
		bus->power->event(bus->power->ctx, POWER_EVENT_RESET);
}

const struct io_ops pci_bus_io_ops = {.read = pci_bus_io_read, .write = pci_bus_io_write};

/* The function whose live BAR holds [addr, addr+size), or NULL. Called with the lock held. */
static struct pci_function *pci_bus_bar_owner(struct pci_bus *bus, uint64_t addr, unsigned int size)
{
	for (unsigned int slot = 1; slot < PCI_SLOTS; slot++) {
		struct pci_function *fn = bus->slots[slot];

		if (fn && fn->bar_enabled && fn->bar_ops && addr >= fn->bar_addr &&
		    addr - fn->bar_addr < fn->bar_size &&
		    size <= fn->bar_size - (addr - fn->bar_addr))
			return fn;
	}
	return NULL;
}

/*
 * The function whose BAR holds the access and the offset into that BAR.
 * BAR handlers lock themselves, so the bus lock is dropped before the call;
 * a racing BAR move only redirects this one access.
 */
static struct pci_function *pci_bus_mmio_target(struct pci_bus *bus, uint64_t offset,
						unsigned int size, uint64_t *bar_offset)
{
	uint64_t addr = PCI_BUS_MMIO_BASE + offset;

	pthread_mutex_lock(&bus->lock);
	struct pci_function *fn = pci_bus_bar_owner(bus, addr, size);

	if (fn)
		*bar_offset = addr - fn->bar_addr;
	pthread_mutex_unlock(&bus->lock);
	return fn;
}

static void pci_bus_mmio_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	uint64_t bar_offset;
	struct pci_function *fn = pci_bus_mmio_target(opaque, offset, size, &bar_offset);

	if (fn)
		fn->bar_ops->read(fn->bar_opaque, bar_offset, data, size);
	else
		memset(data, 0xff, size);
}

static void pci_bus_mmio_write(void *opaque, uint64_t offset, const uint8_t *data,
			       unsigned int size)
{
	uint64_t bar_offset;
	struct pci_function *fn = pci_bus_mmio_target(opaque, offset, size, &bar_offset);

	if (fn)
		fn->bar_ops->write(fn->bar_opaque, bar_offset, data, size);
}

const struct io_ops pci_bus_mmio_ops = {.read = pci_bus_mmio_read, .write = pci_bus_mmio_write};
