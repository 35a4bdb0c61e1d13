/* Unit tests for the modern virtio-pci transport (devices/virtio/virtio_pci.c, virtio 1.2 §4.1). */
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

/* ---- PCI header and capabilities ---- */

static void test_vpci_header_identifies_modern_virtio_device(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_read(f, PCI_DEVICE_ID, 2), VIRTIO_PCI_DEVICE_BASE + FAKE_DEVICE_ID);
	assert_int_equal(cfg_read(f, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_read(f, PCI_CLASS_REVISION, 4) >> 8, FAKE_CLASS);
	assert_int_equal(cfg_read(f, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_true(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read(f, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_read(f, PCI_INTERRUPT_PIN, 1), 0);
	/* BAR0 is a 64-bit memory BAR at the address we gave; decode starts off. */
	assert_int_equal(cfg_read(f, PCI_BAR0, 4), (uint32_t)BAR_ADDR | PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_read(f, PCI_BAR1, 4), (uint32_t)(BAR_ADDR >> 32));
	assert_false(cfg_read(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
}

/* The MSI-X capability at config offset at: table size N-1, table and PBA in BAR0
 * (PCI 3.0 §6.8.2). */
static void check_msix_cap(struct fixture *f, unsigned int at)
{
	assert_int_equal(cfg_read(f, at + 2, 2) & MSIX_CONTROL_TABLE_SIZE_MASK, FAKE_VECTORS - 1);
	assert_int_equal(cfg_read(f, at + 4, 4), VIRTIO_PCI_MSIX_TABLE_OFFSET | 0);
	assert_int_equal(cfg_read(f, at + 8, 4), VIRTIO_PCI_MSIX_PBA_OFFSET | 0);
}

/* The index-th virtio vendor capability at config offset at (virtio 1.2 §4.1.4). */
static void check_virtio_cap(struct fixture *f, unsigned int at, unsigned int index)
{
	static const uint8_t want_types[] = {CAP_COMMON_CFG, CAP_ISR_CFG, CAP_DEVICE_CFG,
					     CAP_NOTIFY_CFG};
	static const uint32_t want_offset[] = {VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_ISR_OFFSET,
					       VIRTIO_PCI_DEVICE_OFFSET, VIRTIO_PCI_NOTIFY_OFFSET};
	unsigned int type = cfg_read(f, at + 3, 1);
	uint32_t offset = cfg_read(f, at + 8, 4);
	uint32_t length = cfg_read(f, at + 12, 4);

	assert_true(index < 4);
	assert_int_equal(type, want_types[index]);
	assert_int_equal(cfg_read(f, at + 4, 1), 0); /* bar */
	assert_int_equal(offset, want_offset[index]);
	assert_true((uint64_t)offset + length <= VIRTIO_PCI_BAR_SIZE);
	switch (type) {
	case CAP_COMMON_CFG:
		assert_int_equal(cfg_read(f, at + 2, 1), 16);
		assert_true(length >= 0x38); /* struct virtio_pci_common_cfg */
		break;
	case CAP_ISR_CFG:
		assert_int_equal(cfg_read(f, at + 2, 1), 16);
		assert_true(length >= 1);
		break;
	case CAP_DEVICE_CFG:
		assert_int_equal(cfg_read(f, at + 2, 1), 16);
		assert_int_equal(length, FAKE_CONFIG_SIZE);
		break;
	case CAP_NOTIFY_CFG:
		/* struct virtio_pci_notify_cap: cap + notify_off_multiplier (§4.1.4.4). */
		assert_int_equal(cfg_read(f, at + 2, 1), 20);
		assert_int_equal(cfg_read(f, at + 16, 4), VIRTIO_PCI_NOTIFY_MULTIPLIER);
		assert_true(length >= 4 * (FAKE_QUEUES - 1) + 2);
		break;
	default:
		fail();
	}
}

static void test_vpci_capability_chain_has_msix_and_virtio_caps(void **state)
{
	struct fixture *f = *state;
	unsigned int vendor_caps = 0, msix_caps = 0, hops = 0;
	unsigned int at = cfg_read(f, PCI_CAPABILITY_LIST, 1);

	while (at) {
		assert_true(++hops < 48);
		assert_true(at >= 0x40 && at <= PCI_CONFIG_SIZE - 4);
		assert_int_equal(at & 3, 0);
		unsigned int id = cfg_read(f, at, 1);

		if (id == PCI_CAP_ID_MSIX) {
			msix_caps++;
			check_msix_cap(f, at);
		} else if (id == PCI_CAP_ID_VNDR) {
			check_virtio_cap(f, at, vendor_caps);
			vendor_caps++;
		}
		at = cfg_read(f, at + 1, 1);
	}
	assert_int_equal(msix_caps, 1);
	assert_int_equal(vendor_caps, 4);
	assert_int_equal(VIRTIO_PCI_NOTIFY_MULTIPLIER, 4);
}

static void test_vpci_capabilities_are_read_only(void **state)
{
	struct fixture *f = *state;
	unsigned int at = cfg_read(f, PCI_CAPABILITY_LIST, 1);
	uint8_t before[PCI_CONFIG_SIZE];

	for (unsigned int i = 0; i < PCI_CONFIG_SIZE; i++)
		before[i] = (uint8_t)cfg_read(f, i, 1);
	/* Everything from the first capability on, except MSI-X Message Control. */
	for (unsigned int i = at; i < PCI_CONFIG_SIZE; i += 4)
		if (i != at)
			cfg_write(f, i, 4, 0xa5a5a5a5);
	cfg_write(f, PCI_CAPABILITY_LIST, 1, 0);

	for (unsigned int i = 0; i < PCI_CONFIG_SIZE; i++)
		if (i < PCI_COMMAND || i > PCI_COMMAND + 1)
			assert_int_equal(cfg_read(f, i, 1), before[i]);
}

static void test_vpci_bar0_sizing_reads_size_mask(void **state)
{
	struct fixture *f = *state;

	cfg_write(f, PCI_BAR0, 4, 0xffffffff);
	cfg_write(f, PCI_BAR1, 4, 0xffffffff);

	assert_int_equal(cfg_read(f, PCI_BAR0, 4),
			 (uint32_t) ~(VIRTIO_PCI_BAR_SIZE - 1) | PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_read(f, PCI_BAR1, 4), 0xffffffff);

	/* The guest writes the address back; sizing with decode off never enabled it. */
	cfg_write(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR);
	cfg_write(f, PCI_BAR1, 4, 0);
	assert_int_equal(cfg_read(f, PCI_BAR0, 4), (uint32_t)BAR_ADDR | PCI_BAR_MEM_TYPE_64);
	assert_false(f->vp.fn.bar_enabled);
	for (unsigned int i = 0; i < f->bar_change_count && i < MAX_RECORDS; i++)
		assert_false(f->bar_changes[i].enabled);
}

static void test_vpci_bar_move_and_decode_call_bar_changed(void **state)
{
	struct fixture *f = *state;

	memory_decode(f, true);
	assert_int_equal(f->bar_change_count, 1);
	assert_int_equal(f->bar_changes[0].addr, BAR_ADDR);
	assert_true(f->bar_changes[0].enabled);

	cfg_write(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR_MOVED);
	assert_int_equal(f->bar_change_count, 2);
	assert_int_equal(f->bar_changes[1].addr, BAR_ADDR_MOVED);
	assert_true(f->bar_changes[1].enabled);
	assert_int_equal(f->vp.fn.bar_addr, BAR_ADDR_MOVED);

	memory_decode(f, false);
	assert_int_equal(f->bar_change_count, 3);
	assert_false(f->bar_changes[2].enabled);
	/* Nothing live before DRIVER_OK: no ioeventfds were registered. */
	assert_int_equal(ioeventfd_count(f), 0);
}

/* ---- common configuration ---- */

static void test_vpci_device_features_show_transport_and_device_bits(void **state)
{
	struct fixture *f = *state;

	uint64_t features = vp_driver_device_features(&f->vp);

	assert_int_equal(features, FAKE_FEATURES | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				       VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
				       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	vp_driver_write(&f->vp, COMMON(VP_COMMON_DFSELECT), 4, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DFSELECT), 4), 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DF), 4), 1); /* VERSION_1 */
	vp_driver_write(&f->vp, COMMON(VP_COMMON_DFSELECT), 4, 2);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DF), 4), 0);
}

