/* Unit tests for the run-time ACPI tables (boot/acpi.c): layout, pointers, checksums, content. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/acpi.h"
#include "boot/layout.h"

#define AREA_SIZE      (LAYOUT_ACPI_END - LAYOUT_ACPI_START)
#define SDT_HEADER_LEN 36

/*
 * DSDT body after the header. iasl 20200925 compiled the equivalent ASL to
 * exactly these bytes (PCI window 0xC0000000..0xDFFFFFFF, pvpanic at 0x505):
 *   Scope(\_SB) {
 *     Device(PCI0) { _HID EISAID("PNP0A03"), _UID 0, _SEG 0, _BBN 0, _CRS {
 *       WordBusNumber 0-0, IO(Decode16, 0xCF8, 0xCF8, 1, 8), WordIO 0-0xCF7,
 *       WordIO 0xD00-0xFFFF, DWordMemory NonCacheable RW 0xC0000000-0xDFFFFFFF } }
 *     Device(COM1) { _HID EISAID("PNP0501"), _UID 0, _CRS {
 *       IO(Decode16, 0x3F8, 0x3F8, 0, 8), Interrupt(Consumer, Edge, ActiveHigh, Exclusive){4} } }
 *     Device(PEVT) { _HID "QEMU0001", _UID 0, _CRS { IO(Decode16, 0x505, 0x505, 1, 1) } } }
 *   Name(\_S5, Package(4){5, 0, 0, 0})
 */
static const uint8_t dsdt_golden[] = {
    0x10, 0x4a, 0x0e, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x40, 0x08, 0x50, 0x43, 0x49, 0x30, 0x08,
    0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x0a, 0x03, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00, 0x08,
    0x5f, 0x53, 0x45, 0x47, 0x00, 0x08, 0x5f, 0x42, 0x42, 0x4e, 0x00, 0x08, 0x5f, 0x43, 0x52, 0x53,
    0x11, 0x48, 0x05, 0x0a, 0x54, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08, 0x88, 0x0d, 0x00,
    0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00, 0xf7, 0x0c, 0x00, 0x00, 0xf8, 0x0c, 0x88, 0x0d, 0x00,
    0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf3, 0x87, 0x17, 0x00,
    0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xdf, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x79, 0x00, 0x5b, 0x82, 0x31, 0x43, 0x4f, 0x4d, 0x31,
    0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x05, 0x01, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00,
    0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x16, 0x0a, 0x13, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00,
    0x08, 0x89, 0x06, 0x00, 0x03, 0x01, 0x04, 0x00, 0x00, 0x00, 0x79, 0x00, 0x5b, 0x82, 0x2d, 0x50,
    0x45, 0x56, 0x54, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x51, 0x45, 0x4d, 0x55, 0x30, 0x30, 0x30,
    0x31, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x0d, 0x0a,
    0x0a, 0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01, 0x79, 0x00, 0x08, 0x5f, 0x53, 0x35, 0x5f,
    0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00,
};

/* The golden bytes assume today's layout; fail loudly here rather than in a byte diff. */
_Static_assert(LAYOUT_PCI_MMIO32_START == 0xc0000000ULL && LAYOUT_PCI_MMIO32_END == 0xe0000000ULL,
	       "dsdt_golden encodes the PCI window");
_Static_assert(LAYOUT_PORT_PVPANIC == 0x505 && LAYOUT_PORT_COM1 == 0x3f8 && LAYOUT_IRQ_COM1 == 4,
	       "dsdt_golden encodes the legacy ports");

static uint8_t area[AREA_SIZE];

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* Host pointer of the table at guest-physical `gpa`, checked to lie wholly inside `area`. */
static const uint8_t *table_at(uint64_t gpa)
{
	uint64_t off;

	assert_true(gpa >= LAYOUT_ACPI_START);
	off = gpa - LAYOUT_ACPI_START;
	assert_true(off + SDT_HEADER_LEN <= AREA_SIZE);
	assert_true(off + rd(area + off + 4, 4) <= AREA_SIZE);
	return area + off;
}

