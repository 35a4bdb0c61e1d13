/* virtio-net (virtio 1.2 §5.1): one rx/tx queue pair bridged to a tap device or passt's stream
 * socket. */
#include "devices/virtio/net.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "devices/io.h"
#include "devices/virtio/virtio.h"

#define PCI_CLASS_NETWORK_ETHERNET 0x020000

/* struct virtio_net_hdr_v1 fields (§5.1.6): flags @0, gso_type @1, num_buffers @10. */
#define NET_HDR_FLAGS	     0
#define NET_HDR_GSO_TYPE     1
#define NET_HDR_NUM_BUFFERS  10
#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_F_DATA_VALID 2
#define NET_HDR_GSO_NONE     0
#define NET_HDR_GSO_TCPV4    1
#define NET_HDR_GSO_TCPV6    4

/*
 * A TX buffer holds [4 spare][12-byte header][frame]: the tap with a vnet
 * header gets bytes from 4, passt gets its length prefix written over the
 * header's last 4 bytes and bytes from 12, a plain tap gets the frame alone.
 */
#define NET_TX_HDR	VIRTIO_NET_STREAM_PREFIX
#define NET_TX_FRAME	(NET_TX_HDR + VIRTIO_NET_HDR_LEN)
#define NET_TX_BUF_SIZE (NET_TX_FRAME + VIRTIO_NET_TX_MAX)
/* passt reassembly: one whole [len][frame] plus room for a large read behind it. */
#define NET_STREAM_BUF_SIZE (VIRTIO_NET_STREAM_PREFIX + VIRTIO_NET_TX_MAX + 65536)

enum net_rx_result { NET_RX_DONE, NET_RX_WAIT, NET_RX_STOP };

static void net_tx_process(struct virtio_net *net);
static void net_rx_pump(struct virtio_net *net);

static struct virtq *net_vq(struct virtio_net *net, unsigned int queue)
{
	return virtio_pci_vq(&net->vp, queue);
}