static void test_vpci_num_queues_and_queue_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_NUMQ), 2), FAKE_QUEUES);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_STATUS), 1), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	for (uint16_t q = 0; q < FAKE_QUEUES; q++) {
		vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, q);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2), q);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2),
				 FAKE_QUEUE_MAX);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2), 0);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2),
				 VIRTIO_MSI_NO_VECTOR);
		/* notify address = cap offset + queue_notify_off * multiplier (§4.1.4.4). */
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_NOFF), 2), q);
	}
}

static void test_vpci_out_of_range_queue_select_reads_size_zero(void **state)
{
	struct fixture *f = *state;

	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, FAKE_QUEUES);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2, 16);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, 0xffff);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2), 0);

	/* The real queues were not touched. */
	for (uint16_t q = 0; q < FAKE_QUEUES; q++) {
		vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, q);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2),
				 FAKE_QUEUE_MAX);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2), 0);
	}
}

static void test_vpci_msix_vector_beyond_table_reads_no_vector(void **state)
{
	struct fixture *f = *state;

	vp_driver_write(&f->vp, COMMON(VP_COMMON_MSIX), 2, 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_MSIX), 2), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_MSIX), 2, FAKE_VECTORS);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_MSIX), 2), VIRTIO_MSI_NO_VECTOR);

	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, 1);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2, FAKE_VECTORS - 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2), FAKE_VECTORS - 1);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2, FAKE_VECTORS);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2, 0x8000);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
}

