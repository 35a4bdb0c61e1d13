/* Unit tests for virtio-net (devices/virtio/net.c): the receive queue, from a stream or a tap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtio_net_fixture.h"

/* ---- RX ---- */

static void test_virtio_net_rx_stream_frame_reaches_guest_with_num_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;
	static const uint8_t want_hdr[HDR] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};

	guest_setup(f, base_features);
	rx_post(f, 4, MTU_BUF);
	fill_frame(f->frame, 342, 7);

	stream_write_frame(f->sock[1], f->frame, 342);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 342);
	assert_int_equal(nb, 1);
	assert_memory_equal(hdr, want_hdr, HDR);
	assert_memory_equal(f->got, f->frame, 342);
	assert_int_equal(net_stat(&f->net.stats.rx_frames), 1);
}

static void test_virtio_net_rx_spans_small_buffers_with_mrg_rxbuf(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features);
	rx_post(f, 64, 256);
	fill_frame(f->frame, 3000, 8);

	stream_write_frame(f->sock[1], f->frame, 3000);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 3000);
	assert_int_equal(nb, (HDR + 3000 + 255) / 256); /* 12 buffers */
	assert_memory_equal(f->got, f->frame, 3000);
}

static void test_virtio_net_rx_largest_frame_spans_mtu_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features);
	rx_post(f, 60, MTU_BUF);
	fill_frame(f->frame, VIRTIO_NET_TX_MAX, 9);

	stream_write_frame(f->sock[1], f->frame, VIRTIO_NET_TX_MAX);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), VIRTIO_NET_TX_MAX);
	assert_int_equal(nb, (HDR + VIRTIO_NET_TX_MAX + MTU_BUF - 1) / MTU_BUF);
	assert_memory_equal(f->got, f->frame, VIRTIO_NET_TX_MAX);
}

static void test_virtio_net_rx_stream_reassembles_one_byte_writes(void **state)
{
	struct fixture *f = *state;
	uint8_t wire[4 + 200], hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features);
	rx_post(f, 4, MTU_BUF);
	fill_frame(f->frame, 200, 10);
	stream_put_prefix(wire, 200);
	memcpy(wire + 4, f->frame, 200);

	for (size_t i = 0; i < sizeof(wire); i++) {
		assert_int_equal(write(f->sock[1], wire + i, 1), 1);
		if (i % 50 == 0)
			test_sleep_ms(1); /* let the device see the pieces separately */
	}

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 200);
	assert_memory_equal(f->got, f->frame, 200);
	assert_int_equal(net_stat(&f->net.stats.rx_frames), 1);
}

static void test_virtio_net_rx_stream_several_frames_per_write(void **state)
{
	struct fixture *f = *state;
	static const size_t lens[5] = {14, 60, 1514, 99, 700};
	uint8_t *wire = f->frame + 8192, hdr[HDR];
	size_t at = 0;
	unsigned int nb;

	guest_setup(f, base_features);
	rx_post(f, 16, MTU_BUF);
	for (unsigned int i = 0; i < 5; i++) {
		stream_put_prefix(wire + at, lens[i]);
		fill_frame(wire + at + 4, lens[i], 20 + i);
		at += 4 + lens[i];
	}

	assert_int_equal(write(f->sock[1], wire, at), (ssize_t)at);

	for (unsigned int i = 0; i < 5; i++) {
		assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), lens[i]);
		fill_frame(f->frame, lens[i], 20 + i);
		assert_memory_equal(f->got, f->frame, lens[i]);
	}
}

static void test_virtio_net_rx_waits_for_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features);
	fill_frame(f->frame, 500, 30);
	assert_int_equal(write(f->sock[1], f->frame, 500), 500);
	fill_frame(f->frame, 600, 31);
	assert_int_equal(write(f->sock[1], f->frame, 600), 600);

	/* Nothing to put it in: the first frame waits and the second stays in the tap. */
	assert_true(test_wait_until(backend_holds_600, f, TIMEOUT_MS));
	test_sleep_ms(20);
	assert_true(backend_holds_600(f));
	assert_int_equal(ring_driver_used(&f->rd[RXQ])->idx, 0);
	rx_post(f, 4, MTU_BUF);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 500);
	fill_frame(f->frame, 500, 30);
	assert_memory_equal(f->got, f->frame, 500);
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 600);
	fill_frame(f->frame, 600, 31);
	assert_memory_equal(f->got, f->frame, 600);
}

