/* Unit tests for virtio-net's tap back-end framing (devices/virtio/net_tap.c): the ops alone,
 * without a device or a loop. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/net_backend.h"

#define HDR	  VIRTIO_NET_HDR_LEN
#define FRAME_MAX 70000

struct fixture {
	int fd; /* /dev/null: TUNSETOFFLOAD fails with ENOTTY, which the tap ignores */
	struct net_backend *be;
	uint8_t wire[HDR + FRAME_MAX];
};

static int fixture_init(void **state, bool vnet_hdr)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtio_net_params params = {.backend = VIRTIO_NET_BACKEND_TAP, .vnet_hdr = vnet_hdr};

	if (!f)
		return -1;
	*state = f;
	f->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	params.fd = f->fd;
	return f->fd < 0 || net_backend_create(&params, NULL, NULL, &f->be) ? -1 : 0;
}

static int setup_vnet(void **state)
{
	return fixture_init(state, true);
}

static int setup_plain(void **state)
{
	return fixture_init(state, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	net_backend_destroy(f->be);
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	return 0;
}

static void accept_offloads(struct fixture *f, bool csum, bool tso4, bool tso6)
{
	const struct net_offload acc = {.csum = csum, .tso4 = tso4, .tso6 = tso6};

	assert_int_equal(f->be->ops->set_offload(f->be, &acc), 0);
}

/* One tap read of n bytes: the header (when given) then a frame of len bytes. */
static void tap_read(struct fixture *f, const uint8_t *hdr, size_t len)
{
	uint8_t *buf;
	size_t cap, n = (hdr ? HDR : 0) + len;

	f->be->ops->rx_space(f->be, &buf, &cap);
	assert_true(n <= cap);
	if (hdr)
		memcpy(buf, hdr, HDR);
	for (size_t i = 0; i < len; i++)
		buf[n - len + i] = (uint8_t)(i * 7 + 3);
	memcpy(f->wire, buf, n);
	f->be->ops->rx_received(f->be, n);
}

static void test_net_tap_vnet_offers_offloads_and_borrows(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->be->features, NET_OFFLOAD_FEATURES);
	assert_true(f->be->tx_borrow);
}

static void test_net_tap_plain_offers_nothing_and_copies(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->be->features, 0);
	assert_false(f->be->tx_borrow);
}

static void test_net_tap_offload_flags_follow_accepted_features(void **state)
{
	struct fixture *f = *state;

	/* TUN_F_CSUM 1, TSO4 2, TSO6 4; TSO without CSUM is not asked for (tech-notes 6.3). */
	accept_offloads(f, true, true, false);
	assert_int_equal(net_tap_offload(f->be), 0x01 | 0x02);
	accept_offloads(f, false, true, true);
	assert_int_equal(net_tap_offload(f->be), 0);
	accept_offloads(f, true, true, true);
	assert_int_equal(net_tap_offload(f->be), 0x01 | 0x02 | 0x04);
}

static void test_net_tap_rx_vnet_header_reaches_guest_but_num_buffers(void **state)
{
	struct fixture *f = *state;
	/* NEEDS_CSUM, GSO_TCPV4, hdr_len 66, gso_size 1448, csum 34/16; the tap's num_buffers. */
	static const uint8_t hdr[HDR] = {1, 1, 66, 0, 0xa8, 0x05, 34, 0, 16, 0, 0xee, 0xee};
	struct virtio_net_rx_frame frame;

	accept_offloads(f, true, true, false);
	tap_read(f, hdr, 3000);

	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_FRAME);
	assert_memory_equal(frame.hdr, hdr, NET_HDR_NUM_BUFFERS);
	assert_int_equal(frame.hdr[10], 0);
	assert_int_equal(frame.hdr[11], 0);
	assert_int_equal(frame.len, 3000);
	assert_memory_equal(frame.data, f->wire + HDR, 3000);
	f->be->ops->rx_consumed(f->be, &frame);
	/* One read is one frame: nothing more until the next read. */
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_MORE);
}

