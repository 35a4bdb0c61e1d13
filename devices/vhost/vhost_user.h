/* vhost-user front-end: the blocking control channel to an external back-end such as virtiofsd. */
#ifndef MICROVMM_DEVICES_VHOST_VHOST_USER_H
#define MICROVMM_DEVICES_VHOST_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The protocol is QEMU's docs/interop/vhost-user.rst ("vhost-user.rst"
 * below); tech-notes §7 has the ids and the order both virtiofsd daemons
 * expect.
 *
 * Ownership: a struct vhost_user is embedded in the device that drives the
 * back-end. vhost_user_attach() takes the connected socket on success and
 * vhost_user_close() closes it; on failure the caller still owns it. File
 * descriptors handed to set_mem_table / set_vring_kick / set_vring_call are
 * lent: the kernel duplicates them into the back-end and the caller keeps
 * (and eventually closes) its own.
 *
 * Threading: no locks inside. One thread at a time (the caller serialises).
 * Every call blocks until its request is written and, when one is due, the
 * reply has arrived. Each read and write of the socket is bounded by the
 * attach timeout; replies are at most 20 bytes, so even a back-end that
 * trickles one byte per timeout holds a call for a bounded time.
 *
 * Call order (vhost-user.rst, "Communication"; tech-notes §7.3):
 *   vhost_user_init -> vhost_user_attach -> vhost_user_handshake (once per
 *   connection) [-> vhost_user_get_queue_num]
 *   -> { vhost_user_set_features -> vhost_user_set_mem_table
 *        -> per queue: set_vring_num -> set_vring_base -> set_vring_addr
 *           -> set_vring_call -> set_vring_kick (last: the back-end starts
 *           the ring when the kick fd arrives)
 *        -> set_vring_enable(i, true) per queue
 *        -> on guest reset, per queue: set_vring_enable(i, false)
 *           -> get_vring_base(i) (stops the ring) }*
 *   -> vhost_user_close.
 *
 * Errors: every call returns 0 or -errno. Our own bad arguments give
 * -EINVAL before anything is written. The back-end is a separate, less
 * trusted process: a malformed reply (-EPROTO), end of file or a write to a
 * closed peer (-EPIPE), a timeout (-ETIMEDOUT) or any other socket error
 * marks the connection `broken`; from then on every call returns -EPIPE
 * without touching the socket and only vhost_user_close() is useful. A
 * request the back-end refuses through REPLY_ACK gives -EIO and leaves the
 * connection usable. Without REPLY_ACK a SET_* request succeeds once it is
 * written: the protocol gives the back-end no way to refuse it.
 */

/* vhost-user.rst, "Communication": virtio feature bit 30 announces protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30
/* vhost-user.rst, "Protocol features": the only two we ever negotiate (bit numbers). */
#define VHOST_USER_PROTOCOL_F_MQ	0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3

/* vhost-user.rst, "Memory regions description": at most eight regions per table. */
#define VHOST_USER_MAX_REGIONS 8
/* vhost-user.rst, "VHOST_USER_SET_VRING_KICK": the vring index travels in bits 7:0. */
#define VHOST_USER_MAX_VRINGS 256

/* One guest RAM region as the back-end must map it (vhost-user.rst SET_MEM_TABLE). */
struct vhost_user_region {
	uint64_t guest_addr;  /* GPA */
	uint64_t size;	      /* bytes, nonzero */
	uint64_t user_addr;   /* microvmm's own virtual address of the region */
	uint64_t mmap_offset; /* offset of the region in fd */
	int fd;		      /* memfd */
};

struct vhost_user {
	int sock;		    /* -1 when closed */
	uint64_t features;	    /* from GET_FEATURES */
	uint64_t protocol_features; /* negotiated subset (a mask of the bits above) */
	bool reply_ack;		    /* REPLY_ACK negotiated */
	bool broken; /* the back-end misbehaved or went away; every later call returns -EPIPE */
};

