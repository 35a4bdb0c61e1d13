/* Unit tests for the virtio-fs front-end (devices/virtio/fs.c): what a guest's bad rings cost. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/le.h"
#include "devices/virtio/fs.h"
#include "devices/virtio/virtio.h"
#include "tests/support/test_host.h"
#include "tests/support/test_wait.h"
#include "tests/support/vp_driver.h"

#define VECTORS	    (1 + VIRTIO_FS_QUEUES)
#define RAM_SIZE    (1u << 20)
#define OUTSIDE_RAM 0x80000000ULL
#define BAR_ADDR    0xc0000000ULL
#define TIMEOUT_MS  2000
#define QUEUE_SIZE  256
/* vhost-user.rst: GET_FEATURES is request 1; a reply carries version 1 and the REPLY flag. */
#define REQ_GET_FEATURES 1
#define HDR_V1_REPLY	 0x5u

struct fixture {
	struct io_loop loop;
	uint8_t *mem;
	struct guest_ram ram;
	int msi_fds[VECTORS];
	int be_sock; /* the back-end's end; it never speaks after the handshake */
	struct test_log log;
	struct virtio_fs fs;
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int sv[2];
	uint8_t reply[12 + 8];

	if (!f)
		return -1;
	*state = f;
	for (unsigned int v = 0; v < VECTORS; v++)
		f->msi_fds[v] = -1;
	f->be_sock = -1;
	test_log_init(&f->log);
	f->mem = calloc(1, RAM_SIZE);
	if (!f->mem || io_loop_init(&f->loop, 64) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	f->be_sock = sv[1];
	test_ram_one_region(&f->ram, f->mem, RAM_SIZE);
	if (test_msi_eventfds(f->msi_fds, VECTORS))
		return -1;
	/* The handshake's one question answered in advance: VERSION_1, no protocol features. */
	le_put32(reply, REQ_GET_FEATURES);
	le_put32(reply + 4, HDR_V1_REPLY);
	le_put32(reply + 8, 8);
	le_put64(reply + 12, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	if (write(f->be_sock, reply, sizeof(reply)) != (ssize_t)sizeof(reply))
		return -1;
	struct virtio_pci_host host = {
	    .ram = &f->ram,
	    .loop = &f->loop,
	    .ioeventfd = test_host_no_ioeventfd,
	    .log = test_log_line,
	    .ctx = &f->log,
	    .msi_fds = f->msi_fds,
	};

	struct vhost_user_region no_regions[1] = {{.fd = -1}};

	if (virtio_fs_init(&f->fs, "share", sv[0], no_regions, 0, &host, BAR_ADDR))
		return -1;
	return io_loop_start(&f->loop) ? -1 : 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	io_loop_stop(&f->loop);
	virtio_fs_destroy(&f->fs);
	io_loop_destroy(&f->loop);
	test_close_fd(&f->be_sock);
	for (unsigned int v = 0; v < VECTORS; v++)
		test_close_fd(&f->msi_fds[v]);
	test_log_destroy(&f->log);
	free(f->mem);
	free(f);
	return 0;
}

static bool needs_reset(void *arg)
{
	struct fixture *f = arg;

	return vp_driver_status(&f->fs.vp) & VIRTIO_STATUS_NEEDS_RESET;
}

/* The rings are checked by the transport even though virtiofsd serves them. */
static void test_virtio_fs_ring_outside_ram_logs_one_line(void **state)
{
	struct fixture *f = *state;
	char line[TEST_LOG_LINE_MAX];

	assert_true(vp_driver_negotiate(&f->fs.vp, VIRTIO_BIT(VIRTIO_F_VERSION_1)));
	vp_driver_setup_queue(&f->fs.vp, 0, QUEUE_SIZE, 1, 0x1000, 0x5000, 0x6000);
	vp_driver_setup_queue(&f->fs.vp, 1, QUEUE_SIZE, 2, OUTSIDE_RAM, OUTSIDE_RAM + 0x4000,
			      OUTSIDE_RAM + 0x5000);

	vp_driver_set_status(&f->fs.vp, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);

	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
	assert_int_equal(test_log_count(&f->log), 1);
	test_log_get(&f->log, 0, line, sizeof(line));
	assert_string_equal(line, "virtio-fs: queue 1 broken: ring outside guest RAM");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_virtio_fs_ring_outside_ram_logs_one_line,
					    fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
