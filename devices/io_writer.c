/* An ordered byte stream to one fd through the device loop; see io_writer.h. */
#include "devices/io_writer.h"

#include <errno.h>
#include <string.h>

static void io_writer_done(struct io_loop_op *op, int res);

void io_writer_init(struct io_writer *w, struct io_loop *loop, int fd, void (*on_room)(void *ctx),
		    void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->loop = loop;
	w->fd = fd;
	w->on_room = on_room;
	w->ctx = ctx;
	w->op = (struct io_loop_op){.cb = io_writer_done, .opaque = w};
}

void io_writer_destroy(struct io_writer *w)
{
	growbuf_free(&w->buf[0]);
	growbuf_free(&w->buf[1]);
}

void *io_writer_extend(struct io_writer *w, size_t len)
{
	void *at;

	if (w->dead)
		return NULL;
	at = growbuf_extend(&w->buf[w->fill], len);
	if (!at)
		w->dead = true;
	return at;
}

/* Writes the rest of buf[!fill] from `off`. */
static void io_writer_submit(struct io_writer *w)
{
	struct growbuf *b = &w->buf[w->fill ^ 1];

	w->busy = io_loop_write(w->loop, &w->op, w->fd, b->data + w->off, b->len - w->off) == 0;
	if (!w->busy) {
		w->dead = true;
		growbuf_clear(b);
		w->off = 0;
	}
}

void io_writer_flush(struct io_writer *w)
{
	if (w->busy || io_writer_backlog(w) == 0)
		return;
	w->fill ^= 1;
	w->off = 0;
	if (w->dead) {
		growbuf_clear(&w->buf[w->fill ^ 1]);
		return;
	}
	io_writer_submit(w);
}

/*
 * Errors that say nothing about the reader: an interrupted or cancelled
 * write (io_uring cancels an exiting thread's requests; a worker blocked
 * in pipe_write that is interrupted may report the kernel's internal
 * ERESTART* codes), or a full non-blocking pipe.
 */
static bool io_writer_retryable(int res)
{
	return res == -EINTR || res == -EAGAIN || res == -ECANCELED ||
	       (res <= -512 && res >= -516); /* ERESTARTSYS .. ERESTART_RESTARTBLOCK */
}

static void io_writer_done(struct io_loop_op *op, int res)
{
	struct io_writer *w = op->opaque;
	struct growbuf *b = &w->buf[w->fill ^ 1];

	w->busy = false;
	if (io_writer_retryable(res)) {
		/*
		 * Not the reader's doing: io_uring cancels the requests of a
		 * thread that exits, so a write still blocked on a slow reader
		 * when the device loop stops comes back -ECANCELED (or -EINTR).
		 * Whoever drains the loop next submits it again.
		 */
		res = 0;
	} else if (res < 0) {
		/* The reader went away (EPIPE) or failed: drop this and later output. */
		w->dead = true;
		res = (int)(b->len - w->off);
	}
	w->off += (size_t)res;
	if (w->off < b->len) {
		/* Short write: the rest goes first, before anything newer. */
		io_writer_submit(w);
		return;
	}
	growbuf_clear(b);
	w->off = 0;
	io_writer_flush(w);
	if (w->on_room)
		w->on_room(w->ctx);
}
