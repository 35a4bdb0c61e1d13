/* The API's routes (docs/embedding.md): state, counters, events, and run control via main. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vm.h"

static const char *const vm_api_state_names[] = {
    [VM_STATE_BOOTING] = "booting",
    [VM_STATE_RUNNING] = "running",
    [VM_STATE_PAUSED] = "paused",
    [VM_STATE_STOPPING] = "stopping",
};

static uint64_t vm_api_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The VM's end is decided: nothing more can be asked of it. */
static bool vm_api_ended(struct vm *vm)
{
	bool ended;

	pthread_mutex_lock(&vm->end_lock);
	ended = vm->end != VM_END_NONE;
	pthread_mutex_unlock(&vm->end_lock);
	return ended || vm->stopping;
}

/* Ended, or a shutdown or kill was accepted: the state reads "stopping". */
static bool vm_api_stopping(struct vm *vm)
{
	return vm_api_ended(vm) || vm->api.shutting_down;
}

static enum vm_api_state vm_api_state(struct vm *vm)
{
	enum vm_command_state cmd;

	if (vm_api_stopping(vm))
		return VM_STATE_STOPPING;
	if (vm->api.paused)
		return VM_STATE_PAUSED;
	pthread_mutex_lock(&vm->ctl_lock);
	cmd = vm->cmd_state;
	pthread_mutex_unlock(&vm->ctl_lock);
	/* Up: the init reported the command started, or (no command) the guest opened hvc0. */
	if (cmd != VM_CMD_NONE || (!vm->cfg->command && vm->guest_console_open))
		return VM_STATE_RUNNING;
	return VM_STATE_BOOTING;
}

/* The command's status once the init reported it, or the VM's once main worked it out. */
static json_t *vm_api_exit_status(struct vm *vm)
{
	int status = vm->api.exit_status;

	if (status < 0) {
		pthread_mutex_lock(&vm->ctl_lock);
		if (vm->cmd_state == VM_CMD_EXITED)
			status = vm->cmd_status;
		pthread_mutex_unlock(&vm->ctl_lock);
	}
	return status < 0 ? json_null() : json_integer(status);
}

void vm_api_note_state(struct vm *vm)
{
	enum vm_api_state state;
	char line[96];

	if (!vm->api.enabled)
		return;
	/* One at a time: two threads' changes reach the stream in the order they happened. */
	pthread_mutex_lock(&vm->api.state_lock);
	state = vm_api_state(vm);
	if (vm->api.published != (int)state) {
		vm->api.published = (int)state;
		snprintf(line, sizeof(line), "{\"time_ms\": %llu, \"state\": \"%s\"}\n",
			 (unsigned long long)(vm_api_now_ms() - vm->api.start_ms),
			 vm_api_state_names[state]);
		api_server_publish(&vm->api.server, line);
	}
	pthread_mutex_unlock(&vm->api.state_lock);
}

/* GET /vm */
static char *vm_api_describe(struct vm *vm)
{
	json_t *config = json_loads(vm->api.config_json, 0, NULL);

	return api_json_text(
	    json_pack("{s:s, s:I, s:I, s:o, s:o}", "state", vm_api_state_names[vm_api_state(vm)],
		      "pid", (json_int_t)vm->api.pid, "uptime_ms",
		      (json_int_t)(vm_api_now_ms() - vm->api.start_ms), "config",
		      config ? config : json_null(), "exit_status", vm_api_exit_status(vm)),
	    true);
}

static json_int_t vm_api_read(const uint64_t *counter)
{
	return (json_int_t)__atomic_load_n(counter, __ATOMIC_RELAXED);
}

static json_t *vm_api_console_counters(struct vm *vm)
{
	static const char *const names[VM_PORT_COUNT] = {"console", "ctl", "stdin", "stdout",
							 "stderr"};
	json_t *ports = json_object();

	for (unsigned int i = 0; vm->console_ready && i < vm->console.port_count; i++) {
		const struct console_port *port = &vm->console.ports[i];

		json_object_set_new(ports, i < VM_PORT_COUNT ? names[i] : "other",
				    json_pack("{s:I, s:I}", "bytes_from_guest",
					      vm_api_read(&port->bytes_to_host), "bytes_to_guest",
					      vm_api_read(&port->bytes_to_guest)));
	}
	return json_pack("{s:o, s:I}", "ports", ports, "resets",
			 vm->console_ready ? vm_api_read(&vm->console.vp.resets) : 0);
}

