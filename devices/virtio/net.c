/* virtio-net (virtio 1.2 §5.1): one rx/tx queue pair; the frames' framing and I/O are the
 * back-end's (net_backend.h: a tap or passt's stream socket). */
#include "devices/virtio/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/io.h"
#include "devices/virtio/net_backend.h"
#include "devices/virtio/net_tx_hdr.h"
#include "devices/virtio/virtio.h"

#define PCI_CLASS_NETWORK_ETHERNET 0x020000
/* net_broken(): the reason is not a queue's (the back-end broke its protocol). */
#define NET_NO_QUEUE VIRTIO_PCI_NO_QUEUE

/* How far net_rx_deliver() got with the current frame. */
enum net_deliver { NET_DELIVER_DONE, NET_DELIVER_WAIT, NET_DELIVER_STOP };

static void net_tx_process(struct virtio_net *net);

static struct virtq *net_vq(struct virtio_net *net, unsigned int queue)
{
	return virtio_pci_vq(&net->vp, queue);
}

static void net_count(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static void net_count_bytes(uint64_t *counter, size_t bytes)
{
	__atomic_fetch_add(counter, (uint64_t)bytes, __ATOMIC_RELAXED);
}

static uint64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Every path to a broken device: stop and set DEVICE_NEEDS_RESET (§2.1.2).
 * `queue` is the queue whose ring or chain was bad (a bad ring's virtq
 * also records why), or NET_NO_QUEUE.
 */
static void net_broken(struct virtio_net *net, unsigned int queue, const char *why)
{
	net->error = why;
	virtio_pci_set_broken(&net->vp, queue, why);
}

void net_backend_gone(struct virtio_net *net, const char *why)
{
	net->be->dead = true;
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

void net_tx_done(struct virtio_net *net, struct virtio_net_tx_buf *b, bool sent)
{
	net_count(sent ? &net->stats.tx_frames : &net->stats.tx_dropped);
	net_tx_put(net, b);
}

/* Frames go to the backend in the order the guest queued them. */
static void net_tx_queue(struct virtio_net *net, struct virtio_net_tx_buf *b)
{
	net->tx_ready[(net->tx_ready_head + net->tx_ready_count) % VIRTIO_NET_TX_POOL] =
	    (uint8_t)(b - net->tx_bufs);
	net->tx_ready_count++;
}

struct virtio_net_tx_buf *net_tx_pop_ready(struct virtio_net *net)
{
	unsigned int idx;

	if (!net->tx_ready_count)
		return NULL;
	idx = net->tx_ready[net->tx_ready_head];
	net->tx_ready_head = (net->tx_ready_head + 1) % VIRTIO_NET_TX_POOL;
	net->tx_ready_count--;
	return &net->tx_bufs[idx];
}

void net_tx_resume(struct virtio_net *net)
{
	if (net->tx_blocked && net->tx_free_count) {
		net->tx_blocked = false;
		net_tx_process(net);
	}
}

/*
 * A back-end that can (a tap with a vnet header) reads a large frame
 * straight from the guest's buffers when there is no egress filter: nothing
 * of it is checked, so there is no need for a private copy. The guest gets
 * that chain back when the write completes. passt gets copies (its length
 * prefix is ours), and a filter must check a copy the guest can no longer
 * change.
 *
 * Small frames are copied anyway. Most are the ACKs of a stream the guest
 * receives; a borrowed one would come back to the guest on its own write
 * completion, each with its own used-ring update and interrupt, while the
 * copies of one pass go back together (net_tx_process). In the level-1
 * host that took a quarter of the guest's exits and interrupts away while
 * it received a stream (docs/benchmarks.md, tap).
 */
static bool net_tx_direct(const struct virtio_net *net, size_t frame_len)
{
	return net->be->tx_borrow && !net->filter && frame_len > VIRTIO_NET_TX_COPY_MAX;
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

unsigned int net_tx_index(const struct virtio_net *net, const struct virtio_net_tx_buf *b)
{
	return (unsigned int)(b - net->tx_bufs);
}

struct virtio_net_tx_buf *net_tx_buf(struct virtio_net *net, unsigned int i)
{
	return &net->tx_bufs[i];
}

/*
 * The filter reads the private copy; a back-end that hands the kernel our
 * header (a vnet_hdr tap) must also carry only a header that cannot change
 * what the filter read (net_tx_hdr.h).
 */
static bool net_tx_filter_passes(struct virtio_net *net, struct virtio_net_tx_buf *b,
				 size_t frame_len)
{
	if ((net->be->features & NET_OFFLOAD_FEATURES) &&
	    !net_tx_hdr_safe(b->data + NET_TX_HDR, b->data + NET_TX_FRAME, frame_len))
		return false;
	return egress_check_tx(net->filter, b->data + NET_TX_FRAME, frame_len, net_now_ms()) !=
	       EGRESS_DROP;
}

/* Takes one transmit chain: copy, check, queue for the backend. False when the device broke. */
static bool net_tx_take(struct virtio_net *net, const struct virtq_chain *c)
{
	struct virtq *q = net_vq(net, VIRTIO_NET_TXQ);
	uint64_t total = c->readable_len;

	/* GUEST: §5.1.6.2: transmit buffers are device-readable only; a writable one is a bug. */
	if (c->writable) {
		net_broken(net, VIRTIO_NET_TXQ, "device-writable buffer in a transmit chain");
		return false;
	}
	/* GUEST: the length is the validated chain total, read once; both bounds are checked. */
	if (total < VIRTIO_NET_HDR_LEN + VIRTIO_NET_ETH_MIN ||
	    total > VIRTIO_NET_HDR_LEN + VIRTIO_NET_TX_MAX || net->be->dead) {
		net_count(&net->stats.tx_dropped);
		virtq_push(q, c->head, 0);
		return true;
	}
	struct virtio_net_tx_buf *b = net_tx_get(net);
	size_t frame_len = (size_t)total - VIRTIO_NET_HDR_LEN;

	if (net_tx_direct(net, frame_len)) {
		net_tx_borrow(net, b, c);
		net_count_bytes(&net->stats.tx_bytes, frame_len);
		net_tx_queue(net, b);
		return true;
	}
	/* GUEST: header and frame copied once; the total was checked to fit the buffer. */
	virtq_chain_copy_from(c, 0, b->data + NET_TX_HDR, (size_t)total);
	/* The copy is ours: the guest gets its buffer back at once (nothing written, len 0). */
	virtq_push(q, c->head, 0);
	if (net->filter && !net_tx_filter_passes(net, b, frame_len)) {
		/* Dropped frames count as sent: the guest sees a lossy network, nothing more. */
		net_count(&net->stats.tx_filtered);
		net_tx_put(net, b);
		return true;
	}
	net->be->ops->tx_frame(net->be, b, frame_len);
	net_count_bytes(&net->stats.tx_bytes, frame_len);
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
		net_broken(net, VIRTIO_NET_TXQ, net_vq(net, VIRTIO_NET_TXQ)->error);
		return;
	}
	if (pushed)
		virtio_pci_notify_queue(&net->vp, VIRTIO_NET_TXQ);
	/* Tap: every ready frame now; passt: one gathered write at a time. */
	net->be->ops->tx_flush(net->be);
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

/* Asks the backend for the next frame; false when there is none (or the stream broke). */
static bool net_rx_next(struct virtio_net *net)
{
	struct net_backend *be = net->be;
	enum net_rx_next r;

	while ((r = be->ops->rx_next(be, &net->rx.frame)) == NET_RX_DROP)
		net_count(&net->stats.rx_dropped);
	if (r == NET_RX_LOST) {
		/* Nothing after can be trusted: the guest and the VMM hear of it. */
		net_broken(net, NET_NO_QUEUE, "network backend protocol error");
		net_backend_gone(net, net->rx.frame.error);
	}
	net->rx.active = r == NET_RX_FRAME;
	return net->rx.active;
}

/* The current frame is delivered or dropped: the backend may reuse its bytes. */
static void net_rx_frame_done(struct virtio_net *net)
{
	net->be->ops->rx_consumed(net->be, &net->rx.frame);
	net->rx.active = false;
	net->rx.off = 0;
	net->rx.used = 0;
}

/* Where the next chain of the current packet goes: its first chain stays for num_buffers. */
static struct virtq_chain *net_rx_chain(struct virtio_net *net)
{
	return &net->rx_chains[net->rx.used ? 1 : 0];
}

/* GUEST: checks a popped receive chain's shape (§5.1.6.3). False: the device broke. */
static bool net_rx_check_chain(struct virtio_net *net, const struct virtq_chain *c)
{
	/* §5.1.6.3: receive buffers are device-writable only. */
	if (c->readable) {
		net_broken(net, VIRTIO_NET_RXQ, "device-readable buffer in a receive chain");
		return false;
	}
	/*
	 * §5.1.6.3.1: with MRG_RXBUF every buffer holds at least the header.
	 * So the header, num_buffers included, always lies in a packet's first
	 * chain (without MRG_RXBUF that chain holds the whole packet).
	 */
	if (net->mrg_rxbuf && c->writable_len < VIRTIO_NET_HDR_LEN) {
		net_broken(net, VIRTIO_NET_RXQ, "merged receive buffer smaller than the header");
		return false;
	}
	return true;
}

/*
 * Makes sure a receive chain is at hand. 1: use it; 0: the ring is empty;
 * -1: the device broke; 2: without MRG_RXBUF the frame does not fit it
 * (the frame is dropped, the chain kept for the next one).
 */
static int net_rx_get_chain(struct virtio_net *net, size_t need)
{
	struct virtq_chain *c = net_rx_chain(net);

	if (!net->rx_have_chain) {
		if (net->rx.used == VIRTIO_NET_QUEUE_SIZE) {
			/* More chains than a ring can hold at once: the guest reuses heads. */
			net_broken(net, VIRTIO_NET_RXQ, "receive buffers offered twice");
			return -1;
		}
		int got = virtq_pop(net_vq(net, VIRTIO_NET_RXQ), c);

		if (got <= 0) {
			if (got < 0)
				net_broken(net, VIRTIO_NET_RXQ, net_vq(net, VIRTIO_NET_RXQ)->error);
			return got;
		}
		if (!net_rx_check_chain(net, c))
			return -1;
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
	struct virtq_chain *c = net_rx_chain(net);
	size_t written = 0;

	if (net->rx.off < VIRTIO_NET_HDR_LEN) {
		written = virtq_chain_copy_to(c, 0, net->rx.frame.hdr + net->rx.off,
					      VIRTIO_NET_HDR_LEN - net->rx.off);
		net->rx.off += written;
	}
	if (net->rx.off >= VIRTIO_NET_HDR_LEN) {
		size_t n = virtq_chain_copy_to(
		    c, written, net->rx.frame.data + (net->rx.off - VIRTIO_NET_HDR_LEN),
		    need - net->rx.off);

		written += n;
		net->rx.off += n;
	}
	net->rx.elems[net->rx.used++] = (struct virtq_used_elem){c->head, (uint32_t)written};
	net->rx_have_chain = false;
}

/* Whole frame in guest buffers: set num_buffers, then return the chains (§5.1.6.4). */
static void net_rx_complete(struct virtio_net *net)
{
	struct virtq *q = net_vq(net, VIRTIO_NET_RXQ);
	uint8_t buffers[2];

	/*
	 * §5.1.6.4.1: num_buffers = chains used (1 without MRG_RXBUF),
	 * little-endian, known only now; it lies in the first chain.
	 */
	le_put(buffers, sizeof(buffers), net->rx.used);
	virtq_chain_copy_to(&net->rx_chains[0], NET_HDR_NUM_BUFFERS, buffers, sizeof(buffers));
	for (unsigned int i = 0; i < net->rx.used; i++)
		virtq_push(q, (uint16_t)net->rx.elems[i].id, net->rx.elems[i].len);
	net->rx_pushed = true;
	net_count(&net->stats.rx_frames);
	net_count_bytes(&net->stats.rx_bytes, net->rx.frame.len);
}

/* Moves the current frame into guest buffers, as far as there are buffers. */
static enum net_deliver net_rx_deliver(struct virtio_net *net)
{
	size_t need = VIRTIO_NET_HDR_LEN + net->rx.frame.len;

	if (!virtio_pci_is_live(&net->vp)) {
		/* A NIC that is down (not yet activated, reset, broken) drops what arrives. */
		net_count(&net->stats.rx_dropped);
		return NET_DELIVER_DONE;
	}
	while (net->rx.off < need) {
		int got = net_rx_get_chain(net, need);

		if (got == 0)
			return NET_DELIVER_WAIT;
		if (got < 0)
			return NET_DELIVER_STOP;
		if (got == 2) {
			net_count(&net->stats.rx_dropped);
			return NET_DELIVER_DONE;
		}
		if (net->rx.off == 0 && net->filter)
			egress_observe_rx(net->filter, net->rx.frame.data, net->rx.frame.len,
					  net_now_ms());
		net_rx_fill(net, need);
	}
	net_rx_complete(net);
	return NET_DELIVER_DONE;
}

static enum net_deliver net_rx_deliver_or_wait(struct virtio_net *net)
{
	enum net_deliver r = net_rx_deliver(net);

	if (r != NET_DELIVER_WAIT)
		return r;
	/* Out of buffers: make sure the guest kicks when it adds some, then look again. */
	virtq_set_notification(net_vq(net, VIRTIO_NET_RXQ), true);
	if (!virtq_has_available(net_vq(net, VIRTIO_NET_RXQ))) {
		net_count(&net->stats.rx_waits);
		return NET_DELIVER_WAIT;
	}
	return net_rx_deliver(net);
}

/*
 * Delivers what the backend sent until the guest runs out of buffers, then
 * reads more. While a frame waits, nothing is read: the backend sees
 * backpressure until the guest kicks the receive queue.
 */
void net_rx_pump(struct virtio_net *net)
{
	for (;;) {
		if (!net->rx.active && !net_rx_next(net))
			break;
		if (net_rx_deliver_or_wait(net) != NET_DELIVER_DONE)
			break;
		net_rx_frame_done(net);
	}
	if (net->rx_pushed) {
		net->rx_pushed = false;
		virtio_pci_notify_queue(&net->vp, VIRTIO_NET_RXQ);
	}
	/* A waiting frame points into the backend's buffer: no read may move it. */
	if (!net->rx.active)
		net_backend_read(net->be);
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

static int net_activate(void *dev, struct virtio_pci *vp)
{
	struct virtio_net *net = dev;
	struct net_offload accepted = {
	    .csum = virtio_pci_has_feature(vp, VIRTIO_NET_F_GUEST_CSUM),
	    .tso4 = virtio_pci_has_feature(vp, VIRTIO_NET_F_GUEST_TSO4),
	    .tso6 = virtio_pci_has_feature(vp, VIRTIO_NET_F_GUEST_TSO6),
	};

	net->mrg_rxbuf = virtio_pci_has_feature(vp, VIRTIO_NET_F_MRG_RXBUF);
	/* tech-notes 6.3: a tap hands the guest only offloads the driver accepted. */
	if (net->be->ops->set_offload)
		return net->be->ops->set_offload(net->be, &accepted);
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

/*
 * Every feature virtio-net may offer; virtio_net_init() takes away the
 * offloads its backend cannot carry (only a tap with a vnet header has
 * them, tech-notes 6.1), so the table is the same for every instance.
 */
static const struct virtio_device_ops net_ops = {
    .name = "net",
    .device_id = VIRTIO_ID_NET,
    .pci_class = PCI_CLASS_NETWORK_ETHERNET,
    .num_queues = 2, /* receiveq1, transmitq1 (§5.1.2); no control queue */
    .queue_max_size = VIRTIO_NET_QUEUE_SIZE,
    .features = VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | NET_OFFLOAD_FEATURES,
    .config_size = sizeof(((struct virtio_net *)0)->config),
    .config_read = net_config_read,
    .activate = net_activate,
    .reset = net_reset,
    .queue_notify = net_queue_notify,
};

static int net_alloc_tx(struct virtio_net *net)
{
	uint8_t *pool = malloc((size_t)VIRTIO_NET_TX_POOL * NET_TX_BUF_SIZE);

	if (!pool)
		return -ENOMEM;
	for (unsigned int i = 0; i < VIRTIO_NET_TX_POOL; i++) {
		net->tx_bufs[i].data = pool + (size_t)i * NET_TX_BUF_SIZE;
		net->tx_free[i] = (uint8_t)(VIRTIO_NET_TX_POOL - 1 - i);
	}
	net->tx_free_count = VIRTIO_NET_TX_POOL;
	return 0;
}

int virtio_net_init(struct virtio_net *net, const struct virtio_net_params *params,
		    const struct virtio_pci_host *host, uint64_t bar_addr)
{
	int ret;

	memset(net, 0, sizeof(*net));
	net->loop = host->loop;
	net->filter = params->filter;
	/* §5.1.4: mac, status (LINK_UP: the backend is connected), max_virtqueue_pairs 1. */
	memcpy(net->config, params->mac, 6);
	le_put(net->config + 6, 2, VIRTIO_NET_S_LINK_UP);
	le_put(net->config + 8, 2, 1);
	ret = net_backend_create(params, net, host->loop, &net->be);
	if (ret)
		return ret;
	ret = net_alloc_tx(net);
	if (ret)
		return ret;
	ret = virtio_pci_init(&net->vp, &net_ops, net, host, bar_addr);
	if (ret)
		return ret;
	virtio_pci_limit_features(&net->vp, ~(NET_OFFLOAD_FEATURES & ~net->be->features));
	net_backend_read(net->be);
	return net->be->dead ? -EIO : 0;
}

void virtio_net_destroy(struct virtio_net *net)
{
	virtio_pci_destroy(&net->vp);
	free(net->tx_bufs[0].data);
	for (unsigned int i = 0; i < VIRTIO_NET_TX_POOL; i++)
		net->tx_bufs[i].data = NULL;
	net_backend_destroy(net->be);
	net->be = NULL;
}
