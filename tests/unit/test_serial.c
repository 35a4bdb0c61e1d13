/* Unit tests for the 16550A UART model (devices/legacy/serial.c) driven through its io_ops. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/legacy/serial.h"

/* Register offsets and bits (PC16550D datasheet; Linux include/uapi/linux/serial_reg.h). */
#define REG_RBR_THR 0
#define REG_IER	    1
#define REG_IIR_FCR 2
#define REG_LCR	    3
#define REG_MCR	    4
#define REG_LSR	    5
#define REG_MSR	    6
#define REG_SCR	    7

#define IER_RDI		  0x01
#define IER_THRI	  0x02
#define IIR_NO_INT	  0x01
#define IIR_THRI	  0x02
#define IIR_RDI		  0x04
#define IIR_ID_MASK	  0x0f
#define IIR_FIFO_BITS	  0xc0
#define FCR_ENABLE_FIFO	  0x01
#define FCR_CLEAR_RCVR	  0x02
#define LCR_DLAB	  0x80
#define LCR_8N1		  0x03
#define LSR_DR		  0x01
#define LSR_THRE	  0x20
#define LSR_TEMT	  0x40
#define MCR_LOOP_RTS_OUT2 0x1a

#define TEST_GSI      4
#define MAX_IRQ_CALLS 64

struct irq_record {
	unsigned int count;
	unsigned int gsi[MAX_IRQ_CALLS];
	int level[MAX_IRQ_CALLS];
};

struct fixture {
	struct serial s;
	struct irq_record irq;
	int pipe_rd, pipe_wr;
};

static int record_irq(void *ctx, unsigned int gsi, int level)
{
	struct irq_record *r = ctx;

	if (r->count < MAX_IRQ_CALLS) {
		r->gsi[r->count] = gsi;
		r->level[r->count] = level;
	}
	r->count++;
	return 0;
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fds[2];

	if (!f)
		return -1;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
		free(f);
		return -1;
	}
	f->pipe_rd = fds[0];
	f->pipe_wr = fds[1];
	struct irq_line irq = {.set_level = record_irq, .ctx = &f->irq, .gsi = TEST_GSI};

	if (serial_init(&f->s, f->pipe_wr, irq)) {
		close(fds[0]);
		close(fds[1]);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(&f->s);
	close(f->pipe_rd);
	close(f->pipe_wr);
	free(f);
	return 0;
}

static void reg_write(struct fixture *f, uint64_t reg, uint8_t v)
{
	serial_io_ops.write(&f->s, reg, &v, 1);
}

static uint8_t reg_read(struct fixture *f, uint64_t reg)
{
	uint8_t v = 0x5a;

	serial_io_ops.read(&f->s, reg, &v, 1);
	return v;
}

static void write_string(struct fixture *f, const char *text)
{
	for (const char *p = text; *p; p++)
		reg_write(f, REG_RBR_THR, (uint8_t)*p);
}

/* Asserts the IRQ line saw exactly one rising edge followed by the fall, on our GSI. */
static void assert_one_pulse(const struct fixture *f)
{
	assert_int_equal(f->irq.count, 2);
	assert_int_equal(f->irq.gsi[0], TEST_GSI);
	assert_int_equal(f->irq.level[0], 1);
	assert_int_equal(f->irq.gsi[1], TEST_GSI);
	assert_int_equal(f->irq.level[1], 0);
}

