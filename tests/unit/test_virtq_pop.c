/* Unit tests for the split virtqueue (devices/virtio/virtq.c): chains that pop is given: the
 * accepted ones and the rejected rings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtq_fixture.h"

/* ---- pop: accepted chains ---- */

/* A chain of 3 + 5 readable and 4 + 2 writable bytes, built by hand (no ring needed). */
static void chain_with_parts(struct virtq_chain *c, uint8_t *r, uint8_t *w)
{
	memset(c, 0, sizeof(*c));
	c->iov[0] = (struct virtq_iov){.base = r, .len = 3};
	c->iov[1] = (struct virtq_iov){.base = r + 3, .len = 5};
	c->iov[2] = (struct virtq_iov){.base = w, .len = 4};
	c->iov[3] = (struct virtq_iov){.base = w + 4, .len = 2};
	c->readable = 2;
	c->writable = 2;
	c->readable_len = 8;
	c->writable_len = 6;
}

static void test_virtq_chain_copy_from_crosses_iovs_and_stops_at_readable_end(void **state)
{
	uint8_t r[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w[6] = {0}, out[16];
	struct virtq_chain c;

	(void)state;
	chain_with_parts(&c, r, w);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(virtq_chain_copy_from(&c, 2, out, sizeof(out)), 6);
	assert_memory_equal(out, r + 2, 6);
	assert_int_equal(out[6], 0xee);
	assert_int_equal(virtq_chain_copy_from(&c, 0, out, 4), 4);
	assert_memory_equal(out, r, 4);
	assert_int_equal(virtq_chain_copy_from(&c, 8, out, 4), 0);
	assert_int_equal(virtq_chain_copy_from(&c, 100, out, 4), 0);
}

static void test_virtq_chain_copy_to_writes_only_writable_part(void **state)
{
	uint8_t r[8] = {0}, w[6] = {0};
	const uint8_t src[] = {9, 8, 7, 6, 5, 4, 3, 2};
	struct virtq_chain c;

	(void)state;
	chain_with_parts(&c, r, w);
	assert_int_equal(virtq_chain_copy_to(&c, 1, src, sizeof(src)), 5);
	assert_memory_equal(w + 1, src, 5);
	assert_int_equal(w[0], 0);
	for (size_t i = 0; i < sizeof(r); i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(virtq_chain_copy_to(&c, 6, src, 1), 0);
}

static void test_virtq_pop_single_readable_buffer(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = new_buf(f, 100);
	struct ring_buf bufs[] = {{gpa, 100, false}};
	uint16_t head = ring_driver_add_chain(&f->rd, bufs, 1);
	struct virtq_chain chain;

	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.head, head);
	assert_int_equal(chain.readable, 1);
	assert_int_equal(chain.writable, 0);
	assert_iov(f, &chain.iov[0], gpa, 100);
	assert_int_equal(chain.readable_len, 100);
	assert_int_equal(chain.writable_len, 0);
	assert_int_equal(f->q.last_avail, 1);
	assert_false(f->q.broken);
}

static void test_virtq_pop_readable_then_writable_chain(void **state)
{
	struct fixture *f = *state;
	uint64_t r0 = new_buf(f, 12), r1 = new_buf(f, 20), w0 = new_buf(f, 64), w1 = new_buf(f, 1);
	struct ring_buf bufs[] = {{r0, 12, false}, {r1, 20, false}, {w0, 64, true}, {w1, 1, true}};
	uint16_t head = ring_driver_add_chain(&f->rd, bufs, 4);
	struct virtq_chain chain;

	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.head, head);
	assert_int_equal(chain.readable, 2);
	assert_int_equal(chain.writable, 2);
	assert_iov(f, &chain.iov[0], r0, 12);
	assert_iov(f, &chain.iov[1], r1, 20);
	assert_iov(f, &chain.iov[2], w0, 64);
	assert_iov(f, &chain.iov[3], w1, 1);
	assert_int_equal(chain.readable_len, 32);
	assert_int_equal(chain.writable_len, 65);
}

static void test_virtq_pop_writable_only_chain(void **state)
{
	struct fixture *f = *state;
	uint64_t w = new_buf(f, 256);
	struct ring_buf bufs[] = {{w, 256, true}};
	struct virtq_chain chain;

	ring_driver_add_chain(&f->rd, bufs, 1);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.readable, 0);
	assert_int_equal(chain.writable, 1);
	assert_iov(f, &chain.iov[0], w, 256);
	assert_int_equal(chain.writable_len, 256);
}

static void test_virtq_pop_empty_ring_returns_zero(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	assert_int_equal(virtq_pop(&f->q, &chain), 0);

	assert_false(f->q.broken);
	assert_int_equal(f->q.last_avail, 0);
}

