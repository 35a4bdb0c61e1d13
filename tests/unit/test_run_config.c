/* Unit tests for the run configuration (vmm/guest/run_config.c) in its cpio archive, read
 * back by the guest init's parser. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/cpio.h"
#include "guest-image/init/init.h"
#include "vmm/config/config.h"
#include "vmm/guest/run_config.h"

#include "newc_archive.h"

#define MODE_DIR   0040000u
#define MODE_FILE  0100000u
#define EXPECT_MAX 4096
#define HOST_VAR   "MICROVMM_TEST_HOST_VAR"
#define UNSET_VAR  "MICROVMM_TEST_UNSET_VAR"

/* ---- run configuration ---- */

/* The expected /microvmm/run: NUL-separated strings appended one by one. */
struct expect {
	char buf[EXPECT_MAX];
	size_t len;
};

static void expect_add(struct expect *x, const char *s)
{
	size_t n = strlen(s) + 1;

	assert_true(x->len + n <= sizeof(x->buf));
	memcpy(x->buf + x->len, s, n);
	x->len += n;
}

static void expect_pair(struct expect *x, const char *key, const char *value)
{
	expect_add(x, key);
	expect_add(x, value);
}

static void expect_header(struct expect *x)
{
	x->len = 0;
	expect_add(x, "microvmm-run");
	expect_add(x, "1");
}

/*
 * Builds the archive, checks its entries and returns a copy of microvmm/run's
 * bytes. `chosen_ip`: the guest's IPv4 set-up microvmm chose (user mode), or NULL.
 */
static uint8_t *build_run_ip(const struct config *cfg, bool tty, const struct config_ip *chosen_ip,
			     size_t *len)
{
	struct cpio c;
	struct archive ar;

	cpio_init(&c);
	assert_int_equal(
	    run_config_build(cfg, tty, RUN_CONFIG_AGENT_ID, RUN_CONFIG_AGENT_ID, chosen_ip, &c), 0);
	parse_archive(c.buf.data, c.buf.len, &ar);
	assert_int_equal(ar.count, 3);
	assert_string_equal(ar.e[0].name, "microvmm");
	assert_int_equal(ar.e[0].mode, 040755);
	assert_string_equal(ar.e[1].name, RUN_CONFIG_PATH);
	assert_int_equal(ar.e[1].mode, 0100600);
	assert_string_equal(ar.e[2].name, "TRAILER!!!");
	*len = ar.e[1].filesize;
	uint8_t *copy = malloc(*len ? *len : 1);

	assert_non_null(copy);
	memcpy(copy, ar.e[1].data, *len);
	cpio_free(&c);
	return copy;
}

static uint8_t *build_run(const struct config *cfg, bool tty, size_t *len)
{
	return build_run_ip(cfg, tty, NULL, len);
}

static void assert_run_ip(const struct config *cfg, bool tty, const struct config_ip *chosen_ip,
			  const struct expect *x)
{
	size_t len;
	uint8_t *got = build_run_ip(cfg, tty, chosen_ip, &len);

	assert_int_equal(len, x->len);
	assert_memory_equal(got, x->buf, len);
	free(got);
}

static void assert_run(const struct config *cfg, bool tty, const struct expect *x)
{
	assert_run_ip(cfg, tty, NULL, x);
}

static int run_config_setup(void **state)
{
	(void)state;
	unsetenv("TERM");
	unsetenv(UNSET_VAR);
	return 0;
}

static void test_run_config_arguments_are_byte_exact(void **state)
{
	static char *const command[] = {
	    "sh",
	    "-c",
	    "echo \"it's\" 'quoted' \\back\\slash\nsecond line\ttab",
	    "with spaces  ",
	    "",
	    "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x90\x8d",
	    "--env=not-an-option",
	    NULL,
	};
	struct config cfg = {.command = command, .command_argc = 7};
	struct expect x;

	(void)state;
	expect_header(&x);
	for (int i = 0; i < 7; i++)
		expect_pair(&x, "arg", command[i]);
	expect_pair(&x, "tty", "0");
	expect_pair(&x, "user", "agent");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");

	assert_run(&cfg, false, &x);
}

