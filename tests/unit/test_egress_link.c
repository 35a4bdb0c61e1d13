/* Unit tests for the egress filter (devices/net/egress.c): block_private and link control,
 * resolvers learned from DHCP and router advertisements, malformed input. */
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

/* ---- block_private ---- */

static void test_egress_block_private_drops_local_ranges(void **state)
{
	static const char *const v4[] = {
	    "169.254.169.254", "10.1.2.3",   "172.16.0.1", "172.31.255.255", "192.168.1.1",
	    "127.0.0.1",       "100.64.0.1", "0.1.2.3",	   "224.0.0.251",    "255.255.255.255"};
	static const char *const v6[] = {"fe80::1",
					 "fd00::1",
					 "fc00::1",
					 "::1",
					 "::",
					 "::ffff:169.254.169.254",
					 "64:ff9b::a9fe:a9fe",
					 "2002:a00:1::1",
					 "fec0::1",
					 "ff0e::1"};
	struct egress_filter *f = filter_new(true, NULL);

	(void)state;
	assert_true(egress_filter_active(f));
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
		if (tx(f, TCP4(v4[i], 80, SYN), T0) != EGRESS_DROP)
			fail_msg("%s passed", v4[i]);
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++)
		if (tx(f, TCP6(v6[i], 80, SYN), T0) != EGRESS_DROP)
			fail_msg("%s passed", v6[i]);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("172.32.0.1", 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("100.128.0.1", 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP6(SERVER6, 443, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP6("::ffff:93.184.216.34", 443, SYN), T0), EGRESS_PASS);
	assert_true(
	    logged("egress: dropped tcp 169.254.169.254:80 (private or link-local address)"));
	egress_filter_destroy(f);
}

static void test_egress_block_private_passes_link_control(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);
	struct frame arp = {.len = 42};

	(void)state;
	/* An ARP request from the guest's MAC for 10.0.2.2 (RFC 826). */
	memcpy(arp.b, "\xff\xff\xff\xff\xff\xff\x52\x54\x00\x12\x34\x56\x08\x06", 14);
	memcpy(arp.b + 14, "\x00\x01\x08\x00\x06\x04\x00\x01\x52\x54\x00\x12\x34\x56", 14);
	put_addr(arp.b + 28, 4, GUEST4);
	put_addr(arp.b + 38, 4, "10.0.2.2");
	assert_int_equal(tx(f, arp, T0), EGRESS_PASS);
	assert_int_equal(tx(f,
			    PKT(.src = "0.0.0.0", .dst = "255.255.255.255", .proto = UDP,
				.sport = 68, .dport = 67),
			    T0),
			 EGRESS_PASS);
	assert_int_equal(tx(f,
			    PKT(.family = 6, .src = "fe80::15", .dst = "ff02::1:2", .proto = UDP,
				.sport = 546, .dport = 547),
			    T0),
			 EGRESS_PASS);
	egress_filter_destroy(f);
}

