/* Unit tests for the network policy per agent and --api-base (launcher/netpolicy.c, api_url.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "launcher/agents.h"
#include "launcher/api_url.h"
#include "launcher/netpolicy.h"

#define ERR_LEN 512

static struct netpolicy policy; /* large: keep it off the stack */

static int build(const char *agent, enum netpolicy_mode mode, const char *api,
		 const char *const *allow, unsigned int allow_count, bool registries)
{
	static struct api_url url;
	char err[ERR_LEN] = "";
	struct netpolicy_request req = {
	    .mode = mode,
	    .allow = allow,
	    .allow_count = allow_count,
	    .registries = registries,
	};

	if (api) {
		assert_int_equal(api_url_parse(api, &url, err, ERR_LEN), 0);
		req.api = &url;
	}
	return netpolicy_build(&req, agents_find(agent), &policy, err, ERR_LEN);
}

static bool has_rule(const char *rule)
{
	for (unsigned int i = 0; i < policy.rule_count; i++)
		if (!strcmp(policy.rules[i], rule))
			return true;
	return false;
}

static void test_netpolicy_filtered_allows_only_the_agents_api(void **state)
{
	(void)state;
	assert_int_equal(build("claude", NETPOLICY_FILTERED, NULL, NULL, 0, false), 0);
	assert_string_equal(policy.backend, "user");
	assert_int_equal(policy.rule_count, 1);
	assert_string_equal(policy.rules[0], "api.anthropic.com:443");
	assert_false(policy.host_loopback);

	assert_int_equal(build("codex", NETPOLICY_FILTERED, NULL, NULL, 0, false), 0);
	assert_int_equal(policy.rule_count, 1);
	assert_string_equal(policy.rules[0], "api.openai.com:443");

	assert_int_equal(build("gemini", NETPOLICY_FILTERED, NULL, NULL, 0, false), 0);
	assert_int_equal(policy.rule_count, 1);
	assert_string_equal(policy.rules[0], "generativelanguage.googleapis.com:443");
}

static void test_netpolicy_api_base_replaces_vendor_host_exactly(void **state)
{
	(void)state;
	assert_int_equal(build("claude", NETPOLICY_FILTERED, "https://Gateway.Example.com:8443/v1",
			       NULL, 0, false),
			 0);
	assert_int_equal(policy.rule_count, 1);
	assert_string_equal(policy.rules[0], "gateway.example.com:8443");
	assert_int_equal(
	    build("codex", NETPOLICY_FILTERED, "http://[2001:db8::1]/", NULL, 0, false), 0);
	assert_int_equal(policy.rule_count, 1);
	assert_string_equal(policy.rules[0], "[2001:db8::1]:80");
}

static void test_netpolicy_loopback_api_base_goes_through_gateway_on_its_port(void **state)
{
	(void)state;
	assert_int_equal(
	    build("gemini", NETPOLICY_FILTERED, "http://127.0.0.1:8080", NULL, 0, false), 0);
	assert_true(policy.host_loopback);
	assert_int_equal(policy.host_loopback_port, 8080);
	assert_int_equal(policy.rule_count, 0);
	assert_int_equal(build("claude", NETPOLICY_FILTERED, "http://localhost:9", NULL, 0, false),
			 0);
	assert_true(policy.host_loopback);
	assert_int_equal(policy.host_loopback_port, 9);
	assert_int_equal(build("codex", NETPOLICY_FILTERED, "http://localhost", NULL, 0, false), 0);
	assert_int_equal(policy.host_loopback_port, 80);
}

static void test_netpolicy_full_with_loopback_api_base_stays_full(void **state)
{
	(void)state;
	assert_int_equal(build("claude", NETPOLICY_FULL, "http://127.0.0.1:4000", NULL, 0, false),
			 0);
	assert_string_equal(policy.backend, "user");
	/* No --allow rule: microvmm keeps passing every public address. */
	assert_int_equal(policy.rule_count, 0);
	assert_true(policy.host_loopback);
	assert_int_equal(policy.host_loopback_port, 4000);
}

static void test_netpolicy_registries_and_allow_add(void **state)
{
	const char *const allow[] = {"example.com:443", "api.anthropic.com:443", "10.0.0.0/8"};

	(void)state;
	assert_int_equal(build("claude", NETPOLICY_FILTERED, NULL, allow, 3, true), 0);
	assert_true(has_rule("api.anthropic.com:443"));
	assert_true(has_rule("registry.npmjs.org:443"));
	assert_true(has_rule("pypi.org:443"));
	assert_true(has_rule("files.pythonhosted.org:443"));
	assert_true(has_rule("deb.debian.org:80"));
	assert_true(has_rule("index.crates.io:443"));
	assert_true(has_rule("proxy.golang.org:443"));
	assert_true(has_rule("example.com:443"));
	assert_true(has_rule("10.0.0.0/8"));
	/* The duplicate is kept once. */
	unsigned int n = 0;
	for (unsigned int i = 0; i < policy.rule_count; i++)
		n += !strcmp(policy.rules[i], "api.anthropic.com:443");
	assert_int_equal(n, 1);
}

