/* Copying and removing directory trees the guest wrote: no symlink followed, everything bounded. */
#ifndef MICROVMM_LAUNCHER_FSTREE_H
#define MICROVMM_LAUNCHER_FSTREE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Trees here may hold anything a guest made: symlinks (skipped, never
 * followed), fifos and devices (skipped), unreadable or absurdly deep
 * directories. Every walk is relative to directory fds opened with
 * O_NOFOLLOW and stops at the limits. Call these only while no guest runs.
 */

struct fstree_limits {
	unsigned int max_depth;
	unsigned long max_files;
	uint64_t max_bytes;	 /* all files together */
	uint64_t max_file_bytes; /* one file; the rest of a longer one is left out */
};

struct fstree_stats {
	unsigned long files;
	uint64_t bytes;
	bool truncated; /* a limit was hit, or something could not be read */
};

/*
 * Copies one open regular file (in_fd) into out_fd, at most limit bytes
 * of it. Returns the bytes read from in_fd, or -errno.
 */
typedef int64_t (*fstree_copy_fn)(void *ctx, int in_fd, int out_fd, uint64_t limit);

/*
 * Copies the directories and regular files under src_fd into dst_fd
 * (directories 0700, files 0600, each file through copy). Returns 0 (see
 * st->truncated for what was left out) or -errno for a failure on the
 * destination side.
 */
int fstree_copy(int src_fd, int dst_fd, const struct fstree_limits *lim, fstree_copy_fn copy,
		void *ctx, struct fstree_stats *st) __attribute__((warn_unused_result));

/*
 * Removes name in dir_fd and, for a directory, everything below it (at most
 * FSTREE_REMOVE_DEPTH levels), never following a symlink. Returns 0 or the
 * first -errno (it carries on past failures).
 */
#define FSTREE_REMOVE_DEPTH 256
int fstree_remove(int dir_fd, const char *name);

#endif
