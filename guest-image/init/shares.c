/* Guest init: mount microvmm's shares (virtio-fs, by tag) before the command runs. */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p, root-owned 0755: the share's own root shows the host owner once mounted. */
static int shares_mkdirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = saved;
		if (!saved)
			return 0;
	}
}

int shares_mount(const struct run_config *rc, char *why, size_t why_len)
{
	for (unsigned int i = 0; i < rc->share_count; i++) {
		const struct run_share *s = &rc->shares[i];
		int err = shares_mkdirs(s->path);

		/* MS_RDONLY too: the host already refuses writes, the guest then says EROFS. */
		if (!err && mount(s->tag, s->path, "virtiofs",
				  MS_NOSUID | MS_NODEV | (s->read_only ? MS_RDONLY : 0), NULL) < 0)
			err = -errno;
		if (err) {
			snprintf(why, why_len, "cannot mount share %s at %s: %s", s->tag, s->path,
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

void shares_unmount(const struct run_config *rc)
{
	/* Innermost first: a share may sit inside another. */
	for (unsigned int i = rc->share_count; i-- > 0;) {
		const char *path = rc->shares[i].path;

		if (umount2(path, 0) < 0 && errno != EINVAL && umount2(path, MNT_DETACH) < 0)
			init_log("umount %s: %s", path, strerror(errno));
	}
}
