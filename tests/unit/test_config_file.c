/*
 * Unit tests for --config and --print-config (vmm/config/config_file.c, config_print.c): every
 * option round-trips command line -> printed JSON -> file to the same configuration, the
 * command line wins over the file, and each bad file gets one line naming its key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/config/config_json.h"

#define ERR_LEN 512

#define ARGV(...)  ((char *const[]){"microvmm", __VA_ARGS__, NULL})
#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

/*
 * Every option a file may hold, each given once or more (the test checks none is missing);
 * one option and its value per line.
 */
/* clang-format off */
static char *const every_option[] = {
    "microvmm",
    "--kernel", "bz",
    "--initrd=rd",
    "--cpus", "4",
    "--mem", "2G",
    "--no-hugepages",
    "--cmdline", "console=hvc0 quiet",
    "--append", "a=1",
    "--verbose",
    "--boot-timeline",
    "--env", "A=1 2",
    "--env", "HOME",
    "--user", "root",
    "--timeout", "90",
    "--console-log", "c.log",
    "--workdir", "/w",
    "--share", "/tmp:/workspace",
    "--share", "/a:b:/data:ro",
    "--share-socket", "fs:/run/v.sock:/ext",
    "--share-cache", "never",
    "--share-xattr",
    "--rootfs", "/srv/root",
    "--scratch", "64M",
    "--virtiofsd", "/usr/bin/vfsd",
    "--net", "user",
    "--mac", "02:00:00:00:00:07",
    "--allow", "example.com:443",
    "--allow", "10.0.0.0/8",
    "--allow-host-loopback=8080",
    "--allow-host-loopback=9090",
    "--publish", "8000:80",
    "--publish", "5353:53/udp",
    "--ip", "10.0.2.15/24@10.0.2.2",
    "--dns", "1.1.1.1",
    "--net-log", "n.log",
    "--no-sandbox",
    "--seccomp=log",
    "--jail-user", "64000:64001",
    "--api-socket", "/run/vm.sock",
    "--", "sh", "-c", "echo \"$HOME\"",
    NULL};
/* clang-format on */

/* A file holding `text`, removed by the caller. */
static void write_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* config_parse of argv with --config FILE in it, the way main.c merges them. */
static int parse_with_file(int argc, char *const argv[], struct config *cfg,
			   struct config_file *file, struct config_argv *merged, char *err)
{
	const char *path = config_file_requested(argc, argv);
	int ret;

	assert_non_null(path);
	ret = config_file_load(path, file, err, ERR_LEN);
	if (ret)
		return ret;
	assert_int_equal(config_file_merge(file, argc, argv, merged), 0);
	return config_parse(merged->argc, merged->argv, cfg, err, ERR_LEN);
}

static void assert_same_string(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/*
 * Two configurations are the same VM: equal strings behind every pointer
 * and, once those are cleared, equal bytes everywhere else (config_parse
 * zeroes the struct first, so padding compares too).
 */
static void assert_same_config(const struct config *a, const struct config *b)
{
	struct config *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));

	assert_non_null(x);
	assert_non_null(y);
	*x = *a;
	*y = *b;
#define SAME(field) (assert_same_string(x->field, y->field), x->field = y->field = NULL)
	SAME(kernel);
	SAME(initrd);
	SAME(cmdline);
	SAME(append);
	SAME(console_log);
	SAME(workdir);
	SAME(virtiofsd);
	SAME(net_log);
	SAME(api_socket);
	for (unsigned int i = 0; i < CONFIG_MAX_ENV; i++)
		SAME(env[i]);
	for (unsigned int i = 0; i < CONFIG_MAX_ALLOW; i++)
		SAME(net.allow[i]);
#undef SAME
	x->config_file = y->config_file = NULL;
	assert_int_equal(x->command_argc, y->command_argc);
	for (int i = 0; i < x->command_argc; i++)
		assert_string_equal(x->command[i], y->command[i]);
	x->command = y->command = NULL;
	x->action = y->action = CONFIG_RUN;
	assert_memory_equal(x, y, sizeof(*x));
	free(x);
	free(y);
}

static void count_option(void *ctx, const struct config_option *option, const char *value)
{
	(void)value;
	((unsigned int *)ctx)[option - config_option_at(0)]++;
}

