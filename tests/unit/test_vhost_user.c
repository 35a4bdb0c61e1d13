/* Unit tests for the vhost-user front-end (devices/vhost/vhost_user.c) against a scripted back-end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
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

#include <cmocka.h>

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
static int be_read(struct backend *be, struct be_msg *m, uint8_t *buf, size_t len)
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

static int be_write(struct backend *be, const uint8_t *buf, size_t len, bool byte_by_byte, int fd)
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
static int be_answer(struct backend *be, const struct be_msg *m, const struct be_reply *r)
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
static int be_reply(struct backend *be, const struct be_msg *m, const struct be_reply *r)
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

static void *be_main(void *arg)
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

static void be_start(struct fixture *f)
{
	assert_int_equal(pthread_create(&f->be.thread, NULL, be_main, &f->be), 0);
	f->be.running = true;
}

/* Closes the front-end, so the back-end sees EOF and exits; its record is then final. */
static void be_finish(struct fixture *f)
{
	vhost_user_close(&f->vu);
	if (f->be.running)
		pthread_join(f->be.thread, NULL);
	f->be.running = false;
}

/* A reply header (+ payload) written verbatim for message number `i`. */
static void be_script_raw(struct fixture *f, unsigned int i, uint32_t request, uint32_t flags,
			  uint32_t size, const void *payload, size_t payload_len)
{
	struct be_reply *r = &f->be.script[i];

	r->mode = BE_RAW;
	le_put32(r->bytes, request);
	le_put32(r->bytes + 4, flags);
	le_put32(r->bytes + 8, size);
	memcpy(r->bytes + 12, payload, payload_len);
	r->len = 12 + payload_len;
}

static int fixture_setup(void **state, int timeout_ms)
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

static int setup(void **state)
{
	return fixture_setup(state, TIMEOUT_MS);
}

static int setup_short_timeout(void **state)
{
	return fixture_setup(state, SHORT_TIMEOUT_MS);
}

static int teardown(void **state)
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

static const struct be_msg *expect_msg(struct fixture *f, unsigned int i, uint32_t request,
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

static void expect_state(struct fixture *f, unsigned int i, uint32_t request, uint32_t flags,
			 uint32_t index, uint32_t num)
{
	const struct be_msg *m = expect_msg(f, i, request, flags, 8);

	assert_int_equal(le_get32(m->payload), index);
	assert_int_equal(le_get32(m->payload + 4), num);
	assert_int_equal(m->nfds, 0);
}

static void expect_u64(struct fixture *f, unsigned int i, uint32_t request, uint32_t flags,
		       uint64_t value)
{
	const struct be_msg *m = expect_msg(f, i, request, flags, 8);

	assert_int_equal(le_get64(m->payload), value);
}

static void assert_same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_int_equal(sa.st_dev, sb.st_dev);
	assert_int_equal(sa.st_ino, sb.st_ino);
}

/* memfds have an inode each, unlike eventfds, so fstat tells them apart. */
static int new_memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static int count_open_fds(void)
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

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void handshake_ok(struct fixture *f)
{
	be_start(f);
	assert_int_equal(vhost_user_handshake(&f->vu), 0);
}

/* The connection is dead: calls fail with -EPIPE and nothing more reaches the back-end. */
static void assert_broken_and_silent(struct fixture *f, unsigned int msgs_so_far)
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

/* ---- handshake ---- */

