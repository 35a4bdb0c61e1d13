/* The per-run files the guest entry script reads: config.sh, Codex's config.toml, Gemini's
 * settings. */
#ifndef MICROVMM_LAUNCHER_GUEST_CONFIG_H
#define MICROVMM_LAUNCHER_GUEST_CONFIG_H

#include <stdbool.h>

#include "launcher/strbuf.h"

/*
 * No credential ever goes into these files: the key variables reach the
 * guest by name through microvmm's --env, secrets as separate files. The
 * API URL may hold API_URL_GATEWAY, which the entry script replaces.
 */
struct guest_config {
	const char *run_id;
	const char *agent;		  /* claude, gemini, codex */
	const char *mode;		  /* task, interactive, shell */
	const char *task;		  /* NULL unless mode is task */
	const char *api_url;		  /* NULL: the vendor's own endpoint */
	const char *git_name, *git_email; /* NULL: the image's */
	const char *const *secrets;	  /* names under /run/secrets */
	unsigned int secret_count;
	unsigned int timeout; /* seconds for the agent, 0: none */
	bool ssh_key;
	bool login;
};

/* Appends s as one shell word in single quotes ('\'' for a quote). */
void guest_config_quote(struct strbuf *b, const char *s);

/* config.sh: MVA_NAME='value' lines for bash to source. */
void guest_config_script(const struct guest_config *c, struct strbuf *b);

/*
 * Codex's $CODEX_HOME/config.toml: analytics and plugins off (phone-home,
 * agent-cli-notes.md) and, with an API URL, a provider of our own
 * (base_url, env_key OPENAI_API_KEY, wire_api "responses"), since Codex
 * ignores OPENAI_BASE_URL.
 */
void guest_config_codex(const struct guest_config *c, struct strbuf *b);

/*
 * Gemini CLI's user settings: api-key auth (unless --login), folder trust,
 * usage statistics, telemetry and auto-update off.
 */
void guest_config_gemini(const struct guest_config *c, struct strbuf *b);

#endif
