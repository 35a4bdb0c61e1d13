/* files_changed: what was added, modified or deleted in the workspace, from lstat walks before and
 * after. */
#ifndef MICROVMM_LAUNCHER_WSDIFF_H
#define MICROVMM_LAUNCHER_WSDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/*
 * A snapshot records, for every entry under the workspace, its relative
 * path (directories with a trailing '/'), type and permission bits, size,
 * inode, mtime and ctime (the guest can set mtime back, but any write or
 * utimensat moves ctime). Symlinks are recorded, never followed. Left out:
 * the contents of ".git" directories (git's own history says what
 * changed there) and one directory given to skip (the audit directory
 * when it is inside the workspace). Bounded: WSDIFF_MAX_ENTRIES entries,
 * WSDIFF_MAX_DEPTH levels; beyond that the snapshot is marked truncated.
 * One owner; call only while nothing else changes the tree if exact
 * results matter.
 */

#define WSDIFF_MAX_ENTRIES 200000
#define WSDIFF_MAX_DEPTH   64

struct wsdiff_entry {
	char *path;
	uint32_t mode;
	uint64_t size, ino;
	int64_t mtime_sec, ctime_sec;
	long mtime_nsec, ctime_nsec;
};

struct wsdiff_snapshot {
	struct wsdiff_entry *entries; /* sorted by path (strcmp) */
	size_t count, cap;
	bool truncated;
	bool has_skip;
	dev_t skip_dev;
	ino_t skip_ino;
	unsigned long max_entries; /* 0: WSDIFF_MAX_ENTRIES */
};

enum wsdiff_change { WSDIFF_ADDED, WSDIFF_MODIFIED, WSDIFF_DELETED };

/*
 * Records the tree under root_fd into s, which the caller initialised with
 * wsdiff_init() (and optionally wsdiff_skip()). Unreadable directories are
 * recorded but not entered. Returns 0 or -ENOMEM.
 */
void wsdiff_init(struct wsdiff_snapshot *s);
void wsdiff_skip(struct wsdiff_snapshot *s, const struct stat *dir);
int wsdiff_take(int root_fd, struct wsdiff_snapshot *s) __attribute__((warn_unused_result));
/* Frees the entries; idempotent. */
void wsdiff_free(struct wsdiff_snapshot *s);

/*
 * Calls fn for every difference, in path order. A directory that only
 * changed (its entries changed) is not reported; a type change is a
 * deletion and an addition. Returns 0 or fn's first nonzero return.
 */
typedef int (*wsdiff_fn)(void *ctx, enum wsdiff_change change, const char *path);
int wsdiff_compare(const struct wsdiff_snapshot *before, const struct wsdiff_snapshot *after,
		   wsdiff_fn fn, void *ctx) __attribute__((warn_unused_result));

#endif
