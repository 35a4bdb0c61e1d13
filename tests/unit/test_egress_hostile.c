/* Unit tests for the egress filter against a hostile guest: TCP DNS desync, rogue DHCP, ARP/NDP. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "devices/net/egress.h"

#define T0	  1000000ULL
#define GUEST4	  "10.0.2.15"
#define RESOLVER4 "10.0.2.3"
#define ALLOWED	  "allowed.example"
#define EVIL_IP	  "203.0.113.66" /* where the guest wants to go */
#define ISN	  0xfffffff0u	 /* the resolver's; wraps during the tests */

#define TCP 6
#define UDP 17
#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define ACK 0x10

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct frame {
	uint8_t b[4096];
	size_t len;
};

struct buf {
	uint8_t b[2048];
	size_t len;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_addr(uint8_t *p, int family, const char *text)
{
	assert_int_equal(inet_pton(family == 6 ? AF_INET6 : AF_INET, text, p), 1);
}

static void put(struct buf *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put_u16(struct buf *m, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	put(m, b, 2);
}

static void put_name(struct buf *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		uint8_t c = (uint8_t)n;

		put(m, &c, 1);
		put(m, name, n);
		name += n + (dot ? 1 : 0);
	}
	put(m, "", 1);
}

/* A DNS response header and question (one answer record follows). */
static void dns_head(struct buf *m, const char *qname, uint16_t qtype)
{
	m->len = 0;
	put_u16(m, 0x1234);
	put_u16(m, 0x8180);
	put_u16(m, 1);
	put_u16(m, 1);
	put_u16(m, 0);
	put_u16(m, 0);
	put_name(m, qname);
	put_u16(m, qtype);
	put_u16(m, 1);
}

static void dns_answer(struct buf *m, const char *owner, uint16_t type, const void *rd,
		       uint16_t rdlen)
{
	put_name(m, owner);
	put_u16(m, type);
	put_u16(m, 1);
	put_u16(m, 0);
	put_u16(m, 300);
	put_u16(m, rdlen);
	put(m, rd, rdlen);
}

/* [length][response: name A addr], as a TCP stream carries it. */
static void dns_a_framed(struct buf *out, const char *name, const char *addr)
{
	struct buf m = {.len = 0};
	uint8_t a[4];

	put_addr(a, 4, addr);
	dns_head(&m, name, 1);
	dns_answer(&m, name, 1, a, 4);
	out->len = 0;
	put_u16(out, (uint16_t)m.len);
	put(out, m.b, m.len);
}

static struct frame eth(const uint8_t *dst_mac, uint16_t type)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	memcpy(f.b, dst_mac, 6);
	memcpy(f.b + 6, guest_mac, 6);
	put16(f.b + 12, type);
	f.len = 14;
	return f;
}

static const uint8_t gw_mac[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x02};

/* An IPv4 TCP or UDP packet; TCP carries seq and flags. */
static struct frame ip4(const char *src, const char *dst, uint8_t proto, uint16_t sport,
			uint16_t dport, uint8_t flags, uint32_t seq, const void *data, size_t n)
{
	struct frame f = eth(gw_mac, 0x0800);
	uint8_t *ip = f.b + 14, *l4 = ip + 20;
	size_t hl = proto == TCP ? 20 : 8;

	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = proto;
	put_addr(ip + 12, 4, src);
	put_addr(ip + 16, 4, dst);
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (proto == TCP) {
		put16(l4 + 4, (uint16_t)(seq >> 16));
		put16(l4 + 6, (uint16_t)seq);
		l4[12] = 5 << 4;
		l4[13] = flags;
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, (uint16_t)(8 + n));
	}
	if (n)
		memcpy(l4 + hl, data, n);
	put16(ip + 2, (uint16_t)(20 + hl + n));
	f.len = 14 + 20 + hl + n;
	return f;
}

static struct egress_filter *filter(bool block_private, const char *rule)
{
	struct egress_options opts = {.block_private = block_private};
	struct egress_filter *f;
	char err[256];
	uint8_t r4[4];

