/* Unit tests for command-line parsing and validation (vmm/config/config.c). */
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

#include "vmm/config/config.h"

#define KIB	(1ULL << 10)
#define MIB	(1ULL << 20)
#define GIB	(1ULL << 30)
#define ERR_LEN 256

/* argv built from a compound literal: argv[0] is the program, the array is NULL-terminated. */
#define ARGV(...)  ((char *const[]){"microvmm", __VA_ARGS__, NULL})
#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

#define PARSE(cfg, err, ...)                                                                       \
	config_parse(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__), (cfg), (err), ERR_LEN)

static uint64_t size_of(const char *text)
{
	uint64_t bytes = 0xdeadbeef;

	assert_int_equal(config_parse_size(text, &bytes), 0);
	return bytes;
}

static void assert_size_rejected(const char *text)
{
	uint64_t bytes = 0xdeadbeef;

	assert_int_equal(config_parse_size(text, &bytes), -EINVAL);
	assert_int_equal(bytes, 0xdeadbeef);
}

/* ---- config_parse_size ---- */

static void test_config_size_accepts_suffixes(void **state)
{
	(void)state;

	assert_int_equal(size_of("512M"), 512 * MIB);
	assert_int_equal(size_of("5G"), 5 * GIB);
	assert_int_equal(size_of("64K"), 64 * KIB);
	assert_int_equal(size_of("64k"), 64 * KIB);
	assert_int_equal(size_of("1T"), 1024 * GIB);
}

static void test_config_size_plain_number_is_bytes(void **state)
{
	(void)state;

	assert_int_equal(size_of("1048576"), MIB);
}

static void test_config_size_accepts_binary_suffix_spellings(void **state)
{
	(void)state;

	assert_int_equal(size_of("2Gi"), 2 * GIB);
	assert_int_equal(size_of("2GiB"), 2 * GIB);
	assert_int_equal(size_of("2GB"), 2 * GIB);
	assert_int_equal(size_of("256MiB"), 256 * MIB);
}

static void test_config_size_rejects_junk(void **state)
{
	(void)state;

	assert_size_rejected("junk");
	assert_size_rejected("");
	assert_size_rejected("M");
	assert_size_rejected("512X");
	assert_size_rejected("512MM");
	assert_size_rejected("512 M");
	assert_size_rejected("2GiBB");
	assert_size_rejected("2B");
	assert_size_rejected("1.5G");
	assert_size_rejected("0x100000");
}

static void test_config_size_rejects_zero(void **state)
{
	(void)state;

	assert_size_rejected("0");
	assert_size_rejected("0M");
}

static void test_config_size_rejects_negative(void **state)
{
	(void)state;

	assert_size_rejected("-1");
	assert_size_rejected("+1");
	/* strtoull skips leading blanks and then accepts a sign: " -1" is 2^64-1. */
	assert_size_rejected(" -1");
}

static void test_config_size_rejects_overflow(void **state)
{
	(void)state;

	assert_size_rejected("99999999999T");
	assert_size_rejected("99999999999999999999999");
	assert_size_rejected("17179869184G"); /* 2^34 G = 2^64 */
	assert_int_equal(size_of("16777215T"), 16777215ULL << 40);
}

/* ---- config_parse ---- */

static void test_config_defaults_with_only_kernel(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "bzImage");

	assert_int_equal(ret, 0);
	assert_int_equal(cfg.action, CONFIG_RUN);
	assert_string_equal(cfg.kernel, "bzImage");
	assert_null(cfg.initrd);
	assert_null(cfg.cmdline);
	assert_null(cfg.append);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.mem, 512 * MIB);
	assert_false(cfg.verbose);
	assert_null(cfg.command);
	assert_int_equal(cfg.command_argc, 0);
}

