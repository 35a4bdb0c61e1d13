/* The jail around the VMM: a supervisor outside, namespaces, an empty root, no privileges. */
#include "vmm/sandbox/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/exit_codes.h"
#include "vmm/log.h"
#include "vmm/sandbox/seccomp_filter.h"

/* Where the empty root is mounted before pivot_root; any directory of the host will do. */
static const char *const jail_mount_points[] = {"/tmp", "/mnt", "/run", "/dev"};

void jail_close_inherited_fds(void)
{
	/* Only 0, 1 and 2 are ours to use; a leaked fd could reach anything. */
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
}

static int jail_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	ret = n == (ssize_t)strlen(text) ? 0 : -errno;
	close(fd);
	return ret;
}

/* Without root: a user namespace where we keep our own ids and gain the right to unshare. */
static int jail_user_namespace(void)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int ret;

	if (unshare(CLONE_NEWUSER) < 0)
		return -errno;
	ret = jail_write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1", (unsigned int)uid, (unsigned int)uid);
	if (!ret)
		ret = jail_write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1", (unsigned int)gid, (unsigned int)gid);
	if (!ret)
		ret = jail_write_file("/proc/self/gid_map", map);
	return ret;
}

void jail_add_termination_signals(sigset_t *set)
{
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

/* The supervisor's: the termination signals it passes on, and its child's end. */
static void jail_signal_set(sigset_t *set)
{
	sigemptyset(set);
	jail_add_termination_signals(set);
	sigaddset(set, SIGCHLD);
}

static int jail_exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;

	if (sig == SIGSYS)
		log_user_error(
		    "microvmm's VM process made a system call its seccomp filter forbids "
		    "and was killed: this is a bug; run with --seccomp=log to see which");
	else if (sig == SIGKILL)
		/* What a memory cgroup or the host does when it cannot back guest RAM
		 * (docs/security.md). */
		log_user_error(
		    "microvmm's VM process was killed (SIGKILL): by another process, or by "
		    "the kernel's out-of-memory killer when the host cannot back the "
		    "guest's RAM (give a smaller --mem)");
	else
		log_user_error("microvmm's VM process was killed by signal %d (%s)", sig,
			       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	return EXIT_VMM_FAILURE;
}

/* The supervisor: wait, pass signals on, restore the terminal. Never returns. */
static void __attribute__((noreturn))
jail_supervise(pid_t child, const struct termios *saved, bool have_tty,
	       const struct jail_handover *handover)
{
	sigset_t set;
	siginfo_t si;
	int status;

	jail_signal_set(&set);
	if (seccomp_filter_enter(SECCOMP_SUPERVISOR))
		log_warn("jail", "cannot install the supervisor's seccomp filter");
	for (;;) {
		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_signo == SIGCHLD) {
			if (waitpid(child, &status, WNOHANG) != child)
				continue;
			/* A VMM that died abruptly left the terminal raw. */
			if (have_tty && !WIFEXITED(status))
				tcsetattr(STDIN_FILENO, TCSANOW, saved);
			if (handover && handover->cleanup)
				handover->cleanup(handover->ctx);
			_exit(jail_exit_status(status));
		}
		/*
		 * Signals someone sent us (kill, a launcher) go to the VMM; the
		 * terminal's own (Ctrl-C) already reach it: same process group.
		 */
		if (si.si_code <= 0 && si.si_pid != child)
			kill(child, si.si_signo);
	}
}

/*
 * In the VM process: the read end of a pipe whose write end only the
 * supervisor holds, so it reports POLLHUP once the supervisor is gone (the
 * VM process is pid 1 of its own PID namespace: getppid() says 0 either
 * way). Closed once the jail is entered.
 */
static int jail_supervisor_pipe = -1;

/*
 * SIGKILL when the supervisor dies, and go at once if it died before this
 * call. Any change of the effective uid or gid clears the setting
 * (prctl(2) PR_SET_PDEATHSIG), so the jail arms it again after dropping
 * privileges: without that a SIGKILLed supervisor left the VM running.
 */
static void jail_arm_parent_death(void)
{
	struct pollfd gone = {.fd = jail_supervisor_pipe, .events = POLLIN};

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || poll(&gone, 1, 0) != 0)
		_exit(EXIT_VMM_FAILURE);
}