static void test_run_config_without_command_has_no_args(void **state)
{
	struct config cfg = {0};
	struct expect x;

	(void)state;
	expect_header(&x);
	expect_pair(&x, "tty", "1");
	expect_pair(&x, "user", "root");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");
	expect_pair(&x, "cwd", "/work dir/\xc3\xbc");
	cfg.user_root = true;
	cfg.workdir = "/work dir/\xc3\xbc";

	assert_run(&cfg, true, &x);
}

static void test_run_config_env_values_and_host_lookups(void **state)
{
	static char *const command[] = {"env", NULL};
	struct config cfg = {.command = command, .command_argc = 1};
	struct expect x;

	(void)state;
	assert_int_equal(setenv(HOST_VAR, "from the host\nwith = and \xc3\xa9", 1), 0);
	cfg.env[cfg.env_count++] = "A=1";
	cfg.env[cfg.env_count++] = HOST_VAR;
	cfg.env[cfg.env_count++] = UNSET_VAR;
	cfg.env[cfg.env_count++] = "B=x=y";
	cfg.env[cfg.env_count++] = "EMPTY=";
	cfg.env[cfg.env_count++] = "A=2";
	cfg.workdir = "/tmp";
	expect_header(&x);
	expect_pair(&x, "arg", "env");
	expect_pair(&x, "env", "A=1");
	expect_pair(&x, "env", HOST_VAR "=from the host\nwith = and \xc3\xa9");
	/* UNSET_VAR: not set on the host, so not set in the guest either. */
	expect_pair(&x, "env", "B=x=y");
	expect_pair(&x, "env", "EMPTY=");
	expect_pair(&x, "env", "A=2");
	expect_pair(&x, "tty", "0");
	expect_pair(&x, "user", "agent");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");
	expect_pair(&x, "cwd", "/tmp");

	assert_run(&cfg, false, &x);
	unsetenv(HOST_VAR);
}

static void test_run_config_tty_passes_host_term_first(void **state)
{
	struct config cfg = {0};
	struct expect x;

	(void)state;
	cfg.env[cfg.env_count++] = "TERM=dumb";
	assert_int_equal(setenv("TERM", "xterm-256color", 1), 0);
	expect_header(&x);
	expect_pair(&x, "env", "TERM=xterm-256color");
	expect_pair(&x, "env", "TERM=dumb"); /* later wins: --env overrides the host's */
	expect_pair(&x, "tty", "1");
	expect_pair(&x, "user", "agent");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");

	assert_run(&cfg, true, &x);

	/* No terminal, no TERM from the host. */
	expect_header(&x);
	expect_pair(&x, "env", "TERM=dumb");
	expect_pair(&x, "tty", "0");
	expect_pair(&x, "user", "agent");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");
	assert_run(&cfg, false, &x);
	unsetenv("TERM");
}

static void test_run_config_tty_without_host_term(void **state)
{
	struct config cfg = {0};
	struct expect x;

	(void)state;
	expect_header(&x);
	expect_pair(&x, "tty", "1");
	expect_pair(&x, "user", "agent");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");

	assert_run(&cfg, true, &x);
	assert_int_equal(setenv("TERM", "", 1), 0);
	assert_run(&cfg, true, &x);
	unsetenv("TERM");
}

/* Set when a case skipped: main() then exits 77, which ctest reports as a skip. */
static bool skipped;

static bool have_cpio(void)
{
	return system("command -v cpio >/dev/null 2>&1") == 0;
}