static void test_config_file_every_option_round_trips(void **state)
{
	char path[] = "/tmp/microvmm-config-test-XXXXXX";
	unsigned int seen[CONFIG_OPTION_MAX] = {0};
	const struct config_option *option;
	struct config *cli = calloc(1, sizeof(*cli)), *from_file = calloc(1, sizeof(*from_file));
	struct config_file file;
	struct config_argv merged = {0};
	char err[ERR_LEN] = "";
	char *printed, *printed_again;
	int argc = ARGC(every_option);

	(void)state;
	config_walk(argc, every_option, count_option, seen);
	for (size_t i = 0; (option = config_option_at(i)); i++)
		if (option->key != CONFIG_KEY_NONE && !seen[i])
			fail_msg("every_option lacks --%s", option->flag);
	assert_int_equal(config_parse(argc, every_option, cli, err, sizeof(err)), 0);
	printed = config_print_json(argc, every_option, NULL);
	assert_non_null(printed);
	write_file(path, printed);

	assert_int_equal(parse_with_file(ARGC(ARGV("--config", path)), ARGV("--config", path),
					 from_file, &file, &merged, err),
			 0);
	assert_same_config(cli, from_file);
	printed_again = config_print_json(merged.argc, merged.argv, NULL);
	assert_string_equal(printed, printed_again);

	unlink(path);
	free(printed);
	free(printed_again);
	config_argv_free(&merged);
	config_file_free(&file);
	free(cli);
	free(from_file);
}

/* The printed defaults are what config_parse assumes when nothing is given. */
static void test_config_file_printed_defaults_round_trip(void **state)
{
	char path[] = "/tmp/microvmm-config-test-XXXXXX";
	struct config cli, from_file;
	struct config_file file;
	struct config_argv merged = {0};
	char err[ERR_LEN] = "";
	char *printed;

	(void)state;
	assert_int_equal(config_parse(ARGC(ARGV("--kernel", "k")), ARGV("--kernel", "k"), &cli, err,
				      sizeof(err)),
			 0);
	printed = config_print_json(ARGC(ARGV("--kernel", "k")), ARGV("--kernel", "k"), NULL);
	assert_non_null(strstr(printed, "\"mem\": \"512M\""));
	assert_non_null(strstr(printed, "\"command\": null"));
	write_file(path, printed);
	assert_int_equal(parse_with_file(ARGC(ARGV("--config", path)), ARGV("--config", path),
					 &from_file, &file, &merged, err),
			 0);
	assert_same_config(&cli, &from_file);
	unlink(path);
	free(printed);
	config_argv_free(&merged);
	config_file_free(&file);
}

static void test_config_file_command_line_wins(void **state)
{
	char path[] = "/tmp/microvmm-config-test-XXXXXX";
	struct config cfg;
	struct config_file file;
	struct config_argv merged = {0};
	char err[ERR_LEN] = "";

	(void)state;
	write_file(path,
		   "{\"kernel\": \"k\", \"cpus\": 2, \"env\": [\"A=1\", \"B=2\"],"
		   " \"share\": [{\"host\": \"/tmp\", \"guest\": \"/w\", \"read_only\": true}],"
		   " \"command\": [\"make\", \"test\"]}");
	assert_int_equal(parse_with_file(ARGC(ARGV("--cpus", "3", "--config", path, "--env", "C")),
					 ARGV("--cpus", "3", "--config", path, "--env", "C"), &cfg,
					 &file, &merged, err),
			 0);
	assert_int_equal(cfg.cpus, 3);
	assert_int_equal(cfg.env_count, 1);
	assert_string_equal(cfg.env[0], "C");
	assert_int_equal(cfg.share_count, 1);
	assert_string_equal(cfg.shares[0].host, "/tmp");
	assert_true(cfg.shares[0].read_only);
	assert_int_equal(cfg.command_argc, 2);
	assert_string_equal(cfg.command[1], "test");
	config_argv_free(&merged);
	config_file_free(&file);

	assert_int_equal(parse_with_file(ARGC(ARGV("--config", path, "--", "true")),
					 ARGV("--config", path, "--", "true"), &cfg, &file, &merged,
					 err),
			 0);
	assert_int_equal(cfg.command_argc, 1);
	assert_string_equal(cfg.command[0], "true");
	assert_int_equal(cfg.env_count, 2);
	unlink(path);
	config_argv_free(&merged);
	config_file_free(&file);
}

struct file_error {
	const char *json;
	const char *expected; /* after "config PATH: " */
};

