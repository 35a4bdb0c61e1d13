/* Unit tests for the split virtqueue (devices/virtio/virtq.c): activation and reset, and random
 * rings that never escape RAM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtq_fixture.h"

/* ---- activation and reset ---- */

static void test_virtq_activate_accepts_valid_rings(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ring_driver_activate(&f->rd, &f->q, true, true), 0);

	assert_true(f->q.ready);
	assert_false(f->q.broken);
	assert_int_equal(f->q.size, 16);
	assert_true(f->q.event_idx);
	assert_true(f->q.indirect);
	assert_ptr_equal(f->q.desc, ring_driver_host(&f->rd, f->rd.desc_gpa));
	assert_ptr_equal(f->q.avail, ring_driver_avail(&f->rd));
	assert_ptr_equal(f->q.used, ring_driver_used(&f->rd));
	assert_ptr_equal(f->q.used_event, ring_driver_used_event(&f->rd));
	assert_ptr_equal(f->q.avail_event, ring_driver_avail_event(&f->rd));
}

static void test_virtq_activate_accepts_sizes_1_and_max(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
	    virtq_activate(&f->q, &f->rd.ram, 1, 0x10000, 0x20000, 0x30000, false, false), 0);
	assert_int_equal(virtq_activate(&f->q, &f->rd.ram, VIRTQ_MAX_SIZE, 0x10000, 0x20000,
					0x30000, false, false),
			 0);
	assert_int_equal(f->q.size, VIRTQ_MAX_SIZE);
}

static void test_virtq_activate_rejects_bad_sizes(void **state)
{
	struct fixture *f = *state;
	const uint16_t sizes[] = {0, 3, 12, 100, 1023, 2048, 32768, 65535};

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(virtq_activate(&f->q, &f->rd.ram, sizes[i], 0x10000, 0x80000,
						0x90000, false, false),
				 -EINVAL);
		assert_false(f->q.ready);
	}
}

static void test_virtq_activate_rejects_misaligned_rings(void **state)
{
	struct fixture *f = *state;
	struct ring_driver *rd = &f->rd;

	assert_int_equal(virtq_activate(&f->q, &rd->ram, 16, rd->desc_gpa + 8, rd->avail_gpa,
					rd->used_gpa, false, false),
			 -EINVAL);
	assert_int_equal(virtq_activate(&f->q, &rd->ram, 16, rd->desc_gpa, rd->avail_gpa + 1,
					rd->used_gpa, false, false),
			 -EINVAL);
	assert_int_equal(virtq_activate(&f->q, &rd->ram, 16, rd->desc_gpa, rd->avail_gpa,
					rd->used_gpa + 2, false, false),
			 -EINVAL);
	assert_false(f->q.ready);
}

static void test_virtq_activate_rejects_desc_table_past_end_of_ram(void **state)
{
	struct fixture *f = *state;
	struct ring_driver *rd = &f->rd;

	/* The last of 16 descriptors would start at the end of RAM. */
	assert_int_equal(virtq_activate(&f->q, &rd->ram, 16, RING_DRIVER_RAM_SIZE - 15 * 16,
					rd->avail_gpa, rd->used_gpa, false, false),
			 -EINVAL);
	assert_false(f->q.ready);
}

static void test_virtq_activate_rejects_avail_ring_whose_used_event_is_outside_ram(void **state)
{
	struct fixture *f = *state;
	struct ring_driver *rd = &f->rd;

	/* flags, idx and ring[16] fit exactly; used_event does not. */
	assert_int_equal(virtq_activate(&f->q, &rd->ram, 16, rd->desc_gpa,
					RING_DRIVER_RAM_SIZE - (4 + 2 * 16), rd->used_gpa, false,
					false),
			 -EINVAL);
}

static void test_virtq_activate_rejects_used_ring_whose_avail_event_is_outside_ram(void **state)
{
	struct fixture *f = *state;
	struct ring_driver *rd = &f->rd;

	assert_int_equal(virtq_activate(&f->q, &rd->ram, 16, rd->desc_gpa, rd->avail_gpa,
					RING_DRIVER_RAM_SIZE - (4 + 8 * 16), false, false),
			 -EINVAL);
}

