/* Unit tests for virtio-net (devices/virtio/net.c): the transmit queue, to a stream or a tap, and a
 * tap that cannot take more. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtio_net_fixture.h"

/* ---- TX ---- */

static void test_virtio_net_tx_stream_prefixes_length(void **state)
{
	struct fixture *f = *state;
	uint32_t head, len;

	guest_setup(f, base_features);
	fill_frame(f->frame, 60, 1);

	tx_send(f, NULL, f->frame, 60);

	assert_int_equal(stream_read_frame(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), 60);
	assert_memory_equal(f->got, f->frame, 60);
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_int_equal(len, 0);
	assert_true(test_fd_quiet(f->sock[1], 20));
}

static void test_virtio_net_tx_tap_sends_frame_only(void **state)
{
	struct fixture *f = *state;

	guest_setup(f, base_features);
	fill_frame(f->frame, 1514, 2);

	tx_send(f, NULL, f->frame, 1514);

	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), 1514);
	assert_memory_equal(f->got, f->frame, 1514);
}

static void test_virtio_net_tx_vnet_tap_sends_header_and_frame(void **state)
{
	struct fixture *f = *state;
	/* NEEDS_CSUM, GSO_TCPV4, hdr_len 54, gso_size 1448, csum_start 34, csum_offset 16. */
	static const uint8_t hdr[HDR] = {1, 1, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0};

	guest_setup(f, base_features | offload_features);
	fill_frame(f->frame, 3000, 3);

	tx_send(f, hdr, f->frame, 3000);

	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + 3000);
	assert_memory_equal(f->got, hdr, HDR);
	assert_memory_equal(f->got + HDR, f->frame, 3000);
}

static void test_virtio_net_tx_indirect_chain_is_byte_exact(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[HDR];

	guest_setup(f, base_features);
	fill_frame(f->frame, 100, 4);
	/* Header and frame split at odd places, as VERSION_1 allows (§5.1.6.2). */
	struct ring_buf bufs[3] = {
	    {guest_alloc(f, TXQ, zero, 7), 7, false},
	    {guest_alloc(f, TXQ, zero, 5), 5, false},
	    {guest_alloc(f, TXQ, f->frame, 100), 100, false},
	};

	ring_driver_add_indirect(&f->rd[TXQ], bufs, 3);
	guest_kick(f, TXQ);

	assert_int_equal(stream_read_frame(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), 100);
	assert_memory_equal(f->got, f->frame, 100);
}

static bool tx_dropped_two(void *arg)
{
	struct fixture *f = arg;

	return net_stat(&f->net.stats.tx_dropped) == 2;
}

static void test_virtio_net_tx_drops_undersized_and_oversized_frames(void **state)
{
	struct fixture *f = *state;
	uint32_t head, len;

	guest_setup(f, base_features);
	fill_frame(f->frame, FRAME_MAX, 5);

	tx_offer(f, NULL, f->frame, 13);		    /* less than an Ethernet header */
	tx_offer(f, NULL, f->frame, VIRTIO_NET_TX_MAX + 1); /* more than passt takes */
	tx_offer(f, NULL, f->frame, 64);
	guest_kick(f, TXQ);

	assert_int_equal(stream_read_frame(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), 64);
	assert_memory_equal(f->got, f->frame, 64);
	for (unsigned int i = 0; i < 3; i++) {
		assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
		assert_int_equal(len, 0);
	}
	assert_true(test_wait_until(tx_dropped_two, f, TIMEOUT_MS));
	assert_true(test_fd_quiet(f->sock[1], 20));
	assert_false(needs_reset(f));
}

