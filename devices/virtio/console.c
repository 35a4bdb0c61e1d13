/* virtio-console with multiple ports (virtio 1.2 §5.3): the terminal, the control channel and the
 * command's stdio. */
#include "devices/virtio/console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"

#define VIRTIO_CONSOLE_F_SIZE	      0
#define VIRTIO_CONSOLE_F_MULTIPORT    1
#define PCI_CLASS_COMMUNICATION_OTHER 0x078000
#define CONSOLE_QUEUE_SIZE	      256
/*
 * Linux fills every receive queue with one page per entry as soon as the
 * port (or the control channel) appears, whether or not input ever comes
 * (virtio_console.c fill_queue). Five ports and the control channel at 256
 * entries held 6 MiB of guest memory; 32 pages still keep 128 KiB of input
 * in flight per port.
 */
#define CONSOLE_RX_QUEUE_SIZE 32

/* Control message events (§5.3.6.2). */
#define CTRL_DEVICE_READY 0
#define CTRL_PORT_ADD	  1
#define CTRL_PORT_READY	  3
#define CTRL_CONSOLE_PORT 4
#define CTRL_RESIZE	  5
#define CTRL_PORT_OPEN	  6
#define CTRL_PORT_NAME	  7

#define CTRL_RX_QUEUE	     2
#define CTRL_TX_QUEUE	     3
#define CTRL_HEADER_SIZE     8
#define TERMINAL_ESCAPE_BYTE 0x1d /* Ctrl-] */

/* §5.3.4: struct virtio_console_config. */
struct console_config {
	uint16_t cols, rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));
_Static_assert(sizeof(struct console_config) == 12, "virtio_console_config is 12 bytes");

static void console_port_pump_in(struct console_port *port);

static unsigned int console_rx_queue(unsigned int port)
{
	return port == 0 ? 0 : 2 * (port + 1);
}

static struct virtq *console_vq(struct virtio_console *con, unsigned int queue)
{
	return virtio_pci_vq(&con->vp, queue);
}

static void console_broken(struct virtio_console *con, unsigned int queue, const char *why)
{
	virtio_pci_set_broken(&con->vp, queue, why);
}

/* A host-side message the guest will not see; loop thread, through the VMM's limited log. */
static void console_log(struct virtio_console *con, const char *line)
{
	if (con->vp.host.log)
		con->vp.host.log(con->vp.host.ctx, line);
}

/* ---- control queue ---- */

static void console_ctrl_flush(struct virtio_console *con)
{
	struct virtq *q = console_vq(con, CTRL_RX_QUEUE);
	struct virtq_chain chain;
	bool pushed = false;

	while (con->ctrl_count && virtio_pci_is_live(&con->vp)) {
		int got = virtq_pop(q, &chain);

		if (got < 0) {
			console_broken(con, CTRL_RX_QUEUE, q->error);
			return;
		}
		if (got == 0)
			break;
		struct console_ctrl_msg *m = &con->ctrl[con->ctrl_head];
		/* GUEST: writable iovs were bounds-checked by virtq_pop; we only write into them.
		 */
		size_t copied = virtq_chain_copy_to(&chain, 0, m->data, m->len);

		virtq_push(q, chain.head, (uint32_t)copied);
		pushed = true;
		con->ctrl_head = (con->ctrl_head + 1) % CONSOLE_CTRL_PENDING;
		con->ctrl_count--;
	}
	if (pushed)
		virtio_pci_notify_queue(&con->vp, CTRL_RX_QUEUE);
}

