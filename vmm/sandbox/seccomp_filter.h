/* Per-thread seccomp allowlists (libseccomp): one list per thread class, docs/security.md. */
#ifndef MICROVMM_VMM_SANDBOX_SECCOMP_FILTER_H
#define MICROVMM_VMM_SANDBOX_SECCOMP_FILTER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Every thread installs its own filter when it starts its real work (a
 * vCPU before its first KVM_RUN, the device loop before its first
 * io_uring_enter), and the main thread installs its filter once it has
 * started the others, so no thread inherits a wider list than its own.
 * Filters stack: a thread created after its parent's filter gets both.
 */
enum seccomp_class {
	SECCOMP_VCPU,	    /* KVM_RUN and the devices that trap to it */
	SECCOMP_LOOP,	    /* the io_uring device loop */
	SECCOMP_INPUT,	    /* terminal input for the UART before the guest's console is up */
	SECCOMP_MAIN,	    /* signals, timers, shutdown and teardown */
	SECCOMP_SUPERVISOR, /* the process outside the jail: waits and forwards signals */
	SECCOMP_API,	    /* the API socket's thread: accept, HTTP, JSON */
	SECCOMP_CLASS_COUNT
};

enum seccomp_mode {
	SECCOMP_MODE_OFF,  /* --no-sandbox */
	SECCOMP_MODE_KILL, /* default: a forbidden call kills the whole process (SIGSYS) */
	SECCOMP_MODE_LOG,  /* --seccomp=log: allowed but logged by the kernel (audit) */
};

/* Chooses the mode for every later seccomp_filter_enter(); call once before threads start. */
void seccomp_filter_configure(enum seccomp_mode mode);
enum seccomp_mode seccomp_filter_mode(void);

/*
 * Installs the class's filter on the calling thread (no_new_privs too).
 * Returns 0 or -errno; does nothing in SECCOMP_MODE_OFF.
 */
int seccomp_filter_enter(enum seccomp_class cls) __attribute__((warn_unused_result));

/*
 * Before the class's threads start: its fd-pinned calls (the device loop's
 * sendmsg and recvmsg, which can pass fds with SCM_RIGHTS) may use only
 * these fds. Without a call here they are not allowed at all. 0 or -EINVAL.
 */
#define SECCOMP_MAX_PINNED_FDS 32
int seccomp_filter_pin_fds(enum seccomp_class cls, const int *fds, unsigned int count)
    __attribute__((warn_unused_result));

/* For docs and the audit script: the class's name, and its syscalls one by one. */
const char *seccomp_filter_class_name(enum seccomp_class cls);
/* Number of distinct system calls the class may make. */
unsigned int seccomp_filter_count(enum seccomp_class cls);
/*
 * The i-th allowed call: its name, why it is there, and for ioctl the
 * request names it is limited to (NULL otherwise). false past the end.
 */
bool seccomp_filter_rule(enum seccomp_class cls, unsigned int i, const char **name,
			 const char **why, const char **args);

/*
 * Test builds only (tests/kvm/sandbox_hook.c overrides this weak no-op):
 * runs right after a thread's filter is in place, to prove it holds.
 */
void seccomp_filter_test_hook(enum seccomp_class cls);

#endif
