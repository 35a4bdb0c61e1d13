/* The run's private directory on the host: the guest's setup (read-only share) and output share. */
#ifndef MICROVMM_LAUNCHER_RUNDIR_H
#define MICROVMM_LAUNCHER_RUNDIR_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * PATH = mkdtemp("$XDG_RUNTIME_DIR/microvmm-agent.XXXXXX") (else $TMPDIR,
 * else /tmp), mode 0700, holding:
 *   setup/   shared read-only at /run/microvmm-agent: the entry script,
 *            config.sh, agent configuration, secrets/ (copies, 0400)
 *   out/     shared read-write at /run/microvmm-agent-out: where the
 *            entry script leaves the transcript and shell history
 *   net.fifo microvmm's --net-log, read by the launcher (never shared)
 * It holds secret copies, so it is removed on every exit path
 * (rundir_remove); a SIGKILLed launcher leaves it in the user's tmpfs run
 * directory, readable only by the user.
 */
#define RUNDIR_GUEST_SETUP "/run/microvmm-agent"
#define RUNDIR_GUEST_OUT   "/run/microvmm-agent-out"

struct rundir {
	char path[PATH_MAX];
	char setup[PATH_MAX];
	char out[PATH_MAX];
	char net_fifo[PATH_MAX];  /* "" until rundir_net_fifo() */
	int fd, setup_fd, out_fd; /* -1 when not open */
};

/* Sets the fds to -1 so that rundir_remove() is safe on a rundir never created. */
void rundir_init(struct rundir *r);

/* Makes the directory and its subdirectories. Returns 0 or -errno with one line in err. */
int rundir_create(struct rundir *r, char *err, size_t err_len) __attribute__((warn_unused_result));

/* Writes file name (may be "secrets/NAME") under setup/ with mode. Returns 0 or -errno. */
int rundir_write(struct rundir *r, const char *name, const void *data, size_t len, mode_t mode)
    __attribute__((warn_unused_result));

/*
 * Makes net.fifo and opens its read end (non-blocking, close-on-exec) into
 * *fd. Returns 0 or -errno.
 */
int rundir_net_fifo(struct rundir *r, int *fd) __attribute__((warn_unused_result));

/*
 * Removes everything (never following symlinks the guest left in out/);
 * idempotent. Returns 0 or the first -errno (r->path then still names
 * what is left).
 */
int rundir_remove(struct rundir *r);

#endif