/* Empties `vu` (sock = -1). Call before anything else. */
void vhost_user_init(struct vhost_user *vu);

/*
 * Takes a connected AF_UNIX SOCK_STREAM socket: sets SO_RCVTIMEO and
 * SO_SNDTIMEO to timeout_ms (> 0), clears O_NONBLOCK, sets FD_CLOEXEC and
 * resets the negotiated state. -EBUSY if `vu` already holds a socket,
 * -EBADF / -ENOTSOCK / -EINVAL for a socket we cannot use. On failure the
 * caller keeps `sock`.
 */
int vhost_user_attach(struct vhost_user *vu, int sock, int timeout_ms)
    __attribute__((warn_unused_result));

/*
 * SET_OWNER, GET_FEATURES (into vu->features) and, when the back-end offers
 * VHOST_USER_F_PROTOCOL_FEATURES, GET_PROTOCOL_FEATURES and
 * SET_PROTOCOL_FEATURES(theirs & (REPLY_ACK | MQ)). Once per connection.
 */
int vhost_user_handshake(struct vhost_user *vu) __attribute__((warn_unused_result));

/* GET_QUEUE_NUM: how many queues the back-end serves. -EOPNOTSUPP unless MQ was negotiated. */
int vhost_user_get_queue_num(struct vhost_user *vu, uint64_t *num)
    __attribute__((warn_unused_result));

/* SET_FEATURES. `features` must be a subset of vu->features (-EINVAL otherwise). */
int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
    __attribute__((warn_unused_result));

/*
 * SET_MEM_TABLE with one fd per region. 1 <= count <= VHOST_USER_MAX_REGIONS;
 * each region needs fd >= 0, size > 0, and no address or offset range that
 * wraps around 2^64.
 */
int vhost_user_set_mem_table(struct vhost_user *vu, const struct vhost_user_region *regions,
			     unsigned int count) __attribute__((warn_unused_result));

/* The vring calls below take index < VHOST_USER_MAX_VRINGS. */

/* SET_VRING_NUM: num is a power of two, 1..32768 (virtio 1.2 §2.7). */
int vhost_user_set_vring_num(struct vhost_user *vu, unsigned int index, unsigned int num)
    __attribute__((warn_unused_result));

/* SET_VRING_BASE: the next available index to process, a 16-bit ring index. */
int vhost_user_set_vring_base(struct vhost_user *vu, unsigned int index, unsigned int base)
    __attribute__((warn_unused_result));

/*
 * SET_VRING_ADDR with microvmm virtual addresses of the three rings (not
 * GPAs; vhost-user.rst, "A vring address description"). Aligned as virtio
 * 1.2 §2.7 requires: desc 16, avail 2, used 4. No dirty logging.
 */
int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned int index, uint64_t desc_va,
			      uint64_t used_va, uint64_t avail_va)
    __attribute__((warn_unused_result));

/* SET_VRING_KICK / SET_VRING_CALL with an eventfd, or fd -1 to send the "no fd" bit 8. */
int vhost_user_set_vring_kick(struct vhost_user *vu, unsigned int index, int fd)
    __attribute__((warn_unused_result));
int vhost_user_set_vring_call(struct vhost_user *vu, unsigned int index, int fd)
    __attribute__((warn_unused_result));

/*
 * SET_VRING_ENABLE. Legal only when the back-end offered
 * VHOST_USER_F_PROTOCOL_FEATURES (-EOPNOTSUPP otherwise): without it rings
 * start enabled (vhost-user.rst, "Ring states").
 */
int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned int index, bool enable)
    __attribute__((warn_unused_result));

/* GET_VRING_BASE: stops the ring and returns its next available index (<= 0xffff). */
int vhost_user_get_vring_base(struct vhost_user *vu, unsigned int index, unsigned int *base)
    __attribute__((warn_unused_result));

/* Closes the socket. Idempotent; keeps `broken` so the caller can still read why it stopped. */
void vhost_user_close(struct vhost_user *vu);

#endif
