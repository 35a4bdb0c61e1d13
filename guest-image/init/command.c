/* Guest init: run the user's command as microvmm asked, report its fate on microvmm.ctl. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PORT_TIMEOUT_MS 15000

struct command_io {
	int ctl;
	int in, out, err; /* -1 in terminal mode */
};

static void ctl_say(int ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_say(int ctl, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	/* Blocking write: virtio-console returns only once microvmm has the bytes. */
	ssize_t ignored = write(ctl, line, (size_t)n);
	(void)ignored;
}

/* The command's environment, user and directory; without a command, a login shell. */
static int command_env(struct run_config *rc)
{
	static char path_env[] =
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	/* users_setup() filled home and shell; they live as long as rc. */
	static char home_env[sizeof(rc->home) + 8], shell_env[sizeof(rc->shell) + 8];
	const char *defaults_root[] = {"USER=root", "LOGNAME=root"};
	const char *defaults_agent[] = {"USER=agent", "LOGNAME=agent"};
	const char **defaults = rc->as_root ? defaults_root : defaults_agent;
	int err = run_spec_set_env(&rc->spec, path_env);

	snprintf(home_env, sizeof(home_env), "HOME=%s", rc->home);
	snprintf(shell_env, sizeof(shell_env), "SHELL=%s", rc->shell);
	for (int i = 0; i < 2 && !err; i++)
		err = run_spec_set_env(&rc->spec, defaults[i]);
	if (!err)
		err = run_spec_set_env(&rc->spec, home_env);
	if (!err)
		err = run_spec_set_env(&rc->spec, shell_env);
	if (!err)
		err = run_spec_set_env(&rc->spec, rc->tty ? "TERM=linux" : "TERM=dumb");
	for (unsigned int i = 0; i < rc->env_count && !err; i++)
		err = run_spec_set_env(&rc->spec, rc->env[i]);
	if (!rc->spec.cwd)
		rc->spec.cwd = rc->home;
	if (!rc->as_root) {
		rc->spec.uid = rc->agent_uid;
		rc->spec.gid = rc->agent_gid;
	}
	if (!err && !rc->spec.argv[0] &&
	    (run_spec_add_arg(&rc->spec, rc->shell) || run_spec_add_arg(&rc->spec, "-l")))
		err = -E2BIG;
	return err;
}

/*
 * Everything before the command, in an order that matters: the network
 * while busybox (udhcpc, where DHCP runs) is still the root's, then the
 * root tree, then the users (the agent's home is fixed up with no share
 * mounted inside it yet), then the shares. microvmm's failure, not the
 * command's: the reason goes into @why and becomes exit status 125 on the
 * host.
 */
static int command_prepare(struct run_config *rc, char *why, size_t why_len)
{
	int err = net_setup(rc, why, why_len);

	if (!err)
		err = rootfs_enter(rc, why, why_len);
	if (!err)
		err = users_setup(rc, why, why_len);
	if (!err)
		err = shares_mount(rc, why, why_len);
	if (!err) {
		err = command_env(rc);
		if (err)
			snprintf(why, why_len, "the command's arguments or environment: %s",
				 strerror(-err));
	}
	return err;
}

static int command_open_io(const struct run_config *rc, struct command_io *io)
{
	io->in = io->out = io->err = -1;
	io->ctl = ports_open("microvmm.ctl", O_RDWR, PORT_TIMEOUT_MS);
	if (io->ctl < 0)
		return io->ctl;
	if (rc->tty)
		return ports_wait_path("/dev/hvc0", PORT_TIMEOUT_MS);
	io->in = ports_open("microvmm.stdin", O_RDONLY, PORT_TIMEOUT_MS);
	io->out = ports_open("microvmm.stdout", O_WRONLY, PORT_TIMEOUT_MS);
	io->err = ports_open("microvmm.stderr", O_WRONLY, PORT_TIMEOUT_MS);
	if (io->in < 0 || io->out < 0 || io->err < 0)
		return -ETIMEDOUT;
	return 0;
}

/* In the child: stdio, session, user, directory, then exec. Never returns. */
static void __attribute__((noreturn))
command_child(const struct run_config *rc, const struct command_io *io, int report_fd)
{
	const struct run_spec *spec = &rc->spec;
	int err = 0;

	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (rc->tty) {
		if (setsid() < 0 || console_open_ctty("/dev/hvc0") < 0)
			err = errno ? errno : EIO;
	} else {
		setsid();
		if (dup2(io->in, 0) < 0 || dup2(io->out, 1) < 0 || dup2(io->err, 2) < 0)
			err = errno;
	}
	/* The agent's groups from the tree's /etc/group (e.g. sudo): as login(1) sets them. */
	if (!err && !(spec->uid == 0 && spec->gid == 0) &&
	    (setgroups(rc->group_count, rc->groups) < 0 || setgid(spec->gid) < 0 ||
	     setuid(spec->uid) < 0))
		err = errno;
	if (!err && chdir(spec->cwd) < 0)
		err = errno;
	if (!err) {
		/* execvpe searches the PATH of our own environment, so use the command's. */
		environ = (char **)spec->envp;
		execvpe(spec->argv[0], (char *const *)spec->argv, (char *const *)spec->envp);
		err = errno;
	}
	ssize_t ignored = write(report_fd, &err, sizeof(err));
	(void)ignored;
	_exit(err == ENOENT ? 127 : 126);
}

/* Starts the child; returns its pid, or -errno with the reason already sent on ctl. */
static pid_t command_start(const struct run_config *rc, const struct command_io *io)
{
	int pipefd[2], err = 0;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid_t child = fork();

	if (child < 0) {
		err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (child == 0)
		command_child(rc, io, pipefd[1]);
	close(pipefd[1]);
	/* The pipe closes on a successful exec; otherwise it carries errno. */
	ssize_t n = read(pipefd[0], &err, sizeof(err));

	close(pipefd[0]);
	if (n == (ssize_t)sizeof(err) && err) {
		waitpid(child, NULL, 0);
		ctl_say(io->ctl, "error %d %s: %s\n", err == ENOENT ? 127 : 126, rc->spec.argv[0],
			err == ENOENT ? "command not found in the guest" : strerror(err));
		return -err;
	}
	ctl_say(io->ctl, "ready\n");
	return child;
}

/* "signal N" from microvmm: pass it to the command's process group. */
static void command_ctl_input(int ctl, pid_t child, char *line, size_t *len)
{
	char buf[64];
	ssize_t n = read(ctl, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (*len < 63)
				line[(*len)++] = buf[i];
			continue;
		}
		line[*len] = '\0';
		*len = 0;
		int sig;

		if (sscanf(line, "signal %d", &sig) == 1 && sig > 0 && sig < 65 &&
		    kill(-child, sig) < 0)
			kill(child, sig);
	}
}

/* Waits for the child while forwarding signals; returns its wait status. */
static int command_wait(int ctl, pid_t child, int sig_fd)
{
	char line[64];
	size_t len = 0;
	struct pollfd fds[2] = {{.fd = ctl, .events = POLLIN}, {.fd = sig_fd, .events = POLLIN}};

	for (;;) {
		int status;
		pid_t pid;

		/* Reap every child (orphans come to PID 1) until ours is gone. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == child)
				return status;
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (fds[0].revents & POLLIN)
			command_ctl_input(ctl, child, line, &len);
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			ssize_t ignored = read(sig_fd, &si, sizeof(si));
			(void)ignored;
		}
	}
}

int command_run(struct run_config *rc)
{
	struct command_io io;
	sigset_t chld;
	int err;

	err = command_open_io(rc, &io);
	if (err) {
		init_log("microvmm's console ports did not appear: %s", strerror(-err));
		return err;
	}
	char why[256];

	err = command_prepare(rc, why, sizeof(why));
	if (err) {
		ctl_say(io.ctl, "error 125 %s\n", why);
		return 0;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sig_fd = signalfd(-1, &chld, SFD_CLOEXEC);
	pid_t child = command_start(rc, &io);

	if (child < 0)
		return 0; /* reported on ctl already */
	int status = command_wait(io.ctl, child, sig_fd);

	if (status >= 0 && WIFSIGNALED(status))
		ctl_say(io.ctl, "signal %d\n", WTERMSIG(status));
	else
		ctl_say(io.ctl, "exit %d\n", status >= 0 ? WEXITSTATUS(status) : 125);
	return 0;
}
