/* A sliding-window limit on log lines a guest can cause: at most `burst` lines in any `window`. */
#ifndef MICROVMM_DEVICES_LOG_LIMIT_H
#define MICROVMM_DEVICES_LOG_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define LOG_LIMIT_MAX_BURST 16

/*
 * The times of the last `burst` lines let through, oldest first at `next`.
 * Zero-initialised with burst and window_ms set is ready to use. No
 * locking: the owner calls it from one thread (the VMM from the device
 * loop, where every virtio device reports its faults).
 */
struct log_limit {
	unsigned int burst; /* at most LOG_LIMIT_MAX_BURST */
	uint64_t window_ms; /* e.g. 1000 */
	uint64_t sent_ms[LOG_LIMIT_MAX_BURST];
	unsigned int sent; /* entries of sent_ms in use (< burst until the first full window) */
	unsigned int next; /* the oldest entry once sent == burst */
	unsigned int suppressed; /* lines refused since the last one let through */
};

/*
 * Whether a line at `now_ms` (a monotonic clock) may go out. When it may,
 * `*suppressed` gets the number of lines refused since the previous one
 * (to say so in the line) and the count restarts.
 */
bool log_limit_allow(struct log_limit *l, uint64_t now_ms, unsigned int *suppressed);

/* CLOCK_MONOTONIC in milliseconds, for log_limit_allow(). */
uint64_t log_limit_now_ms(void);

#endif
