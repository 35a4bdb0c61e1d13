/* The device loop: one thread, one io_uring, every device's I/O submitted and completed there. */
#include "devices/io_loop.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/thread.h"

static void io_loop_wake_done(struct io_loop_op *op, int res);

int io_loop_init(struct io_loop *loop, unsigned int entries)
{
	int ret;

	memset(loop, 0, sizeof(*loop));
	loop->wake_fd = -1;
	/* Disabled until io_loop_start: restrictions can only be set before the first use. */
	ret = io_uring_queue_init(entries, &loop->ring, IORING_SETUP_R_DISABLED);
	if (ret < 0)
		return ret;
	loop->ring_ready = true;
	pthread_mutex_init(&loop->calls_lock, NULL);
	loop->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (loop->wake_fd < 0)
		return -errno;
	loop->wake_op = (struct io_loop_op){.cb = io_loop_wake_done, .opaque = loop};
	return io_loop_read(loop, &loop->wake_op, loop->wake_fd, &loop->wake_buf,
			    sizeof(loop->wake_buf));
}

static struct io_uring_sqe *io_loop_sqe(struct io_loop *loop, struct io_loop_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

	if (!sqe) {
		/* Full submission queue: push what we have and try once more. */
		io_uring_submit(&loop->ring);
		sqe = io_uring_get_sqe(&loop->ring);
	}
	if (sqe) {
		io_uring_sqe_set_data(sqe, op);
		op->busy = true;
		loop->pending++;
	}
	return sqe;
}

/* The fixed-file index of fd; before the start, new fds join the table. */
static int io_loop_file_index(struct io_loop *loop, int fd)
{
	for (unsigned int i = 0; i < loop->file_count; i++)
		if (loop->files[i] == fd)
			return (int)i;
	if (fd < 0)
		return -EBADF;
	if (loop->enabled)
		return -EBADF; /* the ring can reach registered files only */
	if (loop->file_count == IO_LOOP_MAX_FILES)
		return -ENOSPC;
	loop->files[loop->file_count] = fd;
	return (int)loop->file_count++;
}

int io_loop_add_file(struct io_loop *loop, int fd)
{
	int index = io_loop_file_index(loop, fd);

	return index < 0 ? index : 0;
}

/* An SQE for op on fd's fixed-file slot, or NULL with *err set. */
static struct io_uring_sqe *io_loop_file_sqe(struct io_loop *loop, struct io_loop_op *op, int fd,
					     int *index)
{
	*index = io_loop_file_index(loop, fd);
	return *index < 0 ? NULL : io_loop_sqe(loop, op);
}

int io_loop_read(struct io_loop *loop, struct io_loop_op *op, int fd, void *buf, size_t len)
{
	int index;
	struct io_uring_sqe *sqe = io_loop_file_sqe(loop, op, fd, &index);

	if (!sqe)
		return index < 0 ? index : -EBUSY;
	/* Offset -1: use (and advance) the file position; pipes and ttys ignore it. */
	io_uring_prep_read(sqe, index, buf, (unsigned int)len, (uint64_t)-1);
	sqe->flags |= IOSQE_FIXED_FILE;
	return 0;
}

int io_loop_write(struct io_loop *loop, struct io_loop_op *op, int fd, const void *buf, size_t len)
{
	int index;
	struct io_uring_sqe *sqe = io_loop_file_sqe(loop, op, fd, &index);

	if (!sqe)
		return index < 0 ? index : -EBUSY;
	io_uring_prep_write(sqe, index, buf, (unsigned int)(len > (1u << 30) ? (1u << 30) : len),
			    (uint64_t)-1);
	sqe->flags |= IOSQE_FIXED_FILE;
	return 0;
}

