/* The guest's RAM as the VMM sees it: regions of guest-physical space backed by host memory. */
#ifndef MICROVMM_BOOT_GUEST_RAM_H
#define MICROVMM_BOOT_GUEST_RAM_H

#include <stdint.h>

#define GUEST_RAM_MAX_REGIONS 2

struct guest_ram_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host; /* NULL until the VMM maps the backing memory */
};

/*
 * RAM below the PCI hole (up to 3 GiB) and the rest from 4 GiB
 * (acpi-notes section 5). Owned by the VMM's guest_mem; read-only once the
 * VM runs, so any thread may translate without a lock.
 */
struct guest_ram {
	struct guest_ram_region regions[GUEST_RAM_MAX_REGIONS];
	unsigned int count;
	uint64_t total;
};

/*
 * Splits `ram_size` bytes around the 32-bit PCI hole. Fills gpa and size of
 * each region (host pointers NULL). Returns 0 or -EINVAL when ram_size is 0
 * or not a multiple of 4 KiB.
 */
int guest_ram_layout(uint64_t ram_size, struct guest_ram *ram) __attribute__((warn_unused_result));

/*
 * Host pointer for [gpa, gpa+len) when that whole range lies inside one RAM
 * region, else NULL. Overflow-safe: this is the one check every access to
 * guest memory goes through.
 */
void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len);

/* End of RAM below 4 GiB (the low region's end). */
uint64_t guest_ram_low_end(const struct guest_ram *ram);

#endif