static void test_egress_block_private_passes_neighbour_discovery(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);
	uint8_t target[16];

	(void)state;
	/* Router solicitation, neighbour solicitation and advertisement (egress_link.c). */
	put_addr(target, 6, "fe80::2");
	assert_int_equal(tx(f,
			    PKT(.family = 6, .src = "fe80::15", .dst = "ff02::2", .proto = ICMP6,
				.icmp_type = 133, .ttl = 255),
			    T0),
			 EGRESS_PASS);
	assert_int_equal(
	    tx(f,
	       PKT(.family = 6, .src = "fe80::15", .dst = "ff02::1:ff00:2", .proto = ICMP6,
		   .icmp_type = 135, .ttl = 255, .payload = target, .payload_len = 16),
	       T0),
	    EGRESS_PASS);
	assert_int_equal(tx(f,
			    PKT(.family = 6, .src = "fe80::15", .dst = "fe80::2", .proto = ICMP6,
				.icmp_type = 136, .ttl = 255, .payload = target, .payload_len = 16),
			    T0),
			 EGRESS_PASS);
	/* MLDv2 report. */
	assert_int_equal(tx(f,
			    PKT(.family = 6, .src = "fe80::15", .dst = "ff02::16", .proto = ICMP6,
				.icmp_type = 143, .ttl = 1),
			    T0),
			 EGRESS_PASS);
	/* Link-local traffic that is not NDP is dropped, and so is NDP that could be routed. */
	assert_int_equal(tx(f,
			    PKT(.family = 6, .src = "fe80::15", .dst = "fe80::2", .proto = ICMP6,
				.icmp_type = 128, .icmp_id = 1),
			    T0),
			 EGRESS_DROP);
	assert_int_equal(tx(f,
			    PKT(.family = 6, .src = "fe80::15", .dst = "fe80::2", .proto = ICMP6,
				.icmp_type = 137, .ttl = 255),
			    T0),
			 EGRESS_DROP);
	assert_int_equal(
	    tx(f, PKT(.family = 6, .dst = "fe80::2", .proto = ICMP6, .icmp_type = 135, .ttl = 64),
	       T0),
	    EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_block_private_with_rule_allows_only_rules(void **state)
{
	struct egress_filter *f = filter_new(true, RULES("10.0.2.2:8080"));

	(void)state;
	assert_int_equal(tx(f, TCP4("10.0.2.2", 8080, SYN), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4("10.0.2.2", 80, SYN), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_DROP);
	assert_true(logged("egress: allowed tcp 10.0.2.2:8080 (rule 10.0.2.2:8080)"));
	assert_true(logged("egress: dropped tcp 93.184.216.34:443"));
	egress_filter_destroy(f);
}

/* ---- resolvers and DHCP ---- */

static void test_egress_dns_query_to_resolver_passes_other_server_drops(void **state)
{
	struct egress_filter *f = filter_new(true, RULES("api.example.com"));

	(void)state;
	assert_int_equal(tx(f, UDP4(RESOLVER4, 53), T0), EGRESS_PASS);
	assert_int_equal(tx(f, TCP4(RESOLVER4, 53, SYN), T0), EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.family = 6, .dst = RESOLVER6, .proto = UDP, .sport = 9, .dport = 53), T0),
	    EGRESS_PASS);
	assert_int_equal(tx(f, UDP4(RESOLVER4, 853), T0), EGRESS_DROP);
	assert_int_equal(tx(f, UDP4("8.8.8.8", 53), T0), EGRESS_DROP);
	assert_int_equal(tx(f, TCP4("8.8.8.8", 53, SYN), T0), EGRESS_DROP);
	assert_true(logged("egress: dropped udp 8.8.8.8:53"));
	egress_filter_destroy(f);
}

/* A DHCP ACK (or OFFER) from src carrying option 6 = dns. */
static struct frame dhcp_reply(const char *src, uint8_t msgtype, const char *dns)
{
	static uint8_t bootp[300];
	size_t n = 240;

	memset(bootp, 0, sizeof(bootp));
	bootp[0] = 2; /* BOOTREPLY */
	memcpy(bootp + 236, "\x63\x82\x53\x63", 4);
	bootp[n++] = 53;
	bootp[n++] = 1;
	bootp[n++] = msgtype;
	bootp[n++] = 6;
	bootp[n++] = 4;
	put_addr(bootp + n, 4, dns);
	n += 4;
	bootp[n++] = 255;
	return PKT(.src = src, .dst = "255.255.255.255", .proto = UDP, .sport = 67, .dport = 68,
		   .payload = bootp, .payload_len = n);
}

