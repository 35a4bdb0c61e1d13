/* Unit tests for the growable buffer (boot/growbuf.c) behind cpio, the run configuration and the
 * console's output backlog. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/growbuf.h"

static void test_growbuf_appends_across_growth(void **state)
{
	struct growbuf b = {0};
	uint8_t chunk[1000];

	(void)state;
	for (unsigned int i = 0; i < 10; i++) {
		memset(chunk, (int)i, sizeof(chunk));
		growbuf_put(&b, chunk, sizeof(chunk));
	}

	assert_int_equal(b.error, 0);
	assert_int_equal(b.len, 10000);
	assert_true(b.cap >= b.len);
	for (unsigned int i = 0; i < 10; i++)
		assert_int_equal(b.data[i * 1000 + 999], i);
	growbuf_free(&b);
	assert_null(b.data);
}

static void test_growbuf_overflowing_request_is_a_sticky_error(void **state)
{
	struct growbuf b = {0};

	(void)state;
	growbuf_put(&b, "ab", 2);

	/* The guard cpio had: no size_t wrap in len + more or in the doubling. */
	assert_null(growbuf_extend(&b, SIZE_MAX - 1));
	assert_int_equal(b.error, -ENOMEM);
	assert_null(growbuf_extend(&b, 1));
	growbuf_put(&b, "c", 1);
	assert_int_equal(b.len, 2);
	growbuf_free(&b);
	assert_int_equal(b.error, 0);
}

static void test_growbuf_clear_keeps_memory(void **state)
{
	struct growbuf b = {0};

	(void)state;
	growbuf_put(&b, "abc", 3);
	uint8_t *data = b.data;

	growbuf_clear(&b);
	growbuf_put(&b, "d", 1);

	assert_ptr_equal(b.data, data);
	assert_int_equal(b.len, 1);
	assert_int_equal(b.data[0], 'd');
	growbuf_free(&b);
}

static void test_growbuf_empty_put_allocates_nothing_wrong(void **state)
{
	struct growbuf b = {0};

	(void)state;
	growbuf_put(&b, NULL, 0);

	assert_int_equal(b.error, 0);
	assert_int_equal(b.len, 0);
	growbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_growbuf_appends_across_growth),
	    cmocka_unit_test(test_growbuf_overflowing_request_is_a_sticky_error),
	    cmocka_unit_test(test_growbuf_clear_keeps_memory),
	    cmocka_unit_test(test_growbuf_empty_put_allocates_nothing_wrong),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
