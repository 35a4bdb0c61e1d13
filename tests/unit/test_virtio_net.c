/* Unit tests for virtio-net (devices/virtio/net.c, virtio 1.2 §5.1) over socketpair backends. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/io.h"
#include "devices/io_loop.h"
#include "devices/net/egress.h"
#include "devices/virtio/net.h"
#include "devices/virtio/net_backend.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/ring_driver.h"
#include "tests/support/test_wait.h"
#include "tests/support/vp_driver.h"

#define QUEUES	       2
#define VECTORS	       (1 + QUEUES)
#define RXQ	       VIRTIO_NET_RXQ
#define TXQ	       VIRTIO_NET_TXQ
#define QUEUE_SIZE     256
#define WINDOW	       (2ULL << 20)
#define RAM_SIZE       (QUEUES * WINDOW + WINDOW)
#define BAR_ADDR       0xc0000000ULL
#define TIMEOUT_MS     2000
#define BIG_TIMEOUT_MS 30000
#define HDR	       VIRTIO_NET_HDR_LEN
#define FRAME_MAX      70000
#define MTU_BUF	       (HDR + 1514)

static const uint8_t test_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static const uint64_t base_features =
    VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
    VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
    VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);

static const uint64_t offload_features =
    VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);

struct fixture {
	struct io_loop loop;
	uint8_t *mem;
	struct guest_ram ram;
	int msi_fds[VECTORS];
	int sock[2]; /* [0] the device's backend fd, [1] the test plays tap or passt */
	struct virtio_net net;
	struct egress_filter *filter;
	struct ring_driver rd[QUEUES];
	int gone; /* on_backend_gone calls (atomic) */
	uint8_t frame[FRAME_MAX];
	uint8_t got[FRAME_MAX];
};

struct setup_params {
	enum virtio_net_backend backend;
	bool vnet_hdr, filter;
};

static void record_gone(void *ctx)
{
	struct fixture *f = ctx;

	__atomic_fetch_add(&f->gone, 1, __ATOMIC_SEQ_CST);
}

static int no_ioeventfd(void *ctx, uint64_t addr, int fd, bool assign)
{
	(void)ctx;
	(void)addr;
	(void)fd;
	(void)assign;
	return 0;
}

/* ---- fixture ---- */

static int make_filter(struct fixture *f)
{
	char err[128];

	/* Only TCP port 80 of 192.0.2.1 (TEST-NET-1) may leave. */
	if (egress_filter_create(&f->filter, NULL))
		return -1;
	return egress_filter_add_rule(f->filter, "192.0.2.1:80", err, sizeof(err)) ? -1 : 0;
}

static int fixture_init(void **state, const struct setup_params *p)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	f->sock[0] = f->sock[1] = -1;
	for (unsigned int v = 0; v < VECTORS; v++)
		f->msi_fds[v] = -1;
	f->mem = calloc(1, RAM_SIZE);
	if (!f->mem)
		return -1;
	f->ram.regions[0] = (struct guest_ram_region){.gpa = 0, .size = RAM_SIZE, .host = f->mem};
	f->ram.count = 1;
	f->ram.total = RAM_SIZE;
	for (unsigned int v = 0; v < VECTORS; v++) {
		f->msi_fds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (f->msi_fds[v] < 0)
			return -1;
	}
	/* passt is a byte stream; a tap keeps frame boundaries like SOCK_SEQPACKET. */
	int type = p->backend == VIRTIO_NET_BACKEND_STREAM ? SOCK_STREAM : SOCK_SEQPACKET;

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, f->sock))
		return -1;
	if (p->filter && make_filter(f))
		return -1;
	if (io_loop_init(&f->loop, 256))
		return -1;
	struct virtio_net_params params = {
	    .backend = p->backend,
	    .fd = f->sock[0],
	    .vnet_hdr = p->vnet_hdr,
	    .filter = f->filter,
	};
	struct virtio_pci_host host = {
	    .ram = &f->ram,
	    .loop = &f->loop,
	    .ioeventfd = no_ioeventfd,
	    .msi_fds = f->msi_fds,
	};

	memcpy(params.mac, test_mac, sizeof(test_mac));
	if (virtio_net_init(&f->net, &params, &host, BAR_ADDR))
		return -1;
	f->net.on_backend_gone = record_gone;
	f->net.ctx = f;
	return io_loop_start(&f->loop) ? -1 : 0;
}

