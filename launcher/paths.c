/* Where things are: microvmm, the agent image, the guest entry script, the audit directory. */
#include "launcher/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/fdio.h"

static int paths_join(char *out, size_t len, const char *dir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int paths_exe_dir(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash || (size_t)(slash - exe) + 1 > len)
		return -ENAMETOOLONG;
	if (slash == exe)
		slash++;
	*slash = '\0';
	snprintf(out, len, "%s", exe);
	return 0;
}

static int paths_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0 ? 0 : -ENOENT;
}

int paths_find_microvmm(const char *exe_dir, char *out, size_t len)
{
	const char *path = getenv("PATH");
	const char *p;

	if (!paths_join(out, len, exe_dir, "microvmm") && !paths_executable(out))
		return 0;
	for (p = path; p && *p;) {
		size_t n = strcspn(p, ":");
		char dir[PATH_MAX];

		if (n && n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			if (dir[0] == '/' && !paths_join(out, len, dir, "microvmm") &&
			    !paths_executable(out))
				return 0;
		}
		p += n + (p[n] == ':');
	}
	return -ENOENT;
}

static int paths_image_at(const char *dir, char *out, size_t len)
{
	char rootfs[PATH_MAX], real[PATH_MAX];
	struct stat st;

	if (paths_join(rootfs, sizeof(rootfs), dir, "rootfs") || stat(rootfs, &st) < 0 ||
	    !S_ISDIR(st.st_mode) || !realpath(dir, real) || strlen(real) >= len)
		return -ENOENT;
	snprintf(out, len, "%s", real);
	return 0;
}

int paths_find_image(const char *exe_dir, const char *given, char *out, size_t len, char *err,
		     size_t err_len)
{
	char dir[PATH_MAX];

	if (given) {
		if (!paths_image_at(given, out, len))
			return 0;
		snprintf(err, err_len,
			 "--image '%s' is not an agent image (no rootfs/ in it): build one with "
			 "%s",
			 given, PATHS_BUILD_COMMAND);
		return -ENOENT;
	}
	if ((!paths_join(dir, sizeof(dir), exe_dir, PATHS_INSTALLED_IMAGE) &&
	     !paths_image_at(dir, out, len)) ||
	    (!paths_join(dir, sizeof(dir), exe_dir, PATHS_BUILD_IMAGE) &&
	     !paths_image_at(dir, out, len)))
		return 0;
	snprintf(err, err_len,
		 "the agent image is not built: run %s in microvmm's source tree (or give "
		 "--image DIR)",
		 PATHS_BUILD_COMMAND);
	return -ENOENT;
}

int paths_find_entry(const char *exe_dir, char *out, size_t len)
{
	struct stat st;

	if (!paths_join(out, len, exe_dir, PATHS_INSTALLED_ENTRY) && stat(out, &st) == 0 &&
	    S_ISREG(st.st_mode))
		return 0;
	if (!paths_join(out, len, exe_dir, PATHS_BUILD_ENTRY) && stat(out, &st) == 0 &&
	    S_ISREG(st.st_mode))
		return 0;
	return -ENOENT;
}

int paths_agent_version(const char *image, const char *package, char *out, size_t len)
{
	char path[PATH_MAX], *text, *line, *save = NULL;
	size_t size;
	int ret = paths_join(path, sizeof(path), image, "manifest.lock");

	if (!ret)
		ret = fdio_read_file(AT_FDCWD, path, true, 1 << 20, &text, &size);
	if (ret)
		return -ENOENT;
	ret = -ENOENT;
	for (line = strtok_r(text, "\n", &save); line && ret; line = strtok_r(NULL, "\n", &save)) {
		char kind[16], name[256], version[128];

		if (sscanf(line, "%15s %255s %127s", kind, name, version) == 3 &&
		    !strcmp(kind, "npm") && !strcmp(name, package) && strlen(version) < len) {
			snprintf(out, len, "%s", version);
			ret = 0;
		}
	}
	free(text);
	return ret;
}

int paths_audit_base(const char *given, char *out, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (given)
		n = snprintf(out, len, "%s", given);
	else if (state && state[0] == '/')
		n = snprintf(out, len, "%s/microvmm/runs", state);
	else {
		if (!home || home[0] != '/') {
			pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/')
			return -ENOENT;
		n = snprintf(out, len, "%s/.local/state/microvmm/runs", home);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
