/* Redaction of secret values from byte streams (session, network log, transcripts, summary). */
#include "launcher/redact.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void redact_set_init(struct redact_set *s)
{
	memset(s, 0, sizeof(*s));
}

int redact_set_add(struct redact_set *s, const char *value, size_t len)
{
	if (len < REDACT_MIN_LEN)
		return 0;
	if (len > REDACT_MAX_LEN)
		return -E2BIG;
	for (unsigned int i = 0; i < s->count; i++)
		if (s->len[i] == len && !memcmp(s->value[i], value, len))
			return 0;
	if (s->count == REDACT_MAX_SECRETS)
		return -ENOSPC;
	s->value[s->count] = malloc(len);
	if (!s->value[s->count])
		return -ENOMEM;
	memcpy(s->value[s->count], value, len);
	s->len[s->count++] = len;
	if (len > s->max_len)
		s->max_len = len;
	return 0;
}

static size_t redact_trim(const char *text, size_t len)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
		       text[len - 1] == '\t'))
		len--;
	return len;
}

int redact_set_add_text(struct redact_set *s, const char *text, size_t len)
{
	size_t whole = redact_trim(text, len);
	const char *p = text, *end = text + whole;
	int ret = redact_set_add(s, text, whole);

	if (ret || !memchr(text, '\n', whole))
		return ret;
	while (!ret && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line = (size_t)((nl ? nl : end) - p);

		ret = redact_set_add(s, p, redact_trim(p, line));
		p += line + 1;
	}
	return ret;
}

void redact_set_free(struct redact_set *s)
{
	for (unsigned int i = 0; i < s->count; i++) {
		explicit_bzero(s->value[i], s->len[i]);
		free(s->value[i]);
	}
	redact_set_init(s);
}

int redactor_init(struct redactor *r, const struct redact_set *set)
{
	r->set = set;
	r->hold_len = 0;
	r->hold = NULL;
	if (set->max_len > 1) {
		r->hold = malloc(set->max_len - 1);
		if (!r->hold)
			return -ENOMEM;
	}
	return 0;
}

void redactor_free(struct redactor *r)
{
	if (r->hold) {
		explicit_bzero(r->hold, r->set->max_len - 1);
		free(r->hold);
	}
	r->hold = NULL;
	r->hold_len = 0;
}

bool redact_holding(const struct redactor *r)
{
	return r->hold_len > 0;
}

/*
 * At buf[i] (n bytes in all): the length of the longest secret that matches
 * there, 0 for none; *partial says some secret could still begin there
 * once more bytes come (only when !final). A possible longer match wins.
 */
static size_t redact_match(const struct redact_set *s, const char *buf, size_t n, size_t i,
			   bool final, bool *partial)
{
	size_t best = 0, left = n - i;

	*partial = false;
	for (unsigned int k = 0; k < s->count; k++) {
		if (buf[i] != s->value[k][0])
			continue;
		if (left >= s->len[k]) {
			if (s->len[k] > best && !memcmp(buf + i, s->value[k], s->len[k]))
				best = s->len[k];
		} else if (!final && !memcmp(buf + i, s->value[k], left)) {
			*partial = true;
		}
	}
	return best;
}

/* Emits buf's n bytes redacted; without final, keeps a tail that may begin a secret. */
static int redact_scan(struct redactor *r, const char *buf, size_t n, bool final,
		       redact_emit_fn emit, void *ctx)
{
	size_t i = 0, start = 0;
	int ret = 0;

	while (i < n && !ret) {
		bool partial;
		size_t m = redact_match(r->set, buf, n, i, final, &partial);

		if (partial)
			break;
		if (!m) {
			i++;
			continue;
		}
		if (i > start)
			ret = emit(ctx, buf + start, i - start);
		if (!ret)
			ret = emit(ctx, REDACT_MARK, strlen(REDACT_MARK));
		i += m;
		start = i;
	}
	if (!ret && i > start)
		ret = emit(ctx, buf + start, i - start);
	if (ret) {
		r->hold_len = 0;
		return ret;
	}
	/* What is left (only without final) is shorter than the longest secret. */
	r->hold_len = n - i;
	if (r->hold_len)
		memmove(r->hold, buf + i, r->hold_len);
	return ret;
}

int redact_feed(struct redactor *r, const char *data, size_t len, redact_emit_fn emit, void *ctx)
{
	char *buf;
	size_t n = r->hold_len + len;
	int ret;

	if (!r->set->count)
		return len ? emit(ctx, data, len) : 0;
	if (!r->hold_len)
		return redact_scan(r, data, len, false, emit, ctx);
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, r->hold, r->hold_len);
	memcpy(buf + r->hold_len, data, len);
	ret = redact_scan(r, buf, n, false, emit, ctx);
	explicit_bzero(buf, n);
	free(buf);
	return ret;
}

int redact_flush(struct redactor *r, redact_emit_fn emit, void *ctx)
{
	char *buf;
	size_t n = r->hold_len;
	int ret;

	if (!n)
		return 0;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, r->hold, n);
	ret = redact_scan(r, buf, n, true, emit, ctx);
	explicit_bzero(buf, n);
	free(buf);
	return ret;
}

struct redact_out {
	char *data;
	size_t len, cap;
};

static int redact_collect(void *ctx, const char *data, size_t len)
{
	struct redact_out *o = ctx;

	if (o->len + len + 1 > o->cap) {
		size_t cap = (o->len + len + 1) * 2;
		char *grown = realloc(o->data, cap);

		if (!grown)
			return -ENOMEM;
		o->data = grown;
		o->cap = cap;
	}
	memcpy(o->data + o->len, data, len);
	o->len += len;
	o->data[o->len] = '\0';
	return 0;
}

int redact_buffer(const struct redact_set *s, const char *data, size_t len, char **out,
		  size_t *out_len)
{
	struct redact_out o = {0};
	struct redactor r = {.set = s, .hold = NULL, .hold_len = 0};
	int ret = redact_collect(&o, "", 0);

	/* Whole buffer at once: nothing is held, so the redactor needs no hold buffer. */
	if (!ret)
		ret = redact_scan(&r, data, len, true, redact_collect, &o);
	if (ret) {
		free(o.data);
		return ret;
	}
	*out = o.data;
	*out_len = o.len;
	return 0;
}
