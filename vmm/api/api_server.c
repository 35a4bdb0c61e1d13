/* The API thread: accept, read within bounds, parse, answer, stream events; never stops the VM. */
#include "vmm/api/api_server.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api/http.h"
#include "vmm/log.h"
#include "vmm/sandbox/seccomp_filter.h"
#include "vmm/thread.h"

static uint64_t api_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *api_json_text(struct json_t *doc, bool indent)
{
	char *text = doc ? json_dumps(doc, indent ? JSON_INDENT(2) : JSON_COMPACT) : NULL;

	json_decref(doc);
	return text;
}

char *api_error_body(const char *text)
{
	return api_json_text(json_pack("{s:s}", "error", text), false);
}

static void api_client_close(struct api_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	*c = (struct api_client){.fd = -1};
}

/*
 * Appends bytes to what the client is sent, the part already sent dropped
 * first; false (client to be dropped) when out of memory or when more than
 * API_OUTPUT_MAX would wait for a client that does not read.
 */
static bool api_client_queue(struct api_client *c, const char *data, size_t len)
{
	char *out;

	if (c->out_sent) {
		memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
		c->out_len -= c->out_sent;
		c->out_sent = 0;
	}
	if (c->out_len + len > API_OUTPUT_MAX)
		return false;
	out = realloc(c->out, c->out_len + len + 1);
	if (!out)
		return false;
	memcpy(out + c->out_len, data, len);
	c->out = out;
	c->out_len += len;
	return true;
}

/* The head and body of a response; a stream keeps the connection, an error closes it. */
static void api_client_respond(struct api_client *c, const struct api_response *resp,
			       bool keep_alive)
{
	char head[256];
	size_t body_len = resp->body ? strlen(resp->body) : 0;
	size_t head_len = http_response_head(head, sizeof(head), resp->status,
					     resp->stream ? SIZE_MAX : body_len, keep_alive);

	if (!head_len || !api_client_queue(c, head, head_len) ||
	    (body_len && !api_client_queue(c, resp->body, body_len))) {
		c->closing = true;
		c->out_len = c->out_sent = 0;
		return;
	}
	c->streaming = resp->stream;
	c->closing = !resp->stream && !keep_alive;
}

/* What a refused request is told, by status. */
static const char *api_refusal_text(int status)
{
	switch (status) {
	case 408:
		return "the request did not arrive whole within 5 s";
	case 411:
		return "send the body with a Content-Length, not a Transfer-Encoding";
	case 413:
		return "the body is over 16384 bytes";
	case 414:
		return "the target is over 255 bytes";
	case 431:
		return "the head is over 8192 bytes or 64 fields";
	case 505:
		return "only HTTP/1.0 and HTTP/1.1 are served";
	default:
		return "malformed request";
	}
}

/* A request the parser refused (status 4xx/5xx): answer it and close (RFC 9112 §9.6). */
static void api_client_refuse(struct api_client *c, int status)
{
	struct api_response resp = {.status = status};

	resp.body = api_error_body(api_refusal_text(status));
	api_client_respond(c, &resp, false);
	free(resp.body);
	c->closing = true;
}

/*
 * The next complete request in the client's buffer, if its previous answer
 * is all sent: one answer waits for the client at a time, so a client that
 * does not read is not served again (backpressure). True when it answered.
 */
static bool api_client_serve(struct api_server *s, struct api_client *c)
{
	struct http_request req;
	struct api_response resp = {0};
	int ret;

	if (c->closing || c->streaming || !c->in_len || c->out_sent != c->out_len)
		return false;
	ret = http_parse_request(c->in, c->in_len, &req);
	if (ret == -EAGAIN)
		return false;
	if (ret) {
		api_client_refuse(c, ret);
		return true;
	}
	s->handler.handle(s->handler.ctx, req.method, req.path, c->in + req.body_offset,
			  req.body_len, &resp);
	if (!resp.body && resp.status != 204)
		resp.status = 500, resp.body = api_error_body("out of memory");
	api_client_respond(c, &resp, req.keep_alive);
	free(resp.body);
	memmove(c->in, c->in + req.total_len, c->in_len - req.total_len);
	c->in_len -= req.total_len;
	c->request_ms = api_now_ms(); /* what is left is the next request's start */
	return true;
}