static void test_virtio_net_tx_writable_descriptor_needs_reset(void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[HDR];

	guest_setup(f, base_features);
	fill_frame(f->frame, 64, 6);
	struct ring_buf bufs[2] = {
	    {guest_alloc(f, TXQ, zero, HDR), HDR, false},
	    {guest_alloc(f, TXQ, f->frame, 64), 64, true},
	};

	ring_driver_add_chain(&f->rd[TXQ], bufs, 2);
	guest_kick(f, TXQ);

	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
	assert_true(test_fd_quiet(f->sock[1], 20));
	assert_int_equal(ring_driver_used(&f->rd[TXQ])->idx, 0);
}

#define MANY_DROPPED 200

static bool tx_dropped_many(void *arg)
{
	struct fixture *f = arg;

	return net_stat(&f->net.stats.tx_dropped) == MANY_DROPPED;
}

/* More chains than one batch in a single kick: the device yields and comes back for the rest. */
static void test_virtio_net_tx_many_chains_complete_across_batches(void **state)
{
	struct fixture *f = *state;
	unsigned int used = 0;
	uint32_t head, len;

	guest_setup(f, base_features);
	for (unsigned int i = 0; i < MANY_DROPPED; i++)
		ring_driver_add_chain(
		    &f->rd[TXQ], &(struct ring_buf){guest_alloc(f, TXQ, NULL, 13), 13, false}, 1);

	guest_kick(f, TXQ);

	assert_true(test_wait_until(tx_dropped_many, f, TIMEOUT_MS));
	while (wait_used(f, TXQ, &head, &len, 100))
		used++;
	assert_int_equal(used, MANY_DROPPED);
	assert_true(test_fd_quiet(f->sock[1], 20));
}

#define LARGE_FRAMES 24
#define LARGE_LEN    60000
#define LARGE_SLOTS  8

/*
 * Tiny socket buffers force short writes: each frame must still arrive whole
 * and in order. Non-blocking, io_uring may wait for room itself or hand
 * EAGAIN back (the device then polls); the framing holds either way.
 */
