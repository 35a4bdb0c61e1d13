/* Unit tests for the split virtqueue validator (devices/virtio/virtq.c, virtio 1.2 §2.7). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio/virtq.h"
#include "tests/support/ring_driver.h"

#define GIB (1ULL << 30)

struct fixture {
	struct ring_driver rd;
	struct virtq q;
};

static int fixture_setup(void **state, uint16_t size, bool event_idx, bool indirect, bool activate)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (ring_driver_init(&f->rd, size)) {
		free(f);
		return -1;
	}
	if (activate && ring_driver_activate(&f->rd, &f->q, event_idx, indirect)) {
		ring_driver_destroy(&f->rd);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_q16(void **state)
{
	return fixture_setup(state, 16, false, false, true);
}

static int setup_q16_event_idx(void **state)
{
	return fixture_setup(state, 16, true, false, true);
}

static int setup_q16_indirect(void **state)
{
	return fixture_setup(state, 16, false, true, true);
}

static int setup_q256(void **state)
{
	return fixture_setup(state, 256, false, false, true);
}

static int setup_inactive(void **state)
{
	return fixture_setup(state, 16, false, false, false);
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	ring_driver_destroy(&f->rd);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static uint64_t new_buf(struct fixture *f, uint32_t len)
{
	uint64_t gpa = ring_driver_alloc(&f->rd, len, 8);

	assert_int_not_equal(gpa, 0);
	return gpa;
}

static void assert_iov(struct fixture *f, const struct virtq_iov *iov, uint64_t gpa, uint32_t len)
{
	assert_ptr_equal(iov->base, ring_driver_host(&f->rd, gpa));
	assert_int_equal(iov->len, len);
}

/* Offers one chain of a single descriptor at `idx` pointing at a valid buffer. */
static void offer_valid_desc(struct fixture *f, uint16_t idx)
{
	ring_driver_set_desc(&f->rd, idx, new_buf(f, 32), 32, 0, 0);
	ring_driver_offer(&f->rd, idx);
}

/*
 * The pop fails with the rule named by `why`, the queue is broken, and it
 * stays stopped even after the guest repairs the ring to hold one valid chain.
 */
static void assert_rejected_and_stays_broken(struct fixture *f, const char *why)
{
	struct virtq_chain chain;
	struct virtq_used *used = ring_driver_used(&f->rd);
	uint16_t used_idx = used->idx;

	assert_int_equal(virtq_pop(&f->q, &chain), -EINVAL);
	assert_true(f->q.broken);
	assert_non_null(f->q.error);
	assert_non_null(strstr(f->q.error, why));

	ring_driver_set_desc(&f->rd, 0, new_buf(f, 16), 16, 0, 0);
	ring_driver_avail(&f->rd)->ring[f->q.last_avail % f->q.size] = 0;
	ring_driver_avail(&f->rd)->idx = (uint16_t)(f->q.last_avail + 1);
	assert_int_equal(virtq_pop(&f->q, &chain), -EINVAL);
	assert_int_equal(virtq_push(&f->q, 0, 0), -EINVAL);
	assert_int_equal(used->idx, used_idx);
	assert_false(virtq_has_available(&f->q));
}

/* Sets the device's shadows as if `idx` chains had been through the queue already. */
static void start_indices_at(struct fixture *f, uint16_t idx)
{
	ring_driver_set_indices(&f->rd, idx);
	f->q.last_avail = idx;
	f->q.used_idx = idx;
	f->q.signalled_used = idx;
}

/* Pushes n used elements for head 0 (the ring contents do not matter to notification). */
static void push_n(struct fixture *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(virtq_push(&f->q, 0, 0), 0);
}

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

/* ---- push (§2.7.8) ---- */

