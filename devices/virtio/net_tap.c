/* virtio-net's tap back-end: one read or write is one frame, after a virtio-net header when the
 * tap has IFF_VNET_HDR (tech-notes 6.1-6.3). */
#include <errno.h>
#include <linux/if_tun.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "devices/virtio/net_backend.h"

/* Largest frame taken from a tap: 64 KiB of GRO'd IP packet plus the Ethernet header. */
#define NET_TAP_RX_MAX (65536 + VIRTIO_NET_ETH_MIN)

struct net_tap {
	struct net_backend be;
	bool vnet_hdr;	      /* IFF_VNET_HDR, TUNSETVNETHDRSZ 12 (virtio_net_params) */
	unsigned int offload; /* TUN_F_* last given to TUNSETOFFLOAD (atomic: tests read it) */
	struct net_offload accepted; /* by the driver at the last activation */
	uint8_t *rx_buf;	     /* one frame, with the tap's header first when vnet_hdr */
	size_t rx_cap;
	size_t rx_len; /* bytes of the last read not yet taken; 0: none */
	struct io_loop_op tx_ops[VIRTIO_NET_TX_POOL]; /* [i]: the write of TX buffer i */
};

static struct net_tap *net_tap(struct net_backend *be)
{
	return (struct net_tap *)((char *)be - offsetof(struct net_tap, be));
}

static void net_tap_write_done(struct io_loop_op *op, int res);

static int net_tap_create(const struct virtio_net_params *params, struct net_backend **out)
{
	struct net_tap *tap = calloc(1, sizeof(*tap));

	if (!tap)
		return -ENOMEM;
	tap->vnet_hdr = params->vnet_hdr;
	/* A read needs one byte more than the largest frame to notice truncation. */
	tap->rx_cap = (tap->vnet_hdr ? VIRTIO_NET_HDR_LEN : 0) + NET_TAP_RX_MAX + 1;
	tap->rx_buf = malloc(tap->rx_cap);
	if (!tap->rx_buf) {
		free(tap);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < VIRTIO_NET_TX_POOL; i++)
		tap->tx_ops[i] = (struct io_loop_op){.cb = net_tap_write_done, .opaque = tap};
	/*
	 * Offloads need a tap that understands the header (tech-notes 6.1).
	 * GUEST: such a tap copies the guest's 12-byte header before it
	 * validates it (tun_get_user), so it may read the frame straight from
	 * guest buffers when no filter must check a private copy.
	 */
	tap->be.features = tap->vnet_hdr ? NET_OFFLOAD_FEATURES : 0;
	tap->be.tx_borrow = tap->vnet_hdr;
	*out = &tap->be;
	return 0;
}

static void net_tap_destroy(struct net_backend *be)
{
	struct net_tap *tap = net_tap(be);

	free(tap->rx_buf);
	free(tap);
}

unsigned int net_tap_offload(const struct net_backend *be)
{
	if (!be || be->ops != &net_tap_ops)
		return 0;
	const struct net_tap *tap =
	    (const struct net_tap *)((const char *)be - offsetof(struct net_tap, be));

	return __atomic_load_n(&tap->offload, __ATOMIC_SEQ_CST);
}

/* tech-notes 6.3: the tap may hand us only what the driver accepted (GUEST_* features). */
static int net_tap_set_offload(struct net_backend *be, const struct net_offload *accepted)
{
	struct net_tap *tap = net_tap(be);
	unsigned int flags = 0;

	tap->accepted = *accepted;
	if (!tap->vnet_hdr)
		return 0;
	if (accepted->csum) {
		flags |= TUN_F_CSUM;
		if (accepted->tso4)
			flags |= TUN_F_TSO4;
		if (accepted->tso6)
			flags |= TUN_F_TSO6;
	}
	__atomic_store_n(&tap->offload, flags, __ATOMIC_SEQ_CST);
	if (ioctl(be->fd, TUNSETOFFLOAD, flags) == 0)
		return 0;
	/* Not a tun fd (a test's socketpair): nothing to tell; net_tap_header() still checks. */
	return errno == ENOTTY ? 0 : -errno;
}

/* ---- RX ---- */

static void net_tap_rx_space(struct net_backend *be, uint8_t **buf, size_t *len)
{
	struct net_tap *tap = net_tap(be);

	*buf = tap->rx_buf;
	*len = tap->rx_cap;
}

static void net_tap_rx_received(struct net_backend *be, size_t n)
{
	net_tap(be)->rx_len = n;
}

/*
 * A tap frame's header: bytes 0-9 come from the tap (offloads we enabled),
 * num_buffers is the device's. §5.1.6.4.1: without GUEST_CSUM flags must be
 * 0 and GSO only of a negotiated kind; a tap whose offloads lag a new
 * driver's features must not leak other headers through.
 */