	assert_int_equal(egress_filter_create(&f, &opts), 0);
	if (rule)
		assert_int_equal(egress_filter_add_rule(f, rule, err, sizeof(err)), 0);
	put_addr(r4, 4, RESOLVER4);
	assert_int_equal(egress_filter_add_resolver(f, AF_INET, r4), 0);
	return f;
}

static enum egress_verdict tx(struct egress_filter *f, struct frame fr)
{
	return egress_check_tx(f, fr.b, fr.len, T0);
}

static enum egress_verdict tx_syn(struct egress_filter *f, const char *dst, uint16_t port)
{
	return tx(f, ip4(GUEST4, dst, TCP, 40000, port, SYN, 1, NULL, 0));
}

/* A segment of the resolver's DNS-over-TCP answer stream (to the guest's port 40001). */
static void rx_dns_seg(struct egress_filter *f, uint8_t flags, uint32_t seq, const void *data,
		       size_t n)
{
	struct frame fr = ip4(RESOLVER4, GUEST4, TCP, 53, 40001, flags, seq, data, n);

	egress_observe_rx(f, fr.b, fr.len, T0);
}

/* ---- finding: TCP DNS desync ---- */

/*
 * The guest owns evil.test and makes it answer TXT with bytes that read as
 * "[length][allowed.example A 203.0.113.66]". It queries over TCP with a
 * small MSS/window, so the honest resolver's answer stream is cut right
 * where that TXT data starts. Reproduction: before the stream was tracked,
 * every segment from port 53 was read as "[length][message]", the second
 * segment taught allowed.example = 203.0.113.66 and the SYN to it passed.
 */
static void test_egress_tcp_dns_segment_inside_txt_teaches_nothing(void **state)
{
	struct egress_filter *f = filter(true, ALLOWED);
	struct buf fake, txt = {.len = 0}, msg = {.len = 0}, stream = {.len = 0};
	size_t cut;

	(void)state;
	dns_a_framed(&fake, ALLOWED, EVIL_IP);
	txt.b[0] = (uint8_t)fake.len; /* one character-string */
	txt.len = 1;
	put(&txt, fake.b, fake.len);
	dns_head(&msg, "evil.test", 16);
	dns_answer(&msg, "evil.test", 16, txt.b, (uint16_t)txt.len);
	put_u16(&stream, (uint16_t)msg.len);
	put(&stream, msg.b, msg.len);
	cut = stream.len - fake.len; /* where the fake begins */
	rx_dns_seg(f, SYN | ACK, ISN, NULL, 0);
	rx_dns_seg(f, ACK, ISN + 1, stream.b, cut);
	rx_dns_seg(f, ACK, ISN + 1 + (uint32_t)cut, stream.b + cut, stream.len - cut);
	assert_int_equal(tx_syn(f, EVIL_IP, 443), EGRESS_DROP);
	/* The same bytes as a stream of their own (no SYN-ACK seen) teach nothing either. */
	rx_dns_seg(f, ACK, 77, fake.b, fake.len);
	assert_int_equal(tx_syn(f, EVIL_IP, 443), EGRESS_DROP);
	egress_filter_destroy(f);
}

/*
 * An honest answer cut into three segments, then two answers in one segment:
 * every whole message at a boundary is learned. Reproduction: before, an
 * answer spread over segments taught nothing, and of two pipelined answers
 * (RFC 7766 §6.2.1.1) only the first was read.
 */
