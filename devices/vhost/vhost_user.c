/* vhost-user front-end over a blocking unix socket (QEMU vhost-user.rst); see vhost_user.h. */
#include "devices/vhost/vhost_user.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* vhost-user.rst, "Front-end message types": the requests we send. */
enum vhost_user_request {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
};

/* vhost-user.rst, "Header": flags bits 1:0 are the version (1), bit 2 REPLY, bit 3 NEED_REPLY. */
#define VHOST_USER_VERSION	   1u
#define VHOST_USER_VERSION_MASK	   3u
#define VHOST_USER_FLAG_REPLY	   (1u << 2)
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3)

/* vhost-user.rst, "VHOST_USER_SET_VRING_KICK": bits 7:0 vring index, bit 8 "invalid FD". */
#define VHOST_USER_VRING_NOFD (1ull << 8)

/* Largest virtio queue (virtio 1.2 §2.7: "The maximum Queue Size value is 32768"). */
#define VHOST_USER_MAX_QUEUE_SIZE 32768u
/* Split-ring indices are 16-bit counters (virtio 1.2 §2.7.6). */
#define VHOST_USER_MAX_RING_INDEX 0xffffu

/* Wire layouts, native endian (vhost-user.rst, "Message Specification"). */
struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* of the payload that follows */
};

/* vhost-user.rst, "A vring state description". */
struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

/* vhost-user.rst, "A vring address description" (the table's "size" column is not on the wire). */
struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

/* vhost-user.rst, "Memory regions description". */
struct vhost_user_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MAX_REGIONS];
};

_Static_assert(sizeof(struct vhost_user_hdr) == 12, "header is request, flags, size");
_Static_assert(sizeof(struct vhost_user_vring_state) == 8, "vring state is index, num");
_Static_assert(sizeof(struct vhost_user_vring_addr) == 40, "vring address is 2 x u32 + 4 x u64");
_Static_assert(offsetof(struct vhost_user_vring_addr, used) == 16 &&
		   offsetof(struct vhost_user_vring_addr, avail) == 24,
	       "used precedes avail on the wire");
_Static_assert(sizeof(struct vhost_user_mem_region) == 32, "memory region is 4 x u64");
_Static_assert(offsetof(struct vhost_user_mem_table, regions) == 8, "regions follow n + padding");

/* The largest request payload we send: a full memory table. */
#define VHOST_USER_MAX_PAYLOAD sizeof(struct vhost_user_mem_table)

/*
 * Control buffer for SCM_RIGHTS: big enough for one fd per region when
 * sending, and for a few stray fds when receiving (more than fit set
 * MSG_CTRUNC, and the kernel drops the rest).
 */
union vhost_user_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
};

/* One request and what it expects back. */
struct vhost_user_msg {
	uint32_t request;
	const void *payload;
	uint32_t size;
	const int *fds;
	unsigned int nfds;
	void *reply; /* NULL: no reply body of its own (an ack is read under REPLY_ACK) */
	uint32_t reply_size;
};

static int vhost_user_usable(const struct vhost_user *vu)
{
	if (vu->broken)
		return -EPIPE;
	if (vu->sock < 0)
		return -ENOTCONN;
	return 0;
}

/*
 * vhost-user.rst, "Communication": "If front-end is unable to send the full
 * message or receives a wrong reply it will close the connection." We cannot
 * resynchronise a byte stream, so the connection stays dead until closed.
 */
static int vhost_user_break(struct vhost_user *vu, int err)
{
	vu->broken = true;
	return err;
}

/* Maps a failed sendmsg/recvmsg errno to the documented codes. */
static int vhost_user_io_error(int err)
{
	/* SO_RCVTIMEO / SO_SNDTIMEO expiry reports EAGAIN (== EWOULDBLOCK on Linux). */
	if (err == EAGAIN)
		return -ETIMEDOUT;
	if (err == EPIPE || err == ECONNRESET)
		return -EPIPE;
	return -err;
}

