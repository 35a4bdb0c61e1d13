/* Unit tests for the flags test_config.c leaves out: each one's field and each one's error line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/config/config.h"

#define ERR_LEN 256

/* argv built from a compound literal: argv[0] is the program, the array is NULL-terminated. */
#define ARGV(...)  ((char *const[]){"microvmm", __VA_ARGS__, NULL})
#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])) - 1)

#define PARSE(cfg, err, ...)                                                                       \
	config_parse(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__), (cfg), (err), ERR_LEN)

/* One rejected command line: the flag and its value, and the exact line the user sees. */
struct flag_error {
	const char *flag, *value; /* value NULL: the flag alone */
	const char *expected;
};

static void assert_flag_errors(const struct flag_error *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		char *argv[] = {
		    "microvmm", "--kernel", "k", (char *)cases[i].flag, (char *)cases[i].value,
		    NULL};
		int argc = cases[i].value ? 5 : 4;
		struct config cfg;
		char err[ERR_LEN] = "";

		assert_int_equal(config_parse(argc, argv, &cfg, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].expected);
	}
}

static void test_config_flags_fill_their_fields(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--kernel", "bz", "--initrd=rd", "--cmdline", "c",
			       "--append", "a", "--console-log", "out.log", "--workdir=/w",
			       "--virtiofsd", "/v", "--verbose", "--share-xattr", "--no-sandbox",
			       "--no-hugepages", "--boot-timeline", "--user", "root",
			       "--timeout=30", "--env", "A=1", "--env", "B_2", "--seccomp=log",
			       "--jail-user", "1000:2000", "--net-log", "n.log"),
			 0);
	assert_string_equal(cfg.kernel, "bz");
	assert_string_equal(cfg.initrd, "rd");
	assert_string_equal(cfg.cmdline, "c");
	assert_string_equal(cfg.append, "a");
	assert_string_equal(cfg.console_log, "out.log");
	assert_string_equal(cfg.workdir, "/w");
	assert_string_equal(cfg.virtiofsd, "/v");
	assert_string_equal(cfg.net_log, "n.log");
	assert_true(cfg.verbose);
	assert_true(cfg.share_xattr);
	assert_true(cfg.no_sandbox);
	assert_true(cfg.no_hugepages);
	assert_true(cfg.boot_timeline);
	assert_true(cfg.user_root);
	assert_int_equal(cfg.timeout, 30);
	assert_int_equal(cfg.env_count, 2);
	assert_string_equal(cfg.env[0], "A=1");
	assert_string_equal(cfg.env[1], "B_2");
	assert_true(cfg.seccomp_log);
	assert_true(cfg.jail_user_set);
	assert_int_equal(cfg.jail_uid, 1000);
	assert_int_equal(cfg.jail_gid, 2000);
}

static void test_config_flags_later_words_win(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--kernel", "k", "--user", "root", "--user", "agent",
			       "--seccomp", "log", "--seccomp", "kill"),
			 0);
	assert_false(cfg.user_root);
	assert_false(cfg.seccomp_log);
}

static void test_config_jail_user_gid_defaults_to_uid(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--kernel", "k"), 0);
	assert_false(cfg.jail_user_set);
	assert_int_equal(cfg.jail_uid, CONFIG_JAIL_ID);
	assert_int_equal(cfg.jail_gid, CONFIG_JAIL_ID);
	assert_int_equal(PARSE(&cfg, err, "--kernel", "k", "--jail-user", "64000"), 0);
	assert_int_equal(cfg.jail_uid, 64000);
	assert_int_equal(cfg.jail_gid, 64000);
}

