/* Guest init: the pseudo and scratch file systems every guest needs. */
#include "init.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

struct mount_entry {
	const char *source;
	const char *target;
	const char *fstype;
	unsigned long flags;
	const char *data;
};

static const struct mount_entry basic_mounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
    {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
};

static int mount_one(const struct mount_entry *m)
{
	int err;

	if (mkdir(m->target, 0755) < 0 && errno != EEXIST) {
		err = -errno;
		init_log("mkdir %s: %s", m->target, strerror(-err));
		return err;
	}
	if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0 && errno != EBUSY) {
		err = -errno;
		init_log("mount %s on %s: %s", m->fstype, m->target, strerror(-err));
		return err;
	}
	return 0;
}

int mounts_setup(void)
{
	int first_err = 0;
	size_t i;

	for (i = 0; i < sizeof(basic_mounts) / sizeof(basic_mounts[0]); i++) {
		int err = mount_one(&basic_mounts[i]);

		if (err && !first_err)
			first_err = err;
	}
	return first_err;
}