static void test_egress_tcp_dns_reassembles_split_and_pipelined_answers(void **state)
{
	struct egress_filter *f = filter(true, "*.allowed.example");
	struct buf a, b, two = {.len = 0};
	uint32_t seq = ISN + 1;

	(void)state;
	dns_a_framed(&a, "a.allowed.example", "198.51.100.1");
	rx_dns_seg(f, SYN | ACK, ISN, NULL, 0);
	rx_dns_seg(f, ACK, seq, a.b, 1);
	rx_dns_seg(f, ACK, seq + 1, a.b + 1, 20);
	assert_int_equal(tx_syn(f, "198.51.100.1", 443), EGRESS_DROP);
	rx_dns_seg(f, ACK, seq + 21, a.b + 21, a.len - 21);
	assert_int_equal(tx_syn(f, "198.51.100.1", 443), EGRESS_PASS);
	seq += (uint32_t)a.len;
	dns_a_framed(&a, "b.allowed.example", "198.51.100.2");
	dns_a_framed(&b, "c.allowed.example", "198.51.100.3");
	put(&two, a.b, a.len);
	put(&two, b.b, b.len);
	rx_dns_seg(f, ACK, seq, two.b, two.len);
	assert_int_equal(tx_syn(f, "198.51.100.2", 443), EGRESS_PASS);
	assert_int_equal(tx_syn(f, "198.51.100.3", 443), EGRESS_PASS);
	egress_filter_destroy(f);
}

/*
 * Out of order, rewritten or over-long: the stream never lets a message
 * start anywhere but at a boundary. Retransmitted bytes that agree are
 * harmless; ones that disagree end learning on that connection.
 */
static void test_egress_tcp_dns_gaps_overlaps_and_long_messages(void **state)
{
	struct egress_filter *f = filter(true, "*.allowed.example");
	struct buf a, b;
	static uint8_t big[2 + 5000];
	uint32_t seq = ISN + 1;

	(void)state;
	dns_a_framed(&a, "a.allowed.example", "198.51.100.1");
	rx_dns_seg(f, SYN | ACK, ISN, NULL, 0);
	/* Second half first: ignored; then the first half and a retransmitted second. */
	rx_dns_seg(f, ACK, seq + 10, a.b + 10, a.len - 10);
	rx_dns_seg(f, ACK, seq, a.b, 10);
	assert_int_equal(tx_syn(f, "198.51.100.1", 443), EGRESS_DROP);
	rx_dns_seg(f, ACK, seq + 5, a.b + 5, a.len - 5); /* overlaps 5 agreeing bytes */
	assert_int_equal(tx_syn(f, "198.51.100.1", 443), EGRESS_PASS);
	seq += (uint32_t)a.len;
	/* A message longer than the filter keeps is passed over, the next one is read. */
	put16(big, sizeof(big) - 2);
	dns_a_framed(&b, "b.allowed.example", "198.51.100.2");
	rx_dns_seg(f, ACK, seq, big, 1500);
	rx_dns_seg(f, ACK, seq + 1500, big + 1500, sizeof(big) - 1500);
	seq += sizeof(big);
	rx_dns_seg(f, ACK, seq, b.b, b.len);
	assert_int_equal(tx_syn(f, "198.51.100.2", 443), EGRESS_PASS);
	seq += (uint32_t)b.len;
	/* Bytes resent differently from what the buffer holds: the stream is dropped. */
	dns_a_framed(&a, "c.allowed.example", "198.51.100.3");
	rx_dns_seg(f, ACK, seq, a.b, 10);
	a.b[9] ^= 0x55;
	rx_dns_seg(f, ACK, seq + 8, a.b + 8, 4);
	a.b[9] ^= 0x55;
	rx_dns_seg(f, ACK, seq + 10, a.b + 10, a.len - 10);
	assert_int_equal(tx_syn(f, "198.51.100.3", 443), EGRESS_DROP);
	egress_filter_destroy(f);
}

/* ---- finding: resolvers from any DHCP reply ---- */

/* A DHCP ACK from src:67 to the guest naming dns as its resolver (option 6). */
static struct frame dhcp_ack(const char *src, const char *dns)
{
	static uint8_t bootp[300];
	size_t n = 240;

	memset(bootp, 0, sizeof(bootp));
	bootp[0] = 2; /* BOOTREPLY */
	memcpy(bootp + 236, "\x63\x82\x53\x63", 4);
	memcpy(bootp + n, "\x35\x01\x05\x06\x04", 5); /* message type ACK, option 6 */
	n += 5;
	put_addr(bootp + n, 4, dns);
	n += 4;
	bootp[n++] = 255;
	return ip4(src, "255.255.255.255", UDP, 67, 68, 0, 0, bootp, n);
}

