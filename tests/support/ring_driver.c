/* Test support: builds split virtqueues in fake guest RAM the way a guest driver would. */
#include "tests/support/ring_driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

int ring_driver_init(struct ring_driver *rd, uint16_t size)
{
	memset(rd, 0, sizeof(*rd));
	if (size == 0 || size > VIRTQ_MAX_SIZE)
		return -EINVAL;
	rd->mem = calloc(1, RING_DRIVER_RAM_SIZE);
	if (!rd->mem)
		return -ENOMEM;
	rd->mem_size = RING_DRIVER_RAM_SIZE;
	rd->ram.regions[0] =
	    (struct guest_ram_region){.gpa = 0, .size = rd->mem_size, .host = rd->mem};
	rd->ram.count = 1;
	rd->ram.total = rd->mem_size;
	rd->size = size;
	rd->desc_gpa = RING_DRIVER_DESC_GPA;
	rd->avail_gpa = rd->desc_gpa + VIRTQ_DESC_BYTES(size);
	rd->used_gpa = align_up(rd->avail_gpa + VIRTQ_AVAIL_BYTES(size), 4);
	rd->heap_start = align_up(rd->used_gpa + VIRTQ_USED_BYTES(size), 4096);
	rd->heap_next = rd->heap_start;
	return 0;
}

int ring_driver_add_region(struct ring_driver *rd, uint64_t gpa, uint64_t size)
{
	if (rd->extra || rd->ram.count != 1)
		return -EBUSY;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	rd->extra = p;
	rd->extra_size = size;
	rd->ram.regions[1] = (struct guest_ram_region){.gpa = gpa, .size = size, .host = p};
	rd->ram.count = 2;
	rd->ram.total += size;
	return 0;
}

void ring_driver_destroy(struct ring_driver *rd)
{
	if (rd->extra)
		munmap(rd->extra, rd->extra_size);
	free(rd->mem);
	memset(rd, 0, sizeof(*rd));
}

int ring_driver_activate(struct ring_driver *rd, struct virtq *q, bool event_idx, bool indirect)
{
	return virtq_activate(q, &rd->ram, rd->size, rd->desc_gpa, rd->avail_gpa, rd->used_gpa,
			      event_idx, indirect);
}

void *ring_driver_host(struct ring_driver *rd, uint64_t gpa)
{
	return rd->mem + gpa;
}

uint64_t ring_driver_alloc(struct ring_driver *rd, uint64_t len, uint64_t align)
{
	uint64_t gpa = align_up(rd->heap_next, align ? align : 1);

	if (gpa > rd->mem_size || len > rd->mem_size - gpa)
		return 0;
	memset(rd->mem + gpa, 0, len);
	rd->heap_next = gpa + len;
	return gpa;
}

void ring_driver_heap_reset(struct ring_driver *rd)
{
	rd->heap_next = rd->heap_start;
}

struct virtq_desc *ring_driver_desc(struct ring_driver *rd, uint16_t idx)
{
	return (struct virtq_desc *)ring_driver_host(rd, rd->desc_gpa) + idx;
}

void ring_driver_set_desc(struct ring_driver *rd, uint16_t idx, uint64_t addr, uint32_t len,
			  uint16_t flags, uint16_t next)
{
	*ring_driver_desc(rd, idx) =
	    (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

struct virtq_avail *ring_driver_avail(struct ring_driver *rd)
{
	return ring_driver_host(rd, rd->avail_gpa);
}

struct virtq_used *ring_driver_used(struct ring_driver *rd)
{
	return ring_driver_host(rd, rd->used_gpa);
}

uint16_t *ring_driver_used_event(struct ring_driver *rd)
{
	return &ring_driver_avail(rd)->ring[rd->size];
}

uint16_t *ring_driver_avail_event(struct ring_driver *rd)
{
	return (uint16_t *)&ring_driver_used(rd)->ring[rd->size];
}

static uint16_t buf_flags(const struct ring_buf *b, bool more)
{
	return (uint16_t)((b->write ? VIRTQ_DESC_F_WRITE : 0) | (more ? VIRTQ_DESC_F_NEXT : 0));
}

uint16_t ring_driver_add_chain(struct ring_driver *rd, const struct ring_buf *bufs, unsigned int n)
{
	uint16_t head = rd->next_desc;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = rd->next_desc;

		rd->next_desc = (uint16_t)((rd->next_desc + 1) % rd->size);
		ring_driver_set_desc(rd, idx, bufs[i].gpa, bufs[i].len,
				     buf_flags(&bufs[i], i + 1 < n), i + 1 < n ? rd->next_desc : 0);
	}
	ring_driver_offer(rd, head);
	return head;
}

void ring_driver_write_indirect(struct ring_driver *rd, uint64_t table_gpa,
				const struct ring_buf *bufs, unsigned int n)
{
	struct virtq_desc *table = ring_driver_host(rd, table_gpa);

	for (unsigned int i = 0; i < n; i++)
		table[i] = (struct virtq_desc){.addr = bufs[i].gpa,
					       .len = bufs[i].len,
					       .flags = buf_flags(&bufs[i], i + 1 < n),
					       .next = (uint16_t)(i + 1 < n ? i + 1 : 0)};
}

uint16_t ring_driver_add_indirect(struct ring_driver *rd, const struct ring_buf *bufs,
				  unsigned int n)
{
	uint64_t table = ring_driver_alloc(rd, (uint64_t)n * sizeof(struct virtq_desc), 16);
	uint16_t head = rd->next_desc;

	ring_driver_write_indirect(rd, table, bufs, n);
	rd->next_desc = (uint16_t)((rd->next_desc + 1) % rd->size);
	ring_driver_set_desc(rd, head, table, (uint32_t)(n * sizeof(struct virtq_desc)),
			     VIRTQ_DESC_F_INDIRECT, 0);
	ring_driver_offer(rd, head);
	return head;
}

void ring_driver_offer(struct ring_driver *rd, uint16_t head)
{
	ring_driver_avail(rd)->ring[rd->avail_idx % rd->size] = head;
	rd->avail_idx++;
}

void ring_driver_publish(struct ring_driver *rd)
{
	__atomic_store_n(&ring_driver_avail(rd)->idx, rd->avail_idx, __ATOMIC_RELEASE);
}

void ring_driver_set_indices(struct ring_driver *rd, uint16_t idx)
{
	rd->avail_idx = idx;
	rd->last_used = idx;
	ring_driver_avail(rd)->idx = idx;
	ring_driver_used(rd)->idx = idx;
}

bool ring_driver_get_used(struct ring_driver *rd, uint32_t *id, uint32_t *len)
{
	struct virtq_used *used = ring_driver_used(rd);

	if (__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE) == rd->last_used)
		return false;
	*id = used->ring[rd->last_used % rd->size].id;
	*len = used->ring[rd->last_used % rd->size].len;
	rd->last_used++;
	return true;
}
