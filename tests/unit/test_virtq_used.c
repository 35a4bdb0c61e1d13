/* Unit tests for the split virtqueue (devices/virtio/virtq.c): the used ring (push, §2.7.8) and
 * both kinds of notification (§2.7.7, §2.7.10). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "virtq_fixture.h"

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

#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
