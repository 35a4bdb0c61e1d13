/* Unit tests for the egress filter's parsers of DNS answers, DHCP, DHCPv6 and RAs (dns.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/net/dns.h"

struct msg {
	uint8_t b[2048];
	size_t len;
};

static struct dns_answers answers;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put_u16(struct msg *m, uint16_t v)
{
	put16(m->b + m->len, v);
	m->len += 2;
}

static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		m->b[m->len++] = (uint8_t)n;
		put_bytes(m, name, n);
		name += n + (dot ? 1 : 0);
	}
	m->b[m->len++] = 0;
}

static void put_pointer(struct msg *m, size_t to)
{
	put_u16(m, (uint16_t)(0xc000 | to));
}

/* Header (response, NOERROR, ancount 0) and one question; returns the question name's offset. */
static size_t start(struct msg *m, const char *qname)
{
	memset(m, 0, sizeof(*m));
	put_u16(m, 0xbeef);
	put_u16(m, 0x8180);
	put_u16(m, 1);
	m->len = 12;
	put_name(m, qname);
	put_u16(m, 1);
	put_u16(m, 1);
	return 12;
}

static void bump_ancount(struct msg *m)
{
	put16(m->b + 6, (uint16_t)((m->b[6] << 8 | m->b[7]) + 1));
}

/* Fixed part of a record after its owner name. */
static void rr_tail(struct msg *m, uint16_t type, uint16_t class, uint32_t ttl, uint16_t rdlen)
{
	put_u16(m, type);
	put_u16(m, class);
	put_u16(m, (uint16_t)(ttl >> 16));
	put_u16(m, (uint16_t)ttl);
	put_u16(m, rdlen);
	bump_ancount(m);
}

static void add_a(struct msg *m, const char *owner, uint32_t ttl, uint8_t last)
{
	const uint8_t addr[4] = {198, 51, 100, last};

	put_name(m, owner);
	rr_tail(m, DNS_TYPE_A, 1, ttl, 4);
	put_bytes(m, addr, 4);
}

static int parse(const struct msg *m)
{
	memset(&answers, 0xaa, sizeof(answers));
	return dns_parse_response(m->b, m->len, &answers);
}

/* ---- dns_parse_response ---- */

static void test_dns_parse_decodes_a_aaaa_and_cname(void **state)
{
	const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	struct msg m;

	(void)state;
	start(&m, "WWW.Example.com");
	put_name(&m, "www.example.com");
	rr_tail(&m, DNS_TYPE_CNAME, 1, 30, 10);
	put_name(&m, "edge.net");
	add_a(&m, "edge.net", 300, 7);
	put_name(&m, "edge.net");
	rr_tail(&m, DNS_TYPE_AAAA, 1, 0x80000001u, 16);
	put_bytes(&m, v6, 16);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 3);
	assert_int_equal(answers.rr[0].type, DNS_TYPE_CNAME);
	assert_string_equal(answers.rr[0].owner, "www.example.com");
	assert_string_equal(answers.rr[0].target, "edge.net");
	assert_int_equal(answers.rr[0].ttl, 30);
	assert_int_equal(answers.rr[1].type, DNS_TYPE_A);
	assert_memory_equal(answers.rr[1].addr, ((uint8_t[]){198, 51, 100, 7}), 4);
	assert_int_equal(answers.rr[2].type, DNS_TYPE_AAAA);
	assert_memory_equal(answers.rr[2].addr, v6, 16);
	assert_int_equal(answers.rr[2].ttl, 0); /* top bit set reads as 0 (RFC 2181 §8) */
}

