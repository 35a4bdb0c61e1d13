/* Unit tests for the API socket's HTTP/1.1 request parser and response heads (vmm/api/http.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/api/http.h"

static int parse(const char *text, struct http_request *req)
{
	return http_parse_request((const uint8_t *)text, strlen(text), req);
}

static void test_http_parses_a_get(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET /vm/counters?pretty=1 HTTP/1.1\r\nHost: x\r\n\r\n", &req), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/vm/counters");
	assert_true(req.keep_alive);
	assert_int_equal(req.body_len, 0);
	assert_int_equal(req.total_len,
			 strlen("GET /vm/counters?pretty=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
}

static void test_http_parses_a_body_and_leaves_the_next_request(void **state)
{
	static const char text[] = "PUT /vm/signal HTTP/1.1\r\ncontent-length:  15 \r\n\r\n"
				   "{\"signal\": 15}\nGET /vm HTTP/1.1\r\n\r\n";
	struct http_request req;

	(void)state;
	assert_int_equal(parse(text, &req), 0);
	assert_string_equal(req.method, "PUT");
	assert_int_equal(req.body_len, 15);
	assert_memory_equal(text + req.body_offset, "{\"signal\": 15}\n", 15);
	assert_int_equal(parse(text + req.total_len, &req), 0);
	assert_string_equal(req.path, "/vm");
}

static void test_http_waits_for_the_rest(void **state)
{
	static const char text[] = "PUT /vm/shutdown HTTP/1.1\r\nContent-Length: 17\r\n\r\n"
				   "{\"timeout_s\": 10}";
	struct http_request req;

	(void)state;
	for (size_t len = 0; len < sizeof(text) - 1; len++)
		assert_int_equal(http_parse_request((const uint8_t *)text, len, &req), -EAGAIN);
	assert_int_equal(http_parse_request((const uint8_t *)text, sizeof(text) - 1, &req), 0);
}

static void test_http_connection_header_decides_keep_alive(void **state)
{
	struct http_request req;

	(void)state;
	assert_int_equal(parse("GET /vm HTTP/1.1\r\nConnection: Keep-Alive, close\r\n\r\n", &req),
			 0);
	assert_false(req.keep_alive);
	assert_int_equal(parse("GET /vm HTTP/1.0\r\n\r\n", &req), 0);
	assert_false(req.keep_alive);
	assert_int_equal(parse("GET /vm HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req), 0);
	assert_true(req.keep_alive);
	assert_int_equal(parse("GET /vm HTTP/1.1\n\n", &req), 0); /* bare LF (RFC 9112 §2.2) */
}

struct bad_request {
	const char *text;
	int status;
};

static void test_http_refuses_malformed_requests_with_their_status(void **state)
{
	static const struct bad_request cases[] = {
	    {"GET\r\n\r\n", 400},
	    {"GET /vm\r\n\r\n", 400},
	    {"G(T /vm HTTP/1.1\r\n\r\n", 400},
	    {"GET vm HTTP/1.1\r\n\r\n", 400},
	    {"GET http://x/vm HTTP/1.1\r\n\r\n", 400},
	    {"GET /v m HTTP/1.1\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1 \r\n\r\n", 400},
	    {"GET /vm HTTX/1.1\r\n\r\n", 400},
	    {"GET /vm HTTP/2.0\r\n\r\n", 505},
	    {"AVERYVERYLONGMETHOD /vm HTTP/1.1\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\nNo-Colon\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\n: empty\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\nContent-Length:\r\n\r\n", 400},
	    {"GET /vm HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
	    {"GET /vm HTTP/1.1\r\nContent-Length: 16385\r\n\r\n", 413},
	    {"GET /vm HTTP/1.1\r\nContent-Length: 12345678901\r\n\r\n", 413},
	    {"GET /vm HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
	};
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = parse(cases[i].text, &req);

		if (got != cases[i].status)
			fail_msg("case %zu (%.30s...): %d, want %d", i, cases[i].text, got,
				 cases[i].status);
	}
}

static void test_http_bounds_the_head(void **state)
{
	size_t len = HTTP_HEAD_MAX + 100;
	char *text = malloc(len + 1);
	char path[HTTP_PATH_MAX + 40];
	struct http_request req;

	(void)state;
	assert_non_null(text);
	/* A head that never ends: 431 once HTTP_HEAD_MAX bytes came without the empty line. */
	snprintf(text, len + 1, "GET /vm HTTP/1.1\r\nX: %*s", (int)(len - 22), "x");
	assert_int_equal(http_parse_request((const uint8_t *)text, len, &req), 431);
	assert_int_equal(http_parse_request((const uint8_t *)text, HTTP_HEAD_MAX - 1, &req),
			 -EAGAIN);
	/* Too many fields. */
	strcpy(text, "GET /vm HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_FIELDS_MAX + 1; i++)
		strcat(text, "A: b\r\n");
	strcat(text, "\r\n");
	assert_int_equal(parse(text, &req), 431);
	/* A target over HTTP_PATH_MAX. */
	snprintf(path, sizeof(path), "GET /%0*d HTTP/1.1\r\n\r\n", HTTP_PATH_MAX, 0);
	assert_int_equal(parse(path, &req), 414);
	free(text);
}

static void test_http_response_heads(void **state)
{
	char head[256];
	size_t len;

	(void)state;
	len = http_response_head(head, sizeof(head), 200, 12, true);
	assert_int_equal(len, strlen(head));
	assert_string_equal(head, "HTTP/1.1 200 OK\r\nServer: microvmm\r\nContent-Type: "
				  "application/json\r\nContent-Length: 12\r\n\r\n");
	http_response_head(head, sizeof(head), 204, 0, false);
	assert_string_equal(
	    head, "HTTP/1.1 204 No Content\r\nServer: microvmm\r\nConnection: close\r\n\r\n");
	http_response_head(head, sizeof(head), 200, SIZE_MAX, true);
	assert_non_null(strstr(head, "application/x-ndjson"));
	assert_null(strstr(head, "Content-Length"));
	assert_int_equal(http_response_head(head, 10, 200, 1, true), 0);
	assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
	assert_string_equal(http_status_text(299), "Error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_parses_a_get),
	    cmocka_unit_test(test_http_parses_a_body_and_leaves_the_next_request),
	    cmocka_unit_test(test_http_waits_for_the_rest),
	    cmocka_unit_test(test_http_connection_header_decides_keep_alive),
	    cmocka_unit_test(test_http_refuses_malformed_requests_with_their_status),
	    cmocka_unit_test(test_http_bounds_the_head),
	    cmocka_unit_test(test_http_response_heads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
