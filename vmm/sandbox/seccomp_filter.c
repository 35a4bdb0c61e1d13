/* Per-thread seccomp allowlists (libseccomp): one list per thread class, docs/security.md. */
#include "vmm/sandbox/seccomp_filter.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>

/* How a rule limits its arguments. */
enum seccomp_arg {
	ARG_ANY,
	ARG_IOCTL,     /* request number (arg 1) from the class's ioctl list */
	ARG_NO_EXEC,   /* mmap/mprotect: never PROT_EXEC (arg 2) */
	ARG_PINNED_FD, /* only on the fds seccomp_filter_pin_fds() gave the class (arg 0) */
};

struct seccomp_rule {
	int nr;
	const char *name;
	enum seccomp_arg arg;
	const char *why;
};

struct seccomp_ioctl {
	unsigned long request;
	const char *name;
};

#define RULE(sys, why)                                                                             \
	{                                                                                          \
		SCMP_SYS(sys), #sys, ARG_ANY, why                                                  \
	}
#define RULE_ARG(sys, a, why)                                                                      \
	{                                                                                          \
		SCMP_SYS(sys), #sys, a, why                                                        \
	}
#define IOCTL(req)                                                                                 \
	{                                                                                          \
		req, #req                                                                          \
	}
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* What every thread of a glibc/pthreads program needs to live and die. */
#define RULES_THREAD_BASICS                                                                        \
	RULE(futex, "pthread mutexes and condition variables (device and VM locks)"),              \
	    RULE(read, "eventfds (kicks, stop, wake-ups)"),                                        \
	    RULE(write, "eventfds, log lines on stderr"),                                          \
	    RULE(rt_sigprocmask, "glibc masks signals around thread start and exit"),              \
	    RULE(rt_sigreturn, "return from the vCPU kick handler"),                               \
	    RULE(restart_syscall, "a blocking call interrupted by the kick signal"),               \
	    RULE(madvise, "glibc frees thread stacks and heap pages"),                             \
	    RULE_ARG(mmap, ARG_NO_EXEC, "malloc of large blocks; never executable"),               \
	    RULE(munmap, "free of large blocks"),                                                  \
	    RULE(mremap, "realloc of large blocks (output backlogs)"),                             \
	    RULE_ARG(mprotect, ARG_NO_EXEC,                                                        \
		     "glibc adjusts heap and stack guard pages; never executable"),                \
	    RULE(brk, "malloc's heap"),                                                            \
	    RULE(clock_gettime, "timestamps when the vDSO cannot answer"),                         \
	    RULE(gettid, "glibc's own bookkeeping (raise, pthread_kill)"),                         \
	    RULE(getpid, "glibc's own bookkeeping (raise, pthread_kill)"),                         \
	    RULE(exit, "a thread ends"), RULE(exit_group, "the process ends (or aborts)")

static const struct seccomp_rule rules_vcpu[] = {
    RULES_THREAD_BASICS,
    RULE_ARG(ioctl, ARG_IOCTL, "KVM_RUN, and interrupt routing when the guest programs MSI-X"),
};
static const struct seccomp_ioctl ioctls_vcpu[] = {
    IOCTL(KVM_RUN),
    /* The UART's interrupt line, raised from its register writes. */
    IOCTL(KVM_IRQ_LINE),
    /* MSI-X table writes re-route vectors and attach or detach irqfds. */
    IOCTL(KVM_SET_GSI_ROUTING),
    IOCTL(KVM_IRQFD),
    /* DRIVER_OK or a moved BAR (re)registers a queue's notify ioeventfd. */
    IOCTL(KVM_IOEVENTFD),
};

static const struct seccomp_rule rules_loop[] = {
    RULES_THREAD_BASICS,
    RULE(io_uring_enter, "submitting and reaping every device's I/O"),
    RULE_ARG(sendmsg, ARG_PINNED_FD,
	     "vhost-user requests to virtiofsd (with fds) at activation and reset"),
    RULE_ARG(recvmsg, ARG_PINNED_FD, "vhost-user replies from virtiofsd"),
    RULE(close, "fds a misbehaving vhost-user back-end attached to a reply"),
    RULE(lseek, "reading a helper's last words (memfd) when it dies"),
    RULE(pread64, "reading a helper's last words (memfd) when it dies"),
    RULE_ARG(ioctl, ARG_IOCTL, "TUNSETOFFLOAD when the guest's NIC driver starts"),
};
static const struct seccomp_ioctl ioctls_loop[] = {
    IOCTL(TUNSETOFFLOAD),
};

static const struct seccomp_rule rules_input[] = {
    RULES_THREAD_BASICS,
    RULE(poll, "waiting for terminal input or the stop eventfd"),
    RULE(ppoll, "the same, where glibc uses ppoll"),
    RULE_ARG(ioctl, ARG_IOCTL, "the UART's interrupt line"),
};
static const struct seccomp_ioctl ioctls_input[] = {
    IOCTL(KVM_IRQ_LINE),
};

