/* Test support: the virtio-console under test with four ports, and a guest driver that drives it
 * as Linux does (virtio 1.2 §5.3), shared by the console's unit tests. */
#ifndef MICROVMM_TESTS_SUPPORT_CONSOLE_GUEST_H
#define MICROVMM_TESTS_SUPPORT_CONSOLE_GUEST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/io_loop.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtio.h"
#include "tests/support/ring_driver.h"
#include "tests/support/test_host.h"

#define PORTS		4
#define QUEUES		(2 * (PORTS + 1))
#define VECTORS		2 /* config, and the one all queues share */
#define QUEUE_VECTOR	1
#define QUEUE_SIZE	256 /* a transmit queue's maximum, which Linux keeps */
#define RX_QUEUE_SIZE	32  /* a receive queue's (even index, §5.3.2) */
#define WINDOW		(1ULL << 20)
#define RAM_SIZE	(QUEUES * WINDOW + WINDOW)
#define BAR_ADDR	0xc0000000ULL
#define TIMEOUT_MS	2000
#define BIG_TIMEOUT_MS	20000
#define CTRL_RX		2
#define CTRL_TX		3
#define CTRL_BUFS	32
#define CTRL_BUF_SIZE	64
#define RX_BUFS		8
#define RX_BUF_SIZE	4096
#define MAX_MSGS	256
#define DEVICE_READY	0
#define PORT_ADD	1
#define PORT_READY	3
#define CONSOLE_PORT	4
#define RESIZE		5
#define PORT_OPEN	6
#define PORT_NAME	7
#define BAD_ID		0xffffffffu
#define F_MULTIPORT	1
#define OUTPUT_MAX	4096
#define SCRATCH_SIZE	(2u << 20) /* fixture-owned, so a failed assertion leaks nothing */
#define TERMINAL_ESCAPE 0x1d
#define BIG_CHUNK	(64u << 10) /* guest buffers of the big transfers */

extern const uint64_t linux_features;
/* Port 0 the console, 1 the control channel (callback), 2 stdin (pipe in), 3 stdout (pipe out). */
extern const char *const port_names[PORTS];

struct ctrl_msg {
	uint32_t id;
	uint16_t event, value;
	uint8_t extra[CTRL_BUF_SIZE];
	size_t extra_len;
	bool claimed;
};

struct fixture {
	struct io_loop loop;
	uint8_t *mem;
	struct guest_ram ram;
	int msi_fds[VECTORS];
	struct virtio_console con;
	int in0[2], out0[2], in2[2], out3[2];
	struct ring_driver rd[QUEUES];
	uint8_t *scratch;

	pthread_mutex_t lock; /* what the loop thread reports */
	uint8_t output[OUTPUT_MAX];
	size_t output_len;
	unsigned int escapes, ready_ports;

	struct ctrl_msg msgs[MAX_MSGS];
	unsigned int msg_count;
	struct blocker blocker;
	struct test_log log; /* the device's log lines */
	int log_pipe[2];     /* --console-log for ports 0 and 3, in the fixture with a log */
};

/* The receive and transmit queues of a port (§5.3.2). */
unsigned int rx_queue(unsigned int port);
/* The size the device offers queue q, which the driver keeps as Linux does. */
static inline uint16_t queue_size_of(unsigned int q)
{
	return q % 2 ? QUEUE_SIZE : RX_QUEUE_SIZE;
}
unsigned int tx_queue(unsigned int port);

/*
 * cmocka set-ups: the console on a started loop; with a transcript pipe
 * (log_pipe) for ports 0 and 3; with port 0's escape byte enabled.
 */
int console_fixture_setup(void **state);
int console_fixture_setup_log(void **state);
int console_fixture_setup_escape(void **state);
int console_fixture_teardown(void **state);

struct virtio_pci *vp(struct fixture *f);

uint64_t guest_alloc(struct fixture *f, unsigned int q, const void *data, size_t len);

void guest_offer(struct fixture *f, unsigned int q, const struct ring_buf *bufs, unsigned int n);

void ctrl_send(struct fixture *f, uint32_t id, uint16_t event, uint16_t value);

/* Takes the control messages the device has put in the receive queue and re-posts the buffers. */
void ctrl_collect(struct fixture *f);

/* Index of the first unclaimed matching message, waiting up to timeout_ms; -1 if none came. */
int ctrl_wait(struct fixture *f, uint32_t id, uint16_t event, uint16_t value,
	      unsigned int timeout_ms);

void port_fill_rx(struct fixture *f, unsigned int port);

/* Collects what the device wrote into the port's receive buffers (re-posting them); returns bytes.
 */
size_t port_read(struct fixture *f, unsigned int port, uint8_t *out, size_t want,
		 unsigned int timeout_ms);

/* Fresh rings in zeroed RAM, features, queues, control buffers, DRIVER_OK (§3.1.1). */
void guest_setup(struct fixture *f, uint64_t features);

/* DEVICE_READY, then PORT_READY for every port once it was added; checks the replies. */
void guest_handshake(struct fixture *f);

/* A guest process opens every named port (port 0 counts as open once ready). */
void guest_open_ports(struct fixture *f);

void guest_up(struct fixture *f);

/* Waits for the next used element of queue q. */
bool wait_used(struct fixture *f, unsigned int q, uint32_t *head, uint32_t *len);

bool console_needs_reset(void *arg);

bool log_has_lines(void *arg);

/* Exactly `n` log lines so far (the device logs before it sets NEEDS_RESET), line n-1 `want`. */
void assert_last_log_line(struct fixture *f, unsigned int n, const char *want);

#endif
