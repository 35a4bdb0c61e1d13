/*
 * Unit tests for the transmit header check (devices/virtio/net_tx_hdr.c).
 * Reproduction of the bypass it closes: on a tap with --allow rules, a
 * guest sends a TCP SYN to an allowed :443 whose header says NEEDS_CSUM
 * with csum_start at the TCP header and csum_offset 2 (the destination
 * port); the filter passes the frame, and the host kernel then writes the
 * checksum it computes over the payload the guest chose into the port, so
 * the SYN leaves for :22.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/le.h"
#include "devices/virtio/net_tx_hdr.h"

#define ETH 14

/* An Ethernet frame with an IPv4 (ihl 5) or IPv6 header and `proto` after it. */
static size_t frame_with(uint8_t *f, bool ipv6, uint8_t proto)
{
	memset(f, 0, 128);
	f[12] = ipv6 ? 0x86 : 0x08;
	f[13] = ipv6 ? 0xdd : 0x00;
	if (ipv6) {
		f[ETH] = 0x60;
		f[ETH + 6] = proto;
		return ETH + 40 + 20;
	}
	f[ETH] = 0x45;
	f[ETH + 9] = proto;
	return ETH + 20 + 20;
}

static void hdr_with(uint8_t *h, uint8_t flags, uint8_t gso, uint16_t start, uint16_t off)
{
	memset(h, 0, 12);
	h[0] = flags;
	h[1] = gso;
	le_put16(h + 4, gso ? 1448 : 0);
	le_put16(h + 6, start);
	le_put16(h + 8, off);
}

static void test_plain_header_passes(void **state)
{
	uint8_t h[12], f[128];
	size_t n = frame_with(f, false, 6);

	(void)state;
	hdr_with(h, 0, 0, 0, 0);
	assert_true(net_tx_hdr_safe(h, f, n));
}

static void test_checksum_at_the_tcp_or_udp_field_passes(void **state)
{
	uint8_t h[12], f[128];
	size_t n = frame_with(f, false, 6);

	(void)state;
	hdr_with(h, 1, 0, ETH + 20, 16);
	assert_true(net_tx_hdr_safe(h, f, n));
	hdr_with(h, 1, 1, ETH + 20, 16); /* TSO over IPv4 */
	assert_true(net_tx_hdr_safe(h, f, n));
	n = frame_with(f, true, 6);
	hdr_with(h, 1, 4, ETH + 40, 16); /* TSO over IPv6 */
	assert_true(net_tx_hdr_safe(h, f, n));
	n = frame_with(f, false, 17);
	hdr_with(h, 1, 0, ETH + 20, 6);
	assert_true(net_tx_hdr_safe(h, f, n));
}

static void test_checksum_aimed_at_the_destination_port_is_refused(void **state)
{
	uint8_t h[12], f[128];
	size_t n = frame_with(f, false, 6);

	(void)state;
	hdr_with(h, 1, 0, ETH + 20, 2); /* TCP destination port */
	assert_false(net_tx_hdr_safe(h, f, n));
	hdr_with(h, 1, 0, ETH + 16, 16); /* the IPv4 destination address */
	assert_false(net_tx_hdr_safe(h, f, n));
	n = frame_with(f, true, 6);
	hdr_with(h, 1, 0, ETH + 24, 16); /* inside the IPv6 destination */
	assert_false(net_tx_hdr_safe(h, f, n));
}

static void test_other_flags_and_segmentation_are_refused(void **state)
{
	uint8_t h[12], f[128];
	size_t n = frame_with(f, false, 6);

	(void)state;
	hdr_with(h, 2, 0, 0, 0); /* DATA_VALID is a receive flag */
	assert_false(net_tx_hdr_safe(h, f, n));
	hdr_with(h, 0, 1, 0, 0); /* GSO without NEEDS_CSUM */
	assert_false(net_tx_hdr_safe(h, f, n));
	hdr_with(h, 1, 4, ETH + 20, 16); /* TCPv6 segmentation of an IPv4 frame */
	assert_false(net_tx_hdr_safe(h, f, n));
	hdr_with(h, 1, 3, ETH + 20, 16); /* UDP fragmentation offload */
	assert_false(net_tx_hdr_safe(h, f, n));
	n = frame_with(f, false, 1); /* ICMP has no checksum offload */
	hdr_with(h, 1, 0, ETH + 20, 2);
	assert_false(net_tx_hdr_safe(h, f, n));
	f[12] = 0x81; /* a VLAN tag: not a frame the filter reads as IP */
	f[13] = 0x00;
	hdr_with(h, 1, 0, ETH + 20, 16);
	assert_false(net_tx_hdr_safe(h, f, n));
}

static void test_short_frames_are_refused(void **state)
{
	uint8_t h[12], f[128];

	(void)state;
	frame_with(f, false, 6);
	hdr_with(h, 1, 0, ETH + 20, 16);
	assert_false(net_tx_hdr_safe(h, f, ETH + 20 + 10));
	assert_false(net_tx_hdr_safe(h, f, ETH));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_header_passes),
	    cmocka_unit_test(test_checksum_at_the_tcp_or_udp_field_passes),
	    cmocka_unit_test(test_checksum_aimed_at_the_destination_port_is_refused),
	    cmocka_unit_test(test_other_flags_and_segmentation_are_refused),
	    cmocka_unit_test(test_short_frames_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