static void test_vhost_user_handshake_negotiates_reply_ack(void **state)
{
	struct fixture *f = *state;

	handshake_ok(f);

	assert_int_equal(f->vu.features, VIRTIOFSD_FEATURES);
	assert_int_equal(f->vu.protocol_features, PROTO_MQ | PROTO_REPLY_ACK);
	assert_true(f->vu.reply_ack);
	assert_false(f->vu.broken);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS);
	/* SET_OWNER precedes the negotiation: no NEED_REPLY, no payload. */
	expect_msg(f, 0, REQ_SET_OWNER, HDR_V1, 0);
	expect_msg(f, 1, REQ_GET_FEATURES, HDR_V1, 0);
	expect_msg(f, 2, REQ_GET_PROTOCOL_FEATURES, HDR_V1, 0);
	/* ours (REPLY_ACK | MQ) & theirs; REPLY_ACK is not in force for this message yet. */
	expect_u64(f, 3, REQ_SET_PROTOCOL_FEATURES, HDR_V1, PROTO_MQ | PROTO_REPLY_ACK);
}

static void
test_vhost_user_handshake_without_protocol_features_sends_no_protocol_messages(void **state)
{
	struct fixture *f = *state;
	uint64_t num;

	f->be.features = FEAT_VERSION_1 | FEAT_EVENT_IDX;
	handshake_ok(f);

	assert_int_equal(f->vu.features, FEAT_VERSION_1 | FEAT_EVENT_IDX);
	assert_int_equal(f->vu.protocol_features, 0);
	assert_false(f->vu.reply_ack);
	/* No ack to wait for: the back-end answers nothing and the call still succeeds. */
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 256), 0);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), -EOPNOTSUPP);
	assert_int_equal(vhost_user_set_vring_enable(&f->vu, 0, true), -EOPNOTSUPP);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, 3);
	expect_msg(f, 0, REQ_SET_OWNER, HDR_V1, 0);
	expect_msg(f, 1, REQ_GET_FEATURES, HDR_V1, 0);
	expect_state(f, 2, REQ_SET_VRING_NUM, HDR_V1, 0, 256);
}

static void test_vhost_user_handshake_without_reply_ack_sends_no_need_reply(void **state)
{
	struct fixture *f = *state;
	uint64_t num = 0;

	f->be.protocol_features = PROTO_MQ | PROTO_BACKEND_REQ;
	f->be.queue_num = 1;
	handshake_ok(f);

	assert_int_equal(f->vu.protocol_features, PROTO_MQ);
	assert_false(f->vu.reply_ack);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), 0);
	assert_int_equal(num, 1);
	assert_int_equal(vhost_user_set_features(&f->vu, FEAT_VERSION_1), 0);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, 6);
	expect_u64(f, 3, REQ_SET_PROTOCOL_FEATURES, HDR_V1, PROTO_MQ);
	expect_msg(f, 4, REQ_GET_QUEUE_NUM, HDR_V1, 0);
	expect_u64(f, 5, REQ_SET_FEATURES, HDR_V1, FEAT_VERSION_1);
}

static void test_vhost_user_get_queue_num_needs_mq(void **state)
{
	struct fixture *f = *state;
	uint64_t num;

	f->be.protocol_features = PROTO_REPLY_ACK;
	handshake_ok(f);

	assert_true(f->vu.reply_ack);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), -EOPNOTSUPP);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS);
}

/* ---- the device sequence, byte by byte ---- */

