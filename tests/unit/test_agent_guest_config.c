/* Unit tests for the guest's per-run files and microvmm's argv (launcher/guest_config.c,
 * vmm_argv.c). */
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

#include "launcher/guest_config.h"
#include "launcher/options.h"
#include "launcher/vmm_argv.h"

#define ERR_LEN 512

/* Sources text with bash and prints $name: what the entry script will see. */
static char *bash_sees(const char *text, const char *name)
{
	static char out[4096];
	char path[] = "/tmp/test_agent_config.XXXXXX", cmd[256];
	int fd = mkstemp(path);
	FILE *p;
	size_t n;

	assert_true(fd >= 0);
	assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "bash -c '. %s && printf %%s \"$%s\"'", path, name);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	unlink(path);
	return out;
}

static void test_guest_config_task_survives_shell_quoting(void **state)
{
	const char *task = "it's \"quoted\"; $(rm -rf /) `x` \\ \n second line '";
	const char *const secrets[] = {"npmrc", "gh.token"};
	struct guest_config c = {
	    .run_id = "20261205-000000-1",
	    .agent = "claude",
	    .mode = "task",
	    .task = task,
	    .secrets = secrets,
	    .secret_count = 2,
	    .timeout = 30,
	};
	struct strbuf b;

	(void)state;
	strbuf_init(&b);
	guest_config_script(&c, &b);
	assert_int_equal(b.err, 0);
	assert_string_equal(bash_sees(b.data, "MVA_TASK"), task);
	assert_string_equal(bash_sees(b.data, "MVA_SECRETS"), "npmrc gh.token");
	assert_string_equal(bash_sees(b.data, "MVA_TIMEOUT"), "30");
	assert_string_equal(bash_sees(b.data, "MVA_API_URL"), "");
	strbuf_free(&b);
}

static void test_guest_config_codex_provider_only_with_api_url(void **state)
{
	struct guest_config c = {.agent = "codex", .mode = "task"};
	struct strbuf b;

	(void)state;
	strbuf_init(&b);
	guest_config_codex(&c, &b);
	assert_null(strstr(b.data, "model_provider"));
	assert_non_null(strstr(b.data, "[analytics]\nenabled = false"));
	assert_non_null(strstr(b.data, "[features]\nplugins = false"));
	strbuf_free(&b);
	c.api_url = "http://@GATEWAY@:8080/v1";
	guest_config_codex(&c, &b);
	assert_true(strstr(b.data, "model_provider = \"microvmm\"") < strstr(b.data, "["));
	assert_non_null(strstr(b.data, "base_url = \"http://@GATEWAY@:8080/v1\""));
	assert_non_null(strstr(b.data, "env_key = \"OPENAI_API_KEY\""));
	assert_non_null(strstr(b.data, "wire_api = \"responses\""));
	strbuf_free(&b);
}

static void test_guest_config_gemini_api_key_auth_unless_login(void **state)
{
	struct guest_config c = {.agent = "gemini", .mode = "task"};
	struct strbuf b;

	(void)state;
	strbuf_init(&b);
	guest_config_gemini(&c, &b);
	assert_non_null(strstr(b.data, "\"selectedType\": \"gemini-api-key\""));
	assert_non_null(strstr(b.data, "\"usageStatisticsEnabled\": false"));
	strbuf_free(&b);
	c.login = true;
	guest_config_gemini(&c, &b);
	assert_null(strstr(b.data, "selectedType"));
	strbuf_free(&b);
}

static const char *arg_after(const struct vmm_argv *a, const char *flag, unsigned int nth)
{
	for (size_t i = 0; i + 1 < a->n; i++)
		if (!strcmp(a->v[i], flag) && nth-- == 0)
			return a->v[i + 1];
	return NULL;
}

/* The launch the launcher makes for options o and policy net (paths made up). */
static struct vmm_launch launch_of(const struct options *o, const struct netpolicy *net)
{
	struct vmm_launch l = {
	    .microvmm = "/bin/microvmm",
	    .rootfs = "/img/rootfs",
	    .workspace = "/home/u/proj",
	    .setup_dir = "/run/user/1/m/setup",
	    .out_dir = "/run/user/1/m/out",
	    .net_log = "/run/user/1/m/net.fifo",
	    .opts = o,
	    .net = net,
	    .cpus = 4,
	    .mem = "4096M",
	};

	return l;
}

