/* Unit tests for the AML encoder (boot/aml.c); golden bytes come from iasl 20200925. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/aml.h"

/* Asserts that `buf` holds no error and exactly the `n` bytes at `want`. */
static void assert_aml(const struct aml_buf *buf, const uint8_t *want, size_t n)
{
	assert_int_equal(aml_error(buf), 0);
	assert_int_equal(buf->len, n);
	assert_memory_equal(buf->data, want, n);
}

#define ASSERT_AML(buf, ...)                                                                       \
	do {                                                                                       \
		static const uint8_t want_[] = {__VA_ARGS__};                                      \
		assert_aml((buf), want_, sizeof(want_));                                           \
	} while (0)

static void assert_pkglength(uint32_t value, const uint8_t *want, int n)
{
	uint8_t out[4] = {0};

	assert_int_equal(aml_pkglength_encode(value, out), n);
	assert_memory_equal(out, want, (size_t)n);
}

/* ACPI 6.5 §20.2.4: values up to 63 fit the lead byte alone. */
static void test_aml_pkglength_one_byte_max_63(void **state)
{
	(void)state;
	assert_pkglength(0, (const uint8_t[]){0x00}, 1);
	assert_pkglength(63, (const uint8_t[]){0x3f}, 1);
}

static void test_aml_pkglength_two_bytes_from_64(void **state)
{
	(void)state;
	assert_pkglength(64, (const uint8_t[]){0x40, 0x04}, 2);
}

static void test_aml_pkglength_two_bytes_max_4095(void **state)
{
	(void)state;
	assert_pkglength(4095, (const uint8_t[]){0x4f, 0xff}, 2);
}

static void test_aml_pkglength_three_bytes_from_4096(void **state)
{
	(void)state;
	assert_pkglength(4096, (const uint8_t[]){0x80, 0x00, 0x01}, 3);
	assert_pkglength((1u << 20) - 1, (const uint8_t[]){0x8f, 0xff, 0xff}, 3);
}

static void test_aml_pkglength_four_bytes_from_2pow20(void **state)
{
	(void)state;
	assert_pkglength(1u << 20, (const uint8_t[]){0xc0, 0x00, 0x00, 0x01}, 4);
	assert_pkglength(AML_PKGLEN_MAX, (const uint8_t[]){0xcf, 0xff, 0xff, 0xff}, 4);
}

static void test_aml_pkglength_rejects_over_28_bits(void **state)
{
	uint8_t out[4];

	(void)state;
	assert_int_equal(aml_pkglength_encode(AML_PKGLEN_MAX + 1, out), -E2BIG);
}

/* Emits `body` bytes 0, 1, 2, ... after a mark, closes it, checks the prefix and the move. */
static void assert_end_prefix(size_t body, const uint8_t *want, size_t n)
{
	struct aml_buf buf;

	aml_init(&buf);
	for (size_t i = 0; i < body; i++)
		aml_byte(&buf, (uint8_t)i);
	aml_end(&buf, 0);

	assert_int_equal(aml_error(&buf), 0);
	assert_int_equal(buf.len, body + n);
	assert_memory_equal(buf.data, want, n);
	for (size_t i = 0; i < body; i++)
		assert_int_equal(buf.data[n + i], (uint8_t)i);
	aml_free(&buf);
}

/* 62 body bytes + 1 = 63: the last one-byte length. */
static void test_aml_end_one_byte_for_body_62(void **state)
{
	(void)state;
	assert_end_prefix(62, (const uint8_t[]){0x3f}, 1);
}

/* 63 body bytes would make 64 with one byte: two bytes, value 65. */
static void test_aml_end_two_bytes_for_body_63(void **state)
{
	(void)state;
	assert_end_prefix(63, (const uint8_t[]){0x41, 0x04}, 2);
}

/* 4093 + 2 = 4095: the last two-byte length. */
static void test_aml_end_two_bytes_for_body_4093(void **state)
{
	(void)state;
	assert_end_prefix(4093, (const uint8_t[]){0x4f, 0xff}, 2);
}

/* 4094 + 2 = 4096 does not fit two bytes: three bytes, value 4097. */
static void test_aml_end_three_bytes_for_body_4094(void **state)
{
	(void)state;
	assert_end_prefix(4094, (const uint8_t[]){0x81, 0x00, 0x01}, 3);
}

/* (2^20 - 4) + 3 = 2^20 - 1 still fits three bytes; one more needs four. */
static void test_aml_end_four_bytes_for_body_2pow20_minus_3(void **state)
{
	(void)state;
	assert_end_prefix((1u << 20) - 4, (const uint8_t[]){0x8f, 0xff, 0xff}, 3);
	assert_end_prefix((1u << 20) - 3, (const uint8_t[]){0xc1, 0x00, 0x00, 0x01}, 4);
}