static void test_serial_thr_write_appears_on_out_fd(void **state)
{
	struct fixture *f = *state;
	char buf[16] = {0};

	write_string(f, "hi\n");

	assert_int_equal(read(f->pipe_rd, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "hi\n", 3);
}

static void test_serial_thr_write_without_out_fd_is_dropped(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	f->s.out_fd = -1;

	write_string(f, "x");

	assert_int_equal(read(f->pipe_rd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_serial_lsr_reports_transmitter_empty(void **state)
{
	struct fixture *f = *state;

	uint8_t lsr = reg_read(f, REG_LSR);

	assert_int_equal(lsr & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	assert_int_equal(lsr & LSR_DR, 0);
}

static void test_serial_dlab_maps_divisor_latch(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	reg_write(f, REG_IER, 0); /* IER before DLAB is set */
	reg_write(f, REG_LCR, LCR_DLAB | LCR_8N1);
	reg_write(f, REG_RBR_THR, 0x01); /* DLL: 115200 baud */
	reg_write(f, REG_IER, 0x00);	 /* DLM */

	assert_int_equal(reg_read(f, REG_RBR_THR), 0x01);
	assert_int_equal(reg_read(f, REG_IER), 0x00);
	/* A DLL write is not a transmitted byte. */
	assert_int_equal(read(f->pipe_rd, buf, sizeof(buf)), -1);

	reg_write(f, REG_RBR_THR, 0x0c);
	reg_write(f, REG_IER, 0x34);
	assert_int_equal(reg_read(f, REG_RBR_THR), 0x0c);
	assert_int_equal(reg_read(f, REG_IER), 0x34);

	/* DLAB off: offset 1 is IER again, which the DLM writes left alone. */
	reg_write(f, REG_LCR, LCR_8N1);
	assert_int_equal(reg_read(f, REG_LCR), LCR_8N1);
	assert_int_equal(reg_read(f, REG_IER), 0);
}

static void test_serial_enabling_thri_pulses_irq_and_iir_read_acks(void **state)
{
	struct fixture *f = *state;

	reg_write(f, REG_IER, IER_THRI);

	assert_one_pulse(f);
	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_ID_MASK, IIR_THRI);
	/* That read acknowledged THRI. */
	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_ID_MASK, IIR_NO_INT);
	assert_int_equal(f->irq.count, 2);
}

static void test_serial_thr_write_with_thri_raises_new_pulse(void **state)
{
	struct fixture *f = *state;

	reg_write(f, REG_IER, IER_THRI);
	(void)reg_read(f, REG_IIR_FCR); /* acknowledge the enable-time interrupt */
	f->irq.count = 0;

	reg_write(f, REG_RBR_THR, 'a');

	assert_one_pulse(f);
	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_ID_MASK, IIR_THRI);
}

static void test_serial_no_interrupt_without_ier(void **state)
{
	struct fixture *f = *state;
	const uint8_t in[] = {'x'};

	write_string(f, "abc");
	assert_int_equal(serial_push_input(&f->s, in, 1, false, NULL), 1);

	assert_int_equal(f->irq.count, 0);
	assert_int_equal(reg_read(f, REG_IIR_FCR), IIR_NO_INT);
}

static void test_serial_rx_push_sets_data_ready(void **state)
{
	struct fixture *f = *state;
	const uint8_t in[] = {'k'};

	size_t n = serial_push_input(&f->s, in, sizeof(in), false, NULL);

	assert_int_equal(n, 1);
	assert_int_equal(reg_read(f, REG_LSR) & LSR_DR, LSR_DR);
}

static void test_serial_rx_push_with_rdi_raises_irq_and_iir_reports_rdi(void **state)
{
	struct fixture *f = *state;
	const uint8_t in[] = {'k'};

	reg_write(f, REG_IER, IER_RDI);
	assert_int_equal(f->irq.count, 0);

	size_t n = serial_push_input(&f->s, in, sizeof(in), false, NULL);

	assert_int_equal(n, 1);
	assert_one_pulse(f);
	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_ID_MASK, IIR_RDI);
	/* RDI stays until the data is read; then no interrupt is pending. */
	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_ID_MASK, IIR_RDI);
	assert_int_equal(reg_read(f, REG_RBR_THR), 'k');
	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_ID_MASK, IIR_NO_INT);
}

static void test_serial_rdi_has_priority_over_thri(void **state)
{
	struct fixture *f = *state;
	const uint8_t in[] = {'k'};

	reg_write(f, REG_IER, IER_RDI | IER_THRI);
	assert_int_equal(serial_push_input(&f->s, in, 1, false, NULL), 1);

	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_ID_MASK, IIR_RDI);
	assert_int_equal(reg_read(f, REG_RBR_THR), 'k');
	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_ID_MASK, IIR_THRI);
}

static void test_serial_rbr_read_drains_fifo_in_order(void **state)
{
	struct fixture *f = *state;
	const uint8_t in[] = {'a', 'b', 'c'};

	assert_int_equal(serial_push_input(&f->s, in, sizeof(in), false, NULL), 3);

	assert_int_equal(reg_read(f, REG_RBR_THR), 'a');
	assert_int_equal(reg_read(f, REG_RBR_THR), 'b');
	assert_int_equal(reg_read(f, REG_LSR) & LSR_DR, LSR_DR);
	assert_int_equal(reg_read(f, REG_RBR_THR), 'c');
	assert_int_equal(reg_read(f, REG_LSR) & LSR_DR, 0);
	assert_int_equal(reg_read(f, REG_RBR_THR), 0); /* empty FIFO reads 0 */
}

static void test_serial_rx_fifo_wraps_around(void **state)
{
	struct fixture *f = *state;
	uint8_t in[SERIAL_RX_FIFO];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	/* Move the head to the middle, then fill: the ring must wrap without losing order. */
	assert_int_equal(serial_push_input(&f->s, in, 100, false, NULL), 100);
	for (int i = 0; i < 100; i++)
		(void)reg_read(f, REG_RBR_THR);

	assert_int_equal(serial_push_input(&f->s, in, sizeof(in), false, NULL), SERIAL_RX_FIFO);

	for (size_t i = 0; i < sizeof(in); i++)
		assert_int_equal(reg_read(f, REG_RBR_THR), in[i]);
	assert_int_equal(reg_read(f, REG_LSR) & LSR_DR, 0);
}

