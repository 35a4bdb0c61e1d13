/* A growable text buffer with a sticky error, for the files the launcher writes. */
#ifndef MICROVMM_LAUNCHER_STRBUF_H
#define MICROVMM_LAUNCHER_STRBUF_H

#include <stddef.h>

/*
 * After an allocation failure every call is a no-op and err stays -ENOMEM,
 * so a caller builds a whole text and checks err once. data is
 * NUL-terminated whenever len > 0. One owner, no locking.
 */
struct strbuf {
	char *data;
	size_t len;
	size_t cap;
	int err;
};

void strbuf_init(struct strbuf *b);
/* Wipes (it may have held a secret's neighbourhood) and frees; idempotent. */
void strbuf_free(struct strbuf *b);
void strbuf_append(struct strbuf *b, const char *data, size_t len);
void strbuf_puts(struct strbuf *b, const char *text);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
