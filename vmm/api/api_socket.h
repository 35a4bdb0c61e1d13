/*
 * The API socket's file (--api-socket PATH): created before the jail,
 * mode 0600, and removed by whoever outlives the VM process (the
 * supervisor, or main.c with --no-sandbox). Main thread, pre-jail only.
 */
#ifndef MICROVMM_VMM_API_API_SOCKET_H
#define MICROVMM_VMM_API_API_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define API_SOCKET_NAME_MAX 108 /* sizeof(sockaddr_un.sun_path) */

struct api_socket {
	int listen_fd; /* listening, CLOEXEC; -1 when not open */
	int dir_fd;    /* the directory holding it (O_PATH), for api_socket_remove; -1 */
	char name[API_SOCKET_NAME_MAX];
	dev_t dev; /* the socket file, so that removal never takes another file's name */
	ino_t ino;
};

/*
 * Binds and listens at `path`. A socket file left there by a microvmm
 * that was killed (nobody accepts on it) is replaced; a live socket or
 * any other file is an error. -errno with one line in `err`.
 */
int api_socket_open(struct api_socket *sock, const char *path, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * Removes the socket file if it is still the one api_socket_open made, and
 * closes dir_fd. Leaves listen_fd alone. Idempotent.
 */
void api_socket_remove(struct api_socket *sock);

#endif
