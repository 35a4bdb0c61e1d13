/* The run configuration: command-line parsing and validation, with no side effects. */
#include "vmm/config/config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char config_usage[] =
    "usage: microvmm [--kernel FILE] [--initrd FILE] [options] [-- COMMAND [ARG]...]\n"
    "\n"
    "Boot a Linux kernel in a KVM microVM.\n"
    "\n"
    "  --kernel FILE     bzImage or vmlinux to boot (default: microvmm's guest\n"
    "                    image, from PREFIX/share/microvmm/guest when installed,\n"
    "                    else from guest/ beside the executable)\n"
    "  --initrd FILE     initial ramdisk (default: the guest image's, when the\n"
    "                    kernel is the default one too)\n"
    "  --cpus N          number of vCPUs (default 1)\n"
    "  --mem SIZE        guest RAM, e.g. 512M or 4G (default 512M, at least 64M)\n"
    "  --no-hugepages    back guest RAM with 4K pages only (default: transparent\n"
    "                    huge pages where the host allows them; they boot faster\n"
    "                    and may take more host memory)\n"
    "  --cmdline TEXT    replace the default kernel command line\n"
    "  --append TEXT     add words to the kernel command line\n"
    "  --env NAME[=VAL]  set an environment variable for the command (NAME alone:\n"
    "                    take the host's value); repeatable\n"
    "  --user agent|root run the command as the unprivileged agent user (default)\n"
    "                    or as root\n"
    "  --workdir DIR     the command's working directory in the guest (default:\n"
    "                    /workspace when shared, else the first share)\n"
    "  --share HOST:GUEST[:ro]  share host directory HOST at GUEST in the guest\n"
    "                    (virtio-fs through virtiofsd); :ro is enforced on the host;\n"
    "                    repeatable. The agent user gets the uid/gid of the first\n"
    "                    read-write share's owner\n"
    "  --share-socket TAG:SOCKET:GUEST  attach a virtiofsd you started yourself\n"
    "  --share-cache auto|always|never  virtiofsd cache policy (default auto)\n"
    "  --share-xattr     pass extended attributes through (default off)\n"
    "  --rootfs DIR      the guest's root is host directory DIR (e.g. a Debian\n"
    "                    tree), read-only (enforced on the host) under a tmpfs\n"
    "                    overlay: writes outside shares are gone at exit\n"
    "  --scratch SIZE    the overlay's tmpfs size (default: half of --mem)\n"
    "  --net MODE        none (default: no NIC), user (NAT through passt),\n"
    "                    tap=NAME (an existing tap), bridge=BR (a new tap on BR)\n"
    "  --allow RULE      let the guest reach only these: HOST[:PORT], CIDR[:PORT],\n"
    "                    [IPv6]:PORT; repeatable; everything else is dropped\n"
    "  --allow-host-loopback[=PORT]  (user) let the guest reach the host's\n"
    "                    loopback services through the gateway address: every\n"
    "                    port, or only TCP/UDP PORT (repeatable); not an --allow\n"
    "                    rule: without those, public addresses still pass\n"
    "  --publish H:G[/udp]  (user) forward host port H to guest port G\n"
    "  --mac MAC         the NIC's address (default: random, locally administered)\n"
    "  --ip A/N[@GW]     static IPv4 address instead of DHCP; --dns ADDR with it\n"
    "  --net-log FILE    append the egress filter's decisions (allowed and dropped\n"
    "                    destinations) to FILE, one UTC-timestamped line each\n"
    "  --jail-user UID[:GID]  the ids microvmm drops to in its jail (default\n"
    "                    2147483646, an id of its own)\n"
    "  --seccomp=log     log forbidden system calls instead of killing (debugging)\n"
    "  --no-sandbox      no jail, seccomp or io_uring restrictions (debugging)\n"
    "  --virtiofsd PATH  the virtiofsd to run (default: $MICROVMM_VIRTIOFSD,\n"
    "                    virtiofsd on PATH, /usr/libexec/virtiofsd,\n"
    "                    /usr/lib/qemu/virtiofsd)\n"
    "  --timeout SECS    stop the command after SECS seconds (exit status 124)\n"
    "  --console-log FILE  append everything the guest prints to FILE\n"
    "  --verbose         show the kernel's boot messages and VMM info logs\n"
    "  --boot-timeline   at exit, print when each stage began: main, KVM_CREATE_VM,\n"
    "                    first KVM_RUN, guest stopped, exit (docs/benchmarks.md)\n"
    "  --help            show this help\n"
    "  --version         show the version\n"
    "\n"
    "With -- COMMAND, the command runs in the guest (microvmm's guest image)\n"
    "and microvmm exits with its status: 128+N when it was killed by signal N,\n"
    "124 on --timeout, 126 when it cannot be executed, 127 when it is not found.\n"
    "Without a command: an interactive shell, and 0 when the guest powers off\n"
    "or reboots. 123: the guest kernel panicked. 125: microvmm itself failed\n"
    "(bad flags or files, KVM errors). Ctrl-] on a terminal ends the VM (130).\n"
    "See microvmm(1).\n";

