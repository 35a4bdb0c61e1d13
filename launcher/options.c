/* microvmm-agent's command line: parsing and validation, with no side effects. */
#include "launcher/options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char options_usage[] =
    "usage: microvmm-agent [--agent claude|gemini|codex] [options] [TASK]\n"
    "\n"
    "Run a coding agent fully autonomously in a throwaway microVM, with the current\n"
    "directory (the workspace) at /workspace. With TASK: the agent's non-interactive\n"
    "mode; without: its interactive UI; --shell: a login shell instead.\n"
    "\n"
    "  --agent NAME       claude (default), gemini or codex\n"
    "  --shell            a login shell in the agent's environment instead of the agent\n"
    "  --workspace DIR    share DIR at /workspace (default: the current directory)\n"
    "  --share HOST:GUEST[:ro]  share another directory (microvmm --share); repeatable\n"
    "  --net MODE         filtered (default: only the agent's API), none, full (any\n"
    "                     public address), tap=NAME or bridge=BR (with the allowlist)\n"
    "  --allow RULE       also allow HOST[:PORT], *.HOST[:PORT] or CIDR[:PORT];\n"
    "                     repeatable\n"
    "  --allow-registries also allow Debian, npm, PyPI, crates.io and the Go proxy\n"
    "  --api-base URL     point the agent at another endpoint and allow only that;\n"
    "                     http://127.0.0.1:PORT is the host's own loopback\n"
    "  --env NAME[=VALUE] pass a variable (NAME alone: the host's value); repeatable\n"
    "  --secret NAME=FILE put FILE at /run/secrets/NAME in the guest; repeatable\n"
    "  --ssh-key          make an ephemeral ed25519 key in the guest, print its\n"
    "                     public key\n"
    "  --login            no key variable needed: log in inside the VM (interactive)\n"
    "  --git-name NAME    git user.name in the guest (default \"AI Agent\")\n"
    "  --git-email ADDR   git user.email in the guest (default agent@microvm.local)\n"
    "  --cpus N           vCPUs (default 4, at most the host's)\n"
    "  --mem SIZE         guest RAM, e.g. 8G (default 4G, at most half the host's)\n"
    "  --timeout SECS     stop the agent after SECS seconds (exit status 124)\n"
    "  --image DIR        the agent image (default: the installed one, or build/agent)\n"
    "  --kernel FILE      the guest kernel, bzImage or vmlinux (default: microvmm's;\n"
    "                     e.g. build/guest-minimal/vmlinuz); needs --initrd\n"
    "  --initrd FILE      the initrd with microvmm's guest init (default: microvmm's)\n"
    "  --audit-dir DIR    write the audit trail to DIR/RUN (default:\n"
    "                     $XDG_STATE_HOME/microvmm/runs/RUN)\n"
    "  --verbose          microvmm's boot messages and info logs\n"
    "  --help, --version\n"
    "\n"
    "The key variable (ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN, OPENAI_API_KEY,\n"
    "GEMINI_API_KEY or GOOGLE_API_KEY) is taken from the environment by name.\n"
    "Exit status: the agent's; microvmm's 123 (guest panic), 124 (timeout), 125\n"
    "(failure; also microvmm-agent's own), 126, 127 and 128+N pass through.\n"
    "See microvmm-agent(1).\n";

enum options_flag {
	FLAG_AGENT,
	FLAG_SHELL,
	FLAG_WORKSPACE,
	FLAG_SHARE,
	FLAG_NET,
	FLAG_ALLOW,
	FLAG_REGISTRIES,
	FLAG_API_BASE,
	FLAG_ENV,
	FLAG_SECRET,
	FLAG_SSH_KEY,
	FLAG_LOGIN,
	FLAG_GIT_NAME,
	FLAG_GIT_EMAIL,
	FLAG_CPUS,
	FLAG_MEM,
	FLAG_TIMEOUT,
	FLAG_IMAGE,
	FLAG_KERNEL,
	FLAG_INITRD,
	FLAG_AUDIT_DIR,
	FLAG_VERBOSE,
	FLAG_HELP,
	FLAG_VERSION,
};

