/* Redaction of secret values from byte streams (session, network log, transcripts, summary). */
#ifndef MICROVMM_LAUNCHER_REDACT_H
#define MICROVMM_LAUNCHER_REDACT_H

#include <stdbool.h>
#include <stddef.h>

/* What replaces a secret. */
#define REDACT_MARK "[REDACTED]"
/* Shorter values are not redacted: a 1-3 byte "secret" would shred every log. */
#define REDACT_MIN_LEN	   4
#define REDACT_MAX_LEN	   (64 * 1024)
#define REDACT_MAX_SECRETS 64

/*
 * The values to hide. The set owns copies and wipes them when freed. Built
 * once before the run, then only read (any number of redactors share it).
 */
struct redact_set {
	char *value[REDACT_MAX_SECRETS];
	size_t len[REDACT_MAX_SECRETS];
	unsigned int count;
	size_t max_len;
};

void redact_set_init(struct redact_set *s);
/*
 * Adds a copy of value. Values shorter than REDACT_MIN_LEN and duplicates
 * are skipped (0). Returns 0, -E2BIG above REDACT_MAX_LEN, -ENOSPC when
 * full, -ENOMEM.
 */
int redact_set_add(struct redact_set *s, const char *value, size_t len)
    __attribute__((warn_unused_result));
/*
 * Adds a secret file's content: the whole content without trailing
 * newlines and blanks, and each of its lines (trimmed the same way) when
 * it has several, since a program may print one line of it.
 */
int redact_set_add_text(struct redact_set *s, const char *text, size_t len)
    __attribute__((warn_unused_result));
/* Wipes and frees every value; idempotent. */
void redact_set_free(struct redact_set *s);

/* Receives redacted output; returns 0 or -errno (which the feed returns). */
typedef int (*redact_emit_fn)(void *ctx, const char *data, size_t len);

/*
 * A stream redactor. A secret may arrive split over several feeds: bytes
 * that could begin a secret are held back until the next feed shows
 * whether they do (at most max_len - 1 bytes). Where secrets overlap the
 * longest one that matches wins; a shorter one is not taken while a longer
 * one may still complete.
 */
struct redactor {
	const struct redact_set *set;
	char *hold;
	size_t hold_len;
};

/* Returns 0 or -ENOMEM. The set must outlive the redactor. */
int redactor_init(struct redactor *r, const struct redact_set *set)
    __attribute__((warn_unused_result));
int redact_feed(struct redactor *r, const char *data, size_t len, redact_emit_fn emit, void *ctx)
    __attribute__((warn_unused_result));
/*
 * Emits what is held (redacting whole secrets in it): at the end of the
 * stream, or when a live display must not wait. After it a later feed
 * cannot complete a secret that began before it.
 */
int redact_flush(struct redactor *r, redact_emit_fn emit, void *ctx)
    __attribute__((warn_unused_result));
/* Whether bytes are held back. */
bool redact_holding(const struct redactor *r);
/* Wipes and frees the held bytes; idempotent. */
void redactor_free(struct redactor *r);

/*
 * Redacts a whole buffer into a new malloc'ed one (*out, *out_len; NUL
 * terminated). Returns 0 or -ENOMEM.
 */
int redact_buffer(const struct redact_set *s, const char *data, size_t len, char **out,
		  size_t *out_len) __attribute__((warn_unused_result));

#endif