static void rx_frame(struct egress_filter *f, struct frame fr)
{
	egress_observe_rx(f, fr.b, fr.len, T0);
}

/* An answer from src:53 (UDP): name A addr. */
static void rx_dns_udp(struct egress_filter *f, const char *src, const char *name, const char *addr)
{
	struct buf m;

	dns_a_framed(&m, name, addr);
	rx_frame(f, ip4(src, GUEST4, UDP, 53, 33333, 0, 0, m.b + 2, m.len - 2));
}

static enum egress_verdict tx_dns_query(struct egress_filter *f, const char *dst)
{
	return tx(f, ip4(GUEST4, dst, UDP, 33333, 53, 0, 0, "q", 1));
}

/*
 * The guest has a rule for a host it controls (here any port of
 * 203.0.113.9) and runs a "DHCP server" there: it sends from port 68 to
 * 203.0.113.9:67, and the answer from port 67 names 203.0.113.9 as a
 * resolver; whatever that resolver then says about allowed.example is
 * believed. A DHCP ACK on the link naming the metadata service as resolver
 * opens 169.254.169.254:53 past block_private. Reproduction: before, any
 * DHCP OFFER/ACK taught resolvers, so the query and the SYN below passed.
 */
static void test_egress_dhcp_from_unknown_server_teaches_no_resolver(void **state)
{
	struct egress_filter *f = filter(false, ALLOWED);
	char err[256];

	(void)state;
	assert_int_equal(egress_filter_add_rule(f, "203.0.113.9", err, sizeof(err)), 0);
	assert_int_equal(tx(f, ip4(GUEST4, "203.0.113.9", UDP, 68, 67, 0, 0, "x", 1)), EGRESS_PASS);
	rx_frame(f, dhcp_ack("203.0.113.9", "203.0.113.9"));
	rx_dns_udp(f, "203.0.113.9", ALLOWED, EVIL_IP);
	assert_int_equal(tx_syn(f, EVIL_IP, 443), EGRESS_DROP);
	egress_filter_destroy(f);

	f = filter(true, NULL);
	rx_frame(f, dhcp_ack("10.0.2.2", "169.254.169.254"));
	assert_int_equal(tx_dns_query(f, "169.254.169.254"), EGRESS_DROP);
	egress_filter_destroy(f);
}

/*
 * The server the VMM trusts names resolvers; block_private still holds for
 * learned ones (only given ones, like passt's 169.254.1.53, may be private),
 * and no learned resolver is a broadcast or loopback address.
 */
static void test_egress_dhcp_from_trusted_server_teaches_public_resolvers(void **state)
{
	struct egress_filter *f = filter(true, ALLOWED);
	uint8_t gw[4], given[4];

	(void)state;
	put_addr(gw, 4, "10.0.2.2");
	put_addr(given, 4, "169.254.1.53");
	assert_int_equal(egress_filter_add_dhcp_server(f, AF_INET, gw), 0);
	assert_int_equal(egress_filter_add_dhcp_server(f, AF_INET, gw), 0);
	assert_int_equal(egress_filter_add_dhcp_server(f, AF_UNIX, gw), -EINVAL);
	assert_int_equal(egress_filter_add_resolver(f, AF_INET, given), 0);
	rx_frame(f, dhcp_ack("10.0.2.2", "192.0.2.53"));
	rx_frame(f, dhcp_ack("10.0.2.2", "10.0.0.2"));
	rx_frame(f, dhcp_ack("10.0.2.2", "169.254.169.254"));
	rx_frame(f, dhcp_ack("10.0.2.2", "255.255.255.255"));
	assert_int_equal(tx_dns_query(f, "192.0.2.53"), EGRESS_PASS);
	assert_int_equal(tx_dns_query(f, "169.254.1.53"), EGRESS_PASS);
	assert_int_equal(tx_dns_query(f, "10.0.0.2"), EGRESS_DROP);
	assert_int_equal(tx_dns_query(f, "169.254.169.254"), EGRESS_DROP);
	assert_int_equal(tx_dns_query(f, "255.255.255.255"), EGRESS_DROP);
	rx_dns_udp(f, "192.0.2.53", ALLOWED, "198.51.100.7");
	assert_int_equal(tx_syn(f, "198.51.100.7", 443), EGRESS_PASS);
	egress_filter_destroy(f);
	/* Without block_private (tap, bridge) the LAN's resolver is fine, loopback is not. */
	f = filter(false, ALLOWED);
	assert_int_equal(egress_filter_add_dhcp_server(f, AF_INET, gw), 0);
	rx_frame(f, dhcp_ack("10.0.2.2", "10.0.0.2"));
	rx_frame(f, dhcp_ack("10.0.2.2", "127.0.0.53"));
	assert_int_equal(tx_dns_query(f, "10.0.0.2"), EGRESS_PASS);
	assert_int_equal(tx_dns_query(f, "127.0.0.53"), EGRESS_DROP);
	egress_filter_destroy(f);
}

