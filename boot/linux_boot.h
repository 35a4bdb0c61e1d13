/* Linux 64-bit boot protocol: zero page, command line, e820, page tables and entry registers. */
#ifndef MICROVMM_BOOT_LINUX_BOOT_H
#define MICROVMM_BOOT_LINUX_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/bzimage.h"
#include "boot/guest_ram.h"

/*
 * Register state the VMM loads into the boot vCPU: 64-bit mode (boot.rst,
 * "64-bit Boot Protocol"), or 32-bit protected mode without paging for PVH.
 */
struct boot_cpu_state {
	bool long_mode; /* false: flat 32-bit code and data (PVH) */
	uint64_t rip, rsp, rsi, rbx, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint16_t code_selector, data_selector, tss_selector;
};

struct linux_boot_args {
	const struct bzimage *image;
	const uint8_t *image_head; /* first BZIMAGE_HEADER_BYTES of the image */
	const char *cmdline;
	uint64_t initrd_gpa, initrd_size; /* size 0: no initrd */
	uint64_t rsdp_gpa;		  /* 0: none */
	uint64_t entry;			  /* a vmlinux's startup_64; 0: bzImage, load + 0x200 */
	uint64_t pvh_entry;		  /* a vmlinux's PVH entry; 0: none (the 64-bit one) */
};

/*
 * Lowest guest-physical address above the kernel's run-time footprint: the
 * decompressor runs at max(load address, pref_address) and needs init_size
 * bytes there.
 */
uint64_t linux_boot_kernel_end(const struct bzimage *image);

/*
 * Chooses where an initrd of `size` bytes goes: page aligned, as high as
 * possible in low RAM and below the kernel's initrd_addr_max, above the
 * kernel's footprint. Returns 0 or -ENOMEM when it does not fit.
 */
int linux_boot_place_initrd(const struct guest_ram *ram, const struct bzimage *image, uint64_t size,
			    uint64_t *gpa) __attribute__((warn_unused_result));

/*
 * Checks that the payload of the image fits at LAYOUT_KERNEL_LOAD with room
 * to decompress. Returns 0 or -ENOMEM.
 */
int linux_boot_check_kernel_fits(const struct guest_ram *ram, const struct bzimage *image)
    __attribute__((warn_unused_result));

/*
 * Writes the zero page, command line, e820 map, identity page tables, GDT,
 * IDT and the reset stub (boot/reset_stub.h) into guest RAM, with a
 * pvh_entry also the hvm_start_info the PVH entry reads (the same command
 * line, initrd, RSDP and map), and returns the boot vCPU's registers. The payload
 * and initrd must already be in place. Returns 0, -E2BIG for a command line
 * longer than the kernel accepts, -ENOMEM if RAM is too small for the fixed
 * boot areas.
 */
int linux_boot_setup(const struct guest_ram *ram, const struct linux_boot_args *args,
		     struct boot_cpu_state *cpu) __attribute__((warn_unused_result));

#endif
