/* Unit tests for the guest-error log limit (devices/log_limit.c): at most `burst` lines a window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "devices/log_limit.h"

static struct log_limit ten_a_second(void)
{
	return (struct log_limit){.burst = 10, .window_ms = 1000};
}

static void test_log_limit_lets_ten_through_then_refuses(void **state)
{
	struct log_limit l = ten_a_second();
	unsigned int suppressed = 99;

	(void)state;
	for (unsigned int i = 0; i < 10; i++) {
		assert_true(log_limit_allow(&l, 5000 + i, &suppressed));
		assert_int_equal(suppressed, 0);
	}
	for (unsigned int i = 0; i < 100; i++)
		assert_false(log_limit_allow(&l, 5010 + i, &suppressed));
}

static void test_log_limit_window_slides(void **state)
{
	struct log_limit l = ten_a_second();
	unsigned int suppressed;

	(void)state;
	/* Lines at t = 0, 100, ..., 900 ms. */
	for (unsigned int i = 0; i < 10; i++)
		assert_true(log_limit_allow(&l, 10000 + 100 * i, &suppressed));
	/* 999 ms after the first: still ten within one second. */
	assert_false(log_limit_allow(&l, 10999, &suppressed));
	/* The first leaves the window: one more, and it reports the one refused. */
	assert_true(log_limit_allow(&l, 11000, &suppressed));
	assert_int_equal(suppressed, 1);
	assert_false(log_limit_allow(&l, 11050, &suppressed));
	assert_true(log_limit_allow(&l, 11100, &suppressed));
	assert_int_equal(suppressed, 1);
}

static void test_log_limit_never_more_than_ten_in_any_second(void **state)
{
	struct log_limit l = ten_a_second();
	uint64_t sent[1000];
	unsigned int n = 0, suppressed;

	(void)state;
	/* A guest breaking a device every 7 ms for 5 s. */
	for (uint64_t t = 1; t < 5000; t += 7)
		if (log_limit_allow(&l, t, &suppressed))
			sent[n++] = t;
	assert_true(n >= 40);
	for (unsigned int i = 10; i < n; i++)
		assert_true(sent[i] - sent[i - 10] >= 1000);
}

static void test_log_limit_zero_burst_refuses_all(void **state)
{
	struct log_limit l = {.burst = 0, .window_ms = 1000};
	unsigned int suppressed;

	(void)state;
	assert_false(log_limit_allow(&l, 1, &suppressed));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_log_limit_lets_ten_through_then_refuses),
	    cmocka_unit_test(test_log_limit_window_slides),
	    cmocka_unit_test(test_log_limit_never_more_than_ten_in_any_second),
	    cmocka_unit_test(test_log_limit_zero_burst_refuses_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