static const struct seccomp_rule rules_main[] = {
    RULES_THREAD_BASICS,
    RULE(poll, "waiting for signals, timers and the stop eventfd"),
    RULE(ppoll, "the same, where glibc uses ppoll"),
    RULE(timerfd_create, "--timeout and the grace period after it"),
    RULE(timerfd_settime, "arming those timers"),
    RULE(close, "teardown"),
    RULE(tgkill, "kicking vCPU threads out of KVM_RUN at stop (pthread_kill)"),
    RULE(io_uring_enter, "draining the guest's last output after the loop stopped"),
    RULE(wait4, "reaping virtiofsd and passt at the end"),
    RULE(kill, "TERM/KILL for a helper that does not exit by itself"),
    RULE(nanosleep, "polling a helper's exit"),
    RULE(clock_nanosleep, "polling a helper's exit"),
    RULE(lseek, "reading a helper's last words (memfd)"),
    RULE(pread64, "reading a helper's last words (memfd)"),
    RULE_ARG(ioctl, ARG_IOCTL, "the terminal (window size, restoring its mode) and teardown"),
};
static const struct seccomp_ioctl ioctls_main[] = {
    IOCTL(TIOCGWINSZ), /* SIGWINCH: the new size goes to the guest's console */
    IOCTL(TCGETS),     /* tcsetattr reads back what it set */
    IOCTL(TCSETS),     /* restoring the terminal's mode */
    IOCTL(TCSETSW),	  IOCTL(TCSETSF), IOCTL(KVM_IRQFD), /* detaching MSI irqfds at teardown */
    IOCTL(KVM_IOEVENTFD), /* dropping notify ioeventfds at teardown */
};

static const struct seccomp_rule rules_supervisor[] = {
    RULE(rt_sigtimedwait, "waiting for the jailed VMM to end, or for a signal to pass on"),
    RULE(wait4, "the jailed VMM's exit status"),
    RULE(kill, "passing SIGTERM/SIGINT/SIGHUP/SIGQUIT on to the jailed VMM"),
    RULE(write, "one error line on stderr"),
    RULE_ARG(ioctl, ARG_IOCTL, "restoring the terminal if the VMM died without doing so"),
    RULE(rt_sigprocmask, "glibc"),
    RULE(rt_sigreturn, "glibc"),
    RULE(restart_syscall, "an interrupted wait"),
    RULE(exit_group, "exiting with the VMM's status"),
    RULE_ARG(newfstatat, ARG_PINNED_FD,
	     "--api-socket: is the socket file still ours (its directory's fd only)"),
    RULE_ARG(unlinkat, ARG_PINNED_FD, "--api-socket: removing it (its directory's fd only)"),
    RULE_ARG(close, ARG_PINNED_FD, "--api-socket: its directory's fd, after the removal"),
};
static const struct seccomp_ioctl ioctls_supervisor[] = {
    IOCTL(TCSETS), IOCTL(TCSETSW),
    IOCTL(TCGETS), /* glibc's tcsetattr reads the mode back after TCSETS */
};

static const struct seccomp_rule rules_api[] = {
    RULES_THREAD_BASICS,
    RULE(poll, "waiting for connections, requests, published events and the stop eventfd"),
    RULE(ppoll, "the same, where glibc uses ppoll"),
    RULE_ARG(accept4, ARG_PINNED_FD, "a connection on the API socket (its listening fd only)"),
    RULE(sendto, "responses (send with MSG_NOSIGNAL: a client gone is EPIPE, not SIGPIPE)"),
    RULE(close, "a connection that ended"),
};
static const struct seccomp_ioctl ioctls_api[] = {
    {0, NULL},
};

struct seccomp_class_info {
	const char *name;
	const struct seccomp_rule *rules;
	unsigned int rule_count;
	const struct seccomp_ioctl *ioctls;
	unsigned int ioctl_count;
};

static const struct seccomp_class_info seccomp_classes[SECCOMP_CLASS_COUNT] = {
    [SECCOMP_VCPU] = {"vcpu", rules_vcpu, COUNT(rules_vcpu), ioctls_vcpu, COUNT(ioctls_vcpu)},
    [SECCOMP_LOOP] = {"devices", rules_loop, COUNT(rules_loop), ioctls_loop, COUNT(ioctls_loop)},
    [SECCOMP_INPUT] = {"uart-input", rules_input, COUNT(rules_input), ioctls_input,
		       COUNT(ioctls_input)},
    [SECCOMP_MAIN] = {"main", rules_main, COUNT(rules_main), ioctls_main, COUNT(ioctls_main)},
    [SECCOMP_SUPERVISOR] = {"supervisor", rules_supervisor, COUNT(rules_supervisor),
			    ioctls_supervisor, COUNT(ioctls_supervisor)},
    [SECCOMP_API] = {"api", rules_api, COUNT(rules_api), ioctls_api, 0},
};

