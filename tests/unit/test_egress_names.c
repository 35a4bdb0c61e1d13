/* Unit tests for the egress filter (devices/net/egress.c): name rules learned from DNS answers, and
 * the flows they open (outbound and inbound). */
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

/* ---- name rules and DNS ---- */

static void test_egress_name_rule_passes_only_after_dns_answer(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com:443"));
	struct dnsmsg m;

	(void)state;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_DROP);
	dns_start(&m, "api.example.com");
	dns_a(&m, "API.example.com", 300, SERVER4);
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0 + 1), EGRESS_PASS);
	assert_true(logged("egress: allowed tcp 93.184.216.34:443 (rule api.example.com:443)"));
	assert_int_equal(tx(f, TCP4(SERVER4, 80, SYN), T0 + 1), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_name_rule_follows_cname_chain(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("www.example.com"));
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "www.example.com");
	dns_cname(&m, "www.example.com", 60, "www.example.com.cdn.net");
	dns_cname(&m, "www.example.com.cdn.net", 60, "edge7.CDN.net");
	dns_a(&m, "edge7.cdn.net", 20, "198.51.100.7");
	dns_aaaa(&m, "edge7.cdn.net", 20, "2001:db8:77::7");
	dns_a(&m, "unrelated.cdn.net", 20, "198.51.100.8");
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, TCP4("198.51.100.7", 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP6("2001:db8:77::7", 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("198.51.100.8", 443, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_cname_chain_longer_than_limit_is_not_followed(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("a0.example"));
	char owner[32], target[32];
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "a0.example");
	for (int i = 0; i < 9; i++) {
		snprintf(owner, sizeof(owner), "a%d.example", i);
		snprintf(target, sizeof(target), "a%d.example", i + 1);
		dns_cname(&m, owner, 60, target);
	}
	dns_a(&m, "a8.example", 60, "198.51.100.8"); /* 8 CNAMEs away */
	dns_a(&m, "a9.example", 60, "198.51.100.9"); /* 9 CNAMEs away */
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, TCP4("198.51.100.8", 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("198.51.100.9", 443, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_answer_for_other_name_does_not_allow(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com"));
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "evil.example.net");
	dns_a(&m, "evil.example.net", 300, "203.0.113.66");
	/* A CNAME *to* an allowed name does not make its owner allowed. */
	dns_cname(&m, "evil2.example.net", 300, "api.example.com");
	dns_a(&m, "evil2.example.net", 300, "203.0.113.67");
	dns_a(&m, "xapi.example.com", 300, "203.0.113.68");
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, TCP4("203.0.113.66", 443, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4("203.0.113.67", 443, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4("203.0.113.68", 443, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_answer_from_non_resolver_is_ignored(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com"));
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "api.example.com");
	dns_a(&m, "api.example.com", 300, SERVER4);
	rx_dns(f, 4, "8.8.8.8", &m, T0);
	/* From the resolver's address but not from port 53. */
	rx(f,
	   PKT(.src = RESOLVER4, .dst = GUEST4, .proto = UDP, .sport = 5353, .dport = 33333,
	       .payload = m.b, .payload_len = m.len),
	   T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_error_response_is_ignored(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com"));
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "api.example.com");
	dns_a(&m, "api.example.com", 300, SERVER4);
	m.b[3] = 0x83; /* NXDOMAIN */
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_wildcard_rule_matches_subdomains_only(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("*.example.com:443"));
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "x");
	dns_a(&m, "a.b.example.com", 300, "198.51.100.1");
	dns_a(&m, "example.com", 300, "198.51.100.2");
	dns_a(&m, "badexample.com", 300, "198.51.100.3");
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, TCP4("198.51.100.1", 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("198.51.100.2", 443, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4("198.51.100.3", 443, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_aaaa_answer_from_ipv6_resolver_allows_ipv6(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com:443"));
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "api.example.com");
	dns_aaaa(&m, "api.example.com", 300, SERVER6);
	rx_dns(f, 6, RESOLVER6, &m, T0);
	assert_int_equal(tx(f, TCP6(SERVER6, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP6(SERVER6, 80, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_dns_over_tcp_answer_learns(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com"));
	uint8_t seg[1100];
	struct frame syn_ack;
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "api.example.com");
	dns_a(&m, "api.example.com", 300, SERVER4);
	put16(seg, (uint16_t)m.len);
	memcpy(seg + 2, m.b, m.len);
	/* The resolver's SYN-ACK (ISN 0xffffffff) starts the stream at sequence number 0. */
	syn_ack = PKT(.src = RESOLVER4, .dst = GUEST4, .proto = TCP, .sport = 53, .dport = 40001,
		      .tcp_flags = SYN | ACK);
	memset(syn_ack.b + 14 + 20 + 4, 0xff, 4);
	rx(f, syn_ack, T0);
	/* A segment shorter than the announced message teaches nothing... */
	rx(f,
	   PKT(.src = RESOLVER4, .dst = GUEST4, .proto = TCP, .sport = 53, .dport = 40001,
	       .tcp_flags = ACK, .payload = seg, .payload_len = m.len + 1),
	   T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_DROP);
	/* ...the whole one (resent from the start) does. */
	rx(f,
	   PKT(.src = RESOLVER4, .dst = GUEST4, .proto = TCP, .sport = 53, .dport = 40001,
	       .tcp_flags = ACK, .payload = seg, .payload_len = m.len + 2),
	   T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	egress_filter_destroy(f);
}

static void test_egress_learned_address_lives_max_of_ttl_and_60s(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("short.example", "long.example"));
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "short.example");
	dns_a(&m, "short.example", 5, "198.51.100.5");
	dns_a(&m, "long.example", 300, "198.51.100.6");
	rx_dns(f, 4, RESOLVER4, &m, T0);
	/* Each check uses a new source port: a new flow, judged by the rules. */
	assert_int_equal(
	    tx(f, PKT(.dst = "198.51.100.5", .proto = UDP, .sport = 1, .dport = 9), T0 + 59 * SEC),
	    EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.dst = "198.51.100.5", .proto = UDP, .sport = 2, .dport = 9), T0 + 61 * SEC),
	    EGRESS_DROP);
	assert_int_equal(
	    tx(f, PKT(.dst = "198.51.100.6", .proto = UDP, .sport = 3, .dport = 9), T0 + 299 * SEC),
	    EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.dst = "198.51.100.6", .proto = UDP, .sport = 4, .dport = 9), T0 + 301 * SEC),
	    EGRESS_DROP);
	/* A fresh answer renews. */
	rx_dns(f, 4, RESOLVER4, &m, T0 + 400 * SEC);
	assert_int_equal(
	    tx(f, PKT(.dst = "198.51.100.6", .proto = UDP, .sport = 5, .dport = 9), T0 + 401 * SEC),
	    EGRESS_PASS);
	egress_filter_destroy(f);
}

static void test_egress_established_flow_outlives_dns_expiry_until_fin(void **state)
{
	struct egress_filter *f = filter_with_learned_server();
	uint64_t t = T0;

	(void)state;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), t), EGRESS_PASS);
	rx(f, TCP4_REPLY(SERVER4, 443, SYN | ACK), t);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), t), EGRESS_PASS);
	/* Ten minutes later the name has expired; the connection still works. */
	t += 600 * SEC;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), t), EGRESS_PASS);
	rx(f, TCP4_REPLY(SERVER4, 443, ACK), t);
	/* A new connection to the same server does not. */
	assert_int_equal(
	    tx(f, PKT(.dst = SERVER4, .proto = TCP, .sport = 40002, .dport = 443, .tcp_flags = SYN),
	       t),
	    EGRESS_DROP);
	/* An hour idle is fine for an established connection. */
	t += 3600 * SEC;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), t), EGRESS_PASS);
	/* FIN from both sides; the last ACK still passes. */
	assert_int_equal(tx(f, TCP4(SERVER4, 443, FIN | ACK), t), EGRESS_PASS);
	rx(f, TCP4_REPLY(SERVER4, 443, FIN | ACK), t);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), t + 1), EGRESS_PASS);
	/* Then the flow is gone. */
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), t + 20 * SEC), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_rst_ends_flow(void **state)
{
	struct egress_filter *f = filter_with_learned_server();
	uint64_t t = T0 + 120 * SEC; /* after the answer expired */

	(void)state;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	rx(f, TCP4_REPLY(SERVER4, 443, SYN | ACK), T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), t), EGRESS_PASS);
	rx(f, TCP4_REPLY(SERVER4, 443, RST), t);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, ACK), t), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_unanswered_tcp_flow_expires_after_two_minutes(void **state)
{
	struct egress_filter *f = filter_with_learned_server();

	(void)state;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0 + 100 * SEC), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0 + 221 * SEC), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_syn_reusing_closing_flow_needs_rule(void **state)
{
	struct egress_filter *f = filter_with_learned_server();
	uint64_t t = T0 + 120 * SEC;

	(void)state;
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	rx(f, TCP4_REPLY(SERVER4, 443, SYN | ACK), T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, FIN | ACK), t), EGRESS_PASS);
	rx(f, TCP4_REPLY(SERVER4, 443, FIN | ACK), t);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), t + 1), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_udp_and_icmp_flows_idle_out(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("app.example"));
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "app.example");
	dns_a(&m, "app.example", 1, "198.51.100.1");
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, UDP4("198.51.100.1", 443), T0), EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.dst = "198.51.100.1", .proto = ICMP, .icmp_type = 8, .icmp_id = 42), T0),
	    EGRESS_PASS);
	/* After the answer expired: UDP continues within 120 s of idle, ICMP within 30 s. */
	assert_int_equal(tx(f, UDP4("198.51.100.1", 443), T0 + 110 * SEC), EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.dst = "198.51.100.1", .proto = ICMP, .icmp_type = 8, .icmp_id = 42),
	       T0 + 25 * SEC),
	    EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.dst = "198.51.100.1", .proto = ICMP, .icmp_type = 8, .icmp_id = 42),
	       T0 + 90 * SEC),
	    EGRESS_DROP);
	assert_int_equal(tx(f, UDP4("198.51.100.1", 443), T0 + 231 * SEC), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_flow_table_is_bounded(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("bulk.example"));
	unsigned int still = 0;
	struct dnsmsg m;

	(void)state;
	dns_start(&m, "bulk.example");
	dns_a(&m, "bulk.example", 60, "198.51.100.1");
	rx_dns(f, 4, RESOLVER4, &m, T0);
	for (unsigned int i = 0; i < 3 * EGRESS_FLOWS_MAX; i++)
		assert_int_equal(tx(f,
				    PKT(.dst = "198.51.100.1", .proto = UDP,
					.sport = (uint16_t)(1024 + i), .dport = 9),
				    T0 + i),
				 EGRESS_PASS);
	/* After expiry only flows still in the table pass, at most EGRESS_FLOWS_MAX. */
	for (unsigned int i = 0; i < 3 * EGRESS_FLOWS_MAX; i++)
		still += tx(f,
			    PKT(.dst = "198.51.100.1", .proto = UDP, .sport = (uint16_t)(1024 + i),
				.dport = 9),
			    T0 + 90 * SEC) == EGRESS_PASS;
	assert_true(still > 0);
	assert_true(still <= EGRESS_FLOWS_MAX);
	/* The newest flow survived. */
	assert_int_equal(tx(f,
			    PKT(.dst = "198.51.100.1", .proto = UDP,
				.sport = (uint16_t)(1024 + 3 * EGRESS_FLOWS_MAX - 1), .dport = 9),
			    T0 + 91 * SEC),
			 EGRESS_PASS);
	egress_filter_destroy(f);
}

