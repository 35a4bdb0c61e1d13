/* Guest init: shared declarations for the steps PID 1 runs, one file per step. */
#ifndef MICROVMM_GUEST_INIT_H
#define MICROVMM_GUEST_INIT_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Boot sequence (init.c): mounts_setup() -> console_setup() -> modules_load()
 * -> run_spec from the kernel command line -> run_spec_exec() -> sync and
 * power off. With microvmm's run configuration (/microvmm/run) instead:
 * runcfg_read() -> command_run(): the console ports, net_setup(),
 * rootfs_enter(), users_setup(), shares_mount(), the command, its status on
 * microvmm.ctl; then sync, shares_unmount() and power off. Every function
 * returns 0 or -errno and logs its own failures on the console; none of them
 * exits (only main() decides).
 */

#define INIT_MODULES_LIST "/etc/microvmm/modules"
#define INIT_TESTS_DIR	  "/usr/share/microvmm/tests"
#define INIT_SHELL	  "/bin/sh"
/*
 * What microvmm may send (vmm/config/config.h): CONFIG_MAX_ARGS arguments, CONFIG_MAX_ENV --env
 * entries plus its TERM, and command.c adds six defaults. At 64 each, a run with more than 64
 * arguments or --env entries was refused here after microvmm had accepted it.
 */
#define INIT_MAX_ARGS 1024
#define INIT_MAX_ENV  (256 + 1 + 6)

/*
 * timeline.c, with microvmm.bootmark on the command line only: stamp a stage
 * ("init", "command") in the kernel log; at power off, print the stages and
 * kvm-clock's offset as one "MICROVMM-REPORT timeline" line on stdout.
 */
void timeline_stage(const char *stage);
void timeline_report(void);

/* log.c: one write(2) per line to fd 2 (the console once console_setup ran). */
void init_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * files.c: the whole regular file @path (at most @max bytes) in a
 * NUL-terminated heap buffer the caller frees; write @text to @path
 * (created 0644 or truncated); replace @path by a new file through a
 * temporary file and rename(2), keeping its mode. All return 0 or -errno.
 */
int file_read(const char *path, size_t max, char **out, size_t *len)
    __attribute__((warn_unused_result));
int file_write(const char *path, const char *text);
int file_replace(const char *path, const char *text, size_t len)
    __attribute__((warn_unused_result));
/* files.c: mkdir -p @path, creating missing directories with @mode. */
int file_mkdirs(const char *path, mode_t mode) __attribute__((warn_unused_result));

/* mounts.c: /proc, /sys, /dev (devtmpfs), /dev/pts, /run, /tmp. */
int mounts_setup(void) __attribute__((warn_unused_result));

/* console.c: make /dev/console fds 0, 1 and 2 of PID 1. */
int console_setup(void) __attribute__((warn_unused_result));
/*
 * console.c: in a freshly forked child, start a new session and make the
 * real device behind /dev/console (from /sys/class/tty/console/active) its
 * controlling terminal and stdio, so shells get job control.
 */
int console_take_ctty(void) __attribute__((warn_unused_result));

/* modules.c: finit_module() every path listed in @list, in order. Returns
 * the number of failures (EEXIST is not one). */
int modules_load(const char *list);

/* cmdline.c: read /proc/cmdline into @buf (NUL-terminated). */
int cmdline_read(char *buf, size_t size) __attribute__((warn_unused_result));
/* cmdline.c: value of the first "key=value" word for @key, copied into
 * @out; -ENOENT if absent, -EINVAL if it does not fit. */
int cmdline_get(const char *cmdline, const char *key, char *out, size_t size)
    __attribute__((warn_unused_result));

/* What to run as the guest's main process. Strings are owned by the caller
 * and must outlive run_spec_exec(). */
struct run_spec {
	const char *argv[INIT_MAX_ARGS + 1]; /* NULL-terminated */
	const char *envp[INIT_MAX_ENV + 1];  /* NULL-terminated */
	const char *cwd;		     /* NULL: "/" */
	uid_t uid;			     /* 0 with gid 0: stay root */
	gid_t gid;
	int want_ctty; /* 1: console as controlling terminal (interactive) */
};

/* run.c: defaults (root, "/", PATH/HOME/TERM). */
void run_spec_init(struct run_spec *spec);
/* run.c: append one argument / environment entry; -E2BIG when full. */
int run_spec_add_arg(struct run_spec *spec, const char *arg) __attribute__((warn_unused_result));
int run_spec_set_env(struct run_spec *spec, const char *entry) __attribute__((warn_unused_result));
/*
 * run.c: fork and exec @spec, reap every child (PID 1 inherits orphans)
 * until the main one exits, and return its wait status in @status.
 */
