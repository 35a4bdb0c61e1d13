/* The BIOS e820 memory map handed to Linux in the zero page. */
#include "boot/e820.h"

#include <errno.h>

#include "boot/layout.h"

static int e820_add(struct e820_entry *out, unsigned int max, unsigned int *n, uint64_t addr,
		    uint64_t size, uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n == max)
		return -ENOSPC;
	out[(*n)++] = (struct e820_entry){.addr = addr, .size = size, .type = type};
	return 0;
}

int e820_build(const struct guest_ram *ram, struct e820_entry *out, unsigned int max)
{
	unsigned int n = 0;
	int ret;

	/* The low region always starts at 0 and must reach past 1 MiB. */
	if (ram->count == 0 || ram->regions[0].gpa != 0 ||
	    ram->regions[0].size <= LAYOUT_HIGH_MEM_START)
		return -EINVAL;
	ret = e820_add(out, max, &n, 0, LAYOUT_LOW_RAM_END, E820_RAM);
	if (!ret)
		ret = e820_add(out, max, &n, LAYOUT_LOW_RAM_END,
			       LAYOUT_HIGH_MEM_START - LAYOUT_LOW_RAM_END, E820_RESERVED);
	if (!ret)
		ret = e820_add(out, max, &n, LAYOUT_HIGH_MEM_START,
			       ram->regions[0].size - LAYOUT_HIGH_MEM_START, E820_RAM);
	for (unsigned int i = 1; !ret && i < ram->count; i++)
		ret = e820_add(out, max, &n, ram->regions[i].gpa, ram->regions[i].size, E820_RAM);
	return ret ? ret : (int)n;
}
