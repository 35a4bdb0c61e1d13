/* Test support: what a device's host provides in unit tests (the VMM side of virtio_pci_host),
 * and a call that parks the device loop. */
#ifndef MICROVMM_TESTS_SUPPORT_TEST_HOST_H
#define MICROVMM_TESTS_SUPPORT_TEST_HOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/guest_ram.h"
#include "devices/io_loop.h"

/* An ioeventfd callback that accepts everything and registers nothing (kicks go through MMIO). */
int test_host_no_ioeventfd(void *ctx, uint64_t addr, int fd, bool assign);

/* Closes *fd if open and sets it to -1. */
void test_close_fd(int *fd);

/* A guest RAM view of one region: `size` bytes of `mem` at guest address 0. */
void test_ram_one_region(struct guest_ram *ram, uint8_t *mem, uint64_t size);
/* `count` non-blocking eventfds into fds[] (the MSI vectors); -1 when one cannot be made. */
int test_msi_eventfds(int *fds, unsigned int count);

/* Lines a device logged through virtio_pci_host.log, kept for assertions (any thread). */
#define TEST_LOG_MAX	  32
#define TEST_LOG_LINE_MAX 256
struct test_log {
	pthread_mutex_t lock;
	unsigned int count; /* lines logged, including those past TEST_LOG_MAX */
	char lines[TEST_LOG_MAX][TEST_LOG_LINE_MAX];
};

void test_log_init(struct test_log *log);
void test_log_destroy(struct test_log *log);
/* Records `line`: the body of a log callback whose context is not the log itself. */
void test_log_add(struct test_log *log, const char *line);
/* A virtio_pci_host.log callback for host.ctx == the struct test_log. */
void test_log_line(void *ctx, const char *line);
unsigned int test_log_count(struct test_log *log);
/* Copies line `i` (< TEST_LOG_MAX) into out, "" when there is none. */
void test_log_get(struct test_log *log, unsigned int i, char *out, size_t len);

/* A call that parks the loop thread until released, so calls queue up behind it. */
struct blocker {
	struct io_loop_call call;
	atomic_bool entered, release;
};

/* Queues the blocker on `loop` (call blocker_release, also in teardowns). */
void blocker_start(struct blocker *b, struct io_loop *loop);
/* A test_wait_until() predicate: the loop thread is parked in the blocker. */
bool blocker_entered(void *arg);
void blocker_release(struct blocker *b);

#endif