static void build(unsigned int cpus)
{
	struct acpi_config cfg = {.cpu_count = cpus};
	uint64_t rsdp = 0;

	memset(area, 0xa5, sizeof(area));
	assert_int_equal(acpi_build(area, sizeof(area), LAYOUT_ACPI_START, &cfg, &rsdp), 0);
	assert_int_equal(rsdp, LAYOUT_ACPI_START);
}

static const uint8_t *xsdt(void)
{
	return table_at(rd(area + 24, 8));
}

static const uint8_t *xsdt_entry(unsigned int i)
{
	return table_at(rd(xsdt() + SDT_HEADER_LEN + 8 * i, 8));
}

static const uint8_t *fadt(void)
{
	return xsdt_entry(0);
}

static const uint8_t *madt(void)
{
	return xsdt_entry(1);
}

static const uint8_t *dsdt(void)
{
	return table_at(rd(fadt() + 140, 8));
}

/* Bytes from the area start to the end of the last table. */
static size_t tables_end(void)
{
	const uint8_t *t[] = {xsdt(), fadt(), madt(), dsdt()};
	size_t end = 36;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t e = (size_t)(t[i] - area) + rd(t[i] + 4, 4);

		end = e > end ? e : end;
	}
	return end;
}

static int contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++) {
		if (!memcmp(hay + i, needle, m))
			return 1;
	}
	return 0;
}

static void test_acpi_build_puts_rsdp_at_area_start(void **state)
{
	(void)state;
	build(1);

	assert_memory_equal(area, "RSD PTR ", 8);
	assert_int_equal(area[15], 2);	       /* revision */
	assert_int_equal(rd(area + 16, 4), 0); /* no RSDT */
	assert_int_equal(rd(area + 20, 4), 36);
	assert_memory_equal(area + 9, "MICROV", 6);
}

/* ACPI 6.5 §5.2.5.3: bytes 0..19 and all 36 bytes each sum to zero. */
static void test_acpi_rsdp_both_checksums_valid(void **state)
{
	(void)state;
	build(4);

	assert_int_equal(sum(area, 20), 0);
	assert_int_equal(sum(area, 36), 0);
}

static void assert_all_checksums(unsigned int cpus)
{
	const uint8_t *t[4];

	build(cpus);
	t[0] = xsdt();
	t[1] = fadt();
	t[2] = madt();
	t[3] = dsdt();

	for (size_t i = 0; i < 4; i++)
		assert_int_equal(sum(t[i], rd(t[i] + 4, 4)), 0);
}

static void test_acpi_every_table_checksum_is_zero(void **state)
{
	(void)state;
	assert_all_checksums(1);
	assert_all_checksums(4);
	assert_all_checksums(ACPI_MAX_CPUS);
}

static void test_acpi_headers_carry_ids_and_revisions(void **state)
{
	static const struct {
		const char *sig;
		uint8_t rev;
	} want[] = {{"XSDT", 1}, {"FACP", 6}, {"APIC", 6}, {"DSDT", 2}};
	const uint8_t *t[4];

	(void)state;
	build(2);
	t[0] = xsdt();
	t[1] = fadt();
	t[2] = madt();
	t[3] = dsdt();

	for (size_t i = 0; i < 4; i++) {
		assert_memory_equal(t[i], want[i].sig, 4);
		assert_int_equal(t[i][8], want[i].rev);
		assert_memory_equal(t[i] + 10, "MICROV", 6);
		assert_memory_equal(t[i] + 16, "MICROVMM", 8);
	}
}

static void test_acpi_xsdt_points_at_fadt_and_madt(void **state)
{
	const uint8_t *x;

	(void)state;
	build(4);
	x = xsdt();

	assert_memory_equal(x, "XSDT", 4);
	assert_int_equal(rd(x + 4, 4), SDT_HEADER_LEN + 2 * 8);
	assert_memory_equal(xsdt_entry(0), "FACP", 4);
	assert_memory_equal(xsdt_entry(1), "APIC", 4);
}

