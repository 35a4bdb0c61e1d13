/* Running microvmm: its output through pipes into log streams, signals passed on, its exit status.
 */
#ifndef MICROVMM_LAUNCHER_RUNNER_H
#define MICROVMM_LAUNCHER_RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "launcher/logstream.h"

/*
 * Call order: the caller blocks runner_signals() and reads them from a
 * signalfd; runner_start() forks microvmm with the caller's original mask,
 * stdin inherited (microvmm takes the terminal itself when it is one),
 * stdout and stderr on pipes, and takes over the read end of the FIFO
 * given to microvmm as --net-log (microvmm opens the log by name and
 * refuses symlinks, so /proc/self/fd/N will not do); runner_wait() then
 * copies all three into the streams until microvmm has exited, passing
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT on to it. The child dies with the
 * launcher (PR_SET_PDEATHSIG), so a killed launcher leaves nothing running.
 */
struct runner {
	pid_t pid;
	int out_fd, err_fd, net_fd; /* read ends, -1 when closed */
};

/* The signals the caller blocks and hands runner_wait() through a signalfd. */
void runner_signals(sigset_t *set);

/*
 * Starts exe with argv. child_mask is the signal mask the child gets;
 * net_fd (or -1) is the --net-log FIFO's read end, which r then owns.
 * Returns 0, or -errno with one line in err (also when exec fails).
 */
int runner_start(struct runner *r, const char *exe, char *const argv[], const sigset_t *child_mask,
		 int net_fd, char *err, size_t err_len) __attribute__((warn_unused_result));

/*
 * Copies microvmm's stdout, stderr and net log into out, err and net (any
 * may be NULL: the bytes are dropped) until it exits and the pipes are
 * drained, then sets *status: its exit status, or 128+N when signal N
 * killed it. Returns 0 or -errno (the child has then been killed and
 * reaped).
 */
int runner_wait(struct runner *r, int sig_fd, struct logstream *out, struct logstream *err,
		struct logstream *net, int *status) __attribute__((warn_unused_result));

#endif