/* ---- finding: ARP and neighbour discovery to anyone, with anything ---- */

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* An Ethernet/IPv4 ARP packet from the guest (RFC 826), 42 bytes. */
static struct frame arp(const uint8_t *dst_mac, uint16_t op, const char *spa, const uint8_t *tha,
			const char *tpa)
{
	struct frame f = eth(dst_mac, 0x0806);
	uint8_t *a = f.b + 14;

	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, guest_mac, 6);
	put_addr(a + 14, 4, spa);
	memcpy(a + 18, tha, 6);
	put_addr(a + 24, 4, tpa);
	f.len = 42;
	return f;
}

/* An ICMPv6 message body (type, code 0, rest as given) from src to dst, hop limit 255. */
static struct frame icmp6(const char *src, const char *dst, const uint8_t *msg, size_t n)
{
	struct frame f = eth(bcast_mac, 0x86dd);
	uint8_t *ip = f.b + 14;

	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)n);
	ip[6] = 58;
	ip[7] = 255;
	put_addr(ip + 8, 6, src);
	put_addr(ip + 24, 6, dst);
	memcpy(ip + 40, msg, n);
	f.len = 14 + 40 + n;
	return f;
}

/* A neighbour solicitation for target (RFC 4861 §4.3), with a source link-layer option. */
static size_t ns(uint8_t *m, const char *target)
{
	memset(m, 0, 32);
	m[0] = 135;
	put_addr(m + 8, 6, target);
	m[24] = 1;
	m[25] = 1;
	memcpy(m + 26, guest_mac, 6);
	return 32;
}

/*
 * ARP passes whatever the rules say. Reproduction: before, any frame with
 * ethertype 0x0806 passed, so 1400 bytes of the guest's data in an "ARP"
 * frame went to every host on a tap's or bridge's link.
 */
