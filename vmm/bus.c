/* Address-range dispatch of PIO and MMIO exits to device callbacks. */
#include "vmm/bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

static bool bus_overlaps(const struct bus_range *r, uint64_t base, uint64_t len)
{
	return base < r->base + r->len && r->base < base + len;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct io_ops *ops,
		 void *opaque)
{
	if (len == 0 || base + len < base || !ops)
		return -EINVAL;
	for (size_t i = 0; i < bus->count; i++)
		if (bus_overlaps(&bus->ranges[i], base, len))
			return -EEXIST;
	if (bus->count == BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->count++] = (struct bus_range){base, len, ops, opaque};
	return 0;
}

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, unsigned int size)
{
	for (size_t i = 0; i < bus->count; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (addr >= r->base && addr - r->base < r->len)
			return size <= r->len - (addr - r->base) ? r : NULL;
	}
	return NULL;
}

bool bus_read(const struct bus *bus, uint64_t addr, uint8_t *data, unsigned int size)
{
	const struct bus_range *r = bus_find(bus, addr, size);

	if (!r || !r->ops->read) {
		memset(data, 0xff, size);
		return r != NULL;
	}
	r->ops->read(r->opaque, addr - r->base, data, size);
	return true;
}

bool bus_write(const struct bus *bus, uint64_t addr, const uint8_t *data, unsigned int size)
{
	const struct bus_range *r = bus_find(bus, addr, size);

	if (!r || !r->ops->write)
		return r != NULL;
	r->ops->write(r->opaque, addr - r->base, data, size);
	return true;
}
