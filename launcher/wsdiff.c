/* files_changed: what was added, modified or deleted in the workspace, from lstat walks before and
 * after. */
#include "launcher/wsdiff.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void wsdiff_init(struct wsdiff_snapshot *s)
{
	memset(s, 0, sizeof(*s));
}

void wsdiff_skip(struct wsdiff_snapshot *s, const struct stat *dir)
{
	s->has_skip = true;
	s->skip_dev = dir->st_dev;
	s->skip_ino = dir->st_ino;
}

void wsdiff_free(struct wsdiff_snapshot *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->entries[i].path);
	free(s->entries);
	s->entries = NULL;
	s->count = s->cap = 0;
}

static int wsdiff_add(struct wsdiff_snapshot *s, const char *path, const struct stat *st)
{
	struct wsdiff_entry *e;

	if (s->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct wsdiff_entry *grown = realloc(s->entries, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->entries = grown;
		s->cap = cap;
	}
	e = &s->entries[s->count];
	e->path = strdup(path);
	if (!e->path)
		return -ENOMEM;
	e->mode = st->st_mode;
	e->size = (uint64_t)st->st_size;
	e->ino = st->st_ino;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = st->st_mtim.tv_nsec;
	e->ctime_sec = st->st_ctim.tv_sec;
	e->ctime_nsec = st->st_ctim.tv_nsec;
	s->count++;
	return 0;
}

static int wsdiff_walk(struct wsdiff_snapshot *s, int dir_fd, const char *prefix,
		       unsigned int depth);

/* One entry of a directory: record it, and enter it when it is a directory. */
static int wsdiff_entry_at(struct wsdiff_snapshot *s, int dir_fd, const char *prefix,
			   const char *name, unsigned int depth)
{
	char path[PATH_MAX];
	struct stat st;
	bool dir;
	int n, fd, ret;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0; /* gone meanwhile */
	dir = S_ISDIR(st.st_mode);
	if (dir && (!strcmp(name, ".git") ||
		    (s->has_skip && st.st_dev == s->skip_dev && st.st_ino == s->skip_ino)))
		return 0;
	n = snprintf(path, sizeof(path), "%s%s%s", prefix, name, dir ? "/" : "");
	if (n < 0 || (size_t)n >= sizeof(path)) {
		s->truncated = true;
		return 0;
	}
	ret = wsdiff_add(s, path, &st);
	if (ret || !dir)
		return ret;
	if (depth + 1 >= WSDIFF_MAX_DEPTH) {
		s->truncated = true;
		return 0;
	}
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ret = wsdiff_walk(s, fd, path, depth + 1);
	close(fd);
	return ret;
}

static int wsdiff_walk(struct wsdiff_snapshot *s, int dir_fd, const char *prefix,
		       unsigned int depth)
{
	unsigned long max = s->max_entries ? s->max_entries : WSDIFF_MAX_ENTRIES;
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	int ret = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (!ret && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (s->count >= max) {
			s->truncated = true;
			break;
		}
		ret = wsdiff_entry_at(s, dir_fd, prefix, e->d_name, depth);
	}
	closedir(d);
	return ret;
}

static int wsdiff_cmp(const void *a, const void *b)
{
	return strcmp(((const struct wsdiff_entry *)a)->path,
		      ((const struct wsdiff_entry *)b)->path);
}

int wsdiff_take(int root_fd, struct wsdiff_snapshot *s)
{
	int ret = wsdiff_walk(s, root_fd, "", 0);

	if (!ret && s->count)
		qsort(s->entries, s->count, sizeof(s->entries[0]), wsdiff_cmp);
	return ret;
}

static bool wsdiff_same(const struct wsdiff_entry *a, const struct wsdiff_entry *b)
{
	if (S_ISDIR(a->mode))
		return true; /* new or removed entries show up by themselves */
	return a->mode == b->mode && a->size == b->size && a->ino == b->ino &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec;
}

int wsdiff_compare(const struct wsdiff_snapshot *before, const struct wsdiff_snapshot *after,
		   wsdiff_fn fn, void *ctx)
{
	size_t i = 0, j = 0;
	int ret = 0;

	while (!ret && (i < before->count || j < after->count)) {
		int c = i == before->count ? 1
			: j == after->count
			    ? -1
			    : strcmp(before->entries[i].path, after->entries[j].path);

		if (c < 0) {
			ret = fn(ctx, WSDIFF_DELETED, before->entries[i++].path);
		} else if (c > 0) {
			ret = fn(ctx, WSDIFF_ADDED, after->entries[j++].path);
		} else {
			if (!wsdiff_same(&before->entries[i], &after->entries[j]))
				ret = fn(ctx, WSDIFF_MODIFIED, after->entries[j].path);
			i++;
			j++;
		}
	}
	return ret;
}
