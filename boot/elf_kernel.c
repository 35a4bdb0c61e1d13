/* Parsing an uncompressed vmlinux (ELF64, System V gABI "ELF Header" and "Program Header"). */
#include "boot/elf_kernel.h"

#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/le.h"

/*
 * Fields are read at their <elf.h> offsets with the little-endian helpers
 * (the file is not trusted to be aligned); the structs only give the layout.
 */
#define EHDR(field)   offsetof(Elf64_Ehdr, field)
#define PHDR(field)   offsetof(Elf64_Phdr, field)
#define ELF_MAX_PHDRS 64

int elf_kernel_is_elf(const uint8_t *head, size_t head_len)
{
	return head_len >= SELFMAG && !memcmp(head, ELFMAG, SELFMAG);
}

/* One PT_LOAD, checked: inside the file, not growing past memory, above 1 MiB, no overflow. */
static int elf_kernel_segment(const uint8_t *ph, uint64_t file_size, struct elf_segment *seg)
{
	seg->file_offset = le_get64(ph + PHDR(p_offset));
	seg->paddr = le_get64(ph + PHDR(p_paddr));
	seg->file_size = le_get64(ph + PHDR(p_filesz));
	seg->mem_size = le_get64(ph + PHDR(p_memsz));
	if (seg->file_size > seg->mem_size || seg->file_offset > file_size ||
	    seg->file_size > file_size - seg->file_offset)
		return -ENOEXEC;
	/* Below 1 MiB are microvmm's own tables (boot/layout.h); past 2^48 no RAM. */
	if (seg->paddr < LAYOUT_HIGH_MEM_START || seg->mem_size > (1ULL << 48) ||
	    seg->paddr > (1ULL << 48) - seg->mem_size)
		return -ENOEXEC;
	return 0;
}

/* A PT_NOTE inside the file and of a size worth reading is kept; others are ignored. */
static void elf_kernel_note_segment(const uint8_t *ph, uint64_t file_size, struct elf_kernel *out)
{
	uint64_t offset = le_get64(ph + PHDR(p_offset));
	uint64_t size = le_get64(ph + PHDR(p_filesz));

	if (out->note_count == ELF_KERNEL_MAX_NOTES || size == 0 || size > ELF_KERNEL_NOTES_MAX ||
	    offset > file_size || size > file_size - offset)
		return;
	out->notes[out->note_count++] =
	    (struct elf_segment){.file_offset = offset, .file_size = size};
}

/* Whether [addr, addr + 1) lies in one of the kernel's loaded segments. */
static int elf_kernel_loads(const struct elf_kernel *kernel, uint64_t addr)
{
	for (unsigned int i = 0; i < kernel->count; i++)
		if (addr >= kernel->segments[i].paddr &&
		    addr - kernel->segments[i].paddr < kernel->segments[i].mem_size)
			return 1;
	return 0;
}

int elf_kernel_set_pvh(struct elf_kernel *kernel, const uint8_t *notes, size_t len)
{
	size_t pos = 0;

	/* The file is the user's, not ours: every length is bounded before it is used. */
	while (len - pos >= sizeof(Elf64_Nhdr)) {
		uint32_t namesz = le_get32(notes + pos + offsetof(Elf64_Nhdr, n_namesz));
		uint32_t descsz = le_get32(notes + pos + offsetof(Elf64_Nhdr, n_descsz));
		uint32_t type = le_get32(notes + pos + offsetof(Elf64_Nhdr, n_type));
		size_t name_at = pos + sizeof(Elf64_Nhdr);
		size_t name_room = ((size_t)namesz + 3) & ~(size_t)3;
		size_t desc_room = ((size_t)descsz + 3) & ~(size_t)3;

		if (name_room > len - name_at || desc_room > len - name_at - name_room)
			return -ENOENT;
		const uint8_t *desc = notes + name_at + name_room;

		if (type == ELF_XEN_NOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(notes + name_at, "Xen", 4) && (descsz == 4 || descsz == 8)) {
			uint64_t entry = descsz == 8 ? le_get64(desc) : le_get32(desc);

			if (entry == 0 || entry >= (1ULL << 32) || !elf_kernel_loads(kernel, entry))
				return -ENOENT;
			kernel->pvh_entry = entry;
			return 0;
		}
		pos = name_at + name_room + desc_room;
	}
	return -ENOENT;
}

int elf_kernel_parse(const uint8_t *head, size_t head_len, uint64_t file_size,
		     struct elf_kernel *out)
{
	int entry_found = 0;

