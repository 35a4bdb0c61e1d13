/* Unit tests for PIO/MMIO range dispatch (vmm/bus.c) and the power-event ports
 * (devices/legacy/power.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/layout.h"
#include "devices/legacy/power.h"
#include "vmm/bus.h"

#define MAX_EVENTS 8

/* ---- a recording device for the bus ---- */

struct probe {
	unsigned int reads, writes;
	uint64_t offset;
	unsigned int size;
	uint8_t written[8];
};

static void probe_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	struct probe *p = opaque;

	p->reads++;
	p->offset = offset;
	p->size = size;
	for (unsigned int i = 0; i < size; i++)
		data[i] = (uint8_t)(0xa0 + i);
}

static void probe_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	struct probe *p = opaque;

	p->writes++;
	p->offset = offset;
	p->size = size;
	memcpy(p->written, data, size);
}

static const struct io_ops probe_ops = {.read = probe_read, .write = probe_write};
static const struct io_ops no_ops = {0};

static void test_bus_register_accepts_adjacent_ranges(void **state)
{
	struct bus bus;
	struct probe a = {0}, b = {0};

	(void)state;
	bus_init(&bus, "pio");

	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &a), 0);
	assert_int_equal(bus_register(&bus, 0x400, 8, &probe_ops, &b), 0);
	assert_int_equal(bus_register(&bus, 0x3f0, 8, &probe_ops, &b), 0);
	assert_int_equal(bus.count, 3);
	assert_string_equal(bus.name, "pio");
}

static void test_bus_register_rejects_overlaps(void **state)
{
	struct bus bus;
	struct probe a = {0};

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &a), 0);

	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &a), -EEXIST); /* same */
	assert_int_equal(bus_register(&bus, 0x3ff, 1, &probe_ops, &a), -EEXIST); /* last byte */
	assert_int_equal(bus_register(&bus, 0x3f0, 9, &probe_ops, &a), -EEXIST); /* first byte */
	assert_int_equal(bus_register(&bus, 0x3fa, 2, &probe_ops, &a), -EEXIST); /* inside */
	assert_int_equal(bus_register(&bus, 0x300, 0x200, &probe_ops, &a), -EEXIST); /* covers */
	assert_int_equal(bus.count, 1);
}

static void test_bus_register_rejects_empty_range(void **state)
{
	struct bus bus;

	(void)state;
	bus_init(&bus, "mmio");

	assert_int_equal(bus_register(&bus, 0x1000, 0, &probe_ops, NULL), -EINVAL);
	assert_int_equal(bus.count, 0);
}

static void test_bus_register_rejects_wrapping_range(void **state)
{
	struct bus bus;

	(void)state;
	bus_init(&bus, "mmio");

	assert_int_equal(bus_register(&bus, UINT64_MAX - 0xf, 0x20, &probe_ops, NULL), -EINVAL);
	assert_int_equal(bus_register(&bus, 0x1000, UINT64_MAX, &probe_ops, NULL), -EINVAL);
	assert_int_equal(bus.count, 0);
}

static void test_bus_register_rejects_missing_ops(void **state)
{
	struct bus bus;

	(void)state;
	bus_init(&bus, "mmio");

	assert_int_equal(bus_register(&bus, 0x1000, 0x10, NULL, NULL), -EINVAL);
}

static void test_bus_register_enospc_when_full(void **state)
{
	struct bus bus;

	(void)state;
	bus_init(&bus, "pio");
	for (uint64_t i = 0; i < BUS_MAX_RANGES; i++)
		assert_int_equal(bus_register(&bus, 0x1000 + i * 0x10, 0x10, &probe_ops, NULL), 0);

	assert_int_equal(bus_register(&bus, 0x9000, 0x10, &probe_ops, NULL), -ENOSPC);
	assert_int_equal(bus.count, BUS_MAX_RANGES);
}

static void test_bus_read_unclaimed_returns_all_ones(void **state)
{
	struct bus bus;
	struct probe a = {0};
	uint8_t data[4] = {0, 0, 0, 0};

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &a), 0);

	bool claimed = bus_read(&bus, 0x2f8, data, 4);

	assert_false(claimed);
	assert_memory_equal(data, ((uint8_t[]){0xff, 0xff, 0xff, 0xff}), 4);
	assert_int_equal(a.reads, 0);
}

static void test_bus_write_unclaimed_returns_false(void **state)
{
	struct bus bus;
	struct probe a = {0};
	const uint8_t v = 0x41;

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &a), 0);

	assert_false(bus_write(&bus, 0x400, &v, 1));
	assert_int_equal(a.writes, 0);
}