/* Writes all of buf; the fds ride on the first sendmsg, with the first byte. */
static int vhost_user_send(struct vhost_user *vu, uint8_t *buf, size_t len, const int *fds,
			   unsigned int nfds)
{
	union vhost_user_cmsg ctl;
	size_t off = 0;

	memset(&ctl, 0, sizeof(ctl));
	while (off < len) {
		struct iovec iov = {.iov_base = buf + off, .iov_len = len - off};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

		if (nfds && off == 0) {
			struct cmsghdr *c;

			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		/* MSG_NOSIGNAL: a vanished back-end is -EPIPE, not a SIGPIPE for the whole VMM. */
		ssize_t n = sendmsg(vu->sock, &mh, MSG_NOSIGNAL);

		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			return vhost_user_io_error(err);
		}
		if (n == 0)
			return -EPIPE;
		off += (size_t)n;
	}
	return 0;
}

/* Closes every fd the kernel installed from `mh`; true when any control message came at all. */
static bool vhost_user_drop_cmsgs(struct msghdr *mh)
{
	bool any = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		any = true;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
	return any;
}

/* Reads exactly len bytes; a stream socket may deliver a reply in any number of pieces. */
static int vhost_user_recv(struct vhost_user *vu, void *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		union vhost_user_cmsg ctl;
		struct iovec iov = {.iov_base = (uint8_t *)buf + off, .iov_len = len - off};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		/* CLOEXEC: a stray fd must not leak into a child even for the instant it is open.
		 */
		ssize_t n = recvmsg(vu->sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			return vhost_user_io_error(err);
		}
		/*
		 * BACKEND: replies never carry fds (vhost-user.rst, "Communication"
		 * lists only front-end requests with ancillary data). Close whatever
		 * arrived, so a hostile back-end cannot fill our fd table, and treat
		 * it, or a truncated control buffer, as a protocol violation.
		 */
		if (vhost_user_drop_cmsgs(&mh) || (mh.msg_flags & MSG_CTRUNC))
			return -EPROTO;
		if (n == 0)
			return -EPIPE; /* end of file, possibly mid-message */
		off += (size_t)n;
	}
	return 0;
}

