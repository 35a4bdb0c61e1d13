/* The audit trail's place on disk: run ids, times, and creating directories and files safely. */
#include "launcher/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int audit_run_id(time_t when, pid_t pid, char *out, size_t len)
{
	struct tm tm;
	char stamp[24];
	int n;

	if (!gmtime_r(&when, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm))
		return -ERANGE;
	n = snprintf(out, len, "%s-%ld", stamp, (long)pid);
	return n < 0 || (size_t)n >= len ? -ERANGE : 0;
}

void audit_format_time(const struct timespec *ts, bool millis, char *out, size_t len)
{
	struct tm tm;
	char stamp[24] = "1970-01-01T00:00:00";

	if (gmtime_r(&ts->tv_sec, &tm))
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (millis)
		snprintf(out, len, "%s.%03ldZ", stamp, ts->tv_nsec / 1000000);
	else
		snprintf(out, len, "%sZ", stamp);
}

/* The state of one walk: where we are (fd and physical path) and what is left. */
struct audit_walk {
	int fd;
	char phys[PATH_MAX];
	char rest[PATH_MAX];
	unsigned int links;
	const char *const *shared;
	unsigned int shared_count;
};

static bool audit_in_shared(const struct audit_walk *w)
{
	for (unsigned int i = 0; i < w->shared_count; i++) {
		size_t len = strlen(w->shared[i]);

		if (!strncmp(w->phys, w->shared[i], len) &&
		    (w->phys[len] == '\0' || w->phys[len] == '/' || len == 1))
			return true;
	}
	return false;
}

static int audit_move(struct audit_walk *w, int fd, const char *comp)
{
	size_t len = strlen(w->phys);

	if (fd < 0)
		return -errno;
	close(w->fd);
	w->fd = fd;
	if (!strcmp(comp, "/")) {
		strcpy(w->phys, "/");
	} else if (!strcmp(comp, "..")) {
		char *slash = strrchr(w->phys, '/');

		slash[slash == w->phys ? 1 : 0] = '\0';
	} else if (len + strlen(comp) + 2 > sizeof(w->phys)) {
		return -ENAMETOOLONG;
	} else {
		snprintf(w->phys + len, sizeof(w->phys) - len, "%s%s", len > 1 ? "/" : "", comp);
	}
	return 0;
}

/* A symlink at comp: refused inside a shared directory, else its target goes before the rest. */
static int audit_link(struct audit_walk *w, const char *comp)
{
	char target[PATH_MAX], joined[PATH_MAX];
	ssize_t n;
	int len;

	if (audit_in_shared(w))
		return -ELOOP;
	if (++w->links > AUDIT_MAX_LINKS)
		return -ELOOP;
	n = readlinkat(w->fd, comp, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	len = snprintf(joined, sizeof(joined), "%s/%s", target, w->rest);
	if (len < 0 || (size_t)len >= sizeof(joined))
		return -ENAMETOOLONG;
	strcpy(w->rest, joined);
	if (target[0] == '/')
		return audit_move(w, open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), "/");
	return 0;
}

/* One component: enter it, creating it when missing. */
static int audit_step(struct audit_walk *w, const char *comp)
{
	struct stat st;

	if (!strcmp(comp, ".."))
		return audit_move(w, openat(w->fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC), "..");
	if (fstatat(w->fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return -errno;
		if (mkdirat(w->fd, comp, 0700) < 0 && errno != EEXIST)
			return -errno;
		if (fstatat(w->fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (S_ISLNK(st.st_mode))
		return audit_link(w, comp);
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return audit_move(w, openat(w->fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
			  comp);
}

static int audit_walk_path(struct audit_walk *w, char *comp, size_t comp_len)
{
	int ret = 0;

	while (!ret && w->rest[0]) {
		size_t n = strcspn(w->rest, "/");

		if (n >= comp_len)
			return -ENAMETOOLONG;
		memcpy(comp, w->rest, n);
		comp[n] = '\0';
		memmove(w->rest, w->rest + n + (w->rest[n] == '/'), strlen(w->rest + n) + 1);
		if (n && strcmp(comp, "."))
			ret = audit_step(w, comp);
	}
	return ret;
}

int audit_open_dir(const char *path, const char *const *shared, unsigned int shared_count, int *fd,
		   char *err, size_t err_len)
{
	struct audit_walk w = {.fd = -1, .shared = shared, .shared_count = shared_count};
	char comp[NAME_MAX + 1], cwd[PATH_MAX];
	int len, ret;

	if (path[0] != '/' && !getcwd(cwd, sizeof(cwd))) {
		ret = -errno;
		goto fail;
	}
	len = snprintf(w.rest, sizeof(w.rest), "%s/%s", path[0] == '/' ? "" : cwd, path);
	if (len < 0 || (size_t)len >= sizeof(w.rest)) {
		ret = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(w.phys, "/");
	w.fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ret = w.fd < 0 ? -errno : audit_walk_path(&w, comp, sizeof(comp));
	if (ret)
		goto fail;
	*fd = w.fd;
	return 0;
fail:
	if (ret == -ELOOP)
		snprintf(err, err_len,
			 "audit directory '%s': a symlink on the way is in a directory the guest "
			 "can write (%s), so it is not followed: remove it or use another "
			 "--audit-dir",
			 path, w.phys);
	else
		snprintf(err, err_len, "cannot make the audit directory '%s': %s", path,
			 strerror(-ret));
	if (w.fd >= 0)
		close(w.fd);
	return ret;
}

int audit_mkdir(int dir_fd, const char *name, bool exclusive, int *fd)
{
	struct stat st;

	if (mkdirat(dir_fd, name, 0700) < 0) {
		if (errno != EEXIST || exclusive)
			return -errno;
		if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode) &&
		    (unlinkat(dir_fd, name, 0) < 0 || mkdirat(dir_fd, name, 0700) < 0))
			return -errno;
	}
	*fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

int audit_create_file(int dir_fd, const char *name, int *fd)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

	*fd = openat(dir_fd, name, flags, 0600);
	if (*fd < 0 && errno == EEXIST && unlinkat(dir_fd, name, 0) == 0)
		*fd = openat(dir_fd, name, flags, 0600);
	return *fd < 0 ? -errno : 0;
}
