/*
 * libFuzzer target: the DNS and resolver-discovery parsers (devices/net/dns.c) and the DNS over
 * TCP stream reassembly (devices/net/dns_tcp.c), whose completed messages go through the
 * response parser as the egress filter does. Records: tag 0 a DNS response, 1 a DHCP payload,
 * 2 a DHCPv6 payload, 3 a router advertisement, others a TCP segment from the resolver (flags
 * and seq from the record's first bytes) on one of two streams.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/net/dns.h"
#include "devices/net/dns_tcp.h"
#include "tests/fuzz/fuzz_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const uint8_t *msg, size_t len)
{
	static struct dns_answers a;
	uint64_t mask[DNS_MAX_RRS];

	if (dns_parse_response(msg, len, &a) != 0)
		return;
	for (unsigned int i = 0; i < DNS_MAX_RRS; i++)
		mask[i] = i < a.count && (a.rr[i].owner[0] & 1) ? 1 : 0;
	dns_follow_cnames(&a, mask);
}

static void on_msg(void *ctx, const uint8_t *msg, size_t len)
{
	(void)ctx;
	parse(msg, len);
}

static void segment(struct dns_tcp_table *t, uint8_t tag, const uint8_t *b, size_t len,
		    uint64_t now)
{
	struct flow_key key;

	if (len < 5)
		return;
	memset(&key, 0, sizeof(key));
	key.family = 4;
	key.proto = 6;
	key.guest[0] = 10;
	key.remote[0] = 10;
	key.remote[3] = 3;
	key.guest_port = (uint16_t)(40000 + (tag & 1));
	key.remote_port = 53;
	uint32_t seq =
	    (uint32_t)b[1] | (uint32_t)b[2] << 8 | (uint32_t)b[3] << 16 | (uint32_t)b[4] << 24;
	dns_tcp_segment(t, &key, b[0], seq, b + 5, len - 5, now, on_msg, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_tcp_table table;
	struct fuzz_input in = {data, size, 0};
	uint8_t v4[8][4], v6[8][16];
	const uint8_t *b;
	uint64_t now = 0;
	size_t len;
	uint8_t tag;

	dns_tcp_reset(&table);
	while (fuzz_next(&in, &tag, &b, &len)) {
		now += tag >> 3;
		switch (tag & 7) {
		case 0:
			parse(b, len);
			break;
		case 1:
			(void)dns_servers_from_dhcp4(b, len, v4, 8);
			break;
		case 2:
			(void)dns_servers_from_dhcp6(b, len, v6, 8);
			break;
		case 3:
			(void)dns_servers_from_ra(b, len, v6, 8);
			break;
		default:
			segment(&table, tag, b, len, now);
			break;
		}
	}
	return 0;
}
