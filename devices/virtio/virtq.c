/* Split virtqueue validation and bookkeeping (virtio 1.2 §2.7); see virtq.h for the contract. */
#include "devices/virtio/virtq.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* Virtio 1.x rings are little-endian (§1.4); we read them without byte swaps. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtq assumes a little-endian host");
_Static_assert(offsetof(struct virtq_avail, ring) == 4, "avail ring follows flags and idx");
_Static_assert(offsetof(struct virtq_used, ring) == 4, "used ring follows flags and idx");

static int virtq_fail(struct virtq *q, const char *why)
{
	q->broken = true;
	q->error = why;
	return -EINVAL;
}

/* An activation that is refused: the queue stays not ready, q->error says why. */
static int virtq_refuse(struct virtq *q, const char *why)
{
	q->error = why;
	return -EINVAL;
}

static bool virtq_size_valid(uint16_t size)
{
	/* §2.7: "Queue Size value is always a power of 2"; we offer at most VIRTQ_MAX_SIZE. */
	return size != 0 && size <= VIRTQ_MAX_SIZE && (size & (size - 1)) == 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

int virtq_activate(struct virtq *q, const struct guest_ram *ram, uint16_t size, uint64_t desc,
		   uint64_t avail, uint64_t used, bool event_idx, bool indirect)
{
	virtq_reset(q);
	if (!ram)
		return virtq_refuse(q, "no guest RAM");
	if (!virtq_size_valid(size))
		return virtq_refuse(q, "queue size is not a power of two up to 1024");
	/* §2.7 "Alignment requirements": descriptor table 16, available ring 2, used ring 4. */
	if ((desc & 15) || (avail & 1) || (used & 3))
		return virtq_refuse(q, "misaligned ring address");
	/* GUEST: driver-chosen ring addresses; each whole ring must lie in one RAM region. */
	void *d = guest_ram_ptr(ram, desc, VIRTQ_DESC_BYTES(size));
	void *a = guest_ram_ptr(ram, avail, VIRTQ_AVAIL_BYTES(size));
	void *u = guest_ram_ptr(ram, used, VIRTQ_USED_BYTES(size));

	if (!d || !a || !u)
		return virtq_refuse(q, "ring outside guest RAM");
	q->ram = ram;
	q->size = size;
	q->desc_gpa = desc;
	q->avail_gpa = avail;
	q->used_gpa = used;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->used_event = &q->avail->ring[size];
	q->avail_event = (uint16_t *)&q->used->ring[size];
	/* The driver starts both indices at 0 (§2.7.6, §2.7.8); from here on we keep our own. */
	q->signalled_used_valid = true;
	q->ready = true;
	return 0;
}

/*
 * Reads one descriptor exactly once. A buggy or hostile guest may rewrite
 * the table while we walk it, so the copy is followed by a compiler
 * barrier: every check and every use below sees the same copy.
 * Indirect tables need not be 16-aligned, hence memcpy rather than atomics.
 */
static void virtq_copy_desc(struct virtq_desc *dst, const void *src)
{
	memcpy(dst, src, sizeof(*dst));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Appends one buffer (a descriptor already copied out of guest memory) to the chain. */
static int virtq_add_buf(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;

	/* §2.7.4.2: device-writable descriptors come after all device-readable ones. */
	if (!write && c->writable)
		return virtq_fail(q, "readable descriptor after a writable one");
	/* A zero-length buffer carries nothing; skip it without translating its address. */
	if (d->len == 0)
		return 0;
	if (d->addr + d->len < d->addr)
		return virtq_fail(q, "descriptor address + length overflows");
	if (c->readable + c->writable >= VIRTQ_MAX_CHAIN)
		return virtq_fail(q, "descriptor chain too long");
	/* §2.7.5.2: a chain carries less than 2^32 bytes each way. */
	uint64_t *total = write ? &c->writable_len : &c->readable_len;

	if (*total + d->len > UINT32_MAX)
		return virtq_fail(q, "descriptor chain longer than 4 GiB");
	/* GUEST: addr/len are from the local copy; the whole buffer must lie in one RAM region. */
	void *base = guest_ram_ptr(q->ram, d->addr, d->len);

	if (!base)
		return virtq_fail(q, "descriptor buffer outside guest RAM");
	c->iov[c->readable + c->writable] = (struct virtq_iov){.base = base, .len = d->len};
	if (write)
		c->writable++;
	else
		c->readable++;
	*total += d->len;
	return 0;
}

/*
 * Walks an indirect table (§2.7.5.3) from entry 0. `d` is the (copied)
 * descriptor pointing at it; its WRITE flag is ignored (§2.7.5.3.2).
 */
static int virtq_walk_indirect(struct virtq *q, struct virtq_chain *c, const struct virtq_desc *d)
{
	/* §2.7.5.3.1: only when negotiated, and never together with NEXT. */
	if (!q->indirect)
		return virtq_fail(q, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return virtq_fail(q, "indirect descriptor with NEXT");
	/* Entries are 16 bytes; a table larger than our chain cap could only be refused later. */
	if (d->len == 0 || d->len % sizeof(struct virtq_desc) ||
	    d->len > VIRTQ_MAX_CHAIN * sizeof(struct virtq_desc))
		return virtq_fail(q, "bad indirect table length");
	if (d->addr + d->len < d->addr)
		return virtq_fail(q, "indirect table address + length overflows");
	/* GUEST: table address and length checked above; the whole table must be in RAM. */
	const uint8_t *table = guest_ram_ptr(q->ram, d->addr, d->len);

	if (!table)
		return virtq_fail(q, "indirect table outside guest RAM");
	uint16_t entries = (uint16_t)(d->len / sizeof(struct virtq_desc));
	uint16_t idx = 0;

	/* A loop-free walk visits each entry at most once: TTL = table entries. */
	for (unsigned int ttl = entries; ttl; ttl--) {
		struct virtq_desc e;

		/* GUEST: idx < entries (0, or a checked next); the entry is copied before use. */
		virtq_copy_desc(&e, table + (size_t)idx * sizeof(e));
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return virtq_fail(q, "indirect descriptor inside an indirect table");
		int err = virtq_add_buf(q, c, &e);

		if (err)
			return err;
		if (!(e.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (e.next >= entries)
			return virtq_fail(q, "indirect next index out of range");
		idx = e.next;
	}
	return virtq_fail(q, "indirect descriptor chain loops");
}

/* Walks the chain starting at `head` (already < size) through the descriptor table. */
static int virtq_walk(struct virtq *q, struct virtq_chain *c, uint16_t head)
{
	uint16_t idx = head;

	/* A loop-free chain visits each of the `size` descriptors at most once (§2.7.5.2). */
	for (unsigned int ttl = q->size; ttl; ttl--) {
		struct virtq_desc d;

		/* GUEST: idx < size (checked head or next); the descriptor is copied before use. */
		virtq_copy_desc(&d, &q->desc[idx]);
		/* §2.7.5.3.2: zero or more direct descriptors may end in one indirect one. */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return virtq_walk_indirect(q, c, &d);
		int err = virtq_add_buf(q, c, &d);

		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= q->size)
			return virtq_fail(q, "next index out of range");
		idx = d.next;
	}
	return virtq_fail(q, "descriptor chain loops");
}

int virtq_pop(struct virtq *q, struct virtq_chain *chain)
{
	if (q->broken)
		return -EINVAL;
	if (!q->ready)
		return 0;
	/* GUEST: avail->idx is read once (acquire: entries and descriptors are read after it). */
	uint16_t avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);

	/* §2.7.6, §2.7.13.3: the driver never has more than `size` entries outstanding. */
	if (pending > q->size)
		return virtq_fail(q, "available index moved by more than the queue size");
	if (pending == 0) {
		if (!q->event_idx)
			return 0;
		/*
		 * §2.7.10: with EVENT_IDX the driver kicks only when its index
		 * passes avail_event, so publish how far we got before going
		 * idle, then look once more for entries added meanwhile.
		 */
		__atomic_store_n(q->avail_event, q->last_avail, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
		pending = (uint16_t)(avail_idx - q->last_avail);
		if (pending > q->size)
			return virtq_fail(q, "available index moved by more than the queue size");
		if (pending == 0)
			return 0;
	}
	/* GUEST: the ring slot is last_avail mod size (< size); the head is read once, checked. */
	uint16_t head =
	    __atomic_load_n(&q->avail->ring[q->last_avail & (q->size - 1)], __ATOMIC_RELAXED);

	if (head >= q->size)
		return virtq_fail(q, "head index out of range");
	chain->head = head;
	chain->readable = 0;
	chain->writable = 0;
	chain->readable_len = 0;
	chain->writable_len = 0;
	int err = virtq_walk(q, chain, head);

	if (err)
		return err;
	q->last_avail++;
	return 1;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	if (!q->ready || q->broken)
		return -EINVAL;
	if (head >= q->size)
		return virtq_fail(q, "device returned a head index out of range");
	uint16_t old = q->used_idx;
	uint16_t new = (uint16_t)(old + 1);
	struct virtq_used_elem *e = &q->used->ring[old & (q->size - 1)];

	/* §2.7.8.2: the element is visible before the index that publishes it. */
	__atomic_store_n(&e->id, (uint32_t)head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, written, __ATOMIC_RELAXED);
	__atomic_store_n(&q->used->idx, new, __ATOMIC_RELEASE);
	q->used_idx = new;
	/*
	 * Once used_idx is half a lap or more past the index we last signalled
	 * at, the u16 window [signalled_used, used_idx) is ambiguous: signal on
	 * the next check regardless (as QEMU's virtqueue_flush() does).
	 */
	if ((int16_t)(uint16_t)(new - q->signalled_used) <= 0)
		q->signalled_used_valid = false;
	return 0;
}

bool virtq_should_notify(struct virtq *q)
{
	if (!q->ready)
		return false;
	/* Publish used->idx before reading the guest's suppression state (§2.7.7.2). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bool valid = q->signalled_used_valid;
	uint16_t old = q->signalled_used;
	uint16_t new = q->used_idx;

	q->signalled_used = new;
	q->signalled_used_valid = true;
	if (!q->event_idx) {
		/* GUEST: a hint only; any value is safe. */
		uint16_t flags = __atomic_load_n(&q->avail->flags, __ATOMIC_RELAXED);

		return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	/* GUEST: a hint only; read once, any value is safe. */
	uint16_t event = __atomic_load_n(q->used_event, __ATOMIC_RELAXED);

	/* §2.7.7.2 with Linux's vring_need_event(): did [old, new) pass used_event? */
	return !valid || (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void virtq_set_notification(struct virtq *q, bool enable)
{
	if (!q->ready || q->broken)
		return;
	if (q->event_idx) {
		/* §2.7.10: the driver kicks when its avail idx passes avail_event. */
		if (enable)
			__atomic_store_n(q->avail_event, q->last_avail, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&q->used->flags, (uint16_t)(enable ? 0 : VIRTQ_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
	}
	/* Our write must be visible before we re-read avail->idx, or a kick can be lost. */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool virtq_has_available(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* GUEST: compared only; virtq_pop re-validates the index it reads. */
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

/*
 * Walks iov[first, first + count) from `offset` bytes in: copies into the
 * chain from `in`, or out of it into `out` (exactly one is non-NULL).
 */
static size_t chain_copy(const struct virtq_chain *c, unsigned int first, unsigned int count,
			 size_t offset, uint8_t *out, const uint8_t *in, size_t len)
{
	size_t done = 0;

	for (unsigned int i = first; i < first + count && done < len; i++) {
		size_t iov_len = c->iov[i].len;

		if (offset >= iov_len) {
			offset -= iov_len;
			continue;
		}
		size_t n = iov_len - offset;
		uint8_t *base = (uint8_t *)c->iov[i].base + offset;

		n = n < len - done ? n : len - done;
		if (in)
			memcpy(base, in + done, n);
		else
			memcpy(out + done, base, n);
		done += n;
		offset = 0;
	}
	return done;
}

size_t virtq_chain_copy_from(const struct virtq_chain *c, size_t offset, void *dst, size_t len)
{
	return chain_copy(c, 0, c->readable, offset, dst, NULL, len);
}

size_t virtq_chain_copy_to(const struct virtq_chain *c, size_t offset, const void *src, size_t len)
{
	return chain_copy(c, c->readable, c->writable, offset, NULL, src, len);
}