enum config_value {
	VALUE_NONE,   /* --flag */
	VALUE_NEEDED, /* --flag VALUE or --flag=VALUE */
	VALUE_INLINE, /* --flag, or --flag=VALUE (the next word is never its value) */
};

int config_parse_size(const char *text, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	/* strtoull would skip spaces and accept a sign: only digits may start a size. */
	if (!text || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if (shift && (*end == 'i' || *end == 'B'))
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || v == 0 || v > (ULLONG_MAX >> shift))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int config_parse_cpus(const char *text, unsigned int *cpus)
{
	char *end;
	unsigned long v;

	if (!text || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v == 0 || v > UINT_MAX)
		return -EINVAL;
	*cpus = (unsigned int)v;
	return 0;
}

static int config_apply_env(struct config *cfg, const char *value, char *err, size_t err_len)
{
	size_t name_len = strcspn(value, "=");

	if (name_len == 0) {
		snprintf(err, err_len, "--env '%s' has no variable name: use --env NAME=VALUE",
			 value);
		return -EINVAL;
	}
	for (size_t i = 0; i < name_len; i++) {
		char ch = value[i];

		if (!(ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (i > 0 && ch >= '0' && ch <= '9'))) {
			snprintf(err, err_len,
				 "--env '%s': a variable name has only letters, digits and _",
				 value);
			return -EINVAL;
		}
	}
	if (cfg->env_count == CONFIG_MAX_ENV) {
		snprintf(err, err_len, "more than %d --env options", CONFIG_MAX_ENV);
		return -EINVAL;
	}
	cfg->env[cfg->env_count++] = value;
	return 0;
}

static int config_apply_timeout(struct config *cfg, const char *value, char *err, size_t err_len)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = (value && *value >= '0' && *value <= '9') ? strtoul(value, &end, 10) : 0;
	if (!value || *value < '0' || *value > '9' || errno || *end || v == 0 ||
	    v > CONFIG_MAX_TIMEOUT) {
		snprintf(err, err_len, "--timeout '%s' is not a number of seconds: give 1 or more",
			 value ? value : "");
		return -EINVAL;
	}
	cfg->timeout = (unsigned int)v;
	return 0;
}

/* UID[:GID], numeric: the jail has no /etc/passwd to look names up in later. */
static int config_apply_jail_user(struct config *cfg, const char *value, char *err, size_t err_len)
{
	char *end;
	unsigned long uid, gid;

	errno = 0;
	uid = strtoul(value, &end, 10);
	gid = uid;
	if (end != value && *end == ':')
		gid = strtoul(end + 1, &end, 10);
	if (errno || end == value || *end || *value < '0' || *value > '9' || uid == 0 || gid == 0 ||
	    uid > 0xfffffffeUL || gid > 0xfffffffeUL) {
		snprintf(err, err_len,
			 "--jail-user '%s' is not UID[:GID] (numbers, not 0): give e.g. "
			 "--jail-user 64000:64000",
			 value);
		return -EINVAL;
	}
	cfg->jail_user_set = true;
	cfg->jail_uid = (unsigned int)uid;
	cfg->jail_gid = (unsigned int)gid;
	return 0;
}

/* --mem, --scratch: a size, or one line naming FLAG and an EXAMPLE. */
static int config_apply_size(const char *flag, const char *value, const char *example,
			     uint64_t *out, char *err, size_t err_len)
{
	if (config_parse_size(value, out) == 0)
		return 0;
	snprintf(err, err_len,
		 "%s '%s' is not a size: give bytes or a number with K, M or G, e.g. %s", flag,
		 value, example);
	return -EINVAL;
}