struct options_flag_info {
	const char *name;
	enum options_flag flag;
	bool takes_value;
};

static const struct options_flag_info options_flags[] = {
    {"agent", FLAG_AGENT, true},
    {"shell", FLAG_SHELL, false},
    {"workspace", FLAG_WORKSPACE, true},
    {"share", FLAG_SHARE, true},
    {"net", FLAG_NET, true},
    {"allow", FLAG_ALLOW, true},
    {"allow-registries", FLAG_REGISTRIES, false},
    {"api-base", FLAG_API_BASE, true},
    {"env", FLAG_ENV, true},
    {"secret", FLAG_SECRET, true},
    {"ssh-key", FLAG_SSH_KEY, false},
    {"login", FLAG_LOGIN, false},
    {"git-name", FLAG_GIT_NAME, true},
    {"git-email", FLAG_GIT_EMAIL, true},
    {"cpus", FLAG_CPUS, true},
    {"mem", FLAG_MEM, true},
    {"timeout", FLAG_TIMEOUT, true},
    {"image", FLAG_IMAGE, true},
    {"kernel", FLAG_KERNEL, true},
    {"initrd", FLAG_INITRD, true},
    {"audit-dir", FLAG_AUDIT_DIR, true},
    {"verbose", FLAG_VERBOSE, false},
    {"help", FLAG_HELP, false},
    {"version", FLAG_VERSION, false},
};

int options_parse_size(const char *text, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;
	const char *suffixes = "KMGT";
	const char *s;

	if (!text || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end && (s = strchr(suffixes, *end & ~0x20)) != NULL) {
		shift = 10 * (unsigned int)(s - suffixes + 1);
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
	}
	if (*end || v == 0 || v > (ULLONG_MAX >> shift))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static int options_number(const char *text, unsigned long max, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!text || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static bool options_var_name_ok(const char *name, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!(ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (i > 0 && ch >= '0' && ch <= '9')))
			return false;
	}
	return true;
}

/* NAME=FILE; NAME becomes a file name under /run/secrets. */
static int options_secret(struct options *o, const char *value, char *err, size_t err_len)
{
	const char *eq = strchr(value, '=');
	size_t len = eq ? (size_t)(eq - value) : 0;
	struct options_secret *s;

	if (!eq || !len || len > OPTIONS_SECRET_NAME || !eq[1] || value[0] == '.' ||
	    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
		len) {
		snprintf(err, err_len,
			 "--secret '%s' is not NAME=FILE (NAME: letters, digits, '.', '_', '-'): "
			 "give e.g. --secret npmrc=$HOME/.npmrc",
			 value);
		return -EINVAL;
	}
	if (o->secret_count == OPTIONS_MAX_LIST) {
		snprintf(err, err_len, "more than %d --secret options", OPTIONS_MAX_LIST);
		return -EINVAL;
	}
	s = &o->secrets[o->secret_count++];
	memcpy(s->name, value, len);
	s->name[len] = '\0';
	s->file = eq + 1;
	return 0;
}

static int options_list(const char **list, unsigned int *count, unsigned int max, const char *flag,
			const char *value, char *err, size_t err_len)
{
	if (*count == max) {
		snprintf(err, err_len, "more than %u %s options", max, flag);
		return -EINVAL;
	}
	list[(*count)++] = value;
	return 0;
}

static int options_env(struct options *o, const char *value, char *err, size_t err_len)
{
	if (!options_var_name_ok(value, strcspn(value, "="))) {
		snprintf(err, err_len,
			 "--env '%s' is not NAME or NAME=VALUE (letters, digits and _ in NAME)",
			 value);
		return -EINVAL;
	}
	return options_list(o->env, &o->env_count, OPTIONS_MAX_LIST, "--env", value, err, err_len);
}

/* Whether the guest path (up to ':' or the end) is dir or below it. */
static bool options_under(const char *guest, const char *dir)
{
	size_t len = strlen(dir);

	return !strncmp(guest, dir, len) && (!guest[len] || guest[len] == '/' || guest[len] == ':');
}