static void test_dns_parse_follows_compression_pointers(void **state)
{
	struct msg m;
	size_t q = 0, cname_rdata;

	(void)state;
	q = start(&m, "Api.Example.com");
	/* Owner: pointer to the question; CNAME target: "cdn" + pointer to "example.com". */
	put_pointer(&m, q);
	rr_tail(&m, DNS_TYPE_CNAME, 1, 60, 6);
	cname_rdata = m.len;
	put_bytes(&m,
		  "\x03"
		  "cdn",
		  4);
	put_pointer(&m, q + 4);
	put_pointer(&m, cname_rdata);
	rr_tail(&m, DNS_TYPE_A, 1, 60, 4);
	put_bytes(&m, "\xc6\x33\x64\x09", 4);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 2);
	assert_string_equal(answers.rr[0].owner, "api.example.com");
	assert_string_equal(answers.rr[0].target, "cdn.example.com");
	assert_string_equal(answers.rr[1].owner, "cdn.example.com");
}

static void test_dns_parse_rejects_pointer_loops(void **state)
{
	struct msg m;
	size_t at;

	(void)state;
	/* The question name points at itself. */
	start(&m, "x");
	m.len = 12;
	put_pointer(&m, 12);
	put_u16(&m, 1);
	put_u16(&m, 1);
	assert_int_equal(parse(&m), -EINVAL);
	/* Two answers' owners point at each other: the walk stops, nothing is kept. */
	start(&m, "x");
	at = m.len;
	put_pointer(&m, at + 16);
	rr_tail(&m, DNS_TYPE_A, 1, 60, 4);
	put_bytes(&m, "\x01\x02\x03\x04", 4);
	put_pointer(&m, at);
	rr_tail(&m, DNS_TYPE_A, 1, 60, 4);
	put_bytes(&m, "\x01\x02\x03\x04", 4);
	assert_int_equal(m.len, at + 32);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 0);
	/* A label, then a pointer back to that label. */
	start(&m, "x");
	at = m.len;
	put_bytes(&m,
		  "\x01"
		  "a",
		  2);
	put_pointer(&m, at);
	rr_tail(&m, DNS_TYPE_A, 1, 60, 4);
	put_bytes(&m, "\x01\x02\x03\x04", 4);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 0);
}

/* An answer whose owner is reached through `hops` pointers, each to the one before. */
static int parse_pointer_chain(unsigned int hops)
{
	struct msg m;
	size_t prev, next;

	start(&m, "a.example");
	prev = 12;
	/* Park the chain behind a dummy record so the answer stays well-formed. */
	put_name(&m, "pad");
	rr_tail(&m, 16 /* TXT */, 1, 0, (uint16_t)(2 * (hops - 1)));
	put16(m.b + 6, 0);
	for (unsigned int i = 1; i < hops; i++) {
		next = m.len;
		put_pointer(&m, prev);
		prev = next;
	}
	bump_ancount(&m);
	put_pointer(&m, prev);
	rr_tail(&m, DNS_TYPE_A, 1, 60, 4);
	put_bytes(&m, "\x01\x02\x03\x04", 4);
	if (parse(&m))
		return -1;
	for (unsigned int i = 0; i < answers.count; i++)
		if (answers.rr[i].type == DNS_TYPE_A)
			return strcmp(answers.rr[i].owner, "a.example") == 0 ? 1 : -1;
	return 0;
}

static void test_dns_parse_bounds_pointer_hops(void **state)
{
	(void)state;
	assert_int_equal(parse_pointer_chain(DNS_MAX_PTR_HOPS), 1);
	assert_int_equal(parse_pointer_chain(DNS_MAX_PTR_HOPS + 1), 0);
	assert_int_equal(parse_pointer_chain(600), 0);
}

static void test_dns_parse_bounds_name_length(void **state)
{
	char name[300];
	struct msg m;

	(void)state;
	/* 63+1 x3 + 61+1 + root = 255 wire bytes: the longest legal name. */
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	start(&m, "q");
	add_a(&m, name, 60, 1);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 1);
	assert_int_equal(strlen(answers.rr[0].owner), 253);
	/* One byte more is not a name. */
	name[253] = 'a';
	name[254] = '\0';
	start(&m, "q");
	add_a(&m, name, 60, 1);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 0);
	/* Nor are 140 one-character labels (281 wire bytes). */
	for (int i = 0; i < 140; i++) {
		name[2 * i] = 'a';
		name[2 * i + 1] = '.';
	}
	name[279] = '\0';
	start(&m, "q");
	add_a(&m, name, 60, 1);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 0);
}

