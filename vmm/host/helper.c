/* Helper processes microvmm starts (virtiofsd, passt): spawn, last words, stop. */
#include "vmm/host/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void helper_init(struct helper *h)
{
	h->pid = -1;
	h->log_fd = -1;
}

void helper_child_fail(const char *what)
{
	dprintf(STDERR_FILENO, "microvmm: cannot start the helper: %s: %s\n", what,
		strerror(errno));
	_exit(127);
}

static void helper_child(pid_t parent, char *const argv[], int pass_fd, int log_fd,
			 void (*pre_exec)(void *arg), void *arg)
{
	sigset_t none;
	int null_fd = open("/dev/null", O_RDWR);

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1); /* microvmm died before the line above */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (null_fd < 0 || dup2(log_fd, STDERR_FILENO) < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
	    dup2(null_fd, STDOUT_FILENO) < 0 ||
	    (pass_fd >= 0 && dup2(pass_fd, HELPER_PASSED_FD) < 0))
		helper_child_fail("setting up its file descriptors");
	if (syscall(SYS_close_range, HELPER_PASSED_FD + (pass_fd >= 0), ~0U, 0) < 0)
		for (int fd = HELPER_PASSED_FD + (pass_fd >= 0); fd < 4096; fd++)
			close(fd);
	if (pre_exec)
		pre_exec(arg);
	execv(argv[0], argv);
	helper_child_fail(argv[0]);
}

int helper_spawn(struct helper *h, char *const argv[], int pass_fd, void (*pre_exec)(void *arg),
		 void *arg)
{
	pid_t parent = getpid();
	int ret;

	h->log_fd = memfd_create("microvmm-helper-stderr", MFD_CLOEXEC);
	if (h->log_fd < 0)
		return -errno;
	h->pid = fork();
	if (h->pid == 0)
		helper_child(parent, argv, pass_fd, h->log_fd, pre_exec, arg);
	ret = h->pid < 0 ? -errno : 0;
	if (ret)
		h->pid = -1;
	return ret;
}

void helper_last_words(const struct helper *h, char *out, size_t len)
{
	char buf[512];
	off_t size, from;
	ssize_t n;

	if (len == 0)
		return;
	out[0] = '\0';
	if (h->log_fd < 0)
		return;
	size = lseek(h->log_fd, 0, SEEK_END);
	if (size <= 0)
		return;
	from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
	n = pread(h->log_fd, buf, sizeof(buf) - 1, from);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	const char *line = strrchr(buf, '\n');

	snprintf(out, len, "%s", line ? line + 1 : buf);
}

static long helper_ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

bool helper_reap_within(pid_t pid, long ms)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (helper_ms_since(&start) >= ms)
			return false;
		usleep(2000);
	}
}

/* Waits up to `ms` for the helper; true once reaped (or never started). */
static bool helper_wait(struct helper *h, long ms)
{
	if (h->pid > 0 && !helper_reap_within(h->pid, ms))
		return false;
	h->pid = -1;
	return true;
}

bool helper_exited(struct helper *h)
{
	return helper_wait(h, 0);
}

bool helper_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

bool helper_find_on_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (n > 0 && (size_t)snprintf(out, len, "%.*s/%s", (int)n, path, name) < len &&
		    helper_executable(out))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

void helper_stop(struct helper *h, long grace_ms)
{
	if (h->pid > 0 && !helper_wait(h, grace_ms)) {
		/*
		 * The whole group: the helper's own sandbox children too. From the
		 * jail (another uid) this fails with EPERM; the helper then dies
		 * with the jail's PID namespace when microvmm exits.
		 */
		if (kill(-h->pid, SIGTERM) == 0 && !helper_wait(h, 1000) &&
		    kill(-h->pid, SIGKILL) == 0)
			waitpid(h->pid, NULL, 0);
	}
	h->pid = -1;
	if (h->log_fd >= 0)
		close(h->log_fd);
	h->log_fd = -1;
}