static void test_virtio_net_rx_waits_mid_frame_for_more_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features);
	rx_post(f, 2, 1024); /* not enough for 3000 bytes */
	fill_frame(f->frame, 3000, 32);

	stream_write_frame(f->sock[1], f->frame, 3000);
	test_sleep_ms(50);
	assert_int_equal(ring_driver_used(&f->rd[RXQ])->idx, 0);
	rx_post(f, 2, 1024);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 3000);
	assert_int_equal(nb, 3);
	assert_memory_equal(f->got, f->frame, 3000);
}

static void test_virtio_net_rx_without_mrg_drops_frame_too_big_for_buffer(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features & ~VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	rx_post(f, 2, MTU_BUF);
	fill_frame(f->frame, 4000, 40);
	stream_write_frame(f->sock[1], f->frame, 4000);
	fill_frame(f->frame, 1000, 41);

	stream_write_frame(f->sock[1], f->frame, 1000);

	/* §5.1.6.4.1: one chain per packet, num_buffers 1; the big frame is gone. */
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 1000);
	assert_int_equal(nb, 1);
	assert_memory_equal(f->got, f->frame, 1000);
	assert_int_equal(net_stat(&f->net.stats.rx_dropped), 1);
}

static void test_virtio_net_rx_vnet_tap_keeps_tap_header(void **state)
{
	struct fixture *f = *state;
	/* DATA_VALID, GSO_TCPV4, hdr_len 66, gso_size 1448, csum 0; num_buffers left to us. */
	static const uint8_t tap_hdr[HDR] = {2, 1, 66, 0, 0xa8, 0x05, 0, 0, 0, 0, 0xee, 0xee};
	uint8_t wire[HDR + 3000], hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features | offload_features);
	rx_post(f, 8, MTU_BUF);
	memcpy(wire, tap_hdr, HDR);
	fill_frame(wire + HDR, 3000, 50);

	assert_int_equal(write(f->sock[1], wire, sizeof(wire)), (ssize_t)sizeof(wire));

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 3000);
	assert_memory_equal(hdr, tap_hdr, 10);
	assert_int_equal(nb, (HDR + 3000 + MTU_BUF - 1) / MTU_BUF);
	assert_memory_equal(f->got, wire + HDR, 3000);
}

static void test_virtio_net_rx_vnet_tap_drops_gso_the_guest_did_not_accept(void **state)
{
	struct fixture *f = *state;
	static const uint8_t gso_hdr[HDR] = {1, 4, 74, 0, 0xa8, 0x05, 54, 0, 16, 0, 0, 0};
	uint8_t wire[HDR + 200], hdr[HDR];
	unsigned int nb;

	/* No GUEST_CSUM/GUEST_TSO6: a TCPv6 GSO frame with NEEDS_CSUM must not reach it. */
	guest_setup(f, base_features);
	rx_post(f, 4, MTU_BUF);
	memcpy(wire, gso_hdr, HDR);
	fill_frame(wire + HDR, 200, 51);
	assert_int_equal(write(f->sock[1], wire, sizeof(wire)), (ssize_t)sizeof(wire));
	memset(wire, 0, HDR);
	wire[0] = 2; /* DATA_VALID: cleared, flags must be 0 without GUEST_CSUM */

	assert_int_equal(write(f->sock[1], wire, sizeof(wire)), (ssize_t)sizeof(wire));

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 200);
	assert_int_equal(hdr[0], 0);
	assert_int_equal(hdr[1], 0);
	assert_int_equal(net_stat(&f->net.stats.rx_dropped), 1);
}

static void test_virtio_net_rx_tap_without_vnet_hdr_gets_zero_header(void **state)
{
	struct fixture *f = *state;
	static const uint8_t want_hdr[HDR] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
	uint8_t hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features);
	rx_post(f, 2, MTU_BUF);
	fill_frame(f->frame, 1514, 52);

	assert_int_equal(write(f->sock[1], f->frame, 1514), 1514);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 1514);
	assert_memory_equal(hdr, want_hdr, HDR);
	assert_memory_equal(f->got, f->frame, 1514);
}

static void test_virtio_net_rx_readable_descriptor_needs_reset(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[2];

	guest_setup(f, base_features);
	bufs[0] = (struct ring_buf){guest_alloc(f, RXQ, NULL, 64), 64, false};
	bufs[1] = (struct ring_buf){guest_alloc(f, RXQ, NULL, MTU_BUF), MTU_BUF, true};
	ring_driver_add_chain(&f->rd[RXQ], bufs, 2);
	guest_kick(f, RXQ);
	fill_frame(f->frame, 100, 60);

	stream_write_frame(f->sock[1], f->frame, 100);

	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
	assert_int_equal(ring_driver_used(&f->rd[RXQ])->idx, 0);
}

