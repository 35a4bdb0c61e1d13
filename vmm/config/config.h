/* The run configuration: command-line parsing and validation, with no side effects. */
#ifndef MICROVMM_VMM_CONFIG_CONFIG_H
#define MICROVMM_VMM_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config/config_net.h"

#define CONFIG_DEFAULT_MEM  (512ULL << 20)
#define CONFIG_MIN_MEM	    (64ULL << 20)
#define CONFIG_DEFAULT_CPUS 1
#define CONFIG_MAX_ENV	    256
#define CONFIG_MAX_TIMEOUT  (365U * 24 * 3600)
#define CONFIG_MAX_SHARES   8
/* Guest command arguments after "--"; the guest init holds as many (INIT_MAX_ARGS). */
#define CONFIG_MAX_ARGS 1024
/*
 * The jail's default uid and gid: an id of its own, outside the ranges
 * useradd hands out, so no other process shares it (nothing else may signal
 * or ptrace the VMM).
 */
#define CONFIG_JAIL_ID	2147483646U
#define CONFIG_PATH_MAX 4096
/* virtio-fs tag: 36 bytes on the wire (virtio 1.2 §5.11.4), we keep a NUL. */
#define CONFIG_SHARE_TAG_MAX  36
#define CONFIG_GUEST_PATH_MAX 256
/* The virtio-fs tag of --rootfs; --share-socket may not take it. */
#define CONFIG_ROOTFS_TAG "microvmm-rootfs"
/* The smallest --scratch: the overlay's work directory and a rewritten /etc/passwd fit. */
#define CONFIG_MIN_SCRATCH (1ULL << 20)
/*
 * Where microvmm looks for its guest image when no --kernel is given:
 * installed, relative to the prefix (PREFIX/bin/microvmm ->
 * PREFIX/share/microvmm/guest, as CMake installs it), then relative to the
 * executable's directory in a build tree (build/microvmm -> build/guest,
 * where guest-image/build puts it).
 */
#define CONFIG_GUEST_DIR_INSTALLED "share/microvmm/guest"
#define CONFIG_GUEST_DIR_BUILD	   "guest"

/*
 * The default kernel command line (acpi-notes section 7): the 16550 is the
 * console, a panic reboots at once so the VMM sees it, and nothing that
 * would switch ACPI, the APIC or PCI routing off.
 */
#define CONFIG_DEFAULT_CMDLINE                                                                     \
	"console=ttyS0 reboot=acpi panic=-1 tsc=reliable 8250.nr_uarts=1 random.trust_cpu=on "     \
	"i8042.noaux i8042.nokbd"
#define CONFIG_QUIET_CMDLINE "quiet"

/* CONFIG_PRINT: --print-config, the effective configuration as JSON (config_json.h). */
enum config_action { CONFIG_RUN, CONFIG_HELP, CONFIG_VERSION, CONFIG_PRINT };

/* virtiofsd's cache policy (--share-cache); "never" is the C daemon's "none". */
enum config_share_cache {
	CONFIG_SHARE_CACHE_AUTO,
	CONFIG_SHARE_CACHE_ALWAYS,
	CONFIG_SHARE_CACHE_NEVER
};

/*
 * One shared folder: --share HOST:GUEST[:ro] (microvmm runs a virtiofsd for
 * it) or --share-socket TAG:SOCKET:GUEST (a virtiofsd the user runs). Only
 * syntax is checked here; whether HOST exists is the share code's business.
 */
struct config_share {
	char host[CONFIG_PATH_MAX];	    /* directory, or the socket with --share-socket */
	char guest[CONFIG_GUEST_PATH_MAX];  /* absolute mount point in the guest */
	char tag[CONFIG_SHARE_TAG_MAX + 1]; /* virtio-fs tag: microvmmN, or the user's */
	bool read_only;
	bool external; /* --share-socket: attach, do not start or stop a daemon */
	bool rootfs;   /* --rootfs: the guest's root (read-only, guest path "/") */
};

/* Strings point into argv or into the struct itself; the struct owns nothing else. */
struct config {
	enum config_action action;
	const char *config_file; /* --config FILE; its options are merged by config_json.h */
	const char *kernel;
	const char *initrd;
	const char *cmdline; /* NULL: the default */
	const char *append;  /* extra words after the default or given command line */
	unsigned int cpus;
	uint64_t mem;
	bool verbose;
	char *const *command; /* after "--", NULL-terminated; NULL when absent */
	int command_argc;
	const char *env[CONFIG_MAX_ENV]; /* --env NAME[=VALUE], in order */
	unsigned int env_count;
	bool user_root;		 /* --user root: run the command as root, not agent */
	unsigned int timeout;	 /* --timeout SECONDS; 0 = none */
	const char *console_log; /* --console-log FILE */
	const char *workdir;	 /* --workdir DIR in the guest */
	struct config_share shares[CONFIG_MAX_SHARES];
	unsigned int share_count;
	const char *virtiofsd; /* --virtiofsd PATH */
	enum config_share_cache share_cache;
	bool share_xattr;
	/* --rootfs DIR: a read-only tree as the guest's root, under a tmpfs overlay. */
	bool rootfs_set;
	struct config_share rootfs;
	uint64_t scratch; /* --scratch SIZE: the overlay's tmpfs (default: half of --mem) */
	struct config_net net;
	const char *net_log;	/* --net-log FILE: the egress filter's decisions, timestamped */
	const char *api_socket; /* --api-socket PATH (docs/embedding.md) */
	/* --boot-timeline: print the host's stage stamps at exit (vmm/timeline.h). */
	bool boot_timeline;
	/* --no-hugepages: guest RAM without transparent huge pages. */
	bool no_hugepages;
	/* The sandbox (docs/security.md): on unless --no-sandbox. */
	bool no_sandbox;
	bool seccomp_log; /* --seccomp=log: log forbidden syscalls instead of killing */
	bool jail_user_set;
	unsigned int jail_uid, jail_gid; /* --jail-user UID[:GID] */
	/* config_guest_image(): the default kernel and initrd when none were given. */
	char default_kernel[CONFIG_PATH_MAX], default_initrd[CONFIG_PATH_MAX];
};