static void console_ctrl_send(struct virtio_console *con, unsigned int id, uint16_t event,
			      uint16_t value, const void *extra, size_t extra_len)
{
	if (con->ctrl_count == CONSOLE_CTRL_PENDING ||
	    extra_len > CONSOLE_CTRL_MSG_MAX - CTRL_HEADER_SIZE) {
		console_broken(con, CTRL_RX_QUEUE, "control messages are not being consumed");
		return;
	}
	struct console_ctrl_msg *m =
	    &con->ctrl[(con->ctrl_head + con->ctrl_count) % CONSOLE_CTRL_PENDING];

	/* struct virtio_console_control { le32 id; le16 event; le16 value; } (§5.3.6.2) */
	le_put(m->data, 4, id);
	le_put(m->data + 4, 2, event);
	le_put(m->data + 6, 2, value);
	if (extra_len)
		memcpy(m->data + CTRL_HEADER_SIZE, extra, extra_len);
	m->len = CTRL_HEADER_SIZE + extra_len;
	con->ctrl_count++;
	console_ctrl_flush(con);
}

static void console_send_size(struct virtio_console *con)
{
	uint8_t size[4];

	if (!con->size_known || !con->ports[0].guest_ready)
		return;
	/*
	 * §5.3.6.2: struct virtio_console_resize { le16 cols; le16 rows; }.
	 * Linux read it the other way round until its 2025 fix ("fix order of
	 * fields cols and rows"), which stable kernels carry: follow the spec.
	 */
	le_put(size, 2, con->cols);
	le_put(size + 2, 2, con->rows);
	console_ctrl_send(con, 0, CTRL_RESIZE, 0, size, sizeof(size));
}

static void console_port_ready(struct virtio_console *con, struct console_port *port)
{
	port->guest_ready = true;
	if (port->id == 0) {
		console_ctrl_send(con, 0, CTRL_CONSOLE_PORT, 1, NULL, 0);
		console_send_size(con);
	}
	if (port->cfg.name)
		console_ctrl_send(con, port->id, CTRL_PORT_NAME, 0, port->cfg.name,
				  strlen(port->cfg.name));
	/* The host side is connected from the start; end of input disconnects it. */
	console_ctrl_send(con, port->id, CTRL_PORT_OPEN, 1, NULL, 0);
	console_port_pump_in(port);
	if (con->on_port_ready)
		con->on_port_ready(con->escape_ctx, port->id);
}

static void console_ctrl_handle(struct virtio_console *con, const uint8_t *msg)
{
	uint32_t id = (uint32_t)le_get(msg, 4);
	uint16_t event = (uint16_t)le_get(msg + 4, 2);
	uint16_t value = (uint16_t)le_get(msg + 6, 2);

	/* GUEST: id is checked against port_count before use. */
	switch (event) {
	case CTRL_DEVICE_READY:
		if (value != 1)
			return;
		for (unsigned int p = 0; p < con->port_count; p++)
			console_ctrl_send(con, p, CTRL_PORT_ADD, 0, NULL, 0);
		return;
	case CTRL_PORT_READY:
		if (id < con->port_count && value == 1 && !con->ports[id].guest_ready)
			console_port_ready(con, &con->ports[id]);
		return;
	case CTRL_PORT_OPEN:
		if (id >= con->port_count)
			return;
		con->ports[id].guest_open = value;
		if (value)
			console_port_pump_in(&con->ports[id]);
		return;
	default:
		return; /* other events are device-to-driver only */
	}
}

static void console_ctrl_tx(struct virtio_console *con)
{
	struct virtq *q = console_vq(con, CTRL_TX_QUEUE);
	struct virtq_chain chain;
	int got = 0;

	while (virtio_pci_is_live(&con->vp) && (got = virtq_pop(q, &chain)) > 0) {
		uint8_t msg[CTRL_HEADER_SIZE];
		/* GUEST: copy the header out before looking at it; short messages are ignored. */
		size_t copied = virtq_chain_copy_from(&chain, 0, msg, sizeof(msg));

		virtq_push(q, chain.head, 0);
		if (copied == sizeof(msg))
			console_ctrl_handle(con, msg);
	}
	if (got < 0)
		console_broken(con, CTRL_TX_QUEUE, q->error);
	virtio_pci_notify_queue(&con->vp, CTRL_TX_QUEUE);
}

/* ---- guest -> host ---- */

static void console_port_tx(struct console_port *port);

