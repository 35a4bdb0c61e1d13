/* Unit tests for the vhost-user front-end (devices/vhost/vhost_user.c): its own arguments
 * are rejected before anything is sent; attach and close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vhost_user_backend.h"

/* ---- our own arguments: rejected before anything is sent ---- */

static void test_vhost_user_set_mem_table_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct vhost_user_region r[VHOST_USER_MAX_REGIONS + 1];
	const struct vhost_user_region good = {
	    .guest_addr = 0, .size = 4096, .user_addr = 0x10000, .mmap_offset = 0, .fd = 0};

	for (unsigned int i = 0; i < VHOST_USER_MAX_REGIONS + 1; i++)
		r[i] = good;
	handshake_ok(f);

	assert_int_equal(vhost_user_set_mem_table(&f->vu, NULL, 1), -EINVAL);
	assert_int_equal(vhost_user_set_mem_table(&f->vu, r, 0), -EINVAL);
	assert_int_equal(vhost_user_set_mem_table(&f->vu, r, VHOST_USER_MAX_REGIONS + 1), -EINVAL);
	r[1].fd = -1;
	assert_int_equal(vhost_user_set_mem_table(&f->vu, r, 2), -EINVAL);
	r[1] = good;
	r[1].size = 0;
	assert_int_equal(vhost_user_set_mem_table(&f->vu, r, 2), -EINVAL);
	r[1] = good;
	r[1].guest_addr = UINT64_MAX - 4095;
	assert_int_equal(vhost_user_set_mem_table(&f->vu, r, 2), -EINVAL);
	r[1] = good;
	r[1].user_addr = UINT64_MAX - 100;
	assert_int_equal(vhost_user_set_mem_table(&f->vu, r, 2), -EINVAL);
	r[1] = good;
	r[1].mmap_offset = UINT64_MAX;
	assert_int_equal(vhost_user_set_mem_table(&f->vu, r, 2), -EINVAL);

	assert_false(f->vu.broken);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS);
}

static void test_vhost_user_set_mem_table_accepts_max_regions(void **state)
{
	struct fixture *f = *state;
	int ram = new_memfd("ram");
	struct vhost_user_region r[VHOST_USER_MAX_REGIONS];

	for (unsigned int i = 0; i < VHOST_USER_MAX_REGIONS; i++)
		r[i] = (struct vhost_user_region){.guest_addr = 0x100000ull * i,
						  .size = 0x100000,
						  .user_addr = 0x10000000 + 0x100000ull * i,
						  .mmap_offset = 0x100000ull * i,
						  .fd = ram};
	handshake_ok(f);

	assert_int_equal(vhost_user_set_mem_table(&f->vu, r, VHOST_USER_MAX_REGIONS), 0);

	be_finish(f);
	expect_msg(f, HANDSHAKE_MSGS, REQ_SET_MEM_TABLE, HDR_V1 | HDR_NEED_REPLY,
		   8 + 32 * VHOST_USER_MAX_REGIONS);
	assert_int_equal(f->be.msgs[HANDSHAKE_MSGS].nfds, VHOST_USER_MAX_REGIONS);
	assert_same_file(f->be.msgs[HANDSHAKE_MSGS].fds[7], ram);
	close(ram);
}

static void test_vhost_user_vring_calls_reject_index_256(void **state)
{
	struct fixture *f = *state;
	unsigned int base;

	handshake_ok(f);

	assert_int_equal(vhost_user_set_vring_num(&f->vu, 256, 64), -EINVAL);
	assert_int_equal(vhost_user_set_vring_base(&f->vu, 256, 0), -EINVAL);
	assert_int_equal(vhost_user_set_vring_addr(&f->vu, 256, 0x1000, 0x2000, 0x3000), -EINVAL);
	assert_int_equal(vhost_user_set_vring_kick(&f->vu, 256, -1), -EINVAL);
	assert_int_equal(vhost_user_set_vring_call(&f->vu, 256, -1), -EINVAL);
	assert_int_equal(vhost_user_set_vring_enable(&f->vu, 256, true), -EINVAL);
	assert_int_equal(vhost_user_get_vring_base(&f->vu, 256, &base), -EINVAL);
	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, NULL), -EINVAL);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS);
}