static void net_count(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static uint64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool net_is_stream(const struct virtio_net *net)
{
	return net->params.backend == VIRTIO_NET_BACKEND_STREAM;
}

/* The guest broke the protocol: stop and set DEVICE_NEEDS_RESET (§2.1.2). */
static void net_broken(struct virtio_net *net, const char *why)
{
	net->error = why;
	virtio_pci_set_broken(&net->vp, why);
}

/* No more backend I/O; the VMM hears about it once. */
static void net_backend_gone(struct virtio_net *net, const char *why)
{
	net->backend_dead = true;
	if (!net->gone_reported) {
		net->error = why;
		net->gone_reported = true;
		if (net->on_backend_gone)
			net->on_backend_gone(net->ctx);
	}
}

/* ---- TX: guest -> backend (§5.1.6.2) ---- */

static struct virtio_net_tx_buf *net_tx_get(struct virtio_net *net)
{
	struct virtio_net_tx_buf *b = &net->tx_bufs[net->tx_free[--net->tx_free_count]];
	uint64_t busy = VIRTIO_NET_TX_POOL - net->tx_free_count;

	if (busy > net->stats.tx_pool_peak)
		__atomic_store_n(&net->stats.tx_pool_peak, busy, __ATOMIC_RELAXED);
	b->off = 0;
	b->direct = false;
	return b;
}

/* Frees the buffer; a borrowed chain goes back to the guest (§2.7.8), unless reset since. */
static void net_tx_put(struct virtio_net *net, struct virtio_net_tx_buf *b)
{
	if (b->direct && b->generation == net->tx_generation && virtio_pci_is_live(&net->vp) &&
	    virtq_push(net_vq(net, VIRTIO_NET_TXQ), b->head, 0) == 0)
		virtio_pci_notify_queue(&net->vp, VIRTIO_NET_TXQ);
	b->direct = false;
	net->tx_free[net->tx_free_count++] = (uint8_t)(b - net->tx_bufs);
}

/*
 * A tap without an egress filter reads the frame straight from the guest's
 * buffers: nothing of it is checked, so there is no need for a private copy,
 * and the tap copies the 12-byte header before it validates it
 * (tun_get_user). The guest gets the chain back when the write
 * completes. passt gets copies (its length prefix is ours), and a filter
 * must check a copy the guest can no longer change.
 */
static bool net_tx_direct(const struct virtio_net *net)
{
	return net->params.backend == VIRTIO_NET_BACKEND_TAP && net->params.vnet_hdr &&
	       !net->params.filter;
}

/* Sets which bytes of the copy go to the backend, in the backend's framing. */
static void net_tx_frame(struct virtio_net *net, struct virtio_net_tx_buf *b, size_t frame_len)
{
	b->end = NET_TX_FRAME + frame_len;
	if (net_is_stream(net)) {
		/* passt: be32 length, then the frame; no virtio header (tech-notes 6.4). */
		uint8_t *p = b->data + NET_TX_FRAME - VIRTIO_NET_STREAM_PREFIX;

		p[0] = (uint8_t)(frame_len >> 24);
		p[1] = (uint8_t)(frame_len >> 16);
		p[2] = (uint8_t)(frame_len >> 8);
		p[3] = (uint8_t)frame_len;
		b->start = NET_TX_FRAME - VIRTIO_NET_STREAM_PREFIX;
	} else {
		/*
		 * GUEST: an IFF_VNET_HDR tap reads the 12-byte header first
		 * (TUNSETVNETHDRSZ 12) and validates it itself
		 * (virtio_net_hdr_to_skb); a frame it refuses is dropped.
		 * Without vnet_hdr no offload was offered, so the header
		 * carries nothing we must honour (§5.1.6.2).
		 */
		b->start = net->params.vnet_hdr ? NET_TX_HDR : NET_TX_FRAME;
	}
}

/* Takes the oldest frame waiting for the backend. */
static struct virtio_net_tx_buf *net_tx_next_ready(struct virtio_net *net)
{
	unsigned int idx = net->tx_ready[net->tx_ready_head];

	net->tx_ready_head = (net->tx_ready_head + 1) % VIRTIO_NET_TX_POOL;
	net->tx_ready_count--;
	return &net->tx_bufs[idx];
}

static void net_tx_drop(struct virtio_net *net, struct virtio_net_tx_buf *b)
{
	net_count(&net->stats.tx_dropped);
	net_tx_put(net, b);
}

/* A buffer is free again: take more from the ring if the pool had run dry. */
static void net_tx_resume(struct virtio_net *net)
{
	if (net->tx_blocked && net->tx_free_count) {
		net->tx_blocked = false;
		net_tx_process(net);
	}
}

/* Tap: one write per frame, gathered from the guest's buffers when direct. False: dropped. */
static bool net_tx_tap_submit(struct virtio_net *net, struct virtio_net_tx_buf *b)
{
	int ret = -EIO;

	if (!net->backend_dead)
		ret = b->direct
			  ? io_loop_writev(net->loop, &b->op, net->params.fd, b->iov, b->iov_count)
			  : io_loop_write(net->loop, &b->op, net->params.fd, b->data + b->start,
					  b->end - b->start);
	if (ret) {
		net_tx_drop(net, b);
		return false;
	}
	net->tx_inflight++;
	return true;
}

static void net_tx_tap_done(struct io_loop_op *op, int res)
{
	struct virtio_net_tx_buf *b = op->opaque;
	struct virtio_net *net = b->net;

	net->tx_inflight--;
	if (res == -EINTR) {
		if (!net_tx_tap_submit(net, b))
			net_tx_resume(net);
		return;
	}
	/* A tap refusing a frame (bad offload header, link down, no room) drops it like a NIC. */
	net_count(res < 0 ? &net->stats.tx_dropped : &net->stats.tx_frames);
	net_tx_put(net, b);
	net_tx_resume(net);
}

static void net_tx_stream_drop_all(struct virtio_net *net)
{
	for (unsigned int i = 0; i < net->tx_batch_count; i++)
		net_tx_drop(net, &net->tx_bufs[net->tx_batch[i]]);
	net->tx_batch_count = 0;
}

/*
 * passt: everything ready goes out in one gathered write, oldest first,
 * behind what is left of the last one. Nothing else is written while a
 * write is in flight, so a short write never lets another frame in between
 * (the stream would lose its framing).
 */
static void net_tx_stream_submit(struct virtio_net *net)
{
	while (net->tx_ready_count)
		net->tx_batch[net->tx_batch_count++] =
		    (uint8_t)(net_tx_next_ready(net) - net->tx_bufs);
	if (!net->tx_batch_count)
		return;
	if (!net->backend_dead) {
		for (unsigned int i = 0; i < net->tx_batch_count; i++) {
			struct virtio_net_tx_buf *b = &net->tx_bufs[net->tx_batch[i]];

			net->tx_batch_iov[i] =
			    (struct iovec){b->data + b->start + b->off, b->end - b->start - b->off};
		}
		if (io_loop_writev(net->loop, &net->tx_stream_op, net->params.fd, net->tx_batch_iov,
				   net->tx_batch_count) == 0) {
			net->tx_inflight++;
			return;
		}
		/* Half a frame sent and no way to finish it: passt would lose the framing. */
		if (net->tx_bufs[net->tx_batch[0]].off > 0)
			net_backend_gone(net, "cannot continue a write to passt");
	}
	net_tx_stream_drop_all(net);
}

/* n bytes of the batch were written: whole frames are done, a partial one stays first. */
static void net_tx_stream_consume(struct virtio_net *net, size_t n)
{
	unsigned int done = 0;

	for (; done < net->tx_batch_count; done++) {
		struct virtio_net_tx_buf *b = &net->tx_bufs[net->tx_batch[done]];
		size_t rest = b->end - b->start - b->off;

		if (n < rest) {
			b->off += n;
			break;
		}
		n -= rest;
		net_count(&net->stats.tx_frames);
		net_tx_put(net, b);
	}
	net->tx_batch_count -= done;
	memmove(net->tx_batch, net->tx_batch + done, net->tx_batch_count);
}

static void net_tx_stream_done(struct io_loop_op *op, int res)
{
	struct virtio_net *net = op->opaque;
	bool was_poll = net->tx_stream_polling;

	net->tx_inflight--;
	net->tx_stream_polling = false;
	if (!was_poll && res == -EAGAIN && !net->backend_dead &&
	    io_loop_poll(net->loop, &net->tx_stream_op, net->params.fd, POLLOUT) == 0) {
		/* A non-blocking socket with a full buffer: wait for room, keep the rest. */
		net->tx_stream_polling = true;
		net->tx_inflight++;
		return;
	}
	if (!was_poll && res != -EINTR) {
		if (res <= 0) {
			net_backend_gone(net, "writing to passt failed");
			net_tx_stream_drop_all(net);
		} else {
			net_tx_stream_consume(net, (size_t)res);
		}
	}
	net_tx_stream_submit(net);
	net_tx_resume(net);
}

/* Starts writes: every ready frame for a tap, one gathered write at a time for passt. */
static void net_tx_flush(struct virtio_net *net)
{
	if (net_is_stream(net)) {
		if (net->tx_inflight == 0)
			net_tx_stream_submit(net);
		return;
	}
	while (net->tx_ready_count)
		net_tx_tap_submit(net, net_tx_next_ready(net));
}

/* Copies the readable part of a chain once into a private buffer. */
static void net_tx_copy(struct virtio_net_tx_buf *b, const struct virtq_chain *c)
{
	size_t at = NET_TX_HDR;

	for (unsigned int i = 0; i < c->readable; i++) {
		/* GUEST: iovs are in RAM (virtq_pop); their sum was checked to fit the buffer. */
		memcpy(b->data + at, c->iov[i].base, c->iov[i].len);
		at += c->iov[i].len;
	}
}

/* Points the buffer at the chain's readable iovs (header + frame, in RAM: virtq_pop checked). */
static void net_tx_borrow(struct virtio_net *net, struct virtio_net_tx_buf *b,
			  const struct virtq_chain *c)
{
	for (unsigned int i = 0; i < c->readable; i++)
		b->iov[i] = (struct iovec){.iov_base = c->iov[i].base, .iov_len = c->iov[i].len};
	b->iov_count = c->readable;
	b->head = c->head;
	b->generation = net->tx_generation;
	b->direct = true;
}

/* Frames go to the backend in the order the guest queued them. */
static void net_tx_queue(struct virtio_net *net, struct virtio_net_tx_buf *b)
{
	net->tx_ready[(net->tx_ready_head + net->tx_ready_count) % VIRTIO_NET_TX_POOL] =
	    (uint8_t)(b - net->tx_bufs);
	net->tx_ready_count++;
}

/* Takes one transmit chain: copy, check, queue for the backend. False when the device broke. */
static bool net_tx_take(struct virtio_net *net, const struct virtq_chain *c)
{
	struct virtq *q = net_vq(net, VIRTIO_NET_TXQ);
	uint64_t total = c->readable_len;

	/* GUEST: §5.1.6.2: transmit buffers are device-readable only; a writable one is a bug. */
	if (c->writable) {
		net_broken(net, "device-writable buffer in a transmit chain");
		return false;
	}
	/* GUEST: the length is the validated chain total, read once; both bounds are checked. */
	if (total < VIRTIO_NET_HDR_LEN + VIRTIO_NET_ETH_MIN ||
	    total > VIRTIO_NET_HDR_LEN + VIRTIO_NET_TX_MAX || net->backend_dead) {
		net_count(&net->stats.tx_dropped);
		virtq_push(q, c->head, 0);
		return true;
	}
	struct virtio_net_tx_buf *b = net_tx_get(net);
	size_t frame_len = (size_t)total - VIRTIO_NET_HDR_LEN;

	if (net_tx_direct(net)) {
		net_tx_borrow(net, b, c);
		net_tx_queue(net, b);
		return true;
	}
	net_tx_copy(b, c);
	/* The copy is ours: the guest gets its buffer back at once (nothing written, len 0). */
	virtq_push(q, c->head, 0);
	if (net->params.filter && egress_check_tx(net->params.filter, b->data + NET_TX_FRAME,
						  frame_len, net_now_ms()) == EGRESS_DROP) {
		/* Dropped frames count as sent: the guest sees a lossy network, nothing more. */
		net_count(&net->stats.tx_filtered);
		net_tx_put(net, b);
		return true;
	}
	net_tx_frame(net, b, frame_len);
	net_tx_queue(net, b);
	return true;
}

static void net_tx_call(void *arg)
{
	struct virtio_net *net = arg;

	net->tx_call_pending = false;
	net_tx_process(net);
}

/* Comes back to the TX ring after the loop served everyone else. */
static void net_tx_schedule(struct virtio_net *net)
{
	if (net->tx_call_pending)
		return;
	net->tx_call_pending = true;
	net->tx_call = (struct io_loop_call){.fn = net_tx_call, .arg = net};
	io_loop_call(net->loop, &net->tx_call);
}

/*
 * Takes up to VIRTIO_NET_TX_BATCH chains. Stops early when every TX buffer
 * is busy (a write completion resumes) and yields to the loop after a full
 * batch. Kicks are suppressed while draining (§2.7.10).
 */
static void net_tx_process(struct virtio_net *net)
{
	struct virtq *q = net_vq(net, VIRTIO_NET_TXQ);
	unsigned int n = 0;
	bool pushed = false;
	int got = 0;

	if (!virtio_pci_is_live(&net->vp))
		return;
	virtq_set_notification(q, false);
	for (; n < VIRTIO_NET_TX_BATCH; n++) {
		if (net->tx_free_count == 0) {
			net->tx_blocked = true;
			break;
		}
		got = virtq_pop(q, &net->tx_chain);
		if (got <= 0)
			break;
		pushed = true;
		if (!net_tx_take(net, &net->tx_chain))
			return;
	}
	if (got < 0) {
		net_broken(net, "bad transmit ring");
		return;
	}
	if (pushed)
		virtio_pci_notify_queue(&net->vp, VIRTIO_NET_TXQ);
	net_tx_flush(net);
	if (net->tx_blocked)
		return;
	if (n == VIRTIO_NET_TX_BATCH) {
		net_tx_schedule(net);
		return;
	}
	/* Idle: ask for kicks again, then look once more for chains added meanwhile. */
	virtq_set_notification(q, true);
	if (virtq_has_available(q))
		net_tx_schedule(net);
}

/* ---- RX: backend -> guest (§5.1.6.3, §5.1.6.4) ---- */

static void net_rx_done_op(struct io_loop_op *op, int res);

/* Reads more from the backend unless a frame is still waiting for guest buffers. */
static void net_rx_arm(struct virtio_net *net)
{
	size_t at = 0;
	int ret;

	if (net->rx_busy || net->backend_dead || net->rx.active)
		return;
	if (net_is_stream(net)) {
		/* Nothing refers into the buffer now: move the partial frame to the front. */
		memmove(net->rx_buf, net->rx_buf + net->rx_start, net->rx_end - net->rx_start);
		net->rx_end -= net->rx_start;
		net->rx_start = 0;
		at = net->rx_end;
	}
	if (net->rx_polling)
		ret = io_loop_poll(net->loop, &net->rx_op, net->params.fd, POLLIN);
	else
		ret = io_loop_read(net->loop, &net->rx_op, net->params.fd, net->rx_buf + at,
				   net->rx_cap - at);
	if (ret) {
		net_backend_gone(net, "cannot read from the network backend");
		return;
	}
	net->rx_busy = true;
}

/*
 * A tap frame's header: bytes 0-9 come from the tap (offloads we enabled),
 * num_buffers is ours. §5.1.6.4.1: without GUEST_CSUM flags must be 0 and
 * GSO only of a negotiated kind; a tap whose offloads lag a new driver's
 * features must not leak other headers through.
 */
static bool net_rx_tap_header(struct virtio_net *net)
{
	uint8_t *hdr = net->rx.hdr;

	/* Backend data: copied once, then checked against what the driver negotiated. */
	memcpy(hdr, net->rx_buf, NET_HDR_NUM_BUFFERS);
	uint8_t gso = hdr[NET_HDR_GSO_TYPE];

	hdr[NET_HDR_FLAGS] &= NET_HDR_F_NEEDS_CSUM | NET_HDR_F_DATA_VALID;
	if (!net->guest_csum) {
		if (hdr[NET_HDR_FLAGS] & NET_HDR_F_NEEDS_CSUM)
			return false;
		hdr[NET_HDR_FLAGS] = 0;
	}
	if (gso == NET_HDR_GSO_NONE)
		return true;
	return net->guest_csum && ((gso == NET_HDR_GSO_TCPV4 && net->guest_tso4) ||
				   (gso == NET_HDR_GSO_TCPV6 && net->guest_tso6));
}

/* One tap read = one frame (with the tap's vnet header first when configured). */
static void net_rx_take_tap(struct virtio_net *net, size_t n)
{
	size_t hdr = net->params.vnet_hdr ? VIRTIO_NET_HDR_LEN : 0;

	memset(net->rx.hdr, 0, sizeof(net->rx.hdr));
	/* A read that filled the buffer may have been truncated. */
	if (n < hdr + VIRTIO_NET_ETH_MIN || n >= net->rx_cap || (hdr && !net_rx_tap_header(net))) {
		net_count(&net->stats.rx_dropped);
		return;
	}
	net->rx.data = net->rx_buf + hdr;
	net->rx.len = n - hdr;
	net->rx.active = true;
}

/* passt: next [be32 len][frame] from the stream. 1 found, 0 need more, -1 protocol error. */
static int net_rx_parse_stream(struct virtio_net *net)
{
	const uint8_t *p = net->rx_buf + net->rx_start;
	size_t have = net->rx_end - net->rx_start;

	if (!net_is_stream(net) || have < VIRTIO_NET_STREAM_PREFIX)
		return 0;
	size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];

	/* Backend data, checked like guest data: passt never sends < 14 or > 65535 (tap.c). */
	if (len < VIRTIO_NET_ETH_MIN || len > VIRTIO_NET_TX_MAX)
		return -1;
	if (have < VIRTIO_NET_STREAM_PREFIX + len)
		return 0;
	memset(net->rx.hdr, 0, sizeof(net->rx.hdr));
	net->rx.data = p + VIRTIO_NET_STREAM_PREFIX;
	net->rx.len = len;
	net->rx.active = true;
	return 1;
}

