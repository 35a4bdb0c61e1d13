/* The interface between device models and the VMM: register access callbacks and interrupt lines.
 */
#ifndef MICROVMM_DEVICES_IO_H
#define MICROVMM_DEVICES_IO_H

#include <stdint.h>

#include "boot/le.h"

/*
 * Register access callbacks. `offset` is relative to the start of the range
 * the device was registered at; `size` is 1, 2, 4 or 8 and `data` holds the
 * value in guest (little-endian) byte order. Reads must fill all `size`
 * bytes. Called from vCPU threads, possibly several at once: a device
 * serialises with its own lock.
 */
struct io_ops {
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, unsigned int size);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, unsigned int size);
};

/*
 * An interrupt line a device can drive. `set_level` raises (1) or lowers (0)
 * the line; the VMM routes it to the in-kernel irqchip. May be called with
 * the device's lock held; must not call back into the device.
 */
struct irq_line {
	int (*set_level)(void *ctx, unsigned int gsi, int level);
	void *ctx;
	unsigned int gsi;
};

static inline int irq_line_set(const struct irq_line *line, int level)
{
	if (!line->set_level)
		return 0;
	return line->set_level(line->ctx, line->gsi, level);
}

#endif
