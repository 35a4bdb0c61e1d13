/* Unit tests for the virtio-pci transport (devices/virtio/virtio_pci.c, virtio 1.2 §4.1):
 * activation, ioeventfds, reset, and the line a broken device logs. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/le.h"
#include "devices/io.h"
#include "devices/io_loop.h"
#include "devices/pci/pci_bus.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/test_host.h"
#include "tests/support/vpci_fake.h"
#include "tests/support/test_wait.h"
#include "tests/support/vp_driver.h"

/* ---- activation, ioeventfds, reset ---- */

static void test_vpci_driver_ok_activates_on_loop_and_registers_ioeventfds(void **state)
{
	struct fixture *f = *state;

	memory_decode(f, true);
	start_loop(f);

	bring_up(f);

	assert_true(f->dev.activate_on_loop);
	for (unsigned int q = 0; q < FAKE_QUEUES; q++) {
		assert_true(f->vp.queues[q].vq.ready);
		assert_int_equal(f->vp.queues[q].vq.size, FAKE_QUEUE_MAX);
		assert_int_equal(f->vp.queues[q].vq.desc_gpa, queue_base(q));
	}
	assert_ioeventfds(f, 0, BAR_ADDR, true);
	assert_int_equal(vp_driver_status(&f->vp) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static bool queue1_notified(void *arg)
{
	struct fixture *f = arg;

	return fake_count(&f->dev, &f->dev.notifies[1]) >= 1;
}

static bool queue1_notified_twice(void *arg)
{
	struct fixture *f = arg;

	return fake_count(&f->dev, &f->dev.notifies[1]) >= 2;
}

static void test_vpci_kick_after_activation_reaches_queue_notify(void **state)
{
	struct fixture *f = *state;

	start_loop(f);
	bring_up(f);
	/* Activation looks at each queue once, in case kicks came before it. */
	assert_true(test_wait_until(queue1_notified, f, TIMEOUT_MS));
	(void)eventfd_take(f->msi_fds[2]);

	vp_driver_kick(&f->vp, 1);

	assert_true(test_wait_until(queue1_notified_twice, f, TIMEOUT_MS));
	/* The device's virtio_pci_notify_queue() raised queue 1's vector (1 + 1). */
	assert_int_equal(eventfd_take(f->msi_fds[2]), 1);
	assert_int_equal(eventfd_take(f->msi_fds[0]), 0);
}

static void test_vpci_ioeventfds_follow_memory_decode_and_bar(void **state)
{
	struct fixture *f = *state;

	start_loop(f);
	bring_up(f);
	/* Decode is off: nothing can reach the notify window yet. */
	assert_int_equal(ioeventfd_count(f), 0);

	memory_decode(f, true);
	assert_ioeventfds(f, 0, BAR_ADDR, true);

	cfg_write(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR_MOVED);
	assert_int_equal(ioeventfd_count(f), 3 * FAKE_QUEUES);
	/* Deassign at the old address and assign at the new one, for each queue. */
	pthread_mutex_lock(&f->lock);
	for (unsigned int q = 0; q < FAKE_QUEUES; q++) {
		bool old_gone = false, new_there = false;

		for (unsigned int i = FAKE_QUEUES; i < f->ioeventfd_count; i++) {
			const struct ioeventfd_record *r = &f->ioeventfds[i];

			if (r->addr == BAR_ADDR + VIRTIO_PCI_NOTIFY_OFFSET + 4 * q && !r->assign)
				old_gone = true;
			if (r->addr == BAR_ADDR_MOVED + VIRTIO_PCI_NOTIFY_OFFSET + 4 * q &&
			    r->assign)
				new_there = true;
		}
		assert_true(old_gone);
		assert_true(new_there);
	}
	pthread_mutex_unlock(&f->lock);

	unsigned int before = ioeventfd_count(f);

	memory_decode(f, false);
	assert_ioeventfds(f, before, BAR_ADDR_MOVED, false);
}

static void test_vpci_reset_calls_ops_reset_and_clears_state(void **state)
{
	struct fixture *f = *state;

	memory_decode(f, true);
	start_loop(f);
	bring_up(f);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_MSIX), 2, 0);
	unsigned int before = ioeventfd_count(f);

	vp_driver_set_status(&f->vp, 0);

	/* No polling: the write returns only once the device has reset (§4.1.4.3.2). */
	assert_int_equal(vp_driver_status(&f->vp), 0);
	assert_int_equal(fake_count(&f->dev, &f->dev.resets), 1);
	assert_true(f->dev.reset_on_loop);
	assert_false(f->vp.live);
	assert_ioeventfds(f, before, BAR_ADDR, false);
	for (uint16_t q = 0; q < FAKE_QUEUES; q++) {
		assert_false(f->vp.queues[q].vq.ready);
		vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, q);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2), 0);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2),
				 FAKE_QUEUE_MAX);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_DESCLO), 4), 0);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2),
				 VIRTIO_MSI_NO_VECTOR);
	}
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_GFSELECT), 4, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_GF), 4), 0);

	/* And the device comes up again. */
	pthread_mutex_lock(&f->dev.lock);
	f->dev.activates = 0;
	pthread_mutex_unlock(&f->dev.lock);
	bring_up(f);
	assert_int_equal(fake_count(&f->dev, &f->dev.activates), 1);
}