/* Whether a writer's backlog has passed `limit` bytes (a dead or absent one never has). */
static bool console_writer_over(const struct io_writer *w, size_t limit)
{
	return w && w->fd >= 0 && !w->dead && io_writer_backlog(w) >= limit;
}

/* Whether a writer is alive and behind: the guest waits until it catches up. */
static bool console_writer_full(const struct io_writer *w)
{
	return console_writer_over(w, CONSOLE_OUT_BACKLOG);
}

/* Appends bytes already copied out of the guest to the port's transcript. */
static void console_port_log(struct console_port *port, const void *data, size_t len)
{
	void *at = port->log ? io_writer_extend(port->log, len) : NULL;

	if (at)
		memcpy(at, data, len);
}

/* Copies one chain to the port's sinks, once. Returns false if the guest misbehaved. */
static bool console_port_take(struct console_port *port, const struct virtq_chain *c)
{
	size_t len = (size_t)c->readable_len;

	if (c->readable_len > CONSOLE_CHAIN_MAX)
		return false;
	__atomic_fetch_add(&port->bytes_to_host, (uint64_t)len, __ATOMIC_RELAXED);
	/* GUEST: iov bounds were checked by virtq_pop; the bytes are copied out once here. */
	if (port->cfg.on_output) {
		uint8_t copy[4096];

		for (size_t done = 0; done < len;) {
			size_t n = virtq_chain_copy_from(c, done, copy, sizeof(copy));

			if (n == 0)
				break; /* cannot happen: readable_len is the chain's own total */
			console_port_log(port, copy, n);
			port->cfg.on_output(port->cfg.ctx, copy, n);
			done += n;
		}
		return true;
	}
	uint8_t *at = port->cfg.out_fd >= 0 ? io_writer_extend(&port->out, len) : NULL;

	if (at) {
		virtq_chain_copy_from(c, 0, at, len);
		console_port_log(port, at, len);
	} else if (port->log) {
		at = io_writer_extend(port->log, len);
		if (at)
			virtq_chain_copy_from(c, 0, at, len);
	}
	return true;
}

/* Starts the writes of what the port has taken. */
static void console_port_write(struct console_port *port)
{
	io_writer_flush(&port->out);
	if (port->log)
		io_writer_flush(port->log);
}

/*
 * Whether the port may take another transmit chain. Normally while the
 * backlog has room; before a reset (`draining`) the rings are about to be
 * discarded, so it takes what the guest queued, but at most one ring's
 * worth of chains and CONSOLE_DRAIN_BACKLOG bytes: another vCPU can
 * re-offer the same descriptor as fast as we return it, and once grew the
 * backlog to 128 MiB while the resetting vCPU waited.
 */
static bool console_port_may_take(const struct console_port *port, bool draining,
				  unsigned int taken, uint16_t ring_size)
{
	if (!draining)
		return !console_writer_full(&port->out) && !console_writer_full(port->log);
	return taken < ring_size && !console_writer_over(&port->out, CONSOLE_DRAIN_BACKLOG) &&
	       !console_writer_over(port->log, CONSOLE_DRAIN_BACKLOG);
}

/* Takes transmit chains while console_port_may_take() allows; returns how many. */
static unsigned int console_port_tx_take(struct console_port *port, bool draining)
{
	struct virtio_console *con = port->con;
	unsigned int queue = console_rx_queue(port->id) + 1;
	struct virtq *q = console_vq(con, queue);
	struct virtq_chain chain;
	unsigned int taken = 0;

	while (virtio_pci_is_live(&con->vp) &&
	       console_port_may_take(port, draining, taken, q->size)) {
		int got = virtq_pop(q, &chain);

		if (got <= 0) {
			if (got < 0)
				console_broken(con, queue, q->error);
			break;
		}
		bool fine = console_port_take(port, &chain);

		/* Transmit buffers are device-readable only: nothing written back (§5.3.6.1). */
		virtq_push(q, chain.head, 0);
		taken++;
		if (!fine) {
			console_broken(con, queue, "transmit buffer larger than 1 MiB");
			break;
		}
	}
	if (taken)
		virtio_pci_notify_queue(&con->vp, queue);
	return taken;
}

