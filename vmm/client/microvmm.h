/*
 * libmicrovmm: start and drive microvmm VMs from a launcher (docs/embedding.md).
 *
 * A VM is a microvmm process: the library runs the microvmm binary, so the
 * process and sandbox boundary stays where it is, and talks to it through
 * its API socket (--api-socket, HTTP/1.1 with JSON). Build a configuration
 * with the keys of docs/config.md, start it, call the API, wait for it.
 *
 * Errors: functions return 0 (or a count) or a negative errno; the calling
 * thread's microvmm_error() then says what failed in one line. A
 * microvmm_vm is used by one thread at a time; different VMs from different
 * threads are fine. Link with `pkg-config --libs microvmm`.
 */
#ifndef MICROVMM_H
#define MICROVMM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MICROVMM_CLIENT_VERSION 1

struct microvmm_config;
struct microvmm_vm;
struct microvmm_events;

/* The calling thread's last error, one line; "" when none. */
const char *microvmm_error(void);

/* ---- configuration: the keys of docs/config.md ---- */

struct microvmm_config *microvmm_config_new(void);
void microvmm_config_free(struct microvmm_config *cfg);
/* A string, whole-number or switch key ("kernel", "cpus", "verbose"); replaces the value. */
int microvmm_config_set_string(struct microvmm_config *cfg, const char *key, const char *value);
int microvmm_config_set_int(struct microvmm_config *cfg, const char *key, long long value);
int microvmm_config_set_bool(struct microvmm_config *cfg, const char *key, bool value);
/* One more item of a list key ("env", "share", "allow", "publish", "dns"...). */
int microvmm_config_add(struct microvmm_config *cfg, const char *key, const char *item);
/* The guest command (NULL-terminated argv), as after "--". */
int microvmm_config_set_command(struct microvmm_config *cfg, const char *const argv[]);
/* The configuration as a --config file's JSON text; the caller frees it. NULL: see error. */
char *microvmm_config_json(const struct microvmm_config *cfg);

/* ---- starting and waiting ---- */

/*
 * Fill with microvmm_start_options_init() first: its fds are -1 ("the
 * default"), which a zeroed struct is not (0 is stdin).
 */
struct microvmm_start_options {
	const char *binary;    /* NULL: $MICROVMM_BIN, else "microvmm" on PATH */
	int stdin_fd;	       /* -1: /dev/null */
	int stdout_fd;	       /* -1: inherited */
	int stderr_fd;	       /* -1: inherited */
	unsigned int ready_ms; /* how long microvmm may take to serve its API (0: 30000) */
	/*
	 * SIGKILL microvmm (and so its VM) when the thread that started it
	 * ends (PR_SET_PDEATHSIG follows the thread): start from a thread that
	 * lives as long as the launcher.
	 */
	bool die_with_launcher;
};
void microvmm_start_options_init(struct microvmm_start_options *opts);

/*
 * Starts microvmm with `cfg` (opts may be NULL: the defaults) and returns
 * once its API answers GET /vm, the VM built. The configuration goes in a 0600 file in a private
 * directory
 * ($XDG_RUNTIME_DIR, else /tmp) beside the API socket; the file is removed
 * as soon as microvmm has read it. -errno; a microvmm that exits at once
 * (a bad configuration) gives -ECHILD with its exit status in the error.
 */
int microvmm_start(const struct microvmm_config *cfg, const struct microvmm_start_options *opts,
		   struct microvmm_vm **vm);
pid_t microvmm_pid(const struct microvmm_vm *vm);
const char *microvmm_api_socket(const struct microvmm_vm *vm);

/* Waits until microvmm exits; its exit status (docs/microvmm.1) in *exit_status. */
int microvmm_wait(struct microvmm_vm *vm, int *exit_status);
/* The same without blocking: -EAGAIN while it runs. */
int microvmm_try_wait(struct microvmm_vm *vm, int *exit_status);
/* Frees the handle; a VM still running is killed (SIGKILL) and reaped first. */
void microvmm_vm_free(struct microvmm_vm *vm);

/* ---- the API (docs/embedding.md); an HTTP error is -EPROTO with the server's text ---- */

/* "booting", "running", "paused" or "stopping". */
int microvmm_state(struct microvmm_vm *vm, char *state, size_t len);
/* GET of an endpoint ("/vm", "/vm/counters"): its JSON body, which the caller frees. */
int microvmm_get(struct microvmm_vm *vm, const char *path, char **json);
int microvmm_shutdown(struct microvmm_vm *vm, int timeout_s);
int microvmm_kill(struct microvmm_vm *vm);
int microvmm_pause(struct microvmm_vm *vm);
int microvmm_resume(struct microvmm_vm *vm);
int microvmm_signal(struct microvmm_vm *vm, int sig);

/*
 * GET /vm/events: one JSON line per state change. microvmm_events_next
 * gives the next line (without its newline): 1, or 0 when the stream ended
 * (microvmm exited), -ETIMEDOUT after timeout_ms (-1: no limit).
 */
int microvmm_events_open(struct microvmm_vm *vm, struct microvmm_events **events);
int microvmm_events_next(struct microvmm_events *events, char *line, size_t len, int timeout_ms);
void microvmm_events_close(struct microvmm_events *events);

#ifdef __cplusplus
}
#endif

#endif
