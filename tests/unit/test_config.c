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

#include "config_test.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