/* --rootfs DIR: a read-only share of its own; whether DIR is a tree is vm_share.c's business. */
static int config_apply_rootfs(struct config *cfg, const char *value, char *err, size_t err_len)
{
	struct config_share *root = &cfg->rootfs;

	if (!*value || strlen(value) >= sizeof(root->host)) {
		snprintf(err, err_len, "--rootfs needs a directory: give e.g. --rootfs ./rootfs");
		return -EINVAL;
	}
	memset(root, 0, sizeof(*root));
	snprintf(root->host, sizeof(root->host), "%s", value);
	snprintf(root->guest, sizeof(root->guest), "/");
	snprintf(root->tag, sizeof(root->tag), "%s", CONFIG_ROOTFS_TAG);
	root->read_only = true;
	root->rootfs = true;
	cfg->rootfs_set = true;
	return 0;
}

/*
 * One handler per flag: `name` is the flag without "--", `value` its value
 * (NULL for a flag that takes none, or an inline one not given).
 */
typedef int (*config_handler)(struct config *cfg, const char *name, const char *value, char *err,
			      size_t err_len);

#define CONFIG_SET(field, v)                                                                       \
	static int config_set_##field(struct config *cfg, const char *name, const char *value,     \
				      char *err, size_t err_len)                                   \
	{                                                                                          \
		(void)name, (void)value, (void)err, (void)err_len;                                 \
		cfg->field = (v);                                                                  \
		return 0;                                                                          \
	}
CONFIG_SET(kernel, value)
CONFIG_SET(initrd, value)
CONFIG_SET(cmdline, value)
CONFIG_SET(append, value)
CONFIG_SET(console_log, value)
CONFIG_SET(virtiofsd, value)
CONFIG_SET(verbose, true)
CONFIG_SET(share_xattr, true)
CONFIG_SET(no_sandbox, true)
CONFIG_SET(no_hugepages, true)
CONFIG_SET(boot_timeline, true)
#undef CONFIG_SET

static int config_on_help(struct config *cfg, const char *name, const char *value, char *err,
			  size_t err_len)
{
	(void)value, (void)err, (void)err_len;
	cfg->action = strcmp(name, "help") ? CONFIG_VERSION : CONFIG_HELP;
	return 0;
}

static int config_on_env(struct config *cfg, const char *name, const char *value, char *err,
			 size_t err_len)
{
	(void)name;
	return config_apply_env(cfg, value, err, err_len);
}

static int config_on_timeout(struct config *cfg, const char *name, const char *value, char *err,
			     size_t err_len)
{
	(void)name;
	return config_apply_timeout(cfg, value, err, err_len);
}

static int config_on_workdir(struct config *cfg, const char *name, const char *value, char *err,
			     size_t err_len)
{
	(void)name;
	if (value[0] == '/')
		return (cfg->workdir = value), 0;
	snprintf(err, err_len, "--workdir '%s' must be an absolute guest path", value);
	return -EINVAL;
}

static int config_on_share(struct config *cfg, const char *name, const char *value, char *err,
			   size_t err_len)
{
	return config_add_share(cfg, value, !strcmp(name, "share-socket"), err, err_len);
}

static int config_on_share_cache(struct config *cfg, const char *name, const char *value, char *err,
				 size_t err_len)
{
	(void)name;
	if (config_parse_share_cache(value, &cfg->share_cache) == 0)
		return 0;
	snprintf(err, err_len, "--share-cache '%s' is unknown: give auto, always or never", value);
	return -EINVAL;
}

static int config_on_rootfs(struct config *cfg, const char *name, const char *value, char *err,
			    size_t err_len)
{
	(void)name;
	return config_apply_rootfs(cfg, value, err, err_len);
}

static int config_on_size(struct config *cfg, const char *name, const char *value, char *err,
			  size_t err_len)
{
	bool scratch = !strcmp(name, "scratch");

	return config_apply_size(scratch ? "--scratch" : "--mem", value, scratch ? "2G" : "512M",
				 scratch ? &cfg->scratch : &cfg->mem, err, err_len);
}

static int config_on_net(struct config *cfg, const char *name, const char *value, char *err,
			 size_t err_len)
{
	return config_net_apply(&cfg->net, name, value, err, err_len);
}

static int config_on_net_log(struct config *cfg, const char *name, const char *value, char *err,
			     size_t err_len)
{
	(void)name;
	if (*value)
		return (cfg->net_log = value), 0;
	snprintf(err, err_len, "--net-log needs a file name: give e.g. --net-log net.log");
	return -EINVAL;
}

