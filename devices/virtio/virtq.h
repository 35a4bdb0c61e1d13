/* Split virtqueues (virtio 1.2 §2.7): the one validator of guest rings, used by every device. */
#ifndef MICROVMM_DEVICES_VIRTIO_VIRTQ_H
#define MICROVMM_DEVICES_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/guest_ram.h"

/*
 * Ownership and threading: a struct virtq is embedded in its transport's
 * queue state and owned by one device thread (the device loop). Every
 * function here runs on that thread; there is no locking inside. The guest
 * writes the rings concurrently, so every guest field is read exactly once
 * with an atomic or copied into a local before it is checked.
 *
 * Call order: virtq_reset() -> virtq_activate() -> { virtq_pop() ...
 * virtq_push() ... virtq_should_notify() }* -> virtq_reset(). A queue that
 * fails validation is "broken": it stays stopped (pop returns -EINVAL) until
 * the next reset, and the device should set DEVICE_NEEDS_RESET (§2.1.2).
 *
 * Host pointers are cached at activation; the guest RAM mapping outlives
 * every queue (it is unmapped only after the devices are destroyed).
 */

#define VIRTQ_MAX_SIZE	1024 /* largest queue we offer */
#define VIRTQ_MAX_CHAIN 64   /* longest chain (iovecs) accepted, including indirect ones */

/* Descriptor flags (§2.7.5). */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
/* avail->flags (§2.7.7) and used->flags (§2.7.10). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

/*
 * Guest-visible layouts (§2.7.5, §2.7.6, §2.7.8). Virtio 1.x rings are
 * little-endian (§1.4); virtq.c asserts the host is too. After ring[size]
 * the avail ring has used_event and the used ring has avail_event (u16),
 * which are part of the ring whether or not EVENT_IDX is negotiated.
 */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes (§2.7.5)");
_Static_assert(sizeof(struct virtq_avail) == 4, "avail header is flags + idx (§2.7.6)");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element is 8 bytes (§2.7.8)");
_Static_assert(sizeof(struct virtq_used) == 4, "used header is flags + idx (§2.7.8)");

/* Bytes of each ring for a queue of `size` entries (§2.7 "Queue Part" sizes). */
#define VIRTQ_DESC_BYTES(size)	(16ULL * (size))
#define VIRTQ_AVAIL_BYTES(size) (6ULL + 2ULL * (size))
#define VIRTQ_USED_BYTES(size)	(6ULL + 8ULL * (size))

/* One guest buffer, already translated and bounds-checked against guest RAM. */
struct virtq_iov {
	void *base;
	uint32_t len;
};

/*
 * A validated descriptor chain: iov[0, readable) are device-readable,
 * iov[readable, readable + writable) device-writable. Zero-length
 * descriptors are accepted but produce no iov. Both totals fit in u32.
 */
struct virtq_chain {
	uint16_t head;
	unsigned int readable, writable;
	struct virtq_iov iov[VIRTQ_MAX_CHAIN];
	uint64_t readable_len, writable_len;
};

struct virtq {
	const struct guest_ram *ram;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool ready, broken;
	const char *error;   /* why the queue broke or was refused (static string), for the log */
	uint16_t last_avail; /* next avail entry to consume; never re-read from the guest */
	uint16_t used_idx;   /* our shadow of used->idx */
	uint16_t signalled_used;
	bool signalled_used_valid;
	/* Host pointers cached at activation; NULL while not ready. */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t *used_event;  /* avail->ring[size] */
	uint16_t *avail_event; /* after used->ring[size] */
};

/*
 * Checks and caches a queue's rings: size a power of two in
 * [1, VIRTQ_MAX_SIZE]; desc 16-, avail 2-, used 4-aligned (§2.7); each ring,
 * including used_event/avail_event, wholly inside one guest RAM region.
 * Resets q first. Returns 0 (q->ready) or -EINVAL (q stays not ready and
 * q->error says why, for the transport's log line).
 */
int virtq_activate(struct virtq *q, const struct guest_ram *ram, uint16_t size, uint64_t desc,
		   uint64_t avail, uint64_t used, bool event_idx, bool indirect)
    __attribute__((warn_unused_result));

/* Forgets everything: not ready, not broken, indices 0. Idempotent. */
void virtq_reset(struct virtq *q);

/*
 * Takes the next available chain and validates it (§2.7.5, §2.7.6).
 * Returns 1 with *chain filled, 0 when none is available (or the queue is
 * not ready), -EINVAL when the ring is malformed: q->broken and q->error are
 * set and every later pop returns -EINVAL until reset.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *chain) __attribute__((warn_unused_result));

/*
 * Returns a chain to the guest (§2.7.8): writes {head, written} then, after
 * a release barrier, used->idx. `written` is the number of bytes written
 * into the writable buffers. Returns 0, or -EINVAL without touching the
 * ring when the queue is not ready, broken or head >= size (which also
 * marks it broken, so ignoring the result is safe: the next pop fails).
 */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/*
 * After one or more pushes: whether to interrupt the guest (§2.7.7.2).
 * EVENT_IDX: vring_need_event(used_event, new, old) with old = used_idx at
 * the last call; otherwise unless avail->flags has NO_INTERRUPT.
 */
bool virtq_should_notify(struct virtq *q);

/*
 * Asks the guest to kick (enable) or not (§2.7.10). EVENT_IDX: enabling
 * writes avail_event = last_avail, disabling leaves it stale (the guest
 * kicks only when it crosses it); otherwise sets/clears used->flags
 * NO_NOTIFY. Enabling ends with a full fence, so a following
 * virtq_has_available() sees buffers added before the guest read our write.
 */
void virtq_set_notification(struct virtq *q, bool enable);

/* Whether avail->idx (re-read after a full fence) is ahead of last_avail. */
bool virtq_has_available(struct virtq *q);

/*
 * The one place a device copies between a validated chain and its own
 * memory (tests/tools/check-structure enforces it). Both skip `offset`
 * bytes of the chain's readable (copy_from) or writable (copy_to) part and
 * copy at most `len` bytes; they return the bytes copied, which is less
 * than `len` when that part of the chain ends first. The iovs were
 * bounds-checked by virtq_pop, so no guest value is read here.
 */
size_t virtq_chain_copy_from(const struct virtq_chain *c, size_t offset, void *dst, size_t len);
size_t virtq_chain_copy_to(const struct virtq_chain *c, size_t offset, const void *src, size_t len);

#endif