static void test_vpci_rings_outside_ram_set_needs_reset(void **state)
{
	struct fixture *f = *state;

	start_loop(f);
	assert_true(vp_driver_negotiate(&f->vp, driver_features));
	setup_queues(f);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_MSIX), 2, 0);
	vp_driver_setup_queue(&f->vp, 1, FAKE_QUEUE_MAX, 2, OUTSIDE_RAM, OUTSIDE_RAM + 0x400,
			      OUTSIDE_RAM + 0x800);

	vp_driver_set_status(&f->vp, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);

	assert_true(test_wait_until(vpci_needs_reset, f, TIMEOUT_MS));
	assert_int_equal(vp_driver_status(&f->vp),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK |
			     VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(fake_count(&f->dev, &f->dev.activates), 0);
	/* §4.1.5.2: announced through the configuration vector, with a new generation. */
	assert_int_equal(eventfd_take(f->msi_fds[0]), 1);
	assert_int_not_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_CFGGENERATION), 1), 0);
	assert_log_lines(f, 1);
	assert_log_line(f, 0, "virtio-fake: queue 1 broken: ring outside guest RAM");
}

static void test_vpci_failed_activate_logs_a_device_line(void **state)
{
	struct fixture *f = *state;

	f->dev.activate_ret = -ENOTSUP;
	start_loop(f);

	bring_up(f);

	assert_true(test_wait_until(vpci_needs_reset, f, TIMEOUT_MS));
	assert_log_lines(f, 1);
	assert_log_line(f, 0, "virtio-fake: device broken: the device could not start");
}

/* The driver bumps avail->idx (§2.7.6) past anything the ring can hold. */
static void hostile_avail_idx(struct fixture *f, unsigned int q)
{
	le_put16(f->mem + queue_base(q) + VIRTQ_DESC_BYTES(FAKE_QUEUE_MAX) + 2, FAKE_QUEUE_MAX + 5);
}

static bool activated_twice(void *arg)
{
	struct fixture *f = arg;

	return fake_count(&f->dev, &f->dev.activates) == 2;
}

