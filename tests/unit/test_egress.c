/* Unit tests for the egress filter (devices/net/egress.c): rules and their parsing, the inactive
 * filter, CIDR rules, the host-loopback exception and logging. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "devices/net/egress.h"
#include "devices/net/egress_rule.h"
#include "tests/support/egress_harness.h"

/* ---- rule parsing ---- */

static void assert_rule(const char *text, enum egress_rule_kind kind, uint16_t port,
			const char *canonical)
{
	struct egress_rule r;
	char err[ERR_LEN] = "";

	if (egress_rule_parse(text, &r, err, sizeof(err)))
		fail_msg("%s rejected: %s", text, err);
	assert_int_equal(r.kind, kind);
	assert_int_equal(r.port, port);
	assert_string_equal(r.text, canonical);
}

static void test_egress_rule_accepts_names_and_addresses(void **state)
{
	(void)state;

	assert_rule("example.com", EGRESS_RULE_NAME, 0, "example.com");
	assert_rule("API.Example.COM.:443", EGRESS_RULE_NAME, 443, "api.example.com:443");
	assert_rule("*.example.com:8443", EGRESS_RULE_WILDCARD, 8443, "*.example.com:8443");
	assert_rule("localhost", EGRESS_RULE_NAME, 0, "localhost");
	assert_rule("93.184.216.34", EGRESS_RULE_CIDR, 0, "93.184.216.34");
	assert_rule("10.0.2.2:8080", EGRESS_RULE_CIDR, 8080, "10.0.2.2:8080");
	assert_rule("10.1.2.3/8:65535", EGRESS_RULE_CIDR, 65535, "10.0.0.0/8:65535");
	assert_rule("0.0.0.0/0", EGRESS_RULE_CIDR, 0, "0.0.0.0/0");
	assert_rule("[2001:db8::1]:443", EGRESS_RULE_CIDR, 443, "[2001:db8::1]:443");
	assert_rule("[2001:DB8::/32]:443", EGRESS_RULE_CIDR, 443, "[2001:db8::/32]:443");
	assert_rule("[2001:db8::1]", EGRESS_RULE_CIDR, 0, "2001:db8::1");
	assert_rule("2001:db8::1", EGRESS_RULE_CIDR, 0, "2001:db8::1");
	assert_rule("2001:db8::ff/32", EGRESS_RULE_CIDR, 0, "2001:db8::/32");
	assert_rule("::1", EGRESS_RULE_CIDR, 0, "::1");
}

static void assert_rule_error(const char *text, const char *message)
{
	struct egress_rule r;
	char err[ERR_LEN] = "";

	assert_int_equal(egress_rule_parse(text, &r, err, sizeof(err)), -EINVAL);
	if (!strstr(err, message))
		fail_msg("%s: error \"%s\" does not mention \"%s\"", text, err, message);
	assert_non_null(strstr(err, "--allow '"));
	assert_null(strchr(err, '\n'));
}

static void test_egress_rule_rejects_bad_syntax_with_message(void **state)
{
	char label64[80], name254[300];

	(void)state;
	assert_rule_error("", "empty rule");
	assert_rule_error(":443", "missing host");
	assert_rule_error("example.com:", "not a number in 1-65535");
	assert_rule_error("example.com:0", "not a number in 1-65535");
	assert_rule_error("example.com:65536", "not a number in 1-65535");
	assert_rule_error("example.com:http", "not a number in 1-65535");
	assert_rule_error("example.com:+80", "not a number in 1-65535");
	assert_rule_error("exa_mple.com", "invalid character '_'");
	assert_rule_error("exa mple.com", "invalid byte 0x20");
	assert_rule_error("a..b", "empty label");
	assert_rule_error(".example.com", "empty label");
	assert_rule_error("*.", "empty host name");
	assert_rule_error("a.*.com", "'*' is only allowed");
	assert_rule_error("*", "'*' is only allowed");
	assert_rule_error("*example.com", "'*' is only allowed");
	assert_rule_error("10.0.0.0/33", "not a valid IPv4 address or prefix");
	assert_rule_error("10.0.0.0/", "not a valid IPv4 address or prefix");
	assert_rule_error("1.2.3", "not a valid IPv4 address");
	assert_rule_error("256.1.1.1", "not a valid IPv4 address");
	assert_rule_error("example.com/24", "not a valid IPv4 address or prefix");
	assert_rule_error("[2001:db8::1", "missing ']'");
	assert_rule_error("[2001:db8::1]443", "unexpected text after ']'");
	assert_rule_error("[2001:db8::1]:0", "not a number in 1-65535");
	assert_rule_error("[example.com]:443", "brackets are only for IPv6");
	assert_rule_error("[10.0.0.1]:443", "brackets are only for IPv6");
	assert_rule_error("[2001:db8::/129]", "brackets are only for IPv6");
	assert_rule_error("2001:db8::zz", "not a valid IPv6 address");
	assert_rule_error("example.com:443:1", "to add a port write [2001:db8::1]:443");
	assert_rule_error("fe80::1%eth0", "not a valid IPv6 address");

	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".com");
	assert_rule_error(label64, "longer than 63");
	for (size_t i = 0; i < 254; i++)
		name254[i] = i % 2 ? '.' : 'a';
	name254[253] = 'a';
	name254[254] = '\0';
	assert_rule_error(name254, "longer than 253");
}