static void test_vhost_user_set_features_and_mem_table_send_exact_bytes(void **state)
{
	struct fixture *f = *state;
	int ram = new_memfd("ram"), high = new_memfd("high");
	const struct vhost_user_region regions[2] = {
	    {.guest_addr = 0,
	     .size = 0xc0000000,
	     .user_addr = 0x7f0000000000,
	     .mmap_offset = 0,
	     .fd = ram},
	    {.guest_addr = 0x100000000,
	     .size = 0x40000000,
	     .user_addr = 0x7f00c0000000,
	     .mmap_offset = 0xc0000000,
	     .fd = high},
	};
	const struct be_msg *m;

	handshake_ok(f);
	assert_int_equal(vhost_user_set_features(&f->vu, FEAT_VERSION_1 | FEAT_PROTOCOL_FEATURES),
			 0);
	assert_int_equal(vhost_user_set_mem_table(&f->vu, regions, 2), 0);

	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 2);
	/* REPLY_ACK is in force: every SET_* asks for an ack. */
	expect_u64(f, 4, REQ_SET_FEATURES, HDR_V1 | HDR_NEED_REPLY,
		   FEAT_VERSION_1 | FEAT_PROTOCOL_FEATURES);
	/* u32 nregions, u32 padding, then 2 x {gpa, size, user_addr, mmap_offset}. */
	m = expect_msg(f, 5, REQ_SET_MEM_TABLE, HDR_V1 | HDR_NEED_REPLY, 8 + 2 * 32);
	assert_int_equal(le_get32(m->payload), 2);
	assert_int_equal(le_get32(m->payload + 4), 0);
	for (unsigned int i = 0; i < 2; i++) {
		const uint8_t *r = m->payload + 8 + 32 * i;

		assert_int_equal(le_get64(r), regions[i].guest_addr);
		assert_int_equal(le_get64(r + 8), regions[i].size);
		assert_int_equal(le_get64(r + 16), regions[i].user_addr);
		assert_int_equal(le_get64(r + 24), regions[i].mmap_offset);
	}
	/* One fd per region, in region order. */
	assert_int_equal(m->nfds, 2);
	assert_same_file(m->fds[0], ram);
	assert_same_file(m->fds[1], high);
	close(ram);
	close(high);
}

static void test_vhost_user_queue_setup_sends_exact_bytes(void **state)
{
	struct fixture *f = *state;
	int kick = new_memfd("kick"), call = new_memfd("call");
	const uint64_t desc = 0x7f0000001000, avail = 0x7f0000002000, used = 0x7f0000003000;
	const struct be_msg *m;

	handshake_ok(f);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 1, 1024), 0);
	assert_int_equal(vhost_user_set_vring_base(&f->vu, 1, 0), 0);
	assert_int_equal(vhost_user_set_vring_addr(&f->vu, 1, desc, used, avail), 0);
	assert_int_equal(vhost_user_set_vring_call(&f->vu, 1, call), 0);
	assert_int_equal(vhost_user_set_vring_kick(&f->vu, 1, kick), 0);
	assert_int_equal(vhost_user_set_vring_enable(&f->vu, 1, true), 0);

	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 6);
	expect_state(f, 4, REQ_SET_VRING_NUM, HDR_V1 | HDR_NEED_REPLY, 1, 1024);
	expect_state(f, 5, REQ_SET_VRING_BASE, HDR_V1 | HDR_NEED_REPLY, 1, 0);
	/* {u32 index, u32 flags, u64 desc, u64 used, u64 avail, u64 log}: used before avail. */
	m = expect_msg(f, 6, REQ_SET_VRING_ADDR, HDR_V1 | HDR_NEED_REPLY, 40);
	assert_int_equal(le_get32(m->payload), 1);
	assert_int_equal(le_get32(m->payload + 4), 0);
	assert_int_equal(le_get64(m->payload + 8), desc);
	assert_int_equal(le_get64(m->payload + 16), used);
	assert_int_equal(le_get64(m->payload + 24), avail);
	assert_int_equal(le_get64(m->payload + 32), 0);
	assert_int_equal(m->nfds, 0);
	/* u64: index in bits 7:0, bit 8 clear because an fd rides along. */
	expect_u64(f, 7, REQ_SET_VRING_CALL, HDR_V1 | HDR_NEED_REPLY, 1);
	assert_int_equal(f->be.msgs[7].nfds, 1);
	assert_same_file(f->be.msgs[7].fds[0], call);
	expect_u64(f, 8, REQ_SET_VRING_KICK, HDR_V1 | HDR_NEED_REPLY, 1);
	assert_int_equal(f->be.msgs[8].nfds, 1);
	assert_same_file(f->be.msgs[8].fds[0], kick);
	expect_state(f, 9, REQ_SET_VRING_ENABLE, HDR_V1 | HDR_NEED_REPLY, 1, 1);
	close(kick);
	close(call);
}