/* ---- inbound flows ---- */

static void test_egress_inbound_syn_opens_flow_for_reply(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("198.51.100.200"));
	struct frame synack = PKT(.dst = "203.0.113.5", .proto = TCP, .sport = 8080, .dport = 5555,
				  .tcp_flags = SYN | ACK);

	(void)state;
	assert_int_equal(tx(f, synack, T0), EGRESS_DROP);
	rx(f,
	   PKT(.src = "203.0.113.5", .dst = GUEST4, .proto = TCP, .sport = 5555, .dport = 8080,
	       .tcp_flags = SYN),
	   T0);
	assert_int_equal(tx(f, synack, T0 + 1), EGRESS_PASS);
	/* Only to that peer and port. */
	assert_int_equal(tx(f,
			    PKT(.dst = "203.0.113.5", .proto = TCP, .sport = 8080, .dport = 5556,
				.tcp_flags = SYN | ACK),
			    T0 + 1),
			 EGRESS_DROP);
	/* A stray inbound ACK opens nothing. */
	rx(f,
	   PKT(.src = "203.0.113.6", .dst = GUEST4, .proto = TCP, .sport = 5555, .dport = 8080,
	       .tcp_flags = ACK),
	   T0);
	assert_int_equal(tx(f,
			    PKT(.dst = "203.0.113.6", .proto = TCP, .sport = 8080, .dport = 5555,
				.tcp_flags = ACK),
			    T0 + 1),
			 EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_inbound_udp_and_ping_open_flows(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);

	(void)state;
	/* block_private alone: replies to a private peer need the inbound flow. */
	assert_int_equal(
	    tx(f, PKT(.dst = "10.0.2.2", .proto = UDP, .sport = 7000, .dport = 6000), T0),
	    EGRESS_DROP);
	rx(f, PKT(.src = "10.0.2.2", .dst = GUEST4, .proto = UDP, .sport = 6000, .dport = 7000),
	   T0);
	assert_int_equal(
	    tx(f, PKT(.dst = "10.0.2.2", .proto = UDP, .sport = 7000, .dport = 6000), T0),
	    EGRESS_PASS);
	rx(f, PKT(.src = "10.0.2.2", .dst = GUEST4, .proto = ICMP, .icmp_type = 8, .icmp_id = 99),
	   T0);
	assert_int_equal(
	    tx(f, PKT(.dst = "10.0.2.2", .proto = ICMP, .icmp_type = 0, .icmp_id = 99), T0),
	    EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.dst = "10.0.2.2", .proto = ICMP, .icmp_type = 0, .icmp_id = 98), T0),
	    EGRESS_DROP);
	/* Multicast to the guest opens nothing. */
	rx(f,
	   PKT(.src = "10.0.2.9", .dst = "224.0.0.251", .proto = UDP, .sport = 5353, .dport = 5353),
	   T0);
	assert_int_equal(tx(f,
			    PKT(.src = "224.0.0.251", .dst = "10.0.2.9", .proto = UDP,
				.sport = 5353, .dport = 5353),
			    T0),
			 EGRESS_DROP);
	egress_filter_destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_egress_name_rule_passes_only_after_dns_answer),
	    cmocka_unit_test(test_egress_name_rule_follows_cname_chain),
	    cmocka_unit_test(test_egress_cname_chain_longer_than_limit_is_not_followed),
	    cmocka_unit_test(test_egress_answer_for_other_name_does_not_allow),
	    cmocka_unit_test(test_egress_answer_from_non_resolver_is_ignored),
	    cmocka_unit_test(test_egress_error_response_is_ignored),
	    cmocka_unit_test(test_egress_wildcard_rule_matches_subdomains_only),
	    cmocka_unit_test(test_egress_aaaa_answer_from_ipv6_resolver_allows_ipv6),
	    cmocka_unit_test(test_egress_dns_over_tcp_answer_learns),
	    cmocka_unit_test(test_egress_learned_address_lives_max_of_ttl_and_60s),
	    cmocka_unit_test(test_egress_established_flow_outlives_dns_expiry_until_fin),
	    cmocka_unit_test(test_egress_rst_ends_flow),
	    cmocka_unit_test(test_egress_unanswered_tcp_flow_expires_after_two_minutes),
	    cmocka_unit_test(test_egress_syn_reusing_closing_flow_needs_rule),
	    cmocka_unit_test(test_egress_udp_and_icmp_flows_idle_out),
	    cmocka_unit_test(test_egress_flow_table_is_bounded),
	    cmocka_unit_test(test_egress_inbound_syn_opens_flow_for_reply),
	    cmocka_unit_test(test_egress_inbound_udp_and_ping_open_flows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
