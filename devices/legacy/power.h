/* Guest power events: ACPI sleep/reset registers, the i8042 reset line and pvpanic. */
#ifndef MICROVMM_DEVICES_LEGACY_POWER_H
#define MICROVMM_DEVICES_LEGACY_POWER_H

#include "devices/io.h"

enum power_event {
	POWER_EVENT_OFF,   /* ACPI S5 through the sleep control register */
	POWER_EVENT_RESET, /* ACPI reset register, i8042 pulse or PCI 0xcf9 */
	POWER_EVENT_PANIC, /* pvpanic "guest panicked" */
};

/*
 * The sink for power events. Called on a vCPU thread; must only record the
 * event and wake the VMM's main thread (never block on vCPUs).
 */
struct power_sink {
	void (*event)(void *ctx, enum power_event event);
	void *ctx;
};

/* One device model per port block; each `opaque` is the struct power_sink. */
extern const struct io_ops power_acpi_io_ops;	 /* LAYOUT_PORT_SLEEP_CONTROL, 3 ports */
extern const struct io_ops power_i8042_io_ops;	 /* LAYOUT_PORT_I8042_CMD, 1 port: status 0x01 */
extern const struct io_ops power_pvpanic_io_ops; /* LAYOUT_PORT_PVPANIC, 1 port */

#endif
