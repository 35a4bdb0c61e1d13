/* Test support: the virtio-console under test and a guest driver that drives it as Linux does. */
#include "tests/support/console_guest.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/le.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/test_wait.h"
#include "tests/support/vp_driver.h"

const uint64_t linux_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
				VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(F_MULTIPORT);

const char *const port_names[PORTS] = {NULL, "microvmm.ctl", "microvmm.stdin", "microvmm.stdout"};

unsigned int rx_queue(unsigned int port)
{
	return port == 0 ? 0 : 2 * (port + 1);
}

unsigned int tx_queue(unsigned int port)
{
	return rx_queue(port) + 1;
}

/* ---- callbacks (loop thread) ---- */

static void record_output(void *ctx, const uint8_t *data, size_t len)
{
	struct fixture *f = ctx;

	pthread_mutex_lock(&f->lock);
	if (len <= OUTPUT_MAX - f->output_len) {
		memcpy(f->output + f->output_len, data, len);
		f->output_len += len;
	}
	pthread_mutex_unlock(&f->lock);
}

static void record_escape(void *ctx)
{
	struct fixture *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->escapes++;
	pthread_mutex_unlock(&f->lock);
}

static void record_port_ready(void *ctx, unsigned int port)
{
	struct fixture *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->ready_ports |= 1u << port;
	pthread_mutex_unlock(&f->lock);
}

/* ---- fixture ---- */

/* Guest RAM, MSI eventfds and the ports' pipes; -1 on failure (the teardown cleans up). */
static int fixture_open(struct fixture *f, bool with_log)
{
	if (with_log && pipe2(f->log_pipe, O_CLOEXEC))
		return -1;
	f->mem = calloc(1, RAM_SIZE);
	f->scratch = calloc(1, SCRATCH_SIZE);
	if (!f->mem || !f->scratch)
		return -1;
	test_ram_one_region(&f->ram, f->mem, RAM_SIZE);
	if (test_msi_eventfds(f->msi_fds, VECTORS))
		return -1;
	if (pipe2(f->in0, O_CLOEXEC) || pipe2(f->out0, O_CLOEXEC) || pipe2(f->in2, O_CLOEXEC) ||
	    pipe2(f->out3, O_CLOEXEC))
		return -1;
	return 0;
}

static int fixture_init(void **state, bool escape, bool with_log)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	for (unsigned int v = 0; v < VECTORS; v++)
		f->msi_fds[v] = -1;
	f->in0[0] = f->in0[1] = f->out0[0] = f->out0[1] = -1;
	f->in2[0] = f->in2[1] = f->out3[0] = f->out3[1] = -1;
	f->log_pipe[0] = f->log_pipe[1] = -1;
	pthread_mutex_init(&f->lock, NULL);
	test_log_init(&f->log);
	if (fixture_open(f, with_log) || io_loop_init(&f->loop, 256))
		return -1;

	struct console_port_config ports[PORTS] = {
	    {.in_fd = f->in0[0], .out_fd = f->out0[1], .log_fd = f->log_pipe[1], .escape = escape},
	    {.name = port_names[1],
	     .in_fd = -1,
	     .out_fd = -1,
	     .log_fd = -1,
	     .on_output = record_output,
	     .ctx = f},
	    {.name = port_names[2], .in_fd = f->in2[0], .out_fd = -1, .log_fd = -1},
	    {.name = port_names[3], .in_fd = -1, .out_fd = f->out3[1], .log_fd = f->log_pipe[1]},
	};
	struct virtio_pci_host host = {
	    .ram = &f->ram,
	    .loop = &f->loop,
	    .ioeventfd = test_host_no_ioeventfd,
	    .log = test_log_line,
	    .ctx = &f->log,
	    .msi_fds = f->msi_fds,
	};

	if (virtio_console_init(&f->con, ports, PORTS, &host, BAR_ADDR))
		return -1;
	f->con.on_escape = record_escape;
	f->con.on_port_ready = record_port_ready;
	f->con.escape_ctx = f;
	if (io_loop_start(&f->loop))
		return -1;
	return 0;
}

int console_fixture_setup(void **state)
{
	return fixture_init(state, false, false);
}

int console_fixture_setup_log(void **state)
{
	return fixture_init(state, false, true);
}

int console_fixture_setup_escape(void **state)
{
	return fixture_init(state, true, false);
}

int console_fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	blocker_release(&f->blocker);
	io_loop_stop(&f->loop);
	virtio_console_destroy(&f->con);
	io_loop_destroy(&f->loop);
	for (unsigned int i = 0; i < 2; i++) {
		test_close_fd(&f->in0[i]);
		test_close_fd(&f->out0[i]);
		test_close_fd(&f->in2[i]);
		test_close_fd(&f->out3[i]);
	}
	for (unsigned int v = 0; v < VECTORS; v++)
		test_close_fd(&f->msi_fds[v]);
	test_close_fd(&f->log_pipe[0]);
	test_close_fd(&f->log_pipe[1]);
	pthread_mutex_destroy(&f->lock);
	test_log_destroy(&f->log);
	free(f->scratch);
	free(f->mem);
	free(f);
	return 0;
}