/* Reads one reply to `request` whose payload must be exactly `size` bytes. */
static int vhost_user_recv_reply(struct vhost_user *vu, uint32_t request, void *payload,
				 uint32_t size)
{
	struct vhost_user_hdr hdr;
	int err = vhost_user_recv(vu, &hdr, sizeof(hdr));

	if (err)
		return err;
	/*
	 * BACKEND: the header is checked before any payload is read. It must
	 * answer this request (we send one at a time), carry version 1 and the
	 * REPLY bit (vhost-user.rst, "Header"), and announce exactly the payload
	 * this request's reply has; anything else is not read at all, because
	 * the connection is dead anyway. Other flag bits have no meaning in a
	 * reply and are ignored.
	 */
	if (hdr.request != request || (hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION ||
	    !(hdr.flags & VHOST_USER_FLAG_REPLY) || hdr.size != size)
		return -EPROTO;
	return vhost_user_recv(vu, payload, size);
}

/* Sends one request and waits for its reply, or its ack under REPLY_ACK. */
static int vhost_user_transact(struct vhost_user *vu, const struct vhost_user_msg *m)
{
	uint8_t buf[sizeof(struct vhost_user_hdr) + VHOST_USER_MAX_PAYLOAD];
	struct vhost_user_hdr hdr = {
	    .request = m->request, .flags = VHOST_USER_VERSION, .size = m->size};
	/*
	 * vhost-user.rst, "VHOST_USER_PROTOCOL_F_REPLY_ACK": NEED_REPLY makes the
	 * back-end answer a request that has no reply of its own with a u64 (0 =
	 * success), so a refused SET_* does not go unnoticed. GET_* requests
	 * already have a reply and never get the flag.
	 */
	bool need_ack = !m->reply && vu->reply_ack;
	uint64_t ack = 0;
	int err = vhost_user_usable(vu);

	if (err)
		return err;
	if (m->size > VHOST_USER_MAX_PAYLOAD)
		return -EINVAL;
	if (need_ack)
		hdr.flags |= VHOST_USER_FLAG_NEED_REPLY;
	memcpy(buf, &hdr, sizeof(hdr));
	if (m->size)
		memcpy(buf + sizeof(hdr), m->payload, m->size);
	err = vhost_user_send(vu, buf, sizeof(hdr) + m->size, m->fds, m->nfds);
	if (!err && m->reply)
		err = vhost_user_recv_reply(vu, m->request, m->reply, m->reply_size);
	else if (!err && need_ack)
		err = vhost_user_recv_reply(vu, m->request, &ack, sizeof(ack));
	if (err)
		return vhost_user_break(vu, err);
	/* BACKEND: a nonzero ack is a refusal; the stream is still in step, so not broken. */
	if (ack != 0)
		return -EIO;
	return 0;
}

static int vhost_user_get_u64(struct vhost_user *vu, uint32_t request, uint64_t *value)
{
	struct vhost_user_msg m = {
	    .request = request, .reply = value, .reply_size = sizeof(*value)};

	return vhost_user_transact(vu, &m);
}

static int vhost_user_set_u64(struct vhost_user *vu, uint32_t request, uint64_t value,
			      const int *fds, unsigned int nfds)
{
	struct vhost_user_msg m = {
	    .request = request, .payload = &value, .size = sizeof(value), .fds = fds, .nfds = nfds};

	return vhost_user_transact(vu, &m);
}

static int vhost_user_set_state(struct vhost_user *vu, uint32_t request, unsigned int index,
				unsigned int num)
{
	struct vhost_user_vring_state state = {.index = index, .num = num};
	struct vhost_user_msg m = {.request = request, .payload = &state, .size = sizeof(state)};

	return vhost_user_transact(vu, &m);
}

void vhost_user_init(struct vhost_user *vu)
{
	memset(vu, 0, sizeof(*vu));
	vu->sock = -1;
}

int vhost_user_attach(struct vhost_user *vu, int sock, int timeout_ms)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int type = 0, domain = 0, flags;
	socklen_t len;

	if (vu->sock >= 0)
		return -EBUSY;
	if (sock < 0)
		return -EBADF;
	if (timeout_ms <= 0)
		return -EINVAL;
	len = sizeof(type);
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len))
		return -errno;
	len = sizeof(domain);
	if (getsockopt(sock, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return -errno;
	/* vhost-user.rst, "Introduction": fds travel as SCM_RIGHTS, so AF_UNIX; one byte stream. */
	if (type != SOCK_STREAM || domain != AF_UNIX)
		return -EINVAL;
	/* The back-end may hang; every read and write is bounded instead of blocking forever. */
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	/* A non-blocking socket would turn every wait for a reply into a spurious timeout. */
	flags = fcntl(sock, F_GETFL);
	if (flags < 0)
		return -errno;
	if ((flags & O_NONBLOCK) && fcntl(sock, F_SETFL, flags & ~O_NONBLOCK))
		return -errno;
	/* The back-end must see EOF when we go away, not when a child of ours does. */
	if (fcntl(sock, F_SETFD, FD_CLOEXEC))
		return -errno;
	vhost_user_init(vu);
	vu->sock = sock;
	return 0;
}

int vhost_user_handshake(struct vhost_user *vu)
{
	const uint64_t ours =
	    (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_MQ);
	struct vhost_user_msg owner = {.request = VHOST_USER_SET_OWNER};
	uint64_t features, theirs;
	int err;

	/*
	 * vhost-user.rst, "VHOST_USER_SET_OWNER": the first message of a session.
	 * REPLY_ACK is not negotiated yet, so it carries no NEED_REPLY and has
	 * no answer. The Rust back-end refuses a second one, hence once only.
	 */
	err = vhost_user_transact(vu, &owner);
	if (err)
		return err;
	err = vhost_user_get_u64(vu, VHOST_USER_GET_FEATURES, &features);
	if (err)
		return err;
	vu->features = features;
	/* vhost-user.rst, "Communication": without bit 30 the back-end knows no protocol features.
	 */
	if (!(features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		return 0;
	err = vhost_user_get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, &theirs);
	if (err)
		return err;
	/*
	 * Only REPLY_ACK and MQ: CONFIG, BACKEND_REQ, INFLIGHT, LOG and the rest
	 * need machinery we do not have (tech-notes §7.3). REPLY_ACK takes effect
	 * after this message, so SET_PROTOCOL_FEATURES itself is not acked.
	 */
	err = vhost_user_set_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, theirs & ours, NULL, 0);
	if (err)
		return err;
	vu->protocol_features = theirs & ours;
	vu->reply_ack = vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	return 0;
}

int vhost_user_get_queue_num(struct vhost_user *vu, uint64_t *num)
{
	int err = vhost_user_usable(vu);

	if (err)
		return err;
	if (!num)
		return -EINVAL;
	/* vhost-user.rst, "VHOST_USER_GET_QUEUE_NUM": only when MQ is set. */
	if (!(vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_MQ)))
		return -EOPNOTSUPP;
	return vhost_user_get_u64(vu, VHOST_USER_GET_QUEUE_NUM, num);
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	int err = vhost_user_usable(vu);

	if (err)
		return err;
	/* Acking a bit the back-end never offered is our bug; the Rust back-end rejects it too. */
	if (features & ~vu->features)
		return -EINVAL;
	return vhost_user_set_u64(vu, VHOST_USER_SET_FEATURES, features, NULL, 0);
}