static void test_vhost_user_vring_fd_minus_one_sets_no_fd_bit(void **state)
{
	struct fixture *f = *state;

	handshake_ok(f);
	assert_int_equal(vhost_user_set_vring_kick(&f->vu, 0, -1), 0);
	assert_int_equal(vhost_user_set_vring_call(&f->vu, 255, -1), 0);

	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 2);
	expect_u64(f, 4, REQ_SET_VRING_KICK, HDR_V1 | HDR_NEED_REPLY, 0x100);
	assert_int_equal(f->be.msgs[4].nfds, 0);
	expect_u64(f, 5, REQ_SET_VRING_CALL, HDR_V1 | HDR_NEED_REPLY, 0x1ff);
	assert_int_equal(f->be.msgs[5].nfds, 0);
}

static void test_vhost_user_reset_disables_and_reads_vring_base(void **state)
{
	struct fixture *f = *state;
	unsigned int base = 0;

	f->be.vring_base = 0x1234;
	handshake_ok(f);
	assert_int_equal(vhost_user_set_vring_enable(&f->vu, 0, false), 0);
	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), 0);

	assert_int_equal(base, 0x1234);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 2);
	expect_state(f, 4, REQ_SET_VRING_ENABLE, HDR_V1 | HDR_NEED_REPLY, 0, 0);
	/* GET_* has a reply of its own: no NEED_REPLY even under REPLY_ACK. */
	expect_state(f, 5, REQ_GET_VRING_BASE, HDR_V1, 0, 0);
}

/* The device's calls for a two-queue share, as devices/virtio/fs.c makes them (tech-notes §7.3). */
static void drive_device_lifecycle(struct fixture *f, int ram, int kick, int call)
{
	const struct vhost_user_region region = {
	    .guest_addr = 0, .size = 1 << 20, .user_addr = 0x10000000, .mmap_offset = 0, .fd = ram};
	unsigned int base;
	uint64_t num;

	handshake_ok(f);
	assert_int_equal(vhost_user_get_queue_num(&f->vu, &num), 0);
	assert_int_equal(num, 2);
	assert_int_equal(vhost_user_set_features(&f->vu, FEAT_VERSION_1 | FEAT_PROTOCOL_FEATURES),
			 0);
	assert_int_equal(vhost_user_set_mem_table(&f->vu, &region, 1), 0);
	for (unsigned int q = 0; q < 2; q++) {
		uint64_t ring = 0x10000000 + 0x10000 * q;

		assert_int_equal(vhost_user_set_vring_num(&f->vu, q, 128), 0);
		assert_int_equal(vhost_user_set_vring_base(&f->vu, q, 0), 0);
		assert_int_equal(
		    vhost_user_set_vring_addr(&f->vu, q, ring, ring + 0x1000, ring + 0x800), 0);
		assert_int_equal(vhost_user_set_vring_call(&f->vu, q, call), 0);
		assert_int_equal(vhost_user_set_vring_kick(&f->vu, q, kick), 0);
	}
	for (unsigned int q = 0; q < 2; q++)
		assert_int_equal(vhost_user_set_vring_enable(&f->vu, q, true), 0);
	/* Guest reset. */
	for (unsigned int q = 0; q < 2; q++) {
		assert_int_equal(vhost_user_set_vring_enable(&f->vu, q, false), 0);
		assert_int_equal(vhost_user_get_vring_base(&f->vu, q, &base), 0);
	}
}

