/* The jail around the VMM: a supervisor outside, namespaces, an empty root, no privileges. */
#ifndef MICROVMM_VMM_SANDBOX_JAIL_H
#define MICROVMM_VMM_SANDBOX_JAIL_H

#include <signal.h>
#include <stddef.h>

/*
 * Call order (main.c): jail_close_inherited_fds() first thing; then
 * jail_fork() before anything touches KVM (KVM refuses fds from another
 * mm); the child builds the VM (helpers included, still seeing the host),
 * then jail_enter() before any vCPU runs.
 *
 * jail_fork: new PID namespace (plus a user namespace when not root) and a
 * fork. The parent becomes the supervisor: it holds no guest data and no
 * KVM fd, runs under its own seccomp filter, passes SIGTERM/SIGINT/SIGHUP/
 * SIGQUIT sent to it on to the VMM, restores the terminal if the VMM died
 * without doing so, and exits with the VMM's status. It never returns.
 * The child (PID 1 of the new namespace: when it ends, every helper in it
 * ends too) returns 0 with those signals blocked (vm_run collects them).
 */
void jail_close_inherited_fds(void);

/*
 * The signals that end a VM (INT, TERM, HUP, QUIT): the supervisor passes
 * them on, and the VM process collects them in vm_run. One list for both.
 */
void jail_add_termination_signals(sigset_t *set);

/*
 * Pre-jail state split between the two processes (the API socket): the
 * supervisor runs cleanup(ctx) before it exits with the VM process's
 * status (under its seccomp filter: only calls on fds pinned for
 * SECCOMP_SUPERVISOR) and closes vm_fd; the VM process closes
 * supervisor_fd. NULL or -1 where there is nothing.
 */
struct jail_handover {
	void (*cleanup)(void *ctx);
	void *ctx;
	int supervisor_fd;
	int vm_fd;
};
int jail_fork(const struct jail_handover *handover, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * In the child, once every fd, ring and helper exists: new mount, IPC, UTS
 * and network namespaces, pivot_root into an empty read-only tmpfs, the
 * jail uid/gid (root) or no capabilities (user namespace), rlimits on
 * files and core dumps, not dumpable, no_new_privs. No thread limit: no
 * seccomp filter lets a thread create another (see jail_limits).
 */
struct jail_options {
	unsigned int uid, gid;	/* the jail's ids when microvmm runs as root (--jail-user) */
	unsigned int spare_fds; /* fds opened after the jail (API connections) beyond a few */
};
int jail_enter(const struct jail_options *opts, char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
