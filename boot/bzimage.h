/* Parsing of the Linux bzImage setup header (Documentation/arch/x86/boot.rst). */
#ifndef MICROVMM_BOOT_BZIMAGE_H
#define MICROVMM_BOOT_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

/* The setup header lives in [0x1f1, 0x290) of both the image and the zero page. */
#define BZIMAGE_SETUP_HEADER_START   0x1f1
#define BZIMAGE_SETUP_HEADER_MAX_END 0x290
/* Bytes of the image bzimage_parse() needs to see. */
#define BZIMAGE_HEADER_BYTES BZIMAGE_SETUP_HEADER_MAX_END

/* Oldest protocol with xloadflags (2.12), which tells us the 64-bit entry exists. */
#define BZIMAGE_MIN_PROTOCOL 0x020c

struct bzimage {
	uint16_t protocol;	   /* boot protocol version, e.g. 0x020f */
	uint64_t payload_offset;   /* file offset of the protected-mode kernel */
	uint64_t payload_size;	   /* its length in the file */
	uint32_t init_size;	   /* memory the kernel needs from its run address */
	uint32_t kernel_alignment; /* power of two */
	uint64_t pref_address;	   /* where a relocatable kernel runs (>= 16 MiB) */
	uint32_t cmdline_max;	   /* longest command line, excluding the NUL */
	uint32_t initrd_addr_max;  /* highest byte address the initrd may occupy */
	uint16_t xloadflags;
	size_t header_end; /* end of the setup header to copy into the zero page */
};

/*
 * Validates and decodes the header. `head` holds the first `head_len` bytes
 * of a file that is `file_size` bytes long. Returns 0, -ENOEXEC when the
 * file is not a bzImage (no boot sector flag or "HdrS" magic, or truncated
 * before the payload), -EPROTONOSUPPORT for a protocol older than 2.12 or a
 * kernel without the 64-bit entry point.
 */
int bzimage_parse(const uint8_t *head, size_t head_len, uint64_t file_size, struct bzimage *out)
    __attribute__((warn_unused_result));

#endif