int io_loop_writev(struct io_loop *loop, struct io_loop_op *op, int fd, const struct iovec *iov,
		   unsigned int count)
{
	int index;
	struct io_uring_sqe *sqe = io_loop_file_sqe(loop, op, fd, &index);

	if (!sqe)
		return index < 0 ? index : -EBUSY;
	io_uring_prep_writev(sqe, index, iov, count, (uint64_t)-1);
	sqe->flags |= IOSQE_FIXED_FILE;
	return 0;
}

int io_loop_poll(struct io_loop *loop, struct io_loop_op *op, int fd, unsigned int events)
{
	int index;
	struct io_uring_sqe *sqe = io_loop_file_sqe(loop, op, fd, &index);

	if (!sqe)
		return index < 0 ? index : -EBUSY;
	io_uring_prep_poll_add(sqe, index, events);
	sqe->flags |= IOSQE_FIXED_FILE;
	return 0;
}

void io_loop_call(struct io_loop *loop, struct io_loop_call *call)
{
	uint64_t one = 1;

	pthread_mutex_lock(&loop->calls_lock);
	if (call->pending) {
		pthread_mutex_unlock(&loop->calls_lock);
		return;
	}
	call->pending = true;
	call->next = loop->calls;
	loop->calls = call;
	pthread_mutex_unlock(&loop->calls_lock);
	ssize_t ignored = write(loop->wake_fd, &one, sizeof(one));
	(void)ignored;
}

static void io_loop_run_calls(struct io_loop *loop)
{
	pthread_mutex_lock(&loop->calls_lock);
	struct io_loop_call *call = loop->calls;

	loop->calls = NULL;
	/* Unlinked: each node may be queued again, even by the call it makes. */
	for (struct io_loop_call *c = call; c; c = c->next)
		c->pending = false;
	pthread_mutex_unlock(&loop->calls_lock);
	/* The list is newest first: reverse it so calls run in the order they were made. */
	struct io_loop_call *ordered = NULL;

	while (call) {
		struct io_loop_call *next = call->next;

		call->next = ordered;
		ordered = call;
		call = next;
	}
	call = ordered;
	while (call) {
		struct io_loop_call *next = call->next;

		call->fn(call->arg);
		call = next;
	}
}

static void io_loop_wake_done(struct io_loop_op *op, int res)
{
	struct io_loop *loop = op->opaque;

	(void)res;
	io_loop_run_calls(loop);
	if (!loop->stopping &&
	    io_loop_read(loop, op, loop->wake_fd, &loop->wake_buf, sizeof(loop->wake_buf)) != 0)
		loop->stopping = true;
}

/*
 * SCHED_BATCH (sched(7)): a back-end's wake-up does not preempt the thread
 * running on this CPU, most often a vCPU. The VMM asks for it when the loop
 * serves a tap. Left to preempt, the loop handed over each frame the tap
 * queued the moment it came and interrupted the guest for it: about one
 * interrupt per frame, one ACK from the guest per two or three frames, and
 * a sender that kept its frames small. Left to finish its time slice, the
 * guest takes several frames per interrupt (docs/network.md, "Scheduling").
 * A CPU with nothing else to run still runs the loop at once. Moving
 * between normal policies needs no privilege. Returns 0 or -errno.
 */
static int io_loop_batch_policy(void)
{
	struct sched_param param = {.sched_priority = 0};

	return -pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
}

static void *io_loop_thread(void *arg)
{
	struct io_loop *loop = arg;

	pthread_setname_np(pthread_self(), "devices");
	/* Best effort: a refusal leaves the default policy, slower with a tap but correct. */
	if (loop->batch_sched)
		(void)io_loop_batch_policy();
	if (loop->on_thread_start)
		loop->on_thread_start(loop->thread_ctx);
	while (!loop->stopping) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_submit_and_wait(&loop->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			break;
		unsigned int head, seen = 0;

		io_uring_for_each_cqe(&loop->ring, head, cqe)
		{
			struct io_loop_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			seen++;
			loop->pending--;
			/* Mark done before the callback so it can resubmit the same op. */
			op->busy = false;
			/* Even while stopping: a completed write must be accounted for (drain). */
			op->cb(op, res);
		}
		io_uring_cq_advance(&loop->ring, seen);
	}
	return NULL;
}