static void test_bus_access_straddling_range_end_is_unclaimed(void **state)
{
	struct bus bus;
	struct probe a = {0};
	uint8_t data[4] = {0};
	const uint8_t w[4] = {1, 2, 3, 4};

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &probe_ops, &a), 0);

	assert_false(bus_read(&bus, 0x3fe, data, 4));
	assert_false(bus_write(&bus, 0x3fd, w, 4));
	/* Starting just before the range is unclaimed too. */
	assert_false(bus_read(&bus, 0x3f7, data, 2));

	assert_memory_equal(data, ((uint8_t[]){0xff, 0xff, 0xff, 0xff}), 4);
	assert_int_equal(a.reads, 0);
	assert_int_equal(a.writes, 0);
}

static void test_bus_dispatch_passes_offset_relative_to_base(void **state)
{
	struct bus bus;
	struct probe a = {0}, b = {0};
	uint8_t data[2] = {0};
	const uint8_t w[4] = {0xde, 0xad, 0xbe, 0xef};

	(void)state;
	bus_init(&bus, "mmio");
	assert_int_equal(bus_register(&bus, 0xd0000000, 0x1000, &probe_ops, &a), 0);
	assert_int_equal(bus_register(&bus, 0xd0001000, 0x1000, &probe_ops, &b), 0);

	assert_true(bus_read(&bus, 0xd0000ffe, data, 2)); /* ends exactly at the range end */
	assert_true(bus_write(&bus, 0xd0001010, w, 4));

	assert_int_equal(a.reads, 1);
	assert_int_equal(a.offset, 0xffe);
	assert_int_equal(a.size, 2);
	assert_memory_equal(data, ((uint8_t[]){0xa0, 0xa1}), 2);
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.offset, 0x10);
	assert_int_equal(b.size, 4);
	assert_memory_equal(b.written, w, 4);
}

static void test_bus_range_without_read_callback_reads_ones_but_is_claimed(void **state)
{
	struct bus bus;
	uint8_t data[2] = {0};
	const uint8_t v = 1;

	(void)state;
	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x80, 1, &no_ops, NULL), 0);

	assert_true(bus_read(&bus, 0x80, data, 1));
	assert_int_equal(data[0], 0xff);
	assert_true(bus_write(&bus, 0x80, &v, 1));
}

/* ---- power ports ---- */

struct sink_record {
	struct power_sink sink;
	unsigned int count;
	enum power_event event[MAX_EVENTS];
};

static void record_event(void *ctx, enum power_event event)
{
	struct sink_record *r = ctx;

	if (r->count < MAX_EVENTS)
		r->event[r->count] = event;
	r->count++;
}

static int sink_setup(void **state)
{
	struct sink_record *r = calloc(1, sizeof(*r));

	if (!r)
		return -1;
	r->sink = (struct power_sink){.event = record_event, .ctx = r};
	*state = r;
	return 0;
}

static int sink_teardown(void **state)
{
	free(*state);
	return 0;
}

static void port_write8(const struct io_ops *ops, struct sink_record *r, uint64_t offset, uint8_t v)
{
	ops->write(&r->sink, offset, &v, 1);
}

static void test_power_sleep_control_s5_powers_off(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_acpi_io_ops, r, 0, 0x34); /* SLP_EN | SLP_TYP 5 */

	assert_int_equal(r->count, 1);
	assert_int_equal(r->event[0], POWER_EVENT_OFF);
}

static void test_power_sleep_control_s4_does_nothing(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_acpi_io_ops, r, 0, 0x20 | (4 << 2));

	assert_int_equal(r->count, 0);
}

static void test_power_sleep_control_s5_without_slp_en_does_nothing(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_acpi_io_ops, r, 0, 5 << 2);

	assert_int_equal(r->count, 0);
}

static void test_power_sleep_status_write_does_nothing(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_acpi_io_ops, r, LAYOUT_PORT_SLEEP_STATUS - LAYOUT_PORT_SLEEP_CONTROL,
		    0x34);

	assert_int_equal(r->count, 0);
}

static void test_power_acpi_registers_read_zero(void **state)
{
	struct sink_record *r = *state;
	uint8_t v[2] = {0xaa, 0xaa};

	power_acpi_io_ops.read(&r->sink, 1, v, 2);

	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 0);
}

static void test_power_reset_register_value_1_resets(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_acpi_io_ops, r, LAYOUT_PORT_RESET - LAYOUT_PORT_SLEEP_CONTROL,
		    LAYOUT_RESET_VALUE);

	assert_int_equal(r->count, 1);
	assert_int_equal(r->event[0], POWER_EVENT_RESET);
}

static void test_power_reset_register_other_value_does_nothing(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_acpi_io_ops, r, LAYOUT_PORT_RESET - LAYOUT_PORT_SLEEP_CONTROL, 2);

	assert_int_equal(r->count, 0);
}

static void test_power_i8042_reset_command_resets(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_i8042_io_ops, r, 0, 0xfe);

	assert_int_equal(r->count, 1);
	assert_int_equal(r->event[0], POWER_EVENT_RESET);
}