static void test_net_tap_rx_vnet_header_checked_against_accepted(void **state)
{
	struct fixture *f = *state;
	static const uint8_t needs_csum[HDR] = {1};
	static const uint8_t tso6[HDR] = {2, 4};
	static const uint8_t odd_flags[HDR] = {0x80 | 2};
	struct virtio_net_rx_frame frame;

	/* No GUEST_CSUM: NEEDS_CSUM cannot be honoured, DATA_VALID is cleared (§5.1.6.4.1). */
	accept_offloads(f, false, false, false);
	tap_read(f, needs_csum, 100);
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_DROP);
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_MORE);
	tap_read(f, odd_flags, 100);
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_FRAME);
	assert_int_equal(frame.hdr[NET_HDR_FLAGS], 0);

	/* GUEST_CSUM without GUEST_TSO6: a TCPv6 GSO frame is dropped; unknown flags masked. */
	accept_offloads(f, true, true, false);
	tap_read(f, tso6, 100);
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_DROP);
	tap_read(f, odd_flags, 100);
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_FRAME);
	assert_int_equal(frame.hdr[NET_HDR_FLAGS], NET_HDR_F_DATA_VALID);
}

static void test_net_tap_rx_drops_runts_and_truncated_reads(void **state)
{
	struct fixture *f = *state;
	static const uint8_t hdr[HDR];
	struct virtio_net_rx_frame frame;
	uint8_t *buf;
	size_t cap;

	accept_offloads(f, false, false, false);
	tap_read(f, hdr, VIRTIO_NET_ETH_MIN - 1);
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_DROP);
	/* A read that fills the whole buffer may have lost the frame's tail. */
	f->be->ops->rx_space(f->be, &buf, &cap);
	memset(buf, 0, cap);
	f->be->ops->rx_received(f->be, cap);
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_DROP);
	tap_read(f, hdr, VIRTIO_NET_ETH_MIN);
	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_FRAME);
	assert_int_equal(frame.len, VIRTIO_NET_ETH_MIN);
}

static void test_net_tap_rx_plain_frame_gets_zero_header(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[HDR];
	struct virtio_net_rx_frame frame;

	tap_read(f, NULL, 1514);

	assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_FRAME);
	assert_memory_equal(frame.hdr, zero, HDR);
	assert_int_equal(frame.len, 1514);
	assert_memory_equal(frame.data, f->wire, 1514);
}

static void test_net_tap_tx_vnet_writes_header_and_frame(void **state)
{
	struct fixture *f = *state;
	struct virtio_net_tx_buf b = {0};

	f->be->ops->tx_frame(f->be, &b, 1514);

	assert_int_equal(b.start, NET_TX_HDR);
	assert_int_equal(b.end, NET_TX_FRAME + 1514);
}

static void test_net_tap_tx_plain_writes_frame_only(void **state)
{
	struct fixture *f = *state;
	struct virtio_net_tx_buf b = {0};

	f->be->ops->tx_frame(f->be, &b, 60);

	assert_int_equal(b.start, NET_TX_FRAME);
	assert_int_equal(b.end, NET_TX_FRAME + 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_net_tap_vnet_offers_offloads_and_borrows,
					    setup_vnet, teardown),
	    cmocka_unit_test_setup_teardown(test_net_tap_plain_offers_nothing_and_copies,
					    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_net_tap_offload_flags_follow_accepted_features,
					    setup_vnet, teardown),
	    cmocka_unit_test_setup_teardown(
		test_net_tap_rx_vnet_header_reaches_guest_but_num_buffers, setup_vnet, teardown),
	    cmocka_unit_test_setup_teardown(test_net_tap_rx_vnet_header_checked_against_accepted,
					    setup_vnet, teardown),
	    cmocka_unit_test_setup_teardown(test_net_tap_rx_drops_runts_and_truncated_reads,
					    setup_vnet, teardown),
	    cmocka_unit_test_setup_teardown(test_net_tap_rx_plain_frame_gets_zero_header,
					    setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_net_tap_tx_vnet_writes_header_and_frame,
					    setup_vnet, teardown),
	    cmocka_unit_test_setup_teardown(test_net_tap_tx_plain_writes_frame_only, setup_plain,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
