/*
 * Unit tests for virtio-net's direct receive (devices/virtio/net.c): a tap's
 * frame read straight into the guest's merged receive buffers once enough
 * of them are popped ahead to hold the largest frame, and the bounce path
 * whenever they are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtio_net_fixture.h"

/* Enough MTU-sized buffers for the largest frame a tap gives (header + 64 KiB + Ethernet). */
#define ENOUGH_MTU_BUFS 48

/* DATA_VALID, GSO_TCPV4, hdr_len 66, gso_size 1448; num_buffers left to the device. */
static const uint8_t tap_hdr[HDR] = {2, 1, 66, 0, 0xa8, 0x05, 0, 0, 0, 0, 0xee, 0xee};

/* A frame as a tap hands it over, and the expected bytes to compare with. */
static uint8_t wire[HDR + FRAME_MAX], want[FRAME_MAX];

static void tap_write(struct fixture *f, size_t frame_len, unsigned int seed)
{
	memcpy(wire, tap_hdr, HDR);
	fill_frame(wire + HDR, frame_len, seed);
	assert_int_equal(write(f->sock[1], wire, HDR + frame_len), (ssize_t)(HDR + frame_len));
}

static void test_virtio_net_rx_direct_frames_reach_guest_in_order(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;
	static const size_t lens[] = {60, 3000, 1514, 40000, 200};

	guest_setup(f, base_features | offload_features);
	rx_post(f, ENOUGH_MTU_BUFS + 40, MTU_BUF);
	for (unsigned int i = 0; i < 5; i++)
		tap_write(f, lens[i], 60 + i);

	for (unsigned int i = 0; i < 5; i++) {
		assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), (long)lens[i]);
		assert_memory_equal(hdr, tap_hdr, 10);
		assert_int_equal(nb, (HDR + lens[i] + MTU_BUF - 1) / MTU_BUF);
		fill_frame(want, lens[i], 60 + i);
		assert_memory_equal(f->got, want, lens[i]);
	}
	assert_int_equal(net_stat(&f->net.stats.rx_frames), 5);
	/* The first completes the read armed before the device was live, into our buffer. */
	assert_int_equal(net_stat(&f->net.stats.rx_direct), 4);
}

static void test_virtio_net_rx_direct_largest_frame_and_one_too_long(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;
	size_t largest = 65536 + VIRTIO_NET_ETH_MIN;

	guest_setup(f, base_features | offload_features);
	rx_post(f, ENOUGH_MTU_BUFS * 2, MTU_BUF);
	/* One byte longer than the largest: a read that fills every buffer is cut, so dropped. */
	tap_write(f, largest + 1, 70);
	tap_write(f, largest, 71);
	tap_write(f, 100, 72);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), (long)largest);
	fill_frame(want, largest, 71);
	assert_memory_equal(f->got, want, largest);
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 100);
	fill_frame(want, 100, 72);
	assert_memory_equal(f->got, want, 100);
	assert_int_equal(net_stat(&f->net.stats.rx_dropped), 1);
	assert_int_equal(net_stat(&f->net.stats.rx_direct), 2);
}

static void test_virtio_net_rx_direct_bad_header_dropped_buffers_reused(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	/* No GUEST_CSUM or GUEST_TSO6: a TCPv6 GSO frame must not reach the guest. */
	guest_setup(f, base_features);
	rx_post(f, ENOUGH_MTU_BUFS, MTU_BUF);
	/* A plain frame first, into the read armed before the device was live. */
	memset(wire, 0, HDR);
	fill_frame(wire + HDR, 100, 73);
	assert_int_equal(write(f->sock[1], wire, HDR + 100), HDR + 100);
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 100);
	tap_write_gso_then_plain(f, 300, 73);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 300);
	assert_int_equal(hdr[0], 0);
	assert_int_equal(hdr[1], 0);
	assert_int_equal(nb, 1);
	/* The dropped frame's buffer was written, not used: the next frame took it. */
	assert_int_equal(ring_driver_used(&f->rd[RXQ])->idx, 2);
	assert_int_equal(net_stat(&f->net.stats.rx_dropped), 1);
	assert_int_equal(net_stat(&f->net.stats.rx_direct), 1);
}

