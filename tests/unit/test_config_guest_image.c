/* Unit tests for the default kernel and initrd lookup of the command-line parser
 * (vmm/config/config.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_test.h"

static struct config share_cfg; /* large: keep it off the stack */

/* ---- config_guest_image: the default kernel and initrd ---- */

/* A scratch prefix holding the (empty) files named; returns its path (static storage). */
static const char *image_tree(const char *const files[], size_t count)
{
	static char root[64];
	char path[256];

	snprintf(root, sizeof(root), "/tmp/microvmm-test-image-XXXXXX");
	assert_non_null(mkdtemp(root));
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		for (char *slash = strchr(path + strlen(root) + 1, '/'); slash;
		     slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
			*slash = '/';
		}
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fclose(f);
	}
	return root;
}

static int image_tree_remove_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

static void image_tree_remove(const char *root)
{
	assert_int_equal(nftw(root, image_tree_remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
}

/* config_guest_image() as if microvmm were ROOT/EXE. */
static void guest_image_lookup(struct config *cfg, const char *root, const char *exe)
{
	char err[ERR_LEN] = "", path[256];

	snprintf(path, sizeof(path), "%s/%s", root, exe);
	assert_int_equal(config_guest_image(cfg, path, err, ERR_LEN), 0);
}

/* GOT is ROOT/REL. */
static void assert_in_tree(const char *got, const char *root, const char *rel)
{
	char want[256];

	snprintf(want, sizeof(want), "%s/%s", root, rel);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void test_config_guest_image_prefers_the_installed_image(void **state)
{
	static const char *const files[] = {"share/microvmm/guest/vmlinuz",
					    "share/microvmm/guest/initrd.img", "bin/guest/vmlinuz"};
	const char *root = image_tree(files, 3);
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(config_parse(1, ARGV(NULL), &share_cfg, err, ERR_LEN), 0);
	guest_image_lookup(&share_cfg, root, "bin/microvmm");

	assert_in_tree(share_cfg.kernel, root, "share/microvmm/guest/vmlinuz");
	assert_in_tree(share_cfg.initrd, root, "share/microvmm/guest/initrd.img");
	image_tree_remove(root);
}

static void test_config_guest_image_finds_the_build_tree_image(void **state)
{
	static const char *const files[] = {"build/guest/vmlinuz", "build/guest/initrd.img"};
	const char *root = image_tree(files, 2);
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(config_parse(1, ARGV(NULL), &share_cfg, err, ERR_LEN), 0);
	guest_image_lookup(&share_cfg, root, "build/microvmm");

	assert_in_tree(share_cfg.kernel, root, "build/guest/vmlinuz");
	assert_in_tree(share_cfg.initrd, root, "build/guest/initrd.img");
	image_tree_remove(root);
}

/* A given --kernel stays, without the image's initrd (its modules are for the image's kernel). */
static void test_config_guest_image_keeps_a_given_kernel_or_initrd(void **state)
{
	static const char *const files[] = {"build/guest/vmlinuz", "build/guest/initrd.img"};
	const char *root = image_tree(files, 2);
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "my-bzImage"), 0);
	guest_image_lookup(&share_cfg, root, "build/microvmm");
	assert_string_equal(share_cfg.kernel, "my-bzImage");
	assert_null(share_cfg.initrd);

	assert_int_equal(PARSE(&share_cfg, err, "--initrd", "mine.img"), 0);
	guest_image_lookup(&share_cfg, root, "build/microvmm");
	assert_in_tree(share_cfg.kernel, root, "build/guest/vmlinuz");
	assert_string_equal(share_cfg.initrd, "mine.img");
	image_tree_remove(root);
}

static void test_config_guest_image_missing_names_where_it_looked(void **state)
{
	static const char *const files[] = {"bin/guest/initrd.img"}; /* no kernel beside it */
	const char *root = image_tree(files, 1);
	char err[ERR_LEN] = "", path[256];

	(void)state;
	assert_int_equal(config_parse(1, ARGV(NULL), &share_cfg, err, ERR_LEN), 0);
	snprintf(path, sizeof(path), "%s/bin/microvmm", root);
	assert_int_equal(config_guest_image(&share_cfg, path, err, ERR_LEN), -ENOENT);

	snprintf(path, sizeof(path), "%s/share/microvmm/guest", root);
	assert_non_null(strstr(err, path));
	snprintf(path, sizeof(path), "%s/bin/guest", root);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "--kernel"));
	assert_non_null(strstr(err, "guest-image/build"));
	assert_null(share_cfg.kernel);
	image_tree_remove(root);
}

static void test_config_rootfs_needs_an_initrd(void **state)
{
	char err[ERR_LEN] = "";

	(void)state;
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--rootfs", "t"), 0);
	assert_int_equal(config_guest_image(&share_cfg, "/nonexistent/microvmm", err, ERR_LEN),
			 -EINVAL);
	assert_non_null(strstr(err, "--initrd"));
	assert_int_equal(PARSE(&share_cfg, err, "--kernel", "k", "--initrd", "i", "--rootfs", "t"),
			 0);
	assert_int_equal(config_guest_image(&share_cfg, "/nonexistent/microvmm", err, ERR_LEN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_guest_image_prefers_the_installed_image),
	    cmocka_unit_test(test_config_guest_image_finds_the_build_tree_image),
	    cmocka_unit_test(test_config_guest_image_keeps_a_given_kernel_or_initrd),
	    cmocka_unit_test(test_config_guest_image_missing_names_where_it_looked),
	    cmocka_unit_test(test_config_rootfs_needs_an_initrd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
