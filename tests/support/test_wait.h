/* Test support: waiting for another thread (the device loop) with a timeout. */
#ifndef MICROVMM_TESTS_SUPPORT_TEST_WAIT_H
#define MICROVMM_TESTS_SUPPORT_TEST_WAIT_H

#include <stdbool.h>

/* Polls `done(arg)` every millisecond for up to timeout_ms; returns its last value. */
bool test_wait_until(bool (*done)(void *arg), void *arg, unsigned int timeout_ms);
/* Sleeps for `ms` milliseconds. */
void test_sleep_ms(unsigned int ms);

#endif