static void tx_stream_keeps_framing(struct fixture *f, bool nonblocking)
{
	int small = 4096;
	uint64_t slot_hdr[LARGE_SLOTS], slot_data[LARGE_SLOTS];
	unsigned int sent = 0, received = 0;
	uint32_t head, len;

	assert_int_equal(setsockopt(f->sock[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(setsockopt(f->sock[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	if (nonblocking)
		assert_int_equal(fcntl(f->sock[0], F_SETFL, O_NONBLOCK), 0);
	guest_setup(f, base_features);
	for (unsigned int s = 0; s < LARGE_SLOTS; s++) {
		slot_hdr[s] = guest_alloc(f, TXQ, NULL, HDR);
		slot_data[s] = guest_alloc(f, TXQ, NULL, LARGE_LEN);
	}
	while (sent < LARGE_SLOTS) {
		fill_frame(ring_driver_host(&f->rd[TXQ], slot_data[sent]), LARGE_LEN, 100 + sent);
		struct ring_buf bufs[2] = {{slot_hdr[sent], HDR, false},
					   {slot_data[sent], LARGE_LEN, false}};

		f->rd[TXQ].next_desc = (uint16_t)(2 * sent); /* slot s is descriptors 2s, 2s+1 */
		ring_driver_add_chain(&f->rd[TXQ], bufs, 2);
		sent++;
	}
	guest_kick(f, TXQ);

	while (received < LARGE_FRAMES) {
		/* Read slowly, then put the returned chain back with the next frame. */
		assert_int_equal(stream_read_frame(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS),
				 LARGE_LEN);
		fill_frame(f->frame, LARGE_LEN, 100 + received);
		assert_memory_equal(f->got, f->frame, LARGE_LEN);
		received++;
		if (sent < LARGE_FRAMES && wait_used(f, TXQ, &head, &len, TIMEOUT_MS)) {
			unsigned int s = head / 2;

			fill_frame(ring_driver_host(&f->rd[TXQ], slot_data[s]), LARGE_LEN,
				   100 + sent);
			struct ring_buf bufs[2] = {{slot_hdr[s], HDR, false},
						   {slot_data[s], LARGE_LEN, false}};

			f->rd[TXQ].next_desc = (uint16_t)(2 * s);
			ring_driver_add_chain(&f->rd[TXQ], bufs, 2);
			sent++;
			guest_kick(f, TXQ);
		}
	}
	assert_true(test_fd_quiet(f->sock[1], 20));
	assert_false(needs_reset(f));
	assert_int_equal(net_stat(&f->net.stats.tx_frames), LARGE_FRAMES);
	assert_int_equal(net_stat(&f->net.stats.tx_dropped), 0);
}

static void test_virtio_net_tx_stream_short_writes_keep_framing(void **state)
{
	tx_stream_keeps_framing(*state, false);
}

static void test_virtio_net_tx_stream_nonblocking_socket_keeps_framing(void **state)
{
	tx_stream_keeps_framing(*state, true);
}

#define FLOOD_FRAMES 10000
#define FLOOD_SLOTS  128
#define FLOOD_LEN    (HDR + 200)

struct flood {
	uint64_t slot[FLOOD_SLOTS];
	bool busy[FLOOD_SLOTS];
	unsigned int sent, received, completed;
};

static size_t flood_len(unsigned int i)
{
	return 60 + i % 140;
}

/* The guest side: collect returned chains, offer a new frame in every free slot. */
static bool flood_refill(struct fixture *f, struct flood *fl)
{
	struct ring_driver *rd = &f->rd[TXQ];
	bool offered = false;
	uint32_t head, len;

	while (ring_driver_get_used(rd, &head, &len)) {
		fl->busy[head % FLOOD_SLOTS] = false;
		fl->completed++;
	}
	for (unsigned int s = 0; s < FLOOD_SLOTS && fl->sent < FLOOD_FRAMES; s++) {
		if (fl->busy[s])
			continue;
		uint8_t *p = ring_driver_host(rd, fl->slot[s]);
		size_t flen = flood_len(fl->sent);

		memset(p, 0, HDR);
		fill_frame(p + HDR, flen, fl->sent);
		rd->next_desc = (uint16_t)s; /* slot s is always descriptor s */
		ring_driver_add_chain(
		    rd, &(struct ring_buf){fl->slot[s], (uint32_t)(HDR + flen), false}, 1);
		fl->busy[s] = true;
		fl->sent++;
		offered = true;
	}
	if (offered)
		guest_kick(f, TXQ);
	return offered;
}

/* 10000 frames through a pool of VIRTIO_NET_TX_POOL buffers, in order and byte-exact. */
static void test_virtio_net_tx_flood_completes_with_bounded_pool(void **state)
{
	struct fixture *f = *state;
	struct flood fl = {.sent = 0};

	guest_setup(f, base_features);
	for (unsigned int s = 0; s < FLOOD_SLOTS; s++)
		fl.slot[s] = guest_alloc(f, TXQ, NULL, FLOOD_LEN);

	for (unsigned int idle = 0; fl.received < FLOOD_FRAMES && idle < BIG_TIMEOUT_MS;) {
		bool offered = flood_refill(f, &fl);
		long n = test_fd_quiet(f->sock[1], 0)
			     ? -1
			     : stream_read_frame(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS);

		if (n > 0) {
			size_t want = flood_len(fl.received);

			assert_int_equal(n, want);
			fill_frame(f->frame, want, fl.received);
			assert_memory_equal(f->got, f->frame, want);
			fl.received++;
			idle = 0;
		} else if (!offered) {
			test_sleep_ms(1);
			idle++;
		}
	}

	assert_int_equal(fl.received, FLOOD_FRAMES);
	for (unsigned int waited = 0; fl.completed < FLOOD_FRAMES && waited < TIMEOUT_MS;
	     waited++) {
		flood_refill(f, &fl);
		test_sleep_ms(1);
	}
	assert_int_equal(fl.completed, FLOOD_FRAMES);
	assert_int_equal(net_stat(&f->net.stats.tx_frames), FLOOD_FRAMES);
	assert_true(net_stat(&f->net.stats.tx_pool_peak) <= VIRTIO_NET_TX_POOL);
	assert_false(needs_reset(f));
}

/* ---- a tap that cannot take more: direct writes and copies ---- */

/* Fills the tap side's queue (the device's fd) with filler datagrams; returns how many. */
static unsigned int tap_jam(struct fixture *f)
{
	static const uint8_t filler[1000];
	unsigned int n = 0;

	while (send(f->sock[0], filler, sizeof(filler), MSG_DONTWAIT) == (ssize_t)sizeof(filler))
		n++;
	assert_true(n > 0);
	return n;
}

/* Reads the n filler datagrams back: the device's blocked write may go on. */
static void tap_unjam(struct fixture *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), 1000);
}

/* Brings the device up with offloads, jams the tap, sends a frame of len; returns the filler count.
 */
static unsigned int tx_send_to_jammed_tap(struct fixture *f, size_t len, unsigned int seed)
{
	guest_setup(f, base_features | offload_features);
	unsigned int jammed = tap_jam(f);

	fill_frame(f->frame, len, seed);
	tx_send(f, NULL, f->frame, len);
	return jammed;
}

static void test_virtio_net_tx_direct_returns_chain_after_write(void **state)
{
	struct fixture *f = *state;
	uint32_t head, len;
	unsigned int jammed = tx_send_to_jammed_tap(f, 9000, 40);

	/* The tap reads the guest's own buffers: they stay the device's while the write waits. */
	assert_false(wait_used(f, TXQ, &head, &len, 100));
	tap_unjam(f, jammed);
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + 9000);
	assert_memory_equal(f->got + HDR, f->frame, 9000);
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_int_equal(len, 0);
	assert_int_equal(net_stat(&f->net.stats.tx_frames), 1);
}

static void test_virtio_net_tx_small_frame_is_copied_and_returned_at_once(void **state)
{
	struct fixture *f = *state;
	uint32_t head, len;
	unsigned int jammed = tx_send_to_jammed_tap(f, 66, 43);

	/* An ACK-sized frame is copied: the guest has its buffer back before the tap takes it. */
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_int_equal(len, 0);
	memset(ring_driver_host(&f->rd[TXQ], ring_driver_desc(&f->rd[TXQ], 1)->addr), 0xee, 66);
	tap_unjam(f, jammed);
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + 66);
	assert_memory_equal(f->got + HDR, f->frame, 66);
	assert_int_equal(net_stat(&f->net.stats.tx_frames), 1);
}

static void test_virtio_net_tx_direct_chain_is_not_returned_after_reset(void **state)
{
	struct fixture *f = *state;
	uint32_t head, len;
	unsigned int jammed = tx_send_to_jammed_tap(f, 6000, 41);

	test_sleep_ms(50);
	vp_driver_set_status(vp(f), 0);
	guest_setup(f, base_features | offload_features);
	tap_unjam(f, jammed);

	/* The old frame still leaves, but its head means nothing to the new rings. */
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + 6000);
	test_sleep_ms(50);
	assert_int_equal(ring_driver_used(&f->rd[TXQ])->idx, 0);
	fill_frame(f->frame, 7000, 42);
	tx_send(f, NULL, f->frame, 7000);
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + 7000);
	assert_memory_equal(f->got + HDR, f->frame, 7000);
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_int_equal(ring_driver_used(&f->rd[TXQ])->idx, 1);
	assert_false(needs_reset(f));
}