static json_t *vm_api_net_counters(struct vm *vm)
{
	const struct virtio_net_stats *st = &vm->net.dev.stats;

	if (!vm->net.dev_ready)
		return json_null();
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "tx_frames", vm_api_read(&st->tx_frames),
	    "tx_bytes", vm_api_read(&st->tx_bytes), "tx_dropped", vm_api_read(&st->tx_dropped),
	    "tx_filtered", vm_api_read(&st->tx_filtered), "rx_frames", vm_api_read(&st->rx_frames),
	    "rx_bytes", vm_api_read(&st->rx_bytes), "rx_dropped", vm_api_read(&st->rx_dropped),
	    "resets", vm_api_read(&vm->net.dev.vp.resets));
}

/* The file-system devices: their data path is virtiofsd's, so only resets are ours to count. */
static json_t *vm_api_fs_counters(struct vm *vm)
{
	json_t *list = json_array();

	for (unsigned int i = 0; i < vm->shares.count; i++) {
		const struct vm_share *share = &vm->shares.list[i];

		if (share->fs_ready)
			json_array_append_new(list,
					      json_pack("{s:s, s:s, s:I}", "tag", share->cfg->tag,
							"guest", share->cfg->guest, "resets",
							vm_api_read(&share->fs.vp.resets)));
	}
	return list;
}

/* GET /vm/counters */
static char *vm_api_counters(struct vm *vm)
{
	return api_json_text(json_pack("{s:o, s:o, s:o}", "console", vm_api_console_counters(vm),
				       "net", vm_api_net_counters(vm), "fs",
				       vm_api_fs_counters(vm)),
			     true);
}

/* Posts a request to the main thread and waits for its answer (see vm_api.h). */
static void vm_api_request(struct vm *vm, enum vm_api_op op, int arg, struct api_response *resp)
{
	struct vm_api *api = &vm->api;
	uint64_t one = 1;
	struct timespec deadline;
	unsigned long id;
	int ret = 0;

	/* A kill or a signal may still follow a shutdown; nothing follows the end. */
	if (op == VM_API_KILL || op == VM_API_SIGNAL ? vm_api_ended(vm) : vm_api_stopping(vm)) {
		resp->status = 409;
		resp->body = api_error_body("the VM is stopping");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += VM_API_WAIT_MS / 1000;
	pthread_mutex_lock(&api->lock);
	api->op = op;
	api->arg = arg;
	id = ++api->posted;
	pthread_mutex_unlock(&api->lock);
	if (write(api->request_fd, &one, sizeof(one)) < 0)
		ret = -errno;
	pthread_mutex_lock(&api->lock);
	while (!ret && api->answered != id && !api->closed)
		ret = pthread_cond_timedwait(&api->answered_cond, &api->lock, &deadline);
	if (api->answered == id) {
		resp->status = api->status;
		if (api->status != 204)
			resp->body = api_error_body(api->error);
	} else {
		/* Not taken: withdrawn. Taken: the main thread finishes it, unanswered here. */
		if (api->taken != id)
			api->op = VM_API_NONE;
		resp->status = api->closed ? 409 : 503;
		resp->body = api_error_body(
		    api->closed ? "the VM is stopping" : "the VM did not take the request in time");
	}
	pthread_mutex_unlock(&api->lock);
}

/* A JSON object body, or none at all: NULL with a 400 in resp for anything else. */
static json_t *vm_api_body(const uint8_t *body, size_t len, struct api_response *resp)
{
	json_error_t error;
	json_t *doc;
	char text[API_ERROR_TEXT_MAX];

	if (len == 0)
		return json_object();
	doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &error);
	if (doc && json_is_object(doc))
		return doc;
	snprintf(text, sizeof(text), "body: %s", doc ? "expected a JSON object" : error.text);
	json_decref(doc);
	resp->status = 400;
	resp->body = api_error_body(text);
	return NULL;
}