static void test_run_config_extracts_with_system_cpio(void **state)
{
	static char *const command[] = {"printf", "%s\\n", "a b", "\"q\"", "\xc3\xa9\n", NULL};
	struct config cfg = {.command = command, .command_argc = 5, .workdir = "/w"};
	char dir[] = "/tmp/microvmm-cpio-XXXXXX";
	char path[PATH_MAX], cmd[PATH_MAX * 2 + 64];
	struct cpio c;
	size_t want_len;
	uint8_t got[EXPECT_MAX];
	struct stat st;

	(void)state;
	if (!have_cpio()) {
		skipped = true;
		skip();
	}
	cfg.env[cfg.env_count++] = "K=v v";
	uint8_t *want = build_run(&cfg, false, &want_len);

	cpio_init(&c);
	assert_int_equal(
	    run_config_build(&cfg, false, RUN_CONFIG_AGENT_ID, RUN_CONFIG_AGENT_ID, NULL, &c), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/archive.cpio", dir);
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(c.buf.data, 1, c.buf.len, fp), c.buf.len);
	assert_int_equal(fclose(fp), 0);
	cpio_free(&c);
	snprintf(cmd, sizeof(cmd), "cd '%s' && cpio -idm --quiet < archive.cpio 2>/dev/null", dir);

	assert_int_equal(system(cmd), 0);

	snprintf(path, sizeof(path), "%s/microvmm/run", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal((size_t)st.st_size, want_len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, sizeof(got)), (ssize_t)want_len);
	close(fd);
	assert_memory_equal(got, want, want_len);
	snprintf(path, sizeof(path), "%s/microvmm", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(want);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#define RUN_TEST(fn) cmocka_unit_test_setup(fn, run_config_setup)

static struct config share_net_cfg; /* large (paths): keep it off the stack */

static void test_run_config_shares_network_and_workspace_cwd(void **state)
{
	struct config *cfg = &share_net_cfg;
	struct expect x;

	(void)state;
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->shares[0].guest, sizeof(cfg->shares[0].guest), "/data dir");
	snprintf(cfg->shares[0].tag, sizeof(cfg->shares[0].tag), "microvmm0");
	cfg->shares[0].read_only = true;
	snprintf(cfg->shares[1].guest, sizeof(cfg->shares[1].guest), "/workspace");
	snprintf(cfg->shares[1].tag, sizeof(cfg->shares[1].tag), "microvmm1");
	cfg->share_count = 2;
	cfg->net.mode = CONFIG_NET_TAP;
	cfg->net.ip = (struct config_ip){.set = true,
					 .addr = {192, 168, 7, 2},
					 .prefix = 24,
					 .gateway = {192, 168, 7, 1},
					 .has_gateway = true};
	memcpy(cfg->net.dns[0], (uint8_t[]){192, 168, 7, 53}, 4);
	cfg->net.dns_count = 1;
	expect_header(&x);
	expect_pair(&x, "tty", "0");
	expect_pair(&x, "user", "agent");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");
	/* --share order, "ro|rw TAG PATH" (the path may hold spaces). */
	expect_pair(&x, "share", "ro microvmm0 /data dir");
	expect_pair(&x, "share", "rw microvmm1 /workspace");
	expect_pair(&x, "net", "static 192.168.7.2/24 192.168.7.1");
	expect_pair(&x, "dns", "192.168.7.53");
	/* /workspace wins over the first share as the working directory. */
	expect_pair(&x, "cwd", "/workspace");

	assert_run(cfg, false, &x);
}

/*
 * User mode with the IPv4 set-up `chosen` (NULL: none, DHCP): `net` as the
 * network line, then passt's resolver and MTU.
 */
static void check_user_network(const struct config_ip *chosen, const char *net)
{
	struct config *cfg = &share_net_cfg;
	struct expect x;

	memset(cfg, 0, sizeof(*cfg));
	cfg->net.mode = CONFIG_NET_USER;
	expect_header(&x);
	expect_pair(&x, "tty", "0");
	expect_pair(&x, "user", "agent");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");
	expect_pair(&x, "net", net);
	expect_pair(&x, "dns", "169.254.1.53");
	expect_pair(&x, "mtu", "65520");

	assert_run_ip(cfg, false, chosen, &x);
}

static void test_run_config_user_network_uses_passt_resolver(void **state)
{
	(void)state;
	check_user_network(NULL, "dhcp");
}

static void test_run_config_user_network_takes_the_address_microvmm_chose(void **state)
{
	const struct config_ip uplink = {.set = true,
					 .addr = {10, 0, 2, 15},
					 .prefix = 24,
					 .gateway = {10, 0, 2, 2},
					 .has_gateway = true};

	(void)state;
	/* No DHCP: the address passt was told to hand out. */
	check_user_network(&uplink, "static 10.0.2.15/24 10.0.2.2");
}

static void test_run_config_rootfs_and_scratch_raise_the_version(void **state)
{
	struct config *cfg = &share_net_cfg;
	struct expect x;

	(void)state;
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->shares[0].guest, sizeof(cfg->shares[0].guest), "/workspace");
	snprintf(cfg->shares[0].tag, sizeof(cfg->shares[0].tag), "microvmm0");
	cfg->share_count = 1;
	cfg->rootfs_set = true;
	snprintf(cfg->rootfs.tag, sizeof(cfg->rootfs.tag), CONFIG_ROOTFS_TAG);
	snprintf(cfg->rootfs.guest, sizeof(cfg->rootfs.guest), "/");
	cfg->rootfs.read_only = cfg->rootfs.rootfs = true;
	cfg->scratch = 3ULL << 30; /* more than 32 bits */
	x.len = 0;
	expect_add(&x, "microvmm-run");
	/* Version 2: an init that knows no rootfs refuses the file. */
	expect_add(&x, RUN_CONFIG_VERSION_ROOTFS);
	expect_pair(&x, "tty", "0");
	expect_pair(&x, "user", "agent");
	expect_pair(&x, "uid", "1000");
	expect_pair(&x, "gid", "1000");
	/* The root is no "share" entry: the init mounts it first, and not at a path. */
	expect_pair(&x, "share", "rw microvmm0 /workspace");
	expect_pair(&x, "rootfs", CONFIG_ROOTFS_TAG);
	expect_pair(&x, "scratch", "3221225472");
	expect_pair(&x, "cwd", "/workspace");

	assert_run(cfg, false, &x);
}