static void test_dns_parse_rejects_bad_labels(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
	    {"\x41"
	     "a",
	     2}, /* extended label type */
	    {"\x81"
	     "a",
	     2}, /* reserved label type */
	    {"\x03"
	     "a.b",
	     4},
	    {"\x03"
	     "a\0b",
	     4},
	    {"\x05"
	     "ab",
	     3}, /* runs into the root byte and beyond */
	};
	struct msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		start(&m, "q");
		put_bytes(&m, bad[i].bytes, bad[i].len);
		m.b[m.len++] = 0;
		rr_tail(&m, DNS_TYPE_A, 1, 60, 4);
		put_bytes(&m, "\x01\x02\x03\x04", 4);
		assert_int_equal(parse(&m), 0);
		assert_int_equal(answers.count, 0);
	}
}

static void test_dns_parse_rejects_non_responses(void **state)
{
	struct msg m;

	(void)state;
	start(&m, "q");
	add_a(&m, "q", 60, 1);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 1);
	m.b[2] = 0x01; /* a query */
	assert_int_equal(parse(&m), -EINVAL);
	m.b[2] = 0x81 | (5 << 3); /* opcode UPDATE */
	assert_int_equal(parse(&m), -EINVAL);
	m.b[2] = 0x81;
	m.b[3] = 0x82; /* SERVFAIL */
	assert_int_equal(parse(&m), -EINVAL);
	m.b[3] = 0x80;
	put16(m.b + 4, 5); /* five questions */
	assert_int_equal(parse(&m), -EINVAL);
	put16(m.b + 4, 2); /* a second question that is not there */
	m.len = 12 + 3 + 4;
	assert_int_equal(parse(&m), -EINVAL);
	for (size_t len = 0; len < 12; len++)
		assert_int_equal(dns_parse_response(m.b, len, &answers), -EINVAL);
}

static void test_dns_parse_huge_counts_are_bounded_by_message(void **state)
{
	struct msg m;

	(void)state;
	start(&m, "q");
	add_a(&m, "q", 60, 1);
	put16(m.b + 6, 65535);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 1);
	/* Every truncation of a good message parses without reading past it. */
	start(&m, "q.example");
	add_a(&m, "q.example", 60, 1);
	add_a(&m, "q.example", 60, 2);
	for (size_t len = 12; len < m.len; len++) {
		assert_true(dns_parse_response(m.b, len, &answers) <= 0);
		assert_true(answers.count <= 2);
	}
}

static void test_dns_parse_keeps_at_most_max_records(void **state)
{
	struct msg m;

	(void)state;
	start(&m, "q");
	for (int i = 0; i < DNS_MAX_RRS + 10; i++)
		add_a(&m, "q", 60, (uint8_t)i);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, DNS_MAX_RRS);
}

static void test_dns_parse_skips_other_classes_types_and_sizes(void **state)
{
	struct msg m;

	(void)state;
	start(&m, "q");
	put_name(&m, "q");
	rr_tail(&m, DNS_TYPE_A, 3 /* CH */, 60, 4);
	put_bytes(&m, "\x01\x02\x03\x04", 4);
	put_name(&m, "q");
	rr_tail(&m, 15 /* MX */, 1, 60, 4);
	put_bytes(&m, "\x00\x0a\xc0\x0c", 4);
	put_name(&m, "q");
	rr_tail(&m, DNS_TYPE_A, 1, 60, 5);
	put_bytes(&m, "\x01\x02\x03\x04\x05", 5);
	add_a(&m, "q", 60, 9);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 1);
	assert_int_equal(answers.rr[0].addr[3], 9);
}

