/* JSON text for summary.json and settings: a string escaper that always yields valid JSON. */
#ifndef MICROVMM_LAUNCHER_JSON_H
#define MICROVMM_LAUNCHER_JSON_H

#include <stddef.h>

#include "launcher/strbuf.h"

/*
 * Each call appends to b (strbuf errors are sticky: check b->err once).
 *
 * json_string appends a JSON string: quotes, \" \\ \b \f \n \r \t, other control
 * characters and DEL as \u00XX. Bytes that are not valid UTF-8 (file names
 * and task text are arbitrary bytes) become U+FFFD, so the document stays
 * valid whatever the input.
 */
void json_string(struct strbuf *b, const char *s, size_t len);

/* json_string of a C string, or null when s is NULL. */
void json_cstring(struct strbuf *b, const char *s);

/* A decimal integer. */
void json_int(struct strbuf *b, long long v);

/*
 * The length of the valid UTF-8 sequence at s (1-4 bytes; no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 when the bytes there are not one.
 */
size_t json_utf8_len(const unsigned char *s, size_t avail);

#endif
