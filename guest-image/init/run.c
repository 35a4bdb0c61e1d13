/* Guest init: start the guest's main process and wait for it as PID 1. */
#include "init.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void run_spec_init(struct run_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->envp[0] = "PATH=/bin:/sbin:/usr/bin:/usr/sbin";
	spec->envp[1] = "HOME=/root";
	spec->envp[2] = "TERM=linux";
}

int run_spec_add_arg(struct run_spec *spec, const char *arg)
{
	size_t i;

	for (i = 0; i < INIT_MAX_ARGS; i++) {
		if (!spec->argv[i]) {
			spec->argv[i] = arg;
			return 0;
		}
	}
	return -E2BIG;
}

/* Replaces an entry with the same NAME, else appends. */
int run_spec_set_env(struct run_spec *spec, const char *entry)
{
	const char *eq = strchr(entry, '=');
	size_t nlen = eq ? (size_t)(eq - entry) : strlen(entry);
	size_t i;

	for (i = 0; i < INIT_MAX_ENV; i++) {
		const char *cur = spec->envp[i];

		if (!cur || (strncmp(cur, entry, nlen) == 0 && cur[nlen] == '=')) {
			spec->envp[i] = entry;
			return 0;
		}
	}
	return -E2BIG;
}

static int drop_privileges(const struct run_spec *spec)
{
	if (spec->uid == 0 && spec->gid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(spec->gid) < 0 || setuid(spec->uid) < 0)
		return -errno;
	return 0;
}

/* Runs in the child; never returns. */
static void __attribute__((noreturn)) child_exec(const struct run_spec *spec)
{
	int err;

	if (spec->want_ctty) {
		err = console_take_ctty();
		if (err)
			init_log("no controlling terminal (%s): job control is off",
				 strerror(-err));
	} else if (setsid() < 0) {
		init_log("setsid: %s", strerror(errno));
	}
	err = drop_privileges(spec);
	if (err) {
		init_log("dropping to uid %u: %s", (unsigned)spec->uid, strerror(-err));
		_exit(126);
	}
	if (chdir(spec->cwd ? spec->cwd : "/") < 0) {
		init_log("chdir %s: %s", spec->cwd, strerror(errno));
		_exit(126);
	}
	execve(spec->argv[0], (char *const *)spec->argv, (char *const *)spec->envp);
	init_log("exec %s: %s", spec->argv[0], strerror(errno));
	_exit(127);
}

int run_spec_exec(const struct run_spec *spec, int *status)
{
	pid_t child;

	if (!spec->argv[0])
		return -EINVAL;
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0)
		child_exec(spec);

	/* Orphans are re-parented to PID 1: reap them too until ours exits. */
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid == child) {
			*status = st;
			return 0;
		}
		if (pid < 0 && errno != EINTR)
			return -errno;
	}
}