/* The current frame is delivered or dropped: forget it and step past it. */
static void net_rx_frame_done(struct virtio_net *net)
{
	if (net_is_stream(net))
		net->rx_start += VIRTIO_NET_STREAM_PREFIX + net->rx.len;
	net->rx.active = false;
	net->rx.off = 0;
	net->rx.used = 0;
	net->rx.nb[0] = net->rx.nb[1] = NULL;
}

/*
 * Makes sure a receive chain is at hand. 1: use it; 0: the ring is empty;
 * -1: the device broke; 2: without MRG_RXBUF the frame does not fit it
 * (the frame is dropped, the chain kept for the next one).
 */
static int net_rx_get_chain(struct virtio_net *net, size_t need)
{
	struct virtq_chain *c = &net->rx_chain;

	if (!net->rx_have_chain) {
		if (net->rx.used == VIRTIO_NET_QUEUE_SIZE) {
			/* More chains than a ring can hold at once: the guest reuses heads. */
			net_broken(net, "receive buffers offered twice");
			return -1;
		}
		int got = virtq_pop(net_vq(net, VIRTIO_NET_RXQ), c);

		if (got <= 0) {
			if (got < 0)
				net_broken(net, "bad receive ring");
			return got;
		}
		/* GUEST: §5.1.6.3: receive buffers are device-writable only. */
		if (c->readable) {
			net_broken(net, "device-readable buffer in a receive chain");
			return -1;
		}
		/* GUEST: §5.1.6.3.1: with MRG_RXBUF every buffer holds at least the header. */
		if (net->mrg_rxbuf && c->writable_len < VIRTIO_NET_HDR_LEN) {
			net_broken(net, "merged receive buffer smaller than the header");
			return -1;
		}
		net->rx_have_chain = true;
	}
	/* §5.1.6.4.1: without MRG_RXBUF a packet uses exactly one chain. */
	if (!net->mrg_rxbuf && c->writable_len < need)
		return 2;
	return 1;
}