/* HOST:GUEST[:ro]: the guest side must not hide the workspace or the run's own shares. */
static int options_share(struct options *o, const char *value, char *err, size_t err_len)
{
	const char *guest = strstr(value, ":/");

	if (!guest || guest == value) {
		snprintf(err, err_len,
			 "--share '%s' is not HOST:GUEST[:ro]: give e.g. --share ~/data:/data:ro",
			 value);
		return -EINVAL;
	}
	if (options_under(guest + 1, "/workspace") ||
	    options_under(guest + 1, "/run/microvmm-agent") ||
	    options_under(guest + 1, "/run/microvmm-agent-out") || options_under(guest + 1, "/")) {
		snprintf(err, err_len,
			 "--share '%s': /, /workspace and /run/microvmm-agent* are the run's own; "
			 "use --workspace or another guest path",
			 value);
		return -EINVAL;
	}
	return options_list(o->shares, &o->share_count, OPTIONS_MAX_SHARES, "--share", value, err,
			    err_len);
}

static int options_value(struct options *o, enum options_flag flag, const char *value, char *err,
			 size_t err_len)
{
	switch (flag) {
	case FLAG_AGENT:
		o->agent = agents_find(value);
		if (o->agent)
			return 0;
		snprintf(err, err_len, "unknown agent '%s': give --agent %s", value, AGENTS_NAMES);
		return -EINVAL;
	case FLAG_NET:
		return netpolicy_parse_mode(value, &o->net.mode, &o->net.device, err, err_len);
	case FLAG_ALLOW:
		return options_list(o->allow, &o->net.allow_count, OPTIONS_MAX_LIST, "--allow",
				    value, err, err_len);
	case FLAG_API_BASE:
		o->has_api = true;
		return api_url_parse(value, &o->api, err, err_len);
	case FLAG_ENV:
		return options_env(o, value, err, err_len);
	case FLAG_SECRET:
		return options_secret(o, value, err, err_len);
	case FLAG_SHARE:
		return options_share(o, value, err, err_len);
	case FLAG_CPUS:
		if (!options_number(value, 254, &o->cpus))
			return 0;
		snprintf(err, err_len, "--cpus '%s' is not a number of vCPUs (1-254)", value);
		return -EINVAL;
	case FLAG_MEM:
		o->mem_text = value;
		if (!options_parse_size(value, &o->mem))
			return 0;
		snprintf(err, err_len, "--mem '%s' is not a size: give e.g. --mem 8G", value);
		return -EINVAL;
	case FLAG_TIMEOUT:
		if (!options_number(value, OPTIONS_MAX_TIMEOUT, &o->timeout))
			return 0;
		snprintf(err, err_len, "--timeout '%s' is not a number of seconds: give 1 or more",
			 value);
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

static int options_apply(struct options *o, enum options_flag flag, const char *value, char *err,
			 size_t err_len)
{
	const char **slot = NULL;

	switch (flag) {
	case FLAG_SHELL:
		o->mode = OPTIONS_SHELL;
		return 0;
	case FLAG_REGISTRIES:
		o->net.registries = true;
		return 0;
	case FLAG_SSH_KEY:
		o->ssh_key = true;
		return 0;
	case FLAG_LOGIN:
		o->login = true;
		return 0;
	case FLAG_VERBOSE:
		o->verbose = true;
		return 0;
	case FLAG_HELP:
		o->action = OPTIONS_HELP;
		return 0;
	case FLAG_VERSION:
		o->action = OPTIONS_VERSION;
		return 0;
	case FLAG_WORKSPACE:
		slot = &o->workspace;
		break;
	case FLAG_IMAGE:
		slot = &o->image;
		break;
	case FLAG_KERNEL:
		slot = &o->kernel;
		break;
	case FLAG_INITRD:
		slot = &o->initrd;
		break;
	case FLAG_AUDIT_DIR:
		slot = &o->audit_dir;
		break;
	case FLAG_GIT_NAME:
		slot = &o->git_name;
		break;
	case FLAG_GIT_EMAIL:
		slot = &o->git_email;
		break;
	default:
		return options_value(o, flag, value, err, err_len);
	}
	if (!*value || strchr(value, '\n')) {
		snprintf(err, err_len, "an option's value is empty or has a newline");
		return -EINVAL;
	}
	*slot = value;
	return 0;
}

/* Appends a TASK word, separated by one space. */
static int options_task_word(struct options *o, const char *word)
{
	size_t old = o->task ? strlen(o->task) : 0;
	char *grown = realloc(o->task, old + strlen(word) + 2);

	if (!grown)
		return -ENOMEM;
	if (old)
		grown[old++] = ' ';
	strcpy(grown + old, word);
	o->task = grown;
	return 0;
}

static int options_flag(struct options *o, int argc, char *const argv[], int *i, char *err,
			size_t err_len)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	for (size_t k = 0; k < sizeof(options_flags) / sizeof(options_flags[0]); k++) {
		const struct options_flag_info *f = &options_flags[k];

		if (strlen(f->name) != len || strncmp(f->name, arg, len))
			continue;
		if (!f->takes_value && eq) {
			snprintf(err, err_len, "--%s takes no value", f->name);
			return -EINVAL;
		}
		if (f->takes_value && !eq && *i + 1 >= argc) {
			snprintf(err, err_len, "--%s needs a value: see microvmm-agent --help",
				 f->name);
			return -EINVAL;
		}
		return options_apply(o, f->flag,
				     !f->takes_value ? NULL
				     : eq	     ? eq + 1
						     : argv[++*i],
				     err, err_len);
	}
	snprintf(err, err_len, "unknown option '%s': see microvmm-agent --help", argv[*i]);
	return -EINVAL;
}

static int options_check(struct options *o, char *err, size_t err_len)
{
	if (o->mode == OPTIONS_SHELL && o->task) {
		snprintf(err, err_len, "a TASK and --shell do not go together: give one of them");
		return -EINVAL;
	}
	if (o->task && !o->task[strspn(o->task, " \t\n")]) {
		snprintf(err, err_len, "the TASK is empty: give what the agent should do");
		return -EINVAL;
	}
	if (o->login && o->task) {
		snprintf(err, err_len,
			 "--login is for an interactive session: drop the TASK or --login");
		return -EINVAL;
	}
	/* microvmm boots another kernel without an initrd, and the guest init lives there. */
	if (o->kernel && !o->initrd) {
		snprintf(err, err_len,
			 "--kernel needs --initrd: give the initrd.img that guest-image/build "
			 "wrote beside that kernel");
		return -EINVAL;
	}
	if (o->mode != OPTIONS_SHELL)
		o->mode = o->task ? OPTIONS_TASK : OPTIONS_INTERACTIVE;
	o->net.allow = o->allow;
	o->net.api = o->has_api ? &o->api : NULL;
	return netpolicy_check_request(&o->net, err, err_len);
}

int options_parse(int argc, char *const argv[], struct options *o, char *err, size_t err_len)
{
	bool words_only = false;
	int ret = 0;

	memset(o, 0, sizeof(*o));
	o->agent = agents_find(AGENTS_DEFAULT);
	o->net.mode = NETPOLICY_FILTERED;
	for (int i = 1; i < argc && !ret; i++) {
		if (!words_only && !strcmp(argv[i], "--"))
			words_only = true;
		else if (!words_only && (!strcmp(argv[i], "-h")))
			o->action = OPTIONS_HELP;
		else if (!words_only && !strncmp(argv[i], "--", 2))
			ret = options_flag(o, argc, argv, &i, err, err_len);
		else if (!words_only && argv[i][0] == '-' && argv[i][1]) {
			snprintf(err, err_len, "unknown option '%s': see microvmm-agent --help",
				 argv[i]);
			ret = -EINVAL;
		} else if (options_task_word(o, argv[i])) {
			snprintf(err, err_len, "out of memory");
			ret = -ENOMEM;
		}
	}
	if (!ret && o->action == OPTIONS_RUN)
		ret = options_check(o, err, err_len);
	if (ret)
		options_free(o);
	return ret;
}

void options_free(struct options *o)
{
	free(o->task);
	o->task = NULL;
}
