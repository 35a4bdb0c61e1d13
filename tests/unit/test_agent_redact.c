/* Unit tests for secret redaction in streams and buffers (launcher/redact.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launcher/redact.h"
#include "launcher/strbuf.h"

static int collect(void *ctx, const char *data, size_t len)
{
	strbuf_append(ctx, data, len);
	return 0;
}

/* Feeds the pieces (NULL-terminated) one by one, then flushes; returns the output. */
static char *stream(const struct redact_set *set, const char *const *pieces)
{
	static struct strbuf out;
	struct redactor r;

	strbuf_free(&out);
	assert_int_equal(redactor_init(&r, set), 0);
	for (size_t i = 0; pieces[i]; i++)
		assert_int_equal(redact_feed(&r, pieces[i], strlen(pieces[i]), collect, &out), 0);
	assert_int_equal(redact_flush(&r, collect, &out), 0);
	redactor_free(&r);
	strbuf_puts(&out, "");
	return out.data;
}

static void one_secret(struct redact_set *set, const char *value)
{
	redact_set_init(set);
	assert_int_equal(redact_set_add(set, value, strlen(value)), 0);
}

static void test_redact_whole_secret_in_one_read(void **state)
{
	struct redact_set set;

	(void)state;
	one_secret(&set, "sk-ant-123456");
	assert_string_equal(stream(&set, (const char *[]){"key=sk-ant-123456!", NULL}),
			    "key=" REDACT_MARK "!");
	redact_set_free(&set);
}

static void test_redact_secret_split_across_two_reads(void **state)
{
	struct redact_set set;

	(void)state;
	one_secret(&set, "sk-ant-123456");
	assert_string_equal(stream(&set, (const char *[]){"key=sk-an", "t-123456 done", NULL}),
			    "key=" REDACT_MARK " done");
	redact_set_free(&set);
}

static void test_redact_secret_split_byte_by_byte(void **state)
{
	const char *pieces[] = {"a", "s", "k", "-", "1", "2", "3", "4", "5", "b", NULL};
	struct redact_set set;

	(void)state;
	one_secret(&set, "sk-12345");
	assert_string_equal(stream(&set, pieces), "a" REDACT_MARK "b");
	redact_set_free(&set);
}

static void test_redact_holds_only_a_possible_prefix(void **state)
{
	struct redact_set set;
	struct strbuf out;
	struct redactor r;

	(void)state;
	one_secret(&set, "secret-value");
	strbuf_init(&out);
	assert_int_equal(redactor_init(&r, &set), 0);
	assert_int_equal(redact_feed(&r, "hello secr", 10, collect, &out), 0);
	/* "secr" may begin the secret: only "hello " is out yet. */
	assert_int_equal(out.len, 6);
	assert_true(redact_holding(&r));
	assert_int_equal(redact_feed(&r, "et!", 3, collect, &out), 0);
	assert_false(redact_holding(&r));
	assert_string_equal(out.data, "hello secret!");
	redactor_free(&r);
	strbuf_free(&out);
	redact_set_free(&set);
}

static void test_redact_flush_releases_held_bytes(void **state)
{
	struct redact_set set;

	(void)state;
	one_secret(&set, "secret-value");
	assert_string_equal(stream(&set, (const char *[]){"ends with secret-va", NULL}),
			    "ends with secret-va");
	redact_set_free(&set);
}

static void test_redact_longest_of_overlapping_secrets(void **state)
{
	struct redact_set set;

	(void)state;
	redact_set_init(&set);
	assert_int_equal(redact_set_add(&set, "abcd", 4), 0);
	assert_int_equal(redact_set_add(&set, "abcdefgh", 8), 0);
	/* The longer one, split, must not leak its tail after the shorter one matched. */
	assert_string_equal(stream(&set, (const char *[]){"x abcdef", "gh y abcd z", NULL}),
			    "x " REDACT_MARK " y " REDACT_MARK " z");
	redact_set_free(&set);
}

static void test_redact_set_skips_short_and_duplicate_values(void **state)
{
	struct redact_set set;

	(void)state;
	redact_set_init(&set);
	assert_int_equal(redact_set_add(&set, "abc", 3), 0);
	assert_int_equal(set.count, 0);
	assert_int_equal(redact_set_add(&set, "abcdef", 6), 0);
	assert_int_equal(redact_set_add(&set, "abcdef", 6), 0);
	assert_int_equal(set.count, 1);
	redact_set_free(&set);
	assert_int_equal(set.count, 0);
}

static void test_redact_text_adds_trimmed_whole_and_lines(void **state)
{
	const char file[] = "user=alice\npassword=hunter22\n\n";
	struct redact_set set;
	char *out;
	size_t len;

	(void)state;
	redact_set_init(&set);
	assert_int_equal(redact_set_add_text(&set, file, strlen(file)), 0);
	assert_int_equal(set.count, 3);
	assert_int_equal(redact_buffer(&set, "log: password=hunter22.", 23, &out, &len), 0);
	assert_string_equal(out, "log: " REDACT_MARK ".");
	free(out);
	redact_set_free(&set);
}

static void test_redact_buffer_without_secrets_is_a_copy(void **state)
{
	struct redact_set set;
	char *out;
	size_t len;

	(void)state;
	redact_set_init(&set);
	assert_int_equal(redact_buffer(&set, "plain", 5, &out, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(out, "plain");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redact_whole_secret_in_one_read),
	    cmocka_unit_test(test_redact_secret_split_across_two_reads),
	    cmocka_unit_test(test_redact_secret_split_byte_by_byte),
	    cmocka_unit_test(test_redact_holds_only_a_possible_prefix),
	    cmocka_unit_test(test_redact_flush_releases_held_bytes),
	    cmocka_unit_test(test_redact_longest_of_overlapping_secrets),
	    cmocka_unit_test(test_redact_set_skips_short_and_duplicate_values),
	    cmocka_unit_test(test_redact_text_adds_trimmed_whole_and_lines),
	    cmocka_unit_test(test_redact_buffer_without_secrets_is_a_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