static void test_virtq_activate_rejects_ring_in_ram_hole(void **state)
{
	struct fixture *f = *state;
	struct ring_driver *rd = &f->rd;

	assert_int_equal(ring_driver_add_region(rd, 4 * GIB, 0x10000), 0);

	assert_int_equal(
	    virtq_activate(&f->q, &rd->ram, 16, 2 * GIB, rd->avail_gpa, rd->used_gpa, false, false),
	    -EINVAL);
	assert_int_equal(virtq_activate(&f->q, &rd->ram, 16, rd->desc_gpa, rd->avail_gpa,
					UINT64_MAX - 3, false, false),
			 -EINVAL);
}

static void test_virtq_activate_rejects_ring_spanning_two_regions(void **state)
{
	struct fixture *f = *state;
	struct ring_driver *rd = &f->rd;

	assert_int_equal(ring_driver_add_region(rd, RING_DRIVER_RAM_SIZE, 0x10000), 0);

	assert_int_equal(virtq_activate(&f->q, &rd->ram, 16, RING_DRIVER_RAM_SIZE - 128,
					rd->avail_gpa, rd->used_gpa, false, false),
			 -EINVAL);
}

static void test_virtq_activate_rejects_missing_ram(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(virtq_activate(&f->q, NULL, 16, 0x1000, 0x2000, 0x3000, false, false),
			 -EINVAL);
}

static void test_virtq_reset_clears_broken_queue(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	ring_driver_offer(&f->rd, 99);
	ring_driver_publish(&f->rd);
	assert_int_equal(virtq_pop(&f->q, &chain), -EINVAL);

	virtq_reset(&f->q);
	assert_false(f->q.broken);
	assert_false(f->q.ready);
	ring_driver_set_indices(&f->rd, 0);
	assert_int_equal(ring_driver_activate(&f->rd, &f->q, false, false), 0);
	offer_valid_desc(f, 1);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);
	assert_int_equal(chain.head, 1);
}

/* ---- fuzz-style: random rings never crash and never escape RAM ---- */

static uint64_t rand64(void)
{
	return ((uint64_t)rand() << 33) ^ ((uint64_t)rand() << 11) ^ (uint64_t)rand();
}

static unsigned int pct(void)
{
	return (unsigned int)(rand() % 100);
}

static struct virtq_desc random_desc(uint16_t next_bound, uint64_t table_area)
{
	unsigned int a = pct(), l = pct(), n = pct();
	struct virtq_desc d;

	d.addr = a < 70	  ? (uint64_t)(rand() % RING_DRIVER_RAM_SIZE)
		 : a < 80 ? RING_DRIVER_RAM_SIZE - (uint64_t)(rand() % 64)
		 : a < 90 ? table_area + 16 * (uint64_t)(rand() % 32)
			  : rand64();
	d.len = l < 60	 ? (uint32_t)(rand() % 4096)
		: l < 75 ? 0
		: l < 90 ? 16 * (uint32_t)(rand() % 80)
			 : (uint32_t)rand64();
	d.flags = (uint16_t)((pct() < 50 ? VIRTQ_DESC_F_NEXT : 0) |
			     (pct() < 30 ? VIRTQ_DESC_F_WRITE : 0) |
			     (pct() < 10 ? VIRTQ_DESC_F_INDIRECT : 0));
	d.next = n < 85 ? (uint16_t)(rand() % next_bound) : (uint16_t)rand();
	return d;
}

static void assert_chain_inside_ram(struct fixture *f, const struct virtq_chain *c)
{
	const uint8_t *lo = f->rd.mem, *hi = f->rd.mem + f->rd.mem_size;
	uint64_t readable = 0, writable = 0;

	assert_true(c->readable + c->writable <= VIRTQ_MAX_CHAIN);
	assert_true(c->head < f->q.size);
	for (unsigned int i = 0; i < c->readable + c->writable; i++) {
		const uint8_t *base = c->iov[i].base;

		assert_true(c->iov[i].len > 0);
		assert_true(base >= lo && base < hi);
		assert_true(c->iov[i].len <= (uint64_t)(hi - base));
		if (i < c->readable)
			readable += c->iov[i].len;
		else
			writable += c->iov[i].len;
	}
	assert_int_equal(readable, c->readable_len);
	assert_int_equal(writable, c->writable_len);
	assert_true(readable <= UINT32_MAX && writable <= UINT32_MAX);
}