static void test_egress_arp_passes_only_plain_requests_and_replies(void **state)
{
	struct egress_filter *f = filter(false, ALLOWED);
	const uint8_t zero[6] = {0};
	struct frame fr;

	(void)state;
	fr = arp(bcast_mac, 1, GUEST4, zero, "10.0.2.2");
	memset(fr.b + 42, 'x', 1400);
	fr.len = 42 + 1400;
	assert_int_equal(tx(f, fr), EGRESS_DROP);
	/* Padding to 60 bytes must be zero. */
	fr.len = 60;
	assert_int_equal(tx(f, fr), EGRESS_DROP);
	memset(fr.b + 42, 0, 18);
	assert_int_equal(tx(f, fr), EGRESS_PASS);
	assert_int_equal(tx(f, arp(bcast_mac, 1, GUEST4, zero, "10.0.2.2")), EGRESS_PASS);
	assert_int_equal(tx(f, arp(gw_mac, 1, GUEST4, zero, "10.0.2.2")), EGRESS_PASS);
	assert_int_equal(tx(f, arp(bcast_mac, 1, "0.0.0.0", zero, GUEST4)), EGRESS_PASS);
	assert_int_equal(tx(f, arp(gw_mac, 2, GUEST4, gw_mac, "10.0.2.2")), EGRESS_PASS);
	assert_int_equal(tx(f, arp(gw_mac, 2, GUEST4, gw_mac, "0.0.0.0")), EGRESS_PASS);
	/* Free fields: a request's target MAC, a reply to someone else, odd opcodes. */
	assert_int_equal(tx(f, arp(bcast_mac, 1, GUEST4, gw_mac, "10.0.2.2")), EGRESS_DROP);
	assert_int_equal(tx(f, arp(bcast_mac, 2, GUEST4, gw_mac, "10.0.2.2")), EGRESS_DROP);
	assert_int_equal(tx(f, arp(gw_mac, 3, GUEST4, zero, "10.0.2.2")), EGRESS_DROP);
	assert_int_equal(tx(f, arp(bcast_mac, 1, GUEST4, zero, "224.0.0.1")), EGRESS_DROP);
	assert_int_equal(tx(f, arp(bcast_mac, 2, "0.0.0.0", gw_mac, "10.0.2.2")), EGRESS_DROP);
	/* The sender MAC is the frame's source. */
	fr = arp(bcast_mac, 1, GUEST4, zero, "10.0.2.2");
	fr.b[14 + 8] ^= 2;
	assert_int_equal(tx(f, fr), EGRESS_DROP);
	fr = arp(bcast_mac, 1, GUEST4, zero, "10.0.2.2");
	fr.b[14 + 5] = 16; /* protocol address length */
	assert_int_equal(tx(f, fr), EGRESS_DROP);
	egress_filter_destroy(f);
}

/*
 * Neighbour discovery passes whatever the rules say. Reproduction: before,
 * any ICMPv6 type 133-136 with hop limit 255 passed, to any destination
 * (a global address past the router) and with any payload.
 */
static void test_egress_ndp_passes_only_plain_solicitations_and_advertisements(void **state)
{
	struct egress_filter *f = filter(false, ALLOWED);
	uint8_t m[1500];
	size_t n;

	(void)state;
	n = ns(m, "2001:db8::99");
	memset(m + n, 'x', 1000);
	assert_int_equal(tx(f, icmp6("fe80::15", "2001:db8::99", m, n)), EGRESS_DROP);
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1:ff00:99", m, n + 1000)), EGRESS_DROP);
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1:ff00:99", m, n)), EGRESS_PASS);
	/* Neighbour unreachability detection: unicast to the link-local target itself. */
	n = ns(m, "fe80::2");
	assert_int_equal(tx(f, icmp6("fe80::15", "fe80::2", m, n)), EGRESS_PASS);
	assert_int_equal(tx(f, icmp6("fe80::15", "fe80::3", m, n)), EGRESS_DROP);
	/* Solicited-node group of another address; a stray option; reserved bits. */
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1:ff00:3", m, n)), EGRESS_DROP);
	m[24] = 25;
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1:ff00:2", m, n)), EGRESS_DROP);
	m[24] = 1;
	m[5] = 1;
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1:ff00:2", m, n)), EGRESS_DROP);
	m[5] = 0;
	/* Duplicate address detection: from ::, no link-layer option, a nonce allowed. */
	m[24] = 14;
	assert_int_equal(tx(f, icmp6("::", "ff02::1:ff00:2", m, n)), EGRESS_PASS);
	m[24] = 1;
	assert_int_equal(tx(f, icmp6("::", "ff02::1:ff00:2", m, n)), EGRESS_DROP);
	/* Advertisement (solicited, override) with the target link-layer option. */
	m[0] = 136;
	m[4] = 0x60;
	m[24] = 2;
	assert_int_equal(tx(f, icmp6("fe80::15", "fe80::2", m, n)), EGRESS_PASS);
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1", m, n)), EGRESS_PASS);
	assert_int_equal(tx(f, icmp6("fe80::15", "2001:db8::2", m, n)), EGRESS_DROP);
	m[26] ^= 1; /* not the frame's source MAC */
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1", m, n)), EGRESS_DROP);
	/* Router solicitation to all-routers; an advertisement from the guest never passes. */
	memset(m, 0, 16);
	m[0] = 133;
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::2", m, 8)), EGRESS_PASS);
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1", m, 8)), EGRESS_DROP);
	m[0] = 134;
	assert_int_equal(tx(f, icmp6("fe80::15", "ff02::1", m, 16)), EGRESS_DROP);
	egress_filter_destroy(f);
}