/* What drive_device_lifecycle() sends, in order. */
static const uint32_t lifecycle_requests[] = {
    REQ_SET_OWNER,
    REQ_GET_FEATURES,
    REQ_GET_PROTOCOL_FEATURES,
    REQ_SET_PROTOCOL_FEATURES,
    REQ_GET_QUEUE_NUM,
    REQ_SET_FEATURES,
    REQ_SET_MEM_TABLE,
    /* queue 0 */
    REQ_SET_VRING_NUM,
    REQ_SET_VRING_BASE,
    REQ_SET_VRING_ADDR,
    REQ_SET_VRING_CALL,
    REQ_SET_VRING_KICK,
    /* queue 1 */
    REQ_SET_VRING_NUM,
    REQ_SET_VRING_BASE,
    REQ_SET_VRING_ADDR,
    REQ_SET_VRING_CALL,
    REQ_SET_VRING_KICK,
    /* enable both, then reset both */
    REQ_SET_VRING_ENABLE,
    REQ_SET_VRING_ENABLE,
    REQ_SET_VRING_ENABLE,
    REQ_GET_VRING_BASE,
    REQ_SET_VRING_ENABLE,
    REQ_GET_VRING_BASE,
};

static void test_vhost_user_full_sequence_in_order(void **state)
{
	struct fixture *f = *state;
	int ram = new_memfd("ram"), kick = new_memfd("kick"), call = new_memfd("call");
	const uint32_t *expected = lifecycle_requests;
	unsigned int n = sizeof(lifecycle_requests) / sizeof(lifecycle_requests[0]);

	drive_device_lifecycle(f, ram, kick, call);

	assert_false(f->vu.broken);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, n);
	for (unsigned int i = 0; i < n; i++) {
		bool get = expected[i] == REQ_GET_FEATURES || expected[i] == REQ_GET_QUEUE_NUM ||
			   expected[i] == REQ_GET_PROTOCOL_FEATURES ||
			   expected[i] == REQ_GET_VRING_BASE;
		/* NEED_REPLY on every SET_* once REPLY_ACK is negotiated (after message 3). */
		uint32_t flags = HDR_V1 | (!get && i > 3 ? HDR_NEED_REPLY : 0);

		assert_int_equal(f->be.msgs[i].request, expected[i]);
		assert_int_equal(f->be.msgs[i].flags, flags);
	}
	close(ram);
	close(kick);
	close(call);
}

/* ---- REPLY_ACK ---- */

static void test_vhost_user_nonzero_ack_returns_eio(void **state)
{
	struct fixture *f = *state;

	f->be.script[HANDSHAKE_MSGS].ack = 1;
	handshake_ok(f);

	assert_int_equal(vhost_user_set_features(&f->vu, FEAT_VERSION_1), -EIO);
	/* A refusal is an answer: the stream is in step and the next request works. */
	assert_false(f->vu.broken);
	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 64), 0);
	be_finish(f);
	assert_int_equal(f->be.nmsgs, HANDSHAKE_MSGS + 2);
}

static void test_vhost_user_rejects_ack_with_wrong_size(void **state)
{
	struct fixture *f = *state;
	const uint32_t zero = 0;

	be_script_raw(f, HANDSHAKE_MSGS, REQ_SET_VRING_NUM, HDR_V1 | HDR_REPLY, 4, &zero, 4);
	handshake_ok(f);

	assert_int_equal(vhost_user_set_vring_num(&f->vu, 0, 64), -EPROTO);
	assert_broken_and_silent(f, HANDSHAKE_MSGS + 1);
}

/* ---- hostile replies (all to GET_FEATURES, message 1 of the handshake) ---- */

static void run_hostile_features_reply(struct fixture *f, uint32_t request, uint32_t flags,
				       uint32_t size, size_t payload_len)
{
	const uint8_t payload[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	be_script_raw(f, 1, request, flags, size, payload, payload_len);
	be_start(f);

	assert_int_equal(vhost_user_handshake(&f->vu), -EPROTO);
	assert_broken_and_silent(f, 2);
}

static void test_vhost_user_rejects_reply_with_wrong_request_id(void **state)
{
	run_hostile_features_reply(*state, REQ_SET_FEATURES, HDR_V1 | HDR_REPLY, 8, 8);
}

static void test_vhost_user_rejects_reply_without_reply_flag(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_V1, 8, 8);
}