/* Whether a write of what the port took is still in flight (to out_fd or to the transcript). */
static bool console_port_writing(const struct console_port *port)
{
	return port->out.busy || (port->log && port->log->busy);
}

/*
 * Whether the port leaves chains in the ring while a write is in flight.
 * Not port 0: Linux's hvc console (put_chars) queues one buffer and
 * busy-waits, interrupts off, until it comes back, so there is nothing to
 * batch there and a chain left in the ring would only keep that vCPU
 * spinning for a whole write.
 */
static bool console_port_batches(const struct console_port *port)
{
	return port->id != 0;
}

/*
 * Takes the guest's output unless a write of earlier output is in flight.
 * Taking chain by chain as kicks come makes a kick, a write and an
 * interrupt per buffer (a 32 KiB write() in a Linux guest): while a write
 * is in flight the chains stay in the ring with notifications off
 * (§2.7.10; with EVENT_IDX avail_event stays behind, so the guest kicks
 * at most once), and the write's completion (console_port_out_room) takes
 * them all as one batch: one write and one interrupt for up to
 * CONSOLE_OUT_BACKLOG bytes. A reset or the final flush takes them
 * regardless (console_port_tx_take with `draining`).
 */
static void console_port_tx(struct console_port *port)
{
	struct virtq *q = console_vq(port->con, console_rx_queue(port->id) + 1);

	if (console_port_batches(port) && console_port_writing(port)) {
		virtq_set_notification(q, false);
		return;
	}
	console_port_tx_take(port, false);
	console_port_write(port);
	if (console_port_writing(port))
		return; /* the completion looks at the ring again */
	/*
	 * Idle: ask for kicks again, then look once more for chains the
	 * guest queued while they were off (it will kick for later ones).
	 */
	virtq_set_notification(q, true);
	if (virtq_has_available(q)) {
		console_port_tx_take(port, false);
		console_port_write(port);
	}
}

/* ---- host -> guest ---- */

static void console_port_in_done(struct io_loop_op *op, int res);

static void console_port_disconnect(struct console_port *port)
{
	port->in_eof = true;
	/* PORT_OPEN 0: the guest's reads return end of file once the data is consumed. */
	console_ctrl_send(port->con, port->id, CTRL_PORT_OPEN, 0, NULL, 0);
}

/* Copies pending input into the guest's receive buffers, then reads more. */
static void console_port_pump_in(struct console_port *port)
{
	struct virtio_console *con = port->con;
	unsigned int queue = console_rx_queue(port->id);
	struct virtq *q = console_vq(con, queue);
	struct virtq_chain chain;
	bool pushed = false;

	/*
	 * Linux drops data for a port no process has open (in_intr() ->
	 * discard_port_data()), so wait for the guest's PORT_OPEN; the console
	 * port counts as open once it is ready (init_port_console()).
	 */
	bool accepting = port->guest_ready && (port->id == 0 || port->guest_open);

	while (port->in_off < port->in_len && virtio_pci_is_live(&con->vp) && accepting) {
		int got = virtq_pop(q, &chain);

		if (got < 0) {
			console_broken(con, queue, q->error);
			return;
		}
		if (got == 0)
			break;
		/* GUEST: writable iovs are inside RAM (virtq_pop); readable parts are ignored. */
		size_t copied = virtq_chain_copy_to(&chain, 0, port->in_buf + port->in_off,
						    port->in_len - port->in_off);

		port->in_off += copied;
		__atomic_fetch_add(&port->bytes_to_guest, (uint64_t)copied, __ATOMIC_RELAXED);
		virtq_push(q, chain.head, (uint32_t)copied);
		pushed = true;
	}
	if (pushed)
		virtio_pci_notify_queue(&con->vp, queue);
	if (port->in_off < port->in_len || port->in_busy || port->in_eof || !accepting ||
	    port->cfg.in_fd < 0 || (port->cfg.in_deferred && !port->in_started))
		return;
	port->in_off = port->in_len = 0;
	port->in_busy = true;
	if (io_loop_read(con->loop, &port->in_op, port->cfg.in_fd, port->in_buf,
			 sizeof(port->in_buf))) {
		port->in_busy = false;
		console_port_disconnect(port);
	}
}

