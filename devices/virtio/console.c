/* virtio-console with multiple ports (virtio 1.2 §5.3): the terminal, the control channel and the
 * command's stdio. */
#include "devices/virtio/console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"

#define VIRTIO_CONSOLE_F_SIZE	      0
#define VIRTIO_CONSOLE_F_MULTIPORT    1
#define PCI_CLASS_COMMUNICATION_OTHER 0x078000
#define CONSOLE_QUEUE_SIZE	      256

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

static void console_broken(struct virtio_console *con, const char *why)
{
	virtio_pci_set_broken(&con->vp, why);
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
			console_broken(con, "bad control receive ring");
			return;
		}
		if (got == 0)
			break;
		struct console_ctrl_msg *m = &con->ctrl[con->ctrl_head];
		size_t copied = 0;

		/* GUEST: writable iovs were bounds-checked by virtq_pop; we only write into them.
		 */
		for (unsigned int i = chain.readable; i < chain.readable + chain.writable; i++) {
			size_t n = m->len - copied;

			if (n > chain.iov[i].len)
				n = chain.iov[i].len;
			memcpy(chain.iov[i].base, m->data + copied, n);
			copied += n;
		}
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
		console_broken(con, "control messages are not being consumed");
		return;
	}
	struct console_ctrl_msg *m =
	    &con->ctrl[(con->ctrl_head + con->ctrl_count) % CONSOLE_CTRL_PENDING];

	/* struct virtio_console_control { le32 id; le16 event; le16 value; } (§5.3.6.2) */
	io_data_put(m->data, 4, id);
	io_data_put(m->data + 4, 2, event);
	io_data_put(m->data + 6, 2, value);
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
	io_data_put(size, 2, con->cols);
	io_data_put(size + 2, 2, con->rows);
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
	uint32_t id = (uint32_t)io_data_get(msg, 4);
	uint16_t event = (uint16_t)io_data_get(msg + 4, 2);
	uint16_t value = (uint16_t)io_data_get(msg + 6, 2);

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
		size_t copied = 0;

		/* GUEST: copy the header out before looking at it; short messages are ignored. */
		for (unsigned int i = 0; i < chain.readable && copied < sizeof(msg); i++) {
			size_t n = sizeof(msg) - copied;

			if (n > chain.iov[i].len)
				n = chain.iov[i].len;
			memcpy(msg + copied, chain.iov[i].base, n);
			copied += n;
		}
		virtq_push(q, chain.head, 0);
		if (copied == sizeof(msg))
			console_ctrl_handle(con, msg);
	}
	if (got < 0)
		console_broken(con, "bad control transmit ring");
	virtio_pci_notify_queue(&con->vp, CTRL_TX_QUEUE);
}

/* ---- guest -> host ---- */

static void console_port_tx(struct console_port *port);

static bool console_port_has_sink(const struct console_port *port)
{
	return port->cfg.on_output || port->cfg.log_fd >= 0 ||
	       (port->cfg.out_fd >= 0 && !port->out_dead);
}

/* Appends `len` guest bytes to the fill buffer; false when memory runs out. */
static bool console_out_append(struct console_out_buf *b, const void *data, size_t len)
{
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 65536;

		while (cap - b->len < len)
			cap *= 2;
		uint8_t *p = realloc(b->data, cap);

		if (!p)
			return false;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return true;
}

static void console_port_write_done(struct io_loop_op *op, int res);

/* Starts writing the filled buffer if no write is in flight. */
static void console_port_write(struct console_port *port)
{
	struct console_out_buf *b;

	if (port->tx_busy || port->out[port->fill].len == 0)
		return;
	b = &port->out[port->fill];
	port->fill ^= 1;
	if (port->out_dead) {
		b->len = b->off = 0;
		return;
	}
	port->tx_busy = io_loop_write(port->con->loop, &port->tx_op, port->cfg.out_fd,
				      b->data + b->off, b->len - b->off) == 0;
	if (!port->tx_busy) {
		port->out_dead = true;
		b->len = b->off = 0;
	}
}

static void console_port_write_done(struct io_loop_op *op, int res)
{
	struct console_port *port = op->opaque;
	struct console_out_buf *b = &port->out[port->fill ^ 1];

	port->tx_busy = false;
	if (res == -EINTR || res == -EAGAIN) {
		res = 0;
	} else if (res < 0) {
		/* The reader went away (EPIPE) or failed: drop this and later output. */
		port->out_dead = true;
		res = (int)(b->len - b->off);
	}
	b->off += (size_t)res;
	if (b->off < b->len) {
		/* Short write: the rest goes first, before anything newer. */
		port->fill ^= 1;
		console_port_write(port);
		return;
	}
	b->len = b->off = 0;
	console_port_write(port);
	/* Room in the backlog again: take more from the guest. */
	console_port_tx(port);
}