/* ---- the guest driver ---- */

struct virtio_pci *vp(struct fixture *f)
{
	return &f->con.vp;
}

uint64_t guest_alloc(struct fixture *f, unsigned int q, const void *data, size_t len)
{
	uint64_t gpa = ring_driver_alloc(&f->rd[q], len, 16);

	assert_int_not_equal(gpa, 0);
	if (data)
		memcpy(ring_driver_host(&f->rd[q], gpa), data, len);
	return gpa;
}

void guest_offer(struct fixture *f, unsigned int q, const struct ring_buf *bufs, unsigned int n)
{
	ring_driver_add_chain(&f->rd[q], bufs, n);
	ring_driver_publish(&f->rd[q]);
	vp_driver_kick(vp(f), (uint16_t)q);
}

void ctrl_send(struct fixture *f, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t msg[8];

	le_put(msg, 4, id);
	le_put(msg + 4, 2, event);
	le_put(msg + 6, 2, value);
	struct ring_buf b = {.gpa = guest_alloc(f, CTRL_TX, msg, sizeof(msg)), .len = sizeof(msg)};

	guest_offer(f, CTRL_TX, &b, 1);
}

/* Takes the control messages the device has put in the receive queue and re-posts the buffers. */
void ctrl_collect(struct fixture *f)
{
	struct ring_driver *rd = &f->rd[CTRL_RX];
	uint32_t head, len;
	bool reposted = false;

	while (ring_driver_get_used(rd, &head, &len)) {
		uint64_t gpa = ring_driver_desc(rd, (uint16_t)head)->addr;
		const uint8_t *p = ring_driver_host(rd, gpa);

		assert_true(len >= 8 && len <= CTRL_BUF_SIZE);
		assert_true(f->msg_count < MAX_MSGS);
		struct ctrl_msg *m = &f->msgs[f->msg_count++];

		m->id = (uint32_t)le_get(p, 4);
		m->event = (uint16_t)le_get(p + 4, 2);
		m->value = (uint16_t)le_get(p + 6, 2);
		m->extra_len = len - 8;
		memcpy(m->extra, p + 8, m->extra_len);
		ring_driver_add_chain(rd, &(struct ring_buf){gpa, CTRL_BUF_SIZE, true}, 1);
		reposted = true;
	}
	if (reposted) {
		ring_driver_publish(rd);
		vp_driver_kick(vp(f), CTRL_RX);
	}
}

static int ctrl_find(struct fixture *f, uint32_t id, uint16_t event, uint16_t value)
{
	for (unsigned int i = 0; i < f->msg_count; i++) {
		struct ctrl_msg *m = &f->msgs[i];

		if (!m->claimed && m->id == id && m->event == event && m->value == value) {
			m->claimed = true;
			return (int)i;
		}
	}
	return -1;
}

/* Index of the first unclaimed matching message, waiting up to timeout_ms; -1 if none came. */
int ctrl_wait(struct fixture *f, uint32_t id, uint16_t event, uint16_t value,
	      unsigned int timeout_ms)
{
	for (unsigned int waited = 0;; waited++) {
		ctrl_collect(f);
		int i = ctrl_find(f, id, event, value);

		if (i >= 0 || waited >= timeout_ms)
			return i;
		test_sleep_ms(1);
	}
}

void port_fill_rx(struct fixture *f, unsigned int port)
{
	unsigned int q = rx_queue(port);

	for (unsigned int i = 0; i < RX_BUFS; i++)
		ring_driver_add_chain(
		    &f->rd[q],
		    &(struct ring_buf){guest_alloc(f, q, NULL, RX_BUF_SIZE), RX_BUF_SIZE, true}, 1);
	ring_driver_publish(&f->rd[q]);
	vp_driver_kick(vp(f), (uint16_t)q);
}

/* Collects what the device wrote into the port's receive buffers (re-posting them); returns bytes.
 */
size_t port_read(struct fixture *f, unsigned int port, uint8_t *out, size_t want,
		 unsigned int timeout_ms)
{
	unsigned int q = rx_queue(port);
	struct ring_driver *rd = &f->rd[q];
	size_t got = 0;

	for (unsigned int waited = 0; got < want && waited < timeout_ms; waited++) {
		uint32_t head, len;
		bool any = false;

		while (ring_driver_get_used(rd, &head, &len)) {
			uint64_t gpa = ring_driver_desc(rd, (uint16_t)head)->addr;

			assert_true(len <= RX_BUF_SIZE && got + len <= want);
			memcpy(out + got, ring_driver_host(rd, gpa), len);
			got += len;
			ring_driver_add_chain(rd, &(struct ring_buf){gpa, RX_BUF_SIZE, true}, 1);
			any = true;
		}
		if (any) {
			ring_driver_publish(rd);
			vp_driver_kick(vp(f), (uint16_t)q);
			continue;
		}
		test_sleep_ms(1);
	}
	return got;
}

