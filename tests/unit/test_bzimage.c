/* Unit tests for the bzImage setup-header parser (boot/bzimage.c) against boot.rst's layout. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/le.h"
#include "boot/bzimage.h"

/* Offsets in the image (Documentation/arch/x86/boot.rst, "The real-mode kernel header"). */
#define OFF_SETUP_SECTS	     0x1f1
#define OFF_BOOT_FLAG	     0x1fe
#define OFF_JUMP_END	     0x201
#define OFF_MAGIC	     0x202
#define OFF_VERSION	     0x206
#define OFF_LOADFLAGS	     0x211
#define OFF_INITRD_ADDR_MAX  0x22c
#define OFF_KERNEL_ALIGNMENT 0x230
#define OFF_XLOADFLAGS	     0x236
#define OFF_CMDLINE_SIZE     0x238
#define OFF_PREF_ADDRESS     0x258
#define OFF_INIT_SIZE	     0x260

#define TEST_SETUP_SECTS     27
#define TEST_PAYLOAD_OFFSET  ((TEST_SETUP_SECTS + 1) * 512ULL)
#define TEST_FILE_SIZE	     (TEST_PAYLOAD_OFFSET + 0x400000ULL)
#define TEST_INIT_SIZE	     0x2000000u
#define TEST_PREF_ADDRESS    0x1000000ULL
#define TEST_INITRD_ADDR_MAX 0x7fffffffu
#define TEST_CMDLINE_SIZE    2047u
/* A 2.15 kernel's header ends at 0x268 (boot.rst): jump byte 0x66. */
#define TEST_HEADER_END 0x268

/*
 * The synthetic bzImage the build assembles from tests/unit/bzimage_fixture.S (its path comes
 * from tests/CMakeLists.txt): 3 setup sectors, protocol 2.15, a 4 KiB payload.
 */
#ifndef BZIMAGE_FIXTURE
#error "BZIMAGE_FIXTURE (the path of the built fixture) is set by tests/CMakeLists.txt"
#endif
#define FIXTURE_PAYLOAD_OFFSET (4 * 512)
#define FIXTURE_PAYLOAD_SIZE   4096
#define FIXTURE_PAYLOAD_MARK   "microvmm bzimage fixture payload"

/* Fills `buf` (BZIMAGE_HEADER_BYTES) with the header of a valid 64-bit protocol 2.15 kernel. */
static void build_header(uint8_t *buf)
{
	memset(buf, 0, BZIMAGE_HEADER_BYTES);
	buf[OFF_SETUP_SECTS] = TEST_SETUP_SECTS;
	le_put16(buf + OFF_BOOT_FLAG, 0xaa55);
	buf[0x200] = 0xeb; /* jmp short */
	buf[OFF_JUMP_END] = TEST_HEADER_END - 0x202;
	memcpy(buf + OFF_MAGIC, "HdrS", 4);
	le_put16(buf + OFF_VERSION, 0x020f);
	buf[OFF_LOADFLAGS] = 0x01; /* LOADED_HIGH */
	le_put32(buf + OFF_INITRD_ADDR_MAX, TEST_INITRD_ADDR_MAX);
	le_put32(buf + OFF_KERNEL_ALIGNMENT, 0x200000);
	le_put16(buf + OFF_XLOADFLAGS, 0x0001); /* XLF_KERNEL_64 */
	le_put32(buf + OFF_CMDLINE_SIZE, TEST_CMDLINE_SIZE);
	le_put64(buf + OFF_PREF_ADDRESS, TEST_PREF_ADDRESS);
	le_put32(buf + OFF_INIT_SIZE, TEST_INIT_SIZE);
}

static int parse(const uint8_t *buf, struct bzimage *out)
{
	return bzimage_parse(buf, BZIMAGE_HEADER_BYTES, TEST_FILE_SIZE, out);
}

static void test_bzimage_accepts_valid_header(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);

	int ret = parse(buf, &img);

	assert_int_equal(ret, 0);
	assert_int_equal(img.protocol, 0x020f);
	assert_int_equal(img.payload_offset, TEST_PAYLOAD_OFFSET);
	assert_int_equal(img.payload_size, TEST_FILE_SIZE - TEST_PAYLOAD_OFFSET);
	assert_int_equal(img.init_size, TEST_INIT_SIZE);
	assert_int_equal(img.kernel_alignment, 0x200000);
	assert_int_equal(img.pref_address, TEST_PREF_ADDRESS);
	assert_int_equal(img.cmdline_max, TEST_CMDLINE_SIZE);
	assert_int_equal(img.initrd_addr_max, TEST_INITRD_ADDR_MAX);
	assert_int_equal(img.xloadflags & 0x1, 0x1);
	assert_int_equal(img.header_end, TEST_HEADER_END);
}