	memset(out, 0, sizeof(*out));
	if (head_len < sizeof(Elf64_Ehdr) || !elf_kernel_is_elf(head, head_len) ||
	    head[EI_CLASS] != ELFCLASS64 || head[EI_DATA] != ELFDATA2LSB ||
	    le_get16(head + EHDR(e_type)) != ET_EXEC ||
	    le_get16(head + EHDR(e_machine)) != EM_X86_64 ||
	    le_get16(head + EHDR(e_phentsize)) != sizeof(Elf64_Phdr))
		return -ENOEXEC;
	uint64_t phoff = le_get64(head + EHDR(e_phoff));
	unsigned int phnum = le_get16(head + EHDR(e_phnum));

	if (!phnum || phnum > ELF_MAX_PHDRS || phoff > head_len ||
	    (uint64_t)phnum * sizeof(Elf64_Phdr) > head_len - phoff)
		return -ENOEXEC;
	out->entry = le_get64(head + EHDR(e_entry));
	out->low = UINT64_MAX;
	for (unsigned int i = 0; i < phnum; i++) {
		const uint8_t *ph = head + phoff + (uint64_t)i * sizeof(Elf64_Phdr);
		struct elf_segment seg;

		if (le_get32(ph + PHDR(p_type)) == PT_NOTE) {
			elf_kernel_note_segment(ph, file_size, out);
			continue;
		}
		if (le_get32(ph + PHDR(p_type)) != PT_LOAD)
			continue;
		if (out->count == ELF_KERNEL_MAX_SEGMENTS ||
		    elf_kernel_segment(ph, file_size, &seg))
			return -ENOEXEC;
		out->segments[out->count++] = seg;
		if (seg.paddr < out->low)
			out->low = seg.paddr;
		if (seg.paddr + seg.mem_size > out->high)
			out->high = seg.paddr + seg.mem_size;
		if (out->entry >= seg.paddr && out->entry - seg.paddr < seg.mem_size)
			entry_found = 1;
	}
	return out->count && entry_found ? 0 : -ENOEXEC;
}

/* Setup header offsets (boot.rst, "The Real-Mode Kernel Header"). */
#define HDR_BOOT_FLAG	     0x1fe
#define HDR_JUMP	     0x200
#define HDR_MAGIC	     0x202
#define HDR_VERSION	     0x206
#define HDR_LOADFLAGS	     0x211
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_XLOADFLAGS	     0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE	     0x260
#define HDR_END		     0x26c /* after init_size and handover_offset: protocol 2.15 */
#define PROTOCOL	     0x020f
#define LOADED_HIGH	     0x01
#define XLF_KERNEL_64	     0x01
#define VMLINUX_CMDLINE_MAX  2047
#define VMLINUX_INITRD_MAX   0x7fffffffu
#define VMLINUX_ALIGNMENT    0x200000u

void elf_kernel_setup_header(const struct elf_kernel *kernel, uint8_t head[BZIMAGE_HEADER_BYTES],
			     struct bzimage *image)
{
	uint64_t span = kernel->high - kernel->low;
	uint32_t init_size = span > UINT32_MAX ? UINT32_MAX : (uint32_t)span;

	memset(head, 0, BZIMAGE_HEADER_BYTES);
	le_put16(head + HDR_BOOT_FLAG, 0xaa55);
	head[HDR_JUMP] = 0xeb; /* a short jump whose offset says where the header ends */
	head[HDR_JUMP + 1] = HDR_END - (HDR_JUMP + 2);
	memcpy(head + HDR_MAGIC, "HdrS", 4);
	le_put16(head + HDR_VERSION, PROTOCOL);
	head[HDR_LOADFLAGS] = LOADED_HIGH;
	le_put32(head + HDR_INITRD_ADDR_MAX, VMLINUX_INITRD_MAX);
	le_put32(head + HDR_KERNEL_ALIGNMENT, VMLINUX_ALIGNMENT);
	le_put16(head + HDR_XLOADFLAGS, XLF_KERNEL_64);
	le_put32(head + HDR_CMDLINE_SIZE, VMLINUX_CMDLINE_MAX);
	le_put64(head + HDR_PREF_ADDRESS, kernel->low);
	le_put32(head + HDR_INIT_SIZE, init_size);
	*image = (struct bzimage){
	    .protocol = PROTOCOL,
	    .payload_offset = 0,
	    .payload_size = 0, /* nothing goes to LAYOUT_KERNEL_LOAD: the segments are placed */
	    .init_size = init_size,
	    .kernel_alignment = VMLINUX_ALIGNMENT,
	    .pref_address = kernel->low,
	    .cmdline_max = VMLINUX_CMDLINE_MAX,
	    .initrd_addr_max = VMLINUX_INITRD_MAX,
	    .xloadflags = XLF_KERNEL_64,
	    .header_end = HDR_END,
	};
}
