/* Test support: the driver side of a split virtqueue (virtio 1.2 §2.7.13, §2.7.14) over fake guest
 * RAM. */
#ifndef MICROVMM_TESTS_SUPPORT_RING_DRIVER_H
#define MICROVMM_TESTS_SUPPORT_RING_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/guest_ram.h"
#include "devices/virtio/virtq.h"

/*
 * Region 0 is RING_DRIVER_RAM_SIZE bytes of malloc'd memory at gpa 0 holding
 * the descriptor table, the avail ring, the used ring (in that order, each
 * aligned as §2.7 requires) and a heap for buffers and indirect tables.
 * One thread, no locking; the test plays the guest driver, virtq the device.
 */
#define RING_DRIVER_RAM_SIZE (1ULL << 20)
#define RING_DRIVER_DESC_GPA 0x1000ULL

/* One buffer of a chain: guest-physical address, length, device-writable? */
struct ring_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct ring_driver {
	struct guest_ram ram;
	uint8_t *mem; /* host backing of region 0 */
	uint64_t mem_size;
	void *extra; /* host backing of the optional region 1 (mmap'd, lazily populated) */
	uint64_t extra_size;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint64_t heap_start, heap_next;
	uint16_t next_desc; /* next descriptor handed out by ring_driver_add_chain (wraps) */
	uint16_t avail_idx; /* the driver's shadow of avail->idx */
	uint16_t last_used; /* next used entry ring_driver_get_used reads */
};

/* Lays out rings for a queue of `size` (any u16; activation decides validity). Returns 0/-ENOMEM.
 */
int ring_driver_init(struct ring_driver *rd, uint16_t size) __attribute__((warn_unused_result));
/* Adds RAM region 1 of `size` bytes at `gpa`, mapped lazily (so a few GiB cost nothing). */
int ring_driver_add_region(struct ring_driver *rd, uint64_t gpa, uint64_t size)
    __attribute__((warn_unused_result));
/* Frees everything; idempotent. */
void ring_driver_destroy(struct ring_driver *rd);

/* virtq_activate() on this layout. */
int ring_driver_activate(struct ring_driver *rd, struct virtq *q, bool event_idx, bool indirect)
    __attribute__((warn_unused_result));

/* Host address of region-0 gpa (no checks: tests only). */
void *ring_driver_host(struct ring_driver *rd, uint64_t gpa);
/* Zeroed heap memory in region 0; returns its gpa, 0 when the heap is exhausted. */
uint64_t ring_driver_alloc(struct ring_driver *rd, uint64_t len, uint64_t align);
/* Forgets heap allocations (the memory is not cleared). */
void ring_driver_heap_reset(struct ring_driver *rd);

/* Raw access for building malformed rings. */
struct virtq_desc *ring_driver_desc(struct ring_driver *rd, uint16_t idx);
void ring_driver_set_desc(struct ring_driver *rd, uint16_t idx, uint64_t addr, uint32_t len,
			  uint16_t flags, uint16_t next);
struct virtq_avail *ring_driver_avail(struct ring_driver *rd);
struct virtq_used *ring_driver_used(struct ring_driver *rd);
uint16_t *ring_driver_used_event(struct ring_driver *rd);  /* avail->ring[size] */
uint16_t *ring_driver_avail_event(struct ring_driver *rd); /* after used->ring[size] */

/*
 * Writes bufs[0..n) into the next n free descriptors, linked with NEXT, and
 * offers the chain (avail ring entry; not yet published). Returns the head.
 */
uint16_t ring_driver_add_chain(struct ring_driver *rd, const struct ring_buf *bufs, unsigned int n);
/* Writes bufs[0..n) as an indirect table at table_gpa, entries 0..n-1 linked with NEXT. */
void ring_driver_write_indirect(struct ring_driver *rd, uint64_t table_gpa,
				const struct ring_buf *bufs, unsigned int n);
/* Allocates and writes an indirect table, offers one INDIRECT descriptor for it; returns head. */
uint16_t ring_driver_add_indirect(struct ring_driver *rd, const struct ring_buf *bufs,
				  unsigned int n);
/* Puts `head` in the next avail slot (not yet published). */
void ring_driver_offer(struct ring_driver *rd, uint16_t head);
/* Makes offered chains visible: avail->idx = shadow, with a release store (§2.7.13.3). */
void ring_driver_publish(struct ring_driver *rd);
/* Pretends `idx` chains went round already: avail->idx, used->idx and both shadows = idx. */
void ring_driver_set_indices(struct ring_driver *rd, uint16_t idx);
/* Reads the next used element (§2.7.14). Returns true and fills id/len if there is one. */
bool ring_driver_get_used(struct ring_driver *rd, uint32_t *id, uint32_t *len);

#endif
