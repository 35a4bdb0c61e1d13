/* Unit tests for the device loop's ring restrictions and fixed files (devices/io_loop.c). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/io_loop.h"

struct read_result {
	struct io_loop_op op;
	char buf[8];
	volatile int res;
	volatile bool done;
};

static void read_done(struct io_loop_op *op, int res)
{
	struct read_result *r = op->opaque;

	r->res = res;
	r->done = true;
}

static void wait_done(volatile bool *done)
{
	for (int i = 0; i < 2000 && !*done; i++)
		usleep(1000);
}

/* Submits one raw SQE from the test thread (loop stopped) and returns its result. */
static int submit_raw(struct io_loop *loop, void (*prep)(struct io_uring_sqe *sqe))
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
	struct io_uring_cqe *cqe;
	int res;

	assert_non_null(sqe);
	prep(sqe);
	io_uring_sqe_set_data(sqe, NULL);
	assert_true(io_uring_submit(&loop->ring) >= 0);
	/* Skip completions of the loop's own operations (e.g. its wake-up read). */
	for (;;) {
		assert_int_equal(io_uring_wait_cqe(&loop->ring, &cqe), 0);
		void *data = io_uring_cqe_get_data(cqe);

		res = cqe->res;
		io_uring_cqe_seen(&loop->ring, cqe);
		if (!data)
			return res;
	}
}

static void prep_openat(struct io_uring_sqe *sqe)
{
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/hostname", O_RDONLY, 0);
}

static int null_fd = -1;

static void prep_plain_read(struct io_uring_sqe *sqe)
{
	static char buf[4];

	/* A real fd, but not through the fixed-file table. */
	io_uring_prep_read(sqe, null_fd, buf, sizeof(buf), 0);
}

static void start_restricted(struct io_loop *loop, int *pipe_fds, struct read_result *r)
{
	assert_int_equal(io_loop_init(loop, 8), 0);
	loop->restrict_ops = true;
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	r->op = (struct io_loop_op){.cb = read_done, .opaque = r};
	assert_int_equal(io_loop_read(loop, &r->op, pipe_fds[0], r->buf, sizeof(r->buf)), 0);
	assert_int_equal(io_loop_start(loop), 0);
}

static void test_io_loop_restricted_ring_still_reads_registered_files(void **state)
{
	struct io_loop loop;
	struct read_result r = {0};
	int fds[2];

	(void)state;
	start_restricted(&loop, fds, &r);
	assert_int_equal(write(fds[1], "ok", 2), 2);
	wait_done(&r.done);
	assert_true(r.done);
	assert_int_equal(r.res, 2);
	assert_memory_equal(r.buf, "ok", 2);
	io_loop_destroy(&loop);
	close(fds[0]);
	close(fds[1]);
}

static void test_io_loop_restricted_ring_refuses_other_opcodes(void **state)
{
	struct io_loop loop;
	struct read_result r = {0};
	int fds[2];

	(void)state;
	start_restricted(&loop, fds, &r);
	io_loop_stop(&loop); /* the test thread now owns the ring, as io_loop_drain does */
	/* io_uring_register(2), IORING_RESTRICTION_SQE_OP: the kernel fails the SQE. */
	assert_int_equal(submit_raw(&loop, prep_openat), -EACCES);
	io_loop_destroy(&loop);
	close(fds[0]);
	close(fds[1]);
}

static void test_io_loop_restricted_ring_refuses_unregistered_fds(void **state)
{
	struct io_loop loop;
	struct read_result r = {0}, late = {0};
	int fds[2];

	(void)state;
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(null_fd >= 0);
	start_restricted(&loop, fds, &r);
	/* The loop API refuses an fd that was not in the table at the start... */
	late.op = (struct io_loop_op){.cb = read_done, .opaque = &late};
	assert_int_equal(io_loop_read(&loop, &late.op, null_fd, late.buf, sizeof(late.buf)),
			 -EBADF);
	io_loop_stop(&loop);
	/* ...and the kernel refuses an SQE without IOSQE_FIXED_FILE. */
	assert_int_equal(submit_raw(&loop, prep_plain_read), -EACCES);
	io_loop_destroy(&loop);
	close(null_fd);
	close(fds[0]);
	close(fds[1]);
}

static void test_io_loop_restricted_ring_refuses_register(void **state)
{
	struct io_loop loop;
	struct read_result r = {0};
	int fds[2];

	(void)state;
	start_restricted(&loop, fds, &r);
	/* No register opcode is allowed after the restrictions (e.g. adding files). */
	long ret =
	    syscall(__NR_io_uring_register, loop.ring.ring_fd, IORING_REGISTER_FILES, &fds[1], 1);
	assert_int_equal(ret, -1);
	assert_int_equal(errno, EACCES);
	io_loop_destroy(&loop);
	close(fds[0]);
	close(fds[1]);
}

/* Reads fd twice through the loop: the second read is submitted from the first's callback. */
struct reread {
	struct io_loop *loop;
	struct io_loop_op op;
	int fd;
	char buf[2][8];
	volatile int res[2];
	volatile int count;
	volatile bool done;
};

static void reread_done(struct io_loop_op *op, int res)
{
	struct reread *r = op->opaque;

	r->res[r->count++] = res;
	if (r->count == 1 &&
	    io_loop_read(r->loop, &r->op, r->fd, r->buf[1], sizeof(r->buf[1])) == 0)
		return;
	r->done = true;
}

/*
 * Without restrictions the kernel accepts plain fds, so only the file a read
 * reaches shows whether the loop used its fixed-file table: after the start the
 * fd number is made to name another pipe (dup2), and a read through the table
 * still reaches the pipe that was registered.
 */