static void test_config_accepts_flag_space_value(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "--initrd", "i", "--cpus", "4", "--mem", "1G",
			"--cmdline", "console=ttyS0", "--append", "quiet", "--verbose");

	assert_int_equal(ret, 0);
	assert_string_equal(cfg.kernel, "k");
	assert_string_equal(cfg.initrd, "i");
	assert_int_equal(cfg.cpus, 4);
	assert_int_equal(cfg.mem, GIB);
	assert_string_equal(cfg.cmdline, "console=ttyS0");
	assert_string_equal(cfg.append, "quiet");
	assert_true(cfg.verbose);
}

static void test_config_accepts_flag_equals_value(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel=k", "--cpus=2", "--mem=2GiB", "--cmdline=a=b c");

	assert_int_equal(ret, 0);
	assert_string_equal(cfg.kernel, "k");
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.mem, 2 * GIB);
	/* Only the first '=' separates: the value keeps its own. */
	assert_string_equal(cfg.cmdline, "a=b c");
}

static void test_config_unknown_flag_error_names_it(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "--frobnicate");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "--frobnicate"));
}

static void test_config_unknown_flag_prefix_is_not_matched(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kern", "k");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "--kern"));
}

static void test_config_rejects_missing_value(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "--mem");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "--mem"));
}

static void test_config_rejects_value_on_boolean_flag(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "--verbose=yes");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "--verbose"));
}

static void test_config_rejects_bad_cpu_counts(void **state)
{
	static const char *const bad[] = {"0", "abc", "-1", "", "2x", " 2", "99999999999999999999"};
	struct config cfg;
	char err[ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';

		int ret = PARSE(&cfg, err, "--kernel", "k", "--cpus", (char *)bad[i]);

		assert_int_equal(ret, -EINVAL);
		assert_non_null(strstr(err, "--cpus"));
	}
}

static void test_config_rejects_bad_mem(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "--mem", "lots");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "--mem"));
	assert_non_null(strstr(err, "lots"));
}

static void test_config_rejects_mem_below_64m(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	assert_int_equal(PARSE(&cfg, err, "--kernel", "k", "--mem", "63M"), -EINVAL);
	assert_non_null(strstr(err, "64M"));
	assert_int_equal(PARSE(&cfg, err, "--kernel", "k", "--mem", "67108863"), -EINVAL);
}

static void test_config_accepts_mem_of_exactly_64m(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "--mem", "64M");

	assert_int_equal(ret, 0);
	assert_int_equal(cfg.mem, 64 * MIB);
}

static void test_config_rounds_mem_up_to_page(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "--mem", "67108865");

	assert_int_equal(ret, 0);
	assert_int_equal(cfg.mem, 64 * MIB + 4096);
}

static void test_config_huge_mem_never_validates_to_zero(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	/* 2^64 - 1 bytes: rounding up to a page must not wrap to 0 after the minimum check. */
	int ret = PARSE(&cfg, err, "--kernel", "k", "--mem", "18446744073709551615");

	if (ret == 0)
		assert_true(cfg.mem >= CONFIG_MIN_MEM);
	else
		assert_int_equal(ret, -EINVAL);
}

static void test_config_leaves_missing_kernel_to_the_image_lookup(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = config_parse(1, ARGV(NULL), &cfg, err, ERR_LEN);

	assert_int_equal(ret, 0);
	assert_null(cfg.kernel);
	assert_null(cfg.initrd);
}

static void test_config_rejects_empty_kernel(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel=");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "--kernel"));
}

static void test_config_double_dash_takes_command(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";
	char *const *argv = ARGV("--kernel", "k", "--", "sh", "-c", "--mem 1");

	(void)state;

	int ret = config_parse(7, argv, &cfg, err, ERR_LEN);

	assert_int_equal(ret, 0);
	assert_int_equal(cfg.command_argc, 3);
	assert_ptr_equal(cfg.command, &argv[4]);
	assert_string_equal(cfg.command[0], "sh");
	assert_string_equal(cfg.command[2], "--mem 1");
	assert_null(cfg.command[3]);
	/* Flags after "--" belong to the command. */
	assert_int_equal(cfg.mem, 512 * MIB);
}

