/* Copying and removing directory trees the guest wrote: no symlink followed, everything bounded. */
#include "launcher/fstree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/audit.h"

/* An fd to read a directory's entries from; the caller's fd stays open. */
static DIR *fstree_opendir(int dir_fd)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d && fd >= 0)
		close(fd);
	return d;
}

static bool fstree_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

static int fstree_copy_file(int src_fd, int dst_fd, const char *name,
			    const struct fstree_limits *lim, fstree_copy_fn copy, void *ctx,
			    struct fstree_stats *st)
{
	struct stat in_st;
	uint64_t left = lim->max_bytes - st->bytes;
	uint64_t limit = left < lim->max_file_bytes ? left : lim->max_file_bytes;
	int64_t n;
	int in, out, ret;

	in = openat(src_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0 || fstat(in, &in_st) < 0 || !S_ISREG(in_st.st_mode)) {
		st->truncated = true;
		if (in >= 0)
			close(in);
		return 0;
	}
	ret = audit_create_file(dst_fd, name, &out);
	if (ret) {
		close(in);
		return ret;
	}
	n = copy(ctx, in, out, limit);
	close(in);
	if (close(out) < 0 && n >= 0)
		n = -errno;
	if (n < 0)
		return (int)n;
	st->files++;
	st->bytes += (uint64_t)n > limit ? limit : (uint64_t)n;
	if ((uint64_t)in_st.st_size > limit || (uint64_t)n > limit)
		st->truncated = true;
	return 0;
}

static int fstree_copy_level(int src_fd, int dst_fd, unsigned int depth,
			     const struct fstree_limits *lim, fstree_copy_fn copy, void *ctx,
			     struct fstree_stats *st);

static int fstree_copy_dir(int src_fd, int dst_fd, const char *name, unsigned int depth,
			   const struct fstree_limits *lim, fstree_copy_fn copy, void *ctx,
			   struct fstree_stats *st)
{
	int in, out, ret;

	if (depth + 1 > lim->max_depth) {
		st->truncated = true;
		return 0;
	}
	in = openat(src_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0) {
		st->truncated = true;
		return 0;
	}
	ret = audit_mkdir(dst_fd, name, false, &out);
	if (!ret) {
		ret = fstree_copy_level(in, out, depth + 1, lim, copy, ctx, st);
		close(out);
	}
	close(in);
	return ret;
}

static int fstree_copy_level(int src_fd, int dst_fd, unsigned int depth,
			     const struct fstree_limits *lim, fstree_copy_fn copy, void *ctx,
			     struct fstree_stats *st)
{
	DIR *d = fstree_opendir(src_fd);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		st->truncated = true;
		return 0;
	}
	while (!ret && (e = readdir(d)) != NULL) {
		struct stat est;

		if (fstree_dot(e->d_name))
			continue;
		if (st->files >= lim->max_files || st->bytes >= lim->max_bytes) {
			st->truncated = true;
			break;
		}
		if (fstatat(src_fd, e->d_name, &est, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(est.st_mode))
			ret = fstree_copy_dir(src_fd, dst_fd, e->d_name, depth, lim, copy, ctx, st);
		else if (S_ISREG(est.st_mode))
			ret = fstree_copy_file(src_fd, dst_fd, e->d_name, lim, copy, ctx, st);
	}
	closedir(d);
	return ret;
}

int fstree_copy(int src_fd, int dst_fd, const struct fstree_limits *lim, fstree_copy_fn copy,
		void *ctx, struct fstree_stats *st)
{
	return fstree_copy_level(src_fd, dst_fd, 0, lim, copy, ctx, st);
}

static int fstree_remove_level(int dir_fd, const char *name, unsigned int depth)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd, ret = 0;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dir_fd, name, 0) < 0 ? -errno : 0;
	if (depth >= FSTREE_REMOVE_DEPTH)
		return -ELOOP;
	/* The guest may have left a directory we cannot write or read: it is ours to open up. */
	if ((st.st_mode & 0700) != 0700 && fchmodat(dir_fd, name, 0700, 0) < 0)
		ret = -errno; /* the walk below tells whether it mattered */
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
	}
	ret = 0;
	while ((e = readdir(d)) != NULL) {
		int r;

		if (fstree_dot(e->d_name))
			continue;
		r = fstree_remove_level(fd, e->d_name, depth + 1);
		if (r && !ret)
			ret = r;
	}
	closedir(d);
	if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && !ret)
		ret = -errno;
	return ret;
}

int fstree_remove(int dir_fd, const char *name)
{
	return fstree_remove_level(dir_fd, name, 0);
}