static int jail_fork_failed(char *err, size_t err_len)
{
	int ret = -errno;

	snprintf(err, err_len, "cannot start the jailed VM process: %s", strerror(-ret));
	return ret;
}

int jail_fork(const struct jail_handover *handover, char *err, size_t err_len)
{
	struct termios saved;
	bool have_tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	sigset_t set;
	pid_t child;
	int pipe_fds[2], ret = 0;

	if (geteuid() != 0)
		ret = jail_user_namespace();
	if (!ret && unshare(CLONE_NEWPID) < 0)
		ret = -errno;
	if (ret) {
		snprintf(err, err_len,
			 "cannot create the sandbox's namespaces (%s): run as root, allow user "
			 "namespaces (sysctl kernel.unprivileged_userns_clone=1), or give "
			 "--no-sandbox",
			 strerror(-ret));
		return ret;
	}
	/* Blocked before the fork: a SIGTERM during VM setup waits for vm_run. */
	jail_signal_set(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return jail_fork_failed(err, err_len);
	child = fork();
	if (child < 0) {
		ret = jail_fork_failed(err, err_len);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return ret;
	}
	if (child > 0) {
		close(pipe_fds[0]);
		if (handover && handover->vm_fd >= 0)
			close(handover->vm_fd);
		jail_supervise(child, &saved, have_tty, handover);
	}
	close(pipe_fds[1]);
	if (handover && handover->supervisor_fd >= 0)
		close(handover->supervisor_fd);
	jail_supervisor_pipe = pipe_fds[0];
	/* The supervisor gone (even SIGKILLed) takes the VM, and with it every helper. */
	jail_arm_parent_death();
	return 0;
}

/* An empty, read-only tmpfs as /, the host's tree detached (pivot_root(2) "pivot_root(".", ".")").
 */
static int jail_pivot(void)
{
	const char *dir = NULL;
	struct stat st;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(jail_mount_points) / sizeof(jail_mount_points[0]); i++)
		if (stat(jail_mount_points[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			dir = jail_mount_points[i];
			break;
		}
	if (!dir)
		return -ENOENT;
	if (mount("microvmm-jail", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=2,mode=0555") < 0 ||
	    chdir(dir) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		return -errno;
	return 0;
}

static int jail_drop_privileges(const struct jail_options *opts)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	if (geteuid() == 0) {
		gid_t gid = opts->gid;
		uid_t uid = opts->uid;

		/* Dropping uid 0 drops every capability (capabilities(7), no SECBIT_KEEP_CAPS). */
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			return -errno;
		return 0;
	}
	/* In our user namespace: keep the ids, lose the capabilities it gave us. */
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static int jail_limits(unsigned int spare_fds)
{
	struct rlimit core = {0, 0};
	struct rlimit files;
	int max_fd = 0;

	/* Every fd the VM needs is open; a few more for timers. */
	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			max_fd = fd;
	files.rlim_cur = files.rlim_max = (rlim_t)max_fd + 16 + spare_fds;
	/*
	 * No RLIMIT_NPROC: it counts every process of the uid, and several VMs
	 * share the jail uid. No filter allows clone or fork, which is stricter.
	 */
	if (setrlimit(RLIMIT_CORE, &core) < 0 || setrlimit(RLIMIT_NOFILE, &files) < 0)
		return -errno;
	return 0;
}

int jail_enter(const struct jail_options *opts, char *err, size_t err_len)
{
	const char *step = "namespaces";
	int ret = 0;

	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
		ret = -errno;
	if (!ret) {
		step = "an empty root";
		ret = jail_pivot();
	}
	if (!ret) {
		step = "rlimits";
		ret = jail_limits(opts->spare_fds);
	}
	if (!ret) {
		step = "dropping privileges";
		ret = jail_drop_privileges(opts);
	}
	if (!ret && jail_supervisor_pipe >= 0) {
		jail_arm_parent_death();
		close(jail_supervisor_pipe);
		jail_supervisor_pipe = -1;
	}
	/* Not dumpable: no ptrace, no core, /proc/<pid> files owned by root. */
	if (!ret && (prctl(PR_SET_DUMPABLE, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)) {
		step = "no_new_privs";
		ret = -errno;
	}
	if (ret)
		snprintf(err, err_len,
			 "cannot enter the sandbox (%s: %s): give --jail-user or "
			 "--no-sandbox",
			 step, strerror(-ret));
	return ret;
}
