/* The default guest image: found beside microvmm's own executable when no --kernel is given. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/config/config.h"

static bool config_regular_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* `path` without its last component: "/a/b" -> "/a", "/a" -> "/". */
static void config_dirname(char *path)
{
	char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		snprintf(path, 2, "/");
	else
		*slash = '\0';
}

/* DIR/NAME into `out`, without a doubled '/' when DIR is the root. */
static int config_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Takes the kernel (and the initrd, unless given) from `dir`; false when it has no vmlinuz. */
static bool config_use_image_dir(struct config *cfg, const char *dir)
{
	char path[PATH_MAX];

	if (config_join(path, sizeof(path), dir, "vmlinuz") || !config_regular_file(path))
		return false;
	snprintf(cfg->default_kernel, sizeof(cfg->default_kernel), "%s", path);
	cfg->kernel = cfg->default_kernel;
	/* The initrd carries modules for this very kernel: never paired with a user's --kernel. */
	if (!cfg->initrd && !config_join(path, sizeof(path), dir, "initrd.img") &&
	    config_regular_file(path)) {
		snprintf(cfg->default_initrd, sizeof(cfg->default_initrd), "%s", path);
		cfg->initrd = cfg->default_initrd;
	}
	return true;
}

/* The first of the two image directories that has a vmlinuz; -ENOENT with `err` if none. */
static int config_find(struct config *cfg, const char *exe, char *err, size_t err_len)
{
	char dir[PATH_MAX], installed[PATH_MAX], build[PATH_MAX];
	ssize_t n;

	if (exe) {
		n = (ssize_t)snprintf(dir, sizeof(dir), "%s", exe);
	} else {
		n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		if (n > 0)
			dir[n] = '\0';
	}
	if (n <= 0 || (size_t)n >= sizeof(dir) - 1 || dir[0] != '/') {
		snprintf(err, err_len,
			 "no kernel given, and microvmm cannot tell where its executable is: add "
			 "--kernel FILE (and --initrd FILE)");
		return -ENOENT;
	}
	config_dirname(dir); /* PREFIX/bin, or build/ */
	n = config_join(build, sizeof(build), dir, CONFIG_GUEST_DIR_BUILD);
	config_dirname(dir); /* PREFIX */
	if (!n)
		n = config_join(installed, sizeof(installed), dir, CONFIG_GUEST_DIR_INSTALLED);
	if (n) {
		snprintf(err, err_len,
			 "no kernel given, and microvmm's directory path is too long to look for "
			 "its guest image: add --kernel FILE (and --initrd FILE)");
		return -ENAMETOOLONG;
	}
	if (config_use_image_dir(cfg, installed) || config_use_image_dir(cfg, build))
		return 0;
	snprintf(err, err_len,
		 "no kernel given, and no guest image (vmlinuz, initrd.img) in %.200s or %.200s: "
		 "add --kernel FILE (and --initrd FILE), or build the image with "
		 "guest-image/build %.200s",
		 installed, build, build);
	return -ENOENT;
}

int config_guest_image(struct config *cfg, const char *exe, char *err, size_t err_len)
{
	int ret;

	if (cfg->action != CONFIG_RUN)
		return 0;
	if (!cfg->kernel) {
		ret = config_find(cfg, exe, err, err_len);
		if (ret)
			return ret;
	}
	if (cfg->rootfs_set && !cfg->initrd) {
		snprintf(err, err_len,
			 "--rootfs needs the microvmm guest image's init: add --initrd (made by "
			 "guest-image/build)");
		return -EINVAL;
	}
	return 0;
}