static void test_config_flags_reject_bad_values_with_their_line(void **state)
{
	static const struct flag_error cases[] = {
	    {"--env", "=x", "--env '=x' has no variable name: use --env NAME=VALUE"},
	    {"--env", "1A=2", "--env '1A=2': a variable name has only letters, digits and _"},
	    {"--timeout", "0", "--timeout '0' is not a number of seconds: give 1 or more"},
	    {"--timeout", "5s", "--timeout '5s' is not a number of seconds: give 1 or more"},
	    {"--timeout", "31536001",
	     "--timeout '31536001' is not a number of seconds: give 1 or more"},
	    {"--workdir", "w", "--workdir 'w' must be an absolute guest path"},
	    {"--net-log=", NULL, "--net-log needs a file name: give e.g. --net-log net.log"},
	    {"--seccomp", "trap", "--seccomp 'trap' is unknown: give kill (default) or log"},
	    {"--user", "bob", "--user 'bob' is unknown: give agent or root"},
	    {"--jail-user", "0",
	     "--jail-user '0' is not UID[:GID] (numbers, not 0): give e.g. --jail-user "
	     "64000:64000"},
	    {"--jail-user", "bob",
	     "--jail-user 'bob' is not UID[:GID] (numbers, not 0): give e.g. --jail-user "
	     "64000:64000"},
	    {"--jail-user", "5:0",
	     "--jail-user '5:0' is not UID[:GID] (numbers, not 0): give e.g. --jail-user "
	     "64000:64000"},
	    {"--jail-user", "4294967295",
	     "--jail-user '4294967295' is not UID[:GID] (numbers, not 0): give e.g. --jail-user "
	     "64000:64000"},
	    {"--share-cache", "some",
	     "--share-cache 'some' is unknown: give auto, always or never"},
	    {"--no-sandbox=1", NULL, "option '--no-sandbox' takes no value"},
	    {"--no-hugepages=1", NULL, "option '--no-hugepages' takes no value"},
	    {"--share-xattr=1", NULL, "option '--share-xattr' takes no value"},
	    {"--user", NULL, "option '--user' needs a value: see 'microvmm --help'"},
	};

	(void)state;
	assert_flag_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_config_env_limits_count(void **state)
{
	char *argv[3 + 2 * (CONFIG_MAX_ENV + 1) + 1] = {"microvmm", "--kernel", "k"};
	int argc = 3;
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;
	for (int i = 0; i <= CONFIG_MAX_ENV; i++) {
		argv[argc++] = "--env";
		argv[argc++] = "A=1";
	}
	assert_int_equal(config_parse(argc, argv, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "more than 256 --env options");
}

/* The networking flags go to config_net.c by name; each lands in its own field. */
static void test_config_net_flags_reach_their_fields(void **state)
{
	struct config cfg;
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&cfg, err, "--kernel", "k", "--net", "user", "--mac",
			       "52:54:00:12:34:56", "--allow", "example.com:443", "--publish",
			       "8080:80/udp"),
			 0);
	assert_int_equal(cfg.net.mode, CONFIG_NET_USER);
	assert_true(cfg.net.mac_set);
	assert_int_equal(cfg.net.mac[5], 0x56);
	assert_int_equal(cfg.net.allow_count, 1);
	assert_string_equal(cfg.net.allow[0], "example.com:443");
	assert_int_equal(cfg.net.publish_count, 1);
	assert_int_equal(cfg.net.publish[0].host_port, 8080);
	assert_int_equal(cfg.net.publish[0].guest_port, 80);
	assert_true(cfg.net.publish[0].udp);

	assert_int_equal(PARSE(&cfg, err, "--kernel", "k", "--net=tap=tap0", "--ip",
			       "10.0.0.2/24@10.0.0.1", "--dns", "10.0.0.1"),
			 0);
	assert_int_equal(cfg.net.mode, CONFIG_NET_TAP);
	assert_string_equal(cfg.net.ifname, "tap0");
	assert_true(cfg.net.ip.set);
	assert_int_equal(cfg.net.ip.prefix, 24);
	assert_true(cfg.net.ip.has_gateway);
	assert_int_equal(cfg.net.dns_count, 1);
	assert_int_equal(cfg.net.dns[0][3], 1);
}

static void test_config_net_flags_reject_bad_values_with_their_line(void **state)
{
	static const struct flag_error cases[] = {
	    {"--net", "wifi",
	     "--net 'wifi' is unknown: give none, user, tap=NAME or bridge=BRIDGE"},
	    {"--mac", "52:54", "--mac '52:54' is not a MAC address: give e.g. 52:54:00:12:34:56"},
	    {"--publish", "0:80",
	     "--publish '0:80' is not HOST_PORT:GUEST_PORT[/udp] (at most 16): give e.g. "
	     "--publish 8080:80"},
	    {"--ip", "10.0.0.2",
	     "--ip '10.0.0.2' is not ADDR/PREFIX[@GATEWAY]: give e.g. --ip "
	     "192.168.10.2/24@192.168.10.1"},
	    {"--dns", "x",
	     "--dns 'x' is not an IPv4 address (at most 3): give e.g. --dns 192.168.10.1"},
	    {"--allow", "example.com", "--allow needs a network: add --net user (or tap=/bridge=)"},
	};

	(void)state;
	assert_flag_errors(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_flags_fill_their_fields),
	    cmocka_unit_test(test_config_flags_later_words_win),
	    cmocka_unit_test(test_config_jail_user_gid_defaults_to_uid),
	    cmocka_unit_test(test_config_flags_reject_bad_values_with_their_line),
	    cmocka_unit_test(test_config_env_limits_count),
	    cmocka_unit_test(test_config_net_flags_reach_their_fields),
	    cmocka_unit_test(test_config_net_flags_reject_bad_values_with_their_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