/*
 * io_uring_register(2) itself: Debian 12's liburing.so does not export
 * io_uring_register_restrictions() or io_uring_enable_rings().
 */
static int io_loop_register(struct io_loop *loop, unsigned int opcode, void *arg,
			    unsigned int nr_args)
{
	long ret = syscall(__NR_io_uring_register, loop->ring.ring_fd, opcode, arg, nr_args);

	return ret < 0 ? -errno : 0;
}

/*
 * io_uring(7) restrictions (IORING_REGISTER_RESTRICTIONS, Linux 5.10): the
 * opcodes the devices use and nothing else, every SQE on a registered file.
 * io_uring operations bypass seccomp, so this is their allowlist.
 */
static int io_loop_restrict(struct io_loop *loop)
{
	static const unsigned char ops[] = {IORING_OP_READ, IORING_OP_WRITE, IORING_OP_WRITEV,
					    IORING_OP_POLL_ADD};
	struct io_uring_restriction res[sizeof(ops) + 2];
	unsigned int n = 0;

	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < sizeof(ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	/* No IORING_RESTRICTION_REGISTER_OP entry: every register operation is refused. */
	return io_loop_register(loop, IORING_REGISTER_RESTRICTIONS, res, n);
}

static int io_loop_enable(struct io_loop *loop)
{
	int ret;

	if (loop->enabled)
		return 0;
	ret = io_uring_register_files(&loop->ring, loop->files, loop->file_count);
	if (!ret && loop->restrict_ops)
		ret = io_loop_restrict(loop);
	if (!ret)
		ret = io_loop_register(loop, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (!ret)
		loop->enabled = true;
	return ret;
}

int io_loop_start(struct io_loop *loop)
{
	int ret = io_loop_enable(loop);

	if (ret)
		return ret;
	ret = thread_start(&loop->thread, io_loop_thread, loop);
	if (ret)
		return ret;
	loop->started = true;
	return 0;
}

void io_loop_stop(struct io_loop *loop)
{
	uint64_t one = 1;

	if (!loop->started)
		return;
	loop->stopping = true;
	ssize_t ignored = write(loop->wake_fd, &one, sizeof(one));
	(void)ignored;
	pthread_join(loop->thread, NULL);
	loop->started = false;
}

void io_loop_destroy(struct io_loop *loop)
{
	io_loop_stop(loop);
	if (loop->ring_ready) {
		/* Exiting the ring cancels whatever is still in flight. */
		io_uring_queue_exit(&loop->ring);
		pthread_mutex_destroy(&loop->calls_lock);
	}
	loop->ring_ready = false;
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	loop->wake_fd = -1;
}

static long long io_loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int io_loop_drain(struct io_loop *loop, bool (*busy)(void *arg), void *arg, int timeout_ms)
{
	long long deadline = io_loop_now_ms() + timeout_ms;

	if (loop->started || !loop->ring_ready || io_loop_enable(loop))
		return 0;
	while (busy(arg)) {
		long long left = deadline - io_loop_now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		struct __kernel_timespec ts = {.tv_sec = left / 1000,
					       .tv_nsec = (left % 1000) * 1000000};
		struct io_uring_cqe *cqe;

		io_uring_submit(&loop->ring);
		if (io_uring_wait_cqe_timeout(&loop->ring, &cqe, &ts) < 0)
			continue;
		unsigned int head, seen = 0;

		io_uring_for_each_cqe(&loop->ring, head, cqe)
		{
			struct io_loop_op *op = io_uring_cqe_get_data(cqe);

			seen++;
			loop->pending--;
			op->busy = false;
			/* Cross-thread calls are not run here: their senders are gone. */
			if (op != &loop->wake_op)
				op->cb(op, cqe->res);
		}
		io_uring_cq_advance(&loop->ring, seen);
	}
	return 0;
}