static void test_vhost_user_rejects_reply_with_version_0(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_REPLY, 8, 8);
}

static void test_vhost_user_rejects_reply_with_version_2(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, 0x2 | HDR_REPLY, 8, 8);
}

static void test_vhost_user_rejects_reply_with_short_size(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 4, 4);
}

static void test_vhost_user_rejects_reply_with_oversized_size(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 16, 16);
}

static void test_vhost_user_rejects_reply_with_huge_size_without_reading_it(void **state)
{
	run_hostile_features_reply(*state, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 0xffffffff, 8);
}

static void test_vhost_user_closes_fd_attached_to_reply(void **state)
{
	struct fixture *f = *state;
	const uint64_t features = VIRTIOFSD_FEATURES;
	int stray = new_memfd("stray");
	int before;

	be_script_raw(f, 1, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 8, &features, 8);
	f->be.script[1].attach = true;
	f->be.script[1].fd = stray;
	be_start(f);
	before = count_open_fds();

	assert_int_equal(vhost_user_handshake(&f->vu), -EPROTO);

	/* The kernel installed a duplicate of `stray` in our table; it must be gone again. */
	assert_int_equal(count_open_fds(), before);
	assert_broken_and_silent(f, 2);
	close(stray);
}

static void test_vhost_user_accepts_replies_split_into_single_bytes(void **state)
{
	struct fixture *f = *state;
	const uint64_t features = VIRTIOFSD_FEATURES, protocol = PROTO_REPLY_ACK;
	const uint32_t vring[2] = {0, 77}; /* {index, num} */
	unsigned int base = 0;

	be_script_raw(f, 1, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 8, &features, 8);
	be_script_raw(f, 2, REQ_GET_PROTOCOL_FEATURES, HDR_V1 | HDR_REPLY, 8, &protocol, 8);
	be_script_raw(f, 4, REQ_GET_VRING_BASE, HDR_V1 | HDR_REPLY, 8, vring, 8);
	f->be.script[1].byte_by_byte = true;
	f->be.script[2].byte_by_byte = true;
	f->be.script[4].byte_by_byte = true;
	be_start(f);

	assert_int_equal(vhost_user_handshake(&f->vu), 0);
	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), 0);

	assert_int_equal(f->vu.features, VIRTIOFSD_FEATURES);
	assert_int_equal(f->vu.protocol_features, PROTO_REPLY_ACK);
	assert_int_equal(base, 77);
	assert_false(f->vu.broken);
}

static void test_vhost_user_eof_mid_header_breaks_connection(void **state)
{
	struct fixture *f = *state;
	struct be_reply *r = &f->be.script[1];

	r->mode = BE_HANGUP;
	le_put32(r->bytes, REQ_GET_FEATURES);
	r->len = 5;
	be_start(f);

	assert_int_equal(vhost_user_handshake(&f->vu), -EPIPE);
	assert_broken_and_silent(f, 2);
}

static void test_vhost_user_eof_mid_payload_breaks_connection(void **state)
{
	struct fixture *f = *state;
	const uint64_t features = VIRTIOFSD_FEATURES;

	be_script_raw(f, 1, REQ_GET_FEATURES, HDR_V1 | HDR_REPLY, 8, &features, 3);
	f->be.script[1].mode = BE_HANGUP;
	be_start(f);

	assert_int_equal(vhost_user_handshake(&f->vu), -EPIPE);
	assert_broken_and_silent(f, 2);
}

static void test_vhost_user_send_to_closed_backend_returns_epipe(void **state)
{
	struct fixture *f = *state;

	/* No back-end thread: its end is simply gone. MSG_NOSIGNAL keeps SIGPIPE away. */
	close(f->be.sock);
	f->be.sock = -1;

	assert_int_equal(vhost_user_handshake(&f->vu), -EPIPE);
	assert_broken_and_silent(f, 0);
}