static void test_aml_end_rejects_mark_past_end(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_byte(&buf, 0x10);

	aml_end(&buf, 2);

	assert_int_equal(aml_error(&buf), -EINVAL);
	aml_free(&buf);
}

static void test_aml_namestring_pads_single_segment(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_namestring(&buf, "_S5");
	ASSERT_AML(&buf, 0x5f, 0x53, 0x35, 0x5f);
	aml_free(&buf);
}

static void test_aml_namestring_root_prefix(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_namestring(&buf, "\\_SB");
	ASSERT_AML(&buf, 0x5c, 0x5f, 0x53, 0x42, 0x5f);
	aml_free(&buf);
}

static void test_aml_namestring_dual_name_prefix(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_namestring(&buf, "\\_SB.PCI0");
	ASSERT_AML(&buf, 0x5c, 0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x50, 0x43, 0x49, 0x30);
	aml_free(&buf);
}

/* iasl: Name(\_SB.PCI0.ABCD, ...) -> 5C 2F 03 _SB_ PCI0 ABCD. */
static void test_aml_namestring_multi_name_prefix(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_namestring(&buf, "\\_SB.PCI0.ABCD");
	ASSERT_AML(&buf, 0x5c, 0x2f, 0x03, 0x5f, 0x53, 0x42, 0x5f, 0x50, 0x43, 0x49, 0x30, 0x41,
		   0x42, 0x43, 0x44);
	aml_free(&buf);
}

static void test_aml_namestring_root_alone_is_null_name(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_namestring(&buf, "\\");
	ASSERT_AML(&buf, 0x5c, 0x00);
	aml_free(&buf);
}

static void test_aml_namestring_parent_prefixes(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_namestring(&buf, "^^FOO");
	ASSERT_AML(&buf, 0x5e, 0x5e, 0x46, 0x4f, 0x4f, 0x5f);
	aml_free(&buf);
}

static void test_aml_namestring_rejects_malformed(void **state)
{
	static const char *const bad[] = {
	    "", "_sb", "1ABC", "ABCDE", "_SB.", "_SB..PCI0", ".PCI0", "\\\\_SB", "AB-C",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml_buf buf;

		aml_init(&buf);
		aml_namestring(&buf, bad[i]);
		assert_int_equal(aml_error(&buf), -EINVAL);
		aml_free(&buf);
	}
}

/* ACPI 6.5 §20.2.3: the shortest of Zero, One, Byte, Word, DWord, QWord. */
static void test_aml_integer_uses_shortest_encoding(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_integer(&buf, 0);
	aml_integer(&buf, 1);
	aml_integer(&buf, 2);
	aml_integer(&buf, 0xff);
	aml_integer(&buf, 0x100);
	aml_integer(&buf, 0xffff);
	aml_integer(&buf, 0x10000);
	aml_integer(&buf, 0xffffffff);
	aml_integer(&buf, 0x123456789abcdef0);
	ASSERT_AML(&buf, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0b, 0xff, 0xff,
		   0x0c, 0x00, 0x00, 0x01, 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x0e, 0xf0, 0xde,
		   0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12);
	aml_free(&buf);
}

static void test_aml_name_qword_golden(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_name(&buf, "QW");
	aml_integer(&buf, 0x123456789abcdef0);
	ASSERT_AML(&buf, 0x08, 0x51, 0x57, 0x5f, 0x5f, 0x0e, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56,
		   0x34, 0x12);
	aml_free(&buf);
}

static void test_aml_string_golden(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_string(&buf, "QEMU0001");
	ASSERT_AML(&buf, 0x0d, 0x51, 0x45, 0x4d, 0x55, 0x30, 0x30, 0x30, 0x31, 0x00);
	aml_free(&buf);
}

static void test_aml_string_rejects_non_ascii(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_string(&buf, "caf\xc3\xa9");
	assert_int_equal(aml_error(&buf), -EINVAL);
	aml_free(&buf);
}

static void test_aml_eisaid_pnp0501_golden(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_eisaid(&buf, "PNP0501");
	ASSERT_AML(&buf, 0x0c, 0x41, 0xd0, 0x05, 0x01);
	aml_free(&buf);
}

static void test_aml_eisaid_pnp0a03_golden(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_eisaid(&buf, "PNP0A03");
	ASSERT_AML(&buf, 0x0c, 0x41, 0xd0, 0x0a, 0x03);
	aml_free(&buf);
}