static void test_acpi_fadt_x_dsdt_points_at_dsdt(void **state)
{
	const uint8_t *f;

	(void)state;
	build(4);
	f = fadt();

	assert_int_equal(rd(f + 4, 4), 276);
	assert_memory_equal(dsdt(), "DSDT", 4);
	/* HW-reduced: no FACS, and only the 64-bit DSDT pointer is used. */
	assert_int_equal(rd(f + 36, 4), 0);
	assert_int_equal(rd(f + 40, 4), 0);
	assert_int_equal(rd(f + 132, 8), 0);
}

/* ACPI 6.5 §5.2.9 Table 5.10: HW_REDUCED_ACPI, RESET_REG_SUP, PWR_BUTTON, SLP_BUTTON. */
static void test_acpi_fadt_flags_are_hw_reduced_with_reset(void **state)
{
	(void)state;
	build(1);

	assert_int_equal(rd(fadt() + 112, 4), (1u << 20) | (1u << 10) | (1u << 5) | (1u << 4));
}

/* §5.2.9.3: VGA not present, ASPM controls, no CMOS RTC; never "MSI not supported". */
static void test_acpi_fadt_boot_arch_keeps_msi(void **state)
{
	uint64_t arch;

	(void)state;
	build(1);
	arch = rd(fadt() + 109, 2);

	assert_int_equal(arch, (1u << 2) | (1u << 4) | (1u << 5));
	assert_false(arch & (1u << 3));
}

/* Byte-wide System I/O GAS: space 1, width 8, offset 0, access 1 (§5.2.3.2). */
static void assert_io8_gas(const uint8_t *gas, uint64_t port)
{
	assert_int_equal(gas[0], 1);
	assert_int_equal(gas[1], 8);
	assert_int_equal(gas[2], 0);
	assert_int_equal(gas[3], 1);
	assert_int_equal(rd(gas + 4, 8), port);
}

static void test_acpi_fadt_reset_and_sleep_registers_are_byte_ports(void **state)
{
	const uint8_t *f;

	(void)state;
	build(1);
	f = fadt();

	assert_io8_gas(f + 116, LAYOUT_PORT_RESET);
	assert_int_equal(f[128], LAYOUT_RESET_VALUE);
	assert_io8_gas(f + 244, LAYOUT_PORT_SLEEP_CONTROL);
	assert_io8_gas(f + 256, LAYOUT_PORT_SLEEP_STATUS);
}

static void test_acpi_fadt_names_hypervisor(void **state)
{
	(void)state;
	build(1);

	assert_memory_equal(fadt() + 268, "MICROVMM", 8);
	assert_int_equal(fadt()[131], 5); /* FADT minor version: 6.5 */
}

/* One enabled type-0 entry per vCPU, UID = APIC ID = index (§5.2.12.2). */
static void assert_madt_lapics(unsigned int cpus)
{
	const uint8_t *m, *e;
	unsigned int n = 0;
	uint32_t len;

	build(cpus);
	m = madt();
	len = (uint32_t)rd(m + 4, 4);
	assert_int_equal(len, 66 + 8 * cpus);
	assert_int_equal(rd(m + 36, 4), LAYOUT_LAPIC);

	for (e = m + 44; e < m + len; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= m + len);
		if (e[0] != 0)
			continue;
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], n);
		assert_int_equal(e[3], n);
		assert_int_equal(rd(e + 4, 4), 1);
		n++;
	}
	assert_int_equal(n, cpus);
}

static void test_acpi_madt_has_one_lapic_for_1_cpu(void **state)
{
	(void)state;
	assert_madt_lapics(1);
}

static void test_acpi_madt_has_four_lapics_for_4_cpus(void **state)
{
	(void)state;
	assert_madt_lapics(4);
}

static void test_acpi_madt_has_254_lapics_for_254_cpus(void **state)
{
	(void)state;
	assert_madt_lapics(ACPI_MAX_CPUS);
}