static void test_vpci_hostile_ring_logs_one_line_per_reset(void **state)
{
	struct fixture *f = *state;

	f->dev.pop_rings = true;
	blocker_release(&f->marker);
	start_loop(f);
	bring_up(f);
	hostile_avail_idx(f, 1);

	vp_driver_kick(&f->vp, 1);
	assert_true(test_wait_until(vpci_needs_reset, f, TIMEOUT_MS));
	/* More kicks while broken: the device is no longer live, nothing more is said. */
	vp_driver_kick(&f->vp, 1);
	vp_driver_kick(&f->vp, 0);
	blocker_start(&f->marker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->marker, TIMEOUT_MS));
	assert_log_lines(f, 1);
	assert_log_line(f, 0,
			"virtio-fake: queue 1 broken: available index moved by more than the queue "
			"size");

	/* The driver resets and starts again with fresh rings; the guest breaks queue 0 this time.
	 */
	vp_driver_set_status(&f->vp, 0);
	memset(f->mem, 0, RAM_SIZE);
	bring_up(f);
	assert_true(test_wait_until(activated_twice, f, TIMEOUT_MS));
	hostile_avail_idx(f, 0);
	vp_driver_kick(&f->vp, 0);
	assert_true(test_wait_until(vpci_needs_reset, f, TIMEOUT_MS));
	assert_log_lines(f, 2);
	assert_log_line(f, 1,
			"virtio-fake: queue 0 broken: available index moved by more than the queue "
			"size");
}

static void test_vpci_failed_activate_sets_needs_reset(void **state)
{
	struct fixture *f = *state;

	f->dev.activate_ret = -ENOTSUP;
	start_loop(f);

	bring_up(f);

	assert_true(test_wait_until(vpci_needs_reset, f, TIMEOUT_MS));
}

static void *reset_thread(void *arg)
{
	struct fixture *f = arg;

	vp_driver_set_status(&f->vp, 0);
	return NULL;
}

static bool reset_queued(void *arg)
{
	struct fixture *f = arg;

	pthread_mutex_lock(&f->vp.lock);
	bool pending = f->vp.reset_pending;

	pthread_mutex_unlock(&f->vp.lock);
	return pending;
}

/*
 * DRIVER_OK then an immediate reset, both reaching the loop while it is
 * busy: the device must end up reset (activate, then reset), not
 * activated after the reset the driver already saw complete.
 */
static void test_vpci_reset_right_after_driver_ok_leaves_device_stopped(void **state)
{
	struct fixture *f = *state;

	blocker_release(&f->marker);
	start_loop(f);
	blocker_start(&f->blocker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->blocker, TIMEOUT_MS));
	assert_true(vp_driver_negotiate(&f->vp, driver_features));
	setup_queues(f);
	vp_driver_set_status(&f->vp, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(pthread_create(&f->reset_tid, NULL, reset_thread, f), 0);
	f->reset_tid_live = true;
	assert_true(test_wait_until(reset_queued, f, TIMEOUT_MS));

	blocker_release(&f->blocker);
	pthread_join(f->reset_tid, NULL);
	f->reset_tid_live = false;
	/* Everything queued before the marker has run once the marker runs. */
	blocker_start(&f->marker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->marker, TIMEOUT_MS));

	pthread_mutex_lock(&f->dev.lock);
	unsigned int n = f->dev.event_count;
	char last = n ? f->dev.events[n - 1] : 0;

	pthread_mutex_unlock(&f->dev.lock);
	assert_int_equal(vp_driver_status(&f->vp), 0);
	assert_int_equal(last, 'R');
	assert_false(__atomic_load_n(&f->vp.live, __ATOMIC_SEQ_CST));
}

/*
 * A driver that clears DRIVER_OK without a reset and sets it again
 * (0x0f, 0x0b, 0x0f), while the loop is busy: the activation call was
 * queued twice, its node linked to itself and the loop ran it forever (all
 * virtio I/O stopped, a host core spun, teardown hung). And on virtio-fs
 * a second activation re-sent SET_VRING_KICK for a started ring, which
 * virtiofsd answers with an assertion failure. The bits now stay set, and
 * the device activates once.
 */