static void test_netpolicy_none_and_full_have_no_rules(void **state)
{
	(void)state;
	assert_int_equal(build("claude", NETPOLICY_NONE, NULL, NULL, 0, false), 0);
	assert_string_equal(policy.backend, "none");
	assert_int_equal(policy.rule_count, 0);
	assert_int_equal(build("codex", NETPOLICY_FULL, NULL, NULL, 0, false), 0);
	assert_string_equal(policy.backend, "user");
	assert_int_equal(policy.rule_count, 0);
	assert_false(policy.host_loopback);
}

static void test_netpolicy_tap_and_bridge_keep_the_allowlist(void **state)
{
	enum netpolicy_mode mode;
	const char *dev;
	char err[ERR_LEN];
	struct netpolicy_request req = {0};

	(void)state;
	assert_int_equal(netpolicy_parse_mode("tap=tap0", &mode, &dev, err, ERR_LEN), 0);
	assert_int_equal(mode, NETPOLICY_TAP);
	req.mode = mode;
	req.device = dev;
	assert_int_equal(netpolicy_build(&req, agents_find("codex"), &policy, err, ERR_LEN), 0);
	assert_string_equal(policy.backend, "tap=tap0");
	assert_string_equal(policy.rules[0], "api.openai.com:443");
	assert_int_equal(netpolicy_parse_mode("bridge=br0", &mode, &dev, err, ERR_LEN), 0);
	assert_int_equal(mode, NETPOLICY_BRIDGE);
	assert_string_equal(dev, "br0");
	assert_int_equal(netpolicy_parse_mode("tap=", &mode, &dev, err, ERR_LEN), -EINVAL);
}

static void test_api_url_parses_and_rejects(void **state)
{
	struct api_url u;
	char err[ERR_LEN];

	(void)state;
	assert_int_equal(api_url_parse("http://127.0.0.1:8080", &u, err, ERR_LEN), 0);
	assert_true(u.loopback);
	assert_int_equal(u.port, 8080);
	assert_string_equal(u.path, "");
	assert_int_equal(api_url_parse("https://proxy.corp/llm/", &u, err, ERR_LEN), 0);
	assert_false(u.loopback);
	assert_int_equal(u.port, 443);
	assert_string_equal(u.path, "/llm");
	assert_int_equal(api_url_parse("http://h:0", &u, err, ERR_LEN), -EINVAL);
	assert_int_equal(api_url_parse("http://h:65536", &u, err, ERR_LEN), -EINVAL);
	assert_int_equal(api_url_parse("http://", &u, err, ERR_LEN), -EINVAL);
	assert_int_equal(api_url_parse("http://h/a?b=c", &u, err, ERR_LEN), -EINVAL);
	assert_int_equal(api_url_parse("http://h/a\"b", &u, err, ERR_LEN), -EINVAL);
	assert_int_equal(api_url_parse("http://h/a'b", &u, err, ERR_LEN), -EINVAL);
	assert_int_equal(api_url_parse("http://h_x", &u, err, ERR_LEN), -EINVAL);
	assert_int_equal(api_url_parse("http://[::1]:80", &u, err, ERR_LEN), -EINVAL);
	assert_non_null(strstr(err, "only 127.0.0.1"));
	assert_int_equal(api_url_parse("http://user:pw@h", &u, err, ERR_LEN), -EINVAL);
	assert_non_null(strstr(err, "no user:password@"));
}

static void test_api_url_guest_forms(void **state)
{
	struct api_url u;
	char err[ERR_LEN], out[256];

	(void)state;
	assert_int_equal(api_url_parse("http://localhost:8080", &u, err, ERR_LEN), 0);
	assert_int_equal(api_url_guest(&u, "/v1", out, sizeof(out)), 0);
	assert_string_equal(out, "http://" API_URL_GATEWAY ":8080/v1");
	assert_int_equal(api_url_guest(&u, "", out, sizeof(out)), 0);
	assert_string_equal(out, "http://" API_URL_GATEWAY ":8080");
	assert_int_equal(api_url_parse("https://[2001:db8::2]/base", &u, err, ERR_LEN), 0);
	assert_int_equal(api_url_guest(&u, "/v1", out, sizeof(out)), 0);
	assert_string_equal(out, "https://[2001:db8::2]:443/base");
	assert_int_equal(api_url_guest(&u, "", out, 8), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_netpolicy_filtered_allows_only_the_agents_api),
	    cmocka_unit_test(test_netpolicy_api_base_replaces_vendor_host_exactly),
	    cmocka_unit_test(test_netpolicy_loopback_api_base_goes_through_gateway_on_its_port),
	    cmocka_unit_test(test_netpolicy_full_with_loopback_api_base_stays_full),
	    cmocka_unit_test(test_netpolicy_registries_and_allow_add),
	    cmocka_unit_test(test_netpolicy_none_and_full_have_no_rules),
	    cmocka_unit_test(test_netpolicy_tap_and_bridge_keep_the_allowlist),
	    cmocka_unit_test(test_api_url_parses_and_rejects),
	    cmocka_unit_test(test_api_url_guest_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
