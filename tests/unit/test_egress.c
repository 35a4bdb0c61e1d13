/* Unit tests for the egress filter (devices/net/egress.c): rules, verdicts, flows, logging. */
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

#define ERR_LEN	  256
#define FRAME_CAP 2048
#define SEC	  1000ULL
#define T0	  1000000ULL /* an arbitrary start time */

#define GUEST4	  "10.0.2.15"
#define GUEST6	  "2001:db8:1::15"
#define RESOLVER4 "10.0.2.3"
#define RESOLVER6 "2001:db8:1::3"
#define SERVER4	  "93.184.216.34"
#define SERVER6	  "2606:2800:220:1::1"

#define TCP   6
#define UDP   17
#define ICMP  1
#define ICMP6 58
#define FIN   0x01
#define SYN   0x02
#define RST   0x04
#define ACK   0x10

/* ---- frame building ---- */

/* One packet to build; zero fields get defaults (TTL 64, IPv4 unless family is 6). */
struct pkt {
	int family;
	const char *src, *dst;
	uint8_t proto, tcp_flags, icmp_type, ttl;
	uint16_t sport, dport, icmp_id;
	const void *payload;
	size_t payload_len;
};

struct frame {
	uint8_t b[FRAME_CAP];
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

static size_t build_l4(uint8_t *p, const struct pkt *s)
{
	size_t n = 0;

	switch (s->proto) {
	case TCP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		p[12] = 5 << 4;
		p[13] = s->tcp_flags;
		put16(p + 14, 65535);
		n = 20;
		break;
	case UDP:
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, (uint16_t)(8 + s->payload_len));
		n = 8;
		break;
	case ICMP:
	case ICMP6:
		p[0] = s->icmp_type;
		put16(p + 4, s->icmp_id);
		n = 8;
		break;
	default:
		break;
	}
	if (s->payload_len)
		memcpy(p + n, s->payload, s->payload_len);
	return n + s->payload_len;
}

static struct frame build(const struct pkt *s)
{
	struct frame f = {.len = 0};
	uint8_t *ip = f.b + 14;
	size_t l4;

	memset(f.b, 0, sizeof(f.b));
	memcpy(f.b, "\x52\x54\x00\x00\x00\x02\x52\x54\x00\x12\x34\x56", 12);
	if (s->family == 6) {
		put16(f.b + 12, 0x86dd);
		ip[0] = 0x60;
		ip[6] = s->proto;
		ip[7] = s->ttl ? s->ttl : 64;
		put_addr(ip + 8, 6, s->src ? s->src : GUEST6);
		put_addr(ip + 24, 6, s->dst);
		l4 = build_l4(ip + 40, s);
		put16(ip + 4, (uint16_t)l4);
		f.len = 14 + 40 + l4;
	} else {
		put16(f.b + 12, 0x0800);
		ip[0] = 0x45;
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		put_addr(ip + 12, 4, s->src ? s->src : GUEST4);
		put_addr(ip + 16, 4, s->dst);
		l4 = build_l4(ip + 20, s);
		put16(ip + 2, (uint16_t)(20 + l4));
		f.len = 14 + 20 + l4;
	}
	return f;
}

#define PKT(...) build(&(struct pkt){__VA_ARGS__})

/* ---- DNS messages ---- */

struct dnsmsg {
	uint8_t b[1024];
	size_t len;
};

static void dns_name_put(struct dnsmsg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		m->b[m->len++] = (uint8_t)n;
		memcpy(m->b + m->len, name, n);
		m->len += n;
		name += n + (dot ? 1 : 0);
	}
	m->b[m->len++] = 0;
}

static void dns_start(struct dnsmsg *m, const char *qname)
{
	memset(m, 0, sizeof(*m));
	put16(m->b, 0x1234);
	put16(m->b + 2, 0x8180); /* response, RD, RA, NOERROR */
	put16(m->b + 4, 1);
	m->len = 12;
	dns_name_put(m, qname);
	put16(m->b + m->len, 1);
	put16(m->b + m->len + 2, 1);
	m->len += 4;
}

static void dns_rr(struct dnsmsg *m, const char *owner, uint16_t type, uint32_t ttl,
		   const void *rdata, uint16_t rdlen)
{
	dns_name_put(m, owner);
	put16(m->b + m->len, type);
	put16(m->b + m->len + 2, 1);
	put16(m->b + m->len + 4, (uint16_t)(ttl >> 16));
	put16(m->b + m->len + 6, (uint16_t)ttl);
	put16(m->b + m->len + 8, rdlen);
	memcpy(m->b + m->len + 10, rdata, rdlen);
	m->len += 10u + rdlen;
	put16(m->b + 6, (uint16_t)(((m->b[6] << 8) | m->b[7]) + 1));
}

static void dns_a(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t a[4];

	put_addr(a, 4, addr);
	dns_rr(m, owner, 1, ttl, a, 4);
}

static void dns_aaaa(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t a[16];

	put_addr(a, 6, addr);
	dns_rr(m, owner, 28, ttl, a, 16);
}

