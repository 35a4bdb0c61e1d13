/*
 * libFuzzer target: the vhost-user front-end's reply parsing (devices/vhost/vhost_user.c). The
 * input after its first byte is everything a hostile back-end sends on the socket, queued on a
 * socketpair before the front-end starts (then the back-end's side is shut for writing, so a
 * short reply is an end of file, not a timeout). The front-end runs the handshake and the
 * requests virtio-fs makes; bit 0 of the first byte also sends an fd with the replies, which
 * the front-end must close. Every fd is closed per input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/vhost/vhost_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void queue_replies(int fd, const uint8_t *data, size_t size, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = (void *)data, .iov_len = size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (size == 0)
		return;
	if (pass_fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)size)
		abort();
}

/* The requests a virtio-fs device makes, in its order; each may fail on a bad reply. */
static void drive(struct vhost_user *vu, int mem_fd, int event_fd)
{
	struct vhost_user_region r = {
	    .guest_addr = 0, .size = 4096, .user_addr = 0x10000, .mmap_offset = 0, .fd = mem_fd};
	uint64_t num;
	unsigned int base;

	(void)vhost_user_handshake(vu);
	(void)vhost_user_get_queue_num(vu, &num);
	(void)vhost_user_set_features(vu, vu->features);
	(void)vhost_user_set_mem_table(vu, &r, 1);
	for (unsigned int q = 0; q < 2; q++) {
		(void)vhost_user_set_vring_num(vu, q, 128);
		(void)vhost_user_set_vring_base(vu, q, 0);
		(void)vhost_user_set_vring_addr(vu, q, 0x10000, 0x11000, 0x10800);
		(void)vhost_user_set_vring_kick(vu, q, event_fd);
		(void)vhost_user_set_vring_call(vu, q, event_fd);
		(void)vhost_user_set_vring_enable(vu, q, true);
	}
	(void)vhost_user_get_vring_base(vu, 0, &base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int mem_fd = -1, event_fd = -1;
	struct vhost_user vu;
	int sv[2];

	if (size < 1 || size > 65536)
		return 0;
	if (mem_fd < 0) {
		mem_fd = memfd_create("fuzz-ram", MFD_CLOEXEC);
		event_fd = eventfd(0, EFD_CLOEXEC);
		if (mem_fd < 0 || event_fd < 0 || ftruncate(mem_fd, 4096))
			abort();
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	queue_replies(sv[1], data + 1, size - 1, data[0] & 1 ? event_fd : -1);
	shutdown(sv[1], SHUT_WR);
	vhost_user_init(&vu);
	if (vhost_user_attach(&vu, sv[0], 1000))
		abort();
	drive(&vu, mem_fd, event_fd);
	vhost_user_close(&vu);
	close(sv[1]);
	return 0;
}
