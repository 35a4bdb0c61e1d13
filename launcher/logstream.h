/* One output stream of the run: shown live to the user and written to the audit trail, redacted. */
#ifndef MICROVMM_LAUNCHER_LOGSTREAM_H
#define MICROVMM_LAUNCHER_LOGSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "launcher/redact.h"

/*
 * The bytes microvmm writes to a pipe go two ways, each through its own
 * redactor: to live_fd (the user's terminal or output; bytes held back as
 * a possible secret's start are released by logstream_idle() when nothing
 * more comes, so typing stays responsive) and to log_fd (the audit file;
 * held until the stream shows whether they are a secret). With a tag, the
 * log gets one line per output line: "2026-12-05T10:11:12.345Z TAG text"
 * (UTC, the time the line began; a trailing CR is dropped; lines longer
 * than LOGSTREAM_LINE_MAX are cut into several). Without a tag the log is
 * a plain redacted copy. Owned by the runner's loop; no locking.
 */

#define LOGSTREAM_LINE_MAX 4096

struct logstream {
	int log_fd;	 /* -1: none */
	int live_fd;	 /* -1: none */
	const char *tag; /* NULL: no timestamps */
	struct redactor live, log;
	char line[LOGSTREAM_LINE_MAX];
	size_t line_len;
	struct timespec line_start;
	int log_err;	  /* first write error to log_fd (then the log stops) */
	bool live_broken; /* the live side went away (EPIPE): it is skipped from then on */
};

/* Returns 0 or -ENOMEM. set must outlive the stream. */
int logstream_init(struct logstream *s, const struct redact_set *set, int log_fd, int live_fd,
		   const char *tag) __attribute__((warn_unused_result));
/* New bytes from the stream. Returns 0 or -ENOMEM; write errors are kept in the stream. */
int logstream_data(struct logstream *s, const char *data, size_t len)
    __attribute__((warn_unused_result));
/* Whether the live side holds bytes back (the caller then polls with a short timeout). */
bool logstream_live_pending(const struct logstream *s);
/* Nothing came for a while: release what the live side holds. */
int logstream_idle(struct logstream *s) __attribute__((warn_unused_result));
/* The stream ended: flush both sides and a last partial line. */
int logstream_finish(struct logstream *s) __attribute__((warn_unused_result));
void logstream_free(struct logstream *s);

#endif