static void test_dns_parse_cname_target_must_fit_rdata(void **state)
{
	struct msg m;

	(void)state;
	start(&m, "q");
	put_name(&m, "q");
	rr_tail(&m, DNS_TYPE_CNAME, 1, 60, 3); /* "target" needs 8 bytes */
	put_name(&m, "target");
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 0);
}

/* ---- dns_follow_cnames ---- */

static void test_dns_follow_cnames_spreads_masks_and_survives_loops(void **state)
{
	uint64_t mask[DNS_MAX_RRS] = {0};
	struct msg m;

	(void)state;
	start(&m, "a");
	put_name(&m, "a");
	rr_tail(&m, DNS_TYPE_CNAME, 1, 60, 3);
	put_name(&m, "b");
	put_name(&m, "b");
	rr_tail(&m, DNS_TYPE_CNAME, 1, 60, 3);
	put_name(&m, "a");
	add_a(&m, "b", 60, 1);
	add_a(&m, "c", 60, 2);
	assert_int_equal(parse(&m), 0);
	assert_int_equal(answers.count, 4);
	mask[0] = 0x5; /* rules 0 and 2 allow "a" */
	dns_follow_cnames(&answers, mask);
	assert_int_equal(mask[1], 0x5);
	assert_int_equal(mask[2], 0x5);
	assert_int_equal(mask[3], 0);
}

/* ---- resolver discovery ---- */

static size_t dhcp_start(uint8_t *b, uint8_t op)
{
	memset(b, 0, 600);
	b[0] = op;
	memcpy(b + 236, "\x63\x82\x53\x63", 4);
	return 240;
}

static void test_dns_servers_from_dhcp4(void **state)
{
	uint8_t b[600], out[4][4];
	size_t n = dhcp_start(b, 2);

	(void)state;
	b[n++] = 0; /* pad */
	memcpy(b + n, "\x06\x0c\x0a\x00\x02\x03\x08\x08\x08\x08\x01\x01\x01\x01", 14);
	n += 14;
	memcpy(b + n, "\x35\x01\x05\xff", 4); /* ACK, end */
	n += 4;
	assert_int_equal(dns_servers_from_dhcp4(b, n, out, 4), 3);
	assert_memory_equal(out[0], "\x0a\x00\x02\x03", 4);
	assert_memory_equal(out[2], "\x01\x01\x01\x01", 4);
	assert_int_equal(dns_servers_from_dhcp4(b, n, out, 2), 2);
	b[n - 2] = 2; /* OFFER */
	assert_int_equal(dns_servers_from_dhcp4(b, n, out, 4), 3);
	b[n - 2] = 3; /* REQUEST */
	assert_int_equal(dns_servers_from_dhcp4(b, n, out, 4), -EINVAL);
	b[n - 2] = 5;
	b[0] = 1; /* BOOTREQUEST */
	assert_int_equal(dns_servers_from_dhcp4(b, n, out, 4), -EINVAL);
	b[0] = 2;
	b[237] = 0; /* no magic cookie */
	assert_int_equal(dns_servers_from_dhcp4(b, n, out, 4), -EINVAL);
	b[237] = 0x82;
	/* Truncations never read past the end. */
	for (size_t len = 0; len < n; len++)
		assert_true(dns_servers_from_dhcp4(b, len, out, 4) <= 3);
	/* An option claiming more than is there ends the walk (before the ACK type). */
	b[242] = 200;
	assert_int_equal(dns_servers_from_dhcp4(b, n, out, 4), -EINVAL);
	/* An ACK without option 6 is still an ACK. */
	n = dhcp_start(b, 2);
	memcpy(b + n, "\x35\x01\x05\xff", 4);
	assert_int_equal(dns_servers_from_dhcp4(b, n + 4, out, 4), 0);
}