static void test_power_i8042_other_command_does_nothing(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_i8042_io_ops, r, 0, 0xad);

	assert_int_equal(r->count, 0);
}

/*
 * Linux's kb_wait() polls until status bit 1 (input buffer full) is clear
 * before it writes 0xfe; with 0xff it spun 0x10000 times first. Bit 0
 * (output buffer full) stays set so the i8042 driver's flush still finds
 * no controller.
 */
static void test_power_i8042_status_input_empty_output_full(void **state)
{
	struct sink_record *r = *state;
	uint8_t v = 0;

	power_i8042_io_ops.read(&r->sink, 0, &v, 1);

	assert_int_equal(v & 0x02, 0);
	assert_int_equal(v & 0x01, 0x01);
}

static void test_power_pvpanic_read_reports_panicked_capability(void **state)
{
	struct sink_record *r = *state;
	uint8_t v = 0xaa;

	power_pvpanic_io_ops.read(&r->sink, 0, &v, 1);

	assert_int_equal(v, 1);
}

static void test_power_pvpanic_write_1_reports_panic(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_pvpanic_io_ops, r, 0, 1);

	assert_int_equal(r->count, 1);
	assert_int_equal(r->event[0], POWER_EVENT_PANIC);
}

static void test_power_pvpanic_write_2_does_nothing(void **state)
{
	struct sink_record *r = *state;

	port_write8(&power_pvpanic_io_ops, r, 0, 2); /* crash loaded: not a panic */

	assert_int_equal(r->count, 0);
}

static void test_power_events_without_sink_callback_are_dropped(void **state)
{
	struct sink_record *r = *state;

	r->sink.event = NULL;

	port_write8(&power_pvpanic_io_ops, r, 0, 1);
	port_write8(&power_i8042_io_ops, r, 0, 0xfe);
	port_write8(&power_acpi_io_ops, r, 0, 0x34);

	assert_int_equal(r->count, 0);
}

static void test_power_ports_dispatch_through_bus(void **state)
{
	struct sink_record *r = *state;
	struct bus bus;
	const uint8_t s5 = 0x34, reset = LAYOUT_RESET_VALUE;

	bus_init(&bus, "pio");
	assert_int_equal(
	    bus_register(&bus, LAYOUT_PORT_SLEEP_CONTROL, 3, &power_acpi_io_ops, &r->sink), 0);

	assert_true(bus_write(&bus, LAYOUT_PORT_RESET, &reset, 1));
	assert_true(bus_write(&bus, LAYOUT_PORT_SLEEP_CONTROL, &s5, 1));

	assert_int_equal(r->count, 2);
	assert_int_equal(r->event[0], POWER_EVENT_RESET);
	assert_int_equal(r->event[1], POWER_EVENT_OFF);
}

int main(void)
{
#define P(fn) cmocka_unit_test_setup_teardown(fn, sink_setup, sink_teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bus_register_accepts_adjacent_ranges),
	    cmocka_unit_test(test_bus_register_rejects_overlaps),
	    cmocka_unit_test(test_bus_register_rejects_empty_range),
	    cmocka_unit_test(test_bus_register_rejects_wrapping_range),
	    cmocka_unit_test(test_bus_register_rejects_missing_ops),
	    cmocka_unit_test(test_bus_register_enospc_when_full),
	    cmocka_unit_test(test_bus_read_unclaimed_returns_all_ones),
	    cmocka_unit_test(test_bus_write_unclaimed_returns_false),
	    cmocka_unit_test(test_bus_access_straddling_range_end_is_unclaimed),
	    cmocka_unit_test(test_bus_dispatch_passes_offset_relative_to_base),
	    cmocka_unit_test(test_bus_range_without_read_callback_reads_ones_but_is_claimed),
	    P(test_power_sleep_control_s5_powers_off),
	    P(test_power_sleep_control_s4_does_nothing),
	    P(test_power_sleep_control_s5_without_slp_en_does_nothing),
	    P(test_power_sleep_status_write_does_nothing),
	    P(test_power_acpi_registers_read_zero),
	    P(test_power_reset_register_value_1_resets),
	    P(test_power_reset_register_other_value_does_nothing),
	    P(test_power_i8042_reset_command_resets),
	    P(test_power_i8042_other_command_does_nothing),
	    P(test_power_i8042_status_input_empty_output_full),
	    P(test_power_pvpanic_read_reports_panicked_capability),
	    P(test_power_pvpanic_write_1_reports_panic),
	    P(test_power_pvpanic_write_2_does_nothing),
	    P(test_power_events_without_sink_callback_are_dropped),
	    P(test_power_ports_dispatch_through_bus),
	};
#undef P

	return cmocka_run_group_tests(tests, NULL, NULL);
}