static void test_bzimage_setup_sects_zero_means_four(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	buf[OFF_SETUP_SECTS] = 0;

	int ret = parse(buf, &img);

	assert_int_equal(ret, 0);
	assert_int_equal(img.payload_offset, 5 * 512);
	assert_int_equal(img.payload_size, TEST_FILE_SIZE - 5 * 512);
}

static void test_bzimage_rejects_truncated_header(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);

	int ret = bzimage_parse(buf, BZIMAGE_HEADER_BYTES - 1, TEST_FILE_SIZE, &img);

	assert_int_equal(ret, -ENOEXEC);
}

static void test_bzimage_rejects_file_without_payload(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);

	/* The file ends exactly where the payload would start, then one sector earlier. */
	assert_int_equal(bzimage_parse(buf, sizeof(buf), TEST_PAYLOAD_OFFSET, &img), -ENOEXEC);
	assert_int_equal(bzimage_parse(buf, sizeof(buf), TEST_PAYLOAD_OFFSET - 512, &img),
			 -ENOEXEC);
}

static void test_bzimage_accepts_one_byte_payload(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);

	int ret = bzimage_parse(buf, sizeof(buf), TEST_PAYLOAD_OFFSET + 1, &img);

	assert_int_equal(ret, 0);
	assert_int_equal(img.payload_size, 1);
}

static void test_bzimage_rejects_missing_hdrs_magic(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	memcpy(buf + OFF_MAGIC, "HdrZ", 4);

	assert_int_equal(parse(buf, &img), -ENOEXEC);
}

static void test_bzimage_rejects_missing_boot_flag(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put16(buf + OFF_BOOT_FLAG, 0x55aa); /* byte-swapped */

	assert_int_equal(parse(buf, &img), -ENOEXEC);
}

static void test_bzimage_rejects_protocol_2_11(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put16(buf + OFF_VERSION, 0x020b);

	assert_int_equal(parse(buf, &img), -EPROTONOSUPPORT);
}

static void test_bzimage_accepts_protocol_2_12(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put16(buf + OFF_VERSION, BZIMAGE_MIN_PROTOCOL);

	assert_int_equal(parse(buf, &img), 0);
	assert_int_equal(img.protocol, 0x020c);
}

static void test_bzimage_rejects_kernel_without_64bit_entry(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put16(buf + OFF_XLOADFLAGS, 0x0002); /* XLF_CAN_BE_LOADED_ABOVE_4G only */

	assert_int_equal(parse(buf, &img), -EPROTONOSUPPORT);
}

static void test_bzimage_rejects_zimage_without_loaded_high(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	buf[OFF_LOADFLAGS] = 0x80; /* CAN_USE_HEAP but not LOADED_HIGH */

	assert_int_equal(parse(buf, &img), -EPROTONOSUPPORT);
}

static void test_bzimage_rejects_zero_kernel_alignment(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put32(buf + OFF_KERNEL_ALIGNMENT, 0);

	assert_int_equal(parse(buf, &img), -ENOEXEC);
}

static void test_bzimage_rejects_non_power_of_two_alignment(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put32(buf + OFF_KERNEL_ALIGNMENT, 0x300000);

	assert_int_equal(parse(buf, &img), -ENOEXEC);
}

static void test_bzimage_rejects_zero_init_size(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put32(buf + OFF_INIT_SIZE, 0);

	assert_int_equal(parse(buf, &img), -ENOEXEC);
}

static void test_bzimage_caps_header_end_at_0x290(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	buf[OFF_JUMP_END] = 0xff; /* claims a header ending at 0x301 */

	int ret = parse(buf, &img);

	assert_int_equal(ret, 0);
	assert_int_equal(img.header_end, BZIMAGE_SETUP_HEADER_MAX_END);
}

static void test_bzimage_rejects_header_ending_before_init_size(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	buf[OFF_JUMP_END] = 0x260 - 0x202; /* header stops before init_size */

	assert_int_equal(parse(buf, &img), -ENOEXEC);
}

static void test_bzimage_pref_address_zero_defaults_to_1m(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put64(buf + OFF_PREF_ADDRESS, 0);

	int ret = parse(buf, &img);

	assert_int_equal(ret, 0);
	assert_int_equal(img.pref_address, 0x100000);
}

static void test_bzimage_reads_64bit_pref_address(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	struct bzimage img;

	(void)state;
	build_header(buf);
	le_put64(buf + OFF_PREF_ADDRESS, 0x123456789000ULL);

	assert_int_equal(parse(buf, &img), 0);
	assert_int_equal(img.pref_address, 0x123456789000ULL);
}