/* A region the back-end can mmap: an fd, a size, and no range that wraps around 2^64. */
static bool vhost_user_region_valid(const struct vhost_user_region *r)
{
	return r->fd >= 0 && r->size != 0 && r->guest_addr + r->size > r->guest_addr &&
	       r->user_addr + r->size > r->user_addr && r->mmap_offset + r->size > r->mmap_offset;
}

int vhost_user_set_mem_table(struct vhost_user *vu, const struct vhost_user_region *regions,
			     unsigned int count)
{
	struct vhost_user_mem_table table;
	int fds[VHOST_USER_MAX_REGIONS];
	struct vhost_user_msg m = {.request = VHOST_USER_SET_MEM_TABLE, .payload = &table};
	int err = vhost_user_usable(vu);

	if (err)
		return err;
	if (!regions || count == 0 || count > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	memset(&table, 0, sizeof(table));
	table.nregions = count;
	for (unsigned int i = 0; i < count; i++) {
		if (!vhost_user_region_valid(&regions[i]))
			return -EINVAL;
		table.regions[i] = (struct vhost_user_mem_region){
		    .guest_addr = regions[i].guest_addr,
		    .size = regions[i].size,
		    .user_addr = regions[i].user_addr,
		    .mmap_offset = regions[i].mmap_offset,
		};
		fds[i] = regions[i].fd;
	}
	/*
	 * vhost-user.rst, "VHOST_USER_SET_MEM_TABLE": the fds match the regions
	 * in number and order. Only the used regions go on the wire (as QEMU
	 * sends them); both virtiofsd daemons check size against nregions.
	 */
	m.size = (uint32_t)(offsetof(struct vhost_user_mem_table, regions) +
			    count * sizeof(struct vhost_user_mem_region));
	m.fds = fds;
	m.nfds = count;
	return vhost_user_transact(vu, &m);
}

static int vhost_user_check_vring(const struct vhost_user *vu, unsigned int index)
{
	int err = vhost_user_usable(vu);

	if (err)
		return err;
	return index < VHOST_USER_MAX_VRINGS ? 0 : -EINVAL;
}

int vhost_user_set_vring_num(struct vhost_user *vu, unsigned int index, unsigned int num)
{
	int err = vhost_user_check_vring(vu, index);

	if (err)
		return err;
	/* virtio 1.2 §2.7: a split queue's size is a power of 2, at most 32768. */
	if (num == 0 || num > VHOST_USER_MAX_QUEUE_SIZE || (num & (num - 1)))
		return -EINVAL;
	return vhost_user_set_state(vu, VHOST_USER_SET_VRING_NUM, index, num);
}

int vhost_user_set_vring_base(struct vhost_user *vu, unsigned int index, unsigned int base)
{
	int err = vhost_user_check_vring(vu, index);

	if (err)
		return err;
	if (base > VHOST_USER_MAX_RING_INDEX)
		return -EINVAL;
	return vhost_user_set_state(vu, VHOST_USER_SET_VRING_BASE, index, base);
}

int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned int index, uint64_t desc_va,
			      uint64_t used_va, uint64_t avail_va)
{
	struct vhost_user_vring_addr addr = {
	    .index = index, .desc = desc_va, .used = used_va, .avail = avail_va};
	struct vhost_user_msg m = {
	    .request = VHOST_USER_SET_VRING_ADDR, .payload = &addr, .size = sizeof(addr)};
	int err = vhost_user_check_vring(vu, index);

	if (err)
		return err;
	/* virtio 1.2 §2.7 "Alignment requirements": descriptor table 16, avail 2, used 4. */
	if ((desc_va & 15) || (avail_va & 1) || (used_va & 3))
		return -EINVAL;
	/* flags 0 and log 0: no VHOST_VRING_F_LOG, we never migrate (vhost-user.rst, "Migration").
	 */
	return vhost_user_transact(vu, &m);
}