static int config_on_seccomp(struct config *cfg, const char *name, const char *value, char *err,
			     size_t err_len)
{
	(void)name;
	if (!strcmp(value, "kill") || !strcmp(value, "log")) {
		cfg->seccomp_log = !strcmp(value, "log");
		return 0;
	}
	snprintf(err, err_len, "--seccomp '%s' is unknown: give kill (default) or log", value);
	return -EINVAL;
}

static int config_on_jail_user(struct config *cfg, const char *name, const char *value, char *err,
			       size_t err_len)
{
	(void)name;
	return config_apply_jail_user(cfg, value, err, err_len);
}

static int config_on_user(struct config *cfg, const char *name, const char *value, char *err,
			  size_t err_len)
{
	(void)name;
	if (!strcmp(value, "root") || !strcmp(value, "agent")) {
		cfg->user_root = !strcmp(value, "root");
		return 0;
	}
	snprintf(err, err_len, "--user '%s' is unknown: give agent or root", value);
	return -EINVAL;
}

static int config_on_cpus(struct config *cfg, const char *name, const char *value, char *err,
			  size_t err_len)
{
	(void)name;
	if (config_parse_cpus(value, &cfg->cpus) == 0)
		return 0;
	snprintf(err, err_len, "--cpus '%s' is not a vCPU count: give a whole number >= 1", value);
	return -EINVAL;
}

struct config_flag_info {
	const char *name;
	enum config_value value;
	config_handler apply;
};

/* Every flag: its name, whether it takes a value, and who applies it. */
static const struct config_flag_info config_flags[] = {
    {"kernel", VALUE_NEEDED, config_set_kernel},
    {"initrd", VALUE_NEEDED, config_set_initrd},
    {"cpus", VALUE_NEEDED, config_on_cpus},
    {"mem", VALUE_NEEDED, config_on_size},
    {"no-hugepages", VALUE_NONE, config_set_no_hugepages},
    {"cmdline", VALUE_NEEDED, config_set_cmdline},
    {"append", VALUE_NEEDED, config_set_append},
    {"verbose", VALUE_NONE, config_set_verbose},
    {"boot-timeline", VALUE_NONE, config_set_boot_timeline},
    {"help", VALUE_NONE, config_on_help},
    {"version", VALUE_NONE, config_on_help},
    {"env", VALUE_NEEDED, config_on_env},
    {"user", VALUE_NEEDED, config_on_user},
    {"timeout", VALUE_NEEDED, config_on_timeout},
    {"console-log", VALUE_NEEDED, config_set_console_log},
    {"workdir", VALUE_NEEDED, config_on_workdir},
    {"share", VALUE_NEEDED, config_on_share},
    {"share-socket", VALUE_NEEDED, config_on_share},
    {"share-cache", VALUE_NEEDED, config_on_share_cache},
    {"share-xattr", VALUE_NONE, config_set_share_xattr},
    {"rootfs", VALUE_NEEDED, config_on_rootfs},
    {"scratch", VALUE_NEEDED, config_on_size},
    {"virtiofsd", VALUE_NEEDED, config_set_virtiofsd},
    /* Networking flags: config_net.c takes them by name. */
    {"net", VALUE_NEEDED, config_on_net},
    {"mac", VALUE_NEEDED, config_on_net},
    {"allow", VALUE_NEEDED, config_on_net},
    {"allow-host-loopback", VALUE_INLINE, config_on_net},
    {"publish", VALUE_NEEDED, config_on_net},
    {"ip", VALUE_NEEDED, config_on_net},
    {"dns", VALUE_NEEDED, config_on_net},
    {"net-log", VALUE_NEEDED, config_on_net_log},
    {"no-sandbox", VALUE_NONE, config_set_no_sandbox},
    {"seccomp", VALUE_NEEDED, config_on_seccomp},
    {"jail-user", VALUE_NEEDED, config_on_jail_user},
};

static const struct config_flag_info *config_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(config_flags) / sizeof(config_flags[0]); i++)
		if (strlen(config_flags[i].name) == len &&
		    !strncmp(config_flags[i].name, name, len))
			return &config_flags[i];
	return NULL;
}