static void test_vhost_user_timeout_breaks_connection(void **state)
{
	struct fixture *f = *state;
	long long start, elapsed;

	f->be.script[1].mode = BE_SILENT;
	be_start(f);
	start = now_ms();

	assert_int_equal(vhost_user_handshake(&f->vu), -ETIMEDOUT);

	elapsed = now_ms() - start;
	assert_true(elapsed >= SHORT_TIMEOUT_MS - 10);
	assert_true(elapsed < 10 * SHORT_TIMEOUT_MS);
	assert_broken_and_silent(f, 2);
}

static void test_vhost_user_get_vring_base_rejects_other_index(void **state)
{
	struct fixture *f = *state;
	const uint32_t vring[2] = {1, 0}; /* about ring 1, asked about ring 0 */
	unsigned int base = 99;

	be_script_raw(f, HANDSHAKE_MSGS, REQ_GET_VRING_BASE, HDR_V1 | HDR_REPLY, 8, vring, 8);
	handshake_ok(f);

	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), -EPROTO);
	assert_int_equal(base, 99);
	assert_broken_and_silent(f, HANDSHAKE_MSGS + 1);
}

static void test_vhost_user_get_vring_base_rejects_base_over_16_bits(void **state)
{
	struct fixture *f = *state;
	unsigned int base = 99;

	f->be.vring_base = 0x10000;
	handshake_ok(f);

	assert_int_equal(vhost_user_get_vring_base(&f->vu, 0, &base), -EPROTO);
	assert_int_equal(base, 99);
	assert_broken_and_silent(f, HANDSHAKE_MSGS + 1);
}

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
	    T(test_vhost_user_handshake_negotiates_reply_ack, setup),
	    T(test_vhost_user_handshake_without_protocol_features_sends_no_protocol_messages,
	      setup),
	    T(test_vhost_user_handshake_without_reply_ack_sends_no_need_reply, setup),
	    T(test_vhost_user_get_queue_num_needs_mq, setup),
	    T(test_vhost_user_set_features_and_mem_table_send_exact_bytes, setup),
	    T(test_vhost_user_queue_setup_sends_exact_bytes, setup),
	    T(test_vhost_user_vring_fd_minus_one_sets_no_fd_bit, setup),
	    T(test_vhost_user_reset_disables_and_reads_vring_base, setup),
	    T(test_vhost_user_full_sequence_in_order, setup),
	    T(test_vhost_user_nonzero_ack_returns_eio, setup),
	    T(test_vhost_user_rejects_ack_with_wrong_size, setup),
	    T(test_vhost_user_rejects_reply_with_wrong_request_id, setup),
	    T(test_vhost_user_rejects_reply_without_reply_flag, setup),
	    T(test_vhost_user_rejects_reply_with_version_0, setup),
	    T(test_vhost_user_rejects_reply_with_version_2, setup),
	    T(test_vhost_user_rejects_reply_with_short_size, setup),
	    T(test_vhost_user_rejects_reply_with_oversized_size, setup),
	    T(test_vhost_user_rejects_reply_with_huge_size_without_reading_it, setup),
	    T(test_vhost_user_closes_fd_attached_to_reply, setup),
	    T(test_vhost_user_accepts_replies_split_into_single_bytes, setup),
	    T(test_vhost_user_eof_mid_header_breaks_connection, setup),
	    T(test_vhost_user_eof_mid_payload_breaks_connection, setup),
	    T(test_vhost_user_send_to_closed_backend_returns_epipe, setup),
	    T(test_vhost_user_timeout_breaks_connection, setup_short_timeout),
	    T(test_vhost_user_get_vring_base_rejects_other_index, setup),
	    T(test_vhost_user_get_vring_base_rejects_base_over_16_bits, setup),
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
