/* JSON text for summary.json and settings: a string escaper that always yields valid JSON. */
#include "launcher/json.h"

#include <stdio.h>
#include <string.h>

size_t json_utf8_len(const unsigned char *s, size_t avail)
{
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte (RFC 3629 §4) */

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return 0; /* continuation byte, overlong lead C0/C1, or above U+10FFFF */
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong three-byte forms */
	else if (s[0] == 0xed)
		hi = 0x9f; /* UTF-16 surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong four-byte forms */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (avail < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

static const char *json_short_escape(unsigned char c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		return NULL;
	}
}

void json_string(struct strbuf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0; /* run: bytes at p + i - run that need no escape */

	strbuf_append(b, "\"", 1);
	while (i < len) {
		size_t n = json_utf8_len(p + i, len - i);
		const char *esc = n == 1 ? json_short_escape(p[i]) : NULL;
		char hex[8];

		if (n > 1 || (n == 1 && !esc && p[i] >= 0x20 && p[i] != 0x7f)) {
			i += n;
			run += n;
			continue;
		}
		strbuf_append(b, (const char *)p + i - run, run);
		run = 0;
		if (esc) {
			strbuf_puts(b, esc);
		} else if (n == 1) {
			snprintf(hex, sizeof(hex), "\\u%04x", p[i]);
			strbuf_puts(b, hex);
		} else {
			strbuf_puts(b, "\\ufffd");
		}
		i++;
	}
	strbuf_append(b, (const char *)p + i - run, run);
	strbuf_append(b, "\"", 1);
}

void json_cstring(struct strbuf *b, const char *s)
{
	if (s)
		json_string(b, s, strlen(s));
	else
		strbuf_puts(b, "null");
}

void json_int(struct strbuf *b, long long v)
{
	char text[32];

	snprintf(text, sizeof(text), "%lld", v);
	strbuf_puts(b, text);
}
