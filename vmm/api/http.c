/* HTTP/1.1 requests (RFC 9112) parsed within fixed bounds, and response heads. */
#include "vmm/api/http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* What the head says beyond the request line. */
struct http_fields {
	bool have_length;
	size_t content_length;
	bool close, keep_alive_token;
	unsigned int count;
};

/* tchar (RFC 9110 §5.6.2): the characters of methods and field names. */
static bool http_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * The end of the line starting at buf[pos] (the index of its LF) or -1.
 * RFC 9112 §2.2 lets a recipient take a bare LF for CRLF; the CR is
 * dropped by the callers.
 */
static long http_line_end(const uint8_t *buf, size_t len, size_t pos)
{
	const uint8_t *lf = memchr(buf + pos, '\n', len - pos);

	return lf ? (long)(lf - buf) : -1;
}

static size_t http_trim_cr(const uint8_t *buf, size_t start, size_t end)
{
	return end > start && buf[end - 1] == '\r' ? end - 1 : end;
}

/* METHOD SP request-target SP HTTP-version (RFC 9112 §3). */
static int http_request_line(const uint8_t *line, size_t len, struct http_request *req)
{
	const uint8_t *sp1 = memchr(line, ' ', len), *sp2;
	size_t method_len, target_len, path_len;

	if (!sp1)
		return 400;
	method_len = (size_t)(sp1 - line);
	if (method_len == 0 || method_len > HTTP_METHOD_MAX)
		return 400;
	for (size_t i = 0; i < method_len; i++)
		if (!http_tchar(line[i]))
			return 400;
	sp2 = memchr(sp1 + 1, ' ', len - method_len - 1);
	if (!sp2)
		return 400;
	target_len = (size_t)(sp2 - sp1 - 1);
	if (target_len > HTTP_PATH_MAX)
		return 414;
	/* origin-form only: the API has no proxies in front of it (RFC 9112 §3.2.1). */
	if (target_len == 0 || sp1[1] != '/')
		return 400;
	for (size_t i = 0; i < target_len; i++)
		if (sp1[1 + i] <= 0x20 || sp1[1 + i] >= 0x7f)
			return 400;
	size_t version_len = len - (size_t)(sp2 + 1 - line);

	if (version_len != 8 || memcmp(sp2 + 1, "HTTP/", 5) || sp2[7] != '.' || sp2[6] < '0' ||
	    sp2[6] > '9' || sp2[8] < '0' || sp2[8] > '9')
		return 400;
	if (sp2[6] != '1')
		return 505;
	memcpy(req->method, line, method_len);
	req->method[method_len] = '\0';
	const uint8_t *query = memchr(sp1 + 1, '?', target_len);

	path_len = query ? (size_t)(query - sp1 - 1) : target_len;
	memcpy(req->path, sp1 + 1, path_len);
	req->path[path_len] = '\0';
	req->keep_alive = sp2[8] != '0'; /* HTTP/1.1 keeps the connection unless told not to */
	return 0;
}

/* Whether the comma-separated list value[0..len) holds `token` (case-insensitive). */
static bool http_has_token(const char *value, size_t len, const char *token)
{
	size_t tlen = strlen(token), i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
			i++;
		start = i;
		while (i < len && value[i] != ',')
			i++;
		end = i;
		while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
			end--;
		if (end - start == tlen && !strncasecmp(value + start, token, tlen))
			return true;
	}
	return false;
}

static int http_content_length(const char *value, size_t len, struct http_fields *f)
{
	size_t n = 0;

	/* 1*DIGIT (RFC 9110 §8.6); more than 9 digits is over any body we take. */
	if (len == 0 || len > 9)
		return len > 9 && strspn(value, "0123456789") >= len ? 413 : 400;
	for (size_t i = 0; i < len; i++) {
		if (value[i] < '0' || value[i] > '9')
			return 400;
		n = n * 10 + (size_t)(value[i] - '0');
	}
	/* Two different lengths are a request-smuggling shape: refuse (RFC 9112 §6.3). */
	if (f->have_length && f->content_length != n)
		return 400;
	f->have_length = true;
	f->content_length = n;
	return 0;
}

