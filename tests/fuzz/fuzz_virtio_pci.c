/*
 * libFuzzer target: virtio-pci, PCI configuration and MSI-X register sequences
 * (devices/virtio/virtio_pci.c, devices/pci/pci_bus.c, msix.c) on the test suite's fake device
 * (tests/support/vpci_fake.c) with its device loop running. The input is a byte program of
 * what vCPUs do: configuration mechanism #1 port accesses, MMIO through the bus's window, BAR0
 * accesses, guest RAM writes (rings the fake device walks on a kick), status writes and a full
 * driver bring-up. Opcode 10 hands the next instruction to a second vCPU thread that runs it
 * while this one runs the one after (two vCPUs' writes interleaved). One fixture and loop per
 * process; each input starts from a device reset and BAR0 back in place.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/le.h"
#include "tests/fuzz/fuzz_vcpu.h"
#include "tests/support/vp_driver.h"
#include "tests/support/vpci_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fixture *f;
static struct fuzz_vcpu vcpu2;

static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n && *p < end; i++, (*p)++)
		v |= (uint64_t) * *p << (8 * i);
	return v;
}

static unsigned int access_size(uint8_t b)
{
	static const unsigned int sizes[4] = {1, 2, 4, 8};

	return sizes[b & 3];
}

static void bring_up_quick(void)
{
	vp_driver_set_status(&f->vp, 0);
	if (!vp_driver_negotiate(&f->vp, driver_features))
		return;
	setup_queues(f);
	vp_driver_set_status(&f->vp, 0x0f);
}

/* Opcodes 0-5: configuration ports, BAR0 directly, and MMIO through the bus's window. */
static void run_access(const uint8_t *op)
{
	const uint8_t *p = op + 1, *end = op + FUZZ_OP_MAX;
	uint8_t data[8];
	unsigned int size = access_size(op[0] >> 4), port_size = size > 4 ? 4 : size;
	uint64_t mmio = BAR_ADDR - PCI_BUS_MMIO_BASE, off;

	switch (op[0] & 0x0f) {
	case 0:
		off = take(&p, end, 1) & 7;
		le_put(data, port_size, take(&p, end, 4));
		pci_bus_io_ops.write(&f->bus, off, data, port_size);
		break;
	case 1:
		pci_bus_io_ops.read(&f->bus, take(&p, end, 1) & 7, data, port_size);
		break;
	case 2:
		off = take(&p, end, 2) % VIRTIO_PCI_BAR_SIZE;
		vp_driver_write(&f->vp, off, size, take(&p, end, 8));
		break;
	case 3:
		(void)vp_driver_read(&f->vp, take(&p, end, 2) % VIRTIO_PCI_BAR_SIZE, size);
		break;
	case 4:
		off = mmio + take(&p, end, 3);
		le_put(data, size, take(&p, end, 8));
		pci_bus_mmio_ops.write(&f->bus, off, data, size);
		break;
	default:
		pci_bus_mmio_ops.read(&f->bus, mmio + take(&p, end, 3), data, size);
		break;
	}
}

/* One instruction: op, then its operands from the program. */
static void run_op(const uint8_t *op)
{
	const uint8_t *p = op + 1, *end = op + FUZZ_OP_MAX;
	unsigned int size = access_size(op[0] >> 4) > 4 ? 4 : access_size(op[0] >> 4);
	uint64_t gpa;

	switch (op[0] & 0x0f) {
	case 0 ... 5:
		run_access(op);
		break;
	case 6:
		gpa = (take(&p, end, 2) << 4) % (RAM_SIZE - 8);
		le_put(f->mem + gpa, 8, take(&p, end, 8));
		break;
	case 7:
		bring_up_quick();
		break;
	case 8:
		vp_driver_kick(&f->vp, (uint16_t)(take(&p, end, 1) % (FAKE_QUEUES + 1)));
		break;
	case 9:
		vp_driver_set_status(&f->vp, (uint8_t)take(&p, end, 1));
		break;
	case 11:
		gpa = take(&p, end, 1);
		cfg_write(f, (unsigned int)gpa, size, (uint32_t)take(&p, end, 4));
		break;
	case 12:
		(void)cfg_read(f, (unsigned int)take(&p, end, 1), size);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!f) {
		void *state = NULL;

		if (vpci_fixture_setup(&state))
			abort();
		f = state;
		f->dev.pop_rings = true;
		if (io_loop_start(&f->loop))
			abort();
		fuzz_vcpu_start(&vcpu2, run_op);
	}
	vp_driver_set_status(&f->vp, 0);
	cfg_write(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR);
	memory_decode(f, true);
	fuzz_vcpu_program(&vcpu2, data, size, run_op);
	vp_driver_set_status(&f->vp, 0);
	return 0;
}