static void test_egress_dhcp_ack_teaches_resolver(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com"));
	uint8_t server[4];
	struct dnsmsg m;

	(void)state;
	put_addr(server, 4, "10.0.2.2");
	assert_int_equal(egress_filter_add_dhcp_server(f, AF_INET, server), 0);
	assert_int_equal(tx(f, UDP4("192.0.2.53", 53), T0), EGRESS_DROP);
	/* A DHCP REQUEST is not an answer and teaches nothing. */
	rx(f, dhcp_reply("10.0.2.2", 3, "192.0.2.53"), T0);
	assert_int_equal(tx(f, UDP4("192.0.2.53", 53), T0), EGRESS_DROP);
	/* Renewing by unicast to a DHCP server we have not seen is dropped. */
	assert_int_equal(tx(f, PKT(.dst = "10.0.2.2", .proto = UDP, .sport = 68, .dport = 67), T0),
			 EGRESS_DROP);
	rx(f, dhcp_reply("10.0.2.2", 5, "192.0.2.53"), T0);
	assert_int_equal(tx(f, UDP4("192.0.2.53", 53), T0), EGRESS_PASS);
	assert_int_equal(tx(f, PKT(.dst = "10.0.2.2", .proto = UDP, .sport = 68, .dport = 67), T0),
			 EGRESS_PASS);
	dns_start(&m, "api.example.com");
	dns_a(&m, "api.example.com", 300, SERVER4);
	rx_dns(f, 4, "192.0.2.53", &m, T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_PASS);
	egress_filter_destroy(f);
}

