/* The per-run files the guest entry script reads: config.sh, Codex's config.toml, Gemini's
 * settings. */
#include "launcher/guest_config.h"

#include <string.h>

void guest_config_quote(struct strbuf *b, const char *s)
{
	strbuf_puts(b, "'");
	for (const char *q; (q = strchr(s, '\'')) != NULL; s = q + 1) {
		strbuf_append(b, s, (size_t)(q - s));
		strbuf_puts(b, "'\\''");
	}
	strbuf_puts(b, s);
	strbuf_puts(b, "'");
}

static void guest_config_var(struct strbuf *b, const char *name, const char *value)
{
	strbuf_printf(b, "MVA_%s=", name);
	guest_config_quote(b, value ? value : "");
	strbuf_puts(b, "\n");
}

void guest_config_script(const struct guest_config *c, struct strbuf *b)
{
	strbuf_puts(b, "# Written by microvmm-agent for this run; read by guest-entry.sh.\n");
	guest_config_var(b, "RUN_ID", c->run_id);
	guest_config_var(b, "AGENT", c->agent);
	guest_config_var(b, "MODE", c->mode);
	guest_config_var(b, "TASK", c->task);
	guest_config_var(b, "API_URL", c->api_url);
	guest_config_var(b, "GIT_NAME", c->git_name);
	guest_config_var(b, "GIT_EMAIL", c->git_email);
	/* Names have only letters, digits, '.', '_' and '-' (options.c): one quoted word. */
	strbuf_puts(b, "MVA_SECRETS='");
	for (unsigned int i = 0; i < c->secret_count; i++)
		strbuf_printf(b, "%s%s", i ? " " : "", c->secrets[i]);
	strbuf_printf(b, "'\nMVA_TIMEOUT=%u\nMVA_SSH_KEY=%d\nMVA_LOGIN=%d\n", c->timeout,
		      c->ssh_key, c->login);
}

/* A TOML basic string; the URL was checked to hold no quote, backslash or control character. */
static void guest_config_toml_string(struct strbuf *b, const char *s)
{
	strbuf_puts(b, "\"");
	strbuf_puts(b, s);
	strbuf_puts(b, "\"");
}

void guest_config_codex(const struct guest_config *c, struct strbuf *b)
{
	strbuf_puts(b, "# Written by microvmm-agent for this run.\n");
	if (c->api_url) {
		/* Top-level keys come before any table (TOML 1.0). */
		strbuf_puts(b, "model_provider = \"microvmm\"\n\n"
			       "[model_providers.microvmm]\n"
			       "name = \"microvmm-agent --api-base\"\n"
			       "base_url = ");
		guest_config_toml_string(b, c->api_url);
		strbuf_puts(b, "\nenv_key = \"OPENAI_API_KEY\"\n"
			       "wire_api = \"responses\"\n\n");
	}
	strbuf_puts(b, "[analytics]\nenabled = false\n\n[features]\nplugins = false\n");
}

void guest_config_gemini(const struct guest_config *c, struct strbuf *b)
{
	strbuf_puts(b, "{\n  \"security\": {\n");
	if (!c->login)
		strbuf_puts(b, "    \"auth\": {\"selectedType\": \"gemini-api-key\"},\n");
	strbuf_puts(b, "    \"folderTrust\": {\"enabled\": false}\n  },\n"
		       "  \"privacy\": {\"usageStatisticsEnabled\": false},\n"
		       "  \"telemetry\": {\"enabled\": false},\n"
		       "  \"general\": {\"enableAutoUpdate\": false}\n}\n");
}
