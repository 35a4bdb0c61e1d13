/* Unit tests for files_changed and the transcript copy (launcher/wsdiff.c, transcript.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "launcher/fstree.h"
#include "launcher/strbuf.h"
#include "launcher/transcript.h"
#include "launcher/wsdiff.h"

static char root[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_agent_wsdiff.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);

	(void)state;
	assert_int_equal(fstree_remove(dir, strrchr(root, '/') + 1), 0);
	close(dir);
	return 0;
}

static const char *at(const char *rel)
{
	static char path[4][PATH_MAX];
	static unsigned int next;
	char *p = path[next++ % 4];

	assert_true(snprintf(p, PATH_MAX, "%s/%s", root, rel) < PATH_MAX);
	return p;
}

static void put(const char *rel, const char *text)
{
	FILE *f = fopen(at(rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *get(const char *rel)
{
	static char text[256];
	FILE *f = fopen(at(rel), "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static int record(void *ctx, enum wsdiff_change change, const char *path)
{
	static const char marks[] = {'+', '~', '-'};

	strbuf_printf(ctx, "%c%s ", marks[change], path);
	return 0;
}

static void test_wsdiff_reports_added_modified_deleted(void **state)
{
	struct wsdiff_snapshot before, after;
	struct strbuf out;
	struct stat skip;
	int fd;

	(void)state;
	assert_int_equal(mkdir(at("src"), 0755), 0);
	assert_int_equal(mkdir(at(".git"), 0755), 0);
	assert_int_equal(mkdir(at(".agent"), 0755), 0);
	assert_int_equal(mkdir(at("outside"), 0755), 0);
	put("src/keep.c", "same");
	put("src/edit.c", "old");
	put("gone.txt", "x");
	put(".git/HEAD", "ref");
	put("outside/secret", "s");
	assert_int_equal(symlink("outside", at("link")), 0);
	assert_int_equal(stat(at(".agent"), &skip), 0);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	wsdiff_init(&before);
	wsdiff_skip(&before, &skip);
	assert_int_equal(wsdiff_take(fd, &before), 0);

	put("src/edit.c", "new text");
	put("src/new.c", "n");
	assert_int_equal(unlink(at("gone.txt")), 0);
	put(".git/HEAD", "other ref");
	put(".agent/session.log", "log");
	assert_int_equal(mkdir(at("docs"), 0755), 0);
	wsdiff_init(&after);
	wsdiff_skip(&after, &skip);
	assert_int_equal(wsdiff_take(fd, &after), 0);

	strbuf_init(&out);
	assert_int_equal(wsdiff_compare(&before, &after, record, &out), 0);
	assert_string_equal(out.data, "+docs/ -gone.txt ~src/edit.c +src/new.c ");
	assert_false(before.truncated);
	strbuf_free(&out);
	wsdiff_free(&before);
	wsdiff_free(&after);
	close(fd);
}

static void test_wsdiff_marks_truncation_at_the_entry_limit(void **state)
{
	struct wsdiff_snapshot s;
	int fd;

	(void)state;
	put("a", "1");
	put("b", "2");
	put("c", "3");
	fd = open(root, O_RDONLY | O_DIRECTORY);
	wsdiff_init(&s);
	s.max_entries = 2;
	assert_int_equal(wsdiff_take(fd, &s), 0);
	assert_true(s.truncated);
	assert_int_equal(s.count, 2);
	wsdiff_free(&s);
	close(fd);
}

static void test_transcript_copies_redacted_without_symlinks(void **state)
{
	struct redact_set set;
	struct fstree_stats st;
	int src, dst;

	(void)state;
	assert_int_equal(mkdir(at("out"), 0700), 0);
	assert_int_equal(mkdir(at("out/claude-projects"), 0700), 0);
	assert_int_equal(mkdir(at("audit"), 0700), 0);
	put("out/claude-projects/s.jsonl", "{\"key\":\"sk-test-0123456789\"}\n");
	put("host-file", "private");
	assert_int_equal(symlink(at("host-file"), at("out/claude-projects/evil")), 0);
	redact_set_init(&set);
	assert_int_equal(redact_set_add(&set, "sk-test-0123456789", 18), 0);
	src = open(at("out"), O_RDONLY | O_DIRECTORY);
	dst = open(at("audit"), O_RDONLY | O_DIRECTORY);
	assert_int_equal(transcript_save(src, dst, "transcript", &set, &st), 0);
	assert_string_equal(get("audit/transcript/claude-projects/s.jsonl"),
			    "{\"key\":\"" REDACT_MARK "\"}\n");
	assert_int_equal(access(at("audit/transcript/claude-projects/evil"), F_OK), -1);
	assert_int_equal(st.files, 1);
	assert_false(st.truncated);
	close(src);
	close(dst);
	redact_set_free(&set);
}

static void test_transcript_empty_output_makes_nothing(void **state)
{
	struct redact_set set;
	struct fstree_stats st;
	int src, dst;

	(void)state;
	assert_int_equal(mkdir(at("out"), 0700), 0);
	redact_set_init(&set);
	src = open(at("out"), O_RDONLY | O_DIRECTORY);
	dst = open(root, O_RDONLY | O_DIRECTORY);
	assert_int_equal(transcript_save(src, dst, "transcript", &set, &st), 0);
	assert_int_equal(access(at("transcript"), F_OK), -1);
	close(src);
	close(dst);
}

static void test_fstree_remove_opens_up_locked_directories(void **state)
{
	int dir;

	(void)state;
	assert_int_equal(mkdir(at("t"), 0700), 0);
	assert_int_equal(mkdir(at("t/locked"), 0700), 0);
	put("t/locked/f", "x");
	assert_int_equal(symlink("/etc/hostname", at("t/locked/l")), 0);
	assert_int_equal(chmod(at("t/locked"), 0500), 0);
	dir = open(root, O_RDONLY | O_DIRECTORY);
	assert_int_equal(fstree_remove(dir, "t"), 0);
	assert_int_equal(access(at("t"), F_OK), -1);
	assert_int_equal(access("/etc/hostname", F_OK), 0);
	close(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_wsdiff_reports_added_modified_deleted, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wsdiff_marks_truncation_at_the_entry_limit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_transcript_copies_redacted_without_symlinks, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_transcript_empty_output_makes_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_fstree_remove_opens_up_locked_directories, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