static void test_aml_eisaid_rejects_malformed(void **state)
{
	static const char *const bad[] = {"PNP050", "PNP05011", "pnp0501", "PNP05G1", "P1P0501"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml_buf buf;

		aml_init(&buf);
		aml_eisaid(&buf, bad[i]);
		assert_int_equal(aml_error(&buf), -EINVAL);
		aml_free(&buf);
	}
}

/* acpi-notes §6: Name(_S5, Package(1){5}). */
static void test_aml_name_s5_package_golden(void **state)
{
	struct aml_buf buf;
	size_t pkg;

	(void)state;
	aml_init(&buf);
	aml_name(&buf, "_S5");
	pkg = aml_package_begin(&buf, 1);
	aml_integer(&buf, 5);
	aml_end(&buf, pkg);
	ASSERT_AML(&buf, 0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x04, 0x01, 0x0a, 0x05);
	aml_free(&buf);
}

static void test_aml_package_rejects_256_elements(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	(void)aml_package_begin(&buf, 256);
	assert_int_equal(aml_error(&buf), -EINVAL);
	aml_free(&buf);
}

/* iasl: Scope(\_SB) { Device(PCI0) {} }. */
static void test_aml_scope_device_golden(void **state)
{
	struct aml_buf buf;
	size_t scope, dev;

	(void)state;
	aml_init(&buf);
	scope = aml_scope_begin(&buf, "\\_SB");
	dev = aml_device_begin(&buf, "PCI0");
	aml_end(&buf, dev);
	aml_end(&buf, scope);
	ASSERT_AML(&buf, 0x10, 0x0d, 0x5c, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x05, 0x50, 0x43,
		   0x49, 0x30);
	aml_free(&buf);
}

static void test_aml_buffer_golden(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_buffer(&buf, (const uint8_t[]){1, 2, 3}, 3);
	ASSERT_AML(&buf, 0x11, 0x06, 0x0a, 0x03, 0x01, 0x02, 0x03);
	aml_free(&buf);
}

/* acpi-notes §6 (Firecracker's vector): COM1 _CRS, interrupt first, 28 bytes. */
static void test_aml_com1_crs_golden(void **state)
{
	struct aml_buf buf, res;

	(void)state;
	aml_init(&buf);
	aml_init(&res);
	aml_res_ext_irq(&res, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 4);
	aml_res_io(&res, 0x3f8, 0x3f8, 0, 8);
	aml_name(&buf, "_CRS");
	aml_resource_template(&buf, &res);
	ASSERT_AML(&buf, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x16, 0x0a, 0x13, 0x89, 0x06, 0x00,
		   0x03, 0x01, 0x04, 0x00, 0x00, 0x00, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00,
		   0x08, 0x79, 0x00);
	aml_free(&res);
	aml_free(&buf);
}

static void test_aml_res_word_bus_golden(void **state)
{
	struct aml_buf res;

	(void)state;
	aml_init(&res);
	aml_res_word_bus(&res, 0, 0);
	ASSERT_AML(&res, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		   0x00, 0x00, 0x01, 0x00);
	aml_free(&res);
}

static void test_aml_res_word_io_golden(void **state)
{
	struct aml_buf res;

	(void)state;
	aml_init(&res);
	aml_res_word_io(&res, 0x0d00, 0xffff);
	ASSERT_AML(&res, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff,
		   0x00, 0x00, 0x00, 0xf3);
	aml_free(&res);
}

static void test_aml_res_dword_memory_golden(void **state)
{
	struct aml_buf res;

	(void)state;
	aml_init(&res);
	aml_res_dword_memory(&res, AML_MEM_NON_CACHEABLE, 1, 0xc0000000, 0xdfffffff);
	ASSERT_AML(&res, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		   0x00, 0xc0, 0xff, 0xff, 0xff, 0xdf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		   0x20);
	aml_free(&res);
}

