/* summary.json: what ran, on what, when, how it ended and which workspace files changed. */
#include "launcher/summary.h"

#include <errno.h>

#include "launcher/audit.h"
#include "launcher/json.h"

struct summary_changes {
	struct strbuf list[3]; /* by enum wsdiff_change */
};

static int summary_change(void *ctx, enum wsdiff_change change, const char *path)
{
	struct strbuf *b = &((struct summary_changes *)ctx)->list[change];

	strbuf_puts(b, b->len ? ", " : "");
	json_cstring(b, path);
	return b->err;
}

static void summary_files(const struct summary *s, struct strbuf *b)
{
	static const char *const names[] = {"added", "modified", "deleted"};
	struct summary_changes c;

	if (!s->before || !s->after) {
		strbuf_puts(b, "null,\n  \"files_changed_truncated\": false");
		return;
	}
	for (int i = 0; i < 3; i++)
		strbuf_init(&c.list[i]);
	if (wsdiff_compare(s->before, s->after, summary_change, &c))
		b->err = b->err ? b->err : -ENOMEM;
	strbuf_puts(b, "{");
	for (int i = 0; i < 3; i++) {
		strbuf_printf(b, "%s\n    \"%s\": [", i ? "," : "", names[i]);
		strbuf_append(b, c.list[i].data ? c.list[i].data : "", c.list[i].len);
		strbuf_puts(b, "]");
		strbuf_free(&c.list[i]);
	}
	strbuf_printf(b, "\n  },\n  \"files_changed_truncated\": %s",
		      s->before->truncated || s->after->truncated ? "true" : "false");
}

static void summary_key(struct strbuf *b, const char *key, const char *value)
{
	strbuf_printf(b, "  \"%s\": ", key);
	json_cstring(b, value);
	strbuf_puts(b, ",\n");
}

void summary_build(const struct summary *s, struct strbuf *b)
{
	char start[AUDIT_TIME_MAX], end[AUDIT_TIME_MAX];

	audit_format_time(&s->start, false, start, sizeof(start));
	audit_format_time(&s->end, false, end, sizeof(end));
	strbuf_puts(b, "{\n");
	summary_key(b, "run", s->run_id);
	summary_key(b, "task", s->task);
	summary_key(b, "mode", s->mode);
	summary_key(b, "agent", s->agent);
	summary_key(b, "agent_version", s->agent_version);
	summary_key(b, "image", s->image);
	summary_key(b, "workspace", s->workspace);
	summary_key(b, "net", s->net);
	strbuf_puts(b, "  \"allow\": [");
	for (unsigned int i = 0; i < s->allow_count; i++) {
		strbuf_puts(b, i ? ", " : "");
		json_cstring(b, s->allow[i]);
	}
	strbuf_printf(b, "],\n  \"allow_host_loopback\": %s,\n",
		      s->host_loopback ? "true" : "false");
	summary_key(b, "start", start);
	summary_key(b, "end", end);
	strbuf_printf(b, "  \"exit_status\": %d,\n  \"files_changed\": ", s->exit_status);
	summary_files(s, b);
	strbuf_puts(b, "\n}\n");
}