static void test_io_loop_unrestricted_ring_uses_fixed_files(void **state)
{
	struct io_loop loop;
	struct reread r = {.loop = &loop};
	int registered[2], other[2];

	(void)state;
	assert_int_equal(io_loop_init(&loop, 8), 0);
	assert_int_equal(pipe2(registered, O_CLOEXEC), 0);
	assert_int_equal(pipe2(other, O_CLOEXEC), 0);
	r.fd = registered[0];
	r.op = (struct io_loop_op){.cb = reread_done, .opaque = &r};
	assert_int_equal(io_loop_read(&loop, &r.op, r.fd, r.buf[0], sizeof(r.buf[0])), 0);
	assert_int_equal(io_loop_start(&loop), 0);
	int keep = dup(registered[0]); /* the registered pipe stays open under another number */

	assert_true(keep >= 0);
	assert_int_equal(dup2(other[0], r.fd), r.fd);
	assert_int_equal(write(other[1], "o", 1), 1);
	assert_int_equal(write(registered[1], "1", 1), 1);
	for (int i = 0; i < 2000 && r.count < 1; i++)
		usleep(1000);
	assert_true(r.count >= 1);
	/* Only now: one read of both bytes would prove nothing. */
	assert_int_equal(write(registered[1], "2", 1), 1);
	wait_done(&r.done);

	assert_true(r.done);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.res[0], 1);
	assert_int_equal(r.res[1], 1);
	assert_memory_equal(r.buf[0], "1", 1);
	assert_memory_equal(r.buf[1], "2", 1); /* "o" would be a plain-fd read */
	io_loop_destroy(&loop);
	close(keep);
	close(registered[0]);
	close(registered[1]);
	close(other[0]);
	close(other[1]);
}

/* ---- cross-thread calls ---- */

struct call_count {
	struct io_loop_call call;
	volatile int runs;
};

static void count_run(void *arg)
{
	struct call_count *c = arg;

	c->runs++;
}

/*
 * The same node queued twice before the loop drains it: once the second
 * push linked the node to itself and the loop ran it forever (a guest could
 * do this with DRIVER_OK, 0x0b, DRIVER_OK, or two vCPUs resetting at once).
 * It must run exactly once, and can be queued again afterwards.
 */
static void test_io_loop_call_queued_twice_runs_once(void **state)
{
	struct io_loop loop;
	struct call_count c = {0};
	struct call_count other = {0};

	(void)state;
	c.call = (struct io_loop_call){.fn = count_run, .arg = &c};
	other.call = (struct io_loop_call){.fn = count_run, .arg = &other};
	assert_int_equal(io_loop_init(&loop, 8), 0);
	io_loop_call(&loop, &c.call);
	io_loop_call(&loop, &other.call);
	io_loop_call(&loop, &c.call);
	assert_int_equal(io_loop_start(&loop), 0);
	for (int i = 0; i < 2000 && (c.runs < 1 || other.runs < 1); i++)
		usleep(1000);
	usleep(20000);
	assert_int_equal(c.runs, 1);
	assert_int_equal(other.runs, 1);

	io_loop_call(&loop, &c.call);
	for (int i = 0; i < 2000 && c.runs < 2; i++)
		usleep(1000);
	usleep(20000);
	assert_int_equal(c.runs, 2);
	io_loop_destroy(&loop);
}

struct policy_probe {
	struct io_loop_call call;
	volatile int policy;
	volatile bool done;
};

static void record_policy(void *arg)
{
	struct policy_probe *p = arg;

	p->policy = sched_getscheduler(0);
	p->done = true;
}

/* The policy the loop's own thread runs with, asked from inside it. */
static int loop_thread_policy(bool batch_sched)
{
	struct io_loop loop;
	struct policy_probe p = {.policy = -2};

	p.call = (struct io_loop_call){.fn = record_policy, .arg = &p};
	assert_int_equal(io_loop_init(&loop, 8), 0);
	loop.batch_sched = batch_sched;
	assert_int_equal(io_loop_start(&loop), 0);
	io_loop_call(&loop, &p.call);
	wait_done(&p.done);
	/* Stop the loop before any assertion can leave this frame, which it points into. */
	io_loop_destroy(&loop);
	assert_true(p.done);
	return p.policy;
}

/* Asked to, the loop runs as SCHED_BATCH: a back-end's wake-up does not preempt a vCPU. */
static void test_io_loop_batch_sched_sets_the_loop_thread_policy(void **state)
{
	int caller = sched_getscheduler(0);

	(void)state;
	assert_int_equal(loop_thread_policy(true), SCHED_BATCH);
	/* Only the loop's thread: the caller keeps its own policy. */
	assert_int_equal(sched_getscheduler(0), caller);
}

/* By default the loop keeps the normal policy (passt's relay wants it, docs/network.md). */
static void test_io_loop_default_policy_is_normal(void **state)
{
	(void)state;
	/* A new thread inherits its creator's policy: the caller's, unchanged. */
	assert_int_equal(loop_thread_policy(false), sched_getscheduler(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_io_loop_restricted_ring_still_reads_registered_files),
	    cmocka_unit_test(test_io_loop_restricted_ring_refuses_other_opcodes),
	    cmocka_unit_test(test_io_loop_restricted_ring_refuses_unregistered_fds),
	    cmocka_unit_test(test_io_loop_restricted_ring_refuses_register),
	    cmocka_unit_test(test_io_loop_unrestricted_ring_uses_fixed_files),
	    cmocka_unit_test(test_io_loop_call_queued_twice_runs_once),
	    cmocka_unit_test(test_io_loop_batch_sched_sets_the_loop_thread_policy),
	    cmocka_unit_test(test_io_loop_default_policy_is_normal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