static void test_config_rejects_double_dash_without_command(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "--");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "--"));
}

static void test_config_rejects_stray_positional_argument(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "extra");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "extra"));
}

static void test_config_rejects_single_dash_option(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--kernel", "k", "-v");

	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, "-v"));
}

static void test_config_help_needs_no_kernel(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--help");

	assert_int_equal(ret, 0);
	assert_int_equal(cfg.action, CONFIG_HELP);
	assert_non_null(strstr(config_usage, "--kernel"));
}

static void test_config_version_needs_no_kernel(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;

	int ret = PARSE(&cfg, err, "--version");

	assert_int_equal(ret, 0);
	assert_int_equal(cfg.action, CONFIG_VERSION);
}

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

/* ---- config_guest_image: the default kernel and initrd ---- */

/* A scratch prefix holding the (empty) files named; returns its path (static storage). */
static const char *image_tree(const char *const files[], size_t count)
{
	static char root[64];
	char path[256];

	snprintf(root, sizeof(root), "/tmp/microvmm-test-image-XXXXXX");
	assert_non_null(mkdtemp(root));
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		for (char *slash = strchr(path + strlen(root) + 1, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
			*slash = '/';
		}
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fclose(f);
	}
	return root;
}

static int image_tree_remove_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

static void image_tree_remove(const char *root)
{
	assert_int_equal(nftw(root, image_tree_remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* config_guest_image() as if microvmm were ROOT/EXE. */
static void guest_image_lookup(struct config *cfg, const char *root, const char *exe)
{
	char err[ERR_LEN] = "", path[256];

	snprintf(path, sizeof(path), "%s/%s", root, exe);
	assert_int_equal(config_guest_image(cfg, path, err, ERR_LEN), 0);
}

/* GOT is ROOT/REL. */
static void assert_in_tree(const char *got, const char *root, const char *rel)
{
	char want[256];

	snprintf(want, sizeof(want), "%s/%s", root, rel);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_config_guest_image_prefers_the_installed_image(void **state)
{
	static const char *const files[] = {"share/microvmm/guest/vmlinuz",
					    "share/microvmm/guest/initrd.img", "bin/guest/vmlinuz"};
	const char *root = image_tree(files, 3);
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(config_parse(1, ARGV(NULL), &share_cfg, err, ERR_LEN), 0);
	guest_image_lookup(&share_cfg, root, "bin/microvmm");

	assert_in_tree(share_cfg.kernel, root, "share/microvmm/guest/vmlinuz");
	assert_in_tree(share_cfg.initrd, root, "share/microvmm/guest/initrd.img");
	image_tree_remove(root);
}

static void test_config_guest_image_finds_the_build_tree_image(void **state)
{
	static const char *const files[] = {"build/guest/vmlinuz", "build/guest/initrd.img"};
	const char *root = image_tree(files, 2);
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(config_parse(1, ARGV(NULL), &share_cfg, err, ERR_LEN), 0);
	guest_image_lookup(&share_cfg, root, "build/microvmm");

	assert_in_tree(share_cfg.kernel, root, "build/guest/vmlinuz");
	assert_in_tree(share_cfg.initrd, root, "build/guest/initrd.img");
	image_tree_remove(root);
}

/* A given --kernel stays, without the image's initrd (its modules are for the image's kernel). */
static void test_config_guest_image_keeps_a_given_kernel_or_initrd(void **state)
{
	static const char *const files[] = {"build/guest/vmlinuz", "build/guest/initrd.img"};
	const char *root = image_tree(files, 2);
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "my-bzImage"), 0);
	guest_image_lookup(&share_cfg, root, "build/microvmm");
	assert_string_equal(share_cfg.kernel, "my-bzImage");
	assert_null(share_cfg.initrd);

	assert_int_equal(PARSE(&share_cfg, err, "--initrd", "mine.img"), 0);
	guest_image_lookup(&share_cfg, root, "build/microvmm");
	assert_in_tree(share_cfg.kernel, root, "build/guest/vmlinuz");
	assert_string_equal(share_cfg.initrd, "mine.img");
	image_tree_remove(root);
}

static void test_config_guest_image_missing_names_where_it_looked(void **state)
{
	static const char *const files[] = {"bin/guest/initrd.img"}; /* no kernel beside it */
	const char *root = image_tree(files, 1);
	char err[ERR_LEN] = "", path[256];

	(void)state;
	assert_int_equal(config_parse(1, ARGV(NULL), &share_cfg, err, ERR_LEN), 0);
	snprintf(path, sizeof(path), "%s/bin/microvmm", root);
	assert_int_equal(config_guest_image(&share_cfg, path, err, ERR_LEN), -ENOENT);

	snprintf(path, sizeof(path), "%s/share/microvmm/guest", root);
	assert_non_null(strstr(err, path));
	snprintf(path, sizeof(path), "%s/bin/guest", root);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "--kernel"));
	assert_non_null(strstr(err, "guest-image/build"));
	assert_null(share_cfg.kernel);
	image_tree_remove(root);
}