static void console_port_in_done(struct io_loop_op *op, int res)
{
	struct console_port *port = op->opaque;

	port->in_busy = false;
	if (res == -EINTR || res == -EAGAIN) {
		console_port_pump_in(port);
		return;
	}
	if (res <= 0) {
		console_port_disconnect(port);
		return;
	}
	port->in_len = (size_t)res;
	port->in_off = 0;
	if (port->cfg.escape) {
		uint8_t *esc = memchr(port->in_buf, TERMINAL_ESCAPE_BYTE, port->in_len);

		if (esc) {
			port->in_len = (size_t)(esc - port->in_buf);
			port->in_eof = true;
			if (port->con->on_escape)
				port->con->on_escape(port->con->escape_ctx);
		}
	}
	console_port_pump_in(port);
}

/* ---- device ops (loop thread unless noted) ---- */

static void console_queue_notify(void *dev, unsigned int queue)
{
	struct virtio_console *con = dev;

	if (queue == CTRL_RX_QUEUE) {
		console_ctrl_flush(con);
		return;
	}
	if (queue == CTRL_TX_QUEUE) {
		console_ctrl_tx(con);
		return;
	}
	unsigned int port = queue < 2 ? 0 : queue / 2 - 1;

	if (port >= con->port_count)
		return;
	if (queue & 1)
		console_port_tx(&con->ports[port]);
	else
		console_port_pump_in(&con->ports[port]);
}

static int console_activate(void *dev, struct virtio_pci *vp)
{
	(void)dev;
	/* §5.3.6.1: without MULTIPORT only port 0 exists; we require it for the control channel. */
	if (!virtio_pci_has_feature(vp, VIRTIO_CONSOLE_F_MULTIPORT))
		return -ENOTSUP;
	return 0;
}

static void console_reset(void *dev)
{
	struct virtio_console *con = dev;

	/*
	 * Linux resets its devices at shutdown (virtio_dev_shutdown): copy out
	 * whatever output is still queued so a command's last bytes survive.
	 */
	for (unsigned int p = 0; p < con->port_count; p++) {
		console_port_tx_take(&con->ports[p], true);
		console_port_write(&con->ports[p]);
	}
	con->ctrl_count = 0;
	con->ctrl_head = 0;
	for (unsigned int p = 0; p < con->port_count; p++)
		con->ports[p].guest_ready = con->ports[p].guest_open = false;
}

/* vCPU thread, transport lock held. */
static void console_config_read(void *dev, uint32_t offset, uint8_t *data, unsigned int size)
{
	struct virtio_console *con = dev;
	struct console_config cfg = {.max_nr_ports = con->port_count};
	uint8_t raw[sizeof(cfg)];

	memcpy(raw, &cfg, sizeof(cfg));
	if (offset + size <= sizeof(raw))
		memcpy(data, raw + offset, size);
}

/* A port's output buffer was written out: take more from the guest. */
static void console_port_out_room(void *ctx)
{
	console_port_tx(ctx);
}

/* A transcript buffer was written out: the ports that log may take more. */
static void console_log_room(void *ctx)
{
	struct virtio_console *con = ctx;

	for (unsigned int p = 0; p < con->port_count; p++)
		if (con->ports[p].log)
			console_port_tx(&con->ports[p]);
}

/* The writer for `fd` shared by every port that logs there (one stream keeps their order). */
static struct io_writer *console_log_writer(struct virtio_console *con, int fd)
{
	for (unsigned int i = 0; i < con->log_count; i++)
		if (con->logs[i].fd == fd)
			return &con->logs[i];
	struct io_writer *w = &con->logs[con->log_count++];