static int setup_stream(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_STREAM, false, false});
}

static int setup_tap(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_TAP, false, false});
}

static int setup_vnet_tap(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_TAP, true, false});
}

static int setup_vnet_tap_filter(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_TAP, true, true});
}

static int setup_stream_filter(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_STREAM, false, true});
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	io_loop_stop(&f->loop);
	virtio_net_destroy(&f->net);
	virtio_net_destroy(&f->net); /* idempotent */
	io_loop_destroy(&f->loop);
	egress_filter_destroy(f->filter);
	close_fd(&f->sock[0]);
	close_fd(&f->sock[1]);
	for (unsigned int v = 0; v < VECTORS; v++)
		close_fd(&f->msi_fds[v]);
	free(f->mem);
	free(f);
	return 0;
}

/* ---- the guest driver ---- */

static struct virtio_pci *vp(struct fixture *f)
{
	return &f->net.vp;
}

static uint64_t net_stat(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static int gone_count(struct fixture *f)
{
	return __atomic_load_n(&f->gone, __ATOMIC_SEQ_CST);
}

static bool device_live(void *arg)
{
	struct fixture *f = arg;

	return __atomic_load_n(&f->net.vp.live, __ATOMIC_SEQ_CST);
}

/* Fresh rings in zeroed RAM, features, both queues, DRIVER_OK (§3.1.1, §5.1.5). */
static void guest_setup(struct fixture *f, uint64_t features)
{
	memset(f->mem, 0, RAM_SIZE);
	for (unsigned int q = 0; q < QUEUES; q++)
		assert_int_equal(
		    vp_driver_place_ring(&f->rd[q], f->mem, WINDOW * (q + 1), WINDOW, QUEUE_SIZE),
		    0);
	assert_true(vp_driver_negotiate(vp(f), features));
	vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_MSIX, 2, 0);
	for (unsigned int q = 0; q < QUEUES; q++)
		vp_driver_setup_ring(vp(f), (uint16_t)q, &f->rd[q], (uint16_t)(1 + q));
	vp_driver_set_status(vp(f), vp_driver_status(vp(f)) | VIRTIO_STATUS_DRIVER_OK);
	/* Activation runs on the loop: frames that arrive before it are dropped like a down NIC. */
	assert_true(test_wait_until(device_live, f, TIMEOUT_MS));
}

static uint64_t guest_alloc(struct fixture *f, unsigned int q, const void *data, size_t len)
{
	uint64_t gpa = ring_driver_alloc(&f->rd[q], len, 16);

	assert_int_not_equal(gpa, 0);
	if (data)
		memcpy(ring_driver_host(&f->rd[q], gpa), data, len);
	return gpa;
}

static void guest_kick(struct fixture *f, unsigned int q)
{
	ring_driver_publish(&f->rd[q]);
	vp_driver_kick(vp(f), (uint16_t)q);
}

/* Posts n receive buffers of `size` bytes, one descriptor each. */
static void rx_post(struct fixture *f, unsigned int n, uint32_t size)
{
	for (unsigned int i = 0; i < n; i++)
		ring_driver_add_chain(
		    &f->rd[RXQ], &(struct ring_buf){guest_alloc(f, RXQ, NULL, size), size, true},
		    1);
	guest_kick(f, RXQ);
}

/* Offers a transmit chain: the header in one descriptor, the frame in another (§5.1.6.2). */
static void tx_offer(struct fixture *f, const void *hdr, const void *frame, size_t len)
{
	static const uint8_t zero[HDR];
	struct ring_buf bufs[2] = {
	    {guest_alloc(f, TXQ, hdr ? hdr : zero, HDR), HDR, false},
	    {guest_alloc(f, TXQ, frame, len), (uint32_t)len, false},
	};

	ring_driver_add_chain(&f->rd[TXQ], bufs, 2);
}

