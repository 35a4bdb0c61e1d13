/*
 * The API socket's HTTP/1.1 (RFC 9112): a bounded request parser and the
 * response head. Pure functions over caller buffers, no I/O (fuzzed by
 * tests/fuzz/fuzz_http.c). Only what a JSON API needs: a request line,
 * header fields, a Content-Length body; chunked bodies are refused.
 */
#ifndef MICROVMM_VMM_API_HTTP_H
#define MICROVMM_VMM_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_METHOD_MAX	 15   /* the longest registered method is 17; ours are GET and PUT */
#define HTTP_PATH_MAX	 255  /* request-target, query included */
#define HTTP_HEAD_MAX	 8192 /* request line and header fields, with their line ends */
#define HTTP_BODY_MAX	 16384
#define HTTP_FIELDS_MAX	 64
#define HTTP_REQUEST_MAX (HTTP_HEAD_MAX + HTTP_BODY_MAX)

/* One request, copied out of the buffer: nothing in it points into data the client can change. */
struct http_request {
	char method[HTTP_METHOD_MAX + 1];
	char path[HTTP_PATH_MAX + 1]; /* without the query */
	bool keep_alive;	      /* HTTP/1.1 without "Connection: close" */
	size_t body_offset;	      /* the body is buf[body_offset .. body_offset + body_len) */
	size_t body_len;
	size_t total_len; /* bytes of buf the request used: the next one starts there */
};

/*
 * Parses the request at the start of buf[0..len). Returns 0 with `req`
 * filled when it is complete, -EAGAIN when more bytes are needed (len is
 * below HTTP_REQUEST_MAX and nothing is wrong so far), or the status to
 * answer before closing the connection: 400 (malformed), 413 (body over
 * HTTP_BODY_MAX), 414 (target over HTTP_PATH_MAX), 431 (head over
 * HTTP_HEAD_MAX or too many fields), 411 (Transfer-Encoding: only
 * Content-Length bodies are taken), 505 (not HTTP/1.x).
 */
int http_parse_request(const uint8_t *buf, size_t len, struct http_request *req)
    __attribute__((warn_unused_result));

/* "OK", "Not Found"...; "Error" for a code it does not know. */
const char *http_status_text(int status);

/*
 * The response head for `status` with a JSON body of body_len bytes
 * (body_len SIZE_MAX: a stream that ends when the connection closes), into
 * out[0..cap). Returns its length, or 0 when it does not fit.
 */
size_t http_response_head(char *out, size_t cap, int status, size_t body_len, bool keep_alive);

#endif
