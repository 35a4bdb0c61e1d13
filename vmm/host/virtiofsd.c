/* Starting, watching and stopping the virtiofsd that serves one --share. */
#include "vmm/host/virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define VIRTIOFSD_MAX_ARGS	16
#define VIRTIOFSD_STOP_WAIT_MS	3000
#define VIRTIOFSD_PROBE_WAIT_MS 2000
/* The daemon gets its listening socket as fd 3 (--fd=3). */
#define VIRTIOFSD_LISTEN_FD HELPER_PASSED_FD

/*
 * Which daemon this is. Debian's path is the C one; others answer
 * --version: "virtiofsd version 7.x" (C, QEMU) or "virtiofsd 1.x" (Rust).
 */
static enum virtiofsd_flavor virtiofsd_probe(const char *path)
{
	char out[128] = "";
	int pipe_fds[2];
	pid_t pid;
	ssize_t n = 0;

	if (!strcmp(path, "/usr/lib/qemu/virtiofsd"))
		return VIRTIOFSD_C;
	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return VIRTIOFSD_RUST;
	pid = fork();
	if (pid == 0) {
		dup2(pipe_fds[1], STDOUT_FILENO);
		int null_fd = open("/dev/null", O_WRONLY);

		if (null_fd >= 0)
			dup2(null_fd, STDERR_FILENO);
		execl(path, path, "--version", (char *)NULL);
		_exit(127);
	}
	close(pipe_fds[1]);
	if (pid > 0) {
		struct pollfd p = {.fd = pipe_fds[0], .events = POLLIN};

		if (poll(&p, 1, VIRTIOFSD_PROBE_WAIT_MS) > 0)
			n = read(pipe_fds[0], out, sizeof(out) - 1);
		out[n > 0 ? n : 0] = '\0';
		if (!helper_reap_within(pid, VIRTIOFSD_PROBE_WAIT_MS)) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	close(pipe_fds[0]);
	return strncmp(out, "virtiofsd version", 17) ? VIRTIOFSD_RUST : VIRTIOFSD_C;
}

/*
 * Whether / is the initramfs itself (a minimal host that never switched
 * root): pivot_root(2) refuses rootfs, so the C daemon's namespace sandbox
 * cannot start there and only its chroot sandbox is left.
 */
static bool virtiofsd_root_is_rootfs(void)
{
	char line[512], type[64] = "";
	FILE *f = fopen("/proc/self/mounts", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char dev[256], dir[256], fstype[64];

		/* The last mount on "/" is the one in effect. */
		if (sscanf(line, "%255s %255s %63s", dev, dir, fstype) == 3 && !strcmp(dir, "/"))
			snprintf(type, sizeof(type), "%s", fstype);
	}
	fclose(f);
	return !strcmp(type, "rootfs");
}

int virtiofsd_find(const char *flag_path, struct virtiofsd_exe *exe, char *err, size_t err_len)
{
	static const char *const fixed[] = {"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"};
	const char *env = getenv("MICROVMM_VIRTIOFSD");
	const char *given = flag_path ? flag_path : (env && *env ? env : NULL);
	bool found = false;

	if (given) {
		if (!helper_executable(given)) {
			snprintf(err, err_len,
				 "virtiofsd '%s' (from %s) is not an executable file: install "
				 "virtiofsd or give the right path",
				 given, flag_path ? "--virtiofsd" : "$MICROVMM_VIRTIOFSD");
			return -ENOENT;
		}
		found =
		    (size_t)snprintf(exe->path, sizeof(exe->path), "%s", given) < sizeof(exe->path);
	} else {
		found = helper_find_on_path("virtiofsd", exe->path, sizeof(exe->path));
		for (size_t i = 0; !found && i < sizeof(fixed) / sizeof(fixed[0]); i++)
			if (helper_executable(fixed[i]))
				found = snprintf(exe->path, sizeof(exe->path), "%s", fixed[i]) > 0;
	}
	if (!found) {
		snprintf(err, err_len,
			 "virtiofsd is not installed (--share needs it): apt-get install "
			 "qemu-system-common (Debian 12) or virtiofsd, or give --virtiofsd PATH");
		return -ENOENT;
	}
	exe->flavor = virtiofsd_probe(exe->path);
	exe->chroot_sandbox = exe->flavor == VIRTIOFSD_C && virtiofsd_root_is_rootfs();
	return 0;
}

int virtiofsd_check_dir(const struct virtiofsd_options *share, char *dir, size_t dir_len,
			uid_t *owner_uid, gid_t *owner_gid, char *err, size_t err_len)
{
	const char *what = share->what;
	char resolved[PATH_MAX];
	struct stat st;
	int ret;

	/* "--share H:G: H: ...", but "--rootfs H: ...": it names the path once. */
	const char *path = share->rootfs ? "" : share->host;
	const char *sep = share->rootfs ? "" : ": ";

	if (!realpath(share->host, resolved)) {
		ret = -errno;
		snprintf(err, err_len, "%s: %s%s%s: create it or fix the path", what, path, sep,
			 strerror(-ret));
		return ret;
	}
	if (stat(resolved, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, err_len, "%s: %s%snot a directory: give a directory", what, path,
			 share->rootfs ? "" : " is ");
		return -ENOTDIR;
	}
	/* The C daemon's -o parser splits at ',' and eats '\\'. */
	if (strpbrk(resolved, ",\\")) {
		snprintf(err, err_len,
			 "%s: virtiofsd cannot take a path with ',' or '\\': give a directory "
			 "without them (e.g. through a symlink-free parent)",
			 what);
		return -EINVAL;
	}
	if ((size_t)snprintf(dir, dir_len, "%s", resolved) >= dir_len)
		return -ENAMETOOLONG;
	*owner_uid = st.st_uid;
	*owner_gid = st.st_gid;
	return 0;
}

/* ---- the daemon's command line ---- */

struct virtiofsd_argv {
	char *argv[VIRTIOFSD_MAX_ARGS];
	char fd_arg[32], source_arg[PATH_MAX + 32], cache_arg[32];
};

static void virtiofsd_build_argv(struct virtiofsd_argv *a, const struct virtiofsd_exe *exe,
				 const char *dir, const struct virtiofsd_options *share)
{
	static const char *const cache_c[] = {"auto", "always", "none"};
	static const char *const cache_rust[] = {"auto", "always", "never"};
	/*
	 * The root tree is read-only and must not change under a running
	 * guest (its overlay assumes so, overlayfs.rst "Changes to underlying
	 * filesystems"), so the guest may cache it for good.
	 */
	enum virtiofsd_cache cache = share->rootfs ? VIRTIOFSD_CACHE_ALWAYS : share->cache;
	bool read_only = share->read_only;
	unsigned int n = 0;

	a->argv[n++] = (char *)exe->path;
	snprintf(a->fd_arg, sizeof(a->fd_arg), "--fd=%d", VIRTIOFSD_LISTEN_FD);
	a->argv[n++] = a->fd_arg;
	if (exe->flavor == VIRTIOFSD_C) {
		snprintf(a->source_arg, sizeof(a->source_arg), "source=%s", dir);
		snprintf(a->cache_arg, sizeof(a->cache_arg), "cache=%s", cache_c[cache]);
		a->argv[n++] = "-o";
		a->argv[n++] = a->source_arg;
		a->argv[n++] = "-o";
		a->argv[n++] = a->cache_arg;
		a->argv[n++] = "-o";
		a->argv[n++] = share->xattr ? "xattr" : "no_xattr";
		/* Errors only: info lines would fill the log memfd for nothing. */
		a->argv[n++] = "-o";
		a->argv[n++] = "log_level=err";
		if (exe->chroot_sandbox) {
			a->argv[n++] = "-o";
			a->argv[n++] = "sandbox=chroot";
		}
	} else {
		snprintf(a->source_arg, sizeof(a->source_arg), "--shared-dir=%s", dir);
		snprintf(a->cache_arg, sizeof(a->cache_arg), "--cache=%s", cache_rust[cache]);
		a->argv[n++] = a->source_arg;
		a->argv[n++] = a->cache_arg;
		if (share->xattr)
			a->argv[n++] = "--xattr";
		if (read_only)
			a->argv[n++] = "--readonly";
		a->argv[n++] = "--log-level=error";
	}
	a->argv[n] = NULL;
}

/* ---- the child ---- */

/*
 * Read-only is the host's business (the C daemon has no such option): the
 * daemon runs in a private mount namespace where the share is a read-only
 * bind mount of itself, submounts included. Its own sandbox then pivots
 * into that mount. Runs in the child, between fork and exec.
 */
static void virtiofsd_read_only_mount(void *arg)
{
	const char *dir = arg;
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

	if (unshare(CLONE_NEWNS) < 0)
		helper_child_fail("a private mount namespace for a read-only share");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		helper_child_fail("making mounts private");
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		helper_child_fail("bind-mounting the share");
	if (syscall(SYS_mount_setattr, AT_FDCWD, dir, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
		return;
	/* Before Linux 5.12: the top mount only. */
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		helper_child_fail("making the share read-only");
}

/* ---- the socket ---- */

static int virtiofsd_socket_dir(char *dir, size_t len)
{
	const char *base = getenv("XDG_RUNTIME_DIR");

	/* sun_path holds 108 bytes: fall back to /tmp when the runtime dir is long. */
	if (!base || !*base || access(base, W_OK) < 0 || strlen(base) > 64)
		base = "/tmp";
	if ((size_t)snprintf(dir, len, "%s/microvmm-XXXXXX", base) >= len)
		return -ENAMETOOLONG;
	return mkdtemp(dir) ? 0 : -errno; /* mode 0700 */
}

/*
 * A listening socket that already has our connection queued, and no name
 * left in the file system: the daemon accepts exactly that connection.
 */
static int virtiofsd_socket(int *listen_out, int *conn_out)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char dir[96];
	int listen_fd = -1, conn = -1, ret;

	ret = virtiofsd_socket_dir(dir, sizeof(dir));
	if (ret)
		return ret;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/vhost.sock", dir);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || conn < 0 ||
	    bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(listen_fd, 1) < 0 || connect(conn, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		ret = -errno;
	unlink(addr.sun_path);
	rmdir(dir);
	if (ret) {
		if (listen_fd >= 0)
			close(listen_fd);
		if (conn >= 0)
			close(conn);
		return ret;
	}
	*listen_out = listen_fd;
	*conn_out = conn;
	return 0;
}

int virtiofsd_start(struct virtiofsd *d, const struct virtiofsd_exe *exe, const char *dir,
		    const struct virtiofsd_options *share, char *err, size_t err_len)
{
	struct virtiofsd_argv a;
	int listen_fd = -1, ret;
	/* Without privileges only the Rust daemon's --readonly is left. */
	bool ro_mount = share->read_only && geteuid() == 0;

	helper_init(&d->proc);
	d->sock = -1;
	if (share->read_only && !ro_mount && exe->flavor == VIRTIOFSD_C) {
		snprintf(err, err_len,
			 "%s is read-only, which needs root with %s (it has no read-only option): "
			 "run microvmm as root or use the Rust virtiofsd",
			 share->rootfs ? "--rootfs" : "a :ro share", exe->path);
		return -EPERM;
	}
	virtiofsd_build_argv(&a, exe, dir, share);
	ret = virtiofsd_socket(&listen_fd, &d->sock);
	if (ret) {
		snprintf(err, err_len, "cannot create the virtiofsd socket: %s", strerror(-ret));
		return ret;
	}
	ret = helper_spawn(&d->proc, a.argv, listen_fd, ro_mount ? virtiofsd_read_only_mount : NULL,
			   (void *)dir);
	close(listen_fd);
	if (ret)
		snprintf(err, err_len, "cannot start virtiofsd: %s", strerror(-ret));
	return ret;
}

void virtiofsd_last_words(const struct virtiofsd *d, char *out, size_t len)
{
	helper_last_words(&d->proc, out, len);
}

void virtiofsd_stop(struct virtiofsd *d)
{
	if (d->sock >= 0)
		close(d->sock);
	d->sock = -1;
	/* A closed connection makes both daemons exit on their own. */
	helper_stop(&d->proc, VIRTIOFSD_STOP_WAIT_MS);
}