/* Copies one chain to the port's sinks. Returns false if the guest misbehaved. */
static bool console_port_take(struct console_port *port, const struct virtq_chain *c)
{
	if (c->readable_len > CONSOLE_CHAIN_MAX)
		return false;
	for (unsigned int i = 0; i < c->readable; i++) {
		/* GUEST: iov bounds were checked by virtq_pop; the bytes are copied once here. */
		const uint8_t *data = c->iov[i].base;
		size_t len = c->iov[i].len;

		if (port->cfg.log_fd >= 0) {
			/* The transcript is best effort: a failing log never stops the guest. */
			ssize_t ignored = write(port->cfg.log_fd, data, len);
			(void)ignored;
		}
		if (port->cfg.on_output) {
			uint8_t copy[4096];

			for (size_t done = 0; done < len;) {
				size_t n = len - done > sizeof(copy) ? sizeof(copy) : len - done;

				memcpy(copy, data + done, n);
				port->cfg.on_output(port->cfg.ctx, copy, n);
				done += n;
			}
		} else if (port->cfg.out_fd >= 0 && !port->out_dead &&
			   !console_out_append(&port->out[port->fill], data, len)) {
			port->out_dead = true;
		}
	}
	return true;
}

/*
 * Takes transmit chains while the backlog has room (`unbounded`: all of
 * them, before a reset discards the rings).
 */
static void console_port_tx_take(struct console_port *port, bool unbounded)
{
	struct virtio_console *con = port->con;
	unsigned int queue = console_rx_queue(port->id) + 1;
	struct virtq *q = console_vq(con, queue);
	struct virtq_chain chain;
	bool pushed = false;

	while (virtio_pci_is_live(&con->vp) &&
	       (unbounded || port->out[port->fill].len < CONSOLE_OUT_BACKLOG ||
		!console_port_has_sink(port))) {
		int got = virtq_pop(q, &chain);

		if (got <= 0) {
			if (got < 0)
				console_broken(con, "bad transmit ring");
			break;
		}
		bool fine = console_port_take(port, &chain);

		/* Transmit buffers are device-readable only: nothing written back (§5.3.6.1). */
		virtq_push(q, chain.head, 0);
		pushed = true;
		if (!fine) {
			console_broken(con, "transmit buffer larger than 1 MiB");
			break;
		}
	}
	if (pushed)
		virtio_pci_notify_queue(&con->vp, queue);
}

static void console_port_tx(struct console_port *port)
{
	console_port_tx_take(port, false);
	console_port_write(port);
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
			console_broken(con, "bad receive ring");
			return;
		}
		if (got == 0)
			break;
		size_t copied = 0;

		/* GUEST: writable iovs are inside RAM (virtq_pop); readable parts are ignored. */
		for (unsigned int i = chain.readable; i < chain.readable + chain.writable; i++) {
			size_t n = port->in_len - port->in_off;

			n = n > chain.iov[i].len ? chain.iov[i].len : n;
			memcpy(chain.iov[i].base, port->in_buf + port->in_off, n);
			port->in_off += n;
			copied += n;
		}
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
		struct console_port *port = &con->ports[p];

		port->cfg = ports[p];
		port->con = con;
		port->id = p;
		port->tx_op = (struct io_loop_op){.cb = console_port_write_done, .opaque = port};
		port->in_op = (struct io_loop_op){.cb = console_port_in_done, .opaque = port};
		/* Reads and writes start later (after the guest opens the port): the ring must
		 * know these files before it is enabled. */
		int ret = ports[p].in_fd >= 0 ? io_loop_add_file(con->loop, ports[p].in_fd) : 0;

		if (!ret && ports[p].out_fd >= 0)
			ret = io_loop_add_file(con->loop, ports[p].out_fd);
		if (ret)
			return ret;
	}
	con->ops = (struct virtio_device_ops){
	    .name = "console",
	    .device_id = VIRTIO_ID_CONSOLE,
	    .pci_class = PCI_CLASS_COMMUNICATION_OTHER,
	    /* rx/tx for port 0, the control pair, then rx/tx per further port (§5.3.2). */
	    .num_queues = 2 * (port_count + 1),
	    .queue_max_size = CONSOLE_QUEUE_SIZE,
	    /* Linux applies RESIZE messages only with F_SIZE (resize_console()). */
	    .features = VIRTIO_BIT(VIRTIO_CONSOLE_F_SIZE) | VIRTIO_BIT(VIRTIO_CONSOLE_F_MULTIPORT),
	    .config_size = sizeof(struct console_config),
	    .config_read = console_config_read,
	    .activate = console_activate,
	    .reset = console_reset,
	    .queue_notify = console_queue_notify,
	};
	return virtio_pci_init(&con->vp, &con->ops, con, host, bar_addr);
}