static void api_client_write(struct api_client *c)
{
	while (c->out_sent < c->out_len) {
		/* MSG_NOSIGNAL: a client that went away is an EPIPE here, not a SIGPIPE. */
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			api_client_close(c);
			return;
		}
		c->out_sent += (size_t)n;
		c->since_ms = api_now_ms();
	}
	if (c->closing)
		api_client_close(c);
}

/* Sends what is pending; while it all goes out, the requests that waited behind it are served. */
static void api_client_flush(struct api_server *s, struct api_client *c)
{
	do
		api_client_write(c);
	while (c->fd >= 0 && api_client_serve(s, c));
}

static void api_client_read(struct api_server *s, struct api_client *c)
{
	uint8_t discard[512];
	ssize_t n;

	/* A stream's client has nothing more to say: read only to see it go. */
	if (c->streaming || c->closing) {
		n = read(c->fd, discard, sizeof(discard));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			api_client_close(c);
		return;
	}
	n = read(c->fd, c->in + c->in_len, HTTP_REQUEST_MAX - c->in_len);
	if (n == 0 && c->in_len) {
		/* The client stopped sending mid-request (it may still read): say so, then close.
		 */
		api_client_refuse(c, 400);
		api_client_write(c);
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		if (c->fd >= 0)
			api_client_close(c);
		return;
	}
	if (n < 0)
		return;
	if (c->in_len == 0)
		c->request_ms = api_now_ms();
	c->in_len += (size_t)n;
	c->since_ms = api_now_ms();
	api_client_flush(s, c);
}

static void api_server_accept(struct api_server *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct api_client *c = NULL;

	/* Out of fds: the connection stays queued; look again in a second, not at once. */
	if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS))
		s->accept_after_ms = api_now_ms() + 1000;
	if (fd < 0)
		return;
	for (unsigned int i = 0; i < API_MAX_CLIENTS && !c; i++)
		if (s->clients[i].fd < 0)
			c = &s->clients[i];
	/* Full: the newcomer is closed unanswered; the others keep their places. */
	if (!c || !(c->in = malloc(HTTP_REQUEST_MAX))) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->since_ms = api_now_ms();
}

/* Published lines go to every stream; one that fell too far behind is dropped. */
static void api_server_fan_out(struct api_server *s)
{
	char *events;
	size_t len;

	pthread_mutex_lock(&s->lock);
	events = s->events;
	len = s->events_len;
	s->events = NULL;
	s->events_len = 0;
	pthread_mutex_unlock(&s->lock);
	for (unsigned int i = 0; events && i < API_MAX_CLIENTS; i++) {
		struct api_client *c = &s->clients[i];

		if (c->fd < 0 || !c->streaming)
			continue;
		if (c->out_len - c->out_sent + len > API_STREAM_BACKLOG ||
		    !api_client_queue(c, events, len))
			api_client_close(c);
		else
			api_client_write(c);
	}
	free(events);
}

/* Stalled requests and idle connections give their slot back. */
static void api_server_expire(struct api_server *s)
{
	uint64_t now = api_now_ms();

	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		struct api_client *c = &s->clients[i];

		if (c->fd < 0 || c->streaming)
			continue;
		/* Counted from the request's first byte: a byte now and then does not hold a slot.
		 */
		if (c->in_len && now - c->request_ms > API_REQUEST_MS) {
			api_client_refuse(c, 408);
			api_client_write(c);
			if (c->fd >= 0)
				api_client_close(c);
		} else if (now - c->since_ms > API_IDLE_MS) {
			api_client_close(c);
		}
	}
}

static unsigned int api_server_pollfds(struct api_server *s, struct pollfd *fds,
				       struct api_client **owners)
{
	unsigned int n = 0, open = 0;

	fds[n++] = (struct pollfd){.fd = s->wake_fd, .events = POLLIN};
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		struct api_client *c = &s->clients[i];

