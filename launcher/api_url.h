/* --api-base URL: parsing, the --allow rule it needs, and the URL the guest's agent uses. */
#ifndef MICROVMM_LAUNCHER_API_URL_H
#define MICROVMM_LAUNCHER_API_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Written into the guest's agent configuration where the host's loopback
 * was named; the guest entry script replaces it with its default gateway,
 * which passt maps to the host's 127.0.0.1 (--allow-host-loopback=PORT).
 */
#define API_URL_GATEWAY "@GATEWAY@"

#define API_URL_HOST_MAX 253
#define API_URL_PATH_MAX 1024

struct api_url {
	bool https;
	bool ipv6;			 /* host is an IPv6 literal (kept without brackets) */
	bool loopback;			 /* http(s)://127.0.0.1 or localhost: the host's own */
	uint16_t port;			 /* given, or 80/443 */
	char host[API_URL_HOST_MAX + 1]; /* lowercase */
	char path[API_URL_PATH_MAX + 1]; /* "" or "/..." without a trailing '/' */
};

/*
 * Parses http[s]://HOST[:PORT][/PATH]: HOST a DNS name, an IPv4 address or
 * a bracketed IPv6 address; no user:password@, query or fragment; PATH of
 * URL-safe characters only (it goes into shell and TOML text). Returns 0,
 * or -EINVAL with one line in err.
 */
int api_url_parse(const char *text, struct api_url *u, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The --allow rule for exactly this address and port ("host:443", "[2001:db8::1]:8080"). */
int api_url_allow_rule(const struct api_url *u, char *out, size_t len)
    __attribute__((warn_unused_result));

/*
 * The URL the agent in the guest is given: the host part is API_URL_GATEWAY
 * for a loopback URL, and empty_path replaces an empty PATH (Codex wants
 * ".../v1", the others the bare origin). Returns 0 or -ENAMETOOLONG.
 */
int api_url_guest(const struct api_url *u, const char *empty_path, char *out, size_t len)
    __attribute__((warn_unused_result));

#endif