static enum seccomp_mode seccomp_mode = SECCOMP_MODE_OFF;

/* The fds each class's ARG_PINNED_FD calls may use (set before its threads start). */
static struct {
	int fds[SECCOMP_MAX_PINNED_FDS];
	unsigned int count;
} seccomp_pinned[SECCOMP_CLASS_COUNT];

int seccomp_filter_pin_fds(enum seccomp_class cls, const int *fds, unsigned int count)
{
	if ((unsigned int)cls >= SECCOMP_CLASS_COUNT || count > SECCOMP_MAX_PINNED_FDS)
		return -EINVAL;
	for (unsigned int i = 0; i < count; i++)
		seccomp_pinned[cls].fds[i] = fds[i];
	seccomp_pinned[cls].count = count;
	return 0;
}

void seccomp_filter_configure(enum seccomp_mode mode)
{
	seccomp_mode = mode;
}

enum seccomp_mode seccomp_filter_mode(void)
{
	return seccomp_mode;
}

__attribute__((weak)) void seccomp_filter_test_hook(enum seccomp_class cls)
{
	(void)cls;
}

static int seccomp_filter_add(scmp_filter_ctx ctx, enum seccomp_class cls,
			      const struct seccomp_rule *rule)
{
	const struct seccomp_class_info *info = &seccomp_classes[cls];
	int ret = 0;

	switch (rule->arg) {
	case ARG_ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, rule->nr, 0);
	case ARG_NO_EXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, rule->nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case ARG_IOCTL:
		/* Rules for one syscall are OR-ed: one per request number. */
		for (unsigned int i = 0; i < info->ioctl_count && !ret; i++)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, rule->nr, 1,
					       SCMP_A1(SCMP_CMP_EQ, info->ioctls[i].request));
		return ret;
	case ARG_PINNED_FD:
		/* No fd given: the call is not allowed at all (a VM without vhost-user). */
		for (unsigned int i = 0; i < seccomp_pinned[cls].count && !ret; i++)
			ret = seccomp_rule_add(
			    ctx, SCMP_ACT_ALLOW, rule->nr, 1,
			    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)seccomp_pinned[cls].fds[i]));
		return ret;
	}
	return -EINVAL;
}

int seccomp_filter_enter(enum seccomp_class cls)
{
	const struct seccomp_class_info *info;
	scmp_filter_ctx ctx;
	int ret = 0;

	if (seccomp_mode == SECCOMP_MODE_OFF)
		return 0;
	if ((unsigned int)cls >= SECCOMP_CLASS_COUNT)
		return -EINVAL;
	info = &seccomp_classes[cls];
	/* Kill the whole process, not just the thread: a half-dead VMM is worse. */
	ctx = seccomp_init(seccomp_mode == SECCOMP_MODE_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	for (unsigned int i = 0; i < info->rule_count && !ret; i++)
		ret = seccomp_filter_add(ctx, cls, &info->rules[i]);
	if (!ret)
		ret = seccomp_load(ctx); /* sets no_new_privs first (SCMP_FLTATR_CTL_NNP) */
	seccomp_release(ctx);
	if (!ret)
		seccomp_filter_test_hook(cls);
	return ret;
}

const char *seccomp_filter_class_name(enum seccomp_class cls)
{
	return (unsigned int)cls < SECCOMP_CLASS_COUNT ? seccomp_classes[cls].name : "?";
}

unsigned int seccomp_filter_count(enum seccomp_class cls)
{
	return (unsigned int)cls < SECCOMP_CLASS_COUNT ? seccomp_classes[cls].rule_count : 0;
}

bool seccomp_filter_rule(enum seccomp_class cls, unsigned int i, const char **name,
			 const char **why, const char **args)
{
	static __thread char ioctl_names[512];
	const struct seccomp_class_info *info;

	if ((unsigned int)cls >= SECCOMP_CLASS_COUNT || i >= seccomp_classes[cls].rule_count)
		return false;
	info = &seccomp_classes[cls];
	*name = info->rules[i].name;
	*why = info->rules[i].why;
	*args = NULL;
	if (info->rules[i].arg == ARG_NO_EXEC) {
		*args = "prot without PROT_EXEC";
	} else if (info->rules[i].arg == ARG_PINNED_FD) {
		*args = "fd: only the ones pinned for the class (see why)";
	} else if (info->rules[i].arg == ARG_IOCTL) {
		size_t len = 0;

		ioctl_names[0] = '\0';
		for (unsigned int k = 0; k < info->ioctl_count && len < sizeof(ioctl_names); k++)
			len += (size_t)snprintf(ioctl_names + len, sizeof(ioctl_names) - len,
						"%s%s", k ? " " : "", info->ioctls[k].name);
		*args = ioctl_names;
	}
	return true;
}
