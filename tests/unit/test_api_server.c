/*
 * Unit tests for the API server thread (vmm/api/api_server.c) on a real Unix socket with a
 * handler of the test's own: pipelined keep-alive requests, a malformed request answered and
 * its connection closed, a request cut off by the client, an events stream fed by
 * api_server_publish, more clients than slots, and a socket file made 0600.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/api/api_server.h"
#include "vmm/api/api_socket.h"

struct fixture {
	char dir[64], path[96];
	struct api_socket sock;
	struct api_server server;
};

/* Echoes the method and path; /stream starts an events stream. */
static void echo_handler(void *ctx, const char *method, const char *path, const uint8_t *body,
			 size_t body_len, struct api_response *resp)
{
	(void)ctx;
	resp->status = 200;
	resp->stream = !strcmp(path, "/stream");
	if (asprintf(&resp->body, "{\"m\":\"%s\",\"p\":\"%s\",\"n\":%zu}%s", method, path, body_len,
		     resp->stream ? "\n" : "") < 0)
		resp->body = NULL;
	(void)body;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/microvmm-api-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	assert_int_equal(api_socket_open(&f->sock, f->path, err, sizeof(err)), 0);
	assert_int_equal(api_server_init(&f->server, f->sock.listen_fd,
					 &(struct api_handler){.handle = echo_handler}),
			 0);
	assert_int_equal(api_server_start(&f->server), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	api_server_destroy(&f->server);
	api_socket_remove(&f->sock);
	assert_int_equal(rmdir(f->dir), 0); /* the socket file went with api_socket_remove */
	free(f);
	return 0;
}

static int connect_to(const struct fixture *f)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(addr.sun_path, f->path, strlen(f->path));
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static void send_text(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* Reads until `want` has appeared (or EOF, or 5 s); returns what came, NUL-terminated. */
static char *read_until(int fd, const char *want, char *buf, size_t cap)
{
	size_t got = 0;

	buf[0] = '\0';
	while (got + 1 < cap && !(want && strstr(buf, want))) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break;
		n = read(fd, buf + got, cap - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
	}
	return buf;
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (const char *at = text; (at = strstr(at, what)); at++)
		n++;
	return n;
}

static void test_api_server_answers_pipelined_keep_alive_requests(void **state)
{
	struct fixture *f = *state;
	char buf[4096];
	int fd = connect_to(f);
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	send_text(fd, "GET /a HTTP/1.1\r\n\r\nPUT /b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
		      "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n");
	read_until(fd, NULL, buf, sizeof(buf));
	assert_int_equal(count(buf, "HTTP/1.1 200 OK"), 3);
	assert_non_null(strstr(buf, "{\"m\":\"GET\",\"p\":\"/a\",\"n\":0}"));
	assert_non_null(strstr(buf, "{\"m\":\"PUT\",\"p\":\"/b\",\"n\":2}"));
	assert_non_null(strstr(buf, "Connection: close"));
	close(fd);
}

static void test_api_server_refuses_and_closes_a_malformed_request(void **state)
{
	struct fixture *f = *state;
	char buf[4096];
	int fd = connect_to(f);

	send_text(fd, "GET /a HTTP/1.1\r\nBad Field\r\n\r\nGET /never HTTP/1.1\r\n\r\n");
	read_until(fd, NULL, buf, sizeof(buf)); /* ends at EOF: the server closed */
	assert_int_equal(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26), 0);
	assert_non_null(strstr(buf, "{\"error\":\"malformed request\"}"));
	assert_null(strstr(buf, "/never"));
	close(fd);
}

static void test_api_server_answers_a_request_cut_off(void **state)
{
	struct fixture *f = *state;
	char buf[4096];
	int fd = connect_to(f);

	send_text(fd, "PUT /b HTTP/1.1\r\nContent-Length: 40\r\n\r\n{\"half");
	shutdown(fd, SHUT_WR);
	read_until(fd, NULL, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 400 ", 13), 0);
	close(fd);
}

static void test_api_server_streams_published_lines(void **state)
{
	struct fixture *f = *state;
	char buf[4096];
	int fd = connect_to(f);

	send_text(fd, "GET /stream HTTP/1.1\r\n\r\n");
	read_until(fd, "\"p\":\"/stream\"", buf, sizeof(buf));
	assert_non_null(strstr(buf, "application/x-ndjson"));
	api_server_publish(&f->server, "{\"state\": \"one\"}\n");
	api_server_publish(&f->server, "{\"state\": \"two\"}\n");
	read_until(fd, "two", buf, sizeof(buf));
	assert_string_equal(buf, "{\"state\": \"one\"}\n{\"state\": \"two\"}\n");
	/* Stopping sends what was published last, then closes the stream. */
	api_server_publish(&f->server, "{\"state\": \"last\"}\n");
	api_server_stop(&f->server);
	read_until(fd, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "{\"state\": \"last\"}\n");
	close(fd);
}

/*
 * A client that pipelines requests and does not read: the server answers one at a time and
 * waits (its output stays one answer), and once the client reads, every request is answered.
 */
static void test_api_server_holds_a_client_that_does_not_read(void **state)
{
	struct fixture *f = *state;
	static const char request[] = "GET /pipelined HTTP/1.1\r\n\r\n";
	int fd = connect_to(f), sent = 0, answered = 0;
	char *buf = malloc(1 << 20);
	size_t out_len = 0;

	assert_non_null(buf);
	while (sent < 5000 && send(fd, request, sizeof(request) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) ==
				  (ssize_t)sizeof(request) - 1)
		sent++;
	usleep(300 * 1000);
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		if (f->server.clients[i].fd >= 0)
			out_len += f->server.clients[i].out_len;
	assert_true(out_len <= 200); /* one answer of about 150 bytes at most */
	shutdown(fd, SHUT_WR);
	while (answered < sent) {
		read_until(fd, NULL, buf, 1 << 20);
		if (!buf[0])
			break;
		answered += count(buf, "HTTP/1.1 200 OK");
	}
	assert_int_equal(answered, sent);
	free(buf);
	close(fd);
}

static void test_api_server_keeps_slots_for_those_it_has(void **state)
{
	struct fixture *f = *state;
	int fds[API_MAX_CLIENTS + 2];
	char buf[4096];

	for (int i = 0; i < API_MAX_CLIENTS + 2; i++)
		fds[i] = connect_to(f); /* the last two wait in the listen backlog */
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		send_text(fds[i], "GET /x HTTP/1.1\r\n\r\n");
		read_until(fds[i], "}", buf, sizeof(buf));
		assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
	}
	/* A slot frees: a waiting client is taken in and served. */
	close(fds[0]);
	send_text(fds[API_MAX_CLIENTS], "GET /late HTTP/1.1\r\n\r\n");
	read_until(fds[API_MAX_CLIENTS], "}", buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"p\":\"/late\""));
	for (int i = 1; i < API_MAX_CLIENTS + 2; i++)
		close(fds[i]);
}

static void test_api_socket_refuses_a_live_socket_and_other_files(void **state)
{
	struct fixture *f = *state;
	struct api_socket other;
	char err[256], path[128];
	FILE *file;

	assert_int_equal(api_socket_open(&other, f->path, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, "another process serves this socket"));
	snprintf(path, sizeof(path), "%s/plain", f->dir);
	file = fopen(path, "w");
	assert_non_null(file);
	fclose(file);
	assert_int_equal(api_socket_open(&other, path, err, sizeof(err)), -EEXIST);
	assert_int_equal(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/missing/api.sock", f->dir);
	assert_int_equal(api_socket_open(&other, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "its directory does not exist"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_api_server_answers_pipelined_keep_alive_requests,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_server_refuses_and_closes_a_malformed_request,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_server_answers_a_request_cut_off, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_api_server_streams_published_lines, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_api_server_holds_a_client_that_does_not_read,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_api_server_keeps_slots_for_those_it_has, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_api_socket_refuses_a_live_socket_and_other_files,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
