/* --net-log FILE: the egress filter's decision lines, appended with UTC timestamps. */
#include "vmm/host/net_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int net_log_open(const char *path, char *err, size_t err_len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0)
		return fd;
	fd = -errno;
	snprintf(err, err_len, "cannot open --net-log '%s': %s%s", path, strerror(-fd),
		 fd == -ELOOP ? " (it is a symbolic link: give the file itself)" : "");
	return fd;
}

/*
 * Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms", civil_from_days). gmtime_r
 * is no use here: glibc reads /etc/localtime on its first call, which the
 * jailed device thread may not open.
 */
static void net_log_civil(int64_t days, int64_t *year, unsigned int *month, unsigned int *day)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned int doe = (unsigned int)(days - era * 146097);
	unsigned int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned int mp = (5 * doy + 2) / 153;

	*day = doy - (153 * mp + 2) / 5 + 1;
	*month = mp < 10 ? mp + 3 : mp - 9;
	*year = (int64_t)yoe + era * 400 + (*month <= 2);
}

size_t net_log_format(char *out, size_t len, const struct timespec *now, const char *line)
{
	int64_t secs = (int64_t)now->tv_sec;
	int64_t days = (secs >= 0 ? secs : secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	int64_t year;
	unsigned int month, day;
	int n;

	if (len < 2)
		return 0;
	net_log_civil(days, &year, &month, &day);
	n = snprintf(out, len, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ %s", year, month, day,
		     (unsigned int)(rem / 3600), (unsigned int)(rem / 60 % 60),
		     (unsigned int)(rem % 60), (unsigned int)(now->tv_nsec / 1000000), line);
	if (n < 0)
		n = 0;
	if ((size_t)n > len - 2)
		n = (int)(len - 2);
	out[n++] = '\n';
	out[n] = '\0';
	return (size_t)n;
}

void net_log_write(int fd, const char *line)
{
	char text[NET_LOG_LINE_MAX];
	struct timespec now;

	if (fd < 0 || clock_gettime(CLOCK_REALTIME, &now) < 0)
		return;
	size_t n = net_log_format(text, sizeof(text), &now, line);
	/* A full disk loses lines; the VM carries on (the egress decision stands). */
	ssize_t ignored = write(fd, text, n);
	(void)ignored;
}