/* field-name ":" OWS field-value OWS (RFC 9112 §5). */
static int http_field(const uint8_t *line, size_t len, struct http_fields *f)
{
	const uint8_t *colon = memchr(line, ':', len);
	size_t name_len, start, end;
	const char *name = (const char *)line, *value;

	/* A line starting with whitespace is obs-fold, refused (RFC 9112 §5.2). */
	if (!colon || colon == line)
		return 400;
	name_len = (size_t)(colon - line);
	for (size_t i = 0; i < name_len; i++)
		if (!http_tchar(line[i]))
			return 400;
	if (++f->count > HTTP_FIELDS_MAX)
		return 431;
	for (size_t i = name_len + 1; i < len; i++)
		if ((line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return 400;
	start = name_len + 1;
	end = len;
	while (start < end && (line[start] == ' ' || line[start] == '\t'))
		start++;
	while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t'))
		end--;
	value = (const char *)line + start;
	if (name_len == 14 && !strncasecmp(name, "content-length", 14))
		return http_content_length(value, end - start, f);
	/* Bodies here are small JSON with a length: a coded one is refused (RFC 9110 §15.5.12). */
	if (name_len == 17 && !strncasecmp(name, "transfer-encoding", 17))
		return 411;
	if (name_len == 10 && !strncasecmp(name, "connection", 10)) {
		f->close = f->close || http_has_token(value, end - start, "close");
		f->keep_alive_token =
		    f->keep_alive_token || http_has_token(value, end - start, "keep-alive");
	}
	return 0;
}

int http_parse_request(const uint8_t *buf, size_t len, struct http_request *req)
{
	struct http_fields fields = {0};
	size_t scan = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	size_t pos = 0;
	bool first = true;
	int ret;

	memset(req, 0, sizeof(*req));
	/* RFC 9112 §2.2: an empty line before the request line is skipped (one, here). */
	if (pos < scan && buf[pos] == '\r')
		pos++;
	if (pos < scan && buf[pos] == '\n')
		pos++;
	for (;;) {
		long lf = http_line_end(buf, scan, pos);

		if (lf < 0)
			return len >= HTTP_HEAD_MAX ? 431 : -EAGAIN;
		size_t end = http_trim_cr(buf, pos, (size_t)lf);

		if (first) {
			ret = http_request_line(buf + pos, end - pos, req);
			first = false;
		} else if (end == pos) {
			pos = (size_t)lf + 1;
			break;
		} else {
			ret = http_field(buf + pos, end - pos, &fields);
		}
		if (ret)
			return ret;
		pos = (size_t)lf + 1;
	}
	if (fields.close)
		req->keep_alive = false;
	else if (fields.keep_alive_token)
		req->keep_alive = true;
	if (fields.content_length > HTTP_BODY_MAX)
		return 413;
	if (len - pos < fields.content_length)
		return -EAGAIN;
	req->body_offset = pos;
	req->body_len = fields.content_length;
	req->total_len = pos + fields.content_length;
	return 0;
}

const char *http_status_text(int status)
{
	static const struct {
		int code;
		const char *text;
	} texts[] = {
	    {200, "OK"},
	    {204, "No Content"},
	    {400, "Bad Request"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {408, "Request Timeout"},
	    {409, "Conflict"},
	    {411, "Length Required"},
	    {413, "Content Too Large"},
	    {414, "URI Too Long"},
	    {415, "Unsupported Media Type"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {503, "Service Unavailable"},
	    {505, "HTTP Version Not Supported"},
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].code == status)
			return texts[i].text;
	return "Error";
}

size_t http_response_head(char *out, size_t cap, int status, size_t body_len, bool keep_alive)
{
	int n;

	if (status == 204)
		n = snprintf(out, cap, "HTTP/1.1 204 No Content\r\nServer: microvmm\r\n%s\r\n",
			     keep_alive ? "" : "Connection: close\r\n");
	else if (body_len == SIZE_MAX)
		n = snprintf(out, cap,
			     "HTTP/1.1 %d %s\r\nServer: microvmm\r\nContent-Type: "
			     "application/x-ndjson\r\nCache-Control: no-store\r\nConnection: "
			     "close\r\n\r\n",
			     status, http_status_text(status));
	else
		n = snprintf(out, cap,
			     "HTTP/1.1 %d %s\r\nServer: microvmm\r\nContent-Type: "
			     "application/json\r\nContent-Length: %zu\r\n%s\r\n",
			     status, http_status_text(status), body_len,
			     keep_alive ? "" : "Connection: close\r\n");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
