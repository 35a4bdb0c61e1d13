/* Test support: frames, DNS messages and a capturing egress filter (egress_harness.h). */
#include "tests/support/egress_harness.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

struct capture logs;

void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void put_addr(uint8_t *p, int family, const char *text)
{
	assert_int_equal(inet_pton(family == 6 ? AF_INET6 : AF_INET, text, p), 1);
}

size_t build_l4(uint8_t *p, const struct pkt *s)
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

struct frame build(const struct pkt *s)
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

void dns_name_put(struct dnsmsg *m, const char *name)
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

void dns_start(struct dnsmsg *m, const char *qname)
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

void dns_rr(struct dnsmsg *m, const char *owner, uint16_t type, uint32_t ttl, const void *rdata,
	    uint16_t rdlen)
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

void dns_a(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t a[4];

	put_addr(a, 4, addr);
	dns_rr(m, owner, 1, ttl, a, 4);
}

void dns_aaaa(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t a[16];

	put_addr(a, 6, addr);
	dns_rr(m, owner, 28, ttl, a, 16);
}

void dns_cname(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *target)
{
	struct dnsmsg t = {.len = 0};

	dns_name_put(&t, target);
	dns_rr(m, owner, 5, ttl, t.b, (uint16_t)t.len);
}

void capture_log(void *ctx, const char *line)
{
	struct capture *c = ctx;

	if (c->count < 32)
		snprintf(c->lines[c->count], sizeof(c->lines[0]), "%s", line);
	c->count++;
}

struct egress_filter *filter_new(bool block_private, const char *const *rules)
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

enum egress_verdict tx(struct egress_filter *f, struct frame fr, uint64_t now)
{
	return egress_check_tx(f, fr.b, fr.len, now);
}

void rx(struct egress_filter *f, struct frame fr, uint64_t now)
{
	egress_observe_rx(f, fr.b, fr.len, now);
}

void rx_dns(struct egress_filter *f, int family, const char *src, const struct dnsmsg *m,
	    uint64_t now)
{
	rx(f,
	   PKT(.family = family, .src = src, .dst = family == 6 ? GUEST6 : GUEST4, .proto = UDP,
	       .sport = 53, .dport = 33333, .payload = m->b, .payload_len = m->len),
	   now);
}

bool logged(const char *line)
{
	for (unsigned int i = 0; i < logs.count && i < 32; i++)
		if (strcmp(logs.lines[i], line) == 0)
			return true;
	return false;
}

/* Answers api.example.com -> SERVER4 with a 60 s TTL at time now. */
struct egress_filter *filter_with_learned_server(void)
{
	struct egress_filter *f = filter_new(false, RULES("api.example.com:443"));
	struct dnsmsg m;

	dns_start(&m, "api.example.com");
	dns_a(&m, "api.example.com", 60, SERVER4);
	rx_dns(f, 4, RESOLVER4, &m, T0);
	return f;
}
