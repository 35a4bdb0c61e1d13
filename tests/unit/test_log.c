/*
 * Unit tests for vmm/log.c's guest-text escaper, which stands between the
 * guest init's error reports and the user's terminal. Before it, a guest
 * could send `error 127 \033]0;owned\007` or `...\nmicrovmm: all fine` and
 * have it printed raw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/log.h"

static void test_escape_keeps_printable_text(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(log_escape_guest_text(out, sizeof(out), "ls: not found", 200), 13);
	assert_string_equal(out, "ls: not found");
}

static void test_escape_writes_control_bytes_and_backslash_as_hex(void **state)
{
	char out[128];

	(void)state;
	log_escape_guest_text(out, sizeof(out), "a\033]0;x\007\nmicrovmm: ok\\\xff", 200);
	assert_string_equal(out, "a\\x1b]0;x\\x07\\x0amicrovmm: ok\\x5c\\xff");
	assert_null(strchr(out, '\n'));
	assert_null(strchr(out, '\033'));
}

static void test_escape_cuts_at_max_input_and_says_so(void **state)
{
	char in[300], out[1024];

	(void)state;
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(log_escape_guest_text(out, sizeof(out), in, 200), 203);
	assert_string_equal(out + 200, "...");
	in[200] = '\0';
	assert_int_equal(log_escape_guest_text(out, sizeof(out), in, 200), 200);
}

static void test_escape_never_overflows_a_small_buffer(void **state)
{
	char out[10];

	(void)state;
	memset(out, 0x55, sizeof(out));
	size_t n = log_escape_guest_text(out, 8, "\001\002\003\004", 200);

	assert_true(n < 8);
	assert_int_equal(out[n], '\0');
	assert_int_equal((unsigned char)out[8], 0x55);
	assert_int_equal(log_escape_guest_text(out, 0, "abc", 200), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_keeps_printable_text),
	    cmocka_unit_test(test_escape_writes_control_bytes_and_backslash_as_hex),
	    cmocka_unit_test(test_escape_cuts_at_max_input_and_says_so),
	    cmocka_unit_test(test_escape_never_overflows_a_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
