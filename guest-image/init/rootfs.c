/* Guest init: microvmm's --rootfs tree as the root, read-only under a throwaway tmpfs overlay. */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Mount points in the initramfs; none of them is reachable from the new root. */
#define ROOTFS_LOWER	  "/microvmm/lower"
#define ROOTFS_SCRATCH	  "/microvmm/scratch"
#define ROOTFS_UPPER	  ROOTFS_SCRATCH "/upper"
#define ROOTFS_WORK	  ROOTFS_SCRATCH "/work"
#define ROOTFS_NEW	  "/microvmm/root"
#define ROOTFS_RESOLV	  "/etc/resolv.conf"
#define ROOTFS_RESOLV_MAX 4096

/*
 * overlayfs.rst: index and xino need file handles and spare inode bits
 * the virtio-fs lower layer may not have (the kernel would fall back with
 * a warning on the console); metacopy and redirect_dir are for trusted
 * layers only and buy nothing for a throwaway upper layer. Debian's 6.1
 * kernel has all four off by default; spelled out for other kernels.
 */
#define ROOTFS_OVERLAY_OPTS                                                                        \
	"lowerdir=" ROOTFS_LOWER ",upperdir=" ROOTFS_UPPER ",workdir=" ROOTFS_WORK                 \
	",index=off,xino=off,metacopy=off,redirect_dir=off"

/* Moved, with everything mounted below them (/dev/pts), from the initramfs into the new root. */
static const char *const rootfs_moved[] = {"/dev", "/proc", "/sys", "/run"};

static int rootfs_fail(char *why, size_t why_len, int err, const char *what, const char *path)
{
	snprintf(why, why_len, "cannot set up the root file system (--rootfs): %s %s: %s", what,
		 path, strerror(-err));
	return err;
}

static int rootfs_mkdir(const char *path, mode_t mode)
{
	return mkdir(path, mode) < 0 && errno != EEXIST ? -errno : 0;
}

/*
 * The tree (no MS_NOSUID: sudo lives there; read-only for the guest too,
 * though the host already refuses writes), the tmpfs and the overlay.
 */
static int rootfs_mount_layers(const struct run_config *rc, char *why, size_t why_len)
{
	char opts[64];
	struct stat st;
	int err;

	err = rootfs_mkdir(ROOTFS_LOWER, 0755);
	if (!err && mount(rc->rootfs_tag, ROOTFS_LOWER, "virtiofs", MS_RDONLY, NULL) < 0)
		err = -errno;
	if (err)
		return rootfs_fail(why, why_len, err, "mounting virtio-fs", rc->rootfs_tag);
	snprintf(opts, sizeof(opts), "size=%llu,mode=0755", rc->scratch);
	err = rootfs_mkdir(ROOTFS_SCRATCH, 0755);
	if (!err && mount("scratch", ROOTFS_SCRATCH, "tmpfs", 0, opts) < 0)
		err = -errno;
	if (!err)
		err = rootfs_mkdir(ROOTFS_UPPER, 0755);
	if (!err)
		err = rootfs_mkdir(ROOTFS_WORK, 0700);
	if (err)
		return rootfs_fail(why, why_len, err, "mounting the scratch tmpfs at",
				   ROOTFS_SCRATCH);
	/* The merged root directory shows the upper one's owner and mode: keep the tree's. */
	if (stat(ROOTFS_LOWER, &st) == 0 && (chown(ROOTFS_UPPER, st.st_uid, st.st_gid) < 0 ||
					     chmod(ROOTFS_UPPER, st.st_mode & 07777) < 0))
		init_log("%s: %s", ROOTFS_UPPER, strerror(errno));
	err = rootfs_mkdir(ROOTFS_NEW, 0755);
	if (!err && mount("overlay", ROOTFS_NEW, "overlay", 0, ROOTFS_OVERLAY_OPTS) < 0)
		err = -errno;
	if (err)
		return rootfs_fail(why, why_len, err, "mounting the overlay at", ROOTFS_NEW);
	return 0;
}

/*
 * /dev, /proc, /sys and /run keep their mounts (and open fds, such as the
 * console ports) in the new root. A target that is not a plain directory
 * is refused: a symlink would be followed in the initramfs, not the tree.
 */
static int rootfs_move_mounts(char *why, size_t why_len)
{
	char target[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(rootfs_moved) / sizeof(rootfs_moved[0]); i++) {
		int err = 0;

		snprintf(target, sizeof(target), ROOTFS_NEW "%s", rootfs_moved[i]);
		if (lstat(target, &st) < 0)
			err = errno == ENOENT ? rootfs_mkdir(target, 0755) : -errno;
		else if (!S_ISDIR(st.st_mode))
			err = -ENOTDIR;
		if (!err && mount(rootfs_moved[i], target, NULL, MS_MOVE, NULL) < 0)
			err = -errno;
		if (err)
			return rootfs_fail(why, why_len, err, "moving the mount to",
					   rootfs_moved[i]);
	}
	return 0;
}

/* switch_root(8) without deleting the initramfs: the init keeps running from memory. */
static int rootfs_switch(char *why, size_t why_len)
{
	if (chdir(ROOTFS_NEW) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return rootfs_fail(why, why_len, -errno, "switching the root to", ROOTFS_NEW);
	return 0;
}

/*
 * net_setup() wrote the resolvers into the initramfs's /etc/resolv.conf;
 * the tree's own (perhaps a symlink into a resolver daemon's /run) is
 * replaced in the overlay.
 */
static void rootfs_copy_resolv(const char *text)
{
	int err;

	if (rootfs_mkdir("/etc", 0755) < 0)
		return;
	err = file_replace(ROOTFS_RESOLV, text, strlen(text));
	if (err)
		init_log("%s: %s", ROOTFS_RESOLV, strerror(-err));
}

int rootfs_enter(const struct run_config *rc, char *why, size_t why_len)
{
	char *resolv = NULL;
	size_t len;
	int err;

	if (!rc->rootfs_tag)
		return 0;
	if (rc->net_mode && file_read(ROOTFS_RESOLV, ROOTFS_RESOLV_MAX, &resolv, &len) < 0)
		resolv = NULL;
	err = rootfs_mount_layers(rc, why, why_len);
	if (!err)
		err = rootfs_move_mounts(why, why_len);
	if (!err)
		err = rootfs_switch(why, why_len);
	if (!err && resolv)
		rootfs_copy_resolv(resolv);
	/* A tree without /tmp would break most programs; the overlay makes one cheaply. */
	if (!err && mkdir("/tmp", 01777) == 0 && chmod("/tmp", 01777) < 0)
		init_log("/tmp: %s", strerror(errno));
	free(resolv);
	return err;
}