static void test_virtio_net_rx_mrg_buffer_smaller_than_header_needs_reset(void **state)
{
	struct fixture *f = *state;

	guest_setup(f, base_features);
	rx_post(f, 1, 8); /* §5.1.6.3.1: each merged buffer holds at least the header */
	fill_frame(f->frame, 100, 61);

	stream_write_frame(f->sock[1], f->frame, 100);

	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
}

static void test_virtio_net_rx_bad_stream_length_stops_rx_and_reports(void **state)
{
	struct fixture *f = *state;
	static const uint8_t bad[8] = {0, 0, 0, 5, 1, 2, 3, 4};

	guest_setup(f, base_features);
	rx_post(f, 4, MTU_BUF);

	assert_int_equal(write(f->sock[1], bad, sizeof(bad)), (ssize_t)sizeof(bad));

	assert_true(test_wait_until(backend_gone, f, TIMEOUT_MS));
	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
	assert_non_null(f->net.error);
	/* Later (valid) frames are not read any more. */
	fill_frame(f->frame, 100, 70);
	stream_write_frame(f->sock[1], f->frame, 100);
	test_sleep_ms(50);
	assert_int_equal(ring_driver_used(&f->rd[RXQ])->idx, 0);
	assert_int_equal(gone_count(f), 1);
}

static void test_virtio_net_rx_oversized_stream_length_reports(void **state)
{
	struct fixture *f = *state;
	uint8_t big[4];

	guest_setup(f, base_features);
	stream_put_prefix(big, VIRTIO_NET_TX_MAX + 1);

	assert_int_equal(write(f->sock[1], big, 4), 4);

	assert_true(test_wait_until(backend_gone, f, TIMEOUT_MS));
	assert_int_equal(gone_count(f), 1);
}

static void test_virtio_net_backend_eof_reports_gone(void **state)
{
	struct fixture *f = *state;
	uint32_t head, len;

	guest_setup(f, base_features);
	rx_post(f, 2, MTU_BUF);
	fill_frame(f->frame, 80, 80);
	stream_write_frame(f->sock[1], f->frame, 80);

	test_close_fd(&f->sock[1]);

	assert_true(test_wait_until(backend_gone, f, TIMEOUT_MS));
	assert_int_equal(gone_count(f), 1);
	/* The frame sent before the end still arrives; the device is not broken by this. */
	assert_true(wait_used(f, RXQ, &head, &len, TIMEOUT_MS));
	assert_int_equal(len, HDR + 80);
	assert_false(needs_reset(f));
	/* Transmits still complete (dropped): the guest never hangs on a dead backend. */
	tx_send(f, NULL, f->frame, 80);
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_int_equal(gone_count(f), 1);
}

#define NET_TEST(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    NET_TEST(test_virtio_net_rx_stream_frame_reaches_guest_with_num_buffers, setup_stream),
	    NET_TEST(test_virtio_net_rx_spans_small_buffers_with_mrg_rxbuf, setup_stream),
	    NET_TEST(test_virtio_net_rx_largest_frame_spans_mtu_buffers, setup_stream),
	    NET_TEST(test_virtio_net_rx_stream_reassembles_one_byte_writes, setup_stream),
	    NET_TEST(test_virtio_net_rx_stream_several_frames_per_write, setup_stream),
	    NET_TEST(test_virtio_net_rx_waits_for_buffers, setup_tap),
	    NET_TEST(test_virtio_net_rx_waits_mid_frame_for_more_buffers, setup_stream),
	    NET_TEST(test_virtio_net_rx_without_mrg_drops_frame_too_big_for_buffer, setup_stream),
	    NET_TEST(test_virtio_net_rx_vnet_tap_keeps_tap_header, setup_vnet_tap),
	    NET_TEST(test_virtio_net_rx_vnet_tap_drops_gso_the_guest_did_not_accept,
		     setup_vnet_tap),
	    NET_TEST(test_virtio_net_rx_tap_without_vnet_hdr_gets_zero_header, setup_tap),
	    NET_TEST(test_virtio_net_rx_readable_descriptor_needs_reset, setup_stream),
	    NET_TEST(test_virtio_net_rx_mrg_buffer_smaller_than_header_needs_reset, setup_stream),
	    NET_TEST(test_virtio_net_rx_bad_stream_length_stops_rx_and_reports, setup_stream),
	    NET_TEST(test_virtio_net_rx_oversized_stream_length_reports, setup_stream),
	    NET_TEST(test_virtio_net_backend_eof_reports_gone, setup_stream),
	};

	/* A vanished passt makes writes fail with EPIPE; the VMM blocks SIGPIPE the same way. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
