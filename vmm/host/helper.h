/* Helper processes microvmm starts (virtiofsd, passt): spawn, last words, stop. */
#ifndef MICROVMM_VMM_HOST_HELPER_H
#define MICROVMM_VMM_HOST_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The fd number a helper gets its socket on (--fd 3 / -F 3). */
#define HELPER_PASSED_FD 3

/*
 * One child. It runs in its own process group (terminal signals are
 * microvmm's to forward), dies with microvmm (PR_SET_PDEATHSIG, even on
 * SIGKILL), sees only stdin/stdout on /dev/null, stderr in a memfd we keep
 * for error messages, and `pass_fd` as fd 3. Nothing else of ours (KVM fds,
 * guest memory, the terminal) reaches it.
 */
struct helper {
	pid_t pid;  /* -1: none */
	int log_fd; /* memfd with the helper's stderr */
};

/* Call before anything else so helper_stop() is safe. */
void helper_init(struct helper *h);

/*
 * Starts argv[0] (an absolute path). `pre_exec(arg)` runs in the child
 * just before exec (e.g. to set up a mount namespace); it may write a
 * message to stderr and _exit. Returns 0 or -errno.
 */
int helper_spawn(struct helper *h, char *const argv[], int pass_fd, void (*pre_exec)(void *arg),
		 void *arg) __attribute__((warn_unused_result));

/* In the child: report a failure on stderr and exit 127. */
void helper_child_fail(const char *what) __attribute__((noreturn));

/* The helper's last line on stderr (empty when none). */
void helper_last_words(const struct helper *h, char *out, size_t len);

/* Whether `path` is a regular file we may execute. */
bool helper_executable(const char *path);

/* The first executable `name` in $PATH, into `out`; false when there is none. */
bool helper_find_on_path(const char *name, char *out, size_t len);

/* Waits up to `ms` for child `pid` to exit and reaps it; true once it is gone. */
bool helper_reap_within(pid_t pid, long ms);

/* Whether it has exited (reaps it). */
bool helper_exited(struct helper *h);

/* Waits `grace_ms` for it to exit on its own, then TERM, then KILL; reaps it. Idempotent. */
void helper_stop(struct helper *h, long grace_ms);

#endif
