/* A 16550A UART at the COM1 ports: early boot messages out, terminal input in. */
#ifndef MICROVMM_DEVICES_LEGACY_SERIAL_H
#define MICROVMM_DEVICES_LEGACY_SERIAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/io.h"

#define SERIAL_PORT_COUNT 8
#define SERIAL_RX_FIFO	  256

/*
 * Locking: `lock` guards every register and the RX FIFO. vCPU threads call
 * the io_ops; one input thread calls serial_push_input(). Transmitted bytes
 * go to `out_fd` (-1 drops them) while the lock is held, so output order
 * matches the guest's writes.
 */
struct serial {
	pthread_mutex_t lock;
	pthread_cond_t rx_space; /* signalled when the guest drains the RX FIFO */
	struct irq_line irq;
	int out_fd;
	bool irq_level;

	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending; /* "transmitter holding register empty" interrupt latched */
	uint8_t msr_delta;

	uint8_t rx[SERIAL_RX_FIFO];
	size_t rx_head, rx_count;

	/* Recognises the kernel's panic banner in the output (see serial.c). */
	size_t panic_match;
	bool panic_seen;
};

extern const struct io_ops serial_io_ops;

/* Returns 0 or -errno from pthread setup. `out_fd` is not owned. */
int serial_init(struct serial *s, int out_fd, struct irq_line irq)
    __attribute__((warn_unused_result));
void serial_destroy(struct serial *s);

/*
 * Queues up to `len` input bytes for the guest and returns how many fit.
 * With `wait` it blocks until at least one byte fits or `*stop` becomes
 * true (checked on every wake-up; serial_wake_input() wakes the waiter).
 */
size_t serial_push_input(struct serial *s, const uint8_t *data, size_t len, bool wait,
			 const atomic_bool *stop);
void serial_wake_input(struct serial *s);

/*
 * True once the guest printed "Kernel panic - not syncing" anywhere in a
 * line (kernel lines may carry a "[ time]" prefix). A guest can fake it;
 * it only decides whether the reset that follows is called a panic.
 */
bool serial_panic_seen(struct serial *s);

#endif
