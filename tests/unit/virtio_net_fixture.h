/* The fixture shared by the virtio-net tests (devices/virtio/net.c): a device over a stream or
 * tap back-end, the guest driver side and the back-end side. Include after <cmocka.h>. */
#ifndef MICROVMM_TESTS_UNIT_VIRTIO_NET_FIXTURE_H
#define MICROVMM_TESTS_UNIT_VIRTIO_NET_FIXTURE_H

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

#include "devices/io.h"
#include "devices/io_loop.h"
#include "devices/net/egress.h"
#include "devices/virtio/net.h"
#include "devices/virtio/net_backend.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/ring_driver.h"
#include "tests/support/test_host.h"
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

static inline void record_gone(void *ctx)
{
	struct fixture *f = ctx;

	__atomic_fetch_add(&f->gone, 1, __ATOMIC_SEQ_CST);
}

static inline int no_ioeventfd(void *ctx, uint64_t addr, int fd, bool assign)
{
	(void)ctx;
	(void)addr;
	(void)fd;
	(void)assign;
	return 0;
}

/* ---- fixture ---- */

static inline int make_filter(struct fixture *f)
{
	char err[128];

	/* Only TCP port 80 of 192.0.2.1 (TEST-NET-1) may leave. */
	if (egress_filter_create(&f->filter, NULL))
		return -1;
	return egress_filter_add_rule(f->filter, "192.0.2.1:80", err, sizeof(err)) ? -1 : 0;
}

static inline int fixture_init(void **state, const struct setup_params *p)
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
	test_ram_one_region(&f->ram, f->mem, RAM_SIZE);
	if (test_msi_eventfds(f->msi_fds, VECTORS))
		return -1;
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

static inline int setup_stream(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_STREAM, false, false});
}

static inline int setup_tap(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_TAP, false, false});
}

static inline int setup_vnet_tap(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_TAP, true, false});
}

static inline int setup_vnet_tap_filter(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_TAP, true, true});
}

static inline int setup_stream_filter(void **state)
{
	return fixture_init(state, &(struct setup_params){VIRTIO_NET_BACKEND_STREAM, false, true});
}

static inline int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	io_loop_stop(&f->loop);
	virtio_net_destroy(&f->net);
	virtio_net_destroy(&f->net); /* idempotent */
	io_loop_destroy(&f->loop);
	egress_filter_destroy(f->filter);
	test_close_fd(&f->sock[0]);
	test_close_fd(&f->sock[1]);
	for (unsigned int v = 0; v < VECTORS; v++)
		test_close_fd(&f->msi_fds[v]);
	free(f->mem);
	free(f);
	return 0;
}

/* ---- the guest driver ---- */

static inline struct virtio_pci *vp(struct fixture *f)
{
	return &f->net.vp;
}

static inline uint64_t net_stat(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

static inline int gone_count(struct fixture *f)
{
	return __atomic_load_n(&f->gone, __ATOMIC_SEQ_CST);
}

static inline bool device_live(void *arg)
{
	struct fixture *f = arg;

	return __atomic_load_n(&f->net.vp.live, __ATOMIC_SEQ_CST);
}

/* Fresh rings in zeroed RAM, features, both queues, DRIVER_OK (§3.1.1, §5.1.5). */
static inline void guest_setup(struct fixture *f, uint64_t features)
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

static inline uint64_t guest_alloc(struct fixture *f, unsigned int q, const void *data, size_t len)
{
	uint64_t gpa = ring_driver_alloc(&f->rd[q], len, 16);

	assert_int_not_equal(gpa, 0);
	if (data)
		memcpy(ring_driver_host(&f->rd[q], gpa), data, len);
	return gpa;
}

static inline void guest_kick(struct fixture *f, unsigned int q)
{
	ring_driver_publish(&f->rd[q]);
	vp_driver_kick(vp(f), (uint16_t)q);
}

/* Posts n receive buffers of `size` bytes, one descriptor each. */
static inline void rx_post(struct fixture *f, unsigned int n, uint32_t size)
{
	for (unsigned int i = 0; i < n; i++)
		ring_driver_add_chain(
		    &f->rd[RXQ], &(struct ring_buf){guest_alloc(f, RXQ, NULL, size), size, true},
		    1);
	guest_kick(f, RXQ);
}

/* Offers a transmit chain: the header in one descriptor, the frame in another (§5.1.6.2). */
static inline void tx_offer(struct fixture *f, const void *hdr, const void *frame, size_t len)
{
	static const uint8_t zero[HDR];
	struct ring_buf bufs[2] = {
	    {guest_alloc(f, TXQ, hdr ? hdr : zero, HDR), HDR, false},
	    {guest_alloc(f, TXQ, frame, len), (uint32_t)len, false},
	};

	ring_driver_add_chain(&f->rd[TXQ], bufs, 2);
}

static inline void tx_send(struct fixture *f, const void *hdr, const void *frame, size_t len)
{
	tx_offer(f, hdr, frame, len);
	guest_kick(f, TXQ);
}

/* Waits for the next used element of queue q. */
static inline bool wait_used(struct fixture *f, unsigned int q, uint32_t *head, uint32_t *len,
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
static inline long rx_receive(struct fixture *f, uint8_t *hdr, unsigned int *nb,
			      unsigned int timeout_ms)
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

static inline bool needs_reset(void *arg)
{
	struct fixture *f = arg;

	return vp_driver_status(vp(f)) & VIRTIO_STATUS_NEEDS_RESET;
}

static inline bool backend_gone(void *arg)
{
	return gone_count(arg) > 0;
}

/* ---- the backend side ---- */

static inline void fill_frame(uint8_t *p, size_t len, unsigned int seed)
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
static inline long tap_read(int fd, uint8_t *out, size_t cap, unsigned int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (poll(&pfd, 1, (int)timeout_ms) != 1)
		return -1;
	return read(fd, out, cap);
}

/* One passt frame: be32 length then the frame; returns its length or -1. */
static inline long stream_read_frame(int fd, uint8_t *out, size_t cap, unsigned int timeout_ms)
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

static inline void stream_put_prefix(uint8_t *p, size_t len)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static inline void stream_write_frame(int fd, const uint8_t *frame, size_t len)
{
	uint8_t prefix[4];

	stream_put_prefix(prefix, len);
	assert_int_equal(write(fd, prefix, 4), 4);
	assert_int_equal(write(fd, frame, len), (ssize_t)len);
}

static inline bool backend_drained(void *arg)
{
	struct fixture *f = arg;
	int queued = -1;

	return ioctl(f->sock[0], FIONREAD, &queued) == 0 && queued == 0;
}

static inline bool backend_holds_600(void *arg)
{
	struct fixture *f = arg;
	int queued = -1;

	return ioctl(f->sock[0], FIONREAD, &queued) == 0 && queued == 600;
}

/* Ethernet + IPv4 + TCP SYN from 10.0.2.15:40000 to dst:port (checksums filled in). */
static inline size_t build_tcp_syn(uint8_t *p, const uint8_t dst[4], uint16_t port)
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

#endif