static void test_virtq_pop_offered_but_unpublished_chain_returns_zero(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	offer_valid_desc(f, 0);

	assert_int_equal(virtq_pop(&f->q, &chain), 0);
}

static void test_virtq_pop_inactive_queue_returns_zero(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	assert_int_equal(virtq_pop(&f->q, &chain), 0);
	assert_false(f->q.broken);
}

static void test_virtq_pop_consumes_chains_in_avail_order(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	offer_valid_desc(f, 7);
	offer_valid_desc(f, 2);
	offer_valid_desc(f, 11);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);
	assert_int_equal(chain.head, 7);
	assert_int_equal(virtq_pop(&f->q, &chain), 1);
	assert_int_equal(chain.head, 2);
	assert_int_equal(virtq_pop(&f->q, &chain), 1);
	assert_int_equal(chain.head, 11);
	assert_int_equal(virtq_pop(&f->q, &chain), 0);
}

static void test_virtq_pop_wraps_u16_indices(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;
	uint16_t heads[4];
	uint32_t id, len;

	start_indices_at(f, 65534);
	for (unsigned int i = 0; i < 4; i++) {
		struct ring_buf b = {new_buf(f, 8), 8, true};

		heads[i] = ring_driver_add_chain(&f->rd, &b, 1);
	}
	ring_driver_publish(&f->rd);
	assert_int_equal(ring_driver_avail(&f->rd)->idx, 2);

	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&f->q, &chain), 1);
		assert_int_equal(chain.head, heads[i]);
		assert_int_equal(virtq_push(&f->q, chain.head, 8 + i), 0);
	}

	assert_int_equal(virtq_pop(&f->q, &chain), 0);
	assert_int_equal(f->q.last_avail, 2);
	assert_int_equal(ring_driver_used(&f->rd)->idx, 2);
	for (unsigned int i = 0; i < 4; i++) {
		assert_true(ring_driver_get_used(&f->rd, &id, &len));
		assert_int_equal(id, heads[i]);
		assert_int_equal(len, 8 + i);
	}
	/* Slots 14, 15, 0, 1 of the 16-entry used ring. */
	assert_int_equal(ring_driver_used(&f->rd)->ring[15].id, heads[1]);
	assert_int_equal(ring_driver_used(&f->rd)->ring[0].id, heads[2]);
}

static void test_virtq_pop_accepts_avail_advance_of_exactly_queue_size(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	for (uint16_t i = 0; i < 16; i++)
		offer_valid_desc(f, i);
	ring_driver_publish(&f->rd);

	for (uint16_t i = 0; i < 16; i++) {
		assert_int_equal(virtq_pop(&f->q, &chain), 1);
		assert_int_equal(chain.head, i);
	}
	assert_int_equal(virtq_pop(&f->q, &chain), 0);
}

static void test_virtq_pop_skips_zero_length_descriptor(void **state)
{
	struct fixture *f = *state;
	uint64_t r = new_buf(f, 10), w = new_buf(f, 30);
	/* The zero-length buffer's address is not even in RAM: it is never translated. */
	struct ring_buf bufs[] = {{r, 10, false}, {~0ULL - 3, 0, false}, {w, 30, true}};
	struct virtq_chain chain;

	ring_driver_add_chain(&f->rd, bufs, 3);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.readable, 1);
	assert_int_equal(chain.writable, 1);
	assert_iov(f, &chain.iov[0], r, 10);
	assert_iov(f, &chain.iov[1], w, 30);
}

static void test_virtq_pop_accepts_chain_of_max_length(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[VIRTQ_MAX_CHAIN];
	struct virtq_chain chain;

	for (unsigned int i = 0; i < VIRTQ_MAX_CHAIN; i++)
		bufs[i] = (struct ring_buf){new_buf(f, 8), 8, i >= VIRTQ_MAX_CHAIN / 2};
	ring_driver_add_chain(&f->rd, bufs, VIRTQ_MAX_CHAIN);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.readable + chain.writable, VIRTQ_MAX_CHAIN);
	assert_int_equal(chain.writable_len, 8 * VIRTQ_MAX_CHAIN / 2);
}

static void test_virtq_pop_accepts_buffer_in_second_region(void **state)
{
	struct fixture *f = *state;
	struct ring_buf b = {4 * GIB + 0x100, 0x200, true};
	struct virtq_chain chain;

	assert_int_equal(ring_driver_add_region(&f->rd, 4 * GIB, 0x10000), 0);
	ring_driver_add_chain(&f->rd, &b, 1);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_ptr_equal(chain.iov[0].base, (uint8_t *)f->rd.extra + 0x100);
	assert_int_equal(chain.iov[0].len, 0x200);
}