static void test_vpci_features_ok_refused_without_version_1(void **state)
{
	struct fixture *f = *state;

	assert_false(vp_driver_negotiate(&f->vp, VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | FAKE_FEATURES));
	assert_int_equal(vp_driver_status(&f->vp),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
}

static void test_vpci_features_ok_refused_for_unoffered_bits(void **state)
{
	struct fixture *f = *state;

	/* Bit 40 is in the high word, bit 1 in the low word; neither is offered. */
	assert_false(vp_driver_negotiate(&f->vp, driver_features | VIRTIO_BIT(40)));
	assert_false(vp_driver_negotiate(&f->vp, driver_features | VIRTIO_BIT(1)));
	assert_false(vp_driver_status(&f->vp) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_vpci_features_ok_accepted_for_offered_subset(void **state)
{
	struct fixture *f = *state;
	uint64_t want = driver_features | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(5);

	assert_true(vp_driver_negotiate(&f->vp, want));

	/* driver_feature reads back; later writes are ignored once FEATURES_OK is set. */
	vp_driver_write(&f->vp, COMMON(VP_COMMON_GFSELECT), 4, 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_GF), 4), (uint32_t)want);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_GF), 4, 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_GF), 4), (uint32_t)want);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_GFSELECT), 4, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_GF), 4), 1);
}

static void test_vpci_wrong_width_common_access_ignored(void **state)
{
	struct fixture *f = *state;

	/* status is a byte, queue_select a word, device_feature_select a dword (§4.1.3.1). */
	vp_driver_write(&f->vp, COMMON(VP_COMMON_STATUS), 2, VIRTIO_STATUS_ACKNOWLEDGE);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_STATUS), 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(vp_driver_status(&f->vp), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 4, 1);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 1, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_DFSELECT), 2, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DFSELECT), 4), 0);

	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_NUMQ), 4), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_NUMQ), 1), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 4), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DF), 2), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DF), 8), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_DESCLO), 8), 0);
}

static void test_vpci_queue_registers_frozen_after_driver_ok(void **state)
{
	struct fixture *f = *state;

	start_loop(f);
	bring_up(f);

	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2, 8);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_DESCLO), 4, 0x9000);
	/* The vector stays writable (§4.1.5.1.2 allows remapping). */
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2, 0);

	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2), FAKE_QUEUE_MAX);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_DESCLO), 4), queue_base(0));
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2), 0);
}

static void test_vpci_device_config_forwarded_within_size(void **state)
{
	struct fixture *f = *state;

	memcpy(f->dev.config, "\x11\x22\x33\x44\x55\x66\x77\x88", FAKE_CONFIG_SIZE);

	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 4, 4), 0x88776655);
	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 1, 1), 0x22);
	/* Past config_size: reads 0, writes dropped. */
	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 6, 4), 0);
	vp_driver_write(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 6, 4, 0);
	assert_int_equal(f->dev.config_writes, 0);
	vp_driver_write(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 2, 2, 0xbeef);
	assert_int_equal(f->dev.config_writes, 1);
	assert_int_equal(le_get(f->dev.config + 2, 2), 0xbeef);
	/* ISR reads 0 with MSI-X. */
	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_ISR_OFFSET, 1), 0);
}

