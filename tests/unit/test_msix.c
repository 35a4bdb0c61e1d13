/* Unit tests for MSI-X capability, vector table and PBA emulation (devices/pci/msix.c, PCI 3.0
 * §6.8.2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/io.h"
#include "devices/pci/msix.h"

#define VECTORS		4
#define MAX_UPDATES	64
#define PCI_CAP_ID_MSIX 0x11
#define ENTRY_ADDR_LO	0x0
#define ENTRY_ADDR_HI	0x4
#define ENTRY_DATA	0x8
#define ENTRY_CONTROL	0xc
#define POISON		0xa5
#define TEST_ADDR_LO	0xfee01000u
#define TEST_ADDR_HI	0x00000001u
#define TEST_DATA	0x00004041u

struct update {
	unsigned int vector;
	bool active;
	uint64_t addr;
	uint32_t data;
};

struct fixture {
	struct msix m;
	unsigned int count;
	struct update u[MAX_UPDATES];
};

static int record_update(void *ctx, unsigned int vector, bool active, uint64_t addr, uint32_t data)
{
	struct fixture *f = ctx;

	if (f->count < MAX_UPDATES)
		f->u[f->count] = (struct update){vector, active, addr, data};
	f->count++;
	return 0;
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (msix_init(&f->m, VECTORS, (struct msix_sink){.update = record_update, .ctx = f})) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	msix_destroy(&f->m);
	free(f);
	return 0;
}

static void table_write32(struct fixture *f, uint64_t offset, uint32_t v)
{
	uint8_t data[4];

	le_put(data, 4, v);
	msix_table_write(&f->m, offset, data, 4);
}

static uint32_t table_read32(struct fixture *f, uint64_t offset)
{
	uint8_t data[4];

	memset(data, POISON, sizeof(data));
	msix_table_read(&f->m, offset, data, 4);
	return (uint32_t)le_get(data, 4);
}

static uint64_t entry(unsigned int v, unsigned int field)
{
	return (uint64_t)v * MSIX_ENTRY_SIZE + field;
}

/* Writes address and data of vector v; leaves its mask bit alone. */
static void program_vector(struct fixture *f, unsigned int v, uint32_t data)
{
	table_write32(f, entry(v, ENTRY_ADDR_LO), TEST_ADDR_LO);
	table_write32(f, entry(v, ENTRY_ADDR_HI), TEST_ADDR_HI);
	table_write32(f, entry(v, ENTRY_DATA), data);
}

static void assert_update(const struct fixture *f, unsigned int i, unsigned int vector, bool active,
			  uint32_t data)
{
	assert_true(i < f->count);
	assert_int_equal(f->u[i].vector, vector);
	assert_int_equal(f->u[i].active, active);
	assert_int_equal(f->u[i].addr, (uint64_t)TEST_ADDR_HI << 32 | TEST_ADDR_LO);
	assert_int_equal(f->u[i].data, data);
}

/* Vector v programmed, unmasked and MSI-X enabled: one active report. */
static void make_active(struct fixture *f, unsigned int v)
{
	program_vector(f, v, TEST_DATA + v);
	table_write32(f, entry(v, ENTRY_CONTROL), 0);
	msix_set_control(&f->m, MSIX_CONTROL_ENABLE);
}

static void test_msix_init_rejects_bad_vector_counts(void **state)
{
	struct msix m;
	struct msix_sink sink = {0};

	(void)state;
	assert_int_equal(msix_init(&m, 0, sink), -EINVAL);
	assert_int_equal(msix_init(&m, MSIX_MAX_VECTORS + 1, sink), -EINVAL);
	assert_int_equal(msix_init(&m, MSIX_MAX_VECTORS, sink), 0);
	msix_destroy(&m);
}

