/*
 * The API socket's server (docs/embedding.md): one thread in the jailed VM
 * process, under its own seccomp list (SECCOMP_API), serving HTTP/1.1 on the
 * listening Unix socket microvmm created before the jail (api_socket.h).
 *
 * Requests are parsed within http.h's bounds and handed to `handler` one
 * at a time on the API thread; a malformed one is answered 4xx with a JSON
 * error and its connection closed, and nothing a client sends stops the VM.
 * At most API_MAX_CLIENTS connections; one that sends half a request and
 * stalls is closed after API_REQUEST_MS, an idle one after API_IDLE_MS.
 * A GET /vm/events answer (api_response.stream) keeps its connection open
 * and receives every line api_server_publish() queues, until it closes or
 * falls API_STREAM_BACKLOG bytes behind.
 *
 * Call order: api_server_init (main thread, before the jail's seccomp),
 * api_server_start (main, before its own filter: no filter lets a thread
 * start another), api_server_publish (any thread), api_server_stop (main:
 * sends what was published, closes every connection, joins),
 * api_server_destroy (idempotent, also on a half-built server).
 */
#ifndef MICROVMM_VMM_API_API_SERVER_H
#define MICROVMM_VMM_API_API_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_MAX_CLIENTS	   8
#define API_REQUEST_MS	   5000
#define API_IDLE_MS	   60000
#define API_STREAM_BACKLOG (64 * 1024)
#define API_OUTPUT_MAX	   (256 * 1024) /* answers waiting for one client to read them */
#define API_ERROR_TEXT_MAX 200

/* The answer to one request: filled by the handler, sent and freed by the server. */
struct api_response {
	int status;  /* 200, 204, 4xx or 5xx */
	char *body;  /* malloc'd JSON text or NULL (204); a stream's first line(s) */
	bool stream; /* GET /vm/events: the connection stays open for published lines */
};

struct api_handler {
	/* API thread: one complete request; body is body_len bytes, not NUL-terminated. */
	void (*handle)(void *ctx, const char *method, const char *path, const uint8_t *body,
		       size_t body_len, struct api_response *resp);
	void *ctx;
};

struct api_client {
	int fd; /* -1: the slot is free */
	uint8_t *in;
	size_t in_len;
	char *out;
	size_t out_len, out_sent;
	bool streaming, closing; /* closing: close once `out` is sent */
	uint64_t since_ms;	 /* the last byte in or out */
	uint64_t request_ms;	 /* the first byte of the request being read */
};

struct api_server {
	int listen_fd; /* owned; -1 once the thread gave up */
	int wake_fd;   /* eventfd: lines published, or stop */
	struct api_handler handler;
	pthread_t thread;
	bool ready, started;
	atomic_bool stopping;
	pthread_mutex_t lock; /* guards events, events_len */
	char *events;
	size_t events_len;
	struct api_client clients[API_MAX_CLIENTS];
	uint64_t accept_after_ms; /* accept4 ran out of fds: wait until then */
};

/* Takes ownership of listen_fd once it returns 0; -errno leaves it to the caller. */
int api_server_init(struct api_server *s, int listen_fd, const struct api_handler *handler)
    __attribute__((warn_unused_result));
int api_server_start(struct api_server *s) __attribute__((warn_unused_result));
/* Queues `line` (a JSON object followed by "\n") for every events stream. Any thread. */
void api_server_publish(struct api_server *s, const char *line);
void api_server_stop(struct api_server *s);
void api_server_destroy(struct api_server *s);

/* An error body {"error": TEXT} (malloc'd; NULL when out of memory). */
char *api_error_body(const char *text);

/* jansson's text of `doc` (malloc'd; NULL when doc is NULL or out of memory); drops doc. */
struct json_t;
char *api_json_text(struct json_t *doc, bool indent);

#endif