static void dns_cname(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *target)
{
	struct dnsmsg t = {.len = 0};

	dns_name_put(&t, target);
	dns_rr(m, owner, 5, ttl, t.b, (uint16_t)t.len);
}

/* ---- filter harness ---- */

struct capture {
	unsigned int count;
	char lines[32][256];
};

static void capture_log(void *ctx, const char *line)
{
	struct capture *c = ctx;

	if (c->count < 32)
		snprintf(c->lines[c->count], sizeof(c->lines[0]), "%s", line);
	c->count++;
}

static struct capture logs;

static struct egress_filter *filter_new(bool block_private, const char *const *rules)
{
	struct egress_options opts = {
	    .block_private = block_private, .log = capture_log, .log_ctx = &logs};
	struct egress_filter *f;
	char err[ERR_LEN];
	uint8_t r4[4], r6[16];

	memset(&logs, 0, sizeof(logs));
	assert_int_equal(egress_filter_create(&f, &opts), 0);
	for (; rules && *rules; rules++) {
		int rc = egress_filter_add_rule(f, *rules, err, sizeof(err));

		if (rc)
			fail_msg("rule %s: %s", *rules, err);
	}
	put_addr(r4, 4, RESOLVER4);
	put_addr(r6, 6, RESOLVER6);
	assert_int_equal(egress_filter_add_resolver(f, AF_INET, r4), 0);
	assert_int_equal(egress_filter_add_resolver(f, AF_INET6, r6), 0);
	return f;
}

#define RULES(...) ((const char *const[]){__VA_ARGS__, NULL})

static enum egress_verdict tx(struct egress_filter *f, struct frame fr, uint64_t now)
{
	return egress_check_tx(f, fr.b, fr.len, now);
}

static void rx(struct egress_filter *f, struct frame fr, uint64_t now)
{
	egress_observe_rx(f, fr.b, fr.len, now);
}

/* Delivers a DNS answer from src (port 53) to the guest. */
static void rx_dns(struct egress_filter *f, int family, const char *src, const struct dnsmsg *m,
		   uint64_t now)
{
	rx(f,
	   PKT(.family = family, .src = src, .dst = family == 6 ? GUEST6 : GUEST4, .proto = UDP,
	       .sport = 53, .dport = 33333, .payload = m->b, .payload_len = m->len),
	   now);
}

#define TCP4(to_, port_, flags_)                                                                   \
	PKT(.dst = (to_), .proto = TCP, .sport = 40000, .dport = (port_), .tcp_flags = (flags_))
#define UDP4(to_, port_) PKT(.dst = (to_), .proto = UDP, .sport = 40000, .dport = (port_))
#define TCP6(to_, port_, flags_)                                                                   \
	PKT(.family = 6, .dst = (to_), .proto = TCP, .sport = 40000, .dport = (port_),             \
	    .tcp_flags = (flags_))
/* The server's answer to TCP4(). */
#define TCP4_REPLY(from_, port_, flags_)                                                           \
	PKT(.src = (from_), .dst = GUEST4, .proto = TCP, .sport = (port_), .dport = 40000,         \
	    .tcp_flags = (flags_))

static bool logged(const char *line)
{
	for (unsigned int i = 0; i < logs.count && i < 32; i++)
		if (strcmp(logs.lines[i], line) == 0)
			return true;
	return false;
}

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

/* Answers api.example.com -> SERVER4 with a 60 s TTL at time now. */
static struct egress_filter *filter_with_learned_server(void)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com:443"));
	struct dnsmsg m;

	dns_start(&m, "api.example.com");
	dns_a(&m, "api.example.com", 60, SERVER4);
	rx_dns(f, 4, RESOLVER4, &m, T0);
	return f;
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
	uint8_t target[16];

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
	    cmocka_unit_test(test_egress_block_private_drops_local_ranges),
	    cmocka_unit_test(test_egress_block_private_passes_link_control),
	    cmocka_unit_test(test_egress_block_private_with_rule_allows_only_rules),
	    cmocka_unit_test(test_egress_host_loopback_port_passes_other_ports_drop),
	    cmocka_unit_test(test_egress_host_loopback_is_not_a_rule_public_still_passes),
	    cmocka_unit_test(test_egress_host_loopback_with_rules_allows_rules_and_exception_only),
	    cmocka_unit_test(test_egress_host_loopback_without_port_allows_every_protocol),
	    cmocka_unit_test(test_egress_host_loopback_public_address_passes_only_its_ports),
	    cmocka_unit_test(test_egress_add_host_loopback_checks_family_and_limit),
	    cmocka_unit_test(test_egress_without_rules_logs_each_allowed_destination_once),
	    cmocka_unit_test(test_egress_without_rules_allowed_lines_share_the_rate_cap),
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
	    cmocka_unit_test(test_egress_log_dedupes_per_destination_window),
	    cmocka_unit_test(test_egress_log_rate_is_capped_with_summary),
	    cmocka_unit_test(test_egress_clock_going_back_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
