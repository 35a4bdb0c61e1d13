/* Writing "newc" cpio archives (the initramfs format,
 * Documentation/driver-api/early-userspace/buffer-format.rst). */
#include "boot/cpio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CPIO_HEADER_SIZE 110
#define CPIO_MODE_DIR	 0040000
#define CPIO_MODE_FILE	 0100000
/* Limits that keep one entry's arithmetic far from overflow. */
#define CPIO_MAX_NAME 4096
#define CPIO_MAX_FILE (64u << 20)

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
	c->next_ino = 1;
}

void cpio_free(struct cpio *c)
{
	growbuf_free(&c->buf);
	memset(c, 0, sizeof(*c));
}

static void cpio_put(struct cpio *c, const void *bytes, size_t len)
{
	growbuf_put(&c->buf, bytes, len);
}

/* newc pads the name and the data each to a multiple of four bytes. */
static void cpio_pad(struct cpio *c)
{
	static const uint8_t zeros[4];

	cpio_put(c, zeros, (4 - (c->buf.len & 3)) & 3);
}

static void cpio_entry(struct cpio *c, const char *name, uint32_t mode, const void *data,
		       size_t len)
{
	char header[CPIO_HEADER_SIZE + 1];
	size_t name_len = strlen(name) + 1;

	if (name_len > CPIO_MAX_NAME || len > CPIO_MAX_FILE) {
		c->buf.error = c->buf.error ? c->buf.error : -EINVAL;
		return;
	}
	/* magic, ino, mode, uid, gid, nlink, mtime, filesize, dev/rdev major/minor, namesize, check
	 */
	snprintf(header, sizeof(header),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", c->next_ino++, mode,
		 0u, 0u, (mode & CPIO_MODE_DIR) ? 2u : 1u, 0u, (unsigned int)len, 0u, 0u, 0u, 0u,
		 (unsigned int)name_len, 0u);
	cpio_put(c, header, CPIO_HEADER_SIZE);
	cpio_put(c, name, name_len);
	cpio_pad(c);
	if (len)
		cpio_put(c, data, len);
	cpio_pad(c);
}

void cpio_add_dir(struct cpio *c, const char *name, uint32_t mode)
{
	cpio_entry(c, name, CPIO_MODE_DIR | (mode & 07777), NULL, 0);
}

void cpio_add_file(struct cpio *c, const char *name, uint32_t mode, const void *data, size_t len)
{
	cpio_entry(c, name, CPIO_MODE_FILE | (mode & 07777), data, len);
}

int cpio_finish(struct cpio *c)
{
	cpio_entry(c, "TRAILER!!!", 0, NULL, 0);
	return c->buf.error;
}