static void test_virtq_push_writes_used_elem_then_idx(void **state)
{
	struct fixture *f = *state;
	struct ring_buf bufs[] = {{new_buf(f, 8), 8, false}, {new_buf(f, 512), 512, true}};
	struct virtq_chain chain;
	uint32_t id, len;

	ring_driver_add_chain(&f->rd, bufs, 2);
	ring_driver_add_chain(&f->rd, bufs, 2);
	ring_driver_publish(&f->rd);
	assert_int_equal(virtq_pop(&f->q, &chain), 1);
	uint16_t first = chain.head;

	assert_int_equal(virtq_pop(&f->q, &chain), 1);

	assert_int_equal(virtq_push(&f->q, chain.head, 300), 0);
	assert_int_equal(virtq_push(&f->q, first, 0), 0);

	assert_int_equal(ring_driver_used(&f->rd)->idx, 2);
	assert_int_equal(f->q.used_idx, 2);
	assert_true(ring_driver_get_used(&f->rd, &id, &len));
	assert_int_equal(id, chain.head);
	assert_int_equal(len, 300);
	assert_true(ring_driver_get_used(&f->rd, &id, &len));
	assert_int_equal(id, first);
	assert_int_equal(len, 0);
	assert_false(ring_driver_get_used(&f->rd, &id, &len));
}

static void test_virtq_push_rejects_head_out_of_range_and_marks_broken(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	assert_int_equal(virtq_push(&f->q, 16, 4), -EINVAL);

	assert_true(f->q.broken);
	assert_int_equal(ring_driver_used(&f->rd)->idx, 0);
	assert_int_equal(ring_driver_used(&f->rd)->ring[0].id, 0);
	assert_int_equal(virtq_pop(&f->q, &chain), -EINVAL);
}

static void test_virtq_push_on_inactive_queue_fails(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(virtq_push(&f->q, 0, 0), -EINVAL);
	assert_int_equal(ring_driver_used(&f->rd)->idx, 0);
}

/* ---- used buffer notifications (§2.7.7) ---- */