static void test_msix_capability_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t cap[MSIX_CAP_SIZE];

	memset(cap, POISON, sizeof(cap));
	msix_write_capability(&f->m, cap, 0x4c, 0x4000, 0x5000, 2);

	assert_int_equal(cap[0], PCI_CAP_ID_MSIX);
	assert_int_equal(cap[1], 0x4c);
	/* Table Size is N-1; enable and function mask start clear (§6.8.2.3). */
	assert_int_equal(le_get(cap + 2, 2), VECTORS - 1);
	/* Table/PBA offset with the BIR in bits 2:0 (§6.8.2.4, §6.8.2.5). */
	assert_int_equal(le_get(cap + 4, 4), 0x4000 | 2);
	assert_int_equal(le_get(cap + 8, 4), 0x5000 | 2);
}

static void test_msix_capability_table_size_for_max_vectors(void **state)
{
	struct msix m;
	uint8_t cap[MSIX_CAP_SIZE] = {0};

	(void)state;
	assert_int_equal(msix_init(&m, MSIX_MAX_VECTORS, (struct msix_sink){0}), 0);
	msix_write_capability(&m, cap, 0, 0, 0x800, 0);
	assert_int_equal(le_get(cap + 2, 2), MSIX_MAX_VECTORS - 1);
	assert_int_equal(le_get(cap + 4, 4), 0);
	assert_int_equal(le_get(cap + 8, 4), 0x800);
	msix_destroy(&m);
}

static void test_msix_entries_start_masked(void **state)
{
	struct fixture *f = *state;

	for (unsigned int v = 0; v < VECTORS; v++) {
		assert_int_equal(table_read32(f, entry(v, ENTRY_CONTROL)),
				 MSIX_VECTOR_CONTROL_MASKED);
		assert_int_equal(table_read32(f, entry(v, ENTRY_ADDR_LO)), 0);
		assert_int_equal(table_read32(f, entry(v, ENTRY_DATA)), 0);
	}
	/* Enabling MSI-X with every entry masked activates nothing. */
	msix_set_control(&f->m, MSIX_CONTROL_ENABLE);
	assert_int_equal(f->count, 0);
}

static void test_msix_table_reads_back_programmed_entry(void **state)
{
	struct fixture *f = *state;

	program_vector(f, 2, TEST_DATA);

	assert_int_equal(table_read32(f, entry(2, ENTRY_ADDR_LO)), TEST_ADDR_LO);
	assert_int_equal(table_read32(f, entry(2, ENTRY_ADDR_HI)), TEST_ADDR_HI);
	assert_int_equal(table_read32(f, entry(2, ENTRY_DATA)), TEST_DATA);
	assert_int_equal(table_read32(f, entry(1, ENTRY_DATA)), 0);
}

static void test_msix_unmask_while_disabled_reports_nothing(void **state)
{
	struct fixture *f = *state;

	program_vector(f, 1, TEST_DATA);
	table_write32(f, entry(1, ENTRY_CONTROL), 0);

	assert_int_equal(f->count, 0);
}

static void test_msix_enable_activates_unmasked_entry(void **state)
{
	struct fixture *f = *state;

	program_vector(f, 1, TEST_DATA);
	table_write32(f, entry(1, ENTRY_CONTROL), 0);

	msix_set_control(&f->m, MSIX_CONTROL_ENABLE);

	assert_int_equal(f->count, 1);
	assert_update(f, 0, 1, true, TEST_DATA);
}

static void test_msix_unmask_while_enabled_activates(void **state)
{
	struct fixture *f = *state;

	msix_set_control(&f->m, MSIX_CONTROL_ENABLE);
	program_vector(f, 3, TEST_DATA);
	assert_int_equal(f->count, 0);

	table_write32(f, entry(3, ENTRY_CONTROL), 0);

	assert_int_equal(f->count, 1);
	assert_update(f, 0, 3, true, TEST_DATA);
}

static void test_msix_rewriting_active_entry_reports_new_message(void **state)
{
	struct fixture *f = *state;

	make_active(f, 0);
	f->count = 0;

	table_write32(f, entry(0, ENTRY_DATA), TEST_DATA + 0x10);

	assert_int_equal(f->count, 1);
	assert_update(f, 0, 0, true, TEST_DATA + 0x10);
}