/* With the guest's MAC given, ARP must come from it. */
static void test_egress_arp_sender_is_the_guests_mac(void **state)
{
	struct egress_options opts = {.block_private = true};
	const uint8_t zero[6] = {0};
	struct egress_filter *f;
	struct frame fr;

	(void)state;
	memcpy(opts.guest_mac, guest_mac, 6);
	assert_int_equal(egress_filter_create(&f, &opts), 0);
	assert_int_equal(tx(f, arp(bcast_mac, 1, GUEST4, zero, "10.0.2.2")), EGRESS_PASS);
	opts.guest_mac[5] ^= 1;
	egress_filter_destroy(f);
	assert_int_equal(egress_filter_create(&f, &opts), 0);
	fr = arp(bcast_mac, 1, GUEST4, zero, "10.0.2.2");
	assert_int_equal(tx(f, fr), EGRESS_DROP);
	egress_filter_destroy(f);
}

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Random segments of DNS-over-TCP streams: sequence numbers around the
 * expected one, random lengths and flags, payloads mixing real answers and
 * noise. Nothing may read or write out of bounds (run under ASan/UBSan).
 */
static void test_egress_tcp_dns_survives_random_segments(void **state)
{
	struct egress_filter *f = filter(true, "*.allowed.example");
	static const uint8_t flags[] = {ACK, ACK, ACK, SYN | ACK, FIN | ACK, RST, ACK | 0x08};
	uint64_t x = 0x2545f4914f6cdd1dULL;
	static uint8_t noise[1500];
	struct buf a;
	uint32_t seq = ISN;

	(void)state;
	dns_a_framed(&a, "a.allowed.example", "198.51.100.1");
	for (unsigned int i = 0; i < sizeof(noise); i++)
		noise[i] = (uint8_t)rng_next(&x);
	for (unsigned int i = 0; i < 30000; i++) {
		uint64_t r = rng_next(&x);
		const uint8_t *data = (r >> 8) % 3 ? a.b : noise;
		size_t max = data == a.b ? a.len : sizeof(noise);
		size_t off = (size_t)((r >> 16) % max), n = (size_t)((r >> 32) % (max - off + 1));
		struct frame fr;

		seq += (uint32_t)((r >> 48) % 64) - 16;
		fr = ip4(RESOLVER4, GUEST4, TCP, 53, (uint16_t)(40000 + (r >> 40) % 24),
			 flags[(r >> 4) % sizeof(flags)], seq, data + off, n);
		egress_observe_rx(f, fr.b, fr.len, T0 + i);
	}
	egress_filter_destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_egress_tcp_dns_segment_inside_txt_teaches_nothing),
	    cmocka_unit_test(test_egress_tcp_dns_reassembles_split_and_pipelined_answers),
	    cmocka_unit_test(test_egress_tcp_dns_gaps_overlaps_and_long_messages),
	    cmocka_unit_test(test_egress_tcp_dns_survives_random_segments),
	    cmocka_unit_test(test_egress_dhcp_from_unknown_server_teaches_no_resolver),
	    cmocka_unit_test(test_egress_dhcp_from_trusted_server_teaches_public_resolvers),
	    cmocka_unit_test(test_egress_arp_passes_only_plain_requests_and_replies),
	    cmocka_unit_test(test_egress_ndp_passes_only_plain_solicitations_and_advertisements),
	    cmocka_unit_test(test_egress_arp_sender_is_the_guests_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