static void test_vmm_argv_passes_keys_by_name_only(void **state)
{
	static struct netpolicy net;
	struct options o;
	char err[ERR_LEN];
	const char *keys[] = {"ANTHROPIC_API_KEY"};
	char *const argv[] = {"microvmm-agent", "--timeout", "100",	"--env",
			      "EXTRA",		"--env",     "EXTRA=2", "--share",
			      "/data:/data:ro", "do it",     NULL};
	struct vmm_launch l = launch_of(&o, &net);
	struct vmm_argv a;

	(void)state;
	l.key_vars = keys;
	l.key_count = 1;
	setenv("ANTHROPIC_API_KEY", "sk-ant-never-on-argv", 1);
	assert_int_equal(options_parse(10, argv, &o, err, ERR_LEN), 0);
	assert_int_equal(netpolicy_build(&o.net, o.agent, &net, err, ERR_LEN), 0);
	assert_int_equal(vmm_argv_build(&l, &a), 0);
	for (size_t i = 0; i < a.n; i++)
		assert_null(strstr(a.v[i], "sk-ant-never-on-argv"));
	assert_string_equal(arg_after(&a, "--env", 0), "ANTHROPIC_API_KEY");
	assert_string_equal(arg_after(&a, "--env", 1), "EXTRA");
	assert_null(arg_after(&a, "--env", 2)); /* EXTRA=2 repeats EXTRA: dropped */
	assert_string_equal(arg_after(&a, "--share", 0), "/home/u/proj:/workspace");
	assert_string_equal(arg_after(&a, "--share", 1), "/data:/data:ro");
	assert_string_equal(arg_after(&a, "--share", 2),
			    "/run/user/1/m/setup:/run/microvmm-agent:ro");
	assert_string_equal(arg_after(&a, "--share", 3),
			    "/run/user/1/m/out:/run/microvmm-agent-out");
	assert_string_equal(arg_after(&a, "--rootfs", 0), "/img/rootfs");
	assert_string_equal(arg_after(&a, "--user", 0), "root");
	assert_string_equal(arg_after(&a, "--timeout", 0), "160");
	assert_string_equal(arg_after(&a, "--allow", 0), "api.anthropic.com:443");
	assert_string_equal(arg_after(&a, "--net-log", 0), "/run/user/1/m/net.fifo");
	assert_string_equal(a.v[a.n - 1], VMM_ARGV_ENTRY);
	assert_string_equal(a.v[a.n - 3], "--");
	assert_null(a.v[a.n]);
	vmm_argv_free(&a);
	options_free(&o);
	unsetenv("ANTHROPIC_API_KEY");
}

static void test_vmm_argv_limits_host_loopback_to_the_api_base_port(void **state)
{
	static struct netpolicy net;
	struct options o;
	char err[ERR_LEN];
	char *const argv[] = {"microvmm-agent",	       "--net", "full", "--api-base",
			      "http://127.0.0.1:4000", "do it", NULL};
	struct vmm_launch l = launch_of(&o, &net);
	struct vmm_argv a;

	(void)state;
	assert_int_equal(options_parse(6, argv, &o, err, ERR_LEN), 0);
	assert_int_equal(netpolicy_build(&o.net, o.agent, &net, err, ERR_LEN), 0);
	assert_int_equal(vmm_argv_build(&l, &a), 0);
	assert_string_equal(arg_after(&a, "--net", 0), "user");
	assert_null(arg_after(&a, "--allow", 0));
	for (size_t i = 0; i < a.n; i++)
		assert_string_not_equal(a.v[i], "--allow-host-loopback");
	unsigned int n = 0;
	for (size_t i = 0; i < a.n; i++)
		n += !strcmp(a.v[i], "--allow-host-loopback=4000");
	assert_int_equal(n, 1);
	vmm_argv_free(&a);
	options_free(&o);
}

static void test_vmm_argv_boot_files_only_when_given(void **state)
{
	static struct netpolicy net;
	struct options o;
	char err[ERR_LEN];
	char *const argv[] = {"microvmm-agent", "do it", NULL};
	struct vmm_launch l = launch_of(&o, &net);
	struct vmm_argv a;

	(void)state;
	assert_int_equal(options_parse(2, argv, &o, err, ERR_LEN), 0);
	assert_int_equal(netpolicy_build(&o.net, o.agent, &net, err, ERR_LEN), 0);
	assert_int_equal(vmm_argv_build(&l, &a), 0);
	assert_null(arg_after(&a, "--kernel", 0));
	assert_null(arg_after(&a, "--initrd", 0));
	vmm_argv_free(&a);
	l.kernel = "/k/vmlinuz";
	l.initrd = "/k/initrd.img";
	assert_int_equal(vmm_argv_build(&l, &a), 0);
	assert_string_equal(arg_after(&a, "--kernel", 0), "/k/vmlinuz");
	assert_string_equal(arg_after(&a, "--initrd", 0), "/k/initrd.img");
	/* Before the "--" that starts the guest command, where microvmm reads its options. */
	for (size_t i = 0; i < a.n; i++)
		if (!strcmp(a.v[i], "--kernel"))
			assert_true(i < a.n - 3);
	vmm_argv_free(&a);
	options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guest_config_task_survives_shell_quoting),
	    cmocka_unit_test(test_guest_config_codex_provider_only_with_api_url),
	    cmocka_unit_test(test_guest_config_gemini_api_key_auth_unless_login),
	    cmocka_unit_test(test_vmm_argv_passes_keys_by_name_only),
	    cmocka_unit_test(test_vmm_argv_limits_host_loopback_to_the_api_base_port),
	    cmocka_unit_test(test_vmm_argv_boot_files_only_when_given),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