static int config_parse_flag(int argc, char *const argv[], int *i, struct config *cfg, char *err,
			     size_t err_len)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct config_flag_info *info = config_lookup(arg, name_len);
	const char *value = NULL;

	if (!info) {
		snprintf(err, err_len, "unknown option '%s': see 'microvmm --help'", argv[*i]);
		return -EINVAL;
	}
	if (info->value == VALUE_NEEDED) {
		if (eq) {
			value = eq + 1;
		} else if (*i + 1 < argc) {
			value = argv[++*i];
		} else {
			snprintf(err, err_len, "option '--%s' needs a value: see 'microvmm --help'",
				 info->name);
			return -EINVAL;
		}
	} else if (eq && info->value == VALUE_INLINE) {
		value = eq + 1;
	} else if (eq) {
		snprintf(err, err_len, "option '--%s' takes no value", info->name);
		return -EINVAL;
	}
	return info->apply(cfg, info->name, value, err, err_len);
}

/* --scratch needs --rootfs and defaults to half of --mem; no --share-socket takes its tag. */
static int config_validate_rootfs(struct config *cfg, char *err, size_t err_len)
{
	if (!cfg->rootfs_set) {
		if (!cfg->scratch)
			return 0;
		snprintf(err, err_len,
			 "--scratch sizes the writable layer of --rootfs: add --rootfs DIR or drop "
			 "--scratch");
		return -EINVAL;
	}
	if (!cfg->scratch)
		cfg->scratch = cfg->mem / 2;
	if (cfg->scratch < CONFIG_MIN_SCRATCH) {
		snprintf(err, err_len, "--scratch %llu bytes is too small: give at least 1M",
			 (unsigned long long)cfg->scratch);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->share_count; i++) {
		if (strcmp(cfg->shares[i].tag, CONFIG_ROOTFS_TAG))
			continue;
		snprintf(err, err_len,
			 "--share-socket tag '%s' is the one --rootfs uses: give the share another "
			 "tag",
			 CONFIG_ROOTFS_TAG);
		return -EINVAL;
	}
	return 0;
}

static int config_validate(struct config *cfg, char *err, size_t err_len)
{
	if (cfg->action != CONFIG_RUN)
		return 0;
	/* No --kernel at all is config_guest_image()'s to resolve; an empty one is a typo. */
	if (cfg->kernel && !*cfg->kernel) {
		snprintf(err, err_len, "--kernel is empty: give --kernel FILE (a bzImage)");
		return -EINVAL;
	}
	if (cfg->mem > UINT64_MAX - 0xfff) {
		snprintf(err, err_len, "--mem is larger than any host: give a smaller --mem");
		return -EINVAL;
	}
	if (cfg->mem < CONFIG_MIN_MEM) {
		snprintf(err, err_len, "--mem %llu bytes is too small: give at least 64M",
			 (unsigned long long)cfg->mem);
		return -EINVAL;
	}
	/* Page-granular memory keeps the e820 map and KVM memslots simple. */
	cfg->mem = (cfg->mem + 0xfff) & ~0xfffULL;
	if (config_validate_rootfs(cfg, err, err_len))
		return -EINVAL;
	return config_net_validate(&cfg->net, err, err_len);
}

int config_parse(int argc, char *const argv[], struct config *cfg, char *err, size_t err_len)
{
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = CONFIG_DEFAULT_CPUS;
	cfg->mem = CONFIG_DEFAULT_MEM;
	cfg->jail_uid = cfg->jail_gid = CONFIG_JAIL_ID;
#ifdef MICROVMM_SECCOMP_DEFAULT_LOG
	cfg->seccomp_log = true; /* sanitizer build: see docs/security.md */
#endif
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			cfg->command = &argv[i + 1];
			cfg->command_argc = argc - i - 1;
			if (cfg->command_argc == 0) {
				snprintf(err, err_len,
					 "'--' must be followed by a command to run in the guest");
				return -EINVAL;
			}
			if (cfg->command_argc > CONFIG_MAX_ARGS) {
				snprintf(
				    err, err_len,
				    "the guest command has %d arguments, more than the %d the "
				    "guest accepts: pass long lists in a file or through a shell",
				    cfg->command_argc, CONFIG_MAX_ARGS);
				return -EINVAL;
			}
			break;
		}
		if (strncmp(argv[i], "--", 2) || !argv[i][2]) {
			snprintf(err, err_len,
				 "unexpected argument '%s': options start with --, and a guest "
				 "command goes after --",
				 argv[i]);
			return -EINVAL;
		}
		ret = config_parse_flag(argc, argv, &i, cfg, err, err_len);
		if (ret)
			return ret;
	}
	return config_validate(cfg, err, err_len);
}
