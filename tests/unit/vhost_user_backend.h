/* The scripted vhost-user back-end (one thread answering as told) and the checks shared by the
 * vhost-user front-end's tests (devices/vhost/vhost_user.c). Include after <cmocka.h>. */
#ifndef MICROVMM_TESTS_UNIT_VHOST_USER_BACKEND_H
#define MICROVMM_TESTS_UNIT_VHOST_USER_BACKEND_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "boot/le.h"
#include "devices/vhost/vhost_user.h"

/*
 * Wire constants spelled out from vhost-user.rst on purpose, independently
 * of vhost_user.c, so that a wrong id or bit there fails here.
 */
enum {
	REQ_GET_FEATURES = 1,
	REQ_SET_FEATURES = 2,
	REQ_SET_OWNER = 3,
	REQ_SET_MEM_TABLE = 5,
	REQ_SET_VRING_NUM = 8,
	REQ_SET_VRING_ADDR = 9,
	REQ_SET_VRING_BASE = 10,
	REQ_GET_VRING_BASE = 11,
	REQ_SET_VRING_KICK = 12,
	REQ_SET_VRING_CALL = 13,
	REQ_GET_PROTOCOL_FEATURES = 15,
	REQ_SET_PROTOCOL_FEATURES = 16,
	REQ_GET_QUEUE_NUM = 17,
	REQ_SET_VRING_ENABLE = 18,
};

#define HDR_V1	       0x1u /* version 1 in bits 1:0 */
#define HDR_REPLY      0x4u
#define HDR_NEED_REPLY 0x8u

#define PROTO_MQ		  (1ull << 0)
#define PROTO_LOG_SHMFD		  (1ull << 1)
#define PROTO_REPLY_ACK		  (1ull << 3)
#define PROTO_BACKEND_REQ	  (1ull << 5)
#define PROTO_CONFIGURE_MEM_SLOTS (1ull << 15)
#define FEAT_INDIRECT_DESC	  (1ull << 28)
#define FEAT_EVENT_IDX		  (1ull << 29)
#define FEAT_PROTOCOL_FEATURES	  (1ull << 30)
#define FEAT_VERSION_1		  (1ull << 32)
#define VIRTIOFSD_FEATURES                                                                         \
	(FEAT_VERSION_1 | FEAT_PROTOCOL_FEATURES | FEAT_EVENT_IDX | FEAT_INDIRECT_DESC)
#define VIRTIOFSD_PROTOCOL                                                                         \
	(PROTO_MQ | PROTO_LOG_SHMFD | PROTO_REPLY_ACK | PROTO_BACKEND_REQ |                        \
	 PROTO_CONFIGURE_MEM_SLOTS)

#define TIMEOUT_MS	 2000
#define SHORT_TIMEOUT_MS 100
#define HANDSHAKE_MSGS	 4 /* SET_OWNER, GET_FEATURES, GET_/SET_PROTOCOL_FEATURES */

/* ---- the fake back-end: one thread, reading requests and answering as scripted ---- */

#define BE_MAX_MSGS    40
#define BE_MAX_PAYLOAD 512
#define BE_MAX_FDS     8

struct be_msg {
	uint32_t request, flags, size;
	uint8_t payload[BE_MAX_PAYLOAD];
	int fds[BE_MAX_FDS];
	unsigned int nfds;
};

enum be_mode {
	BE_AUTO,   /* answer like a well-behaved back-end */
	BE_RAW,	   /* write `bytes` verbatim */
	BE_SILENT, /* never answer */
	BE_HANGUP, /* write `bytes`, then close the socket */
};

struct be_reply {
	enum be_mode mode;
	uint64_t ack; /* BE_AUTO: the REPLY_ACK value */
	uint8_t bytes[64];
	size_t len;
	bool byte_by_byte; /* one sendmsg per byte, with a pause between */
	bool attach;	   /* send `fd` with the first byte */
	int fd;
};

struct backend {
	int sock;
	pthread_t thread;
	bool running;
	/* Behaviour; set before be_start(). */
	uint64_t features, protocol_features, queue_num;
	uint32_t vring_base;
	struct be_reply script[BE_MAX_MSGS]; /* by message number */
	/* What arrived; read after be_finish(). */
	struct be_msg msgs[BE_MAX_MSGS];
	unsigned int nmsgs;
};

