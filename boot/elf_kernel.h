/*
 * An uncompressed x86-64 Linux kernel (vmlinux, ELF64): its loadable segments and entries, so
 * microvmm can place it itself and enter it directly, without the bzImage's decompressor:
 * through PVH (Xen's "x86/HVM direct boot ABI", docs/misc/pvh.pandoc: the
 * XEN_ELFNOTE_PHYS32_ENTRY note, 32-bit protected mode, hvm_start_info) when the kernel has
 * that note (CONFIG_PVH), else at the ELF's entry, startup_64 (boot.rst "64-bit Boot
 * Protocol").
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
/* Its notes are one PT_NOTE of a few hundred bytes; a larger one is not read. */
#define ELF_KERNEL_MAX_NOTES 4
#define ELF_KERNEL_NOTES_MAX 65536
/* xen/include/public/elfnote.h: the 32-bit entry of the PVH boot ABI. */
#define ELF_XEN_NOTE_PHYS32_ENTRY 18

struct elf_segment {
	uint64_t file_offset, file_size; /* what to copy from the file */
	uint64_t paddr, mem_size;	 /* where to, and how much memory (the rest zeroed) */
};

struct elf_kernel {
	uint64_t entry;	    /* guest-physical, inside a segment */
	uint64_t pvh_entry; /* the PVH entry, inside a segment and below 4 GiB; 0: none */
	uint64_t low, high; /* the segments' physical extent [low, high) */
	unsigned int count;
	struct elf_segment segments[ELF_KERNEL_MAX_SEGMENTS];
	/* PT_NOTE segments (file offset and size, inside the file), for elf_kernel_set_pvh. */
	unsigned int note_count;
	struct elf_segment notes[ELF_KERNEL_MAX_NOTES];
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
 * Looks for XEN_ELFNOTE_PHYS32_ENTRY ("Xen" owner, a 4- or 8-byte address)
 * in `notes`, the bytes of one PT_NOTE segment (Elf64_Nhdr records, name
 * and description each padded to 4 bytes; gABI "Note Section"), and keeps
 * it in kernel->pvh_entry when it lies inside a loaded segment and below
 * 4 GiB (the ABI starts in 32-bit mode). Every length is checked against
 * `len` before use. Returns 0, or -ENOENT when there is no usable one.
 */
int elf_kernel_set_pvh(struct elf_kernel *kernel, const uint8_t *notes, size_t len)
    __attribute__((warn_unused_result));

/*
 * The setup header a vmlinux lacks, as a bzImage would carry it (protocol 2.15, 64-bit
 * entry, not relocatable, running where its segments are): written into `head` for the
 * zero page, and decoded into `image` for the rest of the boot code (initrd placement).
 */
void elf_kernel_setup_header(const struct elf_kernel *kernel, uint8_t head[BZIMAGE_HEADER_BYTES],
			     struct bzimage *image);

#endif
