/* Unit tests for the shares, root file system, scratch disk and host loopback options of the
 * command-line parser (vmm/config/config.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_test.h"

/* ---- --share, --share-socket, --share-cache ---- */

static struct config share_cfg; /* large: keep it off the stack */

static void test_config_share_splits_host_and_guest(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--share", "./proj:/workspace",
			       "--share", "/a:b/c:/data/:ro"),
			 0);
	assert_int_equal(share_cfg.share_count, 2);
	assert_string_equal(share_cfg.shares[0].host, "./proj");
	assert_string_equal(share_cfg.shares[0].guest, "/workspace");
	assert_string_equal(share_cfg.shares[0].tag, "microvmm0");
	assert_false(share_cfg.shares[0].read_only);
	assert_false(share_cfg.shares[0].external);
	/* A ':' inside the host path stays there; the trailing slash goes. */
	assert_string_equal(share_cfg.shares[1].host, "/a:b/c");
	assert_string_equal(share_cfg.shares[1].guest, "/data");
	assert_string_equal(share_cfg.shares[1].tag, "microvmm1");
	assert_true(share_cfg.shares[1].read_only);
	assert_int_equal(share_cfg.share_cache, CONFIG_SHARE_CACHE_AUTO);
	assert_false(share_cfg.share_xattr);
}

static void test_config_share_rejects_bad_guest_paths(void **state)
{
	static char *const bad[] = {
	    "dir:relative", "dir:/",	   "dir:/a/../b", "dir:/a//b",	 "dir:/./a",
	    "dir:",	    ":/workspace", "no-colon",	  "dir:/x:ro:ro"};
	char err[ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--share", bad[i]),
				 -EINVAL);
		assert_non_null(strstr(err, "--share"));
	}
}

static void test_config_share_rejects_duplicate_guest_path(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(
	    PARSE(&share_cfg, err, "--kernel", "k", "--share", "a:/w", "--share", "b:/w/"),
	    -EINVAL);
	assert_non_null(strstr(err, "two shares are mounted at /w"));
}

static void test_config_share_limits_count(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--share", "a:/1", "--share",
			       "a:/2", "--share", "a:/3", "--share", "a:/4", "--share", "a:/5",
			       "--share", "a:/6", "--share", "a:/7", "--share", "a:/8", "--share",
			       "a:/9"),
			 -EINVAL);
	assert_non_null(strstr(err, "more than 8 shares"));
}

static void test_config_share_socket_takes_tag_path_guest(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--share-socket",
			       "data:/run/fs:x.sock:/data", "--share-cache", "never",
			       "--share-xattr", "--virtiofsd", "/opt/virtiofsd"),
			 0);
	assert_int_equal(share_cfg.share_count, 1);
	assert_true(share_cfg.shares[0].external);
	assert_string_equal(share_cfg.shares[0].tag, "data");
	assert_string_equal(share_cfg.shares[0].host, "/run/fs:x.sock");
	assert_string_equal(share_cfg.shares[0].guest, "/data");
	assert_int_equal(share_cfg.share_cache, CONFIG_SHARE_CACHE_NEVER);
	assert_true(share_cfg.share_xattr);
	assert_string_equal(share_cfg.virtiofsd, "/opt/virtiofsd");
}

static void test_config_share_socket_rejects_bad_specs(void **state)
{
	static char *const bad[] = {
	    "nosock",	      "tag:/data", ":/s:/data",
	    "tag::/data",     "tag:/s:",   "a-tag-that-is-much-longer-than-36-bytes:/s:/data",
	    "tag:/s:relative"};
	char err[ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--share-socket", bad[i]),
				 -EINVAL);
		assert_non_null(strstr(err, "--share-socket"));
	}
}

static void test_config_share_rejects_duplicate_tags(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--share-socket",
			       "microvmm1:/s:/a", "--share", "d:/b", "--share", "d:/c"),
			 -EINVAL);
	assert_non_null(strstr(err, "tag 'microvmm1'"));
}

static void test_config_share_cache_rejects_unknown_policy(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--share-cache", "sometimes"),
			 -EINVAL);
	assert_non_null(strstr(err, "auto, always or never"));
}

/* ---- --rootfs, --scratch, --net-log ---- */