static void test_config_file_errors_name_the_key(void **state)
{
	static const struct file_error cases[] = {
	    {"{\"share\": [\"/tmp:/a\", {\"host\": \"/tmp\", \"guest\": \"rel\"}]}",
	     "share[1].guest: expected an absolute path without ':', e.g. /workspace"},
	    {"{\"share\": [{\"host\": \"/tmp\"}]}", "share[0].guest: missing"},
	    {"{\"share\": [{\"host\": \"/tmp\", \"guest\": \"/a\", \"ro\": true}]}",
	     "share[0]: unknown key 'ro': give host, guest and read_only"},
	    {"{\"share_socket\": [{\"tag\": \"a:b\", \"socket\": \"/s\", \"guest\": \"/g\"}]}",
	     "share_socket[0].tag: a tag may not contain ':'"},
	    {"{\"share\": [7]}", "share[0]: expected a string"},
	    {"{\"cpus\": \"2\"}", "cpus: expected a whole number"},
	    {"{\"cpus\": 0}", "cpus: --cpus '0' is not a vCPU count: give a whole number >= 1"},
	    {"{\"mem\": true}", "mem: expected a string"},
	    {"{\"verbose\": 1}", "verbose: expected true or false"},
	    {"{\"env\": \"A=1\"}", "env: expected a list"},
	    {"{\"env\": [\"A=1\", \"1X\"]}",
	     "env[1]: --env '1X': a variable name has only letters, digits and _"},
	    {"{\"allow_host_loopback\": \"yes\"}",
	     "allow_host_loopback: expected true, false or a list of ports"},
	    {"{\"allow_host_loopback\": [0]}",
	     "allow_host_loopback[0]: --allow-host-loopback='0' is not a port 1-65535 (at most 16 "
	     "ports): give e.g. --allow-host-loopback=8080"},
	    {"{\"foo\": 1}", "foo: unknown key: see docs/config.md for the keys"},
	    {"{\"help\": true}", "help: unknown key: see docs/config.md for the keys"},
	    {"{\"no-sandbox\": true}",
	     "no-sandbox: unknown key: keys are long options with '_' for '-', e.g. no_sandbox "
	     "(docs/config.md)"},
	    {"{\"command\": []}", "command: expected a list of strings, e.g. [\"make\", \"test\"]"},
	    {"{\"command\": [\"a\", 1]}", "command[1]: expected a string"},
	    {"[1]", "expected a JSON object of options, e.g. {\"cpus\": 2}"},
	    {"{\"cpus\": 1, \"cpus\": 2}",
	     "line 1, column 18: duplicate object key near '\"cpus\"': fix the JSON"},
	    {"{\"cpus\": 1,", "line 1, column 11: string or '}' expected near end of file: fix the "
			      "JSON"},
	};
	char err[ERR_LEN], expected[ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[] = "/tmp/microvmm-config-test-XXXXXX";
		struct config_file file;

		write_file(path, cases[i].json);
		err[0] = '\0';
		assert_int_equal(config_file_load(path, &file, err, sizeof(err)), -EINVAL);
		snprintf(expected, sizeof(expected), "config %s: %s", path, cases[i].expected);
		assert_string_equal(err, expected);
		assert_null(file.args);
		unlink(path);
	}
}

static void test_config_file_missing_file_names_it(void **state)
{
	struct config_file file;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(config_file_load("/nonexistent/vm.json", &file, err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "config /nonexistent/vm.json: cannot open: No such file or "
				 "directory: give an existing JSON file");
	assert_int_equal(config_file_load("/tmp", &file, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config /tmp: not a regular file of at most 1048576 bytes");
}

/* --env NAME takes the host's value when the VM starts: the printout keeps the name only. */
static void test_config_print_keeps_env_names_without_values(void **state)
{
	char *printed;

	(void)state;
	setenv("MICROVMM_TEST_SECRET", "hunter2", 1);
	printed = config_print_json(ARGC(ARGV("--env", "MICROVMM_TEST_SECRET", "--env", "X=1")),
				    ARGV("--env", "MICROVMM_TEST_SECRET", "--env", "X=1"), NULL);
	assert_non_null(printed);
	assert_non_null(strstr(printed, "\"MICROVMM_TEST_SECRET\""));
	assert_null(strstr(printed, "hunter2"));
	assert_non_null(strstr(printed, "\"X=1\""));
	free(printed);
}

/* JSON carries UTF-8 only: other bytes print as U+FFFD, and the caller is told. */
static void test_config_print_marks_bytes_json_cannot_carry(void **state)
{
	bool exact = true;
	char *printed;

	(void)state;
	printed = config_print_json(ARGC(ARGV("--env", "A=caf\xe9", "--", "echo", "\xff")),
				    ARGV("--env", "A=caf\xe9", "--", "echo", "\xff"), &exact);
	assert_non_null(printed);
	assert_false(exact);
	assert_non_null(strstr(printed, "\"A=caf\xef\xbf\xbd\""));
	assert_non_null(strstr(printed, "\"\xef\xbf\xbd\""));
	free(printed);
	printed = config_print_json(ARGC(ARGV("--env", "A=caf\xc3\xa9")),
				    ARGV("--env", "A=caf\xc3\xa9"), &exact);
	assert_true(exact);
	free(printed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_file_every_option_round_trips),
	    cmocka_unit_test(test_config_file_printed_defaults_round_trip),
	    cmocka_unit_test(test_config_file_command_line_wins),
	    cmocka_unit_test(test_config_file_errors_name_the_key),
	    cmocka_unit_test(test_config_file_missing_file_names_it),
	    cmocka_unit_test(test_config_print_keeps_env_names_without_values),
	    cmocka_unit_test(test_config_print_marks_bytes_json_cannot_carry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
