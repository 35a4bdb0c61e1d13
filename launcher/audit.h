/* The audit trail's place on disk: run ids, times, and creating directories and files safely. */
#ifndef MICROVMM_LAUNCHER_AUDIT_H
#define MICROVMM_LAUNCHER_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/*
 * The audit directory may lie in a directory the guest can write (e.g.
 * --audit-dir .agent in the workspace), where a previous run's guest may
 * have planted symlinks. So nothing here follows a symlink inside a shared
 * directory: paths are walked one component at a time relative to
 * directory fds (O_NOFOLLOW), and files are created with O_EXCL|O_NOFOLLOW.
 * Symlinks outside the shared directories (the user's own, e.g. /home ->
 * /data/home) are followed. Plain functions, no state.
 */

#define AUDIT_RUN_ID_MAX 40
#define AUDIT_TIME_MAX	 32
#define AUDIT_MAX_LINKS	 40 /* symlinks followed in one walk, as the kernel's limit */

/* RUN = YYYYmmdd-HHMMSS-PID, in UTC. Returns 0 or -ERANGE. */
int audit_run_id(time_t when, pid_t pid, char *out, size_t len) __attribute__((warn_unused_result));

/* "2026-12-05T10:11:12Z" (millis: "2026-12-05T10:11:12.345Z"), UTC. */
void audit_format_time(const struct timespec *ts, bool millis, char *out, size_t len);

/*
 * Opens directory path (relative paths from the current directory),
 * creating missing components with mode 0700. shared[] are the real paths
 * of the directories the guest can write; a symlink at or below one of
 * them is refused (-ELOOP), as is any non-directory on the way (-ENOTDIR).
 * Returns 0 with *fd (O_PATH, close-on-exec), or -errno with one line in
 * err.
 */
int audit_open_dir(const char *path, const char *const *shared, unsigned int shared_count, int *fd,
		   char *err, size_t err_len) __attribute__((warn_unused_result));

/*
 * Makes and opens directory name in dir_fd (0700). An existing directory
 * is an error when exclusive (the run's own directory), else opened
 * without following symlinks; another file type in its place is removed
 * first. Returns 0 with *fd, or -errno.
 */
int audit_mkdir(int dir_fd, const char *name, bool exclusive, int *fd)
    __attribute__((warn_unused_result));

/*
 * Creates file name in dir_fd for writing (0600, O_EXCL|O_NOFOLLOW); a
 * file or symlink already there is unlinked first (never followed).
 * Returns 0 with *fd, or -errno.
 */
int audit_create_file(int dir_fd, const char *name, int *fd) __attribute__((warn_unused_result));

#endif