/* What microvmm writes, read back by the guest init's own parser (guest-image/init/runcfg.c). */
static void parse_in_guest(const struct config *cfg, struct run_config *rc)
{
	size_t len;
	uint8_t *bytes = build_run(cfg, false, &len);
	char *buf = malloc(len + 1);

	assert_non_null(buf);
	memcpy(buf, bytes, len);
	buf[len] = '\0';
	free(bytes);
	memset(rc, 0, sizeof(*rc));
	run_spec_init(&rc->spec);
	rc->storage = buf;
	assert_int_equal(runcfg_parse(rc, buf, len), 0);
}

static void test_run_config_guest_init_reads_back_rootfs_and_shares(void **state)
{
	static char *const command[] = {"sh", "-c", "echo \"$X\"", NULL};
	struct config *cfg = &share_net_cfg;
	struct run_config rc;

	(void)state;
	memset(cfg, 0, sizeof(*cfg));
	cfg->command = command;
	cfg->command_argc = 3;
	cfg->env[cfg->env_count++] = "X=a b";
	snprintf(cfg->shares[0].guest, sizeof(cfg->shares[0].guest), "/work space");
	snprintf(cfg->shares[0].tag, sizeof(cfg->shares[0].tag), "microvmm0");
	cfg->shares[0].read_only = true;
	cfg->share_count = 1;
	cfg->rootfs_set = true;
	snprintf(cfg->rootfs.tag, sizeof(cfg->rootfs.tag), CONFIG_ROOTFS_TAG);
	cfg->scratch = 5ULL << 30;
	cfg->user_root = true;
	cfg->net.mode = CONFIG_NET_USER;

	parse_in_guest(cfg, &rc);

	assert_string_equal(rc.rootfs_tag, CONFIG_ROOTFS_TAG);
	assert_true(rc.scratch == 5ULL << 30);
	assert_int_equal(rc.share_count, 1);
	assert_string_equal(rc.shares[0].tag, "microvmm0");
	assert_string_equal(rc.shares[0].path, "/work space");
	assert_true(rc.shares[0].read_only);
	assert_string_equal(rc.spec.argv[0], "sh");
	assert_string_equal(rc.spec.argv[2], "echo \"$X\"");
	assert_null(rc.spec.argv[3]);
	assert_int_equal(rc.env_count, 1);
	assert_string_equal(rc.env[0], "X=a b");
	assert_true(rc.as_root);
	assert_int_equal(rc.agent_uid, RUN_CONFIG_AGENT_ID);
	assert_string_equal(rc.net_mode, "dhcp");
	assert_int_equal(rc.net_mtu, 65520);
	assert_string_equal(rc.spec.cwd, "/work space");
	free(rc.storage);
}

