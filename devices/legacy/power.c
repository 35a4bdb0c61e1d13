/* Guest power events: ACPI sleep/reset registers, the i8042 reset line and pvpanic. */
#include "devices/legacy/power.h"

#include <string.h>

#include "boot/layout.h"

/* ACPI 6.5 §4.8.3.7: SLP_EN is bit 5, SLP_TYPx bits 4:2; our \_S5 package says type 5. */
#define SLEEP_CONTROL_SLP_EN	0x20
#define SLEEP_CONTROL_TYP_SHIFT 2
#define SLEEP_CONTROL_TYP_MASK	0x7
#define SLEEP_TYPE_S5		5

#define I8042_CMD_RESET 0xfe
/*
 * Status register (Linux drivers/input/serio/i8042.h): bit 0 output buffer
 * full, bit 1 input buffer full. Input always empty, so Linux's reboot=k
 * path (arch/x86/kernel/reboot.c, kb_wait()) writes the reset command at
 * once instead of polling 0x10000 times; output always full, so the i8042
 * driver's probe (i8042_flush()) drains 16 bytes, finds no end and reports
 * no controller, as it did when the whole register read 0xff.
 */
#define I8042_STR_OBF	  0x01
#define I8042_STATUS_IDLE I8042_STR_OBF

/* pvpanic (QEMU docs/specs/pvpanic.txt): bit 0 "guest panicked". */
#define PVPANIC_PANICKED 0x01

static void power_emit(void *opaque, enum power_event event)
{
	const struct power_sink *sink = opaque;

	if (sink->event)
		sink->event(sink->ctx, event);
}

static void power_acpi_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	(void)opaque;
	(void)offset;
	/* Sleep status never reports WAK_STS: we stop the VM on the S5 write itself. */
	memset(data, 0, size);
}

static void power_acpi_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	uint8_t v = data[0];

	(void)size;
	switch (offset + LAYOUT_PORT_SLEEP_CONTROL) {
	case LAYOUT_PORT_SLEEP_CONTROL:
		if ((v & SLEEP_CONTROL_SLP_EN) &&
		    ((v >> SLEEP_CONTROL_TYP_SHIFT) & SLEEP_CONTROL_TYP_MASK) == SLEEP_TYPE_S5)
			power_emit(opaque, POWER_EVENT_OFF);
		return;
	case LAYOUT_PORT_RESET:
		if (v == LAYOUT_RESET_VALUE)
			power_emit(opaque, POWER_EVENT_RESET);
		return;
	default:
		return; /* sleep status: writes clear bits we never set */
	}
}

const struct io_ops power_acpi_io_ops = {.read = power_acpi_read, .write = power_acpi_write};

static void power_i8042_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	(void)opaque;
	(void)offset;
	memset(data, I8042_STATUS_IDLE, size);
}

static void power_i8042_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size)
{
	(void)offset;
	(void)size;
	/* Pulsing the CPU reset line through the keyboard controller (reboot=k). */
	if (data[0] == I8042_CMD_RESET)
		power_emit(opaque, POWER_EVENT_RESET);
}

const struct io_ops power_i8042_io_ops = {.read = power_i8042_read, .write = power_i8042_write};

static void power_pvpanic_read(void *opaque, uint64_t offset, uint8_t *data, unsigned int size)
{
	(void)opaque;
	(void)offset;
	/* Capabilities: the events we understand. */
	memset(data, 0, size);
	data[0] = PVPANIC_PANICKED;
}

static void power_pvpanic_write(void *opaque, uint64_t offset, const uint8_t *data,
				unsigned int size)
{
	(void)offset;
	(void)size;
	if (data[0] & PVPANIC_PANICKED)
		power_emit(opaque, POWER_EVENT_PANIC);
}

const struct io_ops power_pvpanic_io_ops = {.read = power_pvpanic_read,
					    .write = power_pvpanic_write};