/* iasl: QWordMemory(..., Prefetchable, ReadWrite, 0, 4G, 8G-1, 0, 4G). */
static void test_aml_res_qword_memory_golden(void **state)
{
	struct aml_buf res;

	(void)state;
	aml_init(&res);
	aml_res_qword_memory(&res, AML_MEM_PREFETCHABLE, 1, 0x100000000, 0x1ffffffff);
	ASSERT_AML(&res, 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
		   0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		   0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
	aml_free(&res);
}

/* _LEN = 0x10000 does not fit a Word descriptor; a reversed range is meaningless. */
static void test_aml_res_rejects_unrepresentable_ranges(void **state)
{
	struct aml_buf a, b, c;

	(void)state;
	aml_init(&a);
	aml_init(&b);
	aml_init(&c);

	aml_res_word_io(&a, 0x0000, 0xffff);
	aml_res_dword_memory(&b, AML_MEM_CACHEABLE, 1, 0x2000, 0x1000);
	aml_res_io(&c, 0x3f8, 0x3f7, 1, 8);

	assert_int_equal(aml_error(&a), -EINVAL);
	assert_int_equal(aml_error(&b), -EINVAL);
	assert_int_equal(aml_error(&c), -EINVAL);
	aml_free(&a);
	aml_free(&b);
	aml_free(&c);
}

static void test_aml_error_is_sticky(void **state)
{
	struct aml_buf buf;
	size_t len;

	(void)state;
	aml_init(&buf);
	aml_name(&buf, "bad");
	len = buf.len;

	aml_integer(&buf, 5);
	aml_string(&buf, "ok");
	aml_eisaid(&buf, "PNP0501");

	assert_int_equal(aml_error(&buf), -EINVAL);
	assert_int_equal(buf.len, len);
	aml_free(&buf);
}

static void test_aml_resource_template_propagates_res_error(void **state)
{
	struct aml_buf buf, res;

	(void)state;
	aml_init(&buf);
	aml_init(&res);
	aml_res_word_io(&res, 0, 0xffff);

	aml_resource_template(&buf, &res);

	assert_int_equal(aml_error(&buf), -EINVAL);
	aml_free(&res);
	aml_free(&buf);
}

static void test_aml_free_is_idempotent(void **state)
{
	struct aml_buf buf;

	(void)state;
	aml_init(&buf);
	aml_byte(&buf, 1);

	aml_free(&buf);
	aml_free(&buf);

	assert_null(buf.data);
	assert_int_equal(buf.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aml_pkglength_one_byte_max_63),
	    cmocka_unit_test(test_aml_pkglength_two_bytes_from_64),
	    cmocka_unit_test(test_aml_pkglength_two_bytes_max_4095),
	    cmocka_unit_test(test_aml_pkglength_three_bytes_from_4096),
	    cmocka_unit_test(test_aml_pkglength_four_bytes_from_2pow20),
	    cmocka_unit_test(test_aml_pkglength_rejects_over_28_bits),
	    cmocka_unit_test(test_aml_end_one_byte_for_body_62),
	    cmocka_unit_test(test_aml_end_two_bytes_for_body_63),
	    cmocka_unit_test(test_aml_end_two_bytes_for_body_4093),
	    cmocka_unit_test(test_aml_end_three_bytes_for_body_4094),
	    cmocka_unit_test(test_aml_end_four_bytes_for_body_2pow20_minus_3),
	    cmocka_unit_test(test_aml_end_rejects_mark_past_end),
	    cmocka_unit_test(test_aml_namestring_pads_single_segment),
	    cmocka_unit_test(test_aml_namestring_root_prefix),
	    cmocka_unit_test(test_aml_namestring_dual_name_prefix),
	    cmocka_unit_test(test_aml_namestring_multi_name_prefix),
	    cmocka_unit_test(test_aml_namestring_root_alone_is_null_name),
	    cmocka_unit_test(test_aml_namestring_parent_prefixes),
	    cmocka_unit_test(test_aml_namestring_rejects_malformed),
	    cmocka_unit_test(test_aml_integer_uses_shortest_encoding),
	    cmocka_unit_test(test_aml_name_qword_golden),
	    cmocka_unit_test(test_aml_string_golden),
	    cmocka_unit_test(test_aml_string_rejects_non_ascii),
	    cmocka_unit_test(test_aml_eisaid_pnp0501_golden),
	    cmocka_unit_test(test_aml_eisaid_pnp0a03_golden),
	    cmocka_unit_test(test_aml_eisaid_rejects_malformed),
	    cmocka_unit_test(test_aml_name_s5_package_golden),
	    cmocka_unit_test(test_aml_package_rejects_256_elements),
	    cmocka_unit_test(test_aml_scope_device_golden),
	    cmocka_unit_test(test_aml_buffer_golden),
	    cmocka_unit_test(test_aml_com1_crs_golden),
	    cmocka_unit_test(test_aml_res_word_bus_golden),
	    cmocka_unit_test(test_aml_res_word_io_golden),
	    cmocka_unit_test(test_aml_res_dword_memory_golden),
	    cmocka_unit_test(test_aml_res_qword_memory_golden),
	    cmocka_unit_test(test_aml_res_rejects_unrepresentable_ranges),
	    cmocka_unit_test(test_aml_error_is_sticky),
	    cmocka_unit_test(test_aml_resource_template_propagates_res_error),
	    cmocka_unit_test(test_aml_free_is_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
