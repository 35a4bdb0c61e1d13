/* Address-range dispatch of PIO and MMIO exits to device callbacks. */
#ifndef MICROVMM_VMM_BUS_H
#define MICROVMM_VMM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/io.h"

#define BUS_MAX_RANGES 64

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct io_ops *ops;
	void *opaque;
};

/*
 * A bus is filled while the VM is built (single-threaded) and only read
 * afterwards, so dispatch takes no lock. Ranges never overlap.
 */
struct bus {
	const char *name;
	struct bus_range ranges[BUS_MAX_RANGES];
	size_t count;
};

void bus_init(struct bus *bus, const char *name);

/* Returns 0, -EINVAL for an empty or wrapping range, -EEXIST on overlap, -ENOSPC when full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
		 void *opaque) __attribute__((warn_unused_result));

/*
 * Dispatches an access of `size` bytes at `addr`. Accesses that hit no
 * range, or straddle a range's end, read as all ones and are ignored on
 * write (what an unclaimed bus does on real hardware); returns false then.
 */
bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, unsigned int size);
bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, unsigned int size);

#endif