/* Copies the next part of header + frame into the chain at hand (written into, never read). */
static void net_rx_fill(struct virtio_net *net, size_t need)
{
	struct virtq_chain *c = &net->rx_chain;
	uint32_t written = 0;

	for (unsigned int i = 0; i < c->writable && net->rx.off < need; i++) {
		/* GUEST: writable iovs are inside RAM (virtq_pop); we only write into them. */
		uint8_t *dst = c->iov[c->readable + i].base;
		size_t room = c->iov[c->readable + i].len;

		while (room && net->rx.off < need) {
			size_t off = net->rx.off;
			const uint8_t *src = off < VIRTIO_NET_HDR_LEN
						 ? net->rx.hdr + off
						 : net->rx.data + (off - VIRTIO_NET_HDR_LEN);
			size_t n = off < VIRTIO_NET_HDR_LEN ? VIRTIO_NET_HDR_LEN - off : need - off;

			n = n < room ? n : room;
			/* num_buffers is known only at the end: remember where its bytes went. */
			for (size_t k = 0; k < 2; k++)
				if (off <= NET_HDR_NUM_BUFFERS + k &&
				    NET_HDR_NUM_BUFFERS + k < off + n)
					net->rx.nb[k] = dst + (NET_HDR_NUM_BUFFERS + k - off);
			memcpy(dst, src, n);
			dst += n;
			room -= n;
			written += (uint32_t)n;
			net->rx.off += n;
		}
	}
	net->rx.elems[net->rx.used++] = (struct virtq_used_elem){c->head, written};
	net->rx_have_chain = false;
}