static void tx_send(struct fixture *f, const void *hdr, const void *frame, size_t len)
{
	tx_offer(f, hdr, frame, len);
	guest_kick(f, TXQ);
}

/* Waits for the next used element of queue q. */
static bool wait_used(struct fixture *f, unsigned int q, uint32_t *head, uint32_t *len,
		      unsigned int timeout_ms)
{
	for (unsigned int waited = 0; waited < timeout_ms; waited++) {
		if (ring_driver_get_used(&f->rd[q], head, len))
			return true;
		test_sleep_ms(1);
	}
	return ring_driver_get_used(&f->rd[q], head, len);
}

/*
 * Collects one received packet (§5.1.6.4): the first buffer's header says
 * how many used buffers it spans. Returns the frame length (without the
 * header) or -1 on timeout; hdr gets the 12-byte header, nb num_buffers.
 */
static long rx_receive(struct fixture *f, uint8_t *hdr, unsigned int *nb, unsigned int timeout_ms)
{
	struct ring_driver *rd = &f->rd[RXQ];
	uint32_t head, len;
	size_t total = 0;
	unsigned int buffers = 1;

	for (unsigned int i = 0; i < buffers; i++) {
		if (!wait_used(f, RXQ, &head, &len, timeout_ms))
			return -1;
		assert_true(total + len <= HDR + FRAME_MAX);
		uint8_t *p = ring_driver_host(rd, ring_driver_desc(rd, (uint16_t)head)->addr);

		for (uint32_t k = 0; k < len; k++, total++) {
			if (total < HDR)
				hdr[total] = p[k];
			else
				f->got[total - HDR] = p[k];
		}
		if (i == 0) {
			assert_true(len >= HDR);
			buffers = (unsigned int)le_get(hdr + 10, 2);
			assert_true(buffers >= 1);
		}
	}
	*nb = buffers;
	return (long)(total - HDR);
}

static bool needs_reset(void *arg)
{
	struct fixture *f = arg;

	return vp_driver_status(vp(f)) & VIRTIO_STATUS_NEEDS_RESET;
}

static bool backend_gone(void *arg)
{
	return gone_count(arg) > 0;
}

/* ---- the backend side ---- */

static void fill_frame(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 2654435761u + seed * 40503u) >> 11);
	/* A unicast destination and our MAC as the source, so the bytes look like Ethernet. */
	if (len >= 14) {
		memcpy(p, "\x02\x00\x00\x00\x00\x01", 6);
		memcpy(p + 6, test_mac, 6);
	}
}

/* One datagram from the tap side; -1 on timeout. */
static long tap_read(int fd, uint8_t *out, size_t cap, unsigned int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (poll(&pfd, 1, (int)timeout_ms) != 1)
		return -1;
	return read(fd, out, cap);
}

/* One passt frame: be32 length then the frame; returns its length or -1. */
static long stream_read_frame(int fd, uint8_t *out, size_t cap, unsigned int timeout_ms)
{
	uint8_t prefix[4];

	if (test_read_within(fd, prefix, 4, timeout_ms) != 4)
		return -1;
	size_t len =
	    (size_t)prefix[0] << 24 | (size_t)prefix[1] << 16 | (size_t)prefix[2] << 8 | prefix[3];

	if (len > cap || test_read_within(fd, out, len, timeout_ms) != len)
		return -1;
	return (long)len;
}

static void stream_put_prefix(uint8_t *p, size_t len)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static void stream_write_frame(int fd, const uint8_t *frame, size_t len)
{
	uint8_t prefix[4];

	stream_put_prefix(prefix, len);
	assert_int_equal(write(fd, prefix, 4), 4);
	assert_int_equal(write(fd, frame, len), (ssize_t)len);
}

static bool backend_drained(void *arg)
{
	struct fixture *f = arg;
	int queued = -1;

	return ioctl(f->sock[0], FIONREAD, &queued) == 0 && queued == 0;
}

