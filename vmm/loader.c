/* Loading the kernel and initrd files into guest RAM, with user-facing errors. */
#include "vmm/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/layout.h"
#include "boot/linux_boot.h"

static int loader_open(const char *path, const char *what, const char *flag, uint64_t *size,
		       char *err, size_t err_len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int ret = -errno;

		snprintf(err, err_len, "cannot open %s '%s': %s: check the %s path", what, path,
			 strerror(-ret), flag);
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s '%s' is not a regular file: check the %s path", what,
			 path, flag);
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Reads exactly `len` bytes at `offset`; a short file is -EIO. */
static int loader_pread_all(int fd, void *dst, uint64_t len, uint64_t offset)
{
	uint8_t *p = dst;

	while (len) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = pread(fd, p, chunk, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (uint64_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

static int loader_parse_bzimage(const uint8_t *head, size_t head_len, const char *path,
				uint64_t size, struct loaded_kernel *out, char *err, size_t err_len)
{
	int ret;

	memcpy(out->head, head, head_len < sizeof(out->head) ? head_len : sizeof(out->head));
	ret = head_len < sizeof(out->head)
		  ? -ENOEXEC
		  : bzimage_parse(out->head, sizeof(out->head), size, &out->image);
	if (ret == -EPROTONOSUPPORT)
		snprintf(err, err_len,
			 "kernel '%s' is a bzImage too old for the 64-bit boot protocol "
			 "(needs 2.12+): use a Linux 3.8 or newer kernel",
			 path);
	else if (ret)
		snprintf(err, err_len,
			 "kernel '%s' is neither a bzImage nor an x86-64 vmlinux: give a bzImage "
			 "such as /boot/vmlinuz-*, or the vmlinux built with it",
			 path);
	return ret;
}

/* A vmlinux's segments, each at its physical address, the rest of each zeroed. */
static int loader_place_vmlinux(int fd, const char *path, const struct guest_ram *ram,
				const struct elf_kernel *elf, char *err, size_t err_len)
{
	for (unsigned int i = 0; i < elf->count; i++) {
		const struct elf_segment *seg = &elf->segments[i];
		uint8_t *dst = guest_ram_ptr(ram, seg->paddr, seg->mem_size);
		int ret;

		if (!dst || seg->paddr + seg->mem_size > guest_ram_low_end(ram)) {
			snprintf(
			    err, err_len,
			    "kernel '%s' needs RAM up to %lluM below 3G, more than --mem gives: "
			    "give a larger --mem",
			    path, (unsigned long long)((elf->high >> 20) + 1));
			return -ENOMEM;
		}
		ret = loader_pread_all(fd, dst, seg->file_size, seg->file_offset);
		if (ret) {
			snprintf(err, err_len, "cannot read kernel '%s': %s", path, strerror(-ret));
			return ret;
		}
		memset(dst + seg->file_size, 0, seg->mem_size - seg->file_size);
	}
	return 0;
}

/*
 * The PVH entry from the vmlinux's notes, or 0 (no note, or one unreadable:
 * the 64-bit entry works for every vmlinux).
 */
static uint64_t loader_pvh_entry(int fd, struct elf_kernel *elf)
{
	uint8_t *notes = elf->note_count ? malloc(ELF_KERNEL_NOTES_MAX) : NULL;

	for (unsigned int i = 0; notes && i < elf->note_count; i++) {
		const struct elf_segment *seg = &elf->notes[i];

		if (loader_pread_all(fd, notes, (size_t)seg->file_size, seg->file_offset) == 0 &&
		    elf_kernel_set_pvh(elf, notes, (size_t)seg->file_size) == 0)
			break;
	}
	free(notes);
	return elf->pvh_entry;
}

int loader_load_kernel(const char *path, const struct guest_ram *ram, struct loaded_kernel *out,
		       char *err, size_t err_len)
{
	uint8_t head[ELF_KERNEL_HEAD_BYTES] = {0};
	struct elf_kernel elf;
	uint64_t size;
	int fd = loader_open(path, "kernel", "--kernel", &size, err, err_len);
	size_t head_len;
	int ret;

	if (fd < 0)
		return fd;
	memset(out, 0, sizeof(*out));
	head_len = size < sizeof(head) ? (size_t)size : sizeof(head);
	ret = loader_pread_all(fd, head, head_len, 0);
	if (ret) {
		snprintf(err, err_len, "cannot read kernel '%s': %s", path, strerror(-ret));
		goto out;
	}
	if (elf_kernel_is_elf(head, head_len)) {
		ret = elf_kernel_parse(head, head_len, size, &elf);
		if (ret) {
			snprintf(err, err_len,
				 "kernel '%s' is an ELF file but not an x86-64 vmlinux: give a "
				 "bzImage such as /boot/vmlinuz-*, or a vmlinux",
				 path);
			goto out;
		}
		elf_kernel_setup_header(&elf, out->head, &out->image);
		out->entry = elf.entry;
		out->pvh_entry = loader_pvh_entry(fd, &elf);
		ret = loader_place_vmlinux(fd, path, ram, &elf, err, err_len);
		goto out;
	}
	ret = loader_parse_bzimage(head, head_len, path, size, out, err, err_len);
	if (ret)
		goto out;
	if (linux_boot_check_kernel_fits(ram, &out->image)) {
		snprintf(err, err_len,
			 "kernel '%s' needs %lluM of RAM to unpack, more than --mem gives below "
			 "3G: give a larger --mem",
			 path, (unsigned long long)(linux_boot_kernel_end(&out->image) >> 20) + 1);
		ret = -ENOMEM;
		goto out;
	}
	void *dst = guest_ram_ptr(ram, LAYOUT_KERNEL_LOAD, out->image.payload_size);

	ret = dst ? loader_pread_all(fd, dst, out->image.payload_size, out->image.payload_offset)
		  : -ENOMEM;
	if (ret)
		snprintf(err, err_len, "cannot read kernel '%s': %s", path, strerror(-ret));
out:
	close(fd);
	return ret;
}

int loader_load_initrd(const char *path, const struct guest_ram *ram, const struct bzimage *image,
		       const uint8_t *append, size_t append_len, uint64_t *gpa, uint64_t *size,
		       char *err, size_t err_len)
{
	uint64_t file_size;
	int fd = loader_open(path, "initrd", "--initrd", &file_size, err, err_len);
	int ret;

	if (fd < 0)
		return fd;
	uint64_t padded = (file_size + 3) & ~3ULL;

	*size = padded + append_len;
	ret = linux_boot_place_initrd(ram, image, *size, gpa);
	if (ret) {
		snprintf(err, err_len,
			 "initrd '%s' (%lluM) does not fit in guest RAM below 3G next to the "
			 "kernel: give a larger --mem",
			 path, (unsigned long long)(*size >> 20));
		goto out;
	}
	uint8_t *dst = guest_ram_ptr(ram, *gpa, *size);

	ret = dst ? loader_pread_all(fd, dst, file_size, 0) : -ENOMEM;
	if (ret) {
		snprintf(err, err_len, "cannot read initrd '%s': %s", path, strerror(-ret));
		goto out;
	}
	/* The kernel skips zero padding between concatenated archives. */
	memset(dst + file_size, 0, padded - file_size);
	if (append_len)
		memcpy(dst + padded, append, append_len);
out:
	close(fd);
	return ret;
}
