/* virtio-net's passt back-end: [be32 length][frame]... on a stream socket, no virtio-net header
 * (passt's tap.c; tech-notes 6.4). */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "devices/virtio/net_backend.h"

/* Reassembly: one whole [len][frame] plus room for a large read behind it. */
#define NET_STREAM_BUF_SIZE (NET_STREAM_PREFIX + VIRTIO_NET_TX_MAX + 65536)

struct net_stream {
	struct net_backend be;
	/* RX: bytes [rx_start, rx_end) of rx_buf are read and not yet delivered. */
	uint8_t *rx_buf;
	size_t rx_start, rx_end;
	/* TX: the frames of the write in flight, oldest first; the first may be partly written. */
	struct virtio_net_tx_buf *batch[VIRTIO_NET_TX_POOL];
	unsigned int batch_count;
	size_t batch_off; /* bytes of batch[0] already written */
	struct iovec batch_iov[VIRTIO_NET_TX_POOL];
	struct io_loop_op tx_op;
	bool tx_busy;	 /* tx_op in flight: nothing else is written, so the framing holds */
	bool tx_polling; /* tx_op is a POLLOUT wait, not a write */
};

static struct net_stream *net_stream(struct net_backend *be)
{
	return (struct net_stream *)((char *)be - offsetof(struct net_stream, be));
}

static void net_stream_write_done(struct io_loop_op *op, int res);

static int net_stream_create(const struct virtio_net_params *params, struct net_backend **out)
{
	struct net_stream *s;

	/* passt has no virtio-net header, so no offloads (tech-notes 6.4). */
	if (params->vnet_hdr)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rx_buf = malloc(NET_STREAM_BUF_SIZE);
	if (!s->rx_buf) {
		free(s);
		return -ENOMEM;
	}
	s->tx_op = (struct io_loop_op){.cb = net_stream_write_done, .opaque = s};
	*out = &s->be;
	return 0;
}

static void net_stream_destroy(struct net_backend *be)
{
	struct net_stream *s = net_stream(be);

	free(s->rx_buf);
	free(s);
}

/* ---- RX ---- */

static void net_stream_rx_space(struct net_backend *be, uint8_t **buf, size_t *len)
{
	struct net_stream *s = net_stream(be);

	/* Nothing refers into the buffer now: move the partial frame to the front. */
	memmove(s->rx_buf, s->rx_buf + s->rx_start, s->rx_end - s->rx_start);
	s->rx_end -= s->rx_start;
	s->rx_start = 0;
	*buf = s->rx_buf + s->rx_end;
	*len = NET_STREAM_BUF_SIZE - s->rx_end;
}

static void net_stream_rx_received(struct net_backend *be, size_t n)
{
	net_stream(be)->rx_end += n;
}

/* The next [be32 len][frame]; the prefix and the frame may arrive in any number of reads. */
static enum net_rx_next net_stream_rx_next(struct net_backend *be, struct virtio_net_rx_frame *f)
{
	struct net_stream *s = net_stream(be);
	const uint8_t *p = s->rx_buf + s->rx_start;
	size_t have = s->rx_end - s->rx_start;

	if (have < NET_STREAM_PREFIX)
		return NET_RX_MORE;
	size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];

	/* Backend data, checked like guest data: passt never sends < 14 or > 65535 (tap.c). */
	if (len < VIRTIO_NET_ETH_MIN || len > VIRTIO_NET_TX_MAX) {
		s->rx_start = s->rx_end = 0;
		f->error = "passt sent a frame length outside 14..65535";
		return NET_RX_LOST;
	}
	if (have < NET_STREAM_PREFIX + len)
		return NET_RX_MORE;
	memset(f->hdr, 0, sizeof(f->hdr));
	f->data = p + NET_STREAM_PREFIX;
	f->len = len;
	return NET_RX_FRAME;
}

static void net_stream_rx_consumed(struct net_backend *be, const struct virtio_net_rx_frame *f)
{
	net_stream(be)->rx_start += NET_STREAM_PREFIX + f->len;
}

/* ---- TX ---- */

