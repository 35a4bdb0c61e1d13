/* The ring fixture and checks shared by the virtqueue tests (devices/virtio/virtq.c): one queue
 * over fake guest RAM, driven through tests/support/ring_driver.h. Include after <cmocka.h>. */
#ifndef MICROVMM_TESTS_UNIT_VIRTQ_FIXTURE_H
#define MICROVMM_TESTS_UNIT_VIRTQ_FIXTURE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtq.h"
#include "tests/support/ring_driver.h"

#define GIB (1ULL << 30)

struct fixture {
	struct ring_driver rd;
	struct virtq q;
};

static inline int fixture_setup(void **state, uint16_t size, bool event_idx, bool indirect,
				bool activate)
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

static inline int setup_q16(void **state)
{
	return fixture_setup(state, 16, false, false, true);
}

static inline int setup_q16_event_idx(void **state)
{
	return fixture_setup(state, 16, true, false, true);
}

static inline int setup_q16_indirect(void **state)
{
	return fixture_setup(state, 16, false, true, true);
}

static inline int setup_q256(void **state)
{
	return fixture_setup(state, 256, false, false, true);
}

static inline int setup_inactive(void **state)
{
	return fixture_setup(state, 16, false, false, false);
}

static inline int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	ring_driver_destroy(&f->rd);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static inline uint64_t new_buf(struct fixture *f, uint32_t len)
{
	uint64_t gpa = ring_driver_alloc(&f->rd, len, 8);

	assert_int_not_equal(gpa, 0);
	return gpa;
}

static inline void assert_iov(struct fixture *f, const struct virtq_iov *iov, uint64_t gpa,
			      uint32_t len)
{
	assert_ptr_equal(iov->base, ring_driver_host(&f->rd, gpa));
	assert_int_equal(iov->len, len);
}

/* Offers one chain of a single descriptor at `idx` pointing at a valid buffer. */
static inline void offer_valid_desc(struct fixture *f, uint16_t idx)
{
	ring_driver_set_desc(&f->rd, idx, new_buf(f, 32), 32, 0, 0);
	ring_driver_offer(&f->rd, idx);
}

/*
 * The pop fails with the rule named by `why`, the queue is broken, and it
 * stays stopped even after the guest repairs the ring to hold one valid chain.
 */
static inline void assert_rejected_and_stays_broken(struct fixture *f, const char *why)
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
static inline void start_indices_at(struct fixture *f, uint16_t idx)
{
	ring_driver_set_indices(&f->rd, idx);
	f->q.last_avail = idx;
	f->q.used_idx = idx;
	f->q.signalled_used = idx;
}

/* Pushes n used elements for head 0 (the ring contents do not matter to notification). */
static inline void push_n(struct fixture *f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(virtq_push(&f->q, 0, 0), 0);
}

#endif
