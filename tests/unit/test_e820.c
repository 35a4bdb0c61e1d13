/* Unit tests for the guest RAM layout, its checked translation and the e820 map (boot/). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/e820.h"
#include "boot/guest_ram.h"
#include "boot/layout.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/* Small host buffers standing in for two guest regions: [0, 64K) and [4G, 4G + 64K). */
#define FAKE_REGION_SIZE 0x10000ULL

struct fake_ram {
	struct guest_ram ram;
	uint8_t low[FAKE_REGION_SIZE];
	uint8_t high[FAKE_REGION_SIZE];
};

static int fake_ram_setup(void **state)
{
	struct fake_ram *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->ram.regions[0] =
	    (struct guest_ram_region){.gpa = 0, .size = FAKE_REGION_SIZE, .host = f->low};
	f->ram.regions[1] = (struct guest_ram_region){
	    .gpa = LAYOUT_MEM_ABOVE_4G, .size = FAKE_REGION_SIZE, .host = f->high};
	f->ram.count = 2;
	f->ram.total = 2 * FAKE_REGION_SIZE;
	*state = f;
	return 0;
}

static int fake_ram_teardown(void **state)
{
	free(*state);
	return 0;
}

static void assert_entry(const struct e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, size);
	assert_int_equal(e->type, type);
}

static void test_guest_ram_layout_64m_is_one_region(void **state)
{
	struct guest_ram ram;

	(void)state;

	int ret = guest_ram_layout(64 * MIB, &ram);

	assert_int_equal(ret, 0);
	assert_int_equal(ram.count, 1);
	assert_int_equal(ram.regions[0].gpa, 0);
	assert_int_equal(ram.regions[0].size, 64 * MIB);
	assert_null(ram.regions[0].host);
	assert_int_equal(ram.total, 64 * MIB);
	assert_int_equal(guest_ram_low_end(&ram), 64 * MIB);
}

static void test_guest_ram_layout_512m_is_one_region(void **state)
{
	struct guest_ram ram;

	(void)state;

	int ret = guest_ram_layout(512 * MIB, &ram);

	assert_int_equal(ret, 0);
	assert_int_equal(ram.count, 1);
	assert_int_equal(ram.regions[0].size, 512 * MIB);
	assert_int_equal(ram.total, 512 * MIB);
}

static void test_guest_ram_layout_exactly_3g_fills_low_region_only(void **state)
{
	struct guest_ram ram;

	(void)state;

	int ret = guest_ram_layout(3 * GIB, &ram);

	assert_int_equal(ret, 0);
	assert_int_equal(ram.count, 1);
	assert_int_equal(ram.regions[0].gpa, 0);
	assert_int_equal(ram.regions[0].size, LAYOUT_MEM32_END);
	assert_int_equal(ram.total, 3 * GIB);
	assert_int_equal(guest_ram_low_end(&ram), LAYOUT_MEM32_END);
}

static void test_guest_ram_layout_5g_splits_at_3g_and_resumes_at_4g(void **state)
{
	struct guest_ram ram;

	(void)state;

	int ret = guest_ram_layout(5 * GIB, &ram);

	assert_int_equal(ret, 0);
	assert_int_equal(ram.count, 2);
	assert_int_equal(ram.regions[0].gpa, 0);
	assert_int_equal(ram.regions[0].size, 3 * GIB);
	assert_int_equal(ram.regions[1].gpa, 4 * GIB);
	assert_int_equal(ram.regions[1].size, 2 * GIB);
	assert_null(ram.regions[1].host);
	assert_int_equal(ram.total, 5 * GIB);
	assert_int_equal(guest_ram_low_end(&ram), 3 * GIB);
}

static void test_guest_ram_layout_rejects_non_4k_sizes(void **state)
{
	struct guest_ram ram;

	(void)state;

	assert_int_equal(guest_ram_layout(64 * MIB + 1, &ram), -EINVAL);
	assert_int_equal(guest_ram_layout(64 * MIB + 0x800, &ram), -EINVAL);
	assert_int_equal(guest_ram_layout(5 * GIB - 1, &ram), -EINVAL);
	assert_int_equal(ram.count, 0);
}

static void test_guest_ram_layout_rejects_zero(void **state)
{
	struct guest_ram ram;

	(void)state;

	assert_int_equal(guest_ram_layout(0, &ram), -EINVAL);
	assert_int_equal(ram.count, 0);
}

static void test_e820_512m_map(void **state)
{
	struct guest_ram ram;
	struct e820_entry e[E820_MAX_ENTRIES];

	(void)state;
	assert_int_equal(guest_ram_layout(512 * MIB, &ram), 0);

	int n = e820_build(&ram, e, E820_MAX_ENTRIES);

	assert_int_equal(n, 3);
	assert_entry(&e[0], 0, 0x9fc00, E820_RAM);
	assert_entry(&e[1], 0x9fc00, 0x100000 - 0x9fc00, E820_RESERVED);
	assert_entry(&e[2], 0x100000, 512 * MIB - 0x100000, E820_RAM);
}

