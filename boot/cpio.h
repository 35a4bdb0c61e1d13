/* Writing "newc" cpio archives (the initramfs format,
 * Documentation/driver-api/early-userspace/buffer-format.rst). */
#ifndef MICROVMM_BOOT_CPIO_H
#define MICROVMM_BOOT_CPIO_H

#include <stddef.h>
#include <stdint.h>

#include "boot/growbuf.h"

/* A growable archive in memory (buf.data, buf.len); buf.error is sticky (-ENOMEM, -EINVAL). */
struct cpio {
	struct growbuf buf;
	unsigned int next_ino;
};

void cpio_init(struct cpio *c);
void cpio_free(struct cpio *c);

/* Adds a directory or a regular file; `name` has no leading slash (e.g. "microvmm/run"). */
void cpio_add_dir(struct cpio *c, const char *name, uint32_t mode);
void cpio_add_file(struct cpio *c, const char *name, uint32_t mode, const void *data, size_t len);

/* Appends the TRAILER!!! entry. Returns 0 or the sticky error. */
int cpio_finish(struct cpio *c) __attribute__((warn_unused_result));

#endif