void virtio_console_destroy(struct virtio_console *con)
{
	virtio_pci_destroy(&con->vp);
	for (unsigned int p = 0; p < con->port_count; p++)
		for (unsigned int i = 0; i < 2; i++)
			free(con->ports[p].out[i].data);
}

static void console_host_msg_deliver(void *arg)
{
	struct console_host_msg *msg = arg;
	struct console_port *port = &msg->con->ports[msg->port];

	/* Appends to the pending input; the control port has no fd of its own to read. */
	if (port->in_off == port->in_len)
		port->in_off = port->in_len = 0;
	if (port->in_len + msg->len <= sizeof(port->in_buf)) {
		memcpy(port->in_buf + port->in_len, msg->data, msg->len);
		port->in_len += msg->len;
	}
	console_port_pump_in(port);
	free(msg);
}

int virtio_console_send(struct virtio_console *con, unsigned int port, const void *data, size_t len)
{
	if (port >= con->port_count || len > CONSOLE_HOST_MSG_MAX ||
	    con->ports[port].cfg.in_fd >= 0)
		return -EINVAL;
	struct console_host_msg *msg = calloc(1, sizeof(*msg));

	if (!msg)
		return -ENOMEM;
	msg->con = con;
	msg->port = port;
	msg->len = len;
	memcpy(msg->data, data, len);
	msg->call = (struct io_loop_call){.fn = console_host_msg_deliver, .arg = msg};
	io_loop_call(con->loop, &msg->call);
	return 0;
}

struct console_resize_msg {
	struct io_loop_call call;
	struct virtio_console *con;
	uint16_t rows, cols;
};

static void console_resize_deliver(void *arg)
{
	struct console_resize_msg *msg = arg;

	msg->con->rows = msg->rows;
	msg->con->cols = msg->cols;
	msg->con->size_known = true;
	console_send_size(msg->con);
	free(msg);
}

void virtio_console_resize(struct virtio_console *con, uint16_t rows, uint16_t cols)
{
	struct console_resize_msg *msg = calloc(1, sizeof(*msg));

	if (!msg)
		return;
	*msg = (struct console_resize_msg){.con = con, .rows = rows, .cols = cols};
	msg->call = (struct io_loop_call){.fn = console_resize_deliver, .arg = msg};
	io_loop_call(con->loop, &msg->call);
}

struct console_start_msg {
	struct io_loop_call call;
	struct virtio_console *con;
	unsigned int port;
};

static void console_start_deliver(void *arg)
{
	struct console_start_msg *msg = arg;
	struct console_port *port = &msg->con->ports[msg->port];

	port->in_started = true;
	console_port_pump_in(port);
	free(msg);
}

void virtio_console_start_input(struct virtio_console *con, unsigned int port)
{
	struct console_start_msg *msg = calloc(1, sizeof(*msg));

	if (!msg || port >= con->port_count) {
		free(msg);
		return;
	}
	*msg = (struct console_start_msg){.con = con, .port = port};
	msg->call = (struct io_loop_call){.fn = console_start_deliver, .arg = msg};
	io_loop_call(con->loop, &msg->call);
}

static bool console_output_pending(void *arg)
{
	struct virtio_console *con = arg;

	for (unsigned int p = 0; p < con->port_count; p++) {
		struct console_port *port = &con->ports[p];

		if (port->tx_busy)
			return true;
	}
	return false;
}

int virtio_console_flush(struct virtio_console *con, int timeout_ms)
{
	/* Whatever is still in the rings, then the backlogs, in order. */
	for (unsigned int p = 0; p < con->port_count; p++) {
		console_port_tx_take(&con->ports[p], true);
		console_port_write(&con->ports[p]);
	}
	return io_loop_drain(con->loop, console_output_pending, con, timeout_ms);
}