static int vhost_user_set_vring_fd(struct vhost_user *vu, uint32_t request, unsigned int index,
				   int fd)
{
	int err = vhost_user_check_vring(vu, index);

	if (err)
		return err;
	if (fd < -1)
		return -EINVAL;
	/*
	 * vhost-user.rst, "VHOST_USER_SET_VRING_KICK" / "..._CALL": bits 7:0 are
	 * the index; bit 8 says no fd follows (the back-end then polls).
	 */
	if (fd < 0)
		return vhost_user_set_u64(vu, request, index | VHOST_USER_VRING_NOFD, NULL, 0);
	return vhost_user_set_u64(vu, request, index, &fd, 1);
}

int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned int index, int fd)
{
	return vhost_user_set_vring_fd(vu, VHOST_USER_SET_VRING_KICK, index, fd);
}

int vhost_user_set_vring_call(struct vhost_user *vu, unsigned int index, int fd)
{
	return vhost_user_set_vring_fd(vu, VHOST_USER_SET_VRING_CALL, index, fd);
}

int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned int index, bool enable)
{
	int err = vhost_user_check_vring(vu, index);

	if (err)
		return err;
	/* vhost-user.rst, "VHOST_USER_SET_VRING_ENABLE": only with PROTOCOL_FEATURES. */
	if (!(vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		return -EOPNOTSUPP;
	return vhost_user_set_state(vu, VHOST_USER_SET_VRING_ENABLE, index, enable ? 1 : 0);
}

int vhost_user_get_vring_base(struct vhost_user *vu, unsigned int index, unsigned int *base)
{
	struct vhost_user_vring_state state = {.index = index}, reply;
	struct vhost_user_msg m = {.request = VHOST_USER_GET_VRING_BASE,
				   .payload = &state,
				   .size = sizeof(state),
				   .reply = &reply,
				   .reply_size = sizeof(reply)};
	int err = vhost_user_check_vring(vu, index);

	if (err)
		return err;
	if (!base)
		return -EINVAL;
	err = vhost_user_transact(vu, &m);
	if (err)
		return err;
	/*
	 * BACKEND: the reply must describe the ring we asked about, and a split
	 * ring's next available index is 16 bits (virtio 1.2 §2.7.6).
	 */
	if (reply.index != index || reply.num > VHOST_USER_MAX_RING_INDEX)
		return vhost_user_break(vu, -EPROTO);
	*base = reply.num;
	return 0;
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->sock >= 0)
		close(vu->sock);
	vu->sock = -1;
}