static bool backend_holds_600(void *arg)
{
	struct fixture *f = arg;
	int queued = -1;

	return ioctl(f->sock[0], FIONREAD, &queued) == 0 && queued == 600;
}

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

	close_fd(&f->sock[1]);

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

/* Ethernet + IPv4 + TCP SYN from 10.0.2.15:40000 to dst:port (checksums filled in). */
static size_t build_tcp_syn(uint8_t *p, const uint8_t dst[4], uint16_t port)
{
	static const uint8_t src[4] = {10, 0, 2, 15};
	uint32_t sum = 0;

	memset(p, 0, 54);
	memcpy(p, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(p + 6, test_mac, 6);
	p[12] = 0x08; /* IPv4 */
	uint8_t *ip = p + 14, *tcp = p + 34;

	ip[0] = 0x45;
	ip[3] = 40;   /* total length */
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 6; /* TCP */
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	for (unsigned int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	tcp[0] = 40000 >> 8;
	tcp[1] = 40000 & 0xff;
	tcp[2] = (uint8_t)(port >> 8);
	tcp[3] = (uint8_t)port;
	tcp[12] = 5 << 4;
	tcp[13] = 0x02; /* SYN */
	tcp[14] = 0xff;
	return 54;
}

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
	unsigned int jammed = tx_send_to_jammed_tap(f, 1514, 40);

	/* The tap reads the guest's own buffers: they stay the device's while the write waits. */
	assert_false(wait_used(f, TXQ, &head, &len, 100));
	tap_unjam(f, jammed);
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + 1514);
	assert_memory_equal(f->got + HDR, f->frame, 1514);
	assert_true(wait_used(f, TXQ, &head, &len, TIMEOUT_MS));
	assert_int_equal(len, 0);
	assert_int_equal(net_stat(&f->net.stats.tx_frames), 1);
}

static void test_virtio_net_tx_direct_chain_is_not_returned_after_reset(void **state)
{
	struct fixture *f = *state;
	uint32_t head, len;
	unsigned int jammed = tx_send_to_jammed_tap(f, 600, 41);

	test_sleep_ms(50);
	vp_driver_set_status(vp(f), 0);
	guest_setup(f, base_features | offload_features);
	tap_unjam(f, jammed);

	/* The old frame still leaves, but its head means nothing to the new rings. */
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + 600);
	test_sleep_ms(50);
	assert_int_equal(ring_driver_used(&f->rd[TXQ])->idx, 0);
	fill_frame(f->frame, 700, 42);
	tx_send(f, NULL, f->frame, 700);
	assert_int_equal(tap_read(f->sock[1], f->got, FRAME_MAX, TIMEOUT_MS), HDR + 700);
	assert_memory_equal(f->got + HDR, f->frame, 700);
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

#define NET_TEST(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    NET_TEST(test_virtio_net_config_reads_mac_and_status, setup_stream),
	    NET_TEST(test_virtio_net_stream_offers_no_offloads, setup_stream),
	    NET_TEST(test_virtio_net_vnet_tap_offers_offloads, setup_vnet_tap),
	    NET_TEST(test_virtio_net_plain_tap_offers_no_offloads, setup_tap),
	    NET_TEST(test_virtio_net_vnet_tap_offload_follows_guest_features, setup_vnet_tap),
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
	    NET_TEST(test_virtio_net_reset_drops_partial_frame_and_works_again, setup_stream),
	    NET_TEST(test_virtio_net_rx_before_activation_is_dropped, setup_stream),
	    NET_TEST(test_virtio_net_egress_filter_drops_and_completes, setup_stream_filter),
	    NET_TEST(test_virtio_net_tx_direct_returns_chain_after_write, setup_vnet_tap),
	    NET_TEST(test_virtio_net_tx_direct_chain_is_not_returned_after_reset, setup_vnet_tap),
	    NET_TEST(test_virtio_net_tx_filtered_tap_sends_the_checked_copy, setup_vnet_tap_filter),
	};

	/* A vanished passt makes writes fail with EPIPE; the VMM blocks SIGPIPE the same way. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