static void fuzz_one_ring(struct fixture *f, unsigned int *popped, unsigned int *rejected)
{
	struct ring_driver *rd = &f->rd;
	uint16_t size = (uint16_t)(1u << (rand() % 9));
	uint64_t table_area = rd->heap_start;
	struct virtq_desc *tables = ring_driver_host(rd, table_area);
	struct virtq_chain chain;

	memset(ring_driver_host(rd, 0), 0, rd->heap_start + 32 * 16);
	assert_int_equal(virtq_activate(&f->q, &rd->ram, size, rd->desc_gpa, rd->avail_gpa,
					rd->used_gpa, rand() & 1, rand() & 1),
			 0);
	for (uint16_t i = 0; i < size; i++)
		*ring_driver_desc(rd, i) = random_desc(size, table_area);
	for (unsigned int i = 0; i < 32; i++)
		tables[i] = random_desc(pct() < 50 ? 4 : 32, table_area);
	for (uint16_t i = 0; i < size; i++)
		ring_driver_avail(rd)->ring[i] =
		    pct() < 90 ? (uint16_t)(rand() % size) : (uint16_t)rand();

	uint16_t start = (uint16_t)rand();
	uint16_t pending = pct() < 90 ? (uint16_t)(rand() % (size + 1)) : (uint16_t)rand();

	f->q.last_avail = f->q.used_idx = f->q.signalled_used = start;
	ring_driver_avail(rd)->idx = (uint16_t)(start + pending);
	*ring_driver_used_event(rd) = (uint16_t)rand();

	for (unsigned int n = 0; n <= size; n++) {
		int got = virtq_pop(&f->q, &chain);

		if (got < 0) {
			assert_true(f->q.broken);
			assert_int_equal(virtq_pop(&f->q, &chain), -EINVAL);
			(*rejected)++;
			break;
		}
		if (got == 0)
			break;
		assert_chain_inside_ram(f, &chain);
		assert_int_equal(virtq_push(&f->q, chain.head, (uint32_t)chain.writable_len), 0);
		(*popped)++;
		if (pct() < 20)
			(void)virtq_should_notify(&f->q);
		if (pct() < 10)
			virtq_set_notification(&f->q, rand() & 1);
	}
	(void)virtq_has_available(&f->q);
}

static void test_virtq_fuzz_random_rings_stay_inside_ram(void **state)
{
	struct fixture *f = *state;
	unsigned int popped = 0, rejected = 0;

	srand(0x5eed);
	for (int i = 0; i < 2000; i++)
		fuzz_one_ring(f, &popped, &rejected);

	/* Both paths were exercised, not just the early rejections. */
	assert_true(popped > 200);
	assert_true(rejected > 200);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_virtq_activate_accepts_valid_rings, setup_inactive),
	    T(test_virtq_activate_accepts_sizes_1_and_max, setup_inactive),
	    T(test_virtq_activate_rejects_bad_sizes, setup_inactive),
	    T(test_virtq_activate_rejects_misaligned_rings, setup_inactive),
	    T(test_virtq_activate_rejects_desc_table_past_end_of_ram, setup_inactive),
	    T(test_virtq_activate_rejects_avail_ring_whose_used_event_is_outside_ram,
	      setup_inactive),
	    T(test_virtq_activate_rejects_used_ring_whose_avail_event_is_outside_ram,
	      setup_inactive),
	    T(test_virtq_activate_rejects_ring_in_ram_hole, setup_inactive),
	    T(test_virtq_activate_rejects_ring_spanning_two_regions, setup_inactive),
	    T(test_virtq_activate_rejects_missing_ram, setup_inactive),
	    T(test_virtq_reset_clears_broken_queue, setup_q16),
	    T(test_virtq_fuzz_random_rings_stay_inside_ram, setup_q256),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