/* ---- MSI-X through config space and BAR0 ---- */

static void test_vpci_msix_control_and_table_through_transport(void **state)
{
	struct fixture *f = *state;
	unsigned int cap = cfg_read(f, PCI_CAPABILITY_LIST, 1);
	uint64_t entry1 = VIRTIO_PCI_MSIX_TABLE_OFFSET + MSIX_ENTRY_SIZE;

	assert_int_equal(cfg_read(f, cap, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(vp_driver_read(&f->vp, entry1 + 12, 4), MSIX_VECTOR_CONTROL_MASKED);
	vp_driver_write(&f->vp, entry1, 8, 0xfee00000);
	vp_driver_write(&f->vp, entry1 + 8, 4, 0x31);
	vp_driver_write(&f->vp, entry1 + 12, 4, 0);
	assert_int_equal(f->msix_count, 0);

	/* Only enable and function mask are writable in Message Control. */
	cfg_write(f, cap + 2, 2, 0xffff & ~MSIX_CONTROL_FUNCTION_MASK);
	assert_int_equal(cfg_read(f, cap + 2, 2), MSIX_CONTROL_ENABLE | (FAKE_VECTORS - 1));

	assert_int_equal(f->msix_count, 1);
	assert_int_equal(f->msix[0].vector, 1);
	assert_true(f->msix[0].active);
	assert_int_equal(f->msix[0].addr, 0xfee00000);
	assert_int_equal(f->msix[0].data, 0x31);
	assert_int_equal(vp_driver_read(&f->vp, entry1 + 8, 4), 0x31);
	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_MSIX_PBA_OFFSET, 8), 0);

	cfg_write(f, cap + 3, 1, (MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK) >> 8);
	assert_int_equal(f->msix_count, 2);
	assert_false(f->msix[1].active);
}

/* ---- notify ---- */

static void test_vpci_notify_write_increments_kick_eventfd(void **state)
{
	struct fixture *f = *state;

	vp_driver_kick(&f->vp, 1);
	vp_driver_kick(&f->vp, 1);
	/* Past the last queue: nothing to kick. */
	vp_driver_write(&f->vp, VIRTIO_PCI_NOTIFY_OFFSET + 4 * FAKE_QUEUES, 2, FAKE_QUEUES);

	assert_int_equal(eventfd_take(f->vp.queues[1].kick_fd), 2);
	assert_int_equal(eventfd_take(f->vp.queues[0].kick_fd), 0);
}

#define VPCI_TEST(fn) cmocka_unit_test_setup_teardown(fn, vpci_fixture_setup, vpci_fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    VPCI_TEST(test_vpci_header_identifies_modern_virtio_device),
	    VPCI_TEST(test_vpci_capability_chain_has_msix_and_virtio_caps),
	    VPCI_TEST(test_vpci_capabilities_are_read_only),
	    VPCI_TEST(test_vpci_bar0_sizing_reads_size_mask),
	    VPCI_TEST(test_vpci_bar_move_and_decode_call_bar_changed),
	    VPCI_TEST(test_vpci_device_features_show_transport_and_device_bits),
	    VPCI_TEST(test_vpci_num_queues_and_queue_defaults),
	    VPCI_TEST(test_vpci_out_of_range_queue_select_reads_size_zero),
	    VPCI_TEST(test_vpci_msix_vector_beyond_table_reads_no_vector),
	    VPCI_TEST(test_vpci_features_ok_refused_without_version_1),
	    VPCI_TEST(test_vpci_features_ok_refused_for_unoffered_bits),
	    VPCI_TEST(test_vpci_features_ok_accepted_for_offered_subset),
	    VPCI_TEST(test_vpci_wrong_width_common_access_ignored),
	    VPCI_TEST(test_vpci_queue_registers_frozen_after_driver_ok),
	    VPCI_TEST(test_vpci_device_config_forwarded_within_size),
	    VPCI_TEST(test_vpci_msix_control_and_table_through_transport),
	    VPCI_TEST(test_vpci_notify_write_increments_kick_eventfd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