/* Fresh rings in zeroed RAM, features, queues, control buffers, DRIVER_OK (§3.1.1). */
void guest_setup(struct fixture *f, uint64_t features)
{
	memset(f->mem, 0, RAM_SIZE);
	memset(f->msgs, 0, sizeof(f->msgs));
	f->msg_count = 0;
	for (unsigned int q = 0; q < QUEUES; q++)
		assert_int_equal(vp_driver_place_ring(&f->rd[q], f->mem, WINDOW * (q + 1), WINDOW,
						      queue_size_of(q)),
				 0);
	assert_true(vp_driver_negotiate(vp(f), features));
	vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_MSIX, 2, 0);
	/* The device offers two vectors, so every queue takes the shared one, as Linux does. */
	for (unsigned int q = 0; q < QUEUES; q++)
		vp_driver_setup_ring(vp(f), (uint16_t)q, &f->rd[q], QUEUE_VECTOR);
	/* Linux fills the control receive queue before DRIVER_OK (virtcons_probe). */
	for (unsigned int i = 0; i < CTRL_BUFS; i++)
		ring_driver_add_chain(
		    &f->rd[CTRL_RX],
		    &(struct ring_buf){guest_alloc(f, CTRL_RX, NULL, CTRL_BUF_SIZE), CTRL_BUF_SIZE,
				       true},
		    1);
	ring_driver_publish(&f->rd[CTRL_RX]);
	vp_driver_kick(vp(f), CTRL_RX);
	vp_driver_set_status(vp(f), vp_driver_status(vp(f)) | VIRTIO_STATUS_DRIVER_OK);
}

/* DEVICE_READY, then PORT_READY for every port once it was added; checks the replies. */
void guest_handshake(struct fixture *f)
{
	ctrl_send(f, BAD_ID, DEVICE_READY, 1);
	for (unsigned int p = 0; p < PORTS; p++)
		assert_true(ctrl_wait(f, p, PORT_ADD, 0, TIMEOUT_MS) >= 0);
	for (unsigned int p = 0; p < PORTS; p++) {
		port_fill_rx(f, p);
		ctrl_send(f, p, PORT_READY, 1);
	}
	for (unsigned int p = 0; p < PORTS; p++) {
		int open = ctrl_wait(f, p, PORT_OPEN, 1, TIMEOUT_MS);

		assert_true(open >= 0);
		if (p == 0) {
			int console = ctrl_wait(f, 0, CONSOLE_PORT, 1, TIMEOUT_MS);

			assert_true(console >= 0 && console < open);
		}
		if (port_names[p]) {
			int name = ctrl_wait(f, p, PORT_NAME, 0, TIMEOUT_MS);

			assert_true(name >= 0 && name < open);
			assert_int_equal(f->msgs[name].extra_len, strlen(port_names[p]));
			assert_memory_equal(f->msgs[name].extra, port_names[p],
					    strlen(port_names[p]));
		}
	}
}

/* A guest process opens every named port (port 0 counts as open once ready). */
void guest_open_ports(struct fixture *f)
{
	for (unsigned int p = 1; p < PORTS; p++)
		ctrl_send(f, p, PORT_OPEN, 1);
}

void guest_up(struct fixture *f)
{
	guest_setup(f, linux_features);
	guest_handshake(f);
	guest_open_ports(f);
}

/* Waits for the next used element of queue q. */
bool wait_used(struct fixture *f, unsigned int q, uint32_t *head, uint32_t *len)
{
	for (unsigned int waited = 0; waited < TIMEOUT_MS; waited++) {
		if (ring_driver_get_used(&f->rd[q], head, len))
			return true;
		test_sleep_ms(1);
	}
	return ring_driver_get_used(&f->rd[q], head, len);
}

bool console_needs_reset(void *arg)
{
	struct fixture *f = arg;

	return vp_driver_status(vp(f)) & VIRTIO_STATUS_NEEDS_RESET;
}

bool log_has_lines(void *arg)
{
	struct fixture *f = arg;

	return test_log_count(&f->log) > 0;
}

/* Exactly `n` log lines so far (the device logs before it sets NEEDS_RESET), line n-1 `want`. */
void assert_last_log_line(struct fixture *f, unsigned int n, const char *want)
{
	char line[TEST_LOG_LINE_MAX];

	assert_true(test_wait_until(log_has_lines, f, TIMEOUT_MS));
	assert_int_equal(test_log_count(&f->log), n);
	test_log_get(&f->log, n - 1, line, sizeof(line));
	assert_string_equal(line, want);
}