static void test_virtio_net_tx_filtered_tap_sends_the_checked_copy(void **state)
{
	struct fixture *f = *state;
	static const uint8_t allowed[4] = {192, 0, 2, 1}, denied[4] = {198, 51, 100, 7};
	uint8_t syn[64];
	uint32_t head, len;

	guest_setup(f, base_features | offload_features);
	unsigned int jammed = tap_jam(f);
	size_t n = build_tcp_syn(syn, allowed, 80);

	tx_send(f, NULL, syn, n);
	/* With a filter the frame is checked on a private copy: the chain comes back at once. */
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	/* The guest now points its buffer elsewhere; what was checked is what leaves. */
	struct ring_driver *rd = &f->rd[TXQ];
	uint8_t *in_guest = ring_driver_host(
	    rd, ring_driver_desc(rd, ring_driver_desc(rd, (uint16_t)head)->next)->addr);

	memcpy(in_guest + 30, denied, 4);
	tap_unjam(f, jammed);
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + (long)n);
	assert_memory_equal(f->got + HDR, syn, n);
}

/*
 * The vnet header goes to the tap after the filter looked at the frame, and
 * the host kernel acts on it: a NEEDS_CSUM aimed at the TCP destination
 * port (csum_start at the TCP header, csum_offset 2) made it write a
 * checksum of the guest's choosing over the allowed port, turning an
 * allowed :80 into any port. Such a frame is dropped as filtered; the same
 * frame with its checksum field as the target leaves.
 */
