/*
 * libFuzzer target: virtio-net (devices/virtio/net.c, net_backend.c, net_stream.c, net_tap.c,
 * net_tx_hdr.c) on its three back-ends, each on a socketpair whose other end this target
 * plays: passt's stream framing, a plain tap and a tap with the 12-byte vnet header behind the
 * egress filter. One loop and the three devices per process; the first input byte picks one,
 * which is reset and brought up as Linux does (with or without offloads). Then records
 * (tests/fuzz/fuzz_record.h): a TX chain (vnet header and frame, split into two descriptors
 * where the tag says), bytes from the back-end (for passt raw or behind a length prefix),
 * receive buffers, status writes and kicks. What the device sent is drained per input. The
 * stream back-end may carry a partial frame into the next input, as passt's socket would.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/le.h"
#include "devices/net/egress.h"
#include "devices/virtio/net.h"
#include "devices/virtio/virtio.h"
#include "tests/fuzz/fuzz_record.h"
#include "tests/support/ring_driver.h"
#include "tests/support/vp_driver.h"

#define DEVICES	 3
#define QUEUES	 2
#define WINDOW	 (1ULL << 20)
#define RAM_SIZE ((DEVICES * QUEUES + 1) * WINDOW)
#define BAR_BASE 0xc0000000ULL
#define MAX_POST 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct net_dev {
	struct virtio_net net;
	int sock[2];
	int msi_fds[1 + QUEUES];
	struct ring_driver rd[QUEUES];
	enum virtio_net_backend backend;
};

static struct io_loop loop;
static uint8_t *mem;
static struct guest_ram ram;
static struct net_dev devs[DEVICES];
static struct egress_filter *filter;

static const uint64_t base_features =
    VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
    VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
    VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
static const uint64_t offload_features =
    VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);

static int no_ioeventfd(void *ctx, uint64_t addr, int fd, bool assign)
{
	(void)ctx;
	(void)addr;
	(void)fd;
	(void)assign;
	return 0;
}

static void dev_init(unsigned int i, enum virtio_net_backend backend, bool vnet_hdr)
{
	struct net_dev *d = &devs[i];
	int type = backend == VIRTIO_NET_BACKEND_STREAM ? SOCK_STREAM : SOCK_SEQPACKET;
	struct virtio_net_params params = {.mac = {0x52, 0x54, 0, 0x12, 0x34, 0x56},
					   .backend = backend,
					   .vnet_hdr = vnet_hdr,
					   .filter = vnet_hdr ? filter : NULL};
	struct virtio_pci_host host = {
	    .ram = &ram, .loop = &loop, .ioeventfd = no_ioeventfd, .msi_fds = d->msi_fds};

	d->backend = backend;
	for (unsigned int v = 0; v < 1 + QUEUES; v++)
		if ((d->msi_fds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
			abort();
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, d->sock) ||
	    fcntl(d->sock[1], F_SETFL, O_NONBLOCK))
		abort();
	params.fd = d->sock[0];
	if (virtio_net_init(&d->net, &params, &host, BAR_BASE + i * 0x10000))
		abort();
}

static void setup_once(void)
{
	char err[128];

	mem = calloc(1, RAM_SIZE);
	if (!mem || io_loop_init(&loop, 256) || egress_filter_create(&filter, NULL) ||
	    egress_filter_add_rule(filter, "192.0.2.1:80", err, sizeof(err)) ||
	    egress_filter_add_rule(filter, "[2001:db8::1]:443", err, sizeof(err)))
		abort();
	ram.regions[0] = (struct guest_ram_region){.gpa = 0, .size = RAM_SIZE, .host = mem};
	ram.count = 1;
	ram.total = RAM_SIZE;
	dev_init(0, VIRTIO_NET_BACKEND_STREAM, false);
	dev_init(1, VIRTIO_NET_BACKEND_TAP, false);
	dev_init(2, VIRTIO_NET_BACKEND_TAP, true);
	if (io_loop_start(&loop))
		abort();
}

static void guest_setup(struct net_dev *d, unsigned int index, uint64_t features)
{
	struct virtio_pci *vp = &d->net.vp;

	vp_driver_set_status(vp, 0);
	for (unsigned int q = 0; q < QUEUES; q++)
		if (vp_driver_place_ring(&d->rd[q], mem, WINDOW * (1 + index * QUEUES + q), WINDOW,
					 VIRTIO_NET_QUEUE_SIZE))
			abort();
	if (!vp_driver_negotiate(vp, features))
		return;
	vp_driver_write(vp, VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_MSIX, 2, 0);
	for (unsigned int q = 0; q < QUEUES; q++)
		vp_driver_setup_ring(vp, (uint16_t)q, &d->rd[q], (uint16_t)(1 + q));
	vp_driver_set_status(vp, vp_driver_status(vp) | VIRTIO_STATUS_DRIVER_OK);
}

static uint64_t alloc(struct net_dev *d, unsigned int q, const void *bytes, size_t len)
{
	uint64_t gpa = ring_driver_alloc(&d->rd[q], len ? len : 1, 16);

	if (gpa && bytes && len)
		memcpy(ring_driver_host(&d->rd[q], gpa), bytes, len);
	return gpa;
}

static void kick(struct net_dev *d, unsigned int q)
{
	ring_driver_publish(&d->rd[q]);
	vp_driver_kick(&d->net.vp, (uint16_t)q);
}

/* A transmit chain: bytes[0, split) and bytes[split, len) as two readable descriptors. */
static void tx(struct net_dev *d, uint8_t tag, const uint8_t *b, size_t len)
{
	size_t split = len ? (size_t)(tag >> 3) * len / 32 : 0;
	uint64_t a = alloc(d, VIRTIO_NET_TXQ, b, split);
	uint64_t c = alloc(d, VIRTIO_NET_TXQ, b + split, len - split);
	struct ring_buf bufs[2] = {{a, (uint32_t)split, false},
				   {c, (uint32_t)(len - split), false}};

	if (!a || !c)
		return;
	ring_driver_add_chain(&d->rd[VIRTIO_NET_TXQ], bufs, 2);
	kick(d, VIRTIO_NET_TXQ);
}

