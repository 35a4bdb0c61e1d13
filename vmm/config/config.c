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
    "  --boot-timeline   at exit, print when each stage began: main, helpers\n"
    "                    started, KVM_CREATE_VM, devices ready, kernel loaded,\n"
    "                    sandbox on, first KVM_RUN, the command started (as\n"
    "                    the guest init reports it), guest stopped, exit\n"
    "                    (docs/benchmarks.md)\n"
    "  --api-socket PATH serve the VM's HTTP API on a Unix socket at PATH (state,\n"
    "                    pause, shutdown, counters, events; docs/embedding.md)\n"
    "  --config FILE     read options from a JSON file (docs/config.md); options on\n"
    "                    the command line win, and a list option given there\n"
    "                    (--share, --env...) replaces the file's list\n"
    "  --print-config    print the effective configuration as JSON and exit\n"
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
CONFIG_SET(api_socket, value)
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

/* --config FILE: where the file's options come from; merging is config_file.c's. */
static int config_on_config(struct config *cfg, const char *name, const char *value, char *err,
			    size_t err_len)
{
	(void)name;
	if (*value)
		return (cfg->config_file = value), 0;
	snprintf(err, err_len, "--config needs a file name: give e.g. --config vm.json");
	return -EINVAL;
}

static int config_on_print_config(struct config *cfg, const char *name, const char *value,
				  char *err, size_t err_len)
{
	(void)name, (void)value, (void)err, (void)err_len;
	if (cfg->action == CONFIG_RUN)
		cfg->action = CONFIG_PRINT;
	return 0;
}

#ifdef MICROVMM_SECCOMP_DEFAULT_LOG
#define CONFIG_SECCOMP_DEFAULT "log"
#else
#define CONFIG_SECCOMP_DEFAULT "kill"
#endif

/*
 * Every option: its name, whether it takes a value, who applies it, its
 * key in a --config file and the default --print-config shows for it.
 */
static const struct config_option config_options[] = {
    {"kernel", CONFIG_VALUE_NEEDED, config_set_kernel, CONFIG_KEY_STRING, NULL},
    {"initrd", CONFIG_VALUE_NEEDED, config_set_initrd, CONFIG_KEY_STRING, NULL},
    {"cpus", CONFIG_VALUE_NEEDED, config_on_cpus, CONFIG_KEY_INTEGER, "1"},
    {"mem", CONFIG_VALUE_NEEDED, config_on_size, CONFIG_KEY_SIZE, "512M"},
    {"no-hugepages", CONFIG_VALUE_NONE, config_set_no_hugepages, CONFIG_KEY_BOOL, NULL},
    {"cmdline", CONFIG_VALUE_NEEDED, config_set_cmdline, CONFIG_KEY_STRING, NULL},
    {"append", CONFIG_VALUE_NEEDED, config_set_append, CONFIG_KEY_STRING, NULL},
    {"verbose", CONFIG_VALUE_NONE, config_set_verbose, CONFIG_KEY_BOOL, NULL},
    {"boot-timeline", CONFIG_VALUE_NONE, config_set_boot_timeline, CONFIG_KEY_BOOL, NULL},
    {"help", CONFIG_VALUE_NONE, config_on_help, CONFIG_KEY_NONE, NULL},
    {"version", CONFIG_VALUE_NONE, config_on_help, CONFIG_KEY_NONE, NULL},
    {"config", CONFIG_VALUE_NEEDED, config_on_config, CONFIG_KEY_NONE, NULL},
    {"print-config", CONFIG_VALUE_NONE, config_on_print_config, CONFIG_KEY_NONE, NULL},
    {"env", CONFIG_VALUE_NEEDED, config_on_env, CONFIG_KEY_LIST, NULL},
    {"user", CONFIG_VALUE_NEEDED, config_on_user, CONFIG_KEY_STRING, "agent"},
    {"timeout", CONFIG_VALUE_NEEDED, config_on_timeout, CONFIG_KEY_INTEGER, NULL},
    {"console-log", CONFIG_VALUE_NEEDED, config_set_console_log, CONFIG_KEY_STRING, NULL},
    {"workdir", CONFIG_VALUE_NEEDED, config_on_workdir, CONFIG_KEY_STRING, NULL},
    {"share", CONFIG_VALUE_NEEDED, config_on_share, CONFIG_KEY_LIST, NULL},
    {"share-socket", CONFIG_VALUE_NEEDED, config_on_share, CONFIG_KEY_LIST, NULL},
    {"share-cache", CONFIG_VALUE_NEEDED, config_on_share_cache, CONFIG_KEY_STRING, "auto"},
    {"share-xattr", CONFIG_VALUE_NONE, config_set_share_xattr, CONFIG_KEY_BOOL, NULL},
    {"rootfs", CONFIG_VALUE_NEEDED, config_on_rootfs, CONFIG_KEY_STRING, NULL},
    {"scratch", CONFIG_VALUE_NEEDED, config_on_size, CONFIG_KEY_SIZE, NULL},
    {"virtiofsd", CONFIG_VALUE_NEEDED, config_set_virtiofsd, CONFIG_KEY_STRING, NULL},
    /* Networking flags: config_net.c takes them by name. */
    {"net", CONFIG_VALUE_NEEDED, config_on_net, CONFIG_KEY_STRING, "none"},
    {"mac", CONFIG_VALUE_NEEDED, config_on_net, CONFIG_KEY_STRING, NULL},
    {"allow", CONFIG_VALUE_NEEDED, config_on_net, CONFIG_KEY_LIST, NULL},
    {"allow-host-loopback", CONFIG_VALUE_INLINE, config_on_net, CONFIG_KEY_LOOPBACK, NULL},
    {"publish", CONFIG_VALUE_NEEDED, config_on_net, CONFIG_KEY_LIST, NULL},
    {"ip", CONFIG_VALUE_NEEDED, config_on_net, CONFIG_KEY_STRING, NULL},
    {"dns", CONFIG_VALUE_NEEDED, config_on_net, CONFIG_KEY_LIST, NULL},
    {"net-log", CONFIG_VALUE_NEEDED, config_on_net_log, CONFIG_KEY_STRING, NULL},
    {"no-sandbox", CONFIG_VALUE_NONE, config_set_no_sandbox, CONFIG_KEY_BOOL, NULL},
    {"seccomp", CONFIG_VALUE_NEEDED, config_on_seccomp, CONFIG_KEY_STRING, CONFIG_SECCOMP_DEFAULT},
    {"jail-user", CONFIG_VALUE_NEEDED, config_on_jail_user, CONFIG_KEY_STRING, NULL},
    {"api-socket", CONFIG_VALUE_NEEDED, config_set_api_socket, CONFIG_KEY_STRING, NULL},
};

