/* Unit tests for the split virtqueue (devices/virtio/virtq.c): indirect descriptor tables
 * (virtio 1.2 §2.7.5.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtq_fixture.h"

/* ---- indirect descriptors (§2.7.5.3) ---- */

static void test_virtq_pop_indirect_chain_when_negotiated(void **state)
{
	struct fixture *f = *state;
	uint64_t r = new_buf(f, 16), w0 = new_buf(f, 100), w1 = new_buf(f, 28);
	struct ring_buf bufs[] = {{r, 16, false}, {w0, 100, true}, {w1, 28, true}};
	uint16_t head = ring_driver_add_indirect(&f->rd, bufs, 3);
	struct virtq_chain chain;

	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.head, head);
	assert_int_equal(chain.readable, 1);
	assert_int_equal(chain.writable, 2);
	assert_iov(f, &chain.iov[0], r, 16);
	assert_iov(f, &chain.iov[1], w0, 100);
	assert_iov(f, &chain.iov[2], w1, 28);
	assert_int_equal(chain.writable_len, 128);
}

static void test_virtq_pop_indirect_table_of_max_length(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[VIRTQ_MAX_CHAIN];
	struct virtq_chain chain;

	for (unsigned int i = 0; i < VIRTQ_MAX_CHAIN; i++)
		bufs[i] = (struct ring_buf){new_buf(f, 4), 4, true};
	ring_driver_add_indirect(&f->rd, bufs, VIRTQ_MAX_CHAIN);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.writable, VIRTQ_MAX_CHAIN);
}

static void test_virtq_pop_direct_descriptors_ending_in_indirect(void **state)
{
	struct fixture *f = *state;
	uint64_t r = new_buf(f, 10), w = new_buf(f, 20);
	uint64_t table = ring_driver_alloc(&f->rd, 16, 16);
	struct ring_buf entry = {w, 20, true};
	struct virtq_chain chain;

	ring_driver_write_indirect(&f->rd, table, &entry, 1);
	ring_driver_set_desc(&f->rd, 0, r, 10, VIRTQ_DESC_F_NEXT, 1);
	ring_driver_set_desc(&f->rd, 1, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.readable, 1);
	assert_int_equal(chain.writable, 1);
	assert_iov(f, &chain.iov[0], r, 10);
	assert_iov(f, &chain.iov[1], w, 20);
}

static void test_virtq_pop_ignores_write_flag_on_indirect_descriptor(void **state)
{
	struct fixture *f = *state;
	uint64_t r = new_buf(f, 10);
	struct ring_buf entry = {r, 10, false};
	uint16_t head = ring_driver_add_indirect(&f->rd, &entry, 1);
	struct virtq_chain chain;

	ring_driver_desc(&f->rd, head)->flags |= VIRTQ_DESC_F_WRITE;
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.readable, 1);
	assert_int_equal(chain.writable, 0);
}

static void test_virtq_pop_indirect_table_need_not_be_aligned(void **state)
{
	struct fixture *f = *state;
	uint64_t w = new_buf(f, 10);
	uint64_t table = ring_driver_alloc(&f->rd, 48, 16) + 8;
	struct ring_buf bufs[] = {{w, 5, true}, {w + 5, 5, true}};
	struct virtq_chain chain;

	ring_driver_write_indirect(&f->rd, table, bufs, 2);
	ring_driver_set_desc(&f->rd, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.writable, 2);
	assert_int_equal(chain.writable_len, 10);
}

static void test_virtq_pop_rejects_indirect_when_not_negotiated(void **state)
{
	struct fixture *f = *state;
	struct ring_buf entry = {new_buf(f, 8), 8, false};

	ring_driver_add_indirect(&f->rd, &entry, 1);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "without VIRTIO_F_INDIRECT_DESC");
}

static void test_virtq_pop_rejects_indirect_len_zero(void **state)
{
	struct fixture *f = *state;
	struct ring_buf entry = {new_buf(f, 8), 8, false};
	uint16_t head = ring_driver_add_indirect(&f->rd, &entry, 1);

	ring_driver_desc(&f->rd, head)->len = 0;
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "indirect table length");
}

static void test_virtq_pop_rejects_indirect_len_not_multiple_of_16(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{new_buf(f, 8), 8, false}, {new_buf(f, 8), 8, false}};
	uint16_t head = ring_driver_add_indirect(&f->rd, bufs, 2);

	ring_driver_desc(&f->rd, head)->len = 24;
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "indirect table length");
}

static void test_virtq_pop_rejects_indirect_table_longer_than_max_chain(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[VIRTQ_MAX_CHAIN + 1];

	for (unsigned int i = 0; i < VIRTQ_MAX_CHAIN + 1; i++)
		bufs[i] = (struct ring_buf){new_buf(f, 4), 4, false};
	ring_driver_add_indirect(&f->rd, bufs, VIRTQ_MAX_CHAIN + 1);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "indirect table length");
}

static void test_virtq_pop_rejects_indirect_table_outside_ram(void **state)
{
	struct fixture *f = *state;

	ring_driver_set_desc(&f->rd, 0, RING_DRIVER_RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "indirect table outside guest RAM");
}

