/* Loading the kernel and initrd files into guest RAM, with user-facing errors. */
#ifndef MICROVMM_VMM_LOADER_H
#define MICROVMM_VMM_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "boot/bzimage.h"
#include "boot/elf_kernel.h"
#include "boot/guest_ram.h"

struct loaded_kernel {
	uint64_t pvh_entry;   /* a vmlinux's PVH entry (XEN_ELFNOTE_PHYS32_ENTRY); 0: none */
	struct bzimage image; /* for a vmlinux: the header it would have */
	uint8_t head[BZIMAGE_HEADER_BYTES]; /* the setup header for the zero page */
	uint64_t entry;			    /* a vmlinux's startup_64; 0 for a bzImage */
};

/*
 * Opens and validates the kernel at `path`: a bzImage, whose payload goes to
 * LAYOUT_KERNEL_LOAD (its decompressor places the kernel), or an uncompressed
 * vmlinux (ELF64), whose segments go where they say (entered directly, no
 * decompression). Returns 0 or -errno with one line naming the problem and
 * the fix in `err`.
 */
int loader_load_kernel(const char *path, const struct guest_ram *ram, struct loaded_kernel *out,
		       char *err, size_t err_len) __attribute__((warn_unused_result));

/*
 * Copies the initrd at `path` as high as the kernel allows in low RAM,
 * followed (at a 4-byte boundary, as concatenated initramfs archives need)
 * by `append_len` bytes of `append`. *size is the total. Returns 0 or
 * -errno with a user-facing line in `err`.
 */
int loader_load_initrd(const char *path, const struct guest_ram *ram, const struct bzimage *image,
		       const uint8_t *append, size_t append_len, uint64_t *gpa, uint64_t *size,
		       char *err, size_t err_len) __attribute__((warn_unused_result));

#endif
