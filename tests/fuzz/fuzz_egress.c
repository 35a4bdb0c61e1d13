/*
 * libFuzzer target: the egress filter (devices/net/egress*.c, flow.c, dns.c, dns_tcp.c) on a
 * sequence of Ethernet frames, each tagged as sent by the guest (egress_check_tx) or delivered
 * to it (egress_observe_rx: DHCP, DHCPv6, RA, DNS over UDP and TCP from the resolvers below).
 * Each input starts from the same filter (name, address and port rules, resolvers, a DHCP
 * server): the filter is one allocation holding no pointers to other memory (egress.c), so a
 * copy of its bytes taken after set-up is written back per input instead of building it anew
 * (a 400 KiB calloc and free per input cost 20 times the filter's own work).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "devices/net/egress.h"
#include "tests/fuzz/fuzz_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const rules[] = {
    "allowed.example", "*.wild.example:443", "93.184.216.34",
    "10.1.0.0/16:22",  "[2001:db8::/32]:80",
};

static void quiet(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
}

static struct egress_filter *filter_new(bool block_private)
{
	static const uint8_t res4[4] = {10, 0, 2, 3}, dhcp4[4] = {10, 0, 2, 2};
	static const uint8_t res6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
	struct egress_options opts = {.block_private = block_private,
				      .guest_mac = {0x52, 0x54, 0, 0x12, 0x34, 0x56},
				      .log = quiet};
	struct egress_filter *f;
	char err[256];

	if (egress_filter_create(&f, &opts))
		abort();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (egress_filter_add_rule(f, rules[i], err, sizeof(err)))
			abort();
	if (egress_filter_add_resolver(f, AF_INET, res4) ||
	    egress_filter_add_resolver(f, AF_INET6, res6) ||
	    egress_filter_add_dhcp_server(f, AF_INET, dhcp4))
		abort();
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size, 0};
	const uint8_t *frame;
	uint64_t now = 1000;
	size_t len;
	uint8_t tag;

	static struct egress_filter *filters[2];
	static void *pristine[2];
	static size_t bytes[2];

	if (size < 1)
		return 0;
	unsigned int mode = data[0] & 1;

	if (!filters[mode]) {
		filters[mode] = filter_new(mode);
		bytes[mode] = malloc_usable_size(filters[mode]);
		pristine[mode] = malloc(bytes[mode]);
		if (!pristine[mode])
			abort();
		memcpy(pristine[mode], filters[mode], bytes[mode]);
	}
	struct egress_filter *f = filters[mode];

	memcpy(f, pristine[mode], bytes[mode]);
	in.at = 1;
	while (fuzz_next(&in, &tag, &frame, &len)) {
		/* Time moves by the tag's upper bits: flows and learned names expire. */
		now += (uint64_t)(tag >> 1) * (tag & 0x80 ? 60000 : 1);
		if (tag & 1)
			egress_observe_rx(f, frame, len, now);
		else
			(void)egress_check_tx(f, frame, len, now);
	}
	return 0;
}