static void from_backend(struct net_dev *d, uint8_t tag, const uint8_t *b, size_t len)
{
	uint8_t prefix[4];

	if (d->backend == VIRTIO_NET_BACKEND_STREAM && (tag & 0x80)) {
		prefix[0] = 0;
		prefix[1] = 0;
		prefix[2] = (uint8_t)(len >> 8);
		prefix[3] = (uint8_t)len;
		(void)send(d->sock[1], prefix, sizeof(prefix), MSG_NOSIGNAL);
	}
	(void)send(d->sock[1], b, len, MSG_NOSIGNAL);
}

static void rx_post(struct net_dev *d, const uint8_t *b, size_t len)
{
	unsigned int n = len > 0 ? b[0] % 8 + 1 : 1;
	uint32_t size = len > 2 ? (uint32_t)le_get(b + 1, 2) % 4096 + 1 : 1526;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t gpa = alloc(d, VIRTIO_NET_RXQ, NULL, size);

		if (!gpa)
			return;
		ring_driver_add_chain(&d->rd[VIRTIO_NET_RXQ], &(struct ring_buf){gpa, size, true},
				      1);
	}
	kick(d, VIRTIO_NET_RXQ);
}

static void drain(int fd)
{
	uint8_t buf[4096];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size, 1};
	const uint8_t *b;
	unsigned int posts = 0;
	size_t len;
	uint8_t tag;

	if (size < 1)
		return 0;
	if (!mem)
		setup_once();
	unsigned int index = data[0] % DEVICES;
	struct net_dev *d = &devs[index];

	memset(mem + WINDOW * (1 + index * QUEUES), 0, WINDOW * QUEUES);
	guest_setup(d, index, base_features | (data[0] & 0x80 ? offload_features : 0));
	while (fuzz_next(&in, &tag, &b, &len)) {
		switch (tag & 7) {
		case 0:
			tx(d, tag, b, len);
			break;
		case 1:
			from_backend(d, tag, b, len);
			break;
		case 2:
			if (posts++ < MAX_POST)
				rx_post(d, b, len);
			break;
		case 3:
			vp_driver_set_status(&d->net.vp, len ? b[0] : 0);
			break;
		case 4:
			vp_driver_kick(&d->net.vp, (uint16_t)(tag >> 3) % (QUEUES + 1));
			break;
		case 5:
			drain(d->sock[1]);
			break;
		default:
			break;
		}
	}
	vp_driver_set_status(&d->net.vp, 0);
	drain(d->sock[1]);
	return 0;
}
