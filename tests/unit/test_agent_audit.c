/* Unit tests for the audit trail's paths: run ids, and never following planted symlinks
 * (launcher/audit.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "launcher/audit.h"
#include "launcher/fstree.h"

#define ERR_LEN 512

static char root[PATH_MAX];
static char ws[PATH_MAX]; /* the "workspace": a directory the guest can write */

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_agent_audit.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	return snprintf(ws, sizeof(ws), "%s/ws", root) < (int)sizeof(ws) ? 0 : -1;
}

static int teardown(void **state)
{
	char *slash = strrchr(root, '/');
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);

	(void)state;
	assert_int_equal(fstree_remove(dir, slash + 1), 0);
	close(dir);
	return 0;
}

static const char *at(const char *rel)
{
	static char path[4][PATH_MAX];
	static unsigned int next;
	char *p = path[next++ % 4];

	assert_true(snprintf(p, PATH_MAX, "%s/%s", root, rel) < PATH_MAX);
	return p;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void test_audit_run_id_format(void **state)
{
	char id[AUDIT_RUN_ID_MAX];

	(void)state;
	assert_int_equal(audit_run_id(1000000000, 4242, id, sizeof(id)), 0);
	assert_string_equal(id, "20010909-014640-4242");
	assert_int_equal(audit_run_id(0, 1, id, sizeof(id)), 0);
	assert_string_equal(id, "19700101-000000-1");
	assert_int_equal(audit_run_id(0, 123456, id, 10), -ERANGE);
}

static void test_audit_time_format(void **state)
{
	struct timespec ts = {.tv_sec = 1000000000, .tv_nsec = 123456789};
	char out[AUDIT_TIME_MAX];

	(void)state;
	audit_format_time(&ts, true, out, sizeof(out));
	assert_string_equal(out, "2001-09-09T01:46:40.123Z");
	audit_format_time(&ts, false, out, sizeof(out));
	assert_string_equal(out, "2001-09-09T01:46:40Z");
}

static void test_audit_open_dir_creates_missing_components(void **state)
{
	char err[ERR_LEN];
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(audit_open_dir(at("ws/.agent/runs"), NULL, 0, &fd, err, ERR_LEN), 0);
	close(fd);
	assert_int_equal(stat(at("ws/.agent/runs"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_audit_open_dir_refuses_symlink_planted_in_shared_dir(void **state)
{
	const char *shared[] = {ws};
	char err[ERR_LEN] = "";
	int fd = -1;

	(void)state;
	assert_int_equal(mkdir(at("ws"), 0700), 0);
	assert_int_equal(mkdir(at("victim"), 0700), 0);
	/* What a guest could leave in the workspace: .agent -> somewhere else on the host. */
	assert_int_equal(symlink(at("victim"), at("ws/.agent")), 0);
	assert_int_equal(audit_open_dir(at("ws/.agent/runs"), shared, 1, &fd, err, ERR_LEN),
			 -ELOOP);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, "not followed"));
	assert_false(exists(at("victim/runs")));
}

static void test_audit_open_dir_follows_users_own_symlink_outside_shared(void **state)
{
	const char *shared[] = {ws};
	char err[ERR_LEN];
	int fd;

	(void)state;
	assert_int_equal(mkdir(at("ws"), 0700), 0);
	assert_int_equal(mkdir(at("real"), 0700), 0);
	assert_int_equal(symlink("real", at("state")), 0);
	assert_int_equal(audit_open_dir(at("state/runs"), shared, 1, &fd, err, ERR_LEN), 0);
	close(fd);
	assert_true(exists(at("real/runs")));
}

static void test_audit_open_dir_refuses_link_reached_through_outside_link(void **state)
{
	const char *shared[] = {ws};
	char err[ERR_LEN];
	int fd = -1;

	(void)state;
	assert_int_equal(mkdir(at("ws"), 0700), 0);
	assert_int_equal(mkdir(at("victim"), 0700), 0);
	assert_int_equal(symlink("ws", at("alias")), 0);
	assert_int_equal(symlink(at("victim"), at("ws/.agent")), 0);
	assert_int_equal(audit_open_dir(at("alias/.agent"), shared, 1, &fd, err, ERR_LEN), -ELOOP);
}

static void test_audit_create_file_replaces_planted_symlink(void **state)
{
	char buf[16] = "";
	int dir, fd, victim;

	(void)state;
	victim = open(at("victim.txt"), O_WRONLY | O_CREAT, 0600);
	assert_true(write(victim, "keep", 4) == 4);
	close(victim);
	assert_int_equal(symlink(at("victim.txt"), at("summary.json")), 0);
	dir = open(root, O_RDONLY | O_DIRECTORY);
	assert_int_equal(audit_create_file(dir, "summary.json", &fd), 0);
	assert_true(write(fd, "{}", 2) == 2);
	close(fd);
	victim = open(at("victim.txt"), O_RDONLY);
	assert_true(read(victim, buf, sizeof(buf)) == 4);
	close(victim);
	assert_string_equal(buf, "keep");
	close(dir);
}

static void test_audit_mkdir_exclusive_and_planted_link(void **state)
{
	int dir, fd, file;

	(void)state;
	dir = open(root, O_RDONLY | O_DIRECTORY);
	assert_int_equal(audit_mkdir(dir, "run", true, &fd), 0);
	close(fd);
	assert_int_equal(audit_mkdir(dir, "run", true, &fd), -EEXIST);
	assert_int_equal(mkdir(at("victim"), 0700), 0);
	assert_int_equal(symlink(at("victim"), at("transcript")), 0);
	assert_int_equal(audit_mkdir(dir, "transcript", false, &fd), 0);
	file = openat(fd, "x", O_WRONLY | O_CREAT, 0600);
	assert_true(file >= 0);
	close(file);
	close(fd);
	assert_false(exists(at("victim/x")));
	assert_true(exists(at("transcript/x")));
	close(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_audit_run_id_format),
	    cmocka_unit_test(test_audit_time_format),
	    cmocka_unit_test_setup_teardown(test_audit_open_dir_creates_missing_components, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_audit_open_dir_refuses_symlink_planted_in_shared_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_audit_open_dir_follows_users_own_symlink_outside_shared, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_audit_open_dir_refuses_link_reached_through_outside_link, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_create_file_replaces_planted_symlink, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_audit_mkdir_exclusive_and_planted_link, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