static void test_egress_add_rule_reports_errors_and_limits(void **state)
{
	struct egress_filter *f = filter_new(false, NULL);
	char err[ERR_LEN], text[32];

	(void)state;
	assert_false(egress_filter_active(f));
	assert_int_equal(egress_filter_add_rule(f, "bad_name", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad_name"));
	assert_false(egress_filter_active(f));
	for (int i = 0; i < EGRESS_MAX_NAME_RULES; i++) {
		snprintf(text, sizeof(text), "host%d.example", i);
		assert_int_equal(egress_filter_add_rule(f, text, err, sizeof(err)), 0);
	}
	assert_true(egress_filter_active(f));
	assert_int_equal(egress_filter_add_rule(f, "one.more.example", err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "too many host name rules"));
	for (int i = EGRESS_MAX_NAME_RULES; i < EGRESS_MAX_RULES; i++) {
		snprintf(text, sizeof(text), "10.0.%d.1", i);
		assert_int_equal(egress_filter_add_rule(f, text, err, sizeof(err)), 0);
	}
	assert_int_equal(egress_filter_add_rule(f, "10.1.0.0/16", err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "too many --allow rules"));
	/* A tiny or missing err buffer is fine. */
	assert_int_equal(egress_filter_add_rule(f, "", err, 1), -EINVAL);
	assert_int_equal(err[0], '\0');
	assert_int_equal(egress_filter_add_rule(f, "", NULL, 0), -EINVAL);
	egress_filter_destroy(f);
}

static void test_egress_last_of_many_name_rules_learns(void **state)
{
	struct egress_filter *f = filter_new(false, NULL);
	char err[ERR_LEN], text[64];
	struct dnsmsg m;

	(void)state;
	for (int i = 0; i < EGRESS_MAX_RULES; i++) {
		if (i % 2)
			snprintf(text, sizeof(text), "host%d.example:%d", i, 1000 + i);
		else
			snprintf(text, sizeof(text), "10.0.%d.1", i);
		assert_int_equal(egress_filter_add_rule(f, text, err, sizeof(err)), 0);
	}
	dns_start(&m, "host127.example");
	dns_a(&m, "host127.example", 60, SERVER4);
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 1127, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(SERVER4, 1125, SYN), T0), EGRESS_DROP);
	assert_true(logged("egress: allowed tcp 93.184.216.34:1127 (rule host127.example:1127)"));
	egress_filter_destroy(f);
}

static void test_egress_add_resolver_checks_family_and_limit(void **state)
{
	struct egress_filter *f = filter_new(false, NULL);
	uint8_t a[4] = {192, 0, 2, 0};

	(void)state;
	assert_int_equal(egress_filter_add_resolver(f, AF_UNIX, a), -EINVAL);
	/* Two were added by filter_new; the same one again is not a new one. */
	assert_int_equal(egress_filter_add_resolver(f, AF_INET, a), 0);
	assert_int_equal(egress_filter_add_resolver(f, AF_INET, a), 0);
	for (int i = 3; i < EGRESS_MAX_RESOLVERS; i++) {
		a[3] = (uint8_t)i;
		assert_int_equal(egress_filter_add_resolver(f, AF_INET, a), 0);
	}
	a[3] = 200;
	assert_int_equal(egress_filter_add_resolver(f, AF_INET, a), -ENOSPC);
	egress_filter_destroy(f);
}