/* Whole frame in guest buffers: set num_buffers, then return the chains (§5.1.6.4). */
static void net_rx_complete(struct virtio_net *net)
{
	struct virtq *q = net_vq(net, VIRTIO_NET_RXQ);
	uint16_t buffers = (uint16_t)net->rx.used;

	/* §5.1.6.4.1: num_buffers = chains used (1 without MRG_RXBUF), little-endian. */
	if (net->rx.nb[0] && net->rx.nb[1]) {
		*net->rx.nb[0] = (uint8_t)buffers;
		*net->rx.nb[1] = (uint8_t)(buffers >> 8);
	}
	for (unsigned int i = 0; i < net->rx.used; i++)
		virtq_push(q, (uint16_t)net->rx.elems[i].id, net->rx.elems[i].len);
	net->rx_pushed = true;
	net_count(&net->stats.rx_frames);
}

/* Moves the current frame into guest buffers, as far as there are buffers. */
static enum net_rx_result net_rx_deliver(struct virtio_net *net)
{
	size_t need = VIRTIO_NET_HDR_LEN + net->rx.len;

	if (!virtio_pci_is_live(&net->vp)) {
		/* A NIC that is down (not yet activated, reset, broken) drops what arrives. */
		net_count(&net->stats.rx_dropped);
		return NET_RX_DONE;
	}
	while (net->rx.off < need) {
		int got = net_rx_get_chain(net, need);

		if (got == 0)
			return NET_RX_WAIT;
		if (got < 0)
			return NET_RX_STOP;
		if (got == 2) {
			net_count(&net->stats.rx_dropped);
			return NET_RX_DONE;
		}
		if (net->rx.off == 0 && net->params.filter)
			egress_observe_rx(net->params.filter, net->rx.data, net->rx.len,
					  net_now_ms());
		net_rx_fill(net, need);
	}
	net_rx_complete(net);
	return NET_RX_DONE;
}

