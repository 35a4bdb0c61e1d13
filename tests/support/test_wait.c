/* Test support: waiting for another thread (the device loop) with a timeout. */
#include "tests/support/test_wait.h"

#include <errno.h>
#include <time.h>

void test_sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

bool test_wait_until(bool (*done)(void *arg), void *arg, unsigned int timeout_ms)
{
	for (unsigned int waited = 0; waited < timeout_ms; waited++) {
		if (done(arg))
			return true;
		test_sleep_ms(1);
	}
	return done(arg);
}