/* "TERM", "SIGTERM" or 15: a signal number 1..64, or 0. */
static int vm_api_signal_number(const json_t *value)
{
	const char *name = json_string_value(value);

	if (json_is_integer(value))
		return json_integer_value(value) >= 1 && json_integer_value(value) <= 64
			   ? (int)json_integer_value(value)
			   : 0;
	if (!name)
		return 0;
	if (!strncmp(name, "SIG", 3))
		name += 3;
	for (int sig = 1; sig < 32; sig++)
		if (sigabbrev_np(sig) && !strcmp(sigabbrev_np(sig), name))
			return sig;
	return 0;
}

/* PUT /vm/shutdown {"timeout_s": N} and PUT /vm/signal {"signal": S}. */
static void vm_api_put_with_body(struct vm *vm, bool shutdown, const uint8_t *body, size_t len,
				 struct api_response *resp)
{
	json_t *doc = vm_api_body(body, len, resp);
	const json_t *value;
	int arg;

	if (!doc)
		return;
	if (shutdown) {
		value = json_object_get(doc, "timeout_s");
		arg = VM_API_SHUTDOWN_DEFAULT_S;
		if (value && (!json_is_integer(value) || json_integer_value(value) < 1 ||
			      json_integer_value(value) > VM_API_SHUTDOWN_MAX_S)) {
			resp->status = 400;
			resp->body = api_error_body("timeout_s: expected seconds, 1 to 3600");
		} else {
			arg = value ? (int)json_integer_value(value) : arg;
			vm_api_request(vm, VM_API_SHUTDOWN, arg, resp);
		}
	} else {
		arg = vm_api_signal_number(json_object_get(doc, "signal"));
		if (!arg) {
			resp->status = 400;
			resp->body = api_error_body(
			    "signal: expected a name such as \"TERM\" or a number 1 to 64");
		} else {
			vm_api_request(vm, VM_API_SIGNAL, arg, resp);
		}
	}
	json_decref(doc);
}

/* The events stream's first line: the state now. */
static char *vm_api_events_start(struct vm *vm)
{
	char *line;

	if (asprintf(&line, "{\"time_ms\": %llu, \"state\": \"%s\"}\n",
		     (unsigned long long)(vm_api_now_ms() - vm->api.start_ms),
		     vm_api_state_names[vm_api_state(vm)]) < 0)
		return NULL;
	return line;
}

struct vm_api_route {
	const char *path;
	const char *method;
	enum vm_api_op op; /* VM_API_NONE: a GET */
};

static const struct vm_api_route vm_api_routes[] = {
    {"/vm", "GET", VM_API_NONE},	  {"/vm/counters", "GET", VM_API_NONE},
    {"/vm/events", "GET", VM_API_NONE},	  {"/vm/shutdown", "PUT", VM_API_SHUTDOWN},
    {"/vm/kill", "PUT", VM_API_KILL},	  {"/vm/pause", "PUT", VM_API_PAUSE},
    {"/vm/resume", "PUT", VM_API_RESUME}, {"/vm/signal", "PUT", VM_API_SIGNAL},
};

static void vm_api_handle(void *ctx, const char *method, const char *path, const uint8_t *body,
			  size_t body_len, struct api_response *resp)
{
	struct vm *vm = ctx;
	const struct vm_api_route *route = NULL;

	for (size_t i = 0; i < sizeof(vm_api_routes) / sizeof(vm_api_routes[0]); i++)
		if (!strcmp(vm_api_routes[i].path, path))
			route = &vm_api_routes[i];
	if (!route) {
		resp->status = 404;
		resp->body = api_error_body("no such endpoint: see docs/embedding.md");
		return;
	}
	if (strcmp(route->method, method)) {
		resp->status = 405;
		resp->body = api_error_body(!strcmp(route->method, "GET") ? "use GET" : "use PUT");
		return;
	}
	resp->status = 200;
	if (!strcmp(path, "/vm"))
		resp->body = vm_api_describe(vm);
	else if (!strcmp(path, "/vm/counters"))
		resp->body = vm_api_counters(vm);
	else if (!strcmp(path, "/vm/events"))
		resp->body = vm_api_events_start(vm), resp->stream = true;
	else if (route->op == VM_API_SHUTDOWN || route->op == VM_API_SIGNAL)
		vm_api_put_with_body(vm, route->op == VM_API_SHUTDOWN, body, body_len, resp);
	else
		vm_api_request(vm, route->op, 0, resp);
}

