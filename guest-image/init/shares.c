/* Guest init: mount microvmm's shares (virtio-fs, by tag) before the command runs. */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int shares_mount(const struct run_config *rc, char *why, size_t why_len)
{
	for (unsigned int i = 0; i < rc->share_count; i++) {
		const struct run_share *s = &rc->shares[i];
		/* Root-owned 0755: the share's own root shows the host owner once mounted. */
		int err = file_mkdirs(s->path, 0755);

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
