/* The three agents microvmm-agent knows: names, npm packages, key variables, API hosts. */
#ifndef MICROVMM_LAUNCHER_AGENTS_H
#define MICROVMM_LAUNCHER_AGENTS_H

/*
 * Constant data. How each CLI is started, configured and pointed at another
 * endpoint is the guest entry script's business (guest-entry.sh); the host
 * side only needs what is below.
 */
struct agent_profile {
	const char *name;	      /* --agent NAME */
	const char *package;	      /* npm package, as in the image's manifest.lock */
	const char *const *key_vars;  /* credentials taken from the host by name; one is needed */
	const char *const *api_hosts; /* --net filtered: HOST:PORT rules for the vendor's API */
};

#define AGENTS_DEFAULT "claude"
#define AGENTS_NAMES   "claude, gemini or codex"

/* The profile named name, or NULL. */
const struct agent_profile *agents_find(const char *name);

#endif
