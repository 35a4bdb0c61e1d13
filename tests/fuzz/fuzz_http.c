/*
 * libFuzzer target: the API socket's HTTP/1.1 request parser (vmm/api/http.c) over any bytes,
 * fed whole and then in the pieces a slow client would send. A complete request must stay
 * inside the buffer and carry a path and method; a prefix of the input must never parse to a
 * different request than the whole does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_http_check(const struct http_request *req, size_t len)
{
	if (req->total_len > len || req->body_offset + req->body_len != req->total_len ||
	    req->body_len > HTTP_BODY_MAX || req->path[0] != '/' || !req->method[0] ||
	    strlen(req->path) > HTTP_PATH_MAX || strlen(req->method) > HTTP_METHOD_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request whole, part;
	int ret, ret_part;

	ret = http_parse_request(data, size, &whole);
	if (ret == 0)
		fuzz_http_check(&whole, size);
	else if (ret != -EAGAIN && (ret < 400 || ret > 599))
		abort();
	/* Byte by byte, as the server would see a slow client: the first answer must agree. */
	for (size_t len = 0; len <= size; len += 1 + len / 64) {
		ret_part = http_parse_request(data, len, &part);
		if (ret_part == -EAGAIN)
			continue;
		if (ret_part == 0) {
			fuzz_http_check(&part, len);
			if (ret != 0 || part.total_len != whole.total_len ||
			    strcmp(part.path, whole.path) || strcmp(part.method, whole.method))
				abort();
		}
		break;
	}
	return 0;
}
