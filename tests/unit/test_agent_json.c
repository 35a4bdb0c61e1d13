/* Unit tests for JSON escaping and summary.json (launcher/json.c, summary.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "launcher/json.h"
#include "launcher/summary.h"

static struct strbuf buf;

static const char *escaped(const char *s, size_t len)
{
	strbuf_free(&buf);
	json_string(&buf, s, len);
	assert_int_equal(buf.err, 0);
	return buf.data;
}

#define ESC(s) escaped((s), sizeof(s) - 1)

static void test_json_escapes_quotes_backslashes_and_controls(void **state)
{
	(void)state;
	assert_string_equal(ESC("plain"), "\"plain\"");
	assert_string_equal(ESC("a\"b\\c"), "\"a\\\"b\\\\c\"");
	assert_string_equal(ESC("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
	assert_string_equal(ESC("\x01\x1f\x7f"), "\"\\u0001\\u001f\\u007f\"");
	assert_string_equal(ESC("nul:\0:end"), "\"nul:\\u0000:end\"");
	assert_string_equal(ESC(""), "\"\"");
}

static void test_json_keeps_valid_utf8(void **state)
{
	(void)state;
	assert_string_equal(ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
			    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

static void test_json_replaces_invalid_utf8(void **state)
{
	(void)state;
	assert_string_equal(ESC("a\xff"
				"b"),
			    "\"a\\ufffdb\"");
	/* Overlong '/', a UTF-16 surrogate, above U+10FFFF, a truncated sequence. */
	assert_string_equal(ESC("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	assert_string_equal(ESC("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(ESC("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(ESC("x\xe2\x82"), "\"x\\ufffd\\ufffd\"");
}

static void test_json_null_and_int(void **state)
{
	(void)state;
	strbuf_free(&buf);
	json_cstring(&buf, NULL);
	strbuf_puts(&buf, " ");
	json_int(&buf, -125);
	assert_string_equal(buf.data, "null -125");
}

static void snap(struct wsdiff_snapshot *s, const char *const *paths, const uint64_t *sizes,
		 size_t n)
{
	wsdiff_init(s);
	s->entries = calloc(n ? n : 1, sizeof(*s->entries));
	for (size_t i = 0; i < n; i++) {
		s->entries[i].path = strdup(paths[i]);
		s->entries[i].mode = 0100644;
		s->entries[i].size = sizes[i];
	}
	s->count = s->cap = n;
}

static void test_summary_has_the_keys_and_changes(void **state)
{
	struct wsdiff_snapshot before, after;
	struct summary s = {
	    .run_id = "20261205-101112-42",
	    .task = "say \"hi\"",
	    .mode = "task",
	    .agent = "claude",
	    .agent_version = "2.1.332",
	    .image = "/img",
	    .workspace = "/ws",
	    .net = "filtered",
	    .allow = (const char *const[]){"api.anthropic.com:443"},
	    .allow_count = 1,
	    .start = {.tv_sec = 0},
	    .end = {.tv_sec = 61},
	    .exit_status = 3,
	    .before = &before,
	    .after = &after,
	};

	(void)state;
	snap(&before, (const char *const[]){"a.txt", "gone.txt", "same.txt"},
	     (const uint64_t[]){1, 1, 1}, 3);
	snap(&after, (const char *const[]){"a.txt", "new.txt", "same.txt"},
	     (const uint64_t[]){2, 1, 1}, 3);
	strbuf_free(&buf);
	summary_build(&s, &buf);
	assert_int_equal(buf.err, 0);
	assert_non_null(strstr(buf.data, "\"task\": \"say \\\"hi\\\"\""));
	assert_non_null(strstr(buf.data, "\"agent\": \"claude\""));
	assert_non_null(strstr(buf.data, "\"agent_version\": \"2.1.332\""));
	assert_non_null(strstr(buf.data, "\"image\": \"/img\""));
	assert_non_null(strstr(buf.data, "\"start\": \"1970-01-01T00:00:00Z\""));
	assert_non_null(strstr(buf.data, "\"end\": \"1970-01-01T00:01:01Z\""));
	assert_non_null(strstr(buf.data, "\"exit_status\": 3"));
	assert_non_null(strstr(buf.data, "\"added\": [\"new.txt\"]"));
	assert_non_null(strstr(buf.data, "\"modified\": [\"a.txt\"]"));
	assert_non_null(strstr(buf.data, "\"deleted\": [\"gone.txt\"]"));
	assert_non_null(strstr(buf.data, "\"files_changed_truncated\": false"));
	wsdiff_free(&before);
	wsdiff_free(&after);
}

static void test_summary_interactive_task_is_null(void **state)
{
	struct summary s = {.run_id = "r", .mode = "interactive", .agent = "codex", .net = "none"};

	(void)state;
	strbuf_free(&buf);
	summary_build(&s, &buf);
	assert_non_null(strstr(buf.data, "\"task\": null"));
	assert_non_null(strstr(buf.data, "\"agent_version\": null"));
	assert_non_null(strstr(buf.data, "\"files_changed\": null"));
	assert_non_null(strstr(buf.data, "\"allow\": []"));
	assert_non_null(strstr(buf.data, "\"allow_host_loopback\": false"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_escapes_quotes_backslashes_and_controls),
	    cmocka_unit_test(test_json_keeps_valid_utf8),
	    cmocka_unit_test(test_json_replaces_invalid_utf8),
	    cmocka_unit_test(test_json_null_and_int),
	    cmocka_unit_test(test_summary_has_the_keys_and_changes),
	    cmocka_unit_test(test_summary_interactive_task_is_null),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	strbuf_free(&buf);
	return ret;
}