static void test_virtq_pop_accepts_u32_max_bytes_each_way(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{4 * GIB, UINT32_MAX, false}, {4 * GIB, UINT32_MAX, true}};
	struct virtq_chain chain;

	assert_int_equal(ring_driver_add_region(&f->rd, 4 * GIB, 4 * GIB), 0);
	ring_driver_add_chain(&f->rd, bufs, 2);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(chain.readable_len, UINT32_MAX);
	assert_int_equal(chain.writable_len, UINT32_MAX);
}

static void test_virtq_pop_copies_descriptors_before_use(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = new_buf(f, 64);
	struct ring_buf b = {gpa, 64, false};
	struct virtq_chain chain;
	uint16_t head = ring_driver_add_chain(&f->rd, &b, 1);

	ring_driver_publish(&f->rd);
	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	/* The guest rewrites the descriptor after the pop: the chain keeps what was validated. */
	ring_driver_set_desc(&f->rd, head, ~0ULL, UINT32_MAX, VIRTQ_DESC_F_WRITE, 0);

	assert_iov(f, &chain.iov[0], gpa, 64);
	assert_int_equal(chain.readable, 1);
}

/* ---- pop: rejected rings ---- */

static void test_virtq_pop_rejects_avail_idx_beyond_queue_size(void **state)
{
	struct fixture *f = *state;

	offer_valid_desc(f, 0);
	ring_driver_avail(&f->rd)->idx = 17;

	assert_rejected_and_stays_broken(f, "available index");
}

static void test_virtq_pop_rejects_avail_idx_beyond_queue_size_across_wrap(void **state)
{
	struct fixture *f = *state;

	start_indices_at(f, 65530);
	ring_driver_avail(&f->rd)->idx = (uint16_t)(65530 + 17);

	assert_rejected_and_stays_broken(f, "available index");
}

static void test_virtq_pop_rejects_avail_idx_moving_backwards(void **state)
{
	struct fixture *f = *state;

	start_indices_at(f, 100);
	ring_driver_avail(&f->rd)->idx = 99;

	assert_rejected_and_stays_broken(f, "available index");
}

static void test_virtq_pop_rejects_head_out_of_range(void **state)
{
	struct fixture *f = *state;

	ring_driver_offer(&f->rd, 16);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "head index");
}

static void test_virtq_pop_rejects_next_out_of_range(void **state)
{
	struct fixture *f = *state;

	ring_driver_set_desc(&f->rd, 0, new_buf(f, 8), 8, VIRTQ_DESC_F_NEXT, 16);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "next index");
}

static void test_virtq_pop_rejects_chain_longer_than_max(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[VIRTQ_MAX_CHAIN + 1];

	for (unsigned int i = 0; i < VIRTQ_MAX_CHAIN + 1; i++)
		bufs[i] = (struct ring_buf){new_buf(f, 8), 8, false};
	ring_driver_add_chain(&f->rd, bufs, VIRTQ_MAX_CHAIN + 1);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "too long");
}

static void test_virtq_pop_rejects_looped_chain(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = new_buf(f, 8);

	ring_driver_set_desc(&f->rd, 3, gpa, 8, VIRTQ_DESC_F_NEXT, 4);
	ring_driver_set_desc(&f->rd, 4, gpa, 8, VIRTQ_DESC_F_NEXT, 3);
	ring_driver_offer(&f->rd, 3);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "loops");
}

static void test_virtq_pop_rejects_self_loop_of_zero_length_descriptor(void **state)
{
	struct fixture *f = *state;

	/* Zero-length descriptors add no iov, so only the hop budget can stop this one. */
	ring_driver_set_desc(&f->rd, 5, 0, 0, VIRTQ_DESC_F_NEXT, 5);
	ring_driver_offer(&f->rd, 5);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "loops");
}

static void test_virtq_pop_rejects_addr_len_overflow(void **state)
{
	struct fixture *f = *state;

	ring_driver_set_desc(&f->rd, 0, UINT64_MAX - 7, 16, 0, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "overflows");
}

static void test_virtq_pop_rejects_buffer_past_end_of_ram(void **state)
{
	struct fixture *f = *state;

	ring_driver_set_desc(&f->rd, 0, RING_DRIVER_RAM_SIZE - 8, 16, VIRTQ_DESC_F_WRITE, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "outside guest RAM");
}

static void test_virtq_pop_rejects_buffer_in_ram_hole(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ring_driver_add_region(&f->rd, 4 * GIB, 0x10000), 0);
	ring_driver_set_desc(&f->rd, 0, 2 * GIB, 16, 0, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "outside guest RAM");
}