static enum net_rx_result net_rx_deliver_or_wait(struct virtio_net *net)
{
	enum net_rx_result r = net_rx_deliver(net);

	if (r != NET_RX_WAIT)
		return r;
	/* Out of buffers: make sure the guest kicks when it adds some, then look again. */
	virtq_set_notification(net_vq(net, VIRTIO_NET_RXQ), true);
	if (!virtq_has_available(net_vq(net, VIRTIO_NET_RXQ))) {
		net_count(&net->stats.rx_waits);
		return NET_RX_WAIT;
	}
	return net_rx_deliver(net);
}

/*
 * Delivers what the backend sent until the guest runs out of buffers, then
 * reads more. While a frame waits, nothing is read: the backend sees
 * backpressure until the guest kicks the receive queue.
 */
static void net_rx_pump(struct virtio_net *net)
{
	for (;;) {
		if (!net->rx.active) {
			int found = net_rx_parse_stream(net);

			if (found < 0) {
				/* The stream lost its framing: nothing after can be trusted. */
				net->rx_start = net->rx_end = 0;
				net_broken(net, "network backend protocol error");
				net_backend_gone(net,
						 "passt sent a frame length outside 14..65535");
				break;
			}
			if (found == 0)
				break;
		}
		if (net_rx_deliver_or_wait(net) != NET_RX_DONE)
			break;
		net_rx_frame_done(net);
	}
	if (net->rx_pushed) {
		net->rx_pushed = false;
		virtio_pci_notify_queue(&net->vp, VIRTIO_NET_RXQ);
	}
	net_rx_arm(net);
}

