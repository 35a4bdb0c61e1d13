/* Unit tests for the multiport virtio-console (devices/virtio/console.c, virtio 1.2 §5.3), driven
 * as Linux drives it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/le.h"
#include "devices/io.h"
#include "devices/io_loop.h"
#include "devices/virtio/console.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/console_guest.h"
#include "tests/support/ring_driver.h"
#include "tests/support/test_host.h"
#include "tests/support/test_wait.h"
#include "tests/support/vp_driver.h"

/* ---- handshake and configuration ---- */

static void test_console_config_reports_port_count(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_NUMQ, 2),
			 QUEUES);
	assert_true(vp_driver_device_features(vp(f)) & VIRTIO_BIT(F_MULTIPORT));
	/* struct virtio_console_config { cols, rows, max_nr_ports, emerg_wr } (§5.3.4). */
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_DEVICE_OFFSET + 4, 4), PORTS);
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_DEVICE_OFFSET + 0, 2), 0);
}

static void test_console_receive_queues_are_smaller_than_transmit_queues(void **state)
{
	struct fixture *f = *state;

	/* Linux fills a receive queue to its size with pages at once: keep those short. */
	for (unsigned int q = 0; q < QUEUES; q++) {
		vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SELECT, 2, q);
		assert_int_equal(
		    vp_driver_read(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SIZE, 2),
		    queue_size_of(q));
	}
	/* A reset gives each queue its own maximum back. */
	vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SELECT, 2, 0);
	vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SIZE, 2, 8);
	vp_driver_set_status(vp(f), 0);
	vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SIZE, 2),
			 RX_QUEUE_SIZE);
}

/* The MSI-X capability's table size (PCI Local Bus 3.0 §6.8.2.3: N-1 in bits 10:0). */
static unsigned int msix_table_size(struct fixture *f)
{
	const uint8_t *cfg = vp(f)->fn.config;

	for (unsigned int at = cfg[PCI_CAPABILITY_LIST], hops = 0; at && hops < 48;
	     at = cfg[at + 1], hops++)
		if (cfg[at] == 0x11)
			return (unsigned int)(le_get(cfg + at + 2, 2) & 0x7ff) + 1;
	return 0;
}

static void test_console_queues_share_one_vector(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "shared";
	uint64_t count;

	/* Two entries whatever the port count: config, and the queues' one. */
	assert_int_equal(msix_table_size(f), 2);
	vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_SELECT, 2, 3);
	vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_MSIX, 2, 2);
	assert_int_equal(vp_driver_read(vp(f), VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_Q_MSIX, 2),
			 VIRTIO_MSI_NO_VECTOR);

	/* A port's transmit queue, not the first queue, interrupts through vector 1. */
	guest_up(f);
	while (eventfd_read(f->msi_fds[QUEUE_VECTOR], &count) == 0)
		;
	struct ring_buf b = {guest_alloc(f, tx_queue(2), msg, sizeof(msg) - 1), sizeof(msg) - 1,
			     false};
	uint32_t head, len;

	guest_offer(f, tx_queue(2), &b, 1);
	assert_true(wait_used(f, tx_queue(2), &head, &len));
	assert_int_equal(test_read_within(f->msi_fds[QUEUE_VECTOR], (uint8_t *)&count,
					  sizeof(count), TIMEOUT_MS),
			 sizeof(count));
}

static void test_console_handshake_adds_names_and_opens_ports(void **state)
{
	struct fixture *f = *state;

	guest_setup(f, linux_features);
	assert_false(vp_driver_status(vp(f)) & VIRTIO_STATUS_NEEDS_RESET);

	guest_handshake(f);

	/* Nothing else was said: no PORT_OPEN 0, no stray messages. */
	ctrl_collect(f);
	for (unsigned int i = 0; i < f->msg_count; i++)
		assert_true(f->msgs[i].claimed);
	pthread_mutex_lock(&f->lock);
	unsigned int ready = f->ready_ports;

	pthread_mutex_unlock(&f->lock);
	assert_int_equal(ready, (1u << PORTS) - 1);
}

