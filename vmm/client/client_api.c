/* libmicrovmm: the VM's API over its Unix socket (HTTP/1.1, one request per connection). */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/client/client.h"

/* An answer larger than this is not microvmm's. */
#define CLIENT_REPLY_MAX  (1U << 20)
#define CLIENT_TIMEOUT_MS 15000

struct microvmm_events {
	int fd;
	char buf[4096];
	size_t len;
};

static int client_connect(const struct microvmm_vm *vm)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return client_fail(-errno, "socket: %s", strerror(errno));
	memcpy(addr.sun_path, vm->socket, strlen(vm->socket));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int ret = -errno;

		close(fd);
		return client_fail(ret, "cannot reach microvmm's API at %s: %s", vm->socket,
				   strerror(-ret));
	}
	return fd;
}

static int client_send(int fd, const char *method, const char *path, const char *body)
{
	char *request;
	int len = asprintf(&request,
			   "%s %s HTTP/1.1\r\nHost: microvmm\r\nConnection: close\r\n"
			   "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			   method, path, body ? strlen(body) : 0, body ? body : "");
	int ret = 0;

	if (len < 0)
		return client_fail(-ENOMEM, "out of memory");
	for (int sent = 0; sent < len && !ret;) {
		ssize_t n = send(fd, request + sent, (size_t)(len - sent), MSG_NOSIGNAL);

		if (n < 0 && errno != EINTR)
			ret = client_fail(-errno, "sending to microvmm's API: %s", strerror(errno));
		sent += n > 0 ? (int)n : 0;
	}
	free(request);
	return ret;
}

/* Reads until `done` says the buffer holds enough, EOF, or the timeout. */
static int client_read(int fd, char **buf, size_t *len, bool (*done)(const char *, size_t))
{
	size_t cap = 0;

	*buf = NULL;
	*len = 0;
	while (!(*buf && done && done(*buf, *len))) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (*len + 4097 > cap) {
			char *grown =
			    cap + 8192 <= CLIENT_REPLY_MAX ? realloc(*buf, cap + 8192) : NULL;

			if (!grown)
				return client_fail(-EMSGSIZE, "microvmm's answer is too large");
			*buf = grown;
			cap += 8192;
			(*buf)[*len] = '\0';
		}
		int ready = poll(&p, 1, CLIENT_TIMEOUT_MS);

		if (ready < 0 && errno == EINTR)
			continue; /* a launcher's SIGCHLD handler: the wait starts again */
		if (ready <= 0)
			return client_fail(-ETIMEDOUT, "microvmm's API did not answer");
		n = read(fd, *buf + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return client_fail(-errno, "reading microvmm's answer: %s",
					   strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
	return *len ? 0 : client_fail(-ECONNRESET, "microvmm closed the connection unanswered");
}

static bool client_have_head(const char *buf, size_t len)
{
	(void)len;
	return strstr(buf, "\r\n\r\n") != NULL;
}

/* "HTTP/1.1 NNN ..." */
static int client_status_code(const char *reply)
{
	int status = 0;

	if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	return status;
}

int client_request(const struct microvmm_vm *vm, const char *method, const char *path,
		   const char *body, int *status, char **reply)
{
	int fd = client_connect(vm);
	char *buf = NULL, *start;
	size_t len;
	int ret;

	*reply = NULL;
	if (fd < 0)
		return fd;
	ret = client_send(fd, method, path, body);
	/* Connection: close: the answer ends where the connection does. */
	if (!ret)
		ret = client_read(fd, &buf, &len, NULL);
	close(fd);
	if (ret)
		goto out;
	*status = client_status_code(buf);
	start = strstr(buf, "\r\n\r\n");
	if (*status < 0 || !start) {
		ret = client_fail(-EPROTO, "microvmm's API answered something that is not HTTP");
		goto out;
	}
	start += 4;
	if (*start)
		*reply = strdup(start);
out:
	free(buf);
	return ret;
}

/* A request whose success is a status in 2xx; anything else becomes -EPROTO and the error text. */
static int client_call(struct microvmm_vm *vm, const char *method, const char *path,
		       const char *body, char **reply)
{
	int status = 0;
	char *text = NULL;
	int ret = client_request(vm, method, path, body, &status, &text);

	if (ret)
		return ret;
	if (status < 200 || status > 299) {
		json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
		const char *why = json_string_value(json_object_get(doc, "error"));

		ret = client_fail(-EPROTO, "%s %s: %d %s", method, path, status,
				  why ? why : "(no reason given)");
		json_decref(doc);
		free(text);
		return ret;
	}
	if (reply)
		*reply = text;
	else
		free(text);
	return 0;
}

int microvmm_get(struct microvmm_vm *vm, const char *path, char **json)
{
	return client_call(vm, "GET", path, NULL, json);
}

int microvmm_state(struct microvmm_vm *vm, char *state, size_t len)
{
	char *text = NULL;
	json_t *doc;
	const char *name;
	int ret = client_call(vm, "GET", "/vm", NULL, &text);

	if (ret)
		return ret;
	doc = text ? json_loads(text, 0, NULL) : NULL;
	name = json_string_value(json_object_get(doc, "state"));
	if (name)
		snprintf(state, len, "%s", name);
	else
		ret = client_fail(-EPROTO, "GET /vm: no state in the answer");
	json_decref(doc);
	free(text);
	return ret;
}

int microvmm_shutdown(struct microvmm_vm *vm, int timeout_s)
{
	char body[48];

	snprintf(body, sizeof(body), "{\"timeout_s\": %d}", timeout_s);
	return client_call(vm, "PUT", "/vm/shutdown", body, NULL);
}

int microvmm_kill(struct microvmm_vm *vm)
{
	return client_call(vm, "PUT", "/vm/kill", NULL, NULL);
}

int microvmm_pause(struct microvmm_vm *vm)
{
	return client_call(vm, "PUT", "/vm/pause", NULL, NULL);
}

int microvmm_resume(struct microvmm_vm *vm)
{
	return client_call(vm, "PUT", "/vm/resume", NULL, NULL);
}

int microvmm_signal(struct microvmm_vm *vm, int sig)
{
	char body[32];

	snprintf(body, sizeof(body), "{\"signal\": %d}", sig);
	return client_call(vm, "PUT", "/vm/signal", body, NULL);
}

int microvmm_events_open(struct microvmm_vm *vm, struct microvmm_events **out)
{
	struct microvmm_events *ev = calloc(1, sizeof(*ev));
	char *head = NULL, *end;
	size_t len;
	int ret;

	*out = NULL;
	if (!ev)
		return client_fail(-ENOMEM, "out of memory");
	ev->fd = client_connect(vm);
	ret = ev->fd < 0 ? ev->fd : client_send(ev->fd, "GET", "/vm/events", NULL);
	if (!ret)
		ret = client_read(ev->fd, &head, &len, client_have_head);
	if (!ret && client_status_code(head) != 200)
		ret = client_fail(-EPROTO, "GET /vm/events: %.40s", head);
	end = ret ? NULL : strstr(head, "\r\n\r\n");
	if (!ret && !end)
		ret = client_fail(-EPROTO, "GET /vm/events: the answer ended in its head");
	if (!ret && len - (size_t)(end + 4 - head) > sizeof(ev->buf))
		ret = client_fail(-EMSGSIZE, "GET /vm/events: more at once than %zu bytes",
				  sizeof(ev->buf));
	if (!ret) {
		/* What came after the head is the first line(s) already. */
		end += 4;
		ev->len = len - (size_t)(end - head);
		memcpy(ev->buf, end, ev->len);
		*out = ev;
	} else {
		microvmm_events_close(ev);
	}
	free(head);
	return ret;
}

int microvmm_events_next(struct microvmm_events *ev, char *line, size_t len, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(ev->buf, '\n', ev->len);
		struct pollfd p = {.fd = ev->fd, .events = POLLIN};
		ssize_t n;

		if (nl) {
			size_t used = (size_t)(nl - ev->buf);

			snprintf(line, len, "%.*s", (int)used, ev->buf);
			memmove(ev->buf, nl + 1, ev->len - used - 1);
			ev->len -= used + 1;
			return 1;
		}
		if (ev->len == sizeof(ev->buf)) {
			ev->len = 0; /* not one of microvmm's lines: dropped, the stream goes on */
			return client_fail(-EMSGSIZE, "an event line longer than %zu bytes",
					   sizeof(ev->buf));
		}
		int ready = poll(&p, 1, timeout_ms);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return client_fail(-errno, "waiting for events: %s", strerror(errno));
		if (ready == 0)
			return client_fail(-ETIMEDOUT, "no event within %d ms", timeout_ms);
		n = read(ev->fd, ev->buf + ev->len, sizeof(ev->buf) - ev->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return client_fail(-errno, "reading events: %s", strerror(errno));
		if (n == 0)
			return 0;
		ev->len += (size_t)n;
	}
}

void microvmm_events_close(struct microvmm_events *ev)
{
	if (!ev)
		return;
	if (ev->fd >= 0)
		close(ev->fd);
	free(ev);
}