static void test_virtq_should_notify_without_event_idx_by_default(void **state)
{
	struct fixture *f = *state;

	push_n(f, 1);

	assert_true(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_without_event_idx_honours_no_interrupt(void **state)
{
	struct fixture *f = *state;

	ring_driver_avail(&f->rd)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	push_n(f, 1);

	assert_false(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_event_idx_when_used_idx_passes_used_event(void **state)
{
	struct fixture *f = *state;

	*ring_driver_used_event(&f->rd) = 0;
	push_n(f, 1);

	assert_true(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_event_idx_not_before_used_event(void **state)
{
	struct fixture *f = *state;

	*ring_driver_used_event(&f->rd) = 5;
	push_n(f, 2);

	assert_false(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_event_idx_when_batch_crosses_used_event(void **state)
{
	struct fixture *f = *state;

	*ring_driver_used_event(&f->rd) = 5;
	push_n(f, 2);
	assert_false(virtq_should_notify(&f->q));

	/* used_idx goes 2 -> 6: the batch passes entry 5. */
	push_n(f, 4);

	assert_true(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_event_idx_only_once_per_used_event(void **state)
{
	struct fixture *f = *state;

	*ring_driver_used_event(&f->rd) = 0;
	push_n(f, 1);
	assert_true(virtq_should_notify(&f->q));

	/* The driver has not moved used_event: it does not want another interrupt yet. */
	push_n(f, 3);

	assert_false(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_event_idx_false_without_new_pushes(void **state)
{
	struct fixture *f = *state;

	*ring_driver_used_event(&f->rd) = 0;
	push_n(f, 1);
	assert_true(virtq_should_notify(&f->q));

	assert_false(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_event_idx_across_u16_wrap(void **state)
{
	struct fixture *f = *state;

	start_indices_at(f, 65534);
	*ring_driver_used_event(&f->rd) = 65535;
	push_n(f, 3); /* 65534 -> 1 */

	assert_true(virtq_should_notify(&f->q));

	*ring_driver_used_event(&f->rd) = 3;
	push_n(f, 2); /* 1 -> 3: entry 3 not yet used */

	assert_false(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_event_idx_ignores_no_interrupt_flag(void **state)
{
	struct fixture *f = *state;

	ring_driver_avail(&f->rd)->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	*ring_driver_used_event(&f->rd) = 0;
	push_n(f, 1);

	assert_true(virtq_should_notify(&f->q));
}

static void test_virtq_should_notify_event_idx_after_half_lap_unchecked(void **state)
{
	struct fixture *f = *state;

	/* 32768 pushes with no check: [old, new) is ambiguous, so notify regardless. */
	*ring_driver_used_event(&f->rd) = 40000;
	push_n(f, 32768);

	assert_true(virtq_should_notify(&f->q));
}

/* ---- available buffer notifications (§2.7.10) ---- */

static void test_virtq_set_notification_event_idx_writes_avail_event(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	for (uint16_t i = 0; i < 3; i++)
		offer_valid_desc(f, i);
	ring_driver_publish(&f->rd);
	for (int i = 0; i < 3; i++)
		assert_int_equal(virtq_pop(&f->q, &chain), 1);

	virtq_set_notification(&f->q, true);

	assert_int_equal(*ring_driver_avail_event(&f->rd), 3);
	assert_int_equal(ring_driver_used(&f->rd)->flags, 0);
}

static void test_virtq_set_notification_event_idx_disable_leaves_avail_event(void **state)
{
	struct fixture *f = *state;

	*ring_driver_avail_event(&f->rd) = 0x1234;

	virtq_set_notification(&f->q, false);

	assert_int_equal(*ring_driver_avail_event(&f->rd), 0x1234);
	assert_int_equal(ring_driver_used(&f->rd)->flags, 0);
}

static void test_virtq_set_notification_without_event_idx_toggles_no_notify(void **state)
{
	struct fixture *f = *state;

	virtq_set_notification(&f->q, false);
	assert_int_equal(ring_driver_used(&f->rd)->flags, VIRTQ_USED_F_NO_NOTIFY);

	virtq_set_notification(&f->q, true);
	assert_int_equal(ring_driver_used(&f->rd)->flags, 0);
	assert_int_equal(*ring_driver_avail_event(&f->rd), 0);
}

static void test_virtq_has_available_follows_published_idx(void **state)
{
	struct fixture *f = *state;
	struct virtq_chain chain;

	assert_false(virtq_has_available(&f->q));
	offer_valid_desc(f, 0);
	assert_false(virtq_has_available(&f->q));

	ring_driver_publish(&f->rd);
	assert_true(virtq_has_available(&f->q));

	assert_int_equal(virtq_pop(&f->q, &chain), 1);
	assert_false(virtq_has_available(&f->q));
}

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
	    T(test_virtq_push_writes_used_elem_then_idx, setup_q16),
	    T(test_virtq_push_rejects_head_out_of_range_and_marks_broken, setup_q16),
	    T(test_virtq_push_on_inactive_queue_fails, setup_inactive),
	    T(test_virtq_should_notify_without_event_idx_by_default, setup_q16),
	    T(test_virtq_should_notify_without_event_idx_honours_no_interrupt, setup_q16),
	    T(test_virtq_should_notify_event_idx_when_used_idx_passes_used_event,
	      setup_q16_event_idx),
	    T(test_virtq_should_notify_event_idx_not_before_used_event, setup_q16_event_idx),
	    T(test_virtq_should_notify_event_idx_when_batch_crosses_used_event,
	      setup_q16_event_idx),
	    T(test_virtq_should_notify_event_idx_only_once_per_used_event, setup_q16_event_idx),
	    T(test_virtq_should_notify_event_idx_false_without_new_pushes, setup_q16_event_idx),
	    T(test_virtq_should_notify_event_idx_across_u16_wrap, setup_q16_event_idx),
	    T(test_virtq_should_notify_event_idx_ignores_no_interrupt_flag, setup_q16_event_idx),
	    T(test_virtq_should_notify_event_idx_after_half_lap_unchecked, setup_q16_event_idx),
	    T(test_virtq_set_notification_event_idx_writes_avail_event, setup_q16_event_idx),
	    T(test_virtq_set_notification_event_idx_disable_leaves_avail_event,
	      setup_q16_event_idx),
	    T(test_virtq_set_notification_without_event_idx_toggles_no_notify, setup_q16),
	    T(test_virtq_has_available_follows_published_idx, setup_q16),
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