	io_writer_init(w, con->loop, fd, console_log_room, con);
	return w;
}

/* Sets up one port's writers; the ring must know every fd before it is enabled. */
static int console_port_init(struct virtio_console *con, unsigned int p,
			     const struct console_port_config *cfg)
{
	struct console_port *port = &con->ports[p];
	int ret = 0;

	port->cfg = *cfg;
	port->con = con;
	port->id = p;
	io_writer_init(&port->out, con->loop, cfg->out_fd, console_port_out_room, port);
	port->in_op = (struct io_loop_op){.cb = console_port_in_done, .opaque = port};
	if (cfg->log_fd >= 0) {
		port->log = console_log_writer(con, cfg->log_fd);
		ret = io_loop_add_file(con->loop, cfg->log_fd);
	}
	/* Reads and writes start later (after the guest opens the port). */
	if (!ret && cfg->in_fd >= 0)
		ret = io_loop_add_file(con->loop, cfg->in_fd);
	if (!ret && cfg->out_fd >= 0)
		ret = io_loop_add_file(con->loop, cfg->out_fd);
	return ret;
}

/* Receive queues have even indices (§5.3.2); transmit queues keep the size output wants. */
static uint16_t console_queue_max_size(unsigned int queue)
{
	return queue % 2 == 0 ? CONSOLE_RX_QUEUE_SIZE : CONSOLE_QUEUE_SIZE;
}

static const struct virtio_device_ops console_ops = {
    .name = "console",
    .device_id = VIRTIO_ID_CONSOLE,
    .pci_class = PCI_CLASS_COMMUNICATION_OTHER,
    /* The most an instance may use; each gives its own count (virtio_pci_init_queues). */
    .num_queues = 2 * (CONSOLE_MAX_PORTS + 1),
    .queue_max_size_of = console_queue_max_size,
    /* Linux applies RESIZE messages only with F_SIZE (resize_console()). */
    .features = VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE) | VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT),
    .config_size = sizeof(struct console_config),
    /* Up to 14 queues (2 per port and the control pair), one or two busy at a time. */
    .shared_queue_vector = true,
    .config_read = console_config_read,
    .activate = console_activate,
    .reset = console_reset,
    .queue_notify = console_queue_notify,
};

int virtio_console_init(struct virtio_console *con, const struct console_port_config *ports,
			unsigned int port_count, const struct virtio_pci_host *host,
			uint64_t bar_addr)
{
	memset(con, 0, sizeof(*con));
	if (port_count == 0 || port_count > CONSOLE_MAX_PORTS)
		return -EINVAL;
	con->loop = host->loop;
	con->port_count = port_count;
	for (unsigned int p = 0; p < port_count; p++) {
		int ret = console_port_init(con, p, &ports[p]);

		if (ret)
			return ret;
	}
	/* rx/tx for port 0, the control pair, then rx/tx per further port (§5.3.2). */
	return virtio_pci_init_queues(&con->vp, &console_ops, con, host, bar_addr,
				      2 * (port_count + 1));
}

void virtio_console_destroy(struct virtio_console *con)
{
	virtio_pci_destroy(&con->vp);
	for (unsigned int p = 0; p < con->port_count; p++)
		io_writer_destroy(&con->ports[p].out);
	for (unsigned int i = 0; i < con->log_count; i++)
		io_writer_destroy(&con->logs[i]);
}

/* Appends host bytes to a port's pending input; the control port has no fd of its own. */
static void console_msg_send(struct virtio_console *con, const struct console_host_msg *msg)
{
	struct console_port *port = &con->ports[msg->port];
	char line[128];

	if (port->in_off == port->in_len)
		port->in_off = port->in_len = 0;
	if (port->in_len + msg->len > sizeof(port->in_buf)) {
		/* The guest is not reading the port: say what is lost (a forwarded signal). */
		snprintf(line, sizeof(line),
			 "virtio-console: port %u: %zu bytes from the host dropped: the guest is "
			 "not reading",
			 msg->port, msg->len);
		console_log(con, line);
		return;
	}
	memcpy(port->in_buf + port->in_len, msg->data, msg->len);
	port->in_len += msg->len;
	console_port_pump_in(port);
}

