/* Unit tests for PCI configuration mechanism #1 and bus 0 (devices/pci/pci_bus.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/legacy/power.h"
#include "devices/pci/pci_bus.h"

/* Port offsets inside the 8-port block at 0xcf8. */
#define OFF_ADDR      0 /* 0xcf8 CONFIG_ADDRESS */
#define OFF_RESET_CTL 1 /* 0xcf9 reset control */
#define OFF_DATA      4 /* 0xcfc CONFIG_DATA */
#define CONF1_ENABLE  0x80000000u
#define MAX_EVENTS    8

struct fixture {
	struct pci_bus bus;
	struct power_sink sink;
	unsigned int events;
	enum power_event event[MAX_EVENTS];
};

static void record_event(void *ctx, enum power_event event)
{
	struct fixture *f = ctx;

	if (f->events < MAX_EVENTS)
		f->event[f->events] = event;
	f->events++;
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->sink = (struct power_sink){.event = record_event, .ctx = f};
	if (pci_bus_init(&f->bus, &f->sink)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_destroy(&f->bus);
	free(f);
	return 0;
}

static uint32_t conf1_address(unsigned int bus, unsigned int slot, unsigned int func,
			      unsigned int reg)
{
	return CONF1_ENABLE | bus << 16 | slot << 11 | func << 8 | (reg & 0xfc);
}

static void port_write(struct fixture *f, uint64_t offset, unsigned int size, uint32_t v)
{
	uint8_t data[4];

	le_put(data, size, v);
	pci_bus_io_ops.write(&f->bus, offset, data, size);
}

static uint32_t port_read(struct fixture *f, uint64_t offset, unsigned int size)
{
	uint8_t data[4] = {0x11, 0x22, 0x33, 0x44};

	pci_bus_io_ops.read(&f->bus, offset, data, size);
	return (uint32_t)le_get(data, size);
}

/* Selects bus/slot/func/reg through 0xcf8 and reads `size` bytes at 0xcfc + (reg & 3). */
static uint32_t conf1_read(struct fixture *f, unsigned int slot, unsigned int func,
			   unsigned int reg, unsigned int size)
{
	port_write(f, OFF_ADDR, 4, conf1_address(0, slot, func, reg));
	return port_read(f, OFF_DATA + (reg & 3), size);
}

static void test_pci_bus_address_latch_reads_back(void **state)
{
	struct fixture *f = *state;

	port_write(f, OFF_ADDR, 4, 0x80001234);

	assert_int_equal(port_read(f, OFF_ADDR, 4), 0x80001234);
	assert_int_equal(f->bus.address, 0x80001234);
}

static void test_pci_bus_narrow_address_port_access_is_ignored(void **state)
{
	struct fixture *f = *state;

	port_write(f, OFF_ADDR, 4, 0x80000000);
	/* Linux's type-1 probe writes a byte to 0xcfb; it must not touch the latch. */
	port_write(f, 3, 1, 0x01);
	port_write(f, OFF_ADDR, 2, 0xffff);

	assert_int_equal(port_read(f, OFF_ADDR, 4), 0x80000000);
	assert_int_equal(port_read(f, OFF_ADDR, 1), 0xff);
	assert_int_equal(port_read(f, 2, 2), 0xffff);
}

static void test_pci_bus_host_bridge_identity(void **state)
{
	struct fixture *f = *state;

	uint32_t id = conf1_read(f, 0, 0, PCI_VENDOR_ID, 4);
	uint32_t class_rev = conf1_read(f, 0, 0, PCI_REVISION_ID, 4);

	assert_int_equal(id, 0x00081b36);
	assert_int_equal(class_rev >> 16, 0x0600);
	assert_int_equal(conf1_read(f, 0, 0, PCI_HEADER_TYPE, 1), 0x00);
}

static void test_pci_bus_host_bridge_word_and_byte_reads(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(conf1_read(f, 0, 0, PCI_VENDOR_ID, 2), 0x1b36);
	assert_int_equal(conf1_read(f, 0, 0, PCI_DEVICE_ID, 2), 0x0008); /* via 0xcfe */
	assert_int_equal(conf1_read(f, 0, 0, 0x01, 1), 0x1b);		 /* via 0xcfd */
	assert_int_equal(conf1_read(f, 0, 0, 0x03, 1), 0x00);		 /* via 0xcff */
	assert_int_equal(conf1_read(f, 0, 0, PCI_CLASS_DEVICE + 1, 1), 0x06);
}

static void test_pci_bus_absent_slot_reads_all_ones(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(conf1_read(f, 5, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(conf1_read(f, 5, 0, PCI_VENDOR_ID, 2), 0xffff);
	assert_int_equal(conf1_read(f, 31, 0, PCI_CLASS_DEVICE, 1), 0xff);
}

static void test_pci_bus_disabled_address_reads_all_ones(void **state)
{
	struct fixture *f = *state;

	port_write(f, OFF_ADDR, 4, conf1_address(0, 0, 0, 0) & ~CONF1_ENABLE);

	assert_int_equal(port_read(f, OFF_DATA, 4), 0xffffffff);
	assert_int_equal(port_read(f, OFF_DATA, 2), 0xffff);
}

static void test_pci_bus_nonzero_function_reads_all_ones(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(conf1_read(f, 0, 1, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(conf1_read(f, 0, 7, PCI_VENDOR_ID, 2), 0xffff);
}

static void test_pci_bus_other_bus_reads_all_ones(void **state)
{
	struct fixture *f = *state;

	port_write(f, OFF_ADDR, 4, conf1_address(1, 0, 0, 0));

	assert_int_equal(port_read(f, OFF_DATA, 4), 0xffffffff);
}

static void test_pci_bus_extended_register_bits_read_all_ones(void **state)
{
	struct fixture *f = *state;

	/* Linux's conf1 puts register bits 11:8 in address bits 27:24 (we have only 256 bytes). */
	port_write(f, OFF_ADDR, 4, conf1_address(0, 0, 0, 0) | 1u << 24);

	assert_int_equal(port_read(f, OFF_DATA, 4), 0xffffffff);
}

static void test_pci_bus_host_bridge_ignores_writes(void **state)
{
	struct fixture *f = *state;

	port_write(f, OFF_ADDR, 4, conf1_address(0, 0, 0, PCI_VENDOR_ID));
	port_write(f, OFF_DATA, 4, 0xdeadbeef);
	port_write(f, OFF_ADDR, 4, conf1_address(0, 0, 0, PCI_COMMAND));
	port_write(f, OFF_DATA, 2, 0x0007);

	assert_int_equal(conf1_read(f, 0, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	assert_int_equal(conf1_read(f, 0, 0, PCI_COMMAND, 2), 0);
}

static void test_pci_bus_write_honours_wmask(void **state)
{
	struct fixture *f = *state;
	struct pci_function fn;

	memset(&fn, 0, sizeof(fn));
	fn.config[PCI_VENDOR_ID] = 0xf4;
	fn.config[PCI_VENDOR_ID + 1] = 0x1a;
	fn.wmask[PCI_COMMAND] = 0x07; /* IO, memory, bus master */
	fn.wmask[PCI_INTERRUPT_LINE] = 0xff;
	int slot = pci_bus_add(&f->bus, &fn);

	assert_int_equal(slot, 1);

	port_write(f, OFF_ADDR, 4, conf1_address(0, 1, 0, PCI_COMMAND));
	port_write(f, OFF_DATA, 2, 0xffff);
	port_write(f, OFF_ADDR, 4, conf1_address(0, 1, 0, PCI_VENDOR_ID));
	port_write(f, OFF_DATA, 2, 0x0000);
	port_write(f, OFF_ADDR, 4, conf1_address(0, 1, 0, PCI_INTERRUPT_LINE));
	port_write(f, OFF_DATA, 1, 0x0b);

	assert_int_equal(conf1_read(f, 1, 0, PCI_COMMAND, 2), 0x0007);
	assert_int_equal(conf1_read(f, 1, 0, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(conf1_read(f, 1, 0, PCI_INTERRUPT_LINE, 1), 0x0b);
}

static unsigned int hook_calls, hook_offset, hook_size;

static void record_write(struct pci_function *fn, unsigned int offset, unsigned int size)
{
	(void)fn;
	hook_calls++;
	hook_offset = offset;
	hook_size = size;
}

static void test_pci_bus_write_through_0xcfe_reaches_hook(void **state)
{
	struct fixture *f = *state;
	struct pci_function fn;

	memset(&fn, 0, sizeof(fn));
	memset(fn.wmask + 0x10, 0xff, 4);
	fn.write = record_write;
	hook_calls = 0;
	assert_int_equal(pci_bus_add(&f->bus, &fn), 1);

	port_write(f, OFF_ADDR, 4, conf1_address(0, 1, 0, 0x10));
	port_write(f, OFF_DATA + 2, 2, 0xabcd);

	assert_int_equal(hook_calls, 1);
	assert_int_equal(hook_offset, 0x12);
	assert_int_equal(hook_size, 2);
	assert_int_equal(conf1_read(f, 1, 0, 0x10, 4), 0xabcd0000);
}

static void test_pci_bus_reset_control_bit2_emits_reset(void **state)
{
	struct fixture *f = *state;

	port_write(f, OFF_RESET_CTL, 1, 0x06);

	assert_int_equal(f->events, 1);
	assert_int_equal(f->event[0], POWER_EVENT_RESET);
}

static void test_pci_bus_reset_control_without_bit2_is_ignored(void **state)
{
	struct fixture *f = *state;

	port_write(f, OFF_RESET_CTL, 1, 0x02);
	port_write(f, OFF_RESET_CTL, 1, 0x00);

	assert_int_equal(f->events, 0);
}

static void test_pci_bus_dword_address_write_is_not_a_reset(void **state)
{
	struct fixture *f = *state;

	/* Byte 1 of a CONFIG_ADDRESS dword (0xcf9) has bit 2 set here. */
	port_write(f, OFF_ADDR, 4, conf1_address(0, 0, 4, 0));

	assert_int_equal(f->events, 0);
}

static void test_pci_bus_reset_without_sink_is_harmless(void **state)
{
	struct fixture *f = *state;

	f->bus.power = NULL;

	port_write(f, OFF_RESET_CTL, 1, 0x04);

	assert_int_equal(f->events, 0);
}

static void test_pci_bus_add_fills_slots_then_enospc(void **state)
{
	struct fixture *f = *state;
	static struct pci_function fns[PCI_SLOTS];

	for (int i = 1; i < PCI_SLOTS; i++)
		assert_int_equal(pci_bus_add(&f->bus, &fns[i]), i);

	assert_int_equal(pci_bus_add(&f->bus, &fns[0]), -ENOSPC);
	assert_ptr_equal(f->bus.slots[0], &f->bus.host_bridge);
	assert_ptr_equal(f->bus.slots[PCI_SLOTS - 1], &fns[PCI_SLOTS - 1]);
}

static void test_pci_bus_config_read_rejects_out_of_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pci_bus_config_read(&f->bus, PCI_SLOTS, 0, 4), 0xffffffff);
	assert_int_equal(pci_bus_config_read(&f->bus, 0, PCI_CONFIG_SIZE - 2, 4), 0xffffffff);
	assert_int_equal(pci_bus_config_read(&f->bus, 0, PCI_CONFIG_SIZE - 1, 2), 0xffff);
	assert_int_equal(pci_bus_config_read(&f->bus, 0, PCI_CONFIG_SIZE - 1, 1), 0);
}

static void test_pci_bus_unaligned_dword_at_config_end_reads_all_ones(void **state)
{
	struct fixture *f = *state;

	/* Register 0xfc plus a dword at 0xcfd would run past byte 255. */
	port_write(f, OFF_ADDR, 4, conf1_address(0, 0, 0, 0xfc));

	assert_int_equal(port_read(f, OFF_DATA + 1, 4), 0xffffffff);
	assert_int_equal(port_read(f, OFF_DATA + 3, 1), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_pci_bus_address_latch_reads_back),
	    T(test_pci_bus_narrow_address_port_access_is_ignored),
	    T(test_pci_bus_host_bridge_identity),
	    T(test_pci_bus_host_bridge_word_and_byte_reads),
	    T(test_pci_bus_absent_slot_reads_all_ones),
	    T(test_pci_bus_disabled_address_reads_all_ones),
	    T(test_pci_bus_nonzero_function_reads_all_ones),
	    T(test_pci_bus_other_bus_reads_all_ones),
	    T(test_pci_bus_extended_register_bits_read_all_ones),
	    T(test_pci_bus_host_bridge_ignores_writes),
	    T(test_pci_bus_write_honours_wmask),
	    T(test_pci_bus_write_through_0xcfe_reaches_hook),
	    T(test_pci_bus_reset_control_bit2_emits_reset),
	    T(test_pci_bus_reset_control_without_bit2_is_ignored),
	    T(test_pci_bus_dword_address_write_is_not_a_reset),
	    T(test_pci_bus_reset_without_sink_is_harmless),
	    T(test_pci_bus_add_fills_slots_then_enospc),
	    T(test_pci_bus_config_read_rejects_out_of_range),
	    T(test_pci_bus_unaligned_dword_at_config_end_reads_all_ones),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