struct fixture {
	struct vhost_user vu;
	struct backend be;
};

/* Reads exactly len bytes into buf, keeping every fd that arrives in m. */
static inline int be_read(struct backend *be, struct be_msg *m, uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * BE_MAX_FDS)];
		} ctl;
		struct iovec iov = {.iov_base = buf + off, .iov_len = len - off};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(be->sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* the front-end closed (or the safety timeout hit) */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < count; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				if (m->nfds < BE_MAX_FDS)
					m->fds[m->nfds++] = fd;
				else
					close(fd);
			}
		}
		off += (size_t)n;
	}
	return 0;
}

static inline int be_write(struct backend *be, const uint8_t *buf, size_t len, bool byte_by_byte,
			   int fd)
{
	size_t off = 0;

	while (off < len) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct iovec iov = {.iov_base = (void *)(buf + off),
				    .iov_len = byte_by_byte ? 1 : len - off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

		if (fd >= 0 && off == 0) {
			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(fd));
		}
		ssize_t n = sendmsg(be->sock, &mh, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
		/* Give the front-end time to read each piece on its own. */
		if (byte_by_byte)
			nanosleep(&(struct timespec){.tv_nsec = 2 * 1000 * 1000}, NULL);
	}
	return 0;
}

/* What a well-behaved back-end answers: GET_* replies, and acks when NEED_REPLY is set. */
static inline int be_answer(struct backend *be, const struct be_msg *m, const struct be_reply *r)
{
	uint8_t out[12 + 8];

	switch (m->request) {
	case REQ_GET_FEATURES:
		le_put64(out + 12, be->features);
		break;
	case REQ_GET_PROTOCOL_FEATURES:
		le_put64(out + 12, be->protocol_features);
		break;
	case REQ_GET_QUEUE_NUM:
		le_put64(out + 12, be->queue_num);
		break;
	case REQ_GET_VRING_BASE:
		le_put32(out + 12, le_get32(m->payload)); /* the index asked about */
		le_put32(out + 16, be->vring_base);
		break;
	default:
		if (!(m->flags & HDR_NEED_REPLY))
			return 0;
		le_put64(out + 12, r->ack);
	}
	le_put32(out, m->request);
	le_put32(out + 4, HDR_V1 | HDR_REPLY);
	le_put32(out + 8, 8);
	return be_write(be, out, sizeof(out), false, -1);
}

/* Returns nonzero when the back-end should stop. */
static inline int be_reply(struct backend *be, const struct be_msg *m, const struct be_reply *r)
{
	switch (r->mode) {
	case BE_AUTO:
		return be_answer(be, m, r);
	case BE_RAW:
		return be_write(be, r->bytes, r->len, r->byte_by_byte, r->attach ? r->fd : -1);
	case BE_SILENT:
		return 0;
	case BE_HANGUP:
		(void)be_write(be, r->bytes, r->len, false, -1);
		close(be->sock);
		be->sock = -1;
		return 1;
	}
	return 1;
}

static inline void *be_main(void *arg)
{
	struct backend *be = arg;

	while (be->nmsgs < BE_MAX_MSGS) {
		struct be_msg *m = &be->msgs[be->nmsgs];
		uint8_t hdr[12];

		if (be_read(be, m, hdr, sizeof(hdr)))
			break;
		m->request = le_get32(hdr);
		m->flags = le_get32(hdr + 4);
		m->size = le_get32(hdr + 8);
		if (m->size > BE_MAX_PAYLOAD || be_read(be, m, m->payload, m->size))
			break;
		if (be_reply(be, m, &be->script[be->nmsgs++]))
			break;
	}
	return NULL;
}

static inline void be_start(struct fixture *f)
{
	assert_int_equal(pthread_create(&f->be.thread, NULL, be_main, &f->be), 0);
	f->be.running = true;
}

/* Closes the front-end, so the back-end sees EOF and exits; its record is then final. */
static inline void be_finish(struct fixture *f)
{
	vhost_user_close(&f->vu);
	if (f->be.running)
		pthread_join(f->be.thread, NULL);
	f->be.running = false;
}