int vm_api_create(struct vm *vm, int listen_fd, char *config_json, pid_t pid, char *err,
		  size_t err_len)
{
	struct vm_api *api = &vm->api;
	pthread_condattr_t attr;
	int ret;

	api->config_json = config_json;
	api->pid = pid;
	api->start_ms = vm_api_now_ms();
	api->published = -1;
	api->exit_status = -1;
	/* jansson seeds its hash function from /dev/urandom on first use: here, not in the jail. */
	json_object_seed(0);
	api->request_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (api->request_fd < 0) {
		ret = -errno;
		close(listen_fd);
		goto fail;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&api->answered_cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&api->lock, NULL);
	pthread_mutex_init(&api->state_lock, NULL);
	ret = api_server_init(&api->server, listen_fd,
			      &(struct api_handler){.handle = vm_api_handle, .ctx = vm});
	if (ret) {
		close(listen_fd);
		pthread_cond_destroy(&api->answered_cond);
		pthread_mutex_destroy(&api->lock);
		pthread_mutex_destroy(&api->state_lock);
		goto fail;
	}
	api->enabled = true;
	return 0;
fail:
	snprintf(err, err_len, "cannot set up the API socket: %s", strerror(-ret));
	return ret;
}

int vm_api_start(struct vm *vm)
{
	return vm->api.enabled ? api_server_start(&vm->api.server) : 0;
}

enum vm_api_op vm_api_take(struct vm *vm, int *arg)
{
	struct vm_api *api = &vm->api;
	enum vm_api_op op;
	uint64_t ticks;

	if (read(api->request_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return VM_API_NONE;
	pthread_mutex_lock(&api->lock);
	op = api->op;
	*arg = api->arg;
	api->op = VM_API_NONE;
	if (op != VM_API_NONE)
		api->taken = api->posted;
	pthread_mutex_unlock(&api->lock);
	return op;
}

void vm_api_answer(struct vm *vm, int status, const char *error)
{
	struct vm_api *api = &vm->api;

	pthread_mutex_lock(&api->lock);
	api->status = status;
	snprintf(api->error, sizeof(api->error), "%s", error ? error : "");
	api->answered = api->taken;
	pthread_cond_broadcast(&api->answered_cond);
	pthread_mutex_unlock(&api->lock);
}

void vm_api_finish(struct vm *vm, int exit_status)
{
	char line[128];

	if (!vm->api.enabled)
		return;
	vm->api.exit_status = exit_status;
	/* The main thread takes no more requests: one still waiting is answered now. */
	pthread_mutex_lock(&vm->api.lock);
	vm->api.closed = true;
	pthread_cond_broadcast(&vm->api.answered_cond);
	pthread_mutex_unlock(&vm->api.lock);
	snprintf(line, sizeof(line),
		 "{\"time_ms\": %llu, \"state\": \"stopped\", \"exit_status\": %d}\n",
		 (unsigned long long)(vm_api_now_ms() - vm->api.start_ms), exit_status);
	api_server_publish(&vm->api.server, line);
	api_server_stop(&vm->api.server);
}

void vm_api_destroy(struct vm *vm)
{
	struct vm_api *api = &vm->api;

	if (api->enabled) {
		pthread_mutex_lock(&api->lock);
		api->closed = true;
		pthread_cond_broadcast(&api->answered_cond);
		pthread_mutex_unlock(&api->lock);
		api_server_destroy(&api->server);
		pthread_cond_destroy(&api->answered_cond);
		pthread_mutex_destroy(&api->lock);
		pthread_mutex_destroy(&api->state_lock);
		api->enabled = false;
	}
	if (api->request_fd >= 0)
		close(api->request_fd);
	api->request_fd = -1;
	free(api->config_json);
	api->config_json = NULL;
}
