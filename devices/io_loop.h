/* The device loop: one thread, one io_uring, every device's I/O submitted and completed there. */
#ifndef MICROVMM_DEVICES_IO_LOOP_H
#define MICROVMM_DEVICES_IO_LOOP_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct io_loop_op;

/* Called on the loop thread with the operation's result (bytes or -errno). */
typedef void (*io_loop_cb)(struct io_loop_op *op, int res);

/*
 * One outstanding operation. The owner embeds it in its own state and gets
 * it back in the callback (container_of style through `opaque`). An op may
 * be resubmitted from its own callback. `busy` is true while submitted.
 */
struct io_loop_op {
	io_loop_cb cb;
	void *opaque;
	bool busy;
};

/*
 * Threading: io_loop_init, the first submissions and io_loop_start happen on the
 * main thread before the loop runs; after that only the loop thread submits
 * (from callbacks). Other threads talk to the loop through eventfds that
 * devices read via io_loop_read, or through io_loop_call().
 */
/* Files the ring may touch: every fd is registered before the ring is enabled. */
#define IO_LOOP_MAX_FILES 64

struct io_loop {
	struct io_uring ring;
	bool ring_ready;
	/*
	 * The ring is created disabled (IORING_SETUP_R_DISABLED): until
	 * io_loop_start, operations only record their fd here; then the table
	 * is registered, the restrictions (when `restrict_ops`) applied and the
	 * ring enabled. Every SQE uses a fixed file, so after start the ring
	 * can reach no fd but these.
	 */
	int files[IO_LOOP_MAX_FILES];
	unsigned int file_count;
	bool enabled;
	bool restrict_ops; /* set before io_loop_start: only our opcodes, fixed files only */
	/* Set before io_loop_start: the thread runs as SCHED_BATCH (io_loop.c says why). */
	bool batch_sched;
	/* Set before io_loop_start: runs first on the loop thread (the VMM's seccomp filter). */
	void (*on_thread_start)(void *ctx);
	void *thread_ctx;
	int wake_fd; /* eventfd for io_loop_call() and io_loop_stop() */
	uint64_t wake_buf;
	struct io_loop_op wake_op;
	pthread_mutex_t calls_lock;
	struct io_loop_call *calls; /* pending cross-thread calls */
	atomic_bool stopping;	    /* read by the loop thread, set by io_loop_stop() */
	pthread_t thread;
	bool started;
	unsigned int pending; /* submitted, not completed */
};

/* Returns 0 or -errno; -ENOSYS when the host kernel has no io_uring. */
int io_loop_init(struct io_loop *loop, unsigned int entries) __attribute__((warn_unused_result));

int io_loop_read(struct io_loop *loop, struct io_loop_op *op, int fd, void *buf, size_t len)
    __attribute__((warn_unused_result));
/* `buf` must stay valid until the completion. */
int io_loop_write(struct io_loop *loop, struct io_loop_op *op, int fd, const void *buf, size_t len)
    __attribute__((warn_unused_result));

/* One write gathered from iov[0, count); the array and its buffers stay valid until completion. */
int io_loop_writev(struct io_loop *loop, struct io_loop_op *op, int fd, const struct iovec *iov,
		   unsigned int count) __attribute__((warn_unused_result));

/* One-shot poll: completes with the ready poll(2) events of fd that are in `events`. */
int io_loop_poll(struct io_loop *loop, struct io_loop_op *op, int fd, unsigned int events)
    __attribute__((warn_unused_result));

/*
 * Runs `fn(arg)` on the loop thread soon. Safe from any thread. The node is
 * the caller's: set fn and arg once; calling again while it is still
 * pending is a no-op (the one pending run covers both), so a node can never
 * be linked twice (a second link would make the list a loop the loop
 * thread runs forever).
 */
struct io_loop_call {
	void (*fn)(void *arg);
	void *arg;
	struct io_loop_call *next;
	bool pending; /* linked on loop->calls; guarded by loop->calls_lock */
};
void io_loop_call(struct io_loop *loop, struct io_loop_call *call);

/*
 * Before io_loop_start: an fd that operations will use later (e.g. an output
 * that is only written once data arrives). Operations submitted before the
 * start register their fd themselves. Returns 0, -ENOSPC or -EBUSY (started).
 */
int io_loop_add_file(struct io_loop *loop, int fd) __attribute__((warn_unused_result));

/*
 * Registers the file table, restricts the ring when loop->restrict_ops
 * (opcodes READ, WRITE, WRITEV and POLL_ADD; IOSQE_FIXED_FILE required; no register
 * operation at all: io_uring_register(2), io_uring_setup(2) are never needed
 * again), enables it, and starts the thread.
 */
int io_loop_start(struct io_loop *loop) __attribute__((warn_unused_result));

/*
 * After io_loop_stop(): the calling thread takes the ring over and runs
 * completions (callbacks included) until `busy(arg)` is false or
 * `timeout_ms` passed. Used to drain guest output when the VM ends.
 * Returns 0, or -ETIMEDOUT.
 */
int io_loop_drain(struct io_loop *loop, bool (*busy)(void *arg), void *arg, int timeout_ms);

/* Stops and joins the loop thread; outstanding operations are cancelled. Idempotent. */
void io_loop_stop(struct io_loop *loop);
void io_loop_destroy(struct io_loop *loop);

#endif
