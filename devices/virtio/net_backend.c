/* virtio-net back-ends: picking one, and the reads every back-end does the same way. */
#include "devices/virtio/net_backend.h"

#include <errno.h>
#include <poll.h>

static const struct net_backend_ops *const net_backends[] = {
    [VIRTIO_NET_BACKEND_TAP] = &net_tap_ops,
    [VIRTIO_NET_BACKEND_STREAM] = &net_stream_ops,
};

static void net_backend_read_done(struct io_loop_op *op, int res);

int net_backend_create(const struct virtio_net_params *params, struct virtio_net *net,
		       struct io_loop *loop, struct net_backend **out)
{
	const struct net_backend_ops *ops;
	struct net_backend *be = NULL;
	int ret;

	*out = NULL;
	if ((unsigned int)params->backend >= sizeof(net_backends) / sizeof(net_backends[0]) ||
	    params->fd < 0)
		return -EINVAL;
	ops = net_backends[params->backend];
	ret = ops->create(params, &be);
	if (ret)
		return ret;
	be->ops = ops;
	be->net = net;
	be->loop = loop;
	be->fd = params->fd;
	be->rx_op = (struct io_loop_op){.cb = net_backend_read_done, .opaque = be};
	*out = be;
	return 0;
}

void net_backend_destroy(struct net_backend *be)
{
	if (be)
		be->ops->destroy(be);
}

/*
 * Reads into the space the back-end offers. The device calls this only
 * when no frame waits for guest buffers (so nothing points into the space);
 * a completion re-arms only when the last read brought nothing.
 */
void net_backend_read(struct net_backend *be)
{
	uint8_t *buf;
	size_t len;
	int ret;

	if (be->rx_busy || be->dead)
		return;
	if (be->rx_polling) {
		ret = io_loop_poll(be->loop, &be->rx_op, be->fd, POLLIN);
	} else {
		be->ops->rx_space(be, &buf, &len);
		ret = io_loop_read(be->loop, &be->rx_op, be->fd, buf, len);
	}
	if (ret) {
		net_backend_gone(be->net, "cannot read from the network backend");
		return;
	}
	be->rx_busy = true;
}

static void net_backend_read_done(struct io_loop_op *op, int res)
{
	struct net_backend *be = op->opaque;
	bool was_poll = be->rx_polling;

	be->rx_busy = false;
	be->rx_polling = false;
	if (be->dead)
		return;
	if (was_poll || res == -EINTR || res == -EAGAIN) {
		/* After POLLIN read again; a non-blocking fd without data waits for POLLIN. */
		be->rx_polling = res == -EAGAIN && !was_poll;
		net_backend_read(be);
		return;
	}
	if (res <= 0) {
		net_backend_gone(be->net, res == 0 ? "the network backend closed the connection"
						   : "reading from the network backend failed");
		return;
	}
	be->ops->rx_received(be, (size_t)res);
	net_rx_pump(be->net);
}
