/* Unit tests for microvmm-agent's command line (launcher/options.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "launcher/options.h"

#define ERR_LEN 512

#define ARGV(...)  ((char *const[]){"microvmm-agent", __VA_ARGS__, NULL})
#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)
#define PARSE(o, err, ...)                                                                         \
	options_parse(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__), (o), (err), ERR_LEN)

/* Parsing must fail with -EINVAL and one line that contains `needle`. */
#define ASSERT_REJECTED(needle, ...)                                                               \
	do {                                                                                       \
		struct options o_;                                                                 \
		char err_[ERR_LEN] = "";                                                           \
		assert_int_equal(PARSE(&o_, err_, __VA_ARGS__), -EINVAL);                          \
		assert_non_null(strstr(err_, needle));                                             \
		assert_null(strchr(err_, '\n'));                                                   \
	} while (0)

static void test_options_defaults_claude_filtered_interactive(void **state)
{
	struct options o;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(options_parse(1, ARGV(NULL), &o, err, ERR_LEN), 0);
	assert_string_equal(o.agent->name, "claude");
	assert_int_equal(o.mode, OPTIONS_INTERACTIVE);
	assert_int_equal(o.net.mode, NETPOLICY_FILTERED);
	assert_null(o.task);
	assert_int_equal(o.timeout, 0);
	options_free(&o);
}

static void test_options_task_words_join_and_options_after_task(void **state)
{
	struct options o;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&o, err, "fix", "the", "--agent", "codex", "bug"), 0);
	assert_string_equal(o.task, "fix the bug");
	assert_string_equal(o.agent->name, "codex");
	assert_int_equal(o.mode, OPTIONS_TASK);
	options_free(&o);
}

static void test_options_double_dash_makes_words_of_options(void **state)
{
	struct options o;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&o, err, "--agent=gemini", "--", "--shell", "-x"), 0);
	assert_string_equal(o.task, "--shell -x");
	assert_string_equal(o.agent->name, "gemini");
	assert_int_equal(o.mode, OPTIONS_TASK);
	options_free(&o);
}

static void test_options_values_both_forms(void **state)
{
	struct options o;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&o, err, "--cpus=2", "--mem", "8G", "--timeout", "600", "--net=full",
			       "--workspace", "/tmp", "--env", "FOO", "--env=BAR=1", "--secret",
			       "npmrc=/etc/hostname", "--ssh-key", "--kernel", "/k/vmlinuz",
			       "--initrd=/k/initrd.img", "t"),
			 0);
	assert_string_equal(o.kernel, "/k/vmlinuz");
	assert_string_equal(o.initrd, "/k/initrd.img");
	assert_int_equal(o.cpus, 2);
	assert_int_equal(o.mem, 8ULL << 30);
	assert_string_equal(o.mem_text, "8G");
	assert_int_equal(o.timeout, 600);
	assert_int_equal(o.net.mode, NETPOLICY_FULL);
	assert_string_equal(o.workspace, "/tmp");
	assert_int_equal(o.env_count, 2);
	assert_string_equal(o.env[1], "BAR=1");
	assert_int_equal(o.secret_count, 1);
	assert_string_equal(o.secrets[0].name, "npmrc");
	assert_string_equal(o.secrets[0].file, "/etc/hostname");
	assert_true(o.ssh_key);
	options_free(&o);
}

static void test_options_shell_without_task(void **state)
{
	struct options o;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&o, err, "--shell", "--agent", "gemini"), 0);
	assert_int_equal(o.mode, OPTIONS_SHELL);
	options_free(&o);
}

static void test_options_help_and_version_win(void **state)
{
	struct options o;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&o, err, "--shell", "task", "--help"), 0);
	assert_int_equal(o.action, OPTIONS_HELP);
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--version"), 0);
	assert_int_equal(o.action, OPTIONS_VERSION);
	options_free(&o);
}