static void test_dns_servers_from_dhcp6(void **state)
{
	uint8_t b[64] = {7, 1, 2, 3}, out[4][16];

	(void)state;
	put16(b + 4, 23);
	put16(b + 6, 32);
	b[8] = 0x20;
	b[24] = 0xfd;
	assert_int_equal(dns_servers_from_dhcp6(b, 40, out, 4), 2);
	assert_int_equal(out[0][0], 0x20);
	assert_int_equal(out[1][0], 0xfd);
	assert_int_equal(dns_servers_from_dhcp6(b, 39, out, 4), 0);
	b[0] = 1; /* SOLICIT */
	assert_int_equal(dns_servers_from_dhcp6(b, 40, out, 4), 0);
}

static void test_dns_servers_from_ra(void **state)
{
	uint8_t b[16 + 8 + 40] = {134}, out[4][16];

	(void)state;
	b[16] = 1; /* source link-layer address option */
	b[17] = 1;
	b[24] = 25; /* RDNSS with two addresses */
	b[25] = 5;
	b[32] = 0x20;
	b[48] = 0x26;
	assert_int_equal(dns_servers_from_ra(b, sizeof(b), out, 4), 2);
	assert_int_equal(out[1][0], 0x26);
	assert_int_equal(dns_servers_from_ra(b, sizeof(b) - 1, out, 4), 0);
	b[17] = 0; /* a zero-length option ends the walk */
	assert_int_equal(dns_servers_from_ra(b, sizeof(b), out, 4), 0);
	b[17] = 1;
	b[0] = 133;
	assert_int_equal(dns_servers_from_ra(b, sizeof(b), out, 4), 0);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_dns_parsers_survive_random_mutations(void **state)
{
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	uint8_t out4[8][4], out6[8][16];
	struct msg good, m;

	(void)state;
	start(&good, "api.example.com");
	put_pointer(&good, 12);
	rr_tail(&good, DNS_TYPE_CNAME, 1, 60, 6);
	put_bytes(&good,
		  "\x03"
		  "cdn",
		  4);
	put_pointer(&good, 16);
	add_a(&good, "cdn.example.com", 60, 1);
	for (unsigned int i = 0; i < 20000; i++) {
		uint64_t r = rng_next(&seed);

		m = good;
		for (unsigned int k = 0; k < 1 + r % 4; k++) {
			uint64_t x = rng_next(&seed);

			m.b[x % m.len] = (uint8_t)(x >> 40);
		}
		if ((r >> 8) % 3 == 0)
			m.len = (size_t)((r >> 16) % (m.len + 1));
		if (parse(&m) == 0)
			for (unsigned int j = 0; j < answers.count; j++)
				assert_true(strlen(answers.rr[j].owner) < DNS_NAME_TEXT);
		dns_servers_from_dhcp4(m.b, m.len, out4, 8);
		dns_servers_from_dhcp6(m.b, m.len, out6, 8);
		dns_servers_from_ra(m.b, m.len, out6, 8);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_parse_decodes_a_aaaa_and_cname),
	    cmocka_unit_test(test_dns_parse_follows_compression_pointers),
	    cmocka_unit_test(test_dns_parse_rejects_pointer_loops),
	    cmocka_unit_test(test_dns_parse_bounds_pointer_hops),
	    cmocka_unit_test(test_dns_parse_bounds_name_length),
	    cmocka_unit_test(test_dns_parse_rejects_bad_labels),
	    cmocka_unit_test(test_dns_parse_rejects_non_responses),
	    cmocka_unit_test(test_dns_parse_huge_counts_are_bounded_by_message),
	    cmocka_unit_test(test_dns_parse_keeps_at_most_max_records),
	    cmocka_unit_test(test_dns_parse_skips_other_classes_types_and_sizes),
	    cmocka_unit_test(test_dns_parse_cname_target_must_fit_rdata),
	    cmocka_unit_test(test_dns_follow_cnames_spreads_masks_and_survives_loops),
	    cmocka_unit_test(test_dns_servers_from_dhcp4),
	    cmocka_unit_test(test_dns_servers_from_dhcp6),
	    cmocka_unit_test(test_dns_servers_from_ra),
	    cmocka_unit_test(test_dns_parsers_survive_random_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