_Static_assert(sizeof(config_options) / sizeof(config_options[0]) <= CONFIG_OPTION_MAX,
	       "config_file_merge keeps one flag per option");

const struct config_option *config_option_at(size_t i)
{
	return i < sizeof(config_options) / sizeof(config_options[0]) ? &config_options[i] : NULL;
}

const struct config_option *config_option_find(const char *name, size_t len)
{
	const struct config_option *option;

	for (size_t i = 0; (option = config_option_at(i)); i++)
		if (strlen(option->flag) == len && !strncmp(option->flag, name, len))
			return option;
	return NULL;
}

int config_apply_option(struct config *cfg, const struct config_option *option, const char *value,
			char *err, size_t err_len)
{
	return option->apply(cfg, option->flag, value, err, err_len);
}

/*
 * argv[*i] is "--NAME" or "--NAME=VALUE": its option (NULL when unknown)
 * and value (NULL when it takes none or an inline one was not given);
 * *i moves past a value in the next word. -EINVAL when a value is
 * missing or not allowed, with one line in `err`.
 */
static int config_split_flag(int argc, char *const argv[], int *i,
			     const struct config_option **found, const char **value, char *err,
			     size_t err_len)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	const struct config_option *info =
	    config_option_find(arg, eq ? (size_t)(eq - arg) : strlen(arg));

	*found = info;
	*value = NULL;
	if (!info)
		return 0;
	if (info->value == CONFIG_VALUE_NEEDED) {
		if (eq) {
			*value = eq + 1;
		} else if (*i + 1 < argc) {
			*value = argv[++*i];
		} else {
			snprintf(err, err_len, "option '--%s' needs a value: see 'microvmm --help'",
				 info->flag);
			return -EINVAL;
		}
	} else if (eq && info->value == CONFIG_VALUE_INLINE) {
		*value = eq + 1;
	} else if (eq) {
		snprintf(err, err_len, "option '--%s' takes no value", info->flag);
		return -EINVAL;
	}
	return 0;
}

int config_walk(int argc, char *const argv[], config_visit visit, void *ctx)
{
	char err[8];

	for (int i = 1; i < argc; i++) {
		const struct config_option *option;
		const char *value;

		if (!strcmp(argv[i], "--"))
			return i;
		if (strncmp(argv[i], "--", 2) || !argv[i][2])
			continue;
		if (config_split_flag(argc, argv, &i, &option, &value, err, sizeof(err)) == 0 &&
		    option)
			visit(ctx, option, value);
	}
	return argc;
}

static int config_parse_flag(int argc, char *const argv[], int *i, struct config *cfg, char *err,
			     size_t err_len)
{
	const struct config_option *info;
	const char *value;
	int ret = config_split_flag(argc, argv, i, &info, &value, err, err_len);

	if (ret)
		return ret;
	if (!info) {
		snprintf(err, err_len, "unknown option '%s': see 'microvmm --help'", argv[*i]);
		return -EINVAL;
	}
	return info->apply(cfg, info->flag, value, err, err_len);
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
	if (cfg->action == CONFIG_HELP || cfg->action == CONFIG_VERSION)
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