static void console_msg_deliver(void *arg)
{
	struct console_host_msg *msg = arg;
	struct virtio_console *con = msg->con;

	switch (msg->kind) {
	case CONSOLE_MSG_SEND:
		console_msg_send(con, msg);
		break;
	case CONSOLE_MSG_START_INPUT:
		con->ports[msg->port].in_started = true;
		console_port_pump_in(&con->ports[msg->port]);
		break;
	case CONSOLE_MSG_RESIZE:
		con->rows = msg->rows;
		con->cols = msg->cols;
		con->size_known = true;
		console_send_size(con);
		break;
	}
	free(msg);
}

/* Any thread: hands `tmpl` (with `len` data bytes) to the loop thread. */
static int console_msg_post(struct virtio_console *con, const struct console_host_msg *tmpl,
			    const void *data)
{
	struct console_host_msg *msg = malloc(sizeof(*msg));

	if (!msg)
		return -ENOMEM;
	*msg = *tmpl;
	msg->con = con;
	if (tmpl->len)
		memcpy(msg->data, data, tmpl->len);
	msg->call = (struct io_loop_call){.fn = console_msg_deliver, .arg = msg};
	io_loop_call(con->loop, &msg->call);
	return 0;
}

int virtio_console_send(struct virtio_console *con, unsigned int port, const void *data, size_t len)
{
	if (port >= con->port_count || len > CONSOLE_HOST_MSG_MAX ||
	    con->ports[port].cfg.in_fd >= 0)
		return -EINVAL;
	return console_msg_post(
	    con, &(struct console_host_msg){.kind = CONSOLE_MSG_SEND, .port = port, .len = len},
	    data);
}

int virtio_console_resize(struct virtio_console *con, uint16_t rows, uint16_t cols)
{
	return console_msg_post(
	    con, &(struct console_host_msg){.kind = CONSOLE_MSG_RESIZE, .rows = rows, .cols = cols},
	    NULL);
}

int virtio_console_start_input(struct virtio_console *con, unsigned int port)
{
	if (port >= con->port_count)
		return -EINVAL;
	return console_msg_post(
	    con, &(struct console_host_msg){.kind = CONSOLE_MSG_START_INPUT, .port = port}, NULL);
}

/* Rounds of a final flush: each takes up to a ring of chains or CONSOLE_DRAIN_BACKLOG bytes. */
#define CONSOLE_FLUSH_ROUNDS 64

static bool console_output_pending(void *arg)
{
	struct virtio_console *con = arg;

	for (unsigned int p = 0; p < con->port_count; p++)
		if (con->ports[p].out.busy)
			return true;
	for (unsigned int i = 0; i < con->log_count; i++)
		if (con->logs[i].busy)
			return true;
	return false;
}

int virtio_console_flush(struct virtio_console *con, int timeout_ms)
{
	struct timespec now;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long long deadline = now.tv_sec * 1000LL + now.tv_nsec / 1000000 + timeout_ms;

	/*
	 * Whatever is still in the rings, then the backlogs, in order. The
	 * vCPUs are stopped, so nothing is offered again: each round writes
	 * out what one drain takes, and the rounds end when the rings are
	 * empty (bounded anyway, for a ring the guest left looping).
	 */
	for (unsigned int round = 0; round < CONSOLE_FLUSH_ROUNDS && !ret; round++) {
		unsigned int taken = 0;

		for (unsigned int p = 0; p < con->port_count; p++) {
			taken += console_port_tx_take(&con->ports[p], true);
			console_port_write(&con->ports[p]);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long left = deadline - (now.tv_sec * 1000LL + now.tv_nsec / 1000000);

		ret =
		    io_loop_drain(con->loop, console_output_pending, con, left > 0 ? (int)left : 0);
		if (!taken)
			break;
	}
	return ret;
}