static void test_vpci_status_flip_without_reset_activates_once(void **state)
{
	struct fixture *f = *state;
	const uint8_t up = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

	blocker_release(&f->marker);
	start_loop(f);
	blocker_start(&f->blocker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->blocker, TIMEOUT_MS));
	assert_true(vp_driver_negotiate(&f->vp, driver_features));
	setup_queues(f);
	vp_driver_set_status(&f->vp, up);
	vp_driver_set_status(&f->vp, up & (uint8_t)~VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(vp_driver_status(&f->vp), up);
	vp_driver_set_status(&f->vp, up);

	blocker_release(&f->blocker);
	blocker_start(&f->marker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->marker, TIMEOUT_MS));
	assert_int_equal(fake_count(&f->dev, &f->dev.activates), 1);
	assert_int_equal(vp_driver_status(&f->vp), up);
	/* Nothing a guest process had open on the device was lost. */
	assert_false(virtio_pci_was_disrupted(&f->vp));

	/* The loop is still serving kicks. */
	int before = fake_count(&f->dev, &f->dev.notifies[1]);

	vp_driver_kick(&f->vp, 1);
	for (int i = 0; i < TIMEOUT_MS && fake_count(&f->dev, &f->dev.notifies[1]) == before; i++)
		usleep(1000);
	assert_true(fake_count(&f->dev, &f->dev.notifies[1]) > before);
}

/*
 * Two vCPUs write status 0 at once while the loop is busy: the second used
 * to queue the reset call's node again while the first waited.
 */
static void test_vpci_two_resets_at_once_finish(void **state)
{
	struct fixture *f = *state;
	pthread_t second;

	blocker_release(&f->marker);
	start_loop(f);
	bring_up(f);
	blocker_start(&f->blocker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->blocker, TIMEOUT_MS));
	assert_int_equal(pthread_create(&f->reset_tid, NULL, reset_thread, f), 0);
	f->reset_tid_live = true;
	assert_true(test_wait_until(reset_queued, f, TIMEOUT_MS));
	assert_int_equal(pthread_create(&second, NULL, reset_thread, f), 0);
	usleep(20000); /* the second reset is waiting too (it cannot be observed directly) */

	blocker_release(&f->blocker);
	pthread_join(f->reset_tid, NULL);
	f->reset_tid_live = false;
	pthread_join(second, NULL);
	blocker_start(&f->marker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->marker, TIMEOUT_MS));
	assert_int_equal(vp_driver_status(&f->vp), 0);
	assert_int_equal(fake_count(&f->dev, &f->dev.resets), 1);
	/* The device comes up again. */
	assert_false(virtio_pci_was_disrupted(&f->vp));
	bring_up(f);
	assert_true(test_wait_until(activated_twice, f, TIMEOUT_MS));
	/* Restarted by the driver: microvmm says so when the control channel is lost. */
	assert_true(virtio_pci_was_disrupted(&f->vp));
}

#define VPCI_TEST(fn) cmocka_unit_test_setup_teardown(fn, vpci_fixture_setup, vpci_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    VPCI_TEST(test_vpci_driver_ok_activates_on_loop_and_registers_ioeventfds),
	    VPCI_TEST(test_vpci_kick_after_activation_reaches_queue_notify),
	    VPCI_TEST(test_vpci_ioeventfds_follow_memory_decode_and_bar),
	    VPCI_TEST(test_vpci_reset_calls_ops_reset_and_clears_state),
	    VPCI_TEST(test_vpci_rings_outside_ram_set_needs_reset),
	    VPCI_TEST(test_vpci_failed_activate_sets_needs_reset),
	    VPCI_TEST(test_vpci_reset_right_after_driver_ok_leaves_device_stopped),
	    VPCI_TEST(test_vpci_status_flip_without_reset_activates_once),
	    VPCI_TEST(test_vpci_two_resets_at_once_finish),
	    VPCI_TEST(test_vpci_failed_activate_logs_a_device_line),
	    VPCI_TEST(test_vpci_hostile_ring_logs_one_line_per_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
