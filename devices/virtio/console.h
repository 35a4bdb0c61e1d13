/* virtio-console with multiple ports (virtio 1.2 §5.3): the terminal, the control channel and the
 * command's stdio. */
#ifndef MICROVMM_DEVICES_VIRTIO_CONSOLE_H
#define MICROVMM_DEVICES_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/io_loop.h"
#include "devices/io_writer.h"
#include "devices/virtio/virtio_pci.h"
#include "devices/virtio/virtq.h"

#define CONSOLE_MAX_PORTS    6
#define CONSOLE_IN_BUF	     16384
#define CONSOLE_CTRL_PENDING 64
#define CONSOLE_CTRL_MSG_MAX 64
#define CONSOLE_HOST_MSG_MAX 128
/*
 * Most output a port takes for one write: the rest waits in the ring until
 * that write completes, so a slow reader makes the guest wait.
 */
#define CONSOLE_OUT_BACKLOG (1u << 20)
/*
 * Before a reset, output still in the rings is taken even past the backlog
 * (a command's last bytes), up to this much per writer. Linux keeps a whole
 * ring of transmit buffers queued while the backlog is full and resets the
 * console at shutdown: 256 writes of 32 KiB (port_fops_write), or 256
 * spliced pipes of 64 KiB (port_fops_splice, `cat` of a file uses it),
 * 16 MiB beside the 1 MiB backlog; all of it must survive the reset. A
 * guest that re-offers chains in a loop stops at one ring or this bound.
 */
#define CONSOLE_DRAIN_BACKLOG (64u << 20)
/* Largest transmit buffer we take (Linux sends at most 32 KiB per buffer). */
#define CONSOLE_CHAIN_MAX (1u << 20)

/*
 * Where a port's bytes come from and go to. Port 0 is the console (hvc0 in
 * the guest); the others carry a name (/sys/class/virtio-ports/.../name).
 * `out_fd` receives guest output through the device loop; with
 * `on_output` instead the device hands each chunk to the callback on the
 * loop thread (the control channel). `in_fd` is read until end of file,
 * which the guest then sees as end of file too.
 */
struct console_port_config {
	const char *name; /* NULL for port 0 */
	int in_fd, out_fd;
	int log_fd;	  /* a copy of the guest's output (--console-log), -1 for none */
	bool escape;	  /* in_fd is the user's raw terminal: Ctrl-] ends the VM */
	bool in_deferred; /* read in_fd only after virtio_console_start_input() */
	void (*on_output)(void *ctx, const uint8_t *data, size_t len);
	void *ctx;
};

struct console_port {
	struct console_port_config cfg;
	struct virtio_console *con;
	unsigned int id;
	bool guest_ready, guest_open;

	/*
	 * guest -> host: each chain is copied out of guest memory and returned
	 * at once, so a device reset (Linux resets devices at shutdown) loses
	 * nothing and the guest cannot change bytes under a write. `out` writes
	 * to out_fd; `log` is the device's writer for log_fd (shared by the
	 * ports with the same log_fd, so the transcript keeps their order).
	 */
	struct io_writer out;
	struct io_writer *log;
	/* Counters (loop thread adds, relaxed atomics; anyone reads): bytes each way. */
	uint64_t bytes_to_host, bytes_to_guest;

	/* host -> guest */
	uint8_t in_buf[CONSOLE_IN_BUF];
	size_t in_len, in_off;
	bool in_busy, in_eof, in_started;
	struct io_loop_op in_op;
};

struct console_ctrl_msg {
	uint8_t data[CONSOLE_CTRL_MSG_MAX];
	size_t len;
};

/* What the VMM asks of the device from another thread; run on the loop thread. */
enum console_host_msg_kind {
	CONSOLE_MSG_SEND,	 /* bytes for the guest on `port` (virtio_console_send) */
	CONSOLE_MSG_START_INPUT, /* read `port`'s in_fd from now on */
	CONSOLE_MSG_RESIZE,	 /* the terminal is rows x cols */
};

/* One message, allocated by the sender and freed on the loop thread. */
struct console_host_msg {
	struct io_loop_call call;
	struct virtio_console *con;
	enum console_host_msg_kind kind;
	unsigned int port;
	uint16_t rows, cols;
	size_t len;
	uint8_t data[CONSOLE_HOST_MSG_MAX];
};

struct virtio_console {
	struct virtio_pci vp;
	struct io_loop *loop;
	unsigned int port_count;
	struct console_port ports[CONSOLE_MAX_PORTS];
	/* Writers for the ports' log_fds, one per distinct fd. */
	struct io_writer logs[CONSOLE_MAX_PORTS];
	unsigned int log_count;
	void (*on_escape)(void *ctx);
	/* The guest's driver opened port `port` (PORT_READY); loop thread. */
	void (*on_port_ready)(void *ctx, unsigned int port);
	void *escape_ctx; /* context of both callbacks */

	/* Loop thread only. */
	struct console_ctrl_msg ctrl[CONSOLE_CTRL_PENDING];
	unsigned int ctrl_head, ctrl_count;
	uint16_t rows, cols;
	bool size_known;
};

/*
 * Builds the device with `port_count` ports (port 0 first) on the transport.
 * Fds are borrowed, not owned. Returns 0 or -errno. Call before the loop
 * starts.
 */
int virtio_console_init(struct virtio_console *con, const struct console_port_config *ports,
			unsigned int port_count, const struct virtio_pci_host *host,
			uint64_t bar_addr) __attribute__((warn_unused_result));
void virtio_console_destroy(struct virtio_console *con);

/* Any thread: queue bytes for the guest on `port` (at most CONSOLE_HOST_MSG_MAX). */
int virtio_console_send(struct virtio_console *con, unsigned int port, const void *data, size_t len)
    __attribute__((warn_unused_result));

/*
 * Any thread: start reading the port's in_fd (for ports configured with
 * in_deferred). Returns 0, -EINVAL or -ENOMEM.
 */
int virtio_console_start_input(struct virtio_console *con, unsigned int port)
    __attribute__((warn_unused_result));

/*
 * Main thread, after the vCPUs and the device loop stopped: writes out every
 * byte the guest queued for a host fd (a command's last output may still sit
 * in the rings or in our backlog when the guest powers off). Returns 0 or
 * -ETIMEDOUT.
 */
int virtio_console_flush(struct virtio_console *con, int timeout_ms);

/*
 * Any thread: the terminal's size changed (RESIZE control message for port
 * 0). Returns 0 or -ENOMEM.
 */
int virtio_console_resize(struct virtio_console *con, uint16_t rows, uint16_t cols)
    __attribute__((warn_unused_result));

#endif
