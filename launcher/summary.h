/* summary.json: what ran, on what, when, how it ended and which workspace files changed. */
#ifndef MICROVMM_LAUNCHER_SUMMARY_H
#define MICROVMM_LAUNCHER_SUMMARY_H

#include <stdbool.h>
#include <time.h>

#include "launcher/strbuf.h"
#include "launcher/wsdiff.h"

struct summary {
	const char *run_id;
	const char *task; /* NULL: interactive or shell */
	const char *mode;
	const char *agent;
	const char *agent_version; /* NULL: unknown */
	const char *image;
	const char *workspace;
	const char *net;
	const char *const *allow;
	unsigned int allow_count;
	bool host_loopback; /* the host's loopback reachable through the gateway */
	struct timespec start, end;
	int exit_status;
	const struct wsdiff_snapshot *before, *after; /* NULL: files_changed is null */
};

/*
 * Appends the JSON document: keys run, task, mode, agent, agent_version,
 * image, workspace, net, allow, allow_host_loopback, start, end (UTC, ISO
 * 8601), exit_status,
 * files_changed {added, modified, deleted: [paths]} and
 * files_changed_truncated. The caller redacts and writes it.
 */
void summary_build(const struct summary *s, struct strbuf *b);

#endif