/* I/O APIC id 0 at 0xFEC00000, GSI base 0 (§5.2.12.3); ISA IRQ 4 -> GSI 4, flags 0 (§5.2.12.5). */
static void test_acpi_madt_has_ioapic_and_com1_override(void **state)
{
	static const uint8_t ioapic[] = {1, 12, 0, 0, 0x00, 0x00, 0xc0, 0xfe, 0, 0, 0, 0};
	static const uint8_t iso[] = {2, 10, 0, 4, 4, 0, 0, 0, 0, 0};
	const uint8_t *m;

	(void)state;
	build(2);
	m = madt();

	assert_memory_equal(m + 44 + 2 * 8, ioapic, sizeof(ioapic));
	assert_memory_equal(m + 44 + 2 * 8 + 12, iso, sizeof(iso));
	assert_int_equal(rd(m + 40, 4), 0); /* no PCAT_COMPAT */
}

static void test_acpi_dsdt_matches_iasl_golden(void **state)
{
	const uint8_t *d;

	(void)state;
	build(1);
	d = dsdt();

	assert_int_equal(rd(d + 4, 4), SDT_HEADER_LEN + sizeof(dsdt_golden));
	assert_memory_equal(d + SDT_HEADER_LEN, dsdt_golden, sizeof(dsdt_golden));
}

static void test_acpi_dsdt_has_s5_and_device_ids(void **state)
{
	static const uint8_t s5[] = {0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x07,
				     0x04, 0x0a, 0x05, 0x00, 0x00, 0x00};
	static const uint8_t pnp0a03[] = {0x0c, 0x41, 0xd0, 0x0a, 0x03};
	static const uint8_t pnp0501[] = {0x0c, 0x41, 0xd0, 0x05, 0x01};
	static const uint8_t qemu0001[] = "\x0dQEMU0001";
	const uint8_t *d;
	size_t len;

	(void)state;
	build(1);
	d = dsdt();
	len = rd(d + 4, 4);

	assert_true(contains(d, len, s5, sizeof(s5)));
	assert_true(contains(d, len, pnp0a03, sizeof(pnp0a03)));
	assert_true(contains(d, len, pnp0501, sizeof(pnp0501)));
	assert_true(contains(d, len, qemu0001, sizeof(qemu0001)));
}

static void test_acpi_rejects_zero_cpus(void **state)
{
	struct acpi_config cfg = {.cpu_count = 0};
	uint64_t rsdp;

	(void)state;
	assert_int_equal(acpi_build(area, sizeof(area), LAYOUT_ACPI_START, &cfg, &rsdp), -EINVAL);
}

/* APIC ID 0xFF is "invalid" in a type-0 entry; 255 CPUs would need x2APIC entries. */
static void test_acpi_rejects_255_cpus(void **state)
{
	struct acpi_config cfg = {.cpu_count = ACPI_MAX_CPUS + 1};
	uint64_t rsdp;

	(void)state;
	assert_int_equal(acpi_build(area, sizeof(area), LAYOUT_ACPI_START, &cfg, &rsdp), -EINVAL);
}

static void test_acpi_rejects_null_arguments(void **state)
{
	struct acpi_config cfg = {.cpu_count = 1};
	uint64_t rsdp;

	(void)state;
	assert_int_equal(acpi_build(NULL, sizeof(area), 0, &cfg, &rsdp), -EINVAL);
	assert_int_equal(acpi_build(area, sizeof(area), 0, NULL, &rsdp), -EINVAL);
	assert_int_equal(acpi_build(area, sizeof(area), 0, &cfg, NULL), -EINVAL);
}

static void test_acpi_rejects_gpa_that_wraps(void **state)
{
	struct acpi_config cfg = {.cpu_count = 1};
	uint64_t rsdp;

	(void)state;
	assert_int_equal(acpi_build(area, sizeof(area), UINT64_MAX - 64, &cfg, &rsdp), -EINVAL);
}

/* Every size short of what the tables need fails without writing a byte (ASan checks bounds). */
static void test_acpi_too_small_area_returns_enospc(void **state)
{
	struct acpi_config cfg = {.cpu_count = 4};
	uint64_t rsdp;
	size_t need;

	(void)state;
	build(cfg.cpu_count);
	need = tables_end();

	for (size_t size = 0; size < need; size++) {
		uint8_t *small = malloc(size ? size : 1);

		assert_non_null(small);
		memset(small, 0x5a, size);
		assert_int_equal(acpi_build(small, size, LAYOUT_ACPI_START, &cfg, &rsdp), -ENOSPC);
		for (size_t i = 0; i < size; i++)
			assert_int_equal(small[i], 0x5a);
		free(small);
	}
}

