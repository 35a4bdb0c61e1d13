/* Test support: waiting for another thread (the device loop) with a timeout. */
#ifndef MICROVMM_TESTS_SUPPORT_TEST_WAIT_H
#define MICROVMM_TESTS_SUPPORT_TEST_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Polls `done(arg)` every millisecond for up to timeout_ms; returns its last value. */
bool test_wait_until(bool (*done)(void *arg), void *arg, unsigned int timeout_ms);
/* Sleeps for `ms` milliseconds. */
void test_sleep_ms(unsigned int ms);
/* Reads exactly `len` bytes from fd (pipe or socket), or fewer when none come for timeout_ms. */
size_t test_read_within(int fd, uint8_t *out, size_t len, unsigned int timeout_ms);
/* Whether fd has nothing to read within `ms`. */
bool test_fd_quiet(int fd, unsigned int ms);

#endif