static void test_msix_masking_active_entry_reports_inactive_once(void **state)
{
	struct fixture *f = *state;

	make_active(f, 2);
	f->count = 0;

	table_write32(f, entry(2, ENTRY_CONTROL), MSIX_VECTOR_CONTROL_MASKED);
	table_write32(f, entry(2, ENTRY_CONTROL), MSIX_VECTOR_CONTROL_MASKED);
	table_write32(f, entry(2, ENTRY_DATA), TEST_DATA + 7);

	assert_int_equal(f->count, 1);
	assert_int_equal(f->u[0].vector, 2);
	assert_false(f->u[0].active);
}

static void test_msix_function_mask_deactivates_and_restores(void **state)
{
	struct fixture *f = *state;

	program_vector(f, 0, TEST_DATA);
	make_active(f, 1);
	make_active(f, 3);
	f->count = 0;

	msix_set_control(&f->m, MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK);
	assert_int_equal(f->count, 2);
	assert_false(f->u[0].active);
	assert_false(f->u[1].active);
	/* Unmasking an entry under the function mask does not activate it. */
	table_write32(f, entry(0, ENTRY_CONTROL), 0);
	assert_int_equal(f->count, 2);

	msix_set_control(&f->m, MSIX_CONTROL_ENABLE);

	assert_int_equal(f->count, 5);
	assert_update(f, 2, 0, true, TEST_DATA);
	assert_update(f, 3, 1, true, TEST_DATA + 1);
	assert_update(f, 4, 3, true, TEST_DATA + 3);
}

static void test_msix_disable_deactivates(void **state)
{
	struct fixture *f = *state;

	make_active(f, 0);
	f->count = 0;

	msix_set_control(&f->m, 0);
	msix_set_control(&f->m, 0);

	assert_int_equal(f->count, 1);
	assert_int_equal(f->u[0].vector, 0);
	assert_false(f->u[0].active);
}

static void test_msix_only_mask_bit_of_vector_control_writable(void **state)
{
	struct fixture *f = *state;

	table_write32(f, entry(0, ENTRY_CONTROL), 0xfffffffe);
	assert_int_equal(table_read32(f, entry(0, ENTRY_CONTROL)), 0);
	table_write32(f, entry(0, ENTRY_CONTROL), 0xffffffff);
	assert_int_equal(table_read32(f, entry(0, ENTRY_CONTROL)), MSIX_VECTOR_CONTROL_MASKED);
}

static void test_msix_unaligned_and_odd_size_accesses_ignored(void **state)
{
	struct fixture *f = *state;
	static const unsigned int sizes[] = {1, 2, 3};
	uint8_t data[8];

	program_vector(f, 0, TEST_DATA);
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(data, POISON, sizeof(data));
		msix_table_read(&f->m, entry(0, ENTRY_DATA), data, sizes[i]);
		for (unsigned int b = 0; b < sizes[i]; b++)
			assert_int_equal(data[b], 0);
		memset(data, 0x5a, sizeof(data));
		msix_table_write(&f->m, entry(0, ENTRY_DATA), data, sizes[i]);
	}
	/* Dword not dword-aligned, qword not qword-aligned. */
	memset(data, POISON, sizeof(data));
	msix_table_read(&f->m, entry(0, ENTRY_DATA) + 2, data, 4);
	assert_int_equal(le_get(data, 4), 0);
	memset(data, POISON, sizeof(data));
	msix_table_read(&f->m, entry(0, ENTRY_ADDR_HI), data, 8);
	assert_int_equal(le_get(data, 8), 0);
	memset(data, 0x5a, sizeof(data));
	msix_table_write(&f->m, entry(0, ENTRY_ADDR_LO) + 1, data, 4);
	msix_table_write(&f->m, entry(0, ENTRY_ADDR_HI), data, 8);

	assert_int_equal(table_read32(f, entry(0, ENTRY_ADDR_LO)), TEST_ADDR_LO);
	assert_int_equal(table_read32(f, entry(0, ENTRY_ADDR_HI)), TEST_ADDR_HI);
	assert_int_equal(table_read32(f, entry(0, ENTRY_DATA)), TEST_DATA);
	assert_int_equal(table_read32(f, entry(0, ENTRY_CONTROL)), MSIX_VECTOR_CONTROL_MASKED);
}

