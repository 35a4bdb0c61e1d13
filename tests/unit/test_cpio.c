/* Unit tests for the newc cpio writer (boot/cpio.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/cpio.h"

#include "newc_archive.h"

/* ---- cpio ---- */

static void test_cpio_empty_archive_is_only_the_trailer(void **state)
{
	struct cpio c;
	struct archive ar;

	(void)state;
	cpio_init(&c);

	assert_int_equal(cpio_finish(&c), 0);

	parse_archive(c.buf.data, c.buf.len, &ar);
	assert_int_equal(ar.count, 1);
	assert_string_equal(ar.e[0].name, "TRAILER!!!");
	assert_int_equal(ar.e[0].namesize, 11);
	assert_int_equal(ar.e[0].filesize, 0);
	assert_int_equal(c.buf.len, align4(NEWC_HEADER + 11));
	cpio_free(&c);
	cpio_free(&c); /* idempotent */
}

static void test_cpio_dir_and_file_headers(void **state)
{
	struct cpio c;
	struct archive ar;
	static const char body[] = "0123456789";

	(void)state;
	cpio_init(&c);
	cpio_add_dir(&c, "microvmm", 0755);
	cpio_add_file(&c, "microvmm/run", 0600, body, 10);

	assert_int_equal(cpio_finish(&c), 0);

	parse_archive(c.buf.data, c.buf.len, &ar);
	assert_int_equal(ar.count, 3);
	assert_string_equal(ar.e[0].name, "microvmm");
	assert_int_equal(ar.e[0].mode, 040755);
	assert_int_equal(ar.e[0].nlink, 2);
	assert_int_equal(ar.e[0].filesize, 0);
	assert_string_equal(ar.e[1].name, "microvmm/run");
	assert_int_equal(ar.e[1].mode, 0100600);
	assert_int_equal(ar.e[1].nlink, 1);
	assert_int_equal(ar.e[1].filesize, 10);
	assert_memory_equal(ar.e[1].data, body, 10);
	assert_string_equal(ar.e[2].name, "TRAILER!!!");
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(ar.e[i].uid, 0);
		assert_int_equal(ar.e[i].gid, 0);
		assert_int_equal(ar.e[i].check, 0);
		assert_int_equal(ar.e[i].devmajor | ar.e[i].devminor, 0);
		assert_int_equal(ar.e[i].rdevmajor | ar.e[i].rdevminor, 0);
	}
	/* Distinct inodes, or the kernel would hard-link the entries together. */
	assert_int_not_equal(ar.e[0].ino, ar.e[1].ino);
	assert_int_not_equal(ar.e[0].ino, 0);
	cpio_free(&c);
}

static void test_cpio_pads_every_name_and_data_length(void **state)
{
	char name[16];
	uint8_t body[8] = "abcdefg";
	struct archive ar;

	(void)state;
	for (unsigned int name_len = 1; name_len <= 9; name_len++) {
		for (unsigned int data_len = 0; data_len <= 7; data_len++) {
			struct cpio c;

			memset(name, 'n', name_len);
			name[name_len] = 0;
			cpio_init(&c);
			cpio_add_file(&c, name, 0644, body, data_len);
			cpio_add_dir(&c, "d", 0700);
			assert_int_equal(cpio_finish(&c), 0);

			parse_archive(c.buf.data, c.buf.len, &ar);
			assert_int_equal(ar.count, 3);
			assert_string_equal(ar.e[0].name, name);
			assert_int_equal(ar.e[0].filesize, data_len);
			assert_memory_equal(ar.e[0].data, body, data_len);
			assert_int_equal(ar.e[1].mode, 040700);
			cpio_free(&c);
		}
	}
}

static void test_cpio_keeps_only_permission_bits_of_mode(void **state)
{
	struct cpio c;
	struct archive ar;

	(void)state;
	cpio_init(&c);
	cpio_add_file(&c, "f", 0170777, "x", 1);
	cpio_add_dir(&c, "d", 0107755);
	assert_int_equal(cpio_finish(&c), 0);

	parse_archive(c.buf.data, c.buf.len, &ar);
	assert_int_equal(ar.e[0].mode, 0100777);
	assert_int_equal(ar.e[1].mode, 047755);
	cpio_free(&c);
}

static void test_cpio_large_file_grows_buffer(void **state)
{
	size_t len = 3 * 4096 + 5;
	uint8_t *body = malloc(len);
	struct cpio c;
	struct archive ar;

	(void)state;
	assert_non_null(body);
	for (size_t i = 0; i < len; i++)
		body[i] = (uint8_t)(i * 7);
	cpio_init(&c);
	cpio_add_file(&c, "big", 0600, body, len);
	assert_int_equal(cpio_finish(&c), 0);

	parse_archive(c.buf.data, c.buf.len, &ar);
	assert_int_equal(ar.e[0].filesize, len);
	assert_memory_equal(ar.e[0].data, body, len);
	cpio_free(&c);
	free(body);
}

static void test_cpio_overlong_name_is_a_sticky_error(void **state)
{
	size_t n = 5000;
	char *name = malloc(n + 1);
	struct cpio c;

	(void)state;
	assert_non_null(name);
	memset(name, 'a', n);
	name[n] = 0;
	cpio_init(&c);

	cpio_add_file(&c, name, 0600, "x", 1);
	cpio_add_file(&c, "fine", 0600, "x", 1);

	assert_int_equal(cpio_finish(&c), -EINVAL);
	assert_int_equal(c.buf.error, -EINVAL);
	cpio_free(&c);
	free(name);
}

static void test_cpio_oversized_file_is_rejected(void **state)
{
	struct cpio c;
	static const uint8_t one = 1;

	(void)state;
	cpio_init(&c);

	/* The size is checked before the data is read, so a short buffer is safe here. */
	cpio_add_file(&c, "huge", 0600, &one, (64u << 20) + 1);

	assert_int_equal(cpio_finish(&c), -EINVAL);
	cpio_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpio_empty_archive_is_only_the_trailer),
	    cmocka_unit_test(test_cpio_dir_and_file_headers),
	    cmocka_unit_test(test_cpio_pads_every_name_and_data_length),
	    cmocka_unit_test(test_cpio_keeps_only_permission_bits_of_mode),
	    cmocka_unit_test(test_cpio_large_file_grows_buffer),
	    cmocka_unit_test(test_cpio_overlong_name_is_a_sticky_error),
	    cmocka_unit_test(test_cpio_oversized_file_is_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