static void test_config_rootfs_is_a_read_only_root_share(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "./tree"), 0);

	assert_true(share_cfg.rootfs_set);
	assert_string_equal(share_cfg.rootfs.host, "./tree");
	assert_string_equal(share_cfg.rootfs.guest, "/");
	assert_string_equal(share_cfg.rootfs.tag, CONFIG_ROOTFS_TAG);
	assert_true(share_cfg.rootfs.read_only);
	assert_true(share_cfg.rootfs.rootfs);
	assert_false(share_cfg.rootfs.external);
	/* Not one of the --share entries: their count, order and limit stay the user's. */
	assert_int_equal(share_cfg.share_count, 0);
}

static void test_config_scratch_defaults_to_half_of_mem(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "t"), 0);
	assert_int_equal(share_cfg.scratch, 256 * MIB);
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--mem", "3G", "--rootfs=t"), 0);
	assert_int_equal(share_cfg.scratch, 1536 * MIB);
	/* Without --rootfs there is no overlay to size. */
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k"), 0);
	assert_int_equal(share_cfg.scratch, 0);
}

static void test_config_scratch_takes_a_size(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(
	    PARSE(&share_cfg, err, "--kernel", "k", "--scratch", "2G", "--rootfs", "t"), 0);
	assert_int_equal(share_cfg.scratch, 2 * GIB);
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "t", "--scratch=1M"),
			 0);
	assert_int_equal(share_cfg.scratch, MIB);
}

static void test_config_scratch_without_rootfs_is_refused(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--scratch", "1G"), -EINVAL);
	assert_non_null(strstr(err, "--rootfs"));
}

static void test_config_scratch_rejects_junk_and_tiny_sizes(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(
	    PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "t", "--scratch", "lots"), -EINVAL);
	assert_non_null(strstr(err, "--scratch 'lots'"));
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "t", "--scratch", "0"),
			 -EINVAL);
	assert_int_equal(
	    PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "t", "--scratch", "64K"), -EINVAL);
	assert_non_null(strstr(err, "at least 1M"));
	/* Half of the smallest --mem is still enough. */
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--mem", "64M", "--rootfs", "t"),
			 0);
}

static void test_config_rootfs_rejects_an_empty_path(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--rootfs="), -EINVAL);
	assert_non_null(strstr(err, "--rootfs"));
}

static void test_config_rootfs_tag_is_not_for_share_socket(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "t", "--share-socket",
			       CONFIG_ROOTFS_TAG ":/run/fs.sock:/data"),
			 -EINVAL);
	assert_non_null(strstr(err, CONFIG_ROOTFS_TAG));
	/* Without --rootfs the tag is free. */
	assert_int_equal(
	    PARSE(&share_cfg, err, "--kernel", "k", "--share-socket", CONFIG_ROOTFS_TAG ":/s:/d"),
	    0);
}

static void test_config_net_log_takes_a_file(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--net-log", "audit/net.log"), 0);
	assert_string_equal(share_cfg.net_log, "audit/net.log");
	/* Accepted without a NIC: the file is made and stays empty. */
	assert_int_equal(share_cfg.net.mode, CONFIG_NET_NONE);
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--net-log="), -EINVAL);
	assert_non_null(strstr(err, "--net-log"));
}

static void test_config_allow_host_loopback_bare_opens_every_port(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(
	    PARSE(&share_cfg, err, "--kernel", "k", "--net", "user", "--allow-host-loopback"), 0);
	assert_true(share_cfg.net.allow_host_loopback);
	assert_true(share_cfg.net.host_loopback_all_ports);
	assert_int_equal(share_cfg.net.host_loopback_port_count, 0);
}

static void test_config_allow_host_loopback_takes_ports_after_equals(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--net", "user",
			       "--allow-host-loopback=8080", "--allow-host-loopback=53",
			       "--allow-host-loopback=8080"),
			 0);
	assert_true(share_cfg.net.allow_host_loopback);
	assert_false(share_cfg.net.host_loopback_all_ports);
	assert_int_equal(share_cfg.net.host_loopback_port_count, 2);
	assert_int_equal(share_cfg.net.host_loopback_ports[0], 8080);
	assert_int_equal(share_cfg.net.host_loopback_ports[1], 53);
	/* The bare form alongside opens every port again. */
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--net", "user",
			       "--allow-host-loopback=8080", "--allow-host-loopback"),
			 0);
	assert_true(share_cfg.net.host_loopback_all_ports);
}