static void test_e820_3g_map_ends_at_pci_hole(void **state)
{
	struct guest_ram ram;
	struct e820_entry e[E820_MAX_ENTRIES];

	(void)state;
	assert_int_equal(guest_ram_layout(3 * GIB, &ram), 0);

	int n = e820_build(&ram, e, E820_MAX_ENTRIES);

	assert_int_equal(n, 3);
	assert_entry(&e[2], 0x100000, 3 * GIB - 0x100000, E820_RAM);
}

static void test_e820_5g_map_has_ram_above_4g(void **state)
{
	struct guest_ram ram;
	struct e820_entry e[E820_MAX_ENTRIES];

	(void)state;
	assert_int_equal(guest_ram_layout(5 * GIB, &ram), 0);

	int n = e820_build(&ram, e, E820_MAX_ENTRIES);

	assert_int_equal(n, 4);
	assert_entry(&e[0], 0, 0x9fc00, E820_RAM);
	assert_entry(&e[1], 0x9fc00, 0x60400, E820_RESERVED);
	assert_entry(&e[2], 0x100000, 3 * GIB - 0x100000, E820_RAM);
	assert_entry(&e[3], 4 * GIB, 2 * GIB, E820_RAM);
}

static void test_e820_rejects_small_max_with_enospc(void **state)
{
	struct guest_ram ram;
	struct e820_entry e[4];

	(void)state;
	assert_int_equal(guest_ram_layout(5 * GIB, &ram), 0);

	assert_int_equal(e820_build(&ram, e, 0), -ENOSPC);
	assert_int_equal(e820_build(&ram, e, 2), -ENOSPC);
	assert_int_equal(e820_build(&ram, e, 3), -ENOSPC);
	assert_int_equal(e820_build(&ram, e, 4), 4);
}

static void test_e820_rejects_ram_not_reaching_past_1m(void **state)
{
	struct guest_ram ram;
	struct e820_entry e[E820_MAX_ENTRIES];

	(void)state;
	assert_int_equal(guest_ram_layout(1 * MIB, &ram), 0);

	assert_int_equal(e820_build(&ram, e, E820_MAX_ENTRIES), -EINVAL);
}

static void test_e820_rejects_empty_ram(void **state)
{
	struct guest_ram ram;
	struct e820_entry e[E820_MAX_ENTRIES];

	(void)state;
	memset(&ram, 0, sizeof(ram));

	assert_int_equal(e820_build(&ram, e, E820_MAX_ENTRIES), -EINVAL);
}

static void test_guest_ram_ptr_inside_region(void **state)
{
	struct fake_ram *f = *state;

	assert_ptr_equal(guest_ram_ptr(&f->ram, 0, 1), f->low);
	assert_ptr_equal(guest_ram_ptr(&f->ram, 0x1234, 16), f->low + 0x1234);
	assert_ptr_equal(guest_ram_ptr(&f->ram, LAYOUT_MEM_ABOVE_4G + 0x100, 8), f->high + 0x100);
}

static void test_guest_ram_ptr_range_ending_at_region_end(void **state)
{
	struct fake_ram *f = *state;

	assert_ptr_equal(guest_ram_ptr(&f->ram, FAKE_REGION_SIZE - 16, 16),
			 f->low + FAKE_REGION_SIZE - 16);
	assert_ptr_equal(guest_ram_ptr(&f->ram, 0, FAKE_REGION_SIZE), f->low);
	assert_ptr_equal(guest_ram_ptr(&f->ram, LAYOUT_MEM_ABOVE_4G, FAKE_REGION_SIZE), f->high);
}

static void test_guest_ram_ptr_rejects_start_at_region_end(void **state)
{
	struct fake_ram *f = *state;

	assert_null(guest_ram_ptr(&f->ram, FAKE_REGION_SIZE, 1));
	assert_null(guest_ram_ptr(&f->ram, LAYOUT_MEM_ABOVE_4G + FAKE_REGION_SIZE, 1));
}

static void test_guest_ram_ptr_rejects_range_crossing_region_end(void **state)
{
	struct fake_ram *f = *state;

	assert_null(guest_ram_ptr(&f->ram, FAKE_REGION_SIZE - 16, 17));
	assert_null(guest_ram_ptr(&f->ram, 0, FAKE_REGION_SIZE + 1));
	assert_null(guest_ram_ptr(&f->ram, LAYOUT_MEM_ABOVE_4G + FAKE_REGION_SIZE - 1, 2));
}

