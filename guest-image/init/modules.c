/* Guest init: load the kernel modules listed in the image, in the listed order. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc 2.36 has no finit_module() wrapper. */
static int load_one(const char *path)
{
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0) < 0)
		err = -errno;
	close(fd);
	return err == -EEXIST ? 0 : err;
}

/*
 * The list is one module path per line, written by guest-image/build in the
 * order `depmod` of the shipped kernel gives; blank lines and lines starting
 * with '#' are skipped. A module that fails is reported and the rest still
 * load: a missing virtio driver is easier to diagnose from a running shell.
 */
int modules_load(const char *list)
{
	char line[512];
	FILE *f;
	int failures = 0;

	f = fopen(list, "re");
	if (!f) {
		if (errno != ENOENT) {
			init_log("%s: %s", list, strerror(errno));
			return 1;
		}
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");
		int err;

		line[len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		err = load_one(line);
		if (err) {
			init_log("module %s: %s", line, strerror(-err));
			failures++;
		}
	}
	fclose(f);
	return failures;
}