static void test_virtq_pop_rejects_indirect_addr_len_overflow(void **state)
{
	struct fixture *f = *state;

	ring_driver_set_desc(&f->rd, 0, UINT64_MAX - 15, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "overflows");
}

static void test_virtq_pop_rejects_indirect_flag_inside_indirect_table(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{new_buf(f, 8), 8, false}, {new_buf(f, 16), 16, false}};
	uint16_t head = ring_driver_add_indirect(&f->rd, bufs, 2);
	struct virtq_desc *table = ring_driver_host(&f->rd, ring_driver_desc(&f->rd, head)->addr);

	table[1].flags |= VIRTQ_DESC_F_INDIRECT;
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "inside an indirect table");
}

static void test_virtq_pop_rejects_indirect_with_next(void **state)
{
	struct fixture *f = *state;
	struct ring_buf entry = {new_buf(f, 8), 8, false};
	uint16_t head = ring_driver_add_indirect(&f->rd, &entry, 1);

	ring_driver_set_desc(&f->rd, 9, new_buf(f, 8), 8, 0, 0);
	ring_driver_desc(&f->rd, head)->flags |= VIRTQ_DESC_F_NEXT;
	ring_driver_desc(&f->rd, head)->next = 9;
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "indirect descriptor with NEXT");
}

static void test_virtq_pop_rejects_indirect_next_beyond_table(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{new_buf(f, 8), 8, false}, {new_buf(f, 8), 8, false}};
	uint16_t head = ring_driver_add_indirect(&f->rd, bufs, 2);
	struct virtq_desc *table = ring_driver_host(&f->rd, ring_driver_desc(&f->rd, head)->addr);

	/* Index 2 is inside the queue's own table but past this 2-entry indirect table. */
	table[1].flags |= VIRTQ_DESC_F_NEXT;
	table[1].next = 2;
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "indirect next index out of range");
}

static void test_virtq_pop_rejects_looped_indirect_chain(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{new_buf(f, 8), 8, false}, {new_buf(f, 8), 8, false}};
	uint16_t head = ring_driver_add_indirect(&f->rd, bufs, 2);
	struct virtq_desc *table = ring_driver_host(&f->rd, ring_driver_desc(&f->rd, head)->addr);

	table[1].flags |= VIRTQ_DESC_F_NEXT;
	table[1].next = 0;
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "indirect descriptor chain loops");
}

static void test_virtq_pop_rejects_readable_indirect_after_writable_direct(void **state)
{
	struct fixture *f = *state;
	uint64_t table = ring_driver_alloc(&f->rd, 16, 16);
	struct ring_buf entry = {new_buf(f, 8), 8, false};

	ring_driver_write_indirect(&f->rd, table, &entry, 1);
	ring_driver_set_desc(&f->rd, 0, new_buf(f, 8), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
			     1);
	ring_driver_set_desc(&f->rd, 1, table, 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "readable descriptor after a writable");
}

static void test_virtq_pop_rejects_direct_plus_indirect_longer_than_max(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[VIRTQ_MAX_CHAIN];
	uint64_t table = ring_driver_alloc(&f->rd, sizeof(bufs) / sizeof(bufs[0]) * 16, 16);

	for (unsigned int i = 0; i < VIRTQ_MAX_CHAIN; i++)
		bufs[i] = (struct ring_buf){new_buf(f, 4), 4, true};
	ring_driver_write_indirect(&f->rd, table, bufs, VIRTQ_MAX_CHAIN);
	ring_driver_set_desc(&f->rd, 0, new_buf(f, 4), 4, VIRTQ_DESC_F_NEXT, 1);
	ring_driver_set_desc(&f->rd, 1, table, VIRTQ_MAX_CHAIN * 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "too long");
}

static void test_virtq_pop_rejects_indirect_buffer_outside_ram(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{new_buf(f, 8), 8, false}, {RING_DRIVER_RAM_SIZE, 1, true}};

	ring_driver_add_indirect(&f->rd, bufs, 2);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "outside guest RAM");
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_virtq_pop_indirect_chain_when_negotiated, setup_q16_indirect),
	    T(test_virtq_pop_indirect_table_of_max_length, setup_q16_indirect),
	    T(test_virtq_pop_direct_descriptors_ending_in_indirect, setup_q16_indirect),
	    T(test_virtq_pop_ignores_write_flag_on_indirect_descriptor, setup_q16_indirect),
	    T(test_virtq_pop_indirect_table_need_not_be_aligned, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_when_not_negotiated, setup_q16),
	    T(test_virtq_pop_rejects_indirect_len_zero, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_len_not_multiple_of_16, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_table_longer_than_max_chain, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_table_outside_ram, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_addr_len_overflow, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_flag_inside_indirect_table, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_with_next, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_next_beyond_table, setup_q16_indirect),
	    T(test_virtq_pop_rejects_looped_indirect_chain, setup_q16_indirect),
	    T(test_virtq_pop_rejects_readable_indirect_after_writable_direct, setup_q16_indirect),
	    T(test_virtq_pop_rejects_direct_plus_indirect_longer_than_max, setup_q16_indirect),
	    T(test_virtq_pop_rejects_indirect_buffer_outside_ram, setup_q16_indirect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
