/* Logging: single-write lines on stderr, levels, tags and guest rate limiting. */
#include "vmm/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX	      1024
#define LOG_GUEST_INTERVAL_NS (5LL * 1000 * 1000 * 1000)

static volatile enum log_level log_threshold = LOG_WARN;

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

static void log_emit(const char *prefix, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int saved_errno = errno;
	int n = snprintf(line, sizeof(line), "%s", prefix);

	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);

	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line: atomic for stderr pipes up to PIPE_BUF. */
	ssize_t ignored = write(STDERR_FILENO, line, len);
	(void)ignored;
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *tag, const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	if (level > log_threshold)
		return;
	snprintf(prefix, sizeof(prefix), "microvmm: %s: %s: ", log_level_names[level], tag);
	va_start(ap, fmt);
	log_emit(prefix, fmt, ap);
	va_end(ap);
}

void log_user_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("microvmm: ", fmt, ap);
	va_end(ap);
}

void log_report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit("microvmm: ", fmt, ap);
	va_end(ap);
}

static long long log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void log_guest(struct log_ratelimit *state, const char *tag, const char *fmt, ...)
{
	char prefix[96];
	long long now = log_now_ns();
	va_list ap;

	/* Racy by design: a lost update only changes how often a line appears. */
	if (state->last_ns != 0 && now - state->last_ns < LOG_GUEST_INTERVAL_NS) {
		state->suppressed++;
		return;
	}
	if (state->suppressed)
		snprintf(prefix, sizeof(prefix), "microvmm: guest: %s: (%u similar suppressed) ",
			 tag, state->suppressed);
	else
		snprintf(prefix, sizeof(prefix), "microvmm: guest: %s: ", tag);
	state->last_ns = now;
	state->suppressed = 0;
	va_start(ap, fmt);
	log_emit(prefix, fmt, ap);
	va_end(ap);
}

size_t log_escape_guest_text(char *out, size_t out_len, const char *in, size_t max_in)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = 0;

	if (!out_len)
		return 0;
	for (; in[i] && i < max_in; i++) {
		unsigned char c = (unsigned char)in[i];
		bool plain = c >= 0x20 && c < 0x7f && c != '\\';

		/* Room for this byte's form and the "..." that may follow it. */
		if (o + (plain ? 1 : 4) + 3 >= out_len)
			break;
		if (plain) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	if (in[i] && o + 3 < out_len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}