static void test_serial_fifo_enabled_sets_iir_bits_7_6(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(reg_read(f, REG_IIR_FCR) & IIR_FIFO_BITS, 0);

	reg_write(f, REG_IIR_FCR, FCR_ENABLE_FIFO);

	assert_int_equal(reg_read(f, REG_IIR_FCR), IIR_FIFO_BITS | IIR_NO_INT);
}

static void test_serial_fcr_clear_rcvr_empties_rx(void **state)
{
	struct fixture *f = *state;
	const uint8_t in[] = {'a', 'b'};

	assert_int_equal(serial_push_input(&f->s, in, sizeof(in), false, NULL), 2);

	reg_write(f, REG_IIR_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR);

	assert_int_equal(reg_read(f, REG_LSR) & LSR_DR, 0);
}

static void test_serial_loopback_msr_reflects_mcr(void **state)
{
	struct fixture *f = *state;

	reg_write(f, REG_MCR, MCR_LOOP_RTS_OUT2);

	/* Linux's autoconfig loopback test (8250_port.c) expects exactly this. */
	assert_int_equal(reg_read(f, REG_MSR) & 0xf0, 0x90);
	assert_int_equal(reg_read(f, REG_MCR), MCR_LOOP_RTS_OUT2);
}

static void test_serial_loopback_thr_returns_in_rx(void **state)
{
	struct fixture *f = *state;
	char buf[4];

	reg_write(f, REG_MCR, MCR_LOOP_RTS_OUT2);

	reg_write(f, REG_RBR_THR, 0x42);

	assert_int_equal(reg_read(f, REG_LSR) & LSR_DR, LSR_DR);
	assert_int_equal(reg_read(f, REG_RBR_THR), 0x42);
	/* Nothing goes out on the wire in loopback. */
	assert_int_equal(read(f->pipe_rd, buf, sizeof(buf)), -1);
}

static void test_serial_msr_outside_loopback_reports_carrier(void **state)
{
	struct fixture *f = *state;

	/* DCD | DSR | CTS: a connected terminal. */
	assert_int_equal(reg_read(f, REG_MSR) & 0xf0, 0xb0);
}

static void test_serial_scratch_register_holds_value(void **state)
{
	struct fixture *f = *state;

	reg_write(f, REG_SCR, 0xa5);

	assert_int_equal(reg_read(f, REG_SCR), 0xa5);
}

static void test_serial_push_input_returns_only_what_fits(void **state)
{
	struct fixture *f = *state;
	uint8_t in[SERIAL_RX_FIFO + 10];

	memset(in, 'z', sizeof(in));

	size_t first = serial_push_input(&f->s, in, sizeof(in), false, NULL);
	size_t second = serial_push_input(&f->s, in, 5, false, NULL);

	assert_int_equal(first, SERIAL_RX_FIFO);
	assert_int_equal(second, 0);
	(void)reg_read(f, REG_RBR_THR);
	assert_int_equal(serial_push_input(&f->s, in, 5, false, NULL), 1);
}

struct pusher {
	struct serial *s;
	atomic_bool stop;
	volatile bool done;
	size_t pushed;
};

static void *pusher_main(void *arg)
{
	struct pusher *p = arg;
	const uint8_t in[] = {'w', 'x'};

	p->pushed = serial_push_input(p->s, in, sizeof(in), true, &p->stop);
	__atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Polls for up to `ms` milliseconds; true once the pusher returned. */
static bool pusher_wait(struct pusher *p, int ms)
{
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 1000000};

	for (int i = 0; i < ms; i++) {
		if (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE))
			return true;
		nanosleep(&tick, NULL);
	}
	return __atomic_load_n(&p->done, __ATOMIC_ACQUIRE);
}

static void pusher_finish(struct pusher *p, pthread_t thread)
{
	p->stop = true;
	serial_wake_input(p->s);
	pthread_join(thread, NULL);
}

static void test_serial_push_input_wait_resumes_when_guest_reads(void **state)
{
	struct fixture *f = *state;
	uint8_t fill[SERIAL_RX_FIFO];
	struct pusher p = {.s = &f->s};
	pthread_t thread;

	memset(fill, 'f', sizeof(fill));
	assert_int_equal(serial_push_input(&f->s, fill, sizeof(fill), false, NULL), SERIAL_RX_FIFO);
	assert_int_equal(pthread_create(&thread, NULL, pusher_main, &p), 0);
	bool returned_early = pusher_wait(&p, 50);

	(void)reg_read(f, REG_RBR_THR);
	bool returned = pusher_wait(&p, 2000);

	pusher_finish(&p, thread);
	assert_false(returned_early);
	assert_true(returned);
	assert_int_equal(p.pushed, 1);
}

