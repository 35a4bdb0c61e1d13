/* An ordered byte stream to one fd through the device loop: a fill buffer and one write in flight.
 */
#ifndef MICROVMM_DEVICES_IO_WRITER_H
#define MICROVMM_DEVICES_IO_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "boot/growbuf.h"
#include "devices/io_loop.h"

/*
 * Bytes are appended to buf[fill]; the other buffer is being written (one
 * write in flight keeps the stream's order, and a short write's rest goes
 * before anything newer). A failed write (EPIPE, EIO) or a failed
 * allocation makes the writer dead: later bytes are dropped, so a broken
 * reader never stops the guest. Loop thread only, after io_writer_init();
 * the fd is borrowed and must be known to the loop (io_loop_add_file)
 * before it starts.
 */
struct io_writer {
	struct io_loop *loop;
	int fd;
	struct growbuf buf[2];
	size_t off; /* bytes of buf[!fill] already written */
	unsigned int fill;
	bool busy; /* a write of buf[!fill] is in flight */
	bool dead;
	struct io_loop_op op;
	/* A buffer was written out: the owner may append more (loop thread). */
	void (*on_room)(void *ctx);
	void *ctx;
};

void io_writer_init(struct io_writer *w, struct io_loop *loop, int fd, void (*on_room)(void *ctx),
		    void *ctx);
void io_writer_destroy(struct io_writer *w);

/* Bytes appended and not yet handed to a write. */
static inline size_t io_writer_backlog(const struct io_writer *w)
{
	return w->buf[w->fill].len;
}

/*
 * Room for `len` more bytes at the end of the stream, for the caller to fill
 * at once; NULL when the writer is dead (an allocation failure kills it).
 */
void *io_writer_extend(struct io_writer *w, size_t len);

/* Starts writing what was appended, unless a write is in flight. */
void io_writer_flush(struct io_writer *w);

#endif
