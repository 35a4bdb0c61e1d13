/*
 * An uncompressed x86-64 Linux kernel (vmlinux, ELF64): its loadable segments and entry, so
 * microvmm can place it itself and enter startup_64 directly, without the bzImage's
 * decompressor (boot.rst "64-bit Boot Protocol"; the ELF's entry is phys_startup_64).
 */
#ifndef MICROVMM_BOOT_ELF_KERNEL_H
#define MICROVMM_BOOT_ELF_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "boot/bzimage.h"

/* Bytes of the file elf_kernel_parse() needs: the ELF header and its program headers. */
#define ELF_KERNEL_HEAD_BYTES 4096
/* Linux's vmlinux has 4 or 5 PT_LOAD segments; more is not a kernel we know. */
#define ELF_KERNEL_MAX_SEGMENTS 16

struct elf_segment {
	uint64_t file_offset, file_size; /* what to copy from the file */
	uint64_t paddr, mem_size;	 /* where to, and how much memory (the rest zeroed) */
};

struct elf_kernel {
	uint64_t entry;	    /* guest-physical, inside a segment */
	uint64_t low, high; /* the segments' physical extent [low, high) */
	unsigned int count;
	struct elf_segment segments[ELF_KERNEL_MAX_SEGMENTS];
};

/* Whether `head` (at least 4 bytes) starts with the ELF magic. */
int elf_kernel_is_elf(const uint8_t *head, size_t head_len);

/*
 * Validates and decodes `head`, the first `head_len` bytes of a `file_size`-byte file:
 * ELF64, little-endian, x86-64, ET_EXEC; program headers inside `head`; every PT_LOAD
 * inside the file, no larger in the file than in memory, at or above 1 MiB, without
 * overflow; the entry inside one of them. Returns 0 or -ENOEXEC.
 */
int elf_kernel_parse(const uint8_t *head, size_t head_len, uint64_t file_size,
		     struct elf_kernel *out) __attribute__((warn_unused_result));

/*
 * The setup header a vmlinux lacks, as a bzImage would carry it (protocol 2.15, 64-bit
 * entry, not relocatable, running where its segments are): written into `head` for the
 * zero page, and decoded into `image` for the rest of the boot code (initrd placement).
 */
void elf_kernel_setup_header(const struct elf_kernel *kernel, uint8_t head[BZIMAGE_HEADER_BYTES],
			     struct bzimage *image);

#endif