static void test_config_rootfs_needs_an_initrd(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "t"), 0);
	assert_int_equal(config_guest_image(&share_cfg, "/nonexistent/microvmm", err, ERR_LEN),
			 -EINVAL);
	assert_non_null(strstr(err, "--initrd"));
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--initrd", "i", "--rootfs", "t"),
			 0);
	assert_int_equal(config_guest_image(&share_cfg, "/nonexistent/microvmm", err, ERR_LEN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_size_accepts_suffixes),
	    cmocka_unit_test(test_config_size_plain_number_is_bytes),
	    cmocka_unit_test(test_config_size_accepts_binary_suffix_spellings),
	    cmocka_unit_test(test_config_size_rejects_junk),
	    cmocka_unit_test(test_config_size_rejects_zero),
	    cmocka_unit_test(test_config_size_rejects_negative),
	    cmocka_unit_test(test_config_size_rejects_overflow),
	    cmocka_unit_test(test_config_defaults_with_only_kernel),
	    cmocka_unit_test(test_config_accepts_flag_space_value),
	    cmocka_unit_test(test_config_accepts_flag_equals_value),
	    cmocka_unit_test(test_config_unknown_flag_error_names_it),
	    cmocka_unit_test(test_config_unknown_flag_prefix_is_not_matched),
	    cmocka_unit_test(test_config_rejects_missing_value),
	    cmocka_unit_test(test_config_rejects_value_on_boolean_flag),
	    cmocka_unit_test(test_config_rejects_bad_cpu_counts),
	    cmocka_unit_test(test_config_rejects_bad_mem),
	    cmocka_unit_test(test_config_rejects_mem_below_64m),
	    cmocka_unit_test(test_config_accepts_mem_of_exactly_64m),
	    cmocka_unit_test(test_config_rounds_mem_up_to_page),
	    cmocka_unit_test(test_config_huge_mem_never_validates_to_zero),
	    cmocka_unit_test(test_config_leaves_missing_kernel_to_the_image_lookup),
	    cmocka_unit_test(test_config_rejects_empty_kernel),
	    cmocka_unit_test(test_config_double_dash_takes_command),
	    cmocka_unit_test(test_config_rejects_double_dash_without_command),
	    cmocka_unit_test(test_config_rejects_stray_positional_argument),
	    cmocka_unit_test(test_config_rejects_single_dash_option),
	    cmocka_unit_test(test_config_help_needs_no_kernel),
	    cmocka_unit_test(test_config_version_needs_no_kernel),
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
	    cmocka_unit_test(test_config_guest_image_prefers_the_installed_image),
	    cmocka_unit_test(test_config_guest_image_finds_the_build_tree_image),
	    cmocka_unit_test(test_config_guest_image_keeps_a_given_kernel_or_initrd),
	    cmocka_unit_test(test_config_guest_image_missing_names_where_it_looked),
	    cmocka_unit_test(test_config_rootfs_needs_an_initrd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
