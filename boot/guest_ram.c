/* The guest's RAM layout and the bounds-checked guest-physical to host translation. */
#include "boot/guest_ram.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"

int guest_ram_layout(uint64_t ram_size, struct guest_ram *ram)
{
	memset(ram, 0, sizeof(*ram));
	if (ram_size == 0 || (ram_size & 0xfff))
		return -EINVAL;
	uint64_t low = ram_size < LAYOUT_MEM32_END ? ram_size : LAYOUT_MEM32_END;

	ram->regions[0] = (struct guest_ram_region){.gpa = 0, .size = low};
	ram->count = 1;
	if (ram_size > low) {
		ram->regions[1] =
		    (struct guest_ram_region){.gpa = LAYOUT_MEM_ABOVE_4G, .size = ram_size - low};
		ram->count = 2;
	}
	ram->total = ram_size;
	return 0;
}

void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < ram->count; i++) {
		const struct guest_ram_region *r = &ram->regions[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		uint64_t off = gpa - r->gpa;

		/* len may be 0 only for a range that starts inside RAM. */
		if (len > r->size - off || !r->host)
			return NULL;
		return r->host + off;
	}
	return NULL;
}

uint64_t guest_ram_low_end(const struct guest_ram *ram)
{
	return ram->count ? ram->regions[0].gpa + ram->regions[0].size : 0;
}
