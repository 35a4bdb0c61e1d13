/* libmicrovmm's insides shared by its files: the VM handle and the error line. */
#ifndef MICROVMM_VMM_CLIENT_CLIENT_H
#define MICROVMM_VMM_CLIENT_CLIENT_H

#include <stdbool.h>
#include <sys/types.h>

#include "vmm/client/microvmm.h"

#define CLIENT_PATH_MAX 108 /* sockaddr_un.sun_path */

struct microvmm_vm {
	pid_t pid;
	bool reaped;
	int exit_status;
	char dir[CLIENT_PATH_MAX - 16]; /* the private directory: api.sock, config.json */
	char socket[CLIENT_PATH_MAX];
};

/* Sets the thread's error line and returns `ret` (a negative errno). */
int client_fail(int ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* client_config.c: the configuration's JSON with "api_socket" set to `socket`; caller frees. */
char *client_config_text(const struct microvmm_config *cfg, const char *socket);

/*
 * client_api.c: one request on a new connection to the VM's socket; the
 * status in *status and the body (malloc'd, NUL-terminated; NULL if empty)
 * in *body. -errno when there is no answer.
 */
int client_request(const struct microvmm_vm *vm, const char *method, const char *path,
		   const char *body, int *status, char **reply);

#endif