/* ---- inactive filter ---- */

static void test_egress_inactive_filter_passes_everything(void **state)
{
	struct egress_filter *f = filter_new(false, NULL);
	uint8_t junk[64];

	(void)state;
	memset(junk, 0xa5, sizeof(junk));
	assert_false(egress_filter_active(f));
	assert_int_equal(tx(f, TCP4("169.254.169.254", 80, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, UDP4("8.8.8.8", 53), T0), EGRESS_PASS);
	assert_int_equal(egress_check_tx(f, junk, sizeof(junk), T0), EGRESS_PASS);
	assert_int_equal(egress_check_tx(f, junk, 3, T0), EGRESS_PASS);
	egress_observe_rx(f, junk, sizeof(junk), T0);
	assert_int_equal(logs.count, 0);
	egress_filter_destroy(f);

	/* No filter at all behaves the same. */
	assert_false(egress_filter_active(NULL));
	assert_int_equal(egress_check_tx(NULL, junk, sizeof(junk), T0), EGRESS_PASS);
	egress_observe_rx(NULL, junk, sizeof(junk), T0);
	egress_filter_destroy(NULL);
}

/* ---- CIDR rules ---- */

static void test_egress_cidr_rule_with_port_v4(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("93.184.216.0/24:443"));

	(void)state;
	assert_true(egress_filter_active(f));
	assert_int_equal(tx(f, TCP4("93.184.216.34", 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, UDP4("93.184.216.99", 443), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("93.184.216.34", 80, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4("93.184.217.1", 443, SYN), T0), EGRESS_DROP);
	/* A port rule does not allow portless protocols. */
	assert_int_equal(tx(f, PKT(.dst = "93.184.216.34", .proto = ICMP, .icmp_type = 8), T0),
			 EGRESS_DROP);
	assert_int_equal(tx(f, PKT(.dst = "93.184.216.34", .proto = 47), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_cidr_rule_without_port_allows_all_protocols(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("1.1.1.1"));

	(void)state;
	assert_int_equal(tx(f, TCP4("1.1.1.1", 80, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, UDP4("1.1.1.1", 53), T0), EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.dst = "1.1.1.1", .proto = ICMP, .icmp_type = 8, .icmp_id = 7), T0),
	    EGRESS_PASS);
	assert_int_equal(tx(f, PKT(.dst = "1.1.1.1", .proto = 47), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("1.1.1.2", 80, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_cidr_rule_v6(void **state)
{
	struct egress_filter *f =
	    filter_new(false, RULES("[2001:db8::/32]:443", "2606:4700::1111"));

	(void)state;
	assert_int_equal(tx(f, TCP6("2001:db8:5::7", 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP6("2001:db8:5::7", 80, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP6("2001:db9::7", 443, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP6("2606:4700::1111", 22, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f,
			    PKT(.family = 6, .dst = "2606:4700::1111", .proto = ICMP6,
				.icmp_type = 128, .icmp_id = 1),
			    T0),
			 EGRESS_PASS);
	egress_filter_destroy(f);
}

static void test_egress_ipv4_rule_does_not_match_mapped_ipv6(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("93.184.216.34"));

	(void)state;
	assert_int_equal(tx(f, TCP6("::ffff:93.184.216.34", 443, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

/* ---- the host-loopback exception (--allow-host-loopback[=PORT]) ---- */

#define GATEWAY4 "10.0.2.2"

static void add_loopback(struct egress_filter *f, const char *addr, uint16_t port)
{
	uint8_t a[4];

	put_addr(a, 4, addr);
	assert_int_equal(egress_filter_add_host_loopback(f, AF_INET, a, port), 0);
}

static void test_egress_host_loopback_port_passes_other_ports_drop(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);

	(void)state;
	add_loopback(f, GATEWAY4, 8080);
	add_loopback(f, GATEWAY4, 5353);
	assert_int_equal(tx(f, TCP4(GATEWAY4, 8080, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, UDP4(GATEWAY4, 5353), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(GATEWAY4, 80, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, UDP4(GATEWAY4, 8081), T0), EGRESS_DROP);
	assert_int_equal(
	    tx(f, PKT(.dst = GATEWAY4, .proto = ICMP, .icmp_type = 8, .icmp_id = 7), T0),
	    EGRESS_DROP);
	assert_true(logged("egress: allowed tcp 10.0.2.2:8080 (host loopback)"));
	assert_true(logged("egress: allowed udp 10.0.2.2:5353 (host loopback)"));
	assert_true(logged("egress: dropped tcp 10.0.2.2:80 (host loopback: port not allowed)"));
	egress_filter_destroy(f);
}

static void test_egress_host_loopback_is_not_a_rule_public_still_passes(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);

	(void)state;
	add_loopback(f, GATEWAY4, 8080);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP6(SERVER6, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, UDP4("198.51.100.1", 9999), T0), EGRESS_PASS);
	/* The user-mode defaults still hold. */
	assert_int_equal(tx(f, TCP4("169.254.169.254", 80, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4("10.0.2.50", 8080, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4("127.0.0.1", 8080, SYN), T0), EGRESS_DROP);
	assert_true(logged("egress: dropped tcp 10.0.2.50:8080 (private or link-local address)"));
	egress_filter_destroy(f);
}

static void test_egress_host_loopback_with_rules_allows_rules_and_exception_only(void **state)
{
	struct egress_filter *f = filter_new(true, RULES("93.184.216.34:443"));

	(void)state;
	add_loopback(f, GATEWAY4, 8080);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(GATEWAY4, 8080, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("198.51.100.1", 443, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4(GATEWAY4, 80, SYN), T0), EGRESS_DROP);
	assert_true(logged("egress: dropped tcp 198.51.100.1:443"));
	assert_true(logged("egress: dropped tcp 10.0.2.2:80 (host loopback: port not allowed)"));
	/* A rule for the gateway's address still allows what it says. */
	egress_filter_destroy(f);
	f = filter_new(true, RULES("10.0.2.2:80"));
	add_loopback(f, GATEWAY4, 8080);
	assert_int_equal(tx(f, TCP4(GATEWAY4, 80, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(GATEWAY4, 8080, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(GATEWAY4, 81, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_host_loopback_without_port_allows_every_protocol(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);
	struct frame frag = UDP4(GATEWAY4, 9);

	(void)state;
	add_loopback(f, GATEWAY4, 8080);
	add_loopback(f, GATEWAY4, 0);
	frag.b[14 + 6] = 0x20; /* MF */
	assert_int_equal(tx(f, TCP4(GATEWAY4, 80, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, UDP4(GATEWAY4, 9), T0), EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.dst = GATEWAY4, .proto = ICMP, .icmp_type = 8, .icmp_id = 7), T0),
	    EGRESS_PASS);
	assert_int_equal(tx(f, frag, T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("10.0.2.3", 80, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_host_loopback_public_address_passes_only_its_ports(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);
	struct frame frag = UDP4("198.51.100.7", 8080);

	(void)state;
	add_loopback(f, "198.51.100.7", 8080);
	frag.b[14 + 6] = 0x20; /* MF */
	assert_int_equal(tx(f, TCP4("198.51.100.7", 8080, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("198.51.100.7", 22, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, frag, T0), EGRESS_DROP);
	assert_true(logged("egress: dropped udp 198.51.100.7 (IP fragment)"));
	assert_int_equal(tx(f, TCP4("198.51.100.8", 22, SYN), T0), EGRESS_PASS);
	egress_filter_destroy(f);
}

static void test_egress_add_host_loopback_checks_family_and_limit(void **state)
{
	struct egress_filter *f = filter_new(false, NULL);
	uint8_t a[4] = {10, 0, 2, 2}, a6[16] = {0xfd, [15] = 2};

	(void)state;
	assert_int_equal(egress_filter_add_host_loopback(f, AF_UNIX, a, 80), -EINVAL);
	assert_int_equal(egress_filter_add_host_loopback(f, AF_INET6, a6, 80), 0);
	assert_int_equal(egress_filter_add_host_loopback(f, AF_INET, a, 80), 0);
	assert_int_equal(egress_filter_add_host_loopback(f, AF_INET, a, 80), 0);
	/* Exceptions alone do not turn a filter on: tap without rules passes everything. */
	assert_false(egress_filter_active(f));
	for (uint16_t port = 2; port < EGRESS_MAX_LOOPBACK; port++)
		assert_int_equal(egress_filter_add_host_loopback(f, AF_INET, a, port), 0);
	assert_int_equal(egress_filter_add_host_loopback(f, AF_INET, a, 9999), -ENOSPC);
	assert_int_equal(egress_filter_add_host_loopback(f, AF_INET, a, 80), 0);
	egress_filter_destroy(f);
}

/* ---- no rules: allowed destinations are logged too ---- */

static void test_egress_without_rules_logs_each_allowed_destination_once(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);

	(void)state;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	rx(f, TCP4_REPLY(SERVER4, 443, SYN | ACK), T0 + 1);
	for (unsigned int i = 0; i < 1000; i++)
		assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), T0 + 2 + i), EGRESS_PASS);
	/* A second connection to the same destination adds no line within the window. */
	assert_int_equal(
	    tx(f, PKT(.dst = SERVER4, .proto = TCP, .sport = 40001, .dport = 443, .tcp_flags = SYN),
	       T0 + 2000),
	    EGRESS_PASS);
	assert_int_equal(tx(f, UDP4("198.51.100.1", 443), T0 + 2001), EGRESS_PASS);
	assert_int_equal(tx(f, TCP6(SERVER6, 443, SYN), T0 + 2002), EGRESS_PASS);
	assert_int_equal(logs.count, 3);
	assert_string_equal(logs.lines[0], "egress: allowed tcp 93.184.216.34:443");
	assert_string_equal(logs.lines[1], "egress: allowed udp 198.51.100.1:443");
	assert_string_equal(logs.lines[2], "egress: allowed tcp [2606:2800:220:1::1]:443");
	/* The same flow long after the window is still the same flow: no new line. */
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), T0 + 2 * EGRESS_LOG_WINDOW_MS),
			 EGRESS_PASS);
	assert_int_equal(logs.count, 3);
	egress_filter_destroy(f);
}

static void test_egress_without_rules_allowed_lines_share_the_rate_cap(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);

	(void)state;
	for (uint16_t port = 1; port <= 1000; port++) /* 1000 destinations */
		assert_int_equal(tx(f, TCP4(SERVER4, port, SYN), T0), EGRESS_PASS);
	assert_int_equal(logs.count, EGRESS_LOG_RATE);
	assert_int_equal(tx(f, UDP4("10.9.9.9", 53), T0 + 1000), EGRESS_DROP);
	assert_int_equal(logs.count, EGRESS_LOG_RATE + 2);
	assert_string_equal(logs.lines[EGRESS_LOG_RATE],
			    "egress: 990 more log lines suppressed (at most 10 lines/s)");
	egress_filter_destroy(f);
}

/* ---- logging ---- */

static void test_egress_log_dedupes_per_destination_window(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("93.184.216.34:443"));
	struct frame drop = UDP4("8.8.8.8", 53);

	(void)state;
	for (unsigned int i = 0; i < 100000; i++)
		assert_int_equal(tx(f, drop, T0 + i / 10), EGRESS_DROP);
	assert_int_equal(logs.count, 1);
	assert_string_equal(logs.lines[0], "egress: dropped udp 8.8.8.8:53");
	/* A new window logs again; allowed ones are logged once too. */
	assert_int_equal(tx(f, drop, T0 + EGRESS_LOG_WINDOW_MS + 1), EGRESS_DROP);
	assert_int_equal(logs.count, 2);
	for (unsigned int i = 0; i < 1000; i++)
		assert_int_equal(
		    tx(f,
		       PKT(.dst = "93.184.216.34", .proto = TCP, .sport = (uint16_t)(2000 + i),
			   .dport = 443, .tcp_flags = SYN),
		       T0 + i),
		    EGRESS_PASS);
	assert_int_equal(logs.count, 3);
	assert_string_equal(logs.lines[2],
			    "egress: allowed tcp 93.184.216.34:443 (rule 93.184.216.34:443)");
	egress_filter_destroy(f);
}

static void test_egress_log_rate_is_capped_with_summary(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("192.0.2.1"));

	(void)state;
	for (unsigned int i = 0; i < 100000; i++) {
		struct frame fr = UDP4("198.51.100.1", 53);

		put16(fr.b + 14 + 16 + 2, (uint16_t)i); /* 198.51.x.y */
		fr.b[14 + 16 + 1] = (uint8_t)(i >> 16);
		assert_int_equal(tx(f, fr, T0), EGRESS_DROP);
	}
	assert_int_equal(logs.count, EGRESS_LOG_RATE);
	/* A second later the next line comes with a summary of what was suppressed. */
	assert_int_equal(tx(f, UDP4("203.0.113.1", 53), T0 + 1000), EGRESS_DROP);
	assert_int_equal(logs.count, EGRESS_LOG_RATE + 2);
	assert_string_equal(logs.lines[EGRESS_LOG_RATE],
			    "egress: 99990 more log lines suppressed (at most 10 lines/s)");
	assert_string_equal(logs.lines[EGRESS_LOG_RATE + 1], "egress: dropped udp 203.0.113.1:53");
	/* Over a long flood the rate holds: 10 lines and one summary per second. */
	for (unsigned int i = 0; i < 50000; i++) {
		struct frame fr = UDP4("198.18.0.0", 53);

		put16(fr.b + 14 + 16 + 2, (uint16_t)i);
		tx(f, fr, T0 + 2000 + i / 10); /* 5 s */
	}
	assert_true(logs.count <= EGRESS_LOG_RATE + 2 + 6 * (EGRESS_LOG_RATE + 1));
	egress_filter_destroy(f);
}

static void test_egress_clock_going_back_is_harmless(void **state)
{
	struct egress_filter *f = filter_with_learned_server();

	(void)state;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), T0 - 50 * SEC), EGRESS_PASS);
	assert_int_equal(tx(f, UDP4("8.8.8.8", 53), T0), EGRESS_DROP);
	assert_int_equal(tx(f, UDP4("8.8.8.8", 53), 0), EGRESS_DROP);
	egress_filter_destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_egress_rule_accepts_names_and_addresses),
	    cmocka_unit_test(test_egress_rule_rejects_bad_syntax_with_message),
	    cmocka_unit_test(test_egress_add_rule_reports_errors_and_limits),
	    cmocka_unit_test(test_egress_last_of_many_name_rules_learns),
	    cmocka_unit_test(test_egress_add_resolver_checks_family_and_limit),
	    cmocka_unit_test(test_egress_inactive_filter_passes_everything),
	    cmocka_unit_test(test_egress_cidr_rule_with_port_v4),
	    cmocka_unit_test(test_egress_cidr_rule_without_port_allows_all_protocols),
	    cmocka_unit_test(test_egress_cidr_rule_v6),
	    cmocka_unit_test(test_egress_ipv4_rule_does_not_match_mapped_ipv6),
	    cmocka_unit_test(test_egress_host_loopback_port_passes_other_ports_drop),
	    cmocka_unit_test(test_egress_host_loopback_is_not_a_rule_public_still_passes),
	    cmocka_unit_test(test_egress_host_loopback_with_rules_allows_rules_and_exception_only),
	    cmocka_unit_test(test_egress_host_loopback_without_port_allows_every_protocol),
	    cmocka_unit_test(test_egress_host_loopback_public_address_passes_only_its_ports),
	    cmocka_unit_test(test_egress_add_host_loopback_checks_family_and_limit),
	    cmocka_unit_test(test_egress_without_rules_logs_each_allowed_destination_once),
	    cmocka_unit_test(test_egress_without_rules_allowed_lines_share_the_rate_cap),
	    cmocka_unit_test(test_egress_log_dedupes_per_destination_window),
	    cmocka_unit_test(test_egress_log_rate_is_capped_with_summary),
	    cmocka_unit_test(test_egress_clock_going_back_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
