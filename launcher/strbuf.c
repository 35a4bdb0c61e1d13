/* A growable text buffer with a sticky error, for the files the launcher writes. */
#include "launcher/strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void strbuf_free(struct strbuf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	strbuf_init(b);
}

static int strbuf_reserve(struct strbuf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : 256;
	char *grown;

	if (b->len + extra + 1 <= b->cap)
		return 0;
	while (cap < b->len + extra + 1)
		cap *= 2;
	grown = realloc(b->data, cap);
	if (!grown)
		return -ENOMEM;
	b->data = grown;
	b->cap = cap;
	return 0;
}

void strbuf_append(struct strbuf *b, const char *data, size_t len)
{
	if (b->err)
		return;
	b->err = strbuf_reserve(b, len);
	if (b->err)
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void strbuf_puts(struct strbuf *b, const char *text)
{
	strbuf_append(b, text, strlen(text));
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (b->err = strbuf_reserve(b, (size_t)n)) != 0) {
		b->err = b->err ? b->err : -EINVAL;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}