static void test_virtio_net_rx_direct_few_buffers_take_the_bounce_path(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	/* 8 buffers (12 KiB) cannot hold the largest frame: popped, then used by the bounce path.
	 */
	guest_setup(f, base_features | offload_features);
	rx_post(f, 8, MTU_BUF);
	tap_write(f, 3000, 74);
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 3000);
	assert_int_equal(nb, 2);
	fill_frame(want, 3000, 74);
	assert_memory_equal(f->got, want, 3000);
	assert_int_equal(net_stat(&f->net.stats.rx_direct), 0);

	/* Once the guest posts enough, frames go direct again, after the stashed ones are used. */
	rx_post(f, ENOUGH_MTU_BUFS, MTU_BUF);
	tap_write(f, 5000, 75);
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 5000);
	fill_frame(want, 5000, 75);
	assert_memory_equal(f->got, want, 5000);
	assert_int_equal(net_stat(&f->net.stats.rx_frames), 2);
	assert_int_equal(net_stat(&f->net.stats.rx_direct), 1);
}

static void test_virtio_net_rx_direct_reset_forgets_stashed_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	guest_setup(f, base_features | offload_features);
	rx_post(f, ENOUGH_MTU_BUFS + 1, MTU_BUF);
	tap_write(f, 1000, 76); /* into the read armed before the device was live */
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 1000);
	tap_write(f, 1000, 76);
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 1000);
	assert_int_equal(net_stat(&f->net.stats.rx_direct), 1);

	/*
	 * The device holds the other 47 buffers. After a reset they belong to
	 * the guest again: with only 8 new ones posted, the next frame must
	 * take the bounce path, not the 47 old buffers.
	 */
	vp_driver_set_status(vp(f), 0);
	assert_int_equal(vp_driver_status(vp(f)), 0);
	guest_setup(f, base_features | offload_features);
	rx_post(f, 8, MTU_BUF);
	tap_write(f, 2000, 77);

	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 2000);
	fill_frame(want, 2000, 77);
	assert_memory_equal(f->got, want, 2000);
	assert_int_equal(nb, 2);
	assert_int_equal(ring_driver_used(&f->rd[RXQ])->idx, 2);
	assert_int_equal(net_stat(&f->net.stats.rx_direct), 1);
	assert_false(needs_reset(f));
}

static void test_virtio_net_rx_direct_not_with_a_filter(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR];
	unsigned int nb;

	/* The filter watches received frames: it must read a private copy. */
	guest_setup(f, base_features | offload_features);
	rx_post(f, ENOUGH_MTU_BUFS, MTU_BUF);
	tap_write(f, 800, 78);
	assert_int_equal(rx_receive(f, hdr, &nb, TIMEOUT_MS), 800);
	assert_int_equal(net_stat(&f->net.stats.rx_frames), 1);
	assert_int_equal(net_stat(&f->net.stats.rx_direct), 0);
}

#define NET_TEST(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    NET_TEST(test_virtio_net_rx_direct_frames_reach_guest_in_order, setup_vnet_tap),
	    NET_TEST(test_virtio_net_rx_direct_largest_frame_and_one_too_long, setup_vnet_tap),
	    NET_TEST(test_virtio_net_rx_direct_bad_header_dropped_buffers_reused, setup_vnet_tap),
	    NET_TEST(test_virtio_net_rx_direct_few_buffers_take_the_bounce_path, setup_vnet_tap),
	    NET_TEST(test_virtio_net_rx_direct_reset_forgets_stashed_buffers, setup_vnet_tap),
	    NET_TEST(test_virtio_net_rx_direct_not_with_a_filter, setup_vnet_tap_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