static void test_virtio_net_tx_filtered_tap_refuses_a_header_aimed_at_the_port(void **state)
{
	struct fixture *f = *state;
	static const uint8_t allowed[4] = {192, 0, 2, 1};
	uint8_t syn[64], hdr[HDR] = {1 /* NEEDS_CSUM */};
	uint32_t head, len;

	guest_setup(f, base_features | offload_features);
	size_t n = build_tcp_syn(syn, allowed, 80);

	hdr[6] = 34; /* csum_start: the TCP header (14 + 20) */
	hdr[8] = 2;  /* csum_offset: the destination port */
	tx_send(f, hdr, syn, n);
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_true(test_fd_quiet(f->sock[1], 50));
	assert_int_equal(net_stat(&f->net.stats.tx_filtered), 1);

	hdr[8] = 16; /* the TCP checksum field */
	tx_send(f, hdr, syn, n);
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + (long)n);
	assert_memory_equal(f->got, hdr, HDR);
	assert_false(needs_reset(f));
}

#define NET_TEST(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    NET_TEST(test_virtio_net_tx_stream_prefixes_length, setup_stream),
	    NET_TEST(test_virtio_net_tx_tap_sends_frame_only, setup_tap),
	    NET_TEST(test_virtio_net_tx_vnet_tap_sends_header_and_frame, setup_vnet_tap),
	    NET_TEST(test_virtio_net_tx_indirect_chain_is_byte_exact, setup_stream),
	    NET_TEST(test_virtio_net_tx_drops_undersized_and_oversized_frames, setup_stream),
	    NET_TEST(test_virtio_net_tx_writable_descriptor_needs_reset, setup_stream),
	    NET_TEST(test_virtio_net_tx_many_chains_complete_across_batches, setup_stream),
	    NET_TEST(test_virtio_net_tx_stream_short_writes_keep_framing, setup_stream),
	    NET_TEST(test_virtio_net_tx_stream_nonblocking_socket_keeps_framing, setup_stream),
	    NET_TEST(test_virtio_net_tx_flood_completes_with_bounded_pool, setup_stream),
	    NET_TEST(test_virtio_net_tx_direct_returns_chain_after_write, setup_vnet_tap),
	    NET_TEST(test_virtio_net_tx_small_frame_is_copied_and_returned_at_once, setup_vnet_tap),
	    NET_TEST(test_virtio_net_tx_direct_chain_is_not_returned_after_reset, setup_vnet_tap),
	    NET_TEST(test_virtio_net_tx_filtered_tap_sends_the_checked_copy, setup_vnet_tap_filter),
	    NET_TEST(test_virtio_net_tx_filtered_tap_refuses_a_header_aimed_at_the_port,
		     setup_vnet_tap_filter),
	};

	/* A vanished passt makes writes fail with EPIPE; the VMM blocks SIGPIPE the same way. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