static void test_virtq_pop_rejects_buffer_spanning_two_regions(void **state)
{
	struct fixture *f = *state;

	/* Region 1 starts where region 0 ends: contiguous for the guest, not for us. */
	assert_int_equal(ring_driver_add_region(&f->rd, RING_DRIVER_RAM_SIZE, 0x10000), 0);
	ring_driver_set_desc(&f->rd, 0, RING_DRIVER_RAM_SIZE - 8, 16, 0, 0);
	ring_driver_offer(&f->rd, 0);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "outside guest RAM");
}

static void test_virtq_pop_rejects_readable_after_writable(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{new_buf(f, 8), 8, true}, {new_buf(f, 8), 8, false}};

	ring_driver_add_chain(&f->rd, bufs, 2);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "readable descriptor after a writable");
}

static void test_virtq_pop_rejects_readable_total_over_u32_max(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{4 * GIB, UINT32_MAX, false}, {4 * GIB, 1, false}};

	assert_int_equal(ring_driver_add_region(&f->rd, 4 * GIB, 4 * GIB), 0);
	ring_driver_add_chain(&f->rd, bufs, 2);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "4 GiB");
}

static void test_virtq_pop_rejects_writable_total_over_u32_max(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{4 * GIB, 2 * (uint32_t)GIB, true},
				  {4 * GIB, 2 * (uint32_t)GIB, true}};

	assert_int_equal(ring_driver_add_region(&f->rd, 4 * GIB, 4 * GIB), 0);
	ring_driver_add_chain(&f->rd, bufs, 2);
	ring_driver_publish(&f->rd);

	assert_rejected_and_stays_broken(f, "4 GiB");
}

static void test_virtq_pop_rejects_after_earlier_chains_were_accepted(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	offer_valid_desc(f, 0);
	ring_driver_offer(&f->rd, 200);
	ring_driver_publish(&f->rd);

	assert_int_equal(virtq_pop(&f->q, &chain), 1);
	assert_rejected_and_stays_broken(f, "head index");
	assert_int_equal(f->q.last_avail, 1);
}

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_virtq_chain_copy_from_crosses_iovs_and_stops_at_readable_end),
	    cmocka_unit_test(test_virtq_chain_copy_to_writes_only_writable_part),
	    T(test_virtq_pop_single_readable_buffer, setup_q16),
	    T(test_virtq_pop_readable_then_writable_chain, setup_q16),
	    T(test_virtq_pop_writable_only_chain, setup_q16),
	    T(test_virtq_pop_empty_ring_returns_zero, setup_q16),
	    T(test_virtq_pop_offered_but_unpublished_chain_returns_zero, setup_q16),
	    T(test_virtq_pop_inactive_queue_returns_zero, setup_inactive),
	    T(test_virtq_pop_consumes_chains_in_avail_order, setup_q16),
	    T(test_virtq_pop_wraps_u16_indices, setup_q16),
	    T(test_virtq_pop_accepts_avail_advance_of_exactly_queue_size, setup_q16),
	    T(test_virtq_pop_skips_zero_length_descriptor, setup_q16),
	    T(test_virtq_pop_accepts_chain_of_max_length, setup_q256),
	    T(test_virtq_pop_accepts_buffer_in_second_region, setup_q16),
	    T(test_virtq_pop_accepts_u32_max_bytes_each_way, setup_q16),
	    T(test_virtq_pop_copies_descriptors_before_use, setup_q16),
	    T(test_virtq_pop_rejects_avail_idx_beyond_queue_size, setup_q16),
	    T(test_virtq_pop_rejects_avail_idx_beyond_queue_size_across_wrap, setup_q16),
	    T(test_virtq_pop_rejects_avail_idx_moving_backwards, setup_q16),
	    T(test_virtq_pop_rejects_head_out_of_range, setup_q16),
	    T(test_virtq_pop_rejects_next_out_of_range, setup_q16),
	    T(test_virtq_pop_rejects_chain_longer_than_max, setup_q256),
	    T(test_virtq_pop_rejects_looped_chain, setup_q16),
	    T(test_virtq_pop_rejects_self_loop_of_zero_length_descriptor, setup_q256),
	    T(test_virtq_pop_rejects_addr_len_overflow, setup_q16),
	    T(test_virtq_pop_rejects_buffer_past_end_of_ram, setup_q16),
	    T(test_virtq_pop_rejects_buffer_in_ram_hole, setup_q16),
	    T(test_virtq_pop_rejects_buffer_spanning_two_regions, setup_q16),
	    T(test_virtq_pop_rejects_readable_after_writable, setup_q16),
	    T(test_virtq_pop_rejects_readable_total_over_u32_max, setup_q16),
	    T(test_virtq_pop_rejects_writable_total_over_u32_max, setup_q16),
	    T(test_virtq_pop_rejects_after_earlier_chains_were_accepted, setup_q16),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