static void net_rx_done_op(struct io_loop_op *op, int res)
{
	struct virtio_net *net = op->opaque;
	bool was_poll = net->rx_polling;

	net->rx_busy = false;
	net->rx_polling = false;
	if (net->backend_dead)
		return;
	if (was_poll || res == -EINTR || res == -EAGAIN) {
		/* After POLLIN read again; a non-blocking fd without data waits for POLLIN. */
		net->rx_polling = res == -EAGAIN && !was_poll;
		net_rx_arm(net);
		return;
	}
	if (res <= 0) {
		net_backend_gone(net, res == 0 ? "the network backend closed the connection"
					       : "reading from the network backend failed");
		return;
	}
	if (net_is_stream(net))
		net->rx_end += (size_t)res;
	else
		net_rx_take_tap(net, (size_t)res);
	net_rx_pump(net);
}

/* ---- device ops ---- */

static void net_queue_notify(void *dev, unsigned int queue)
{
	struct virtio_net *net = dev;

	if (queue == VIRTIO_NET_RXQ)
		net_rx_pump(net);
	else if (queue == VIRTIO_NET_TXQ)
		net_tx_process(net);
}

/* tech-notes 6.3: the tap may hand us only what the driver accepted (GUEST_* features). */
static int net_tap_offload(struct virtio_net *net)
{
	unsigned int flags = 0;

	if (net->guest_csum) {
		flags |= TUN_F_CSUM;
		if (net->guest_tso4)
			flags |= TUN_F_TSO4;
		if (net->guest_tso6)
			flags |= TUN_F_TSO6;
	}
	net->tap_offload = flags;
	if (ioctl(net->params.fd, TUNSETOFFLOAD, flags) == 0)
		return 0;
	/* Not a tun fd (a test's socketpair): nothing to tell; net_rx_tap_header() still checks. */
	return errno == ENOTTY ? 0 : -errno;
}

static int net_activate(void *dev, struct virtio_pci *vp)
{
	struct virtio_net *net = dev;

	net->mrg_rxbuf = virtio_pci_has_feature(vp, VIRTIO_NET_F_MRG_RXBUF);
	net->guest_csum = virtio_pci_has_feature(vp, VIRTIO_NET_F_GUEST_CSUM);
	net->guest_tso4 = virtio_pci_has_feature(vp, VIRTIO_NET_F_GUEST_TSO4);
	net->guest_tso6 = virtio_pci_has_feature(vp, VIRTIO_NET_F_GUEST_TSO6);
	if (net->params.backend == VIRTIO_NET_BACKEND_TAP && net->params.vnet_hdr)
		return net_tap_offload(net);
	return 0;
}

static void net_rx_call(void *arg)
{
	struct virtio_net *net = arg;

	net->rx_call_pending = false;
	net_rx_pump(net);
}

/*
 * The rings are going away: forget the partial receive (nothing of it was
 * pushed) and the frame it was for. Frames already taken from the TX ring
 * are still written; borrowed chains are not returned to the new rings.
 * The backend keeps being read: a pump that runs once the transport
 * finished the reset drops what is buffered (the device is down until the
 * next activation) and reads on, so passt never stalls behind a guest that
 * is gone.
 */
