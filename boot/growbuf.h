/* A growable byte buffer with a sticky error: the one used by the cpio writer, the run
 * configuration and the console's output backlog. */
#ifndef MICROVMM_BOOT_GROWBUF_H
#define MICROVMM_BOOT_GROWBUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Zero-initialised is empty. Capacity doubles from GROWBUF_FIRST_CAP; a
 * request that would overflow size_t or fails to allocate sets `error`
 * (-ENOMEM), after which every append is a no-op until growbuf_free().
 * No locking: one owner.
 */
struct growbuf {
	uint8_t *data;
	size_t len, cap;
	int error;
};

#define GROWBUF_FIRST_CAP 4096

/*
 * Makes room for `more` bytes after len and returns where they go (len
 * grows by `more`), or NULL with `error` set. The caller fills them.
 */
void *growbuf_extend(struct growbuf *b, size_t more);

/* Appends `len` bytes (sticky error as above). */
void growbuf_put(struct growbuf *b, const void *bytes, size_t len);

/* Forgets the contents but keeps the memory (and any error). */
static inline void growbuf_clear(struct growbuf *b)
{
	b->len = 0;
}

/* Frees the memory and resets everything, error included. Idempotent. */
void growbuf_free(struct growbuf *b);

#endif
