/* A growable byte buffer with a sticky error; see growbuf.h. */
#include "boot/growbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *growbuf_extend(struct growbuf *b, size_t more)
{
	if (b->error)
		return NULL;
	/* Keeps the doubling below far from overflow. */
	if (more > SIZE_MAX / 2 - b->len) {
		b->error = -ENOMEM;
		return NULL;
	}
	if (b->len + more > b->cap || !b->data) {
		size_t cap = b->cap ? b->cap : GROWBUF_FIRST_CAP;

		while (cap < b->len + more)
			cap *= 2;
		uint8_t *p = realloc(b->data, cap);

		if (!p) {
			b->error = -ENOMEM;
			return NULL;
		}
		b->data = p;
		b->cap = cap;
	}
	void *at = b->data + b->len;

	b->len += more;
	return at;
}

void growbuf_put(struct growbuf *b, const void *bytes, size_t len)
{
	void *at = growbuf_extend(b, len);

	if (at && len)
		memcpy(at, bytes, len);
}

void growbuf_free(struct growbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
