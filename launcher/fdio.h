/* Whole reads and writes on file descriptors, retried on EINTR and short transfers. */
#ifndef MICROVMM_LAUNCHER_FDIO_H
#define MICROVMM_LAUNCHER_FDIO_H

#include <stdbool.h>
#include <stddef.h>

/* Writes all len bytes. Returns 0 or -errno. */
int fdio_write_all(int fd, const void *data, size_t len) __attribute__((warn_unused_result));

/*
 * Reads a regular file of at most max bytes into a NUL-terminated
 * malloc'ed buffer; without follow, a symlink at the last component is
 * refused (-ELOOP). Returns 0, -EFBIG when larger, -EINVAL when not a
 * regular file, -errno.
 */
int fdio_read_file(int dir_fd, const char *path, bool follow, size_t max, char **out, size_t *len)
    __attribute__((warn_unused_result));

#endif
