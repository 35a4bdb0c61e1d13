/* Unit tests for --net-log's file lines (vmm/host/net_log.c). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/host/net_log.h"

#define ERR_LEN 256

static const char *stamp(time_t secs, long nsec, const char *line)
{
	static char out[NET_LOG_LINE_MAX];
	struct timespec ts = {.tv_sec = secs, .tv_nsec = nsec};
	size_t n = net_log_format(out, sizeof(out), &ts, line);

	assert_int_equal(n, strlen(out));
	return out;
}

static void test_net_log_format_is_iso8601_utc_with_milliseconds(void **state)
{
	(void)state;

	assert_string_equal(stamp(0, 0, "egress: dropped udp 8.8.8.8:53"),
			    "1970-01-01T00:00:00.000Z egress: dropped udp 8.8.8.8:53\n");
	assert_string_equal(stamp(1709210096, 123999999, "x"), "2024-02-29T12:34:56.123Z x\n");
}

static void test_net_log_format_handles_calendar_edges(void **state)
{
	(void)state;

	/* Leap day of a year divisible by 400, a century's last second, before the epoch. */
	assert_string_equal(stamp(951782400, 0, "x"), "2000-02-29T00:00:00.000Z x\n");
	assert_string_equal(stamp(4102444799, 999999999, "x"), "2099-12-31T23:59:59.999Z x\n");
	assert_string_equal(stamp(4102444800, 0, "x"), "2100-01-01T00:00:00.000Z x\n");
	assert_string_equal(stamp(-1, 0, "x"), "1969-12-31T23:59:59.000Z x\n");
}

static void test_net_log_format_cuts_long_lines_but_keeps_the_newline(void **state)
{
	char line[2 * NET_LOG_LINE_MAX];

	(void)state;
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';

	const char *out = stamp(0, 0, line);

	assert_int_equal(strlen(out), NET_LOG_LINE_MAX - 1);
	assert_int_equal(out[NET_LOG_LINE_MAX - 2], '\n');
}

static void test_net_log_appends_one_line_per_call(void **state)
{
	char dir[] = "/tmp/microvmm-test-netlog-XXXXXX", path[64], err[ERR_LEN] = "", buf[512];
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/net.log", dir);
	int fd = net_log_open(path, err, sizeof(err));

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	net_log_write(fd, "egress: allowed tcp 1.2.3.4:443 (rule example.com:443)");
	net_log_write(fd, "egress: dropped tcp 5.6.7.8:80");
	close(fd);
	/* Appended, not truncated, on the next run. */
	fd = net_log_open(path, err, sizeof(err));
	net_log_write(fd, "egress: dropped udp 9.9.9.9:53");
	close(fd);

	FILE *f = fopen(path, "r");
	int lines = 0;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		/* "YYYY-MM-DDTHH:MM:SS.mmmZ egress: ..." */
		assert_int_equal(buf[4], '-');
		assert_int_equal(buf[10], 'T');
		assert_int_equal(buf[23], 'Z');
		assert_memory_equal(buf + 24, " egress: ", 9);
		lines++;
	}
	fclose(f);
	assert_int_equal(lines, 3);
	unlink(path);
	rmdir(dir);
}

static void test_net_log_open_refuses_a_symlink(void **state)
{
	char dir[] = "/tmp/microvmm-test-netlog-XXXXXX", path[64], target[64], err[ERR_LEN] = "";

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/net.log", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	assert_int_equal(symlink(target, path), 0);

	assert_int_equal(net_log_open(path, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "--net-log"));
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(access(target, F_OK), -1);
	unlink(path);
	rmdir(dir);
}

static void test_net_log_open_names_a_missing_directory(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(net_log_open("/nonexistent/dir/net.log", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dir/net.log"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_net_log_format_is_iso8601_utc_with_milliseconds),
	    cmocka_unit_test(test_net_log_format_handles_calendar_edges),
	    cmocka_unit_test(test_net_log_format_cuts_long_lines_but_keeps_the_newline),
	    cmocka_unit_test(test_net_log_appends_one_line_per_call),
	    cmocka_unit_test(test_net_log_open_refuses_a_symlink),
	    cmocka_unit_test(test_net_log_open_names_a_missing_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