static void test_vhost_user_vring_calls_reject_bad_values(void **state)
{
	struct fixture *f = *state;
	uint64_t features_not_offered = FEAT_VERSION_1 | (1ull << 40);

	handshake_ok(f);

	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 0), -EINVAL);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 100), -EINVAL);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 65536), -EINVAL);
	assert_int_equal(vhost_user_set_vring_base(&f->vu, 0, 0x10000), -EINVAL);
	assert_int_equal(vhost_user_set_vring_addr(&f->vu, 0, 0x1008, 0x2000, 0x3000), -EINVAL);
	assert_int_equal(vhost_user_set_vring_addr(&f->vu, 0, 0x1000, 0x2002, 0x3000), -EINVAL);
	assert_int_equal(vhost_user_set_vring_addr(&f->vu, 0, 0x1000, 0x2000, 0x3001), -EINVAL);
	assert_int_equal(vhost_user_set_vring_kick(&f->vu, 0, -2), -EINVAL);
	assert_int_equal(vhost_user_set_vring_call(&f->vu, 0, -2), -EINVAL);
	assert_int_equal(vhost_user_set_features(&f->vu, features_not_offered), -EINVAL);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, NULL), -EINVAL);
	/* The extremes that are fine. */
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 32768), 0);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 1), 0);
	assert_int_equal(vhost_user_set_vring_base(&f->vu, 0, 0xffff), 0);
	assert_false(f->vu.broken);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 3);
}

static void test_vhost_user_attach_rejects_unusable_sockets(void **state)
{
	struct fixture *f = *state; /* already attached */
	struct vhost_user vu;
	int sv[2], dg[2], pipefd[2];

	vhost_user_init(&vu);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dg), 0);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);

	assert_int_equal(vhost_user_attach(&f->vu, sv[0], TIMEOUT_MS), -EBUSY);
	assert_int_equal(vhost_user_attach(&vu, -1, TIMEOUT_MS), -EBADF);
	assert_int_equal(vhost_user_attach(&vu, sv[0], 0), -EINVAL);
	assert_int_equal(vhost_user_attach(&vu, dg[0], TIMEOUT_MS), -EINVAL);
	assert_int_equal(vhost_user_attach(&vu, pipefd[0], TIMEOUT_MS), -ENOTSOCK);

	/* On failure the caller keeps its socket: still open, not adopted. */
	assert_int_equal(vu.sock, -1);
	assert_true(fcntl(sv[0], F_GETFD) >= 0);
	assert_true(f->vu.sock >= 0);
	close(sv[0]);
	close(sv[1]);
	close(dg[0]);
	close(dg[1]);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_vhost_user_attach_sets_timeouts_blocking_and_cloexec(void **state)
{
	(void)state;
	struct vhost_user vu;
	struct timeval rcv, snd;
	socklen_t len = sizeof(rcv);
	int sv[2];

	vhost_user_init(&vu);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);

	assert_int_equal(vhost_user_attach(&vu, sv[0], 1500), 0);

	assert_int_equal(vu.sock, sv[0]);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv, &len), 0);
	len = sizeof(snd);
	assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &snd, &len), 0);
	assert_int_equal(rcv.tv_sec, 1);
	assert_int_equal(rcv.tv_usec, 500000);
	assert_int_equal(snd.tv_sec, 1);
	assert_int_equal(snd.tv_usec, 500000);
	assert_int_equal(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	vhost_user_close(&vu);
	close(sv[1]);
}

static void test_vhost_user_calls_without_socket_return_enotconn(void **state)
{
	(void)state;
	struct vhost_user vu;
	uint64_t num;

	vhost_user_init(&vu);

	assert_int_equal(vu.sock, -1);
	assert_int_equal(vhost_user_handshake(&vu), -ENOTCONN);
	assert_int_equal(vhost_user_get_queue_num(&vu, &num), -ENOTCONN);
	assert_int_equal(vhost_user_set_vring_kick(&vu, 0, -1), -ENOTCONN);
}

static void test_vhost_user_close_is_idempotent(void **state)
{
	struct fixture *f = *state;

	handshake_ok(f);

	vhost_user_close(&f->vu);
	vhost_user_close(&f->vu);

	assert_int_equal(f->vu.sock, -1);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 64), -ENOTCONN);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS);
}

#define T(fn, setup_fn) cmocka_unit_test_setup_teardown(fn, setup_fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_vhost_user_set_mem_table_rejects_bad_arguments, setup),
	    T(test_vhost_user_set_mem_table_accepts_max_regions, setup),
	    T(test_vhost_user_vring_calls_reject_index_256, setup),
	    T(test_vhost_user_vring_calls_reject_bad_values, setup),
	    T(test_vhost_user_attach_rejects_unusable_sockets, setup),
	    T(test_vhost_user_attach_sets_timeouts_blocking_and_cloexec, setup),
	    T(test_vhost_user_calls_without_socket_return_enotconn, setup),
	    T(test_vhost_user_close_is_idempotent, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
