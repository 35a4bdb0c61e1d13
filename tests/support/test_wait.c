/* Test support: waiting for another thread (the device loop) with a timeout. */
#include "tests/support/test_wait.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

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

size_t test_read_within(int fd, uint8_t *out, size_t len, unsigned int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (poll(&pfd, 1, (int)timeout_ms) != 1)
			break;
		ssize_t n = read(fd, out + got, len - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

bool test_fd_quiet(int fd, unsigned int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, (int)ms) == 0;
}