static void test_msix_out_of_range_vector_ignored(void **state)
{
	struct fixture *f = *state;
	uint8_t data[8];

	msix_set_control(&f->m, MSIX_CONTROL_ENABLE);
	table_write32(f, entry(VECTORS, ENTRY_DATA), TEST_DATA);
	table_write32(f, entry(VECTORS, ENTRY_CONTROL), 0);
	/* A qword just past the table. */
	memset(data, 0, sizeof(data));
	msix_table_write(&f->m, entry(VECTORS, ENTRY_ADDR_LO), data, 8);

	assert_int_equal(f->count, 0);
	assert_int_equal(table_read32(f, entry(VECTORS, ENTRY_DATA)), 0);
	assert_int_equal(table_read32(f, entry(VECTORS, ENTRY_CONTROL)), 0);
	assert_int_equal(table_read32(f, entry(MSIX_MAX_VECTORS - 1, ENTRY_CONTROL)), 0);
	assert_int_equal(table_read32(f, entry(VECTORS - 1, ENTRY_CONTROL)),
			 MSIX_VECTOR_CONTROL_MASKED);
}

static void test_msix_qword_accesses(void **state)
{
	struct fixture *f = *state;
	uint8_t data[8];

	/* Address as one qword, then data + vector control (unmasked) as one qword. */
	le_put(data, 8, (uint64_t)TEST_ADDR_HI << 32 | TEST_ADDR_LO);
	msix_table_write(&f->m, entry(1, ENTRY_ADDR_LO), data, 8);
	le_put(data, 8, (uint64_t)0xfffffffeu << 32 | TEST_DATA);
	msix_table_write(&f->m, entry(1, ENTRY_DATA), data, 8);

	memset(data, POISON, sizeof(data));
	msix_table_read(&f->m, entry(1, ENTRY_ADDR_LO), data, 8);
	assert_int_equal(le_get(data, 8), (uint64_t)TEST_ADDR_HI << 32 | TEST_ADDR_LO);
	memset(data, POISON, sizeof(data));
	msix_table_read(&f->m, entry(1, ENTRY_DATA), data, 8);
	assert_int_equal(le_get(data, 8), TEST_DATA);

	msix_set_control(&f->m, MSIX_CONTROL_ENABLE);
	assert_int_equal(f->count, 1);
	assert_update(f, 0, 1, true, TEST_DATA);
}

static void test_msix_pba_reads_zero(void **state)
{
	struct fixture *f = *state;
	uint8_t data[8];

	make_active(f, 0);
	memset(data, POISON, sizeof(data));
	msix_pba_read(&f->m, 0, data, 8);
	assert_int_equal(le_get(data, 8), 0);
	memset(data, POISON, sizeof(data));
	msix_pba_read(&f->m, 4, data, 4);
	assert_int_equal(le_get(data, 4), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_msix_init_rejects_bad_vector_counts),
	    cmocka_unit_test_setup_teardown(test_msix_capability_bytes, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test(test_msix_capability_table_size_for_max_vectors),
	    cmocka_unit_test_setup_teardown(test_msix_entries_start_masked, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_table_reads_back_programmed_entry,
					    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_unmask_while_disabled_reports_nothing,
					    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_enable_activates_unmasked_entry,
					    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_unmask_while_enabled_activates, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_rewriting_active_entry_reports_new_message,
					    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_masking_active_entry_reports_inactive_once,
					    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_function_mask_deactivates_and_restores,
					    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_disable_deactivates, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_only_mask_bit_of_vector_control_writable,
					    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_unaligned_and_odd_size_accesses_ignored,
					    fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_out_of_range_vector_ignored, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_qword_accesses, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_msix_pba_reads_zero, fixture_setup,
					    fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
