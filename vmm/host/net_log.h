/* --net-log FILE: the egress filter's decision lines, appended with UTC timestamps. */
#ifndef MICROVMM_VMM_HOST_NET_LOG_H
#define MICROVMM_VMM_HOST_NET_LOG_H

#include <stddef.h>
#include <time.h>

/* "YYYY-MM-DDTHH:MM:SS.mmmZ " + an egress line + "\n" */
#define NET_LOG_LINE_MAX 512

/*
 * Main thread, before the jail (which has no file system): opens FILE for
 * appending, 0600 when created, never through a symbolic link. Returns the
 * fd or -errno with one line in `err`. The caller owns the fd.
 */
int net_log_open(const char *path, char *err, size_t err_len) __attribute__((warn_unused_result));

/*
 * Formats one file line for `line` (no trailing newline) at time `now`
 * (CLOCK_REALTIME): an ISO 8601 UTC timestamp with milliseconds, a space,
 * the line, a newline; cut to NET_LOG_LINE_MAX with the newline kept.
 * Pure: no time zone files, no locale. Returns the length.
 */
size_t net_log_format(char *out, size_t len, const struct timespec *now, const char *line);

/*
 * Appends `line` stamped with the host's clock in one write(2), so lines
 * from one VM never interleave and O_APPEND keeps other writers' lines
 * whole. Any thread; no stdio (it runs on the device thread, jailed).
 */
void net_log_write(int fd, const char *line);

#endif