static void test_acpi_exact_size_area_is_enough(void **state)
{
	struct acpi_config cfg = {.cpu_count = 4};
	uint64_t rsdp;
	uint8_t *exact;
	size_t need;

	(void)state;
	build(cfg.cpu_count);
	need = tables_end();
	exact = malloc(need);
	assert_non_null(exact);

	assert_int_equal(acpi_build(exact, need, LAYOUT_ACPI_START, &cfg, &rsdp), 0);
	assert_memory_equal(exact, area, need);
	free(exact);
}

/* 254 vCPUs still fit the 0xE0000..0xEFFFF ACPI window, with room to spare. */
static void test_acpi_fits_reserved_area_for_254_cpus(void **state)
{
	(void)state;
	build(ACPI_MAX_CPUS);

	assert_true(tables_end() <= AREA_SIZE);
	assert_true(tables_end() < 4096);
}

/* Pointers are guest-physical: they follow area_gpa, not the host address. */
static void test_acpi_pointers_follow_area_gpa(void **state)
{
	struct acpi_config cfg = {.cpu_count = 2};
	const uint64_t gpa = 0x9fc00;
	uint64_t rsdp = 0, x, f, m, d;

	(void)state;
	assert_int_equal(acpi_build(area, sizeof(area), gpa, &cfg, &rsdp), 0);
	x = rd(area + 24, 8);
	f = rd(area + (x - gpa) + 36, 8);
	m = rd(area + (x - gpa) + 44, 8);
	d = rd(area + (f - gpa) + 140, 8);

	assert_int_equal(rsdp, gpa);
	assert_memory_equal(area + (x - gpa), "XSDT", 4);
	assert_memory_equal(area + (f - gpa), "FACP", 4);
	assert_memory_equal(area + (m - gpa), "APIC", 4);
	assert_memory_equal(area + (d - gpa), "DSDT", 4);
	assert_int_equal((x | f | m | d) & 7, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acpi_build_puts_rsdp_at_area_start),
	    cmocka_unit_test(test_acpi_rsdp_both_checksums_valid),
	    cmocka_unit_test(test_acpi_every_table_checksum_is_zero),
	    cmocka_unit_test(test_acpi_headers_carry_ids_and_revisions),
	    cmocka_unit_test(test_acpi_xsdt_points_at_fadt_and_madt),
	    cmocka_unit_test(test_acpi_fadt_x_dsdt_points_at_dsdt),
	    cmocka_unit_test(test_acpi_fadt_flags_are_hw_reduced_with_reset),
	    cmocka_unit_test(test_acpi_fadt_boot_arch_keeps_msi),
	    cmocka_unit_test(test_acpi_fadt_reset_and_sleep_registers_are_byte_ports),
	    cmocka_unit_test(test_acpi_fadt_names_hypervisor),
	    cmocka_unit_test(test_acpi_madt_has_one_lapic_for_1_cpu),
	    cmocka_unit_test(test_acpi_madt_has_four_lapics_for_4_cpus),
	    cmocka_unit_test(test_acpi_madt_has_254_lapics_for_254_cpus),
	    cmocka_unit_test(test_acpi_madt_has_ioapic_and_com1_override),
	    cmocka_unit_test(test_acpi_dsdt_matches_iasl_golden),
	    cmocka_unit_test(test_acpi_dsdt_has_s5_and_device_ids),
	    cmocka_unit_test(test_acpi_rejects_zero_cpus),
	    cmocka_unit_test(test_acpi_rejects_255_cpus),
	    cmocka_unit_test(test_acpi_rejects_null_arguments),
	    cmocka_unit_test(test_acpi_rejects_gpa_that_wraps),
	    cmocka_unit_test(test_acpi_too_small_area_returns_enospc),
	    cmocka_unit_test(test_acpi_exact_size_area_is_enough),
	    cmocka_unit_test(test_acpi_fits_reserved_area_for_254_cpus),
	    cmocka_unit_test(test_acpi_pointers_follow_area_gpa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
