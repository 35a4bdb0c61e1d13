/* Test support: the VMM side of virtio_pci_host for unit tests, and a loop-parking call. */
#include "tests/support/test_host.h"

#include <sys/eventfd.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/test_wait.h"

int test_host_no_ioeventfd(void *ctx, uint64_t addr, int fd, bool assign)
{
	(void)ctx;
	(void)addr;
	(void)fd;
	(void)assign;
	return 0;
}

void test_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void test_log_init(struct test_log *log)
{
	memset(log, 0, sizeof(*log));
	pthread_mutex_init(&log->lock, NULL);
}

void test_log_destroy(struct test_log *log)
{
	pthread_mutex_destroy(&log->lock);
}

void test_log_add(struct test_log *log, const char *line)
{
	pthread_mutex_lock(&log->lock);
	if (log->count < TEST_LOG_MAX)
		snprintf(log->lines[log->count], TEST_LOG_LINE_MAX, "%s", line);
	log->count++;
	pthread_mutex_unlock(&log->lock);
}

void test_log_line(void *ctx, const char *line)
{
	test_log_add(ctx, line);
}

unsigned int test_log_count(struct test_log *log)
{
	pthread_mutex_lock(&log->lock);
	unsigned int n = log->count;

	pthread_mutex_unlock(&log->lock);
	return n;
}

void test_log_get(struct test_log *log, unsigned int i, char *out, size_t len)
{
	pthread_mutex_lock(&log->lock);
	snprintf(out, len, "%s", i < log->count && i < TEST_LOG_MAX ? log->lines[i] : "");
	pthread_mutex_unlock(&log->lock);
}

static void blocker_run(void *arg)
{
	struct blocker *b = arg;

	atomic_store(&b->entered, true);
	while (!atomic_load(&b->release))
		test_sleep_ms(1);
}

void blocker_start(struct blocker *b, struct io_loop *loop)
{
	b->call = (struct io_loop_call){.fn = blocker_run, .arg = b};
	io_loop_call(loop, &b->call);
}

bool blocker_entered(void *arg)
{
	struct blocker *b = arg;

	return atomic_load(&b->entered);
}

void blocker_release(struct blocker *b)
{
	atomic_store(&b->release, true);
}

void test_ram_one_region(struct guest_ram *ram, uint8_t *mem, uint64_t size)
{
	ram->regions[0] = (struct guest_ram_region){.gpa = 0, .size = size, .host = mem};
	ram->count = 1;
	ram->total = size;
}

int test_msi_eventfds(int *fds, unsigned int count)
{
	for (unsigned int v = 0; v < count; v++) {
		fds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[v] < 0)
			return -1;
	}
	return 0;
}