int run_spec_exec(const struct run_spec *spec, int *status) __attribute__((warn_unused_result));

#define INIT_MAX_SHARES 8
#define INIT_MAX_GROUPS 32

/* One virtio-fs share to mount: "share" entries of the run configuration. */
struct run_share {
	const char *tag;
	const char *path;
	int read_only;
};

/* What microvmm asked for in /microvmm/run (vmm/guest/run_config.h has the format). */
struct run_config {
	struct run_spec spec; /* argv and cwd from the file */
	const char *env[INIT_MAX_ENV];
	unsigned int env_count;
	int tty;     /* the command gets hvc0 as its terminal */
	int as_root; /* else the agent user */
	unsigned int agent_uid, agent_gid;
	struct run_share shares[INIT_MAX_SHARES];
	unsigned int share_count;
	const char *rootfs_tag;	    /* NULL: the initramfs stays the root */
	unsigned long long scratch; /* bytes of tmpfs for the overlay's upper layer */
	const char *net_mode;	    /* NULL: no NIC; "dhcp" or "static" */
	char net_addr[32];	    /* static: ADDR/PREFIX */
	char net_gateway[20];	    /* static: empty without a gateway */
	unsigned int net_mtu;	    /* 0: the card's own */
	const char *dns[3];
	unsigned int dns_count;
	char *storage; /* the file's bytes; every string above points into it */
	/* users_setup(): the command's user, from /etc/passwd and /etc/group. */
	char home[256];
	char shell[256];
	gid_t groups[INIT_MAX_GROUPS]; /* the agent's supplementary groups */
	unsigned int group_count;
};

#define INIT_RUN_CONFIG "/microvmm/run"

/* runcfg.c: parse the run configuration into @rc (run_spec_init it first). */
int runcfg_read(const char *path, struct run_config *rc) __attribute__((warn_unused_result));
/*
 * runcfg.c: the same from @len bytes at @buf (with a NUL at buf[len]);
 * strings in @rc point into @buf. -EPROTO for a bad magic or version,
 * -EINVAL for a bad value.
 */
int runcfg_parse(struct run_config *rc, char *buf, size_t len) __attribute__((warn_unused_result));

/*
 * rootfs.c: with a rootfs in @rc, mount it read-only (virtio-fs), a tmpfs
 * of rc->scratch bytes and an overlay of the two, move /dev, /proc, /sys
 * and /run into the overlay, make it the root (MS_MOVE onto / and chroot,
 * as switch_root does: the initramfs cannot be pivoted away), and carry
 * /etc/resolv.conf over when the network is configured. Runs after
 * net_setup() (busybox is the initramfs's) and before users_setup() and
 * shares_mount(), whose paths are then in the new root. On failure writes
 * the reason into @why and returns -errno.
 */
int rootfs_enter(const struct run_config *rc, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/*
 * users.c: the hostname, and /etc/passwd and /etc/group with root and
 * agent, where agent has rc->agent_uid/gid: an agent entry already in the
 * file gets those ids (and its home follows), a missing one is added.
 * Fills rc->home and rc->shell for the command's user. On failure writes
 * the reason into @why and returns -errno.
 */
int users_setup(struct run_config *rc, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/*
 * shares.c: mount every share (virtiofs, by tag) at its path, creating the
 * path. On failure writes the reason into @why and returns -errno.
 */
int shares_mount(const struct run_config *rc, char *why, size_t why_len)
    __attribute__((warn_unused_result));
/* shares.c: flush and unmount the shares so nothing is pending when the VM ends. */
void shares_unmount(const struct run_config *rc);

/*
 * net.c: loopback up, ping for everyone, and eth0 by DHCP or static
 * address with /etc/resolv.conf, as the run configuration says. On
 * failure writes the reason into @why and returns -errno.
 */
int net_setup(const struct run_config *rc, char *why, size_t why_len)
    __attribute__((warn_unused_result));

/* ports.c: open the virtio console port named @want, waiting up to @timeout_ms. */
int ports_open(const char *want, int flags, unsigned int timeout_ms);
/* ports.c: wait for @path to exist (e.g. /dev/hvc0). */
int ports_wait_path(const char *path, unsigned int timeout_ms);

/* console.c: make @path the controlling terminal and stdio of a new session leader. */
int console_open_ctty(const char *path) __attribute__((warn_unused_result));

/*
 * command.c: set up the users, open the ports, run the command and report
 * "ready", "exit N", "signal N" or "error N TEXT" on microvmm.ctl. Returns
 * 0 once reported, -errno when the ports never appeared.
 */
int command_run(struct run_config *rc);

#endif