static void test_guest_ram_ptr_rejects_length_overflow(void **state)
{
	struct fake_ram *f = *state;

	/* gpa + len wraps to a small number: a start-only or sum check would accept these. */
	assert_null(guest_ram_ptr(&f->ram, 0x100, UINT64_MAX));
	assert_null(guest_ram_ptr(&f->ram, 0x100, UINT64_MAX - 0xff));
	assert_null(guest_ram_ptr(&f->ram, LAYOUT_MEM_ABOVE_4G + 0x10, UINT64_MAX - 0x8));
	assert_null(guest_ram_ptr(&f->ram, UINT64_MAX - 3, 8));
	assert_null(guest_ram_ptr(&f->ram, UINT64_MAX, 1));
}

static void test_guest_ram_ptr_rejects_pci_hole(void **state)
{
	struct fake_ram *f = *state;
	struct guest_ram ram;

	/* The 5G layout: nothing between 3G and 4G translates, even with hosts mapped. */
	assert_int_equal(guest_ram_layout(5 * GIB, &ram), 0);
	ram.regions[0].host = f->low;
	ram.regions[1].host = f->high;

	assert_null(guest_ram_ptr(&ram, LAYOUT_MEM32_END, 1));
	assert_null(guest_ram_ptr(&ram, LAYOUT_PCI_MMIO32_START + 0x1000, 4));
	assert_null(guest_ram_ptr(&ram, LAYOUT_IOAPIC, 4));
	assert_null(guest_ram_ptr(&ram, LAYOUT_MEM_ABOVE_4G - 4, 4));
	/* A range starting below the hole must not run into it. */
	assert_null(guest_ram_ptr(&ram, LAYOUT_MEM32_END - 4, 8));
	assert_null(guest_ram_ptr(&f->ram, FAKE_REGION_SIZE + 0x1000, 4));
}

static void test_guest_ram_ptr_unmapped_host_returns_null(void **state)
{
	struct guest_ram ram;

	(void)state;
	assert_int_equal(guest_ram_layout(64 * MIB, &ram), 0);

	assert_null(guest_ram_ptr(&ram, 0x1000, 4));
	assert_null(guest_ram_ptr(&ram, 0, 0));
}

static void test_guest_ram_ptr_len_zero_inside_ram(void **state)
{
	struct fake_ram *f = *state;

	assert_ptr_equal(guest_ram_ptr(&f->ram, 0x10, 0), f->low + 0x10);
	assert_ptr_equal(guest_ram_ptr(&f->ram, FAKE_REGION_SIZE - 1, 0),
			 f->low + FAKE_REGION_SIZE - 1);
	/* Zero length does not make an address outside RAM valid. */
	assert_null(guest_ram_ptr(&f->ram, FAKE_REGION_SIZE, 0));
	assert_null(guest_ram_ptr(&f->ram, UINT64_MAX, 0));
}

static void test_guest_ram_low_end_of_empty_ram_is_zero(void **state)
{
	struct guest_ram ram;

	(void)state;
	memset(&ram, 0, sizeof(ram));

	assert_int_equal(guest_ram_low_end(&ram), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guest_ram_layout_64m_is_one_region),
	    cmocka_unit_test(test_guest_ram_layout_512m_is_one_region),
	    cmocka_unit_test(test_guest_ram_layout_exactly_3g_fills_low_region_only),
	    cmocka_unit_test(test_guest_ram_layout_5g_splits_at_3g_and_resumes_at_4g),
	    cmocka_unit_test(test_guest_ram_layout_rejects_non_4k_sizes),
	    cmocka_unit_test(test_guest_ram_layout_rejects_zero),
	    cmocka_unit_test(test_e820_512m_map),
	    cmocka_unit_test(test_e820_3g_map_ends_at_pci_hole),
	    cmocka_unit_test(test_e820_5g_map_has_ram_above_4g),
	    cmocka_unit_test(test_e820_rejects_small_max_with_enospc),
	    cmocka_unit_test(test_e820_rejects_ram_not_reaching_past_1m),
	    cmocka_unit_test(test_e820_rejects_empty_ram),
	    cmocka_unit_test_setup_teardown(test_guest_ram_ptr_inside_region, fake_ram_setup,
					    fake_ram_teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ram_ptr_range_ending_at_region_end,
					    fake_ram_setup, fake_ram_teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ram_ptr_rejects_start_at_region_end,
					    fake_ram_setup, fake_ram_teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ram_ptr_rejects_range_crossing_region_end,
					    fake_ram_setup, fake_ram_teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ram_ptr_rejects_length_overflow,
					    fake_ram_setup, fake_ram_teardown),
	    cmocka_unit_test_setup_teardown(test_guest_ram_ptr_rejects_pci_hole, fake_ram_setup,
					    fake_ram_teardown),
	    cmocka_unit_test(test_guest_ram_ptr_unmapped_host_returns_null),
	    cmocka_unit_test_setup_teardown(test_guest_ram_ptr_len_zero_inside_ram, fake_ram_setup,
					    fake_ram_teardown),
	    cmocka_unit_test(test_guest_ram_low_end_of_empty_ram_is_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