static void test_options_rejects_bad_input(void **state)
{
	(void)state;
	ASSERT_REJECTED("unknown agent 'copilot'", "--agent", "copilot", "t");
	ASSERT_REJECTED("TASK and --shell", "--shell", "do it");
	ASSERT_REJECTED("not an http(s) URL", "--api-base", "ftp://example.com", "t");
	ASSERT_REJECTED("not an http(s) URL", "--api-base", "example.com", "t");
	ASSERT_REJECTED("unknown option '--frobnicate'", "--frobnicate");
	ASSERT_REJECTED("unknown option '-x'", "-x");
	ASSERT_REJECTED("needs a value", "--agent");
	ASSERT_REJECTED("takes no value", "--shell=yes");
	ASSERT_REJECTED("not a network mode", "--net", "open", "t");
	ASSERT_REJECTED("not NAME=FILE", "--secret", "noequals", "t");
	ASSERT_REJECTED("not NAME=FILE", "--secret", "../x=/etc/hostname", "t");
	ASSERT_REJECTED("not NAME=FILE", "--secret", ".hidden=/f", "t");
	ASSERT_REJECTED("not NAME or NAME=VALUE", "--env", "1BAD", "t");
	ASSERT_REJECTED("not a number of seconds", "--timeout", "10s", "t");
	ASSERT_REJECTED("not a number of vCPUs", "--cpus", "0", "t");
	ASSERT_REJECTED("not a size", "--mem", "lots", "t");
	ASSERT_REJECTED("TASK is empty", " ");
	ASSERT_REJECTED("--login is for an interactive session", "--login", "t");
	ASSERT_REJECTED("--kernel needs --initrd", "--kernel", "/k/vmlinuz", "t");
	ASSERT_REJECTED("needs a value", "--initrd");
	ASSERT_REJECTED("is not HOST:GUEST", "--share", "/data", "t");
	ASSERT_REJECTED("the run's own", "--share", "/data:/workspace", "t");
	ASSERT_REJECTED("the run's own", "--share", "/data:/run/microvmm-agent-out:ro", "t");
}

static void test_options_rejects_network_combinations(void **state)
{
	(void)state;
	ASSERT_REJECTED("--allow needs a network", "--net", "none", "--allow", "example.com", "t");
	ASSERT_REJECTED("--api-base needs a network", "--net", "none", "--api-base",
			"http://127.0.0.1:8080", "t");
	ASSERT_REJECTED("--allow-registries needs a network", "--net", "none", "--allow-registries",
			"t");
	ASSERT_REJECTED("--net full has none", "--net", "full", "--allow", "example.com", "t");
	ASSERT_REJECTED("needs --net filtered or full", "--net", "tap=tap0", "--api-base",
			"http://localhost:1234", "t");
}

static void test_options_share_accepts_other_guest_paths(void **state)
{
	struct options o;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&o, err, "--share", "/data:/workspace2:ro", "t"), 0);
	assert_int_equal(o.share_count, 1);
	options_free(&o);
}

static void test_options_size_suffixes(void **state)
{
	uint64_t bytes = 0;

	(void)state;
	assert_int_equal(options_parse_size("512M", &bytes), 0);
	assert_int_equal(bytes, 512ULL << 20);
	assert_int_equal(options_parse_size("4GiB", &bytes), 0);
	assert_int_equal(bytes, 4ULL << 30);
	assert_int_equal(options_parse_size("1g", &bytes), 0);
	assert_int_equal(bytes, 1ULL << 30);
	assert_int_equal(options_parse_size("-1G", &bytes), -EINVAL);
	assert_int_equal(options_parse_size("0", &bytes), -EINVAL);
	assert_int_equal(options_parse_size("3X", &bytes), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_options_defaults_claude_filtered_interactive),
	    cmocka_unit_test(test_options_task_words_join_and_options_after_task),
	    cmocka_unit_test(test_options_double_dash_makes_words_of_options),
	    cmocka_unit_test(test_options_values_both_forms),
	    cmocka_unit_test(test_options_shell_without_task),
	    cmocka_unit_test(test_options_help_and_version_win),
	    cmocka_unit_test(test_options_rejects_bad_input),
	    cmocka_unit_test(test_options_rejects_network_combinations),
	    cmocka_unit_test(test_options_share_accepts_other_guest_paths),
	    cmocka_unit_test(test_options_size_suffixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