static bool net_tap_header(const struct net_tap *tap, uint8_t *hdr)
{
	const struct net_offload *acc = &tap->accepted;

	/* Backend data: copied once, then checked against what the driver negotiated. */
	memcpy(hdr, tap->rx_buf, NET_HDR_NUM_BUFFERS);
	uint8_t gso = hdr[NET_HDR_GSO_TYPE];

	hdr[NET_HDR_FLAGS] &= NET_HDR_F_NEEDS_CSUM | NET_HDR_F_DATA_VALID;
	if (!acc->csum) {
		if (hdr[NET_HDR_FLAGS] & NET_HDR_F_NEEDS_CSUM)
			return false;
		hdr[NET_HDR_FLAGS] = 0;
	}
	if (gso == NET_HDR_GSO_NONE)
		return true;
	return acc->csum &&
	       ((gso == NET_HDR_GSO_TCPV4 && acc->tso4) || (gso == NET_HDR_GSO_TCPV6 && acc->tso6));
}

/* One read = one frame (with the tap's vnet header first when configured). */
static enum net_rx_next net_tap_rx_next(struct net_backend *be, struct virtio_net_rx_frame *f)
{
	struct net_tap *tap = net_tap(be);
	size_t hdr = tap->vnet_hdr ? VIRTIO_NET_HDR_LEN : 0, n = tap->rx_len;

	if (n == 0)
		return NET_RX_MORE;
	tap->rx_len = 0;
	memset(f->hdr, 0, sizeof(f->hdr));
	/* A read that filled the buffer may have been truncated. */
	if (n < hdr + VIRTIO_NET_ETH_MIN || n >= tap->rx_cap ||
	    (hdr && !net_tap_header(tap, f->hdr)))
		return NET_RX_DROP;
	f->data = tap->rx_buf + hdr;
	f->len = n - hdr;
	return NET_RX_FRAME;
}

static void net_tap_rx_consumed(struct net_backend *be, const struct virtio_net_rx_frame *f)
{
	/* The next read reuses the buffer; it starts only now (net_rx_pump). */
	(void)be;
	(void)f;
}

/* ---- TX ---- */

static void net_tap_tx_frame(struct net_backend *be, struct virtio_net_tx_buf *b, size_t frame_len)
{
	/*
	 * GUEST: an IFF_VNET_HDR tap reads the 12-byte header first
	 * (TUNSETVNETHDRSZ 12) and validates it itself
	 * (virtio_net_hdr_to_skb); a frame it refuses is dropped. Without
	 * vnet_hdr no offload was offered, so the header carries nothing we
	 * must honour (§5.1.6.2).
	 */
	b->start = net_tap(be)->vnet_hdr ? NET_TX_HDR : NET_TX_FRAME;
	b->end = NET_TX_FRAME + frame_len;
}

/* One write per frame, gathered from the guest's buffers when direct. False: dropped. */
static bool net_tap_submit(struct net_tap *tap, struct virtio_net_tx_buf *b)
{
	struct net_backend *be = &tap->be;
	struct io_loop_op *op = &tap->tx_ops[net_tx_index(be->net, b)];
	int ret = -EIO;

	if (!be->dead)
		ret = b->direct ? io_loop_writev(be->loop, op, be->fd, b->iov, b->iov_count)
				: io_loop_write(be->loop, op, be->fd, b->data + b->start,
						b->end - b->start);
	if (ret) {
		net_tx_done(be->net, b, false);
		return false;
	}
	return true;
}

static void net_tap_write_done(struct io_loop_op *op, int res)
{
	struct net_tap *tap = op->opaque;
	struct virtio_net *net = tap->be.net;
	struct virtio_net_tx_buf *b = net_tx_buf(net, (unsigned int)(op - tap->tx_ops));

	if (res == -EINTR) {
		if (!net_tap_submit(tap, b))
			net_tx_resume(net);
		return;
	}
	/* A tap refusing a frame (bad offload header, link down, no room) drops it like a NIC. */
	net_tx_done(net, b, res >= 0);
	net_tx_resume(net);
}

/* Every ready frame is written at once: the tap keeps each write's boundaries. */
static void net_tap_tx_flush(struct net_backend *be)
{
	struct virtio_net_tx_buf *b;

	while ((b = net_tx_pop_ready(be->net)))
		net_tap_submit(net_tap(be), b);
}

const struct net_backend_ops net_tap_ops = {
    .name = "tap",
    .create = net_tap_create,
    .destroy = net_tap_destroy,
    .set_offload = net_tap_set_offload,
    .rx_space = net_tap_rx_space,
    .rx_received = net_tap_rx_received,
    .rx_next = net_tap_rx_next,
    .rx_consumed = net_tap_rx_consumed,
    .tx_frame = net_tap_tx_frame,
    .tx_flush = net_tap_tx_flush,
};