static void test_serial_push_input_wait_resumes_after_fifo_clear(void **state)
{
	struct fixture *f = *state;
	uint8_t fill[SERIAL_RX_FIFO];
	struct pusher p = {.s = &f->s};
	pthread_t thread;

	memset(fill, 'f', sizeof(fill));
	assert_int_equal(serial_push_input(&f->s, fill, sizeof(fill), false, NULL), SERIAL_RX_FIFO);
	assert_int_equal(pthread_create(&thread, NULL, pusher_main, &p), 0);
	(void)pusher_wait(&p, 50); /* let it block on the full FIFO */

	/* The 8250 driver clears the FIFOs at startup; the space must reach the waiter. */
	reg_write(f, REG_IIR_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RCVR);
	bool returned = pusher_wait(&p, 2000);

	pusher_finish(&p, thread);
	assert_true(returned);
	assert_int_equal(p.pushed, 2);
}

static void test_serial_push_input_wait_stops_on_wake(void **state)
{
	struct fixture *f = *state;
	uint8_t fill[SERIAL_RX_FIFO];
	struct pusher p = {.s = &f->s};
	pthread_t thread;

	memset(fill, 'f', sizeof(fill));
	assert_int_equal(serial_push_input(&f->s, fill, sizeof(fill), false, NULL), SERIAL_RX_FIFO);
	assert_int_equal(pthread_create(&thread, NULL, pusher_main, &p), 0);
	(void)pusher_wait(&p, 50);

	p.stop = true;
	serial_wake_input(&f->s);
	bool returned = pusher_wait(&p, 2000);

	pusher_finish(&p, thread);
	assert_true(returned);
	assert_int_equal(p.pushed, 0);
}

static void test_serial_detects_panic_banner(void **state)
{
	struct fixture *f = *state;

	assert_false(serial_panic_seen(&f->s));

	write_string(f, "Kernel panic - not syncing: x\n");

	assert_true(serial_panic_seen(&f->s));
}

static void test_serial_detects_panic_banner_after_timestamp(void **state)
{
	struct fixture *f = *state;

	write_string(f, "[    1.23] Kernel panic - not syncing: VFS: Unable to mount root\n");

	assert_true(serial_panic_seen(&f->s));
}

static void test_serial_detects_panic_banner_after_false_start(void **state)
{
	struct fixture *f = *state;

	write_string(f, "KKernel panic - not syncing: x\n");

	assert_true(serial_panic_seen(&f->s));
}

static void test_serial_ignores_partial_panic_banner(void **state)
{
	struct fixture *f = *state;

	write_string(f, "Kernel pani");
	write_string(f, "c handler installed\nKernel panic - not syncin\n");
	write_string(f, "g\n");

	assert_false(serial_panic_seen(&f->s));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_serial_thr_write_appears_on_out_fd),
	    T(test_serial_thr_write_without_out_fd_is_dropped),
	    T(test_serial_lsr_reports_transmitter_empty),
	    T(test_serial_dlab_maps_divisor_latch),
	    T(test_serial_enabling_thri_pulses_irq_and_iir_read_acks),
	    T(test_serial_thr_write_with_thri_raises_new_pulse),
	    T(test_serial_no_interrupt_without_ier),
	    T(test_serial_rx_push_sets_data_ready),
	    T(test_serial_rx_push_with_rdi_raises_irq_and_iir_reports_rdi),
	    T(test_serial_rdi_has_priority_over_thri),
	    T(test_serial_rbr_read_drains_fifo_in_order),
	    T(test_serial_rx_fifo_wraps_around),
	    T(test_serial_fifo_enabled_sets_iir_bits_7_6),
	    T(test_serial_fcr_clear_rcvr_empties_rx),
	    T(test_serial_loopback_msr_reflects_mcr),
	    T(test_serial_loopback_thr_returns_in_rx),
	    T(test_serial_msr_outside_loopback_reports_carrier),
	    T(test_serial_scratch_register_holds_value),
	    T(test_serial_push_input_returns_only_what_fits),
	    T(test_serial_push_input_wait_resumes_when_guest_reads),
	    T(test_serial_push_input_wait_resumes_after_fifo_clear),
	    T(test_serial_push_input_wait_stops_on_wake),
	    T(test_serial_detects_panic_banner),
	    T(test_serial_detects_panic_banner_after_timestamp),
	    T(test_serial_detects_panic_banner_after_false_start),
	    T(test_serial_ignores_partial_panic_banner),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
