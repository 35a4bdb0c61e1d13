/* Running microvmm: its output through pipes into log streams, signals passed on, its exit status.
 */
#include "launcher/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/fdio.h"

#define RUNNER_IDLE_MS 30 /* how long the live side may hold back a possible secret's start */

void runner_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGCHLD);
}

/* In the child: pipes onto 1 and 2, default signals, then exec; errno goes back on report. */
static void runner_child(int pipes[2][2], int report, pid_t parent, const char *exe,
			 char *const argv[], const sigset_t *mask)
{
	int high[2], err;

	/* Above 2 first, so that no dup2 below overwrites a pipe end still needed. */
	for (int i = 0; i < 2; i++)
		high[i] = fcntl(pipes[i][1], F_DUPFD_CLOEXEC, 10);
	if (high[0] < 0 || high[1] < 0 || dup2(high[0], STDOUT_FILENO) < 0 ||
	    dup2(high[1], STDERR_FILENO) < 0)
		goto fail;
	signal(SIGPIPE, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		goto fail;
	sigprocmask(SIG_SETMASK, mask, NULL);
	execv(exe, argv);
fail:
	err = errno;
	if (write(report, &err, sizeof(err)) < 0)
		_exit(125);
	_exit(125);
}

static void runner_close_pipes(int pipes[2][2])
{
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < 2; k++)
			if (pipes[i][k] >= 0)
				close(pipes[i][k]);
}

/* The exec's outcome: EOF on the report pipe means exec succeeded (close-on-exec). */
static int runner_exec_result(struct runner *r, int report)
{
	int child_err = 0;
	ssize_t n;

	do
		n = read(report, &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(child_err)) {
		waitpid(r->pid, NULL, 0);
		r->pid = -1;
		return -child_err;
	}
	return 0;
}

int runner_start(struct runner *r, const char *exe, char *const argv[], const sigset_t *child_mask,
		 int net_fd, char *err, size_t err_len)
{
	int pipes[2][2] = {{-1, -1}, {-1, -1}}, report[2] = {-1, -1};
	pid_t parent = getpid();
	int ret = 0;

	r->pid = -1;
	r->out_fd = r->err_fd = -1;
	r->net_fd = net_fd;
	for (int i = 0; i < 2 && !ret; i++)
		if (pipe2(pipes[i], O_CLOEXEC) < 0)
			ret = -errno;
	if (!ret && pipe2(report, O_CLOEXEC) < 0)
		ret = -errno;
	if (!ret && (r->pid = fork()) < 0)
		ret = -errno;
	if (ret)
		goto fail;
	if (r->pid == 0)
		runner_child(pipes, report[1], parent, exe, argv, child_mask);
	close(report[1]);
	report[1] = -1;
	for (int i = 0; i < 2; i++) {
		close(pipes[i][1]);
		pipes[i][1] = -1;
		fcntl(pipes[i][0], F_SETFL, O_NONBLOCK);
	}
	r->out_fd = pipes[0][0];
	r->err_fd = pipes[1][0];
	ret = runner_exec_result(r, report[0]);
	close(report[0]);
	if (!ret)
		return 0;
	runner_close_pipes((int[2][2]){{r->out_fd, -1}, {r->err_fd, -1}});
	r->out_fd = r->err_fd = -1;
	snprintf(err, err_len, "cannot run %s: %s", exe, strerror(-ret));
	goto out_net;
fail:
	runner_close_pipes(pipes);
	if (report[0] >= 0)
		close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	snprintf(err, err_len, "cannot start microvmm: %s", strerror(-ret));
out_net:
	if (r->net_fd >= 0)
		close(r->net_fd);
	r->net_fd = -1;
	return ret;
}

#define RUNNER_READS_PER_WAKE 16

/*
 * Reads what fd has (all of it when drain, else a bounded amount so one
 * busy stream cannot starve the others) into s. At end of file closes fd
 * and finishes s.
 */
static int runner_pump(int *fd, struct logstream *s, bool drain)
{
	char buf[16384];
	int ret = 0;

	for (unsigned int i = 0; *fd >= 0 && !ret && (drain || i < RUNNER_READS_PER_WAKE); i++) {
		ssize_t n = read(*fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !drain)
			break;
		if (n <= 0) {
			/* End of file, or (draining) nothing more while the writer lives on in a
			 * helper. */
			close(*fd);
			*fd = -1;
			ret = s ? logstream_finish(s) : 0;
			break;
		}
		if (s)
			ret = logstream_data(s, buf, (size_t)n);
	}
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

/* A signal from the signalfd: SIGCHLD may mean microvmm ended; the others go on to it. */
static int runner_signal(struct runner *r, int sig_fd, bool *exited, int *wstatus)
{
	struct signalfd_siginfo si;
	ssize_t n = read(sig_fd, &si, sizeof(si));

	if (n != (ssize_t)sizeof(si))
		return n < 0 && errno != EAGAIN && errno != EINTR ? -errno : 0;
	if (si.ssi_signo == SIGCHLD) {
		pid_t got = waitpid(r->pid, wstatus, WNOHANG);

		if (got == r->pid)
			*exited = true;
		return 0;
	}
	kill(r->pid, (int)si.ssi_signo);
	return 0;
}

static bool runner_live_pending(struct logstream *out, struct logstream *err)
{
	return (out && logstream_live_pending(out)) || (err && logstream_live_pending(err));
}

static int runner_loop(struct runner *r, int sig_fd, struct logstream *s[3], int *wstatus)
{
	int *fds[3] = {&r->out_fd, &r->err_fd, &r->net_fd};
	bool exited = false;
	int ret = 0;

	while (!exited && !ret) {
		struct pollfd p[4];
		int n;

		for (int i = 0; i < 3; i++)
			p[i] = (struct pollfd){.fd = *fds[i], .events = POLLIN};
		p[3] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		n = poll(p, 4, runner_live_pending(s[0], s[1]) ? RUNNER_IDLE_MS : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (int i = 0; i < 2 && n == 0 && !ret; i++)
			ret = s[i] ? logstream_idle(s[i]) : 0;
		for (int i = 0; i < 3 && !ret; i++)
			if (p[i].revents)
				ret = runner_pump(fds[i], s[i], false);
		if (!ret && p[3].revents)
			ret = runner_signal(r, sig_fd, &exited, wstatus);
	}
	/* microvmm is gone: what it wrote is in the pipes; take it all. */
	for (int i = 0; i < 3 && !ret; i++)
		ret = runner_pump(fds[i], s[i], true);
	return ret;
}

int runner_wait(struct runner *r, int sig_fd, struct logstream *out, struct logstream *err,
		struct logstream *net, int *status)
{
	struct logstream *s[3] = {out, err, net};
	int wstatus = 0;
	int ret = runner_loop(r, sig_fd, s, &wstatus);

	int *fds[3] = {&r->out_fd, &r->err_fd, &r->net_fd};

	for (int i = 0; i < 3; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	if (ret) {
		/* Not reaped yet (waitpid says 0): stop it. A reaped pid is never signalled. */
		if (waitpid(r->pid, NULL, WNOHANG) == 0) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, NULL, 0);
		}
		r->pid = -1;
		return ret;
	}
	r->pid = -1;
	*status = WIFEXITED(wstatus)	 ? WEXITSTATUS(wstatus)
		  : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus)
					 : 125;
	return 0;
}
