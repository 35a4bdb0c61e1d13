/* Parsing of the Linux bzImage setup header (Documentation/arch/x86/boot.rst). */
#include "boot/bzimage.h"

#include <errno.h>
#include <string.h>

#include "boot/le.h"

/* Offsets in the image (boot.rst, "The real-mode kernel header"). */
#define HDR_SETUP_SECTS	     0x1f1
#define HDR_BOOT_FLAG	     0x1fe
#define HDR_JUMP_END	     0x201 /* second byte of the jump: header end - 0x202 */
#define HDR_MAGIC	     0x202
#define HDR_VERSION	     0x206
#define HDR_LOADFLAGS	     0x211
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_CMDLINE_SIZE     0x238
#define HDR_XLOADFLAGS	     0x236
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE	     0x260

#define BOOT_FLAG_MAGIC	     0xaa55
#define LOADFLAG_LOADED_HIGH 0x01
#define XLF_KERNEL_64	     0x01
/* The default kernel load address for kernels that do not say (boot.rst). */
#define DEFAULT_PREF_ADDRESS 0x100000

static int bzimage_check_magic(const uint8_t *head, size_t head_len)
{
	if (head_len < BZIMAGE_HEADER_BYTES)
		return -ENOEXEC;
	if (le_get16(head + HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC ||
	    memcmp(head + HDR_MAGIC, "HdrS", 4))
		return -ENOEXEC;
	return 0;
}

int bzimage_parse(const uint8_t *head, size_t head_len, uint64_t file_size, struct bzimage *out)
{
	int ret = bzimage_check_magic(head, head_len);

	memset(out, 0, sizeof(*out));
	if (ret)
		return ret;
	out->protocol = le_get16(head + HDR_VERSION);
	if (out->protocol < BZIMAGE_MIN_PROTOCOL)
		return -EPROTONOSUPPORT;
	/* A zImage (not LOADED_HIGH) cannot run from 1 MiB. */
	if (!(head[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH))
		return -EPROTONOSUPPORT;
	out->xloadflags = le_get16(head + HDR_XLOADFLAGS);
	if (!(out->xloadflags & XLF_KERNEL_64))
		return -EPROTONOSUPPORT;

	unsigned int setup_sects = head[HDR_SETUP_SECTS] ? head[HDR_SETUP_SECTS] : 4;

	out->payload_offset = (uint64_t)(setup_sects + 1) * 512;
	if (file_size <= out->payload_offset)
		return -ENOEXEC;
	out->payload_size = file_size - out->payload_offset;

	out->header_end = 0x202 + (size_t)head[HDR_JUMP_END];
	if (out->header_end > BZIMAGE_SETUP_HEADER_MAX_END)
		out->header_end = BZIMAGE_SETUP_HEADER_MAX_END;
	if (out->header_end < HDR_INIT_SIZE + 4)
		return -ENOEXEC;

	out->initrd_addr_max = le_get32(head + HDR_INITRD_ADDR_MAX);
	out->kernel_alignment = le_get32(head + HDR_KERNEL_ALIGNMENT);
	/* head_64.S aligns with this value: it must be a non-zero power of two. */
	if (out->kernel_alignment == 0 || (out->kernel_alignment & (out->kernel_alignment - 1)))
		return -ENOEXEC;
	out->cmdline_max = le_get32(head + HDR_CMDLINE_SIZE);
	out->pref_address = le_get64(head + HDR_PREF_ADDRESS);
	if (out->pref_address == 0)
		out->pref_address = DEFAULT_PREF_ADDRESS;
	out->init_size = le_get32(head + HDR_INIT_SIZE);
	if (out->init_size == 0)
		return -ENOEXEC;
	return 0;
}