static void test_bzimage_rejects_random_bytes(void **state)
{
	uint8_t buf[4096];
	struct bzimage img;
	uint32_t x = 0x12345678;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		/* xorshift32: fixed seed, so the test is reproducible. */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}

	assert_int_equal(bzimage_parse(buf, sizeof(buf), sizeof(buf), &img), -ENOEXEC);
}

static void test_bzimage_rejects_elf_header(void **state)
{
	static const uint8_t elf_ident[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
	uint8_t buf[4096] = {0};
	struct bzimage img;

	(void)state;
	memcpy(buf, elf_ident, sizeof(elf_ident));
	le_put16(buf + 16, 2);	  /* e_type ET_EXEC */
	le_put16(buf + 18, 0x3e); /* e_machine EM_X86_64 */

	assert_int_equal(bzimage_parse(buf, sizeof(buf), 0x1000000, &img), -ENOEXEC);
}

static void test_bzimage_rejects_empty_file(void **state)
{
	uint8_t buf[1] = {0};
	struct bzimage img;

	(void)state;

	assert_int_equal(bzimage_parse(buf, 0, 0, &img), -ENOEXEC);
}

/* Reads the file as the loader does (vmm/loader.c): the header, the size, the payload. */
static void test_bzimage_parses_fixture_file(void **state)
{
	uint8_t buf[BZIMAGE_HEADER_BYTES];
	char mark[sizeof(FIXTURE_PAYLOAD_MARK) - 1];
	struct bzimage img;
	struct stat st;
	int fd;

	(void)state;
	fd = open(BZIMAGE_FIXTURE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s: %s (the build makes it: target bzimage_fixture)",
			 BZIMAGE_FIXTURE, strerror(errno));
	if (fstat(fd, &st) || pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		close(fd);
		fail_msg("cannot read %s", BZIMAGE_FIXTURE);
	}

	int ret = bzimage_parse(buf, sizeof(buf), (uint64_t)st.st_size, &img);

	assert_int_equal(ret, 0);
	assert_int_equal(st.st_size, FIXTURE_PAYLOAD_OFFSET + FIXTURE_PAYLOAD_SIZE);
	assert_int_equal(img.protocol, 0x020f);
	assert_int_equal(img.payload_offset, FIXTURE_PAYLOAD_OFFSET);
	assert_int_equal(img.payload_size, FIXTURE_PAYLOAD_SIZE);
	assert_int_equal(img.init_size, 0x2000000);
	assert_int_equal(img.kernel_alignment, 0x200000);
	assert_int_equal(img.pref_address, 0x1000000);
	assert_int_equal(img.cmdline_max, 2047);
	assert_int_equal(img.initrd_addr_max, 0x7fffffff);
	assert_int_equal(img.xloadflags, 0x0003);
	assert_int_equal(img.header_end, 0x26c); /* after kernel_info_offset (2.15) */
	/* The payload starts where the parser says. */
	assert_int_equal(pread(fd, mark, sizeof(mark), (off_t)img.payload_offset), sizeof(mark));
	assert_memory_equal(mark, FIXTURE_PAYLOAD_MARK, sizeof(mark));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bzimage_accepts_valid_header),
	    cmocka_unit_test(test_bzimage_setup_sects_zero_means_four),
	    cmocka_unit_test(test_bzimage_rejects_truncated_header),
	    cmocka_unit_test(test_bzimage_rejects_file_without_payload),
	    cmocka_unit_test(test_bzimage_accepts_one_byte_payload),
	    cmocka_unit_test(test_bzimage_rejects_missing_hdrs_magic),
	    cmocka_unit_test(test_bzimage_rejects_missing_boot_flag),
	    cmocka_unit_test(test_bzimage_rejects_protocol_2_11),
	    cmocka_unit_test(test_bzimage_accepts_protocol_2_12),
	    cmocka_unit_test(test_bzimage_rejects_kernel_without_64bit_entry),
	    cmocka_unit_test(test_bzimage_rejects_zimage_without_loaded_high),
	    cmocka_unit_test(test_bzimage_rejects_zero_kernel_alignment),
	    cmocka_unit_test(test_bzimage_rejects_non_power_of_two_alignment),
	    cmocka_unit_test(test_bzimage_rejects_zero_init_size),
	    cmocka_unit_test(test_bzimage_caps_header_end_at_0x290),
	    cmocka_unit_test(test_bzimage_rejects_header_ending_before_init_size),
	    cmocka_unit_test(test_bzimage_pref_address_zero_defaults_to_1m),
	    cmocka_unit_test(test_bzimage_reads_64bit_pref_address),
	    cmocka_unit_test(test_bzimage_rejects_random_bytes),
	    cmocka_unit_test(test_bzimage_rejects_elf_header),
	    cmocka_unit_test(test_bzimage_rejects_empty_file),
	    cmocka_unit_test(test_bzimage_parses_fixture_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
