/* Unit tests for virtio-net (devices/virtio/net.c): configuration and features, reset and the
 * egress filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtio_net_fixture.h"

/* ---- configuration and features ---- */

static void test_virtio_net_config_reads_mac_and_status(void **state)
{
	struct fixture *f = *state;

	/* §5.1.4: mac[6] @0, status @6, max_virtqueue_pairs @8. */
	for (unsigned int i = 0; i < 6; i++)
		assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_DEVICE_OFFSET + i, 1),
				 test_mac[i]);
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_DEVICE_OFFSET + 6, 2),
			 VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_DEVICE_OFFSET + 8, 2), 1);
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_DEVICE_OFFSET + 4, 4),
			 test_mac[4] | test_mac[5] << 8 | VIRTIO_NET_S_LINK_UP << 16);
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_NUMQ, 2),
			 QUEUES);
	vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SELECT, 2, RXQ);
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SIZE, 2),
			 VIRTIO_NET_QUEUE_SIZE);
}

static void test_virtio_net_stream_offers_no_offloads(void **state)
{
	struct fixture *f = *state;
	uint64_t features = vp_driver_device_features(vp(f));

	assert_int_equal(features & base_features, base_features);
	assert_int_equal(features & offload_features, 0);
	/* An offload the device does not offer cannot be negotiated (§2.2.2). */
	assert_false(vp_driver_negotiate(vp(f), base_features | offload_features));
}

static void test_virtio_net_vnet_tap_offers_offloads(void **state)
{
	struct fixture *f = *state;
	uint64_t features = vp_driver_device_features(vp(f));

	assert_int_equal(features & (base_features | offload_features),
			 base_features | offload_features);
}

static void test_virtio_net_plain_tap_offers_no_offloads(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vp_driver_device_features(vp(f)) & offload_features, 0);
}

static bool offload_applied(void *arg)
{
	struct fixture *f = arg;

	return net_tap_offload(f->net.be) != 0;
}

static void test_virtio_net_vnet_tap_offload_follows_guest_features(void **state)
{
	struct fixture *f = *state;

	/* TUNSETOFFLOAD from GUEST_CSUM/GUEST_TSO4 (tech-notes 6.3); a socketpair is no tun. */
	guest_setup(f, base_features | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
			   VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));

	assert_true(test_wait_until(offload_applied, f, TIMEOUT_MS));
	assert_int_equal(net_tap_offload(f->net.be), 0x01 | 0x02); /* TUN_F_CSUM | TUN_F_TSO4 */
	assert_false(needs_reset(f));
}

/* ---- reset ---- */

static void test_virtio_net_reset_drops_partial_frame_and_works_again(void **state)
{
	struct fixture *f = *state;
	uint8_t *wire = f->frame + 8192, hdr[HDR];
	size_t at = 0;
	unsigned int nb;

	guest_setup(f, base_features);
	rx_post(f, 1, 1024);
	/* The first frame waits half delivered; two more sit behind it in the device. */
	for (unsigned int i = 0; i < 3; i++) {
		size_t len = i == 0 ? 3000 : 100;

		stream_put_prefix(wire + at, len);
		fill_frame(wire + at + 4, len, 90 + i);
		at += 4 + len;
	}
	assert_int_equal(write(f->sock[1], wire, at), (ssize_t)at);
	test_sleep_ms(50);

	vp_driver_set_status(vp(f), 0);
	assert_int_equal(vp_driver_status(vp(f)), 0);
	/* Down, the device still reads (and drops) so passt never stalls. */
	stream_write_frame(f->sock[1], wire + 4, 100);
	assert_true(test_wait_until(backend_drained, f, TIMEOUT_MS));
	guest_setup(f, base_features);
	rx_post(f, 4, MTU_BUF);
	fill_frame(f->frame, 400, 95);
	stream_write_frame(f->sock[1], f->frame, 400);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 400);
	assert_int_equal(nb, 1);
	assert_memory_equal(f->got, f->frame, 400);
	assert_int_equal(ring_driver_used(&f->rd[RXQ])->idx, 1);
	assert_int_equal(net_stat(&f->net.stats.rx_dropped), 4);
	tx_send(f, NULL, f->frame, 400);
	assert_int_equal(stream_read_frame(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), 400);
	assert_false(needs_reset(f));
}

static void test_virtio_net_rx_before_activation_is_dropped(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	fill_frame(f->frame, 100, 95);
	stream_write_frame(f->sock[1], f->frame, 100);
	assert_true(test_wait_until(backend_drained, f, TIMEOUT_MS));

	guest_setup(f, base_features);
	rx_post(f, 2, MTU_BUF);
	fill_frame(f->frame, 120, 96);
	stream_write_frame(f->sock[1], f->frame, 120);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 120);
	assert_memory_equal(f->got, f->frame, 120);
	assert_int_equal(net_stat(&f->net.stats.rx_dropped), 1);
}

/* ---- egress filter ---- */

static void test_virtio_net_egress_filter_drops_and_completes(void **state)
{
	struct fixture *f = *state;
	static const uint8_t denied[4] = {198, 51, 100, 7}, allowed[4] = {192, 0, 2, 1};
	uint8_t syn[64];
	uint32_t head, len;

	guest_setup(f, base_features);
	size_t n = build_tcp_syn(syn, denied, 80);

	tx_offer(f, NULL, syn, n);
	n = build_tcp_syn(syn, allowed, 80);
	tx_offer(f, NULL, syn, n);
	guest_kick(f, TXQ);

	/* Only the allowed SYN leaves; both chains come back as if sent. */
	assert_int_equal(stream_read_frame(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), (long)n);
	assert_memory_equal(f->got, syn, n);
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_int_equal(net_stat(&f->net.stats.tx_filtered), 1);
	assert_true(test_fd_quiet(f->sock[1], 20));
	assert_false(needs_reset(f));
}

#define NET_TEST(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    NET_TEST(test_virtio_net_config_reads_mac_and_status, setup_stream),
	    NET_TEST(test_virtio_net_stream_offers_no_offloads, setup_stream),
	    NET_TEST(test_virtio_net_vnet_tap_offers_offloads, setup_vnet_tap),
	    NET_TEST(test_virtio_net_plain_tap_offers_no_offloads, setup_tap),
	    NET_TEST(test_virtio_net_vnet_tap_offload_follows_guest_features, setup_vnet_tap),
	    NET_TEST(test_virtio_net_reset_drops_partial_frame_and_works_again, setup_stream),
	    NET_TEST(test_virtio_net_rx_before_activation_is_dropped, setup_stream),
	    NET_TEST(test_virtio_net_egress_filter_drops_and_completes, setup_stream_filter),
	};

	/* A vanished passt makes writes fail with EPIPE; the VMM blocks SIGPIPE the same way. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