static void net_reset(void *dev)
{
	struct virtio_net *net = dev;

	if (net->rx.active) {
		net_count(&net->stats.rx_dropped);
		net_rx_frame_done(net);
	}
	net->rx_have_chain = false;
	net->rx_pushed = false;
	net->tx_blocked = false;
	net->tx_generation++;
	if (!net->rx_call_pending) {
		net->rx_call_pending = true;
		net->rx_call = (struct io_loop_call){.fn = net_rx_call, .arg = net};
		io_loop_call(net->loop, &net->rx_call);
	}
}

/* vCPU thread, transport lock held: the config never changes after init. */
static void net_config_read(void *dev, uint32_t offset, uint8_t *data, unsigned int size)
{
	struct virtio_net *net = dev;

	if (offset + size <= sizeof(net->config))
		memcpy(data, net->config + offset, size);
}

static uint64_t net_features(const struct virtio_net_params *params)
{
	uint64_t f = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		     VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);

	/* Offloads need a tap that understands the header (tech-notes 6.1); passt has none. */
	if (params->backend == VIRTIO_NET_BACKEND_TAP && params->vnet_hdr)
		f |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);
	return f;
}

static int net_alloc(struct virtio_net *net)
{
	uint8_t *pool = malloc((size_t)VIRTIO_NET_TX_POOL * NET_TX_BUF_SIZE);

	if (!pool)
		return -ENOMEM;
	for (unsigned int i = 0; i < VIRTIO_NET_TX_POOL; i++) {
		struct virtio_net_tx_buf *b = &net->tx_bufs[i];

		b->net = net;
		b->data = pool + (size_t)i * NET_TX_BUF_SIZE;
		b->op = (struct io_loop_op){.cb = net_tx_tap_done, .opaque = b};
		net->tx_free[i] = (uint8_t)(VIRTIO_NET_TX_POOL - 1 - i);
	}
	net->tx_free_count = VIRTIO_NET_TX_POOL;
	/* A tap read needs one byte more than the largest frame to notice truncation. */
	net->rx_cap = net_is_stream(net)
			  ? NET_STREAM_BUF_SIZE
			  : (net->params.vnet_hdr ? VIRTIO_NET_HDR_LEN : 0) + VIRTIO_NET_RX_MAX + 1;
	net->rx_buf = malloc(net->rx_cap);
	return net->rx_buf ? 0 : -ENOMEM;
}

int virtio_net_init(struct virtio_net *net, const struct virtio_net_params *params,
		    const struct virtio_pci_host *host, uint64_t bar_addr)
{
	int ret;

	memset(net, 0, sizeof(*net));
	if (params->fd < 0 ||
	    (params->backend != VIRTIO_NET_BACKEND_TAP &&
	     params->backend != VIRTIO_NET_BACKEND_STREAM) ||
	    (params->backend == VIRTIO_NET_BACKEND_STREAM && params->vnet_hdr))
		return -EINVAL;
	net->params = *params;
	net->loop = host->loop;
	/* §5.1.4: mac, status (LINK_UP: the backend is connected), max_virtqueue_pairs 1. */
	memcpy(net->config, params->mac, 6);
	io_data_put(net->config + 6, 2, VIRTIO_NET_S_LINK_UP);
	io_data_put(net->config + 8, 2, 1);
	net->rx_op = (struct io_loop_op){.cb = net_rx_done_op, .opaque = net};
	net->tx_stream_op = (struct io_loop_op){.cb = net_tx_stream_done, .opaque = net};
	ret = net_alloc(net);
	if (ret)
		return ret;
	net->ops = (struct virtio_device_ops){
	    .name = "net",
	    .device_id = VIRTIO_ID_NET,
	    .pci_class = PCI_CLASS_NETWORK_ETHERNET,
	    .num_queues = 2, /* receiveq1, transmitq1 (§5.1.2); no control queue */
	    .queue_max_size = VIRTIO_NET_QUEUE_SIZE,
	    .features = net_features(params),
	    .config_size = sizeof(net->config),
	    .config_read = net_config_read,
	    .activate = net_activate,
	    .reset = net_reset,
	    .queue_notify = net_queue_notify,
	};
	ret = virtio_pci_init(&net->vp, &net->ops, net, host, bar_addr);
	if (ret)
		return ret;
	net_rx_arm(net);
	return net->backend_dead ? -EIO : 0;
}

void virtio_net_destroy(struct virtio_net *net)
{
	virtio_pci_destroy(&net->vp);
	free(net->tx_bufs[0].data);
	for (unsigned int i = 0; i < VIRTIO_NET_TX_POOL; i++)
		net->tx_bufs[i].data = NULL;
	free(net->rx_buf);
	net->rx_buf = NULL;
}