		if (c->fd < 0)
			continue;
		open++;
		owners[n] = c;
		/* A client with an answer not yet read is not read from: backpressure. */
		fds[n++] = (struct pollfd){
		    .fd = c->fd, .events = (short)(c->out_sent < c->out_len ? POLLOUT : POLLIN)};
	}
	/* The listening socket only while a slot is free: the backlog holds the rest. */
	if (open < API_MAX_CLIENTS && api_now_ms() >= s->accept_after_ms) {
		owners[n] = NULL;
		fds[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
	}
	return n;
}

/*
 * The thread cannot serve: the socket is closed, so clients are refused at
 * once rather than left waiting in the backlog for an answer.
 */
static void *api_server_give_up(struct api_server *s)
{
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			api_client_close(&s->clients[i]);
	close(s->listen_fd);
	s->listen_fd = -1;
	return NULL;
}

static void *api_server_thread(void *arg)
{
	struct api_server *s = arg;
	struct pollfd fds[API_MAX_CLIENTS + 2];
	struct api_client *owners[API_MAX_CLIENTS + 2] = {NULL};
	uint64_t ticks;

	pthread_setname_np(pthread_self(), "api");
	if (seccomp_filter_enter(SECCOMP_API)) {
		log_warn("api", "cannot install the API thread's seccomp filter: no API");
		return api_server_give_up(s);
	}
	while (!s->stopping) {
		unsigned int n = api_server_pollfds(s, fds, owners);

		if (poll(fds, n, 1000) < 0 && errno != EINTR) {
			log_warn("api", "poll failed (%s): the API stops", strerror(errno));
			return api_server_give_up(s);
		}
		if (fds[0].revents && read(s->wake_fd, &ticks, sizeof(ticks)) > 0)
			api_server_fan_out(s);
		for (unsigned int i = 1; i < n && !s->stopping; i++) {
			struct api_client *c = owners[i];

			if (!c) {
				if (fds[i].revents)
					api_server_accept(s);
				continue;
			}
			if (c->fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    c->out_sent == c->out_len)
				api_client_read(s, c);
			/* Pending output, or a connection to close with nothing left to send. */
			if (c->fd >= 0 && (c->out_sent < c->out_len || c->closing))
				api_client_flush(s, c);
		}
		api_server_expire(s);
	}
	/* The last lines published (the VM's end) reach the streams once, without waiting. */
	api_server_fan_out(s);
	return NULL;
}

int api_server_init(struct api_server *s, int listen_fd, const struct api_handler *handler)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->listen_fd = listen_fd;
	s->handler = *handler;
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		return -errno;
	ret = pthread_mutex_init(&s->lock, NULL);
	if (ret) {
		close(s->wake_fd);
		return -ret;
	}
	s->ready = true;
	return 0;
}

int api_server_start(struct api_server *s)
{
	int ret = thread_start(&s->thread, api_server_thread, s);

	if (ret)
		return ret;
	s->started = true;
	return 0;
}

static void api_server_wake(struct api_server *s)
{
	uint64_t one = 1;
	ssize_t ignored = write(s->wake_fd, &one, sizeof(one));

	(void)ignored;
}

void api_server_publish(struct api_server *s, const char *line)
{
	size_t len = strlen(line);
	char *events;

	pthread_mutex_lock(&s->lock);
	/*
	 * The API thread not fanning out for a long while: what waited goes, the
	 * newest line (the VM's last, perhaps) stays.
	 */
	if (s->events_len + len > API_STREAM_BACKLOG) {
		free(s->events);
		s->events = NULL;
		s->events_len = 0;
	}
	if (len <= API_STREAM_BACKLOG) {
		events = realloc(s->events, s->events_len + len + 1);
		if (events) {
			memcpy(events + s->events_len, line, len);
			s->events = events;
			s->events_len += len;
		}
	}
	pthread_mutex_unlock(&s->lock);
	api_server_wake(s);
}

void api_server_stop(struct api_server *s)
{
	if (!s->started)
		return;
	s->stopping = true;
	api_server_wake(s);
	pthread_join(s->thread, NULL);
	s->started = false;
}

void api_server_destroy(struct api_server *s)
{
	if (!s->ready)
		return;
	api_server_stop(s);
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		api_client_close(&s->clients[i]);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->events);
	s->events = NULL;
	s->ready = false;
}