static void test_egress_dhcp_ack_without_dns_still_names_the_server(void **state)
{
	struct egress_filter *f = filter_new(true, NULL);
	struct frame ack = dhcp_reply("10.0.2.2", 5, "0.0.0.0");

	(void)state;
	ack.len -= 7; /* cut option 6 and the end option: an ACK that names no resolver */
	put16(ack.b + 14 + 2, (uint16_t)(ack.len - 14));
	put16(ack.b + 14 + 20 + 4, (uint16_t)(ack.len - 14 - 20));
	rx(f, ack, T0);
	assert_int_equal(tx(f, PKT(.dst = "10.0.2.2", .proto = UDP, .sport = 68, .dport = 67), T0),
			 EGRESS_PASS);
	assert_int_equal(tx(f, UDP4("0.0.0.0", 53), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_ra_rdnss_and_dhcpv6_teach_resolvers(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com"));
	uint8_t ra[16 + 24], reply[4 + 4 + 16], router[16];

	(void)state;
	put_addr(router, 6, "fe80::1");
	assert_int_equal(egress_filter_add_dhcp_server(f, AF_INET6, router), 0);
	memset(ra, 0, sizeof(ra));
	ra[0] = 134;
	ra[16] = 25; /* RDNSS */
	ra[17] = 3;
	put_addr(ra + 24, 6, "2001:db8:53::1");
	memset(reply, 0, sizeof(reply));
	reply[0] = 7; /* REPLY */
	put16(reply + 4, 23);
	put16(reply + 6, 16);
	put_addr(reply + 8, 6, "2001:db8:53::2");
	assert_int_equal(
	    tx(f, PKT(.family = 6, .dst = "2001:db8:53::1", .proto = UDP, .sport = 9, .dport = 53),
	       T0),
	    EGRESS_DROP);
	/* build() writes the ICMPv6 header itself: pass the RA body after its first 8 bytes. */
	rx(f,
	   PKT(.family = 6, .src = "fe80::1", .dst = "ff02::1", .proto = ICMP6, .icmp_type = 134,
	       .ttl = 255, .payload = ra + 8, .payload_len = sizeof(ra) - 8),
	   T0);
	rx(f,
	   PKT(.family = 6, .src = "fe80::1", .dst = "fe80::15", .proto = UDP, .sport = 547,
	       .dport = 546, .payload = reply, .payload_len = sizeof(reply)),
	   T0);
	assert_int_equal(
	    tx(f, PKT(.family = 6, .dst = "2001:db8:53::1", .proto = UDP, .sport = 9, .dport = 53),
	       T0),
	    EGRESS_PASS);
	assert_int_equal(
	    tx(f, PKT(.family = 6, .dst = "2001:db8:53::2", .proto = UDP, .sport = 9, .dport = 53),
	       T0),
	    EGRESS_PASS);
	egress_filter_destroy(f);
}

/* ---- malformed input ---- */

static void test_egress_malformed_frames_are_dropped(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("0.0.0.0/0", "::/0"));
	struct frame good = TCP4(SERVER4, 443, SYN), bad;

	(void)state;
	assert_int_equal(tx(f, good, T0), EGRESS_PASS);
	for (size_t len = 0; len < good.len; len++)
		assert_int_equal(egress_check_tx(f, good.b, len, T0), EGRESS_DROP);
	bad = good;
	bad.b[14] = 0x44; /* IHL 4 */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = good;
	bad.b[14] = 0x4f; /* IHL 15: longer than the packet */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = good;
	put16(bad.b + 16, 1500); /* total length beyond the frame */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = good;
	put16(bad.b + 16, 19); /* shorter than the header */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = good;
	bad.b[14] = 0x65; /* version 6 in an IPv4 ethertype */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = good;
	bad.b[14 + 20 + 12] = 0x40; /* TCP data offset 4 */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = good;
	bad.b[14 + 20 + 12] = 0xf0; /* TCP data offset beyond the packet */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = UDP4(SERVER4, 443);
	put16(bad.b + 14 + 20 + 4, 9); /* UDP length beyond the packet */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = UDP4(SERVER4, 443);
	put16(bad.b + 14 + 20 + 4, 7);
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = good;
	put16(bad.b + 12, 0x88cc); /* LLDP */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = good;
	put16(bad.b + 12, 0x8100); /* VLAN tag */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	bad = TCP6(SERVER6, 443, SYN);
	put16(bad.b + 18, 1000); /* IPv6 payload length beyond the frame */
	assert_int_equal(tx(f, bad, T0), EGRESS_DROP);
	assert_true(logged("egress: dropped malformed IPv4 packet"));
	assert_true(logged("egress: dropped malformed IPv6 packet"));
	assert_true(logged("egress: dropped frame with ethertype 0x88cc"));
	assert_true(logged("egress: dropped VLAN-tagged frame"));
	egress_filter_destroy(f);
}

/* An IPv6 packet to SERVER6 whose chain has `count` extension headers of type nh. */
static struct frame ipv6_with_ext_headers(unsigned int count, uint8_t nh, uint8_t segments_left)
{
	uint8_t chain[FRAME_CAP];
	struct frame fr;
	size_t n = 0;

	memset(chain, 0, sizeof(chain));
	for (unsigned int i = 0; i < count; i++, n += 8) {
		chain[n] = i + 1 < count ? nh : UDP;
		chain[n + 3] = segments_left;
	}
	put16(chain + n, 9);
	put16(chain + n + 2, 443);
	put16(chain + n + 4, 8);
	n += 8;
	fr = PKT(.family = 6, .dst = SERVER6, .proto = nh, .payload = chain, .payload_len = n);
	return fr;
}

static void test_egress_ipv6_extension_headers(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("[2606:2800:220:1::1]:443"));
	struct frame fr;

	(void)state;
	assert_int_equal(tx(f, ipv6_with_ext_headers(1, 0, 0), T0), EGRESS_PASS);
	assert_int_equal(tx(f, ipv6_with_ext_headers(8, 60, 0), T0), EGRESS_PASS);
	/* Longer chains than we walk are dropped, so is a chain cut short. */
	assert_int_equal(tx(f, ipv6_with_ext_headers(9, 60, 0), T0), EGRESS_DROP);
	assert_int_equal(tx(f, ipv6_with_ext_headers(100, 60, 0), T0), EGRESS_DROP);
	fr = ipv6_with_ext_headers(3, 60, 0);
	fr.b[14 + 40 + 8 + 1] = 200; /* second header claims 1608 bytes */
	assert_int_equal(tx(f, fr, T0), EGRESS_DROP);
	/* Routing headers: segments left means another destination. */
	assert_int_equal(tx(f, ipv6_with_ext_headers(1, 43, 0), T0), EGRESS_PASS);
	assert_int_equal(tx(f, ipv6_with_ext_headers(1, 43, 1), T0), EGRESS_DROP);
	assert_true(logged("egress: dropped udp [2606:2800:220:1::1]:443 (source-routed)"));
	egress_filter_destroy(f);
}

static void test_egress_fragments_pass_only_without_port_rules(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("198.51.100.1:443", "198.51.100.2"));
	struct frame a = UDP4("198.51.100.1", 443), b = UDP4("198.51.100.2", 443), v6;

	(void)state;
	a.b[14 + 6] = 0x20; /* MF */
	b.b[14 + 6] = 0x20;
	assert_int_equal(tx(f, a, T0), EGRESS_DROP);
	assert_int_equal(tx(f, b, T0), EGRESS_PASS);
	a.b[14 + 6] = 0x00; /* offset 8, no MF: a last fragment */
	a.b[14 + 7] = 0x01;
	assert_int_equal(tx(f, a, T0), EGRESS_DROP);
	assert_true(logged("egress: dropped udp 198.51.100.1 (IP fragment)"));
	/* An IPv6 atomic fragment is a whole packet; a real one is a fragment. */
	v6 = ipv6_with_ext_headers(1, 44, 0);
	egress_filter_destroy(f);
	f = filter_new(false, RULES("[2606:2800:220:1::1]:443"));
	assert_int_equal(tx(f, v6, T0), EGRESS_PASS);
	v6.b[14 + 40 + 3] = 0x01; /* M */
	assert_int_equal(tx(f, v6, T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_ipv4_source_route_is_dropped(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("198.51.100.1"));
	uint8_t opts[8] = {1, 131, 7, 4, 0, 0, 0, 0};
	struct frame fr =
	    PKT(.dst = "198.51.100.1", .proto = 200, .payload = opts, .payload_len = sizeof(opts));

	(void)state;
	/* Turn the payload into options: IHL 7 (28 bytes). */
	fr.b[14] = 0x47;
	assert_int_equal(tx(f, fr, T0), EGRESS_DROP);
	opts[1] = 1; /* NOPs and a router alert instead */
	opts[2] = 148;
	opts[3] = 4;
	fr = PKT(.dst = "198.51.100.1", .proto = 200, .payload = opts, .payload_len = sizeof(opts));
	fr.b[14] = 0x47;
	assert_int_equal(tx(f, fr, T0), EGRESS_PASS);
	opts[3] = 9; /* an option longer than the header */
	fr = PKT(.dst = "198.51.100.1", .proto = 200, .payload = opts, .payload_len = sizeof(opts));
	fr.b[14] = 0x47;
	assert_int_equal(tx(f, fr, T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static void test_egress_malformed_dns_answers_teach_nothing(void **state)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com"));
	struct dnsmsg m;
	size_t a_off;

	(void)state;
	/* A compression pointer pointing at itself as the answer's owner. */
	dns_start(&m, "api.example.com");
	a_off = m.len;
	dns_a(&m, "api.example.com", 300, SERVER4);
	m.b[a_off] = 0xc0;
	m.b[a_off + 1] = (uint8_t)a_off;
	rx_dns(f, 4, RESOLVER4, &m, T0);
	/* Truncated in the middle of the address. */
	dns_start(&m, "api.example.com");
	dns_a(&m, "api.example.com", 300, SERVER4);
	m.len -= 2;
	rx_dns(f, 4, RESOLVER4, &m, T0);
	/* A huge answer count with nothing behind it. */
	dns_start(&m, "api.example.com");
	put16(m.b + 6, 65535);
	rx_dns(f, 4, RESOLVER4, &m, T0);
	/* A query, not a response. */
	dns_start(&m, "api.example.com");
	dns_a(&m, "api.example.com", 300, SERVER4);
	m.b[2] = 0x01;
	rx_dns(f, 4, RESOLVER4, &m, T0);
	assert_int_equal(tx(f, TCP4(SERVER4, 443, SYN), T0), EGRESS_DROP);
	egress_filter_destroy(f);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random byte flips, truncations and length-field edits over valid frames, both directions. */
static void test_egress_survives_random_mutations(void **state)
{
	struct egress_filter *f =
	    filter_new(true, RULES("api.example.com", "10.0.0.0/8:22", "[2001:db8::/32]:443"));
	struct frame seeds[8], fr;
	struct dnsmsg m;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	(void)state;
	dns_start(&m, "api.example.com");
	dns_cname(&m, "api.example.com", 300, "edge.cdn.net");
	dns_a(&m, "edge.cdn.net", 300, SERVER4);
	dns_aaaa(&m, "edge.cdn.net", 300, SERVER6);
	seeds[0] = TCP4(SERVER4, 443, SYN);
	seeds[1] = TCP6("2001:db8::1", 443, SYN | ACK);
	seeds[2] = PKT(.src = RESOLVER4, .dst = GUEST4, .proto = UDP, .sport = 53, .dport = 3333,
		       .payload = m.b, .payload_len = m.len);
	seeds[3] = dhcp_reply("10.0.2.2", 5, RESOLVER4);
	seeds[4] = ipv6_with_ext_headers(4, 60, 0);
	seeds[5] = PKT(.family = 6, .src = RESOLVER6, .dst = GUEST6, .proto = UDP, .sport = 53,
		       .dport = 3333, .payload = m.b, .payload_len = m.len);
	seeds[6] = PKT(.dst = "10.0.2.2", .proto = ICMP, .icmp_type = 8, .icmp_id = 5);
	seeds[7] = PKT(.family = 6, .src = "fe80::15", .dst = "ff02::2", .proto = ICMP6,
		       .icmp_type = 133, .ttl = 255);
	for (unsigned int i = 0; i < 40000; i++) {
		uint64_t r = rng_next(&seed);
		unsigned int flips = 1 + (unsigned int)(r % 6);

		fr = seeds[(r >> 8) % 8];
		for (unsigned int k = 0; k < flips; k++) {
			uint64_t x = rng_next(&seed);

			fr.b[x % fr.len] = (uint8_t)(x >> 32);
		}
		if ((r >> 16) % 4 == 0)
			fr.len = (size_t)((r >> 24) % (fr.len + 1));
		if ((r >> 40) % 2)
			rx(f, fr, T0 + i);
		else
			assert_true(tx(f, fr, T0 + i) <= EGRESS_DROP);
	}
	egress_filter_destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_egress_block_private_drops_local_ranges),
	    cmocka_unit_test(test_egress_block_private_passes_link_control),
	    cmocka_unit_test(test_egress_block_private_passes_neighbour_discovery),
	    cmocka_unit_test(test_egress_block_private_with_rule_allows_only_rules),
	    cmocka_unit_test(test_egress_dns_query_to_resolver_passes_other_server_drops),
	    cmocka_unit_test(test_egress_dhcp_ack_teaches_resolver),
	    cmocka_unit_test(test_egress_dhcp_ack_without_dns_still_names_the_server),
	    cmocka_unit_test(test_egress_ra_rdnss_and_dhcpv6_teach_resolvers),
	    cmocka_unit_test(test_egress_malformed_frames_are_dropped),
	    cmocka_unit_test(test_egress_ipv6_extension_headers),
	    cmocka_unit_test(test_egress_fragments_pass_only_without_port_rules),
	    cmocka_unit_test(test_egress_ipv4_source_route_is_dropped),
	    cmocka_unit_test(test_egress_malformed_dns_answers_teach_nothing),
	    cmocka_unit_test(test_egress_survives_random_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
