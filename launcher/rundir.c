/* The run's private directory on the host: the guest's setup (read-only share) and output share. */
#include "launcher/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/fdio.h"
#include "launcher/fstree.h"

void rundir_init(struct rundir *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = r->setup_fd = r->out_fd = -1;
}

static const char *rundir_base(void)
{
	const char *candidates[] = {getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR")};
	struct stat st;

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (candidates[i] && candidates[i][0] == '/' && stat(candidates[i], &st) == 0 &&
		    S_ISDIR(st.st_mode) && access(candidates[i], W_OK | X_OK) == 0)
			return candidates[i];
	return "/tmp";
}

static int rundir_sub(struct rundir *r, const char *name, char *path, size_t len, int *fd)
{
	int n = snprintf(path, len, "%s/%s", r->path, name);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (mkdirat(r->fd, name, 0700) < 0)
		return -errno;
	*fd = openat(r->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int rundir_create(struct rundir *r, char *err, size_t err_len)
{
	const char *base = rundir_base();
	int n = snprintf(r->path, sizeof(r->path), "%s/microvmm-agent.XXXXXX", base);
	int ret;

	if (n < 0 || (size_t)n >= sizeof(r->path)) {
		ret = -ENAMETOOLONG;
		goto fail;
	}
	if (!mkdtemp(r->path)) {
		ret = -errno;
		r->path[0] = '\0';
		goto fail;
	}
	r->fd = open(r->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	ret = r->fd < 0 ? -errno : 0;
	if (!ret)
		ret = rundir_sub(r, "setup", r->setup, sizeof(r->setup), &r->setup_fd);
	if (!ret)
		ret = rundir_sub(r, "out", r->out, sizeof(r->out), &r->out_fd);
	if (!ret && mkdirat(r->setup_fd, "secrets", 0700) < 0)
		ret = -errno;
	if (!ret)
		return 0;
	rundir_remove(r);
fail:
	snprintf(err, err_len, "cannot make a private directory in %s: %s", base, strerror(-ret));
	return ret;
}

int rundir_write(struct rundir *r, const char *name, const void *data, size_t len, mode_t mode)
{
	int fd =
	    openat(r->setup_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	int ret;

	if (fd < 0)
		return -errno;
	ret = fdio_write_all(fd, data, len);
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

int rundir_net_fifo(struct rundir *r, int *fd)
{
	int n = snprintf(r->net_fifo, sizeof(r->net_fifo), "%s/net.fifo", r->path);

	if (n < 0 || (size_t)n >= sizeof(r->net_fifo))
		return -ENAMETOOLONG;
	if (mkfifoat(r->fd, "net.fifo", 0600) < 0)
		return -errno;
	*fd = openat(r->fd, "net.fifo", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int rundir_remove(struct rundir *r)
{
	int *fds[] = {&r->setup_fd, &r->out_fd, &r->fd};
	char *slash = strrchr(r->path, '/');
	int parent, ret;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	if (!r->path[0] || !slash)
		return 0;
	*slash = '\0';
	parent = open(slash == r->path ? "/" : r->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	ret = parent < 0 ? -errno : fstree_remove(parent, slash + 1);
	if (parent >= 0)
		close(parent);
	if (!ret)
		r->path[0] = '\0';
	return ret;
}