static void test_run_config_guest_init_without_rootfs_stays_in_the_initramfs(void **state)
{
	struct config *cfg = &share_net_cfg;
	struct run_config rc;

	(void)state;
	memset(cfg, 0, sizeof(*cfg));

	parse_in_guest(cfg, &rc);

	assert_null(rc.rootfs_tag);
	assert_true(rc.scratch == 0);
	assert_false(rc.as_root);
	free(rc.storage);
}

/* Hand-made files: what the guest init must refuse rather than half-apply. */
static int parse_bytes(const char *bytes, size_t len)
{
	struct run_config rc;
	char *buf = malloc(len + 1);
	int ret;

	assert_non_null(buf);
	memcpy(buf, bytes, len);
	buf[len] = '\0';
	memset(&rc, 0, sizeof(rc));
	run_spec_init(&rc.spec);
	ret = runcfg_parse(&rc, buf, len);
	free(buf);
	return ret;
}

#define PARSE_BYTES(lit) parse_bytes(lit, sizeof(lit) - 1)

static void test_run_config_guest_init_takes_only_an_mtu_ethernet_can_carry(void **state)
{
	(void)state;
	/* IPv4's minimum to the largest an Ethernet length field names (passt's 65520 between). */
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "1\0mtu\0"
				     "68\0"),
			 0);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "1\0mtu\0"
				     "65535\0"),
			 0);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "1\0mtu\0"
				     "67\0"),
			 -EINVAL);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "1\0mtu\0"
				     "65536\0"),
			 -EINVAL);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "1\0mtu\0"
				     "1500x\0"),
			 -EINVAL);
}

static void test_run_config_guest_init_rejects_bad_rootfs_values(void **state)
{
	(void)state;
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0t\0scratch\0"
				     "1024\0"),
			 0);
	/* A version it does not know, and a rootfs without its size. */
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "3\0"),
			 -EPROTO);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0t\0"),
			 -EPROTO);
	/* Tags: 1 to 36 bytes (virtio 1.2 §5.11.4), one path component. */
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0\0scratch\0"
				     "1\0"),
			 -EINVAL);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0a/b\0scratch\0"
				     "1\0"),
			 -EINVAL);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0"
				     "0123456789012345678901234567890123456\0scratch\0"
				     "1\0"),
			 -EINVAL);
	/* Sizes: decimal, not 0, no sign, no junk, no overflow. */
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0t\0scratch\0"
				     "0\0"),
			 -EINVAL);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0t\0scratch\0-1\0"),
			 -EINVAL);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0t\0scratch\0"
				     "1G\0"),
			 -EINVAL);
	assert_int_equal(PARSE_BYTES("microvmm-run\0"
				     "2\0rootfs\0t\0scratch\0"
				     "99999999999999999999\0"),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    RUN_TEST(test_run_config_arguments_are_byte_exact),
	    RUN_TEST(test_run_config_without_command_has_no_args),
	    RUN_TEST(test_run_config_env_values_and_host_lookups),
	    RUN_TEST(test_run_config_tty_passes_host_term_first),
	    RUN_TEST(test_run_config_tty_without_host_term),
	    RUN_TEST(test_run_config_extracts_with_system_cpio),
	    RUN_TEST(test_run_config_shares_network_and_workspace_cwd),
	    RUN_TEST(test_run_config_user_network_uses_passt_resolver),
	    RUN_TEST(test_run_config_user_network_takes_the_address_microvmm_chose),
	    RUN_TEST(test_run_config_rootfs_and_scratch_raise_the_version),
	    RUN_TEST(test_run_config_guest_init_reads_back_rootfs_and_shares),
	    RUN_TEST(test_run_config_guest_init_without_rootfs_stays_in_the_initramfs),
	    cmocka_unit_test(test_run_config_guest_init_rejects_bad_rootfs_values),
	    cmocka_unit_test(test_run_config_guest_init_takes_only_an_mtu_ethernet_can_carry),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	/* cmocka counts a skipped case as passed; tests/CMakeLists.txt sets SKIP_RETURN_CODE. */
	if (!failed && skipped) {
		printf("SKIP: cpio is not installed (scripts/install-deps installs it)\n");
		return 77;
	}
	return failed;
}
