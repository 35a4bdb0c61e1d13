/* microvmm-agent's command line: parsing and validation, with no side effects. */
#ifndef MICROVMM_LAUNCHER_OPTIONS_H
#define MICROVMM_LAUNCHER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launcher/agents.h"
#include "launcher/api_url.h"
#include "launcher/netpolicy.h"

#define OPTIONS_MAX_LIST    64
#define OPTIONS_MAX_SHARES  5 /* microvmm takes 8: workspace, setup and output use 3 */
#define OPTIONS_SECRET_NAME 64
#define OPTIONS_MAX_TIMEOUT (365U * 24 * 3600)

enum options_action { OPTIONS_RUN, OPTIONS_HELP, OPTIONS_VERSION };

/* TASK given: non-interactive; none: the agent's own UI; --shell: a login shell. */
enum options_mode { OPTIONS_TASK, OPTIONS_INTERACTIVE, OPTIONS_SHELL };

struct options_secret {
	char name[OPTIONS_SECRET_NAME + 1];
	const char *file;
};

/*
 * Strings point into argv (which must outlive the options) except task,
 * which options_free() releases.
 */
struct options {
	enum options_action action;
	enum options_mode mode;
	const struct agent_profile *agent;
	char *task;
	const char *workspace; /* NULL: the current directory */
	const char *image;     /* NULL: the installed or build-tree image */
	const char *kernel;    /* NULL: microvmm's default guest kernel */
	const char *initrd;    /* NULL: microvmm's default initrd */
	const char *audit_dir; /* NULL: $XDG_STATE_HOME/microvmm/runs */
	unsigned int cpus;     /* 0: default */
	uint64_t mem;	       /* 0: default */
	const char *mem_text;
	unsigned int timeout; /* 0: none */
	const char *git_name, *git_email;
	bool ssh_key, login, verbose;
	struct netpolicy_request net;
	const char *allow[OPTIONS_MAX_LIST];
	bool has_api;
	struct api_url api;
	const char *shares[OPTIONS_MAX_SHARES];
	unsigned int share_count;
	const char *env[OPTIONS_MAX_LIST];
	unsigned int env_count;
	struct options_secret secrets[OPTIONS_MAX_LIST];
	unsigned int secret_count;
};

/*
 * Parses argv. Options may come before or after TASK; TASK is the other
 * words joined by single spaces (everything after "--" counts as TASK).
 * Checks everything that needs no file system: the agent's name, --net,
 * --api-base, numbers, --secret and --env syntax, and combinations (TASK
 * with --shell, --login with TASK, --allow with --net none or full).
 * Returns 0, or -EINVAL/-ENOMEM with one line in err (no "microvmm-agent:"
 * prefix).
 */
int options_parse(int argc, char *const argv[], struct options *o, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* Releases the task; idempotent. */
void options_free(struct options *o);

/* SIZE as microvmm's --mem takes it: digits with an optional K, M, G or T (KiB..TiB). */
int options_parse_size(const char *text, uint64_t *bytes) __attribute__((warn_unused_result));

/* The usage text for --help. */
extern const char options_usage[];

#endif
