/* The network a run gets: microvmm's --net back-end and --allow rules for --net filtered|none|full.
 */
#ifndef MICROVMM_LAUNCHER_NETPOLICY_H
#define MICROVMM_LAUNCHER_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launcher/agents.h"
#include "launcher/api_url.h"

enum netpolicy_mode {
	NETPOLICY_FILTERED, /* passt with an allowlist (default) */
	NETPOLICY_NONE,	    /* no network card */
	NETPOLICY_FULL,	    /* passt, microvmm's user-mode defaults (no private ranges) */
	NETPOLICY_TAP,	    /* microvmm --net tap=NAME, with the allowlist */
	NETPOLICY_BRIDGE,   /* microvmm --net bridge=BR, with the allowlist */
};

#define NETPOLICY_MAX_RULES 96 /* below microvmm's 128 --allow rules */
#define NETPOLICY_RULE_MAX  300

/* What the user asked for (from the options). */
struct netpolicy_request {
	enum netpolicy_mode mode;
	const char *device; /* tap or bridge name */
	const char *const *allow;
	unsigned int allow_count;
	bool registries;
	const struct api_url *api; /* --api-base, or NULL */
};

/* The result: microvmm's flags. Plain data, no allocation. */
struct netpolicy {
	enum netpolicy_mode mode;
	char backend[80]; /* --net VALUE: none, user, tap=X, bridge=X */
	char rules[NETPOLICY_MAX_RULES][NETPOLICY_RULE_MAX]; /* --allow VALUEs */
	unsigned int rule_count;
	/*
	 * --allow-host-loopback=PORT: the gateway (the host's loopback through
	 * passt) on that TCP/UDP port only, beside the rules (not one of them:
	 * with --net full every public address still passes).
	 */
	bool host_loopback;
	uint16_t host_loopback_port;
};

/*
 * The registries --allow-registries adds (Debian, npm, PyPI, crates.io, Go
 * module proxy and checksum database), NULL-terminated.
 */
extern const char *const netpolicy_registries[];

/* Parses --net filtered|none|full|tap=NAME|bridge=BR. Returns 0 or -EINVAL with err. */
int netpolicy_parse_mode(const char *text, enum netpolicy_mode *mode, const char **device,
			 char *err, size_t err_len) __attribute__((warn_unused_result));

/*
 * The combinations that are mistakes: none with --allow,
 * --allow-registries or --api-base; full with --allow or
 * --allow-registries; a loopback --api-base on a tap or bridge. Returns 0
 * or -EINVAL with one line in err.
 */
int netpolicy_check_request(const struct netpolicy_request *req, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * Builds the policy for agent a. filtered (and tap/bridge): the agent's API
 * hosts on 443 (or, with --api-base, exactly its address and port instead),
 * the registries, then --allow rules; a loopback --api-base is reached
 * through the gateway on its port (host_loopback, also with full). Checks
 * the request first (netpolicy_check_request). Returns 0 or -EINVAL with
 * one line in err.
 */
int netpolicy_build(const struct netpolicy_request *req, const struct agent_profile *a,
		    struct netpolicy *p, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The mode's name as --net takes it ("filtered", ...). */
const char *netpolicy_mode_name(enum netpolicy_mode mode);

#endif
