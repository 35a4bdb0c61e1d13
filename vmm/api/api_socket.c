/* The API socket's file: bound 0600 before the jail, a dead one replaced, removed only if ours. */
#include "vmm/api/api_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define API_SOCKET_BACKLOG 16

static int api_socket_fail(int ret, char *err, size_t err_len, const char *path, const char *why)
{
	snprintf(err, err_len, "--api-socket %s: %s", path, why);
	return ret;
}

/*
 * Whether a process accepts on the socket file at `addr`: 0 when one does,
 * -ECONNREFUSED when it is a dead one's. Non-blocking, so a live one with
 * a full backlog (EAGAIN) counts as live without a wait; any other error
 * (EACCES) cannot tell.
 */
static int api_socket_probe(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int ret;

	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 ? 0 : -errno;
	close(fd);
	return ret == -EAGAIN ? 0 : ret;
}

/* What is at the name already: nothing, or a socket left by a microvmm that died. */
static int api_socket_clear(struct api_socket *sock, const struct sockaddr_un *addr,
			    const char *path, char *err, size_t err_len)
{
	struct stat st;
	int probe;

	if (fstatat(sock->dir_fd, sock->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT
			   ? 0
			   : api_socket_fail(-errno, err, err_len, path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return api_socket_fail(-EEXIST, err, err_len, path,
				       "a file that is not a socket is in the way: remove it or "
				       "give another path");
	probe = api_socket_probe(addr);
	if (probe == 0)
		return api_socket_fail(-EADDRINUSE, err, err_len, path,
				       "another process serves this socket: give another path");
	if (probe != -ECONNREFUSED) {
		snprintf(err, err_len,
			 "--api-socket %s: cannot tell whether another process serves it (%s): "
			 "remove it or give another path",
			 path, strerror(-probe));
		return probe;
	}
	if (unlinkat(sock->dir_fd, sock->name, 0) < 0 && errno != ENOENT)
		return api_socket_fail(-errno, err, err_len, path, strerror(errno));
	return 0;
}

/* The directory (opened O_PATH, for removal later) and the file name in it. */
static int api_socket_split(struct api_socket *sock, const char *path, char *err, size_t err_len)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	const char *base = slash ? slash + 1 : path;

	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return api_socket_fail(-EINVAL, err, err_len, path,
				       "give a file name, e.g. --api-socket /run/vm1.sock");
	snprintf(sock->name, sizeof(sock->name), "%s", base);
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	sock->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sock->dir_fd < 0)
		return api_socket_fail(-errno, err, err_len, path,
				       "its directory does not exist: create it first");
	return 0;
}

int api_socket_open(struct api_socket *sock, const char *path, char *err, size_t err_len)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old_mask;
	int ret;

	*sock = (struct api_socket){.listen_fd = -1, .dir_fd = -1};
	if (strlen(path) >= sizeof(addr.sun_path))
		return api_socket_fail(-ENAMETOOLONG, err, err_len, path,
				       "longer than 107 bytes (the limit of a Unix socket's "
				       "address): give a shorter path");
	memcpy(addr.sun_path, path, strlen(path));
	ret = api_socket_split(sock, path, err, err_len);
	if (!ret)
		ret = api_socket_clear(sock, &addr, path, err, err_len);
	if (ret)
		goto fail;
	sock->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock->listen_fd < 0) {
		ret = api_socket_fail(-errno, err, err_len, path, strerror(errno));
		goto fail;
	}
	/* 0600 from the start: no moment when another user could connect (unix(7)). */
	old_mask = umask(0177);
	ret = bind(sock->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(old_mask);
	if (ret) {
		api_socket_fail(ret, err, err_len, path, strerror(-ret));
		goto fail;
	}
	if (listen(sock->listen_fd, API_SOCKET_BACKLOG) < 0 ||
	    fstatat(sock->dir_fd, sock->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = api_socket_fail(-errno, err, err_len, path, strerror(errno));
		unlinkat(sock->dir_fd, sock->name, 0);
		goto fail;
	}
	sock->dev = st.st_dev;
	sock->ino = st.st_ino;
	return 0;
fail:
	if (sock->listen_fd >= 0)
		close(sock->listen_fd);
	if (sock->dir_fd >= 0)
		close(sock->dir_fd);
	sock->listen_fd = sock->dir_fd = -1;
	return ret;
}

void api_socket_remove(struct api_socket *sock)
{
	struct stat st;

	if (sock->dir_fd < 0)
		return;
	if (fstatat(sock->dir_fd, sock->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == sock->dev && st.st_ino == sock->ino)
		unlinkat(sock->dir_fd, sock->name, 0);
	close(sock->dir_fd);
	sock->dir_fd = -1;
}
