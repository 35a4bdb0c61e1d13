/* Unit tests for virtio-net's passt back-end framing (devices/virtio/net_stream.c): the ops alone,
 * without a device or a loop. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/net_backend.h"

struct fixture {
	int fd; /* never read or written by the ops under test */
	struct net_backend *be;
	uint8_t wire[2 * (NET_STREAM_PREFIX + VIRTIO_NET_TX_MAX)];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtio_net_params params = {.backend = VIRTIO_NET_BACKEND_STREAM};

	if (!f)
		return -1;
	*state = f;
	f->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	params.fd = f->fd;
	return f->fd < 0 || net_backend_create(&params, NULL, NULL, &f->be) ? -1 : 0;
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

/* Puts [be32 len][frame of len bytes, seeded] at p; returns the bytes written. */
static size_t put_frame(uint8_t *p, size_t len, unsigned int seed)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		p[NET_STREAM_PREFIX + i] = (uint8_t)(i * 31 + seed);
	return NET_STREAM_PREFIX + len;
}

/* One read of n bytes from the socket, as net_backend.c does it. */
static void feed(struct net_backend *be, const uint8_t *bytes, size_t n)
{
	uint8_t *buf;
	size_t len;

	be->ops->rx_space(be, &buf, &len);
	assert_true(n <= len);
	memcpy(buf, bytes, n);
	be->ops->rx_received(be, n);
}

/* The next frame must be the one at wire (its prefix included); consumes it. */
static void expect_frame(struct net_backend *be, const uint8_t *wire, size_t len)
{
	static const uint8_t zero[VIRTIO_NET_HDR_LEN];
	struct virtio_net_rx_frame frame;

	memset(&frame, 0xa5, sizeof(frame));
	assert_int_equal(be->ops->rx_next(be, &frame), NET_RX_FRAME);
	assert_int_equal(frame.len, len);
	assert_memory_equal(frame.data, wire + NET_STREAM_PREFIX, len);
	/* passt has no virtio-net header: the guest's is all zero (no offloads). */
	assert_memory_equal(frame.hdr, zero, sizeof(zero));
	be->ops->rx_consumed(be, &frame);
}

static enum net_rx_next next(struct net_backend *be)
{
	struct virtio_net_rx_frame frame;

	return be->ops->rx_next(be, &frame);
}

static void test_net_stream_refuses_vnet_hdr(void **state)
{
	struct fixture *f = *state;
	struct virtio_net_params params = {
	    .backend = VIRTIO_NET_BACKEND_STREAM, .fd = f->fd, .vnet_hdr = true};
	struct net_backend *be = NULL;

	assert_int_equal(net_backend_create(&params, NULL, NULL, &be), -EINVAL);
	assert_null(be);
}

static void test_net_stream_offers_no_offloads_and_never_borrows(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->be->features, 0);
	assert_false(f->be->tx_borrow);
	assert_null(f->be->ops->set_offload);
	assert_int_equal(net_tap_offload(f->be), 0);
}

static void test_net_stream_rx_prefix_one_byte_at_a_time(void **state)
{
	struct fixture *f = *state;
	size_t n = put_frame(f->wire, 300, 1);

	/* Each of the prefix's first 3 bytes alone, then 4 with a part of the frame. */
	for (size_t i = 0; i < 3; i++) {
		feed(f->be, f->wire + i, 1);
		assert_int_equal(next(f->be), NET_RX_MORE);
	}
	feed(f->be, f->wire + 3, 100);
	assert_int_equal(next(f->be), NET_RX_MORE);
	feed(f->be, f->wire + 103, n - 103);

	expect_frame(f->be, f->wire, 300);
	assert_int_equal(next(f->be), NET_RX_MORE);
}

static void test_net_stream_rx_frames_and_a_split_prefix_in_one_read(void **state)
{
	struct fixture *f = *state;
	size_t a = put_frame(f->wire, 60, 2);
	size_t b = put_frame(f->wire + a, 1514, 3);
	size_t c = put_frame(f->wire + a + b, 14, 4);

	/* Two whole frames and two bytes of the third's prefix arrive together. */
	feed(f->be, f->wire, a + b + 2);

	expect_frame(f->be, f->wire, 60);
	expect_frame(f->be, f->wire + a, 1514);
	assert_int_equal(next(f->be), NET_RX_MORE);
	/* The next read lands behind the kept half prefix (moved to the front first). */
	feed(f->be, f->wire + a + b + 2, c - 2);
	expect_frame(f->be, f->wire + a + b, 14);
	assert_int_equal(next(f->be), NET_RX_MORE);
}

static void test_net_stream_rx_largest_frame_over_several_reads(void **state)
{
	struct fixture *f = *state;
	size_t n = put_frame(f->wire, VIRTIO_NET_TX_MAX, 5);

	for (size_t at = 0; at < n; at += 4096) {
		assert_int_equal(next(f->be), NET_RX_MORE);
		feed(f->be, f->wire + at, n - at < 4096 ? n - at : 4096);
	}

	expect_frame(f->be, f->wire, VIRTIO_NET_TX_MAX);
}

static void test_net_stream_rx_length_outside_limits_loses_framing(void **state)
{
	struct fixture *f = *state;
	static const size_t bad[] = {0, VIRTIO_NET_ETH_MIN - 1, VIRTIO_NET_TX_MAX + 1, 0xffffffff};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct virtio_net_rx_frame frame = {0};
		uint8_t prefix[NET_STREAM_PREFIX] = {(uint8_t)(bad[i] >> 24),
						     (uint8_t)(bad[i] >> 16),
						     (uint8_t)(bad[i] >> 8), (uint8_t)bad[i]};

		feed(f->be, prefix, sizeof(prefix));

		assert_int_equal(f->be->ops->rx_next(f->be, &frame), NET_RX_LOST);
		assert_non_null(frame.error);
		/* What was buffered is gone: nothing after a bad prefix can be trusted. */
		assert_int_equal(next(f->be), NET_RX_MORE);
	}
}

static void test_net_stream_tx_frame_prefixes_be32_length(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[NET_TX_BUF_SIZE];
	struct virtio_net_tx_buf b = {.data = data};
	static const uint8_t want[NET_STREAM_PREFIX] = {0x00, 0x00, 0x05, 0xea};

	f->be->ops->tx_frame(f->be, &b, 1514);

	/* The prefix sits right before the frame, over the virtio-net header's tail. */
	assert_int_equal(b.start, NET_TX_FRAME - NET_STREAM_PREFIX);
	assert_int_equal(b.end, NET_TX_FRAME + 1514);
	assert_memory_equal(data + b.start, want, sizeof(want));
}

#define STREAM_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    STREAM_TEST(test_net_stream_refuses_vnet_hdr),
	    STREAM_TEST(test_net_stream_offers_no_offloads_and_never_borrows),
	    STREAM_TEST(test_net_stream_rx_prefix_one_byte_at_a_time),
	    STREAM_TEST(test_net_stream_rx_frames_and_a_split_prefix_in_one_read),
	    STREAM_TEST(test_net_stream_rx_largest_frame_over_several_reads),
	    STREAM_TEST(test_net_stream_rx_length_outside_limits_loses_framing),
	    STREAM_TEST(test_net_stream_tx_frame_prefixes_be32_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