/* Whether an option takes a value: --flag, --flag VALUE or --flag=VALUE, or --flag[=VALUE]. */
enum config_value {
	CONFIG_VALUE_NONE,
	CONFIG_VALUE_NEEDED,
	CONFIG_VALUE_INLINE, /* the next word is never its value */
};

/*
 * How an option is written in a --config file (docs/config.md): its key is
 * the long option's name with '_' for '-', its value of this kind.
 */
enum config_key_kind {
	CONFIG_KEY_NONE,    /* not a key: --help, --version, --config, --print-config */
	CONFIG_KEY_STRING,  /* "kernel": "bzImage" */
	CONFIG_KEY_INTEGER, /* "cpus": 2 */
	CONFIG_KEY_SIZE,    /* "mem": "512M" or 536870912 */
	CONFIG_KEY_BOOL,    /* "verbose": true (false: the option is absent) */
	CONFIG_KEY_LIST,    /* "env": ["A=1", "HOME"]: the option once per item */
	CONFIG_KEY_LOOPBACK /* "allow_host_loopback": true, or a list of ports */
};

/* One option: `apply` takes its value (NULL for none) into cfg, or fails with one line in err. */
struct config_option {
	const char *flag; /* without "--" */
	enum config_value value;
	int (*apply)(struct config *cfg, const char *flag, const char *value, char *err,
		     size_t err_len);
	enum config_key_kind key;
	const char *fallback; /* the default as a command line would write it; NULL: none */
};

/* How many options there are at most (config.c checks its table against it). */
#define CONFIG_OPTION_MAX 48
/* The longest option name, with its NUL. */
#define CONFIG_OPTION_NAME_MAX 32

/* The i-th option (from 0; NULL past the last), and the option named by name[0..len). */
const struct config_option *config_option_at(size_t i);
const struct config_option *config_option_find(const char *name, size_t len);

/* One option and its value into cfg, as config_parse does; -EINVAL with one line in err. */
int config_apply_option(struct config *cfg, const struct config_option *option, const char *value,
			char *err, size_t err_len) __attribute__((warn_unused_result));

/*
 * Calls visit() for each known option of argv in order, with its value as
 * written (NULL when it has none), until "--"; words config_parse would
 * refuse are skipped. Returns the index of "--", or argc when there is none.
 */
typedef void (*config_visit)(void *ctx, const struct config_option *option, const char *value);
int config_walk(int argc, char *const argv[], config_visit visit, void *ctx);

/*
 * Parses argv (argv[0] is skipped). Accepts "--flag value" and
 * "--flag=value". On error returns -EINVAL and writes one line naming the
 * problem and its fix into `err`.
 */
int config_parse(int argc, char *const argv[], struct config *cfg, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * Parses a size such as "512M", "5G", "1048576" (bytes) or "64K". Returns
 * 0 or -EINVAL for junk, a zero size or overflow.
 */
int config_parse_size(const char *text, uint64_t *bytes) __attribute__((warn_unused_result));

/*
 * config_share.c: parses one --share (external false) or --share-socket
 * (external true) value into cfg->shares and checks it against the shares
 * before it. -EINVAL with one line in `err`.
 */
int config_add_share(struct config *cfg, const char *value, bool external, char *err,
		     size_t err_len) __attribute__((warn_unused_result));
int config_parse_share_cache(const char *value, enum config_share_cache *cache)
    __attribute__((warn_unused_result));

/*
 * config_share.c: "--share HOST:GUEST", "--share-socket TAG:SOCKET:GUEST"
 * or "--rootfs DIR", the way the user wrote it, for messages.
 */
void config_share_describe(const struct config_share *share, char *out, size_t len);

/*
 * config_guest_image.c, after config_parse(): with no --kernel, the guest
 * image next to the executable `exe` (NULL: /proc/self/exe) becomes the
 * kernel, and its initrd.img the initrd unless --initrd was given; see
 * CONFIG_GUEST_DIR_*. Touches the file system (stat), unlike config_parse.
 * -ENOENT with one line naming where it looked and the fix in `err`;
 * -EINVAL when --rootfs is left without an initrd (its init builds the root).
 */
int config_guest_image(struct config *cfg, const char *exe, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* Usage text for --help. */
extern const char config_usage[];

#endif
