/* The VM's shared folders: one virtiofsd and one virtio-fs device per --share and --rootfs. */
#include "vmm/vm_share.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/guest/run_config.h"
#include "vmm/log.h"

static int vm_share_connect(const struct config_share *cs, int *sock, char *err, size_t err_len)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd, ret;

	if (strlen(cs->host) >= sizeof(addr.sun_path)) {
		snprintf(err, err_len, "--share-socket %s: the socket path is too long", cs->tag);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, cs->host, strlen(cs->host));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, err_len,
			 "--share-socket %s: cannot connect to %s: %s: start virtiofsd with "
			 "--socket-path=%s first",
			 cs->tag, cs->host, strerror(-ret), cs->host);
		return ret;
	}
	*sock = fd;
	return 0;
}

/*
 * A --rootfs tree must at least hold a shell: the guest init runs the
 * command (or a login shell) from it. lstat: /bin/sh is usually a
 * symlink, and may point where only the guest's view resolves it.
 */
static int vm_share_check_rootfs(const struct vm_share *s, char *err, size_t err_len)
{
	static const char *const shells[] = {"bin/sh", "usr/bin/sh"};
	char path[PATH_MAX + 16];
	struct stat st;

	for (unsigned int i = 0; i < sizeof(shells) / sizeof(shells[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, shells[i]);
		if (lstat(path, &st) == 0)
			return 0;
	}
	snprintf(err, err_len,
		 "--rootfs %s: there is no /bin/sh in it: give the root directory of a Linux "
		 "tree (e.g. one made by mmdebstrap or debootstrap)",
		 s->cfg->host);
	return -ENOENT;
}

/* The shares in --share order, then --rootfs: one virtiofsd each. */
static int vm_shares_alloc(struct vm_shares *ss, struct vm *vm, const struct config *cfg)
{
	unsigned int count = cfg->share_count + (cfg->rootfs_set ? 1 : 0);

	if (!count)
		return 0;
	ss->list = calloc(count, sizeof(*ss->list));
	if (!ss->list)
		return -ENOMEM;
	for (unsigned int i = 0; i < count; i++) {
		virtiofsd_init(&ss->list[i].daemon);
		ss->list[i].cfg = i < cfg->share_count ? &cfg->shares[i] : &cfg->rootfs;
		ss->list[i].vm = vm;
	}
	ss->count = count;
	return 0;
}
/* What the share's daemon is told: the share's own flags and the global cache and xattr ones. */
static void vm_share_daemon_options(struct vm_share *s, const struct config *cfg)
{
	static const enum virtiofsd_cache caches[] = {
	    [CONFIG_SHARE_CACHE_AUTO] = VIRTIOFSD_CACHE_AUTO,
	    [CONFIG_SHARE_CACHE_ALWAYS] = VIRTIOFSD_CACHE_ALWAYS,
	    [CONFIG_SHARE_CACHE_NEVER] = VIRTIOFSD_CACHE_NEVER,
	};

	config_share_describe(s->cfg, s->what, sizeof(s->what));
	s->daemon_opts = (struct virtiofsd_options){
	    .host = s->cfg->host,
	    .what = s->what,
	    .read_only = s->cfg->read_only,
	    .rootfs = s->cfg->rootfs,
	    .xattr = cfg->share_xattr,
	    .cache = caches[cfg->share_cache],
	};
}

int vm_shares_start(struct vm_shares *ss, struct vm *vm, const struct config *cfg, char *err,
		    size_t err_len)
{
	struct virtiofsd_exe exe;
	bool have_exe = false;
	bool owner_set = false;
	int ret;

	ss->agent_uid = ss->agent_gid = RUN_CONFIG_AGENT_ID;
	ret = vm_shares_alloc(ss, vm, cfg);
	if (ret)
		return ret;
	/* Every directory first: a typo fails before any daemon starts. */
	for (unsigned int i = 0; i < ss->count; i++) {
		struct vm_share *s = &ss->list[i];
		uid_t uid;
		gid_t gid;

		if (s->cfg->external)
			continue;
		vm_share_daemon_options(s, cfg);
		ret = virtiofsd_check_dir(&s->daemon_opts, s->dir, sizeof(s->dir), &uid, &gid, err,
					  err_len);
		if (!ret && s->cfg->rootfs)
			ret = vm_share_check_rootfs(s, err, err_len);
		if (ret)
			return ret;
		/* Files the agent creates belong to whoever owns the first writable share. */
		if (!s->cfg->read_only && !owner_set) {
			ss->agent_uid = uid;
			ss->agent_gid = gid;
			owner_set = true;
		}
	}
	for (unsigned int i = 0; i < ss->count; i++) {
		struct vm_share *s = &ss->list[i];

		if (s->cfg->external) {
			ret = vm_share_connect(s->cfg, &s->daemon.sock, err, err_len);
			if (ret)
				return ret;
			continue;
		}
		if (!have_exe) {
			ret = virtiofsd_find(cfg->virtiofsd, &exe, err, err_len);
			if (ret)
				return ret;
			have_exe = true;
			log_info("share", "virtiofsd: %s (%s)", exe.path,
				 exe.flavor == VIRTIOFSD_C ? "C" : "Rust");
		}
		ret = virtiofsd_start(&s->daemon, &exe, s->dir, &s->daemon_opts, err, err_len);
		if (ret)
			return ret;
	}
	return 0;
}

/* Loop thread: the daemon closed its end. The share cannot come back (FUSE state is gone). */
static void vm_share_gone(void *ctx, struct virtio_fs *fs)
{
	struct vm_share *s = ctx;
	char what[256], last[200], detail[512];

	(void)fs;
	config_share_describe(s->cfg, what, sizeof(what));
	virtiofsd_last_words(&s->daemon, last, sizeof(last));
	snprintf(detail, sizeof(detail), "the virtiofsd serving %s stopped%s%s", what,
		 last[0] ? ": " : "", last);
	vm_fail(s->vm, detail);
}

/* A share's part of struct vm_virtio_dev: the device takes over the daemon's connection. */
static int vm_share_init(void *ctx, const struct virtio_pci_host *host, uint64_t bar, char *err,
			 size_t err_len)
{
	struct vm_share *s = ctx;
	const struct guest_mem *mem = s->mem;
	struct vhost_user_region regions[GUEST_RAM_MAX_REGIONS];
	char what[256], last[200];
	int sock = s->daemon.sock;
	int ret;

	/* vhost-user's memory table (vhost-user.rst, SET_MEM_TABLE): the daemon maps the RAM fd. */
	for (unsigned int r = 0; r < mem->ram.count; r++) {
		const struct guest_ram_region *reg = &mem->ram.regions[r];

		regions[r] = (struct vhost_user_region){
		    .guest_addr = reg->gpa,
		    .size = reg->size,
		    .user_addr = (uint64_t)(uintptr_t)reg->host,
		    .mmap_offset = (uint64_t)(reg->host - mem->base),
		    .fd = mem->fd,
		};
	}
	s->daemon.sock = -1; /* the device owns it now, even on failure */
	ret = virtio_fs_init(&s->fs, s->cfg->tag, sock, regions, mem->ram.count, host, bar);
	if (ret) {
		config_share_describe(s->cfg, what, sizeof(what));
		/* Give a daemon that failed at start a moment to finish its message. */
		usleep(20000);
		virtiofsd_last_words(&s->daemon, last, sizeof(last));
		snprintf(err, err_len, "virtiofsd for %s failed to start (%s)%s%s", what,
			 strerror(-ret), last[0] ? ": " : "", last);
	}
	return ret;
}

static void vm_share_fs_destroy(void *ctx)
{
	struct vm_share *s = ctx;

	virtio_fs_destroy(&s->fs);
}

static int vm_share_device(struct vm_share *s, char *err, size_t err_len)
{
	const struct vm_virtio_dev dev = {
	    .what = s->cfg->tag,
	    .init = vm_share_init,
	    .destroy = vm_share_fs_destroy,
	    .ctx = s,
	    .vp = &s->fs.vp,
	};
	int ret = vm_virtio_add(s->vm, &dev, &s->msi, err, err_len);

	if (ret)
		return ret;
	s->fs_ready = true;
	ret = virtio_fs_watch(&s->fs, vm_share_gone, s);
	if (ret)
		snprintf(err, err_len, "cannot watch the virtiofsd connection: %s", strerror(-ret));
	return ret;
}

int vm_shares_devices(struct vm_shares *ss, const struct guest_mem *mem, char *err, size_t err_len)
{
	for (unsigned int i = 0; i < ss->count; i++) {
		int ret;

		ss->list[i].mem = mem;
		ret = vm_share_device(&ss->list[i], err, err_len);

		if (ret)
			return ret;
	}
	return 0;
}

void vm_shares_destroy(struct vm_shares *ss)
{
	/* Closing every connection first lets the daemons exit in parallel. */
	for (unsigned int i = 0; i < ss->count; i++) {
		struct vm_share *s = &ss->list[i];

		if (s->fs_ready)
			virtio_fs_destroy(&s->fs);
		s->fs_ready = false;
		if (s->daemon.sock >= 0)
			close(s->daemon.sock);
		s->daemon.sock = -1;
	}
	for (unsigned int i = 0; i < ss->count; i++)
		virtiofsd_stop(&ss->list[i].daemon);
	free(ss->list);
	ss->list = NULL;
	ss->count = 0;
}
