/* Starting, watching and stopping the virtiofsd that serves one --share. */
#ifndef MICROVMM_VMM_HOST_VIRTIOFSD_H
#define MICROVMM_VMM_HOST_VIRTIOFSD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vmm/host/helper.h"

/* The two daemons take different flags (docs/shares.md). */
enum virtiofsd_flavor { VIRTIOFSD_C, VIRTIOFSD_RUST };

/* What one share asks of its daemon (filled from the configuration by vm_share.c). */
enum virtiofsd_cache { VIRTIOFSD_CACHE_AUTO, VIRTIOFSD_CACHE_ALWAYS, VIRTIOFSD_CACHE_NEVER };
struct virtiofsd_options {
	const char *host; /* the directory as the user wrote it */
	const char *what; /* the option as the user wrote it, for messages ("--share H:G") */
	bool read_only;
	bool rootfs; /* --rootfs: the guest's root tree (messages, and cached for good) */
	bool xattr;
	enum virtiofsd_cache cache;
};

struct virtiofsd_exe {
	char path[PATH_MAX];
	enum virtiofsd_flavor flavor;
	bool chroot_sandbox; /* C daemon on a host still running from its initramfs */
};

/*
 * One daemon (a helper process, see helper.h). Ownership: the VMM; `sock`
 * (our end of the vhost-user connection) is handed to the virtio-fs device,
 * which sets it to -1 here. No socket file exists after virtiofsd_start
 * returns.
 */
struct virtiofsd {
	struct helper proc;
	int sock; /* connected vhost-user socket, -1 once handed over */
};

/* Makes `d` safe to stop before it was ever started. */
static inline void virtiofsd_init(struct virtiofsd *d)
{
	helper_init(&d->proc);
	d->sock = -1;
}

/*
 * Finds the daemon: --virtiofsd, $MICROVMM_VIRTIOFSD, virtiofsd on PATH,
 * /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd (ARCHITECTURE.md §5).
 * -ENOENT with one line naming the fix in `err`.
 */
int virtiofsd_find(const char *flag_path, struct virtiofsd_exe *exe, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * The share's (or --rootfs's) directory, made absolute: it must exist and
 * be a directory. Fills `dir` and the owner's ids. -errno with one line in
 * `err`.
 */
int virtiofsd_check_dir(const struct virtiofsd_options *share, char *dir, size_t dir_len,
			uid_t *owner_uid, gid_t *owner_gid, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * Starts the daemon for `share` on `dir` (from virtiofsd_check_dir) and
 * connects to it: read-only on the host for :ro and --rootfs, and with
 * cache=always for --rootfs. The listening socket is bound in a private
 * 0700 directory, connected and unlinked before the daemon even runs; the
 * daemon gets it with --fd.
 */
int virtiofsd_start(struct virtiofsd *d, const struct virtiofsd_exe *exe, const char *dir,
		    const struct virtiofsd_options *share, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The daemon's last line on stderr (empty when none), for "it died" messages. */
void virtiofsd_last_words(const struct virtiofsd *d, char *out, size_t len);

/* Waits for the daemon to exit after its connection closed; TERM, then KILL. Idempotent. */
void virtiofsd_stop(struct virtiofsd *d);

#endif
