/* Logging: one write(2) per line to stderr, with a level and a subsystem tag. */
#ifndef MICROVMM_VMM_LOG_H
#define MICROVMM_VMM_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Messages above this level are dropped. Set once at start, read by every thread. */
void log_set_level(enum log_level level);

/*
 * Formats into a stack buffer and emits it with a single write(2), so lines
 * from different threads never interleave. Safe from any thread; uses no
 * stdio (it stays usable once the sandbox forbids it).
 */
void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The user-facing error line: "microvmm: <message>" with no tag, the one
 * line a failed start prints.
 */
void log_user_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A report the user asked for (e.g. --boot-timeline): "microvmm: <message>", at any level. */
void log_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Rate-limited variant for guest-triggered conditions: at most one line per
 * `state` every few seconds, with a count of what was suppressed.
 */
struct log_ratelimit {
	long long last_ns;
	unsigned int suppressed;
};
void log_guest(struct log_ratelimit *state, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Guest text made safe for the user's terminal: at most `max_in` bytes of
 * `in` (NUL-terminated), every byte outside printable ASCII and every
 * backslash written as \xNN, "..." appended when `in` was longer. `out`
 * is always NUL-terminated; returns its length.
 */
size_t log_escape_guest_text(char *out, size_t out_len, const char *in, size_t max_in);

#define log_err(tag, ...)   log_msg(LOG_ERROR, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_debug(tag, ...) log_msg(LOG_DEBUG, tag, __VA_ARGS__)

#endif