static void net_stream_tx_frame(struct net_backend *be, struct virtio_net_tx_buf *b,
				size_t frame_len)
{
	/* The be32 length goes over the header's last 4 bytes, right before the frame. */
	uint8_t *p = b->data + NET_TX_FRAME - NET_STREAM_PREFIX;

	(void)be;
	p[0] = (uint8_t)(frame_len >> 24);
	p[1] = (uint8_t)(frame_len >> 16);
	p[2] = (uint8_t)(frame_len >> 8);
	p[3] = (uint8_t)frame_len;
	b->start = NET_TX_FRAME - NET_STREAM_PREFIX;
	b->end = NET_TX_FRAME + frame_len;
}

static void net_stream_drop_all(struct net_stream *s)
{
	for (unsigned int i = 0; i < s->batch_count; i++)
		net_tx_done(s->be.net, s->batch[i], false);
	s->batch_count = 0;
	s->batch_off = 0;
}

/*
 * Everything ready goes out in one gathered write, oldest first, behind
 * what is left of the last one. Nothing else is written while a write is in
 * flight, so a short write never lets another frame in between (the stream
 * would lose its framing).
 */
static void net_stream_submit(struct net_stream *s)
{
	struct net_backend *be = &s->be;
	struct virtio_net_tx_buf *b;

	while ((b = net_tx_pop_ready(be->net)))
		s->batch[s->batch_count++] = b;
	if (!s->batch_count)
		return;
	if (!be->dead) {
		for (unsigned int i = 0; i < s->batch_count; i++) {
			size_t skip = s->batch[i]->start + (i == 0 ? s->batch_off : 0);

			s->batch_iov[i] =
			    (struct iovec){s->batch[i]->data + skip, s->batch[i]->end - skip};
		}
		if (io_loop_writev(be->loop, &s->tx_op, be->fd, s->batch_iov, s->batch_count) ==
		    0) {
			s->tx_busy = true;
			return;
		}
		/* Half a frame sent and no way to finish it: passt would lose the framing. */
		if (s->batch_off > 0)
			net_backend_gone(be->net, "cannot continue a write to passt");
	}
	net_stream_drop_all(s);
}

/* n bytes of the batch were written: whole frames are done, a partial one stays first. */
static void net_stream_consume(struct net_stream *s, size_t n)
{
	unsigned int done = 0;
	size_t off = s->batch_off;

	for (; done < s->batch_count; done++) {
		struct virtio_net_tx_buf *b = s->batch[done];
		size_t rest = b->end - b->start - off;

		if (n < rest) {
			off += n;
			break;
		}
		n -= rest;
		off = 0;
		net_tx_done(s->be.net, b, true);
	}
	s->batch_off = off;
	s->batch_count -= done;
	memmove(s->batch, s->batch + done, s->batch_count * sizeof(s->batch[0]));
}

static void net_stream_write_done(struct io_loop_op *op, int res)
{
	struct net_stream *s = op->opaque;
	struct net_backend *be = &s->be;
	bool was_poll = s->tx_polling;

	s->tx_busy = false;
	s->tx_polling = false;
	if (!was_poll && res == -EAGAIN && !be->dead &&
	    io_loop_poll(be->loop, &s->tx_op, be->fd, POLLOUT) == 0) {
		/* A non-blocking socket with a full buffer: wait for room, keep the rest. */
		s->tx_polling = true;
		s->tx_busy = true;
		return;
	}
	if (!was_poll && res != -EINTR) {
		if (res <= 0) {
			net_backend_gone(be->net, "writing to passt failed");
			net_stream_drop_all(s);
		} else {
			net_stream_consume(s, (size_t)res);
		}
	}
	net_stream_submit(s);
	net_tx_resume(be->net);
}

/* One gathered write at a time: the next starts when this one is done. */
static void net_stream_tx_flush(struct net_backend *be)
{
	struct net_stream *s = net_stream(be);

	if (!s->tx_busy)
		net_stream_submit(s);
}

const struct net_backend_ops net_stream_ops = {
    .name = "stream",
    .create = net_stream_create,
    .destroy = net_stream_destroy,
    .rx_space = net_stream_rx_space,
    .rx_received = net_stream_rx_received,
    .rx_next = net_stream_rx_next,
    .rx_consumed = net_stream_rx_consumed,
    .tx_frame = net_stream_tx_frame,
    .tx_flush = net_stream_tx_flush,
};