static void test_console_port_add_only_after_device_ready(void **state)
{
	struct fixture *f = *state;

	guest_setup(f, linux_features);
	ctrl_send(f, BAD_ID, DEVICE_READY, 0); /* value 0: the driver failed, nothing to add */
	ctrl_send(f, 7, PORT_READY, 1);	       /* no such port */

	assert_int_equal(ctrl_wait(f, 0, PORT_ADD, 0, 100), -1);
	assert_int_equal(f->msg_count, 0);
	assert_false(vp_driver_status(vp(f)) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_console_resize_reaches_port_0(void **state)
{
	struct fixture *f = *state;

	guest_up(f);

	assert_int_equal(virtio_console_resize(&f->con, 24, 80), 0);

	int i = ctrl_wait(f, 0, RESIZE, 0, TIMEOUT_MS);

	assert_true(i >= 0);
	assert_int_equal(f->msgs[i].extra_len, 4);
	/* virtio 1.2 §5.3.6.2: struct virtio_console_resize { le16 cols; le16 rows; }. */
	assert_int_equal(le_get(f->msgs[i].extra, 2), 80);
	assert_int_equal(le_get(f->msgs[i].extra + 2, 2), 24);
}

static void test_console_without_multiport_needs_reset(void **state)
{
	struct fixture *f = *state;

	guest_setup(f, VIRTIO_BIT(VIRTIO_F_VERSION_1));

	assert_true(test_wait_until(console_needs_reset, f, TIMEOUT_MS));
}

/* ---- guest -> host ---- */

static void test_console_port_output_reaches_out_fd(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "hello, console\n";
	uint8_t got[sizeof(msg)];

	guest_up(f);
	struct ring_buf b = {guest_alloc(f, tx_queue(0), msg, sizeof(msg) - 1), sizeof(msg) - 1,
			     false};

	guest_offer(f, tx_queue(0), &b, 1);

	assert_int_equal(test_read_within(f->out0[0], got, sizeof(msg) - 1, TIMEOUT_MS),
			 sizeof(msg) - 1);
	assert_memory_equal(got, msg, sizeof(msg) - 1);
	uint32_t head, len;

	assert_true(wait_used(f, tx_queue(0), &head, &len));
	assert_int_equal(len, 0); /* nothing written into a transmit buffer */
}

static void test_console_multi_descriptor_chain_is_byte_exact(void **state)
{
	struct fixture *f = *state;
	static const char *const parts[] = {"multi-", "descriptor ", "", "chain\n"};
	const char *want = "multi-descriptor chain\nindirect too\n";
	unsigned int q = tx_queue(3);
	struct ring_buf bufs[4];
	uint8_t got[64];

	guest_up(f);
	for (unsigned int i = 0; i < 4; i++)
		bufs[i] = (struct ring_buf){guest_alloc(f, q, parts[i], strlen(parts[i]) + 1),
					    (uint32_t)strlen(parts[i]), false};
	ring_driver_add_chain(&f->rd[q], bufs, 4);
	bufs[0] = (struct ring_buf){guest_alloc(f, q, "indirect ", 9), 9, false};
	bufs[1] = (struct ring_buf){guest_alloc(f, q, "too\n", 4), 4, false};
	ring_driver_add_indirect(&f->rd[q], bufs, 2);
	ring_driver_publish(&f->rd[q]);
	vp_driver_kick(vp(f), (uint16_t)q);

	assert_int_equal(test_read_within(f->out3[0], got, strlen(want), TIMEOUT_MS), strlen(want));
	assert_memory_equal(got, want, strlen(want));
	assert_true(test_fd_quiet(f->out3[0], 50));
}

#define BIG_TOTAL (1u << 20)
#define BIG_SLOTS 8
_Static_assert(BIG_TOTAL <= SCRATCH_SIZE, "the received stream fits the scratch buffer");

static uint8_t big_byte(size_t i)
{
	/* Not periodic in the chunk size, so a reordered or repeated chunk shows. */
	return (uint8_t)((i * 2654435761u) >> 13);
}

static void test_console_one_mib_of_output_is_byte_exact(void **state)
{
	struct fixture *f = *state;
	unsigned int q = tx_queue(3);
	struct ring_driver *rd = &f->rd[q];
	uint64_t slot_gpa[BIG_SLOTS];
	uint16_t slot_head[BIG_SLOTS];
	bool slot_busy[BIG_SLOTS] = {false};
	uint8_t *got = f->scratch;
	size_t sent = 0, received = 0;

	guest_up(f);
	for (unsigned int s = 0; s < BIG_SLOTS; s++)
		slot_gpa[s] = guest_alloc(f, q, NULL, BIG_CHUNK);
	fcntl(f->out3[0], F_SETFL, O_NONBLOCK);

	for (unsigned int waited = 0; received < BIG_TOTAL && waited < BIG_TIMEOUT_MS;) {
		uint32_t head, len;
		bool progress = false;

		while (ring_driver_get_used(rd, &head, &len))
			for (unsigned int s = 0; s < BIG_SLOTS; s++)
				if (slot_busy[s] && slot_head[s] == head)
					slot_busy[s] = false;
		for (unsigned int s = 0; s < BIG_SLOTS && sent < BIG_TOTAL; s++) {
			if (slot_busy[s])
				continue;
			uint8_t *p = ring_driver_host(rd, slot_gpa[s]);

			for (size_t i = 0; i < BIG_CHUNK; i++)
				p[i] = big_byte(sent + i);
			slot_head[s] = ring_driver_add_chain(
			    rd, &(struct ring_buf){slot_gpa[s], BIG_CHUNK, false}, 1);
			slot_busy[s] = true;
			sent += BIG_CHUNK;
			progress = true;
		}
		if (progress) {
			ring_driver_publish(rd);
			vp_driver_kick(vp(f), (uint16_t)q);
		}
		ssize_t n = read(f->out3[0], got + received, BIG_TOTAL - received);

		if (n > 0) {
			received += (size_t)n;
			continue;
		}
		test_sleep_ms(1);
		waited++;
	}

	assert_int_equal(received, BIG_TOTAL);
	for (size_t i = 0; i < BIG_TOTAL; i++)
		if (got[i] != big_byte(i))
			fail_msg("byte %zu is %#x, want %#x", i, got[i], big_byte(i));
}

#define STALLED_LEN 8192 /* twice the pipe: half of it waits for the reader */

/*
 * The port's reader stalls (a one-page pipe nobody reads) with a write of
 * STALLED_LEN bytes in flight; the guest then queues "b" and "c" with a
 * kick each, and the device has seen both kicks.
 */
static void stall_then_offer_two(struct fixture *f, unsigned int port, int reader)
{
	unsigned int q = tx_queue(port);
	uint32_t head, len;

	memset(f->scratch, 'a', STALLED_LEN);
	assert_true(fcntl(reader, F_SETPIPE_SZ, 4096) >= 0);
	guest_offer(
	    f, q,
	    &(struct ring_buf){guest_alloc(f, q, f->scratch, STALLED_LEN), STALLED_LEN, false}, 1);
	assert_true(wait_used(f, q, &head, &len)); /* copied out, so returned */
	guest_offer(f, q, &(struct ring_buf){guest_alloc(f, q, "b", 1), 1, false}, 1);
	guest_offer(f, q, &(struct ring_buf){guest_alloc(f, q, "c", 1), 1, false}, 1);
	test_sleep_ms(50); /* for the device to see both kicks */
}

/* The reader resumes: the stalled bytes, then "bc" in order. */
static void resume_reader(struct fixture *f, int reader)
{
	uint8_t *got = f->scratch + STALLED_LEN;

	assert_int_equal(test_read_within(reader, got, STALLED_LEN + 2, TIMEOUT_MS),
			 STALLED_LEN + 2);
	assert_memory_equal(got, f->scratch, STALLED_LEN);
	assert_memory_equal(got + STALLED_LEN, "bc", 2);
}

/* Port 3 left "b" and "c" in the ring while its write was stalled; they come back after it. */
static void assert_port3_batched(struct fixture *f)
{
	uint32_t head, len;

	assert_false(ring_driver_get_used(&f->rd[tx_queue(3)], &head, &len));
	resume_reader(f, f->out3[0]);
	assert_true(wait_used(f, tx_queue(3), &head, &len));
	assert_true(wait_used(f, tx_queue(3), &head, &len));
}

static void test_console_output_waits_in_the_ring_while_a_write_is_in_flight(void **state)
{
	struct fixture *f = *state;

	guest_up(f);
	stall_then_offer_two(f, 3, f->out3[0]);

	/* avail_event still at entry 1: the guest queued "c" without a kick (§2.7.10). */
	assert_int_equal(*ring_driver_avail_event(&f->rd[tx_queue(3)]), 1);
	assert_port3_batched(f);
}

static bool tx3_notifications_on(void *arg)
{
	struct fixture *f = arg;
	struct ring_driver *rd = &f->rd[tx_queue(3)];
	const uint16_t *flags = ring_driver_host(rd, rd->used_gpa);

	return !(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & VIRTQ_USED_F_NO_NOTIFY);
}

static void test_console_without_event_idx_output_in_flight_turns_kicks_off(void **state)
{
	struct fixture *f = *state;

	guest_setup(f, linux_features & ~VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	guest_handshake(f);
	guest_open_ports(f);
	stall_then_offer_two(f, 3, f->out3[0]);

	/* §2.7.10: used->flags NO_NOTIFY while the chains wait; cleared once the device is idle. */
	assert_false(tx3_notifications_on(f));
	assert_port3_batched(f);
	assert_true(test_wait_until(tx3_notifications_on, f, TIMEOUT_MS));
}

/* Linux's hvc console busy-waits for each buffer: port 0 takes them during a write. */
static void test_console_port_0_takes_output_while_a_write_is_in_flight(void **state)
{
	struct fixture *f = *state;
	uint32_t head, len;

	guest_up(f);
	stall_then_offer_two(f, 0, f->out0[0]);

	assert_true(wait_used(f, tx_queue(0), &head, &len));
	assert_true(wait_used(f, tx_queue(0), &head, &len));
	resume_reader(f, f->out0[0]);
}

static void test_console_on_output_gets_port_bytes(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "{\"exit\":0}\n";
	unsigned int q = tx_queue(1);
	uint32_t head, len;

	guest_up(f);
	struct ring_buf bufs[2] = {
	    {guest_alloc(f, q, msg, 5), 5, false},
	    {guest_alloc(f, q, msg + 5, sizeof(msg) - 6), sizeof(msg) - 6, false},
	};

	guest_offer(f, q, bufs, 2);

	assert_true(wait_used(f, q, &head, &len));
	pthread_mutex_lock(&f->lock);
	size_t n = f->output_len;
	uint8_t out[OUTPUT_MAX];

	memcpy(out, f->output, n);
	pthread_mutex_unlock(&f->lock);
	assert_int_equal(n, sizeof(msg) - 1);
	assert_memory_equal(out, msg, sizeof(msg) - 1);
}

/* ---- host -> guest ---- */

static void test_console_in_fd_data_reaches_guest(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "typed on the host\n";
	uint8_t got[64];

	guest_up(f);

	assert_int_equal(write(f->in0[1], msg, sizeof(msg) - 1), sizeof(msg) - 1);

	assert_int_equal(port_read(f, 0, got, sizeof(msg) - 1, TIMEOUT_MS), sizeof(msg) - 1);
	assert_memory_equal(got, msg, sizeof(msg) - 1);
}

static void test_console_in_fd_larger_than_buffers_arrives_in_order(void **state)
{
	struct fixture *f = *state;
	size_t total = 3 * RX_BUFS * RX_BUF_SIZE + 123;
	uint8_t *src = f->scratch, *got = f->scratch + SCRATCH_SIZE / 2;

	for (size_t i = 0; i < total; i++)
		src[i] = big_byte(i);
	guest_up(f);
	fcntl(f->in2[1], F_SETFL, O_NONBLOCK);

	size_t written = 0, received = 0;

	for (unsigned int waited = 0; received < total && waited < BIG_TIMEOUT_MS; waited++) {
		ssize_t n = write(f->in2[1], src + written, total - written);

		if (n > 0)
			written += (size_t)n;
		received += port_read(f, 2, got + received, total - received, 1);
	}

	assert_int_equal(received, total);
	assert_memory_equal(got, src, total);
}

static void test_console_input_waits_until_the_guest_opens_the_port(void **state)
{
	struct fixture *f = *state;
	uint8_t got[8];

	guest_setup(f, linux_features);
	guest_handshake(f);
	assert_int_equal(write(f->in2[1], "early", 5), 5);

	/* Linux discards data for a port nobody opened: nothing may arrive yet. */
	assert_int_equal(port_read(f, 2, got, 5, 100), 0);
	guest_open_ports(f);

	assert_int_equal(port_read(f, 2, got, 5, TIMEOUT_MS), 5);
	assert_memory_equal(got, "early", 5);
}

static void test_console_in_fd_eof_sends_port_open_0(void **state)
{
	struct fixture *f = *state;
	uint8_t got[8];

	guest_up(f);
	assert_int_equal(write(f->in2[1], "last", 4), 4);

	test_close_fd(&f->in2[1]);

	assert_int_equal(port_read(f, 2, got, 4, TIMEOUT_MS), 4);
	assert_memory_equal(got, "last", 4);
	assert_true(ctrl_wait(f, 2, PORT_OPEN, 0, TIMEOUT_MS) >= 0);
	/* Only that port was disconnected. */
	assert_int_equal(ctrl_wait(f, 0, PORT_OPEN, 0, 50), -1);
}

static void test_console_escape_byte_ends_input(void **state)
{
	struct fixture *f = *state;
	uint8_t got[8];

	guest_up(f);

	assert_int_equal(write(f->in0[1],
			       "ab\x1d"
			       "cd",
			       5),
			 5);

	assert_int_equal(port_read(f, 0, got, 2, TIMEOUT_MS), 2);
	assert_memory_equal(got, "ab", 2);
	pthread_mutex_lock(&f->lock);
	unsigned int escapes = f->escapes;

	pthread_mutex_unlock(&f->lock);
	assert_int_equal(escapes, 1);
	assert_int_equal(port_read(f, 0, got, sizeof(got), 100), 0);
}

static void test_console_send_reaches_port_without_in_fd(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "{\"signal\":15}\n";
	uint8_t got[64];

	guest_up(f);

	assert_int_equal(virtio_console_send(&f->con, 1, msg, sizeof(msg) - 1), 0);

	assert_int_equal(port_read(f, 1, got, sizeof(msg) - 1, TIMEOUT_MS), sizeof(msg) - 1);
	assert_memory_equal(got, msg, sizeof(msg) - 1);
	/* Ports with an in_fd, unknown ports and oversized messages are refused. */
	assert_int_equal(virtio_console_send(&f->con, 2, "x", 1), -EINVAL);
	assert_int_equal(virtio_console_send(&f->con, PORTS, "x", 1), -EINVAL);
	assert_int_equal(virtio_console_send(&f->con, 1, got, CONSOLE_HOST_MSG_MAX + 1), -EINVAL);
}

static void test_console_sends_arrive_in_order(void **state)
{
	struct fixture *f = *state;
	uint8_t got[32];

	guest_up(f);
	/* Both sends reach the loop while it is busy, as from a vCPU racing the loop. */
	blocker_start(&f->blocker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->blocker, TIMEOUT_MS));

	assert_int_equal(virtio_console_send(&f->con, 1, "first,", 6), 0);
	assert_int_equal(virtio_console_send(&f->con, 1, "second", 6), 0);
	blocker_release(&f->blocker);

	assert_int_equal(port_read(f, 1, got, 12, TIMEOUT_MS), 12);
	assert_memory_equal(got, "first,second", 12);
}

#define CON_TEST(fn)                                                                               \
	cmocka_unit_test_setup_teardown(fn, console_fixture_setup, console_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CON_TEST(test_console_config_reports_port_count),
	    CON_TEST(test_console_receive_queues_are_smaller_than_transmit_queues),
	    CON_TEST(test_console_queues_share_one_vector),
	    CON_TEST(test_console_handshake_adds_names_and_opens_ports),
	    CON_TEST(test_console_port_add_only_after_device_ready),
	    CON_TEST(test_console_resize_reaches_port_0),
	    CON_TEST(test_console_without_multiport_needs_reset),
	    CON_TEST(test_console_port_output_reaches_out_fd),
	    CON_TEST(test_console_multi_descriptor_chain_is_byte_exact),
	    CON_TEST(test_console_one_mib_of_output_is_byte_exact),
	    CON_TEST(test_console_output_waits_in_the_ring_while_a_write_is_in_flight),
	    CON_TEST(test_console_without_event_idx_output_in_flight_turns_kicks_off),
	    CON_TEST(test_console_port_0_takes_output_while_a_write_is_in_flight),
	    CON_TEST(test_console_on_output_gets_port_bytes),
	    CON_TEST(test_console_in_fd_data_reaches_guest),
	    CON_TEST(test_console_in_fd_larger_than_buffers_arrives_in_order),
	    CON_TEST(test_console_input_waits_until_the_guest_opens_the_port),
	    CON_TEST(test_console_in_fd_eof_sends_port_open_0),
	    cmocka_unit_test_setup_teardown(test_console_escape_byte_ends_input,
					    console_fixture_setup_escape, console_fixture_teardown),
	    CON_TEST(test_console_send_reaches_port_without_in_fd),
	    CON_TEST(test_console_sends_arrive_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
