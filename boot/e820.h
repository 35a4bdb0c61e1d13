/* The BIOS e820 memory map handed to Linux in the zero page. */
#ifndef MICROVMM_BOOT_E820_H
#define MICROVMM_BOOT_E820_H

#include <stdint.h>

#include "boot/guest_ram.h"

#define E820_RAM      1
#define E820_RESERVED 2

/* The zero page holds at most this many entries (E820_MAX_ENTRIES_ZEROPAGE). */
#define E820_MAX_ENTRIES 128

/* Packed exactly as boot_params.e820_table (zero-page.rst offset 0x2d0). */
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "e820 entry is 20 bytes");

/*
 * Fills `out` (room for `max` entries) with the map for `ram`: RAM below
 * 0x9fc00, the reserved BIOS/ACPI area up to 1 MiB, RAM from 1 MiB to the
 * low region's end, then RAM above 4 GiB. The PCI hole is left out so Linux
 * sees it as the gap for device windows. Returns the entry count or
 * -EINVAL when RAM is too small to hold the fixed low areas, -ENOSPC when
 * `max` is too small.
 */
int e820_build(const struct guest_ram *ram, struct e820_entry *out, unsigned int max)
    __attribute__((warn_unused_result));

#endif