static void test_config_allow_host_loopback_never_takes_the_next_word(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--net", "user",
			       "--allow-host-loopback", "8080"),
			 -EINVAL);
	assert_non_null(strstr(err, "unexpected argument '8080'"));
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--net", "user",
			       "--allow-host-loopback", "--verbose"),
			 0);
	assert_true(share_cfg.net.host_loopback_all_ports);
	assert_true(share_cfg.verbose);
}

static void test_config_allow_host_loopback_rejects_bad_ports(void **state)
{
	static const char *const bad[] = {
	    "--allow-host-loopback=",	    "--allow-host-loopback=0",
	    "--allow-host-loopback=65536",  "--allow-host-loopback=80x",
	    "--allow-host-loopback=-1",	    "--allow-host-loopback= 80",
	    "--allow-host-loopback=0x50",   "--allow-host-loopback=99999999999999999999",
	    "--allow-host-loopback=80,443",
	};
	char err[ERR_LEN] = "";
	char flags[CONFIG_MAX_LOOPBACK + 1][32];
	static char head[][16] = {"microvmm", "--kernel", "k", "--net", "user"};
	char *argv[CONFIG_MAX_LOOPBACK + 7];
	int argc = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (PARSE(&share_cfg, err, "--kernel", "k", "--net", "user", (char *)bad[i]) !=
		    -EINVAL)
			fail_msg("%s was accepted", bad[i]);
		assert_non_null(strstr(err, "--allow-host-loopback="));
	}
	/* CONFIG_MAX_LOOPBACK ports fit, one more does not. */
	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		argv[argc++] = head[i];
	for (unsigned int i = 0; i <= CONFIG_MAX_LOOPBACK; i++) {
		snprintf(flags[i], sizeof(flags[i]), "--allow-host-loopback=%u", 1000 + i);
		argv[argc++] = flags[i];
	}
	assert_int_equal(config_parse(argc - 1, argv, &share_cfg, err, ERR_LEN), 0);
	assert_int_equal(share_cfg.net.host_loopback_port_count, CONFIG_MAX_LOOPBACK);
	assert_int_equal(config_parse(argc, argv, &share_cfg, err, ERR_LEN), -EINVAL);
	assert_non_null(strstr(err, "at most 16 ports"));
}

static void test_config_allow_host_loopback_needs_user_mode(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--allow-host-loopback=8080"),
			 -EINVAL);
	assert_non_null(strstr(err, "needs a network"));
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--net", "tap=tap0",
			       "--allow-host-loopback=8080"),
			 -EINVAL);
	assert_non_null(strstr(err, "--net user only"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_share_splits_host_and_guest),
	    cmocka_unit_test(test_config_share_rejects_bad_guest_paths),
	    cmocka_unit_test(test_config_share_rejects_duplicate_guest_path),
	    cmocka_unit_test(test_config_share_limits_count),
	    cmocka_unit_test(test_config_share_socket_takes_tag_path_guest),
	    cmocka_unit_test(test_config_share_socket_rejects_bad_specs),
	    cmocka_unit_test(test_config_share_rejects_duplicate_tags),
	    cmocka_unit_test(test_config_share_cache_rejects_unknown_policy),
	    cmocka_unit_test(test_config_rootfs_is_a_read_only_root_share),
	    cmocka_unit_test(test_config_scratch_defaults_to_half_of_mem),
	    cmocka_unit_test(test_config_scratch_takes_a_size),
	    cmocka_unit_test(test_config_scratch_without_rootfs_is_refused),
	    cmocka_unit_test(test_config_scratch_rejects_junk_and_tiny_sizes),
	    cmocka_unit_test(test_config_rootfs_rejects_an_empty_path),
	    cmocka_unit_test(test_config_rootfs_tag_is_not_for_share_socket),
	    cmocka_unit_test(test_config_net_log_takes_a_file),
	    cmocka_unit_test(test_config_allow_host_loopback_bare_opens_every_port),
	    cmocka_unit_test(test_config_allow_host_loopback_takes_ports_after_equals),
	    cmocka_unit_test(test_config_allow_host_loopback_never_takes_the_next_word),
	    cmocka_unit_test(test_config_allow_host_loopback_rejects_bad_ports),
	    cmocka_unit_test(test_config_allow_host_loopback_needs_user_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
