/* The three agents microvmm-agent knows: names, npm packages, key variables, API hosts. */
#include "launcher/agents.h"

#include <stddef.h>
#include <string.h>

/*
 * Hosts per agent-cli-notes.md: each CLI's API calls go to one host once its
 * phone-home traffic is switched off (the image does that; the entry
 * script repeats the switches): Claude Code with
 * CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, Codex with [analytics] and
 * [features] plugins off (else ab.chatgpt.com, chatgpt.com, github.com),
 * Gemini CLI with usage statistics off (else play.googleapis.com).
 */
static const char *const claude_keys[] = {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", NULL};
static const char *const claude_hosts[] = {"api.anthropic.com:443", NULL};
static const char *const codex_keys[] = {"OPENAI_API_KEY", "CODEX_API_KEY", NULL};
static const char *const codex_hosts[] = {"api.openai.com:443", NULL};
static const char *const gemini_keys[] = {"GEMINI_API_KEY", "GOOGLE_API_KEY", NULL};
static const char *const gemini_hosts[] = {"generativelanguage.googleapis.com:443", NULL};

static const struct agent_profile agents[] = {
    {"claude", "@anthropic-ai/claude-code", claude_keys, claude_hosts},
    {"gemini", "@google/gemini-cli", gemini_keys, gemini_hosts},
    {"codex", "@openai/codex", codex_keys, codex_hosts},
};

const struct agent_profile *agents_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(agents) / sizeof(agents[0]); i++)
		if (!strcmp(agents[i].name, name))
			return &agents[i];
	return NULL;
}