/* A reply header (+ payload) written verbatim for message number `i`. */
static inline void be_script_raw(struct fixture *f, unsigned int i, uint32_t request,
				 uint32_t flags, uint32_t size, const void *payload,
				 size_t payload_len)
{
	struct be_reply *r = &f->be.script[i];

	r->mode = BE_RAW;
	le_put32(r->bytes, request);
	le_put32(r->bytes + 4, flags);
	le_put32(r->bytes + 8, size);
	memcpy(r->bytes + 12, payload, payload_len);
	r->len = 12 + payload_len;
}

static inline int fixture_setup(void **state, int timeout_ms)
{
	struct fixture *f = calloc(1, sizeof(*f));
	/* Safety net: the back-end thread gives up on its own if a test forgets to close. */
	struct timeval tv = {.tv_sec = 10};
	int sv[2];

	if (!f)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		free(f);
		return -1;
	}
	setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	vhost_user_init(&f->vu);
	if (vhost_user_attach(&f->vu, sv[0], timeout_ms)) {
		close(sv[0]);
		close(sv[1]);
		free(f);
		return -1;
	}
	f->be.sock = sv[1];
	/* By default the back-end offers what C virtiofsd 7.2 offers (tech-notes §7.5). */
	f->be.features = VIRTIOFSD_FEATURES;
	f->be.protocol_features = VIRTIOFSD_PROTOCOL;
	f->be.queue_num = 2;
	*state = f;
	return 0;
}

static inline int setup(void **state)
{
	return fixture_setup(state, TIMEOUT_MS);
}

static inline int setup_short_timeout(void **state)
{
	return fixture_setup(state, SHORT_TIMEOUT_MS);
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	be_finish(f);
	if (f->be.sock >= 0)
		close(f->be.sock);
	for (unsigned int i = 0; i < BE_MAX_MSGS; i++)
		for (unsigned int j = 0; j < f->be.msgs[i].nfds; j++)
			close(f->be.msgs[i].fds[j]);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static inline const struct be_msg *expect_msg(struct fixture *f, unsigned int i, uint32_t request,
					      uint32_t flags, uint32_t size)
{
	const struct be_msg *m;

	assert_true(i < f->be.nmsgs);
	m = &f->be.msgs[i];
	assert_int_equal(m->request, request);
	assert_int_equal(m->flags, flags);
	assert_int_equal(m->size, size);
	return m;
}

static inline void expect_state(struct fixture *f, unsigned int i, uint32_t request, uint32_t flags,
				uint32_t index, uint32_t num)
{
	const struct be_msg *m = expect_msg(f, i, request, flags, 8);

	assert_int_equal(le_get32(m->payload), index);
	assert_int_equal(le_get32(m->payload + 4), num);
	assert_int_equal(m->nfds, 0);
}

static inline void expect_u64(struct fixture *f, unsigned int i, uint32_t request, uint32_t flags,
			      uint64_t value)
{
	const struct be_msg *m = expect_msg(f, i, request, flags, 8);

	assert_int_equal(le_get64(m->payload), value);
}

static inline void assert_same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(sa.st_dev, sb.st_dev);
	assert_int_equal(sa.st_ino, sb.st_ino);
}

/* memfds have an inode each, unlike eventfds, so fstat tells them apart. */
static inline int new_memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static inline int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void handshake_ok(struct fixture *f)
{
	be_start(f);
	assert_int_equal(vhost_user_handshake(&f->vu), 0);
}

/* The connection is dead: calls fail with -EPIPE and nothing more reaches the back-end. */
static inline void assert_broken_and_silent(struct fixture *f, unsigned int msgs_so_far)
{
	uint64_t num;
	unsigned int base;

	assert_true(f->vu.broken);
	assert_int_equal(vhost_user_handshake(&f->vu), -EPIPE);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), -EPIPE);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 256), -EPIPE);
	assert_int_equal(vhost_user_set_vring_kick(&f->vu, 0, -1), -EPIPE);
	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), -EPIPE);
	/* Even our own bad arguments: a broken connection answers -EPIPE first. */
	assert_int_equal(vhost_user_set_mem_table(&f->vu, NULL, 0), -EPIPE);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, msgs_so_far);
}

#endif
