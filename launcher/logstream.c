/* One output stream of the run: shown live to the user and written to the audit trail, redacted. */
#include "launcher/logstream.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "launcher/audit.h"
#include "launcher/fdio.h"

int logstream_init(struct logstream *s, const struct redact_set *set, int log_fd, int live_fd,
		   const char *tag)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->log_fd = log_fd;
	s->live_fd = live_fd;
	s->tag = tag;
	ret = redactor_init(&s->live, set);
	if (!ret)
		ret = redactor_init(&s->log, set);
	if (ret)
		logstream_free(s);
	return ret;
}

void logstream_free(struct logstream *s)
{
	redactor_free(&s->live);
	redactor_free(&s->log);
	explicit_bzero(s->line, sizeof(s->line));
}

static int logstream_live_emit(void *ctx, const char *data, size_t len)
{
	struct logstream *s = ctx;

	if (!s->live_broken && s->live_fd >= 0 && fdio_write_all(s->live_fd, data, len))
		s->live_broken = true;
	return 0;
}

static void logstream_log_write(struct logstream *s, const char *data, size_t len)
{
	if (s->log_fd >= 0 && !s->log_err)
		s->log_err = fdio_write_all(s->log_fd, data, len);
}

/* Writes the assembled line with its timestamp and tag, in one write. */
static void logstream_line_out(struct logstream *s)
{
	char stamp[AUDIT_TIME_MAX], out[LOGSTREAM_LINE_MAX + 64];
	size_t len = s->line_len;
	int n;

	if (len && s->line[len - 1] == '\r')
		len--;
	audit_format_time(&s->line_start, true, stamp, sizeof(stamp));
	n = snprintf(out, sizeof(out), "%s %s ", stamp, s->tag);
	if (n > 0 && (size_t)n + len + 1 <= sizeof(out)) {
		memcpy(out + n, s->line, len);
		out[(size_t)n + len] = '\n';
		logstream_log_write(s, out, (size_t)n + len + 1);
	}
	s->line_len = 0;
}

static int logstream_log_emit(void *ctx, const char *data, size_t len)
{
	struct logstream *s = ctx;

	if (!s->tag) {
		logstream_log_write(s, data, len);
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		if (!s->line_len)
			clock_gettime(CLOCK_REALTIME, &s->line_start);
		if (data[i] == '\n') {
			logstream_line_out(s);
			continue;
		}
		s->line[s->line_len++] = data[i];
		if (s->line_len == sizeof(s->line))
			logstream_line_out(s);
	}
	return 0;
}

int logstream_data(struct logstream *s, const char *data, size_t len)
{
	int ret = redact_feed(&s->live, data, len, logstream_live_emit, s);

	if (!ret)
		ret = redact_feed(&s->log, data, len, logstream_log_emit, s);
	return ret;
}

bool logstream_live_pending(const struct logstream *s)
{
	return redact_holding(&s->live);
}

int logstream_idle(struct logstream *s)
{
	return redact_flush(&s->live, logstream_live_emit, s);
}

int logstream_finish(struct logstream *s)
{
	int ret = redact_flush(&s->live, logstream_live_emit, s);

	if (!ret)
		ret = redact_flush(&s->log, logstream_log_emit, s);
	if (!ret && s->tag && s->line_len)
		logstream_line_out(s);
	return ret;
}
