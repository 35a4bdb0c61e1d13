/* --api-base URL: parsing, the --allow rule it needs, and the URL the guest's agent uses. */
#include "launcher/api_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_URL_FIX "give e.g. --api-base https://gateway.example.com or http://127.0.0.1:8080"

static bool api_url_name_ok(const char *host)
{
	size_t len = strlen(host);

	if (!len || len > API_URL_HOST_MAX || host[0] == '.' || host[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' && host[i] != '.')
			return false;
	return true;
}

/* RFC 3986 pchar and '/', minus the quote: the path ends up in shell and TOML strings. */
static bool api_url_path_ok(const char *path)
{
	for (const char *p = path; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._~/%:@!&()*+,;=", *p))
			return false;
	return true;
}

static int api_url_host(const char *start, size_t len, struct api_url *u)
{
	unsigned char addr[16];

	if (len && start[0] == '[') {
		if (len < 3 || start[len - 1] != ']' || len - 2 > API_URL_HOST_MAX)
			return -EINVAL;
		memcpy(u->host, start + 1, len - 2);
		u->host[len - 2] = '\0';
		u->ipv6 = true;
		return inet_pton(AF_INET6, u->host, addr) == 1 ? 0 : -EINVAL;
	}
	if (len > API_URL_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		u->host[i] = (char)tolower((unsigned char)start[i]);
	u->host[len] = '\0';
	if (len && u->host[len - 1] == '.')
		u->host[len - 1] = '\0';
	return api_url_name_ok(u->host) ? 0 : -EINVAL;
}

static int api_url_port(const char *start, size_t len, struct api_url *u)
{
	unsigned long v = 0;

	if (!len || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (start[i] < '0' || start[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(start[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	u->port = (uint16_t)v;
	return 0;
}

/* The host's loopback: which of its addresses the guest can reach through the gateway. */
static int api_url_loopback(struct api_url *u, char *err, size_t err_len)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!strcmp(u->host, "localhost") || !strcmp(u->host, "127.0.0.1")) {
		u->loopback = true;
		return 0;
	}
	if ((!u->ipv6 && inet_pton(AF_INET, u->host, &a4) == 1 &&
	     (ntohl(a4.s_addr) >> 24) == 127) ||
	    (u->ipv6 && inet_pton(AF_INET6, u->host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6))) {
		snprintf(err, err_len,
			 "--api-base: of the host's loopback only 127.0.0.1 is reachable from the "
			 "guest: give http://127.0.0.1:PORT");
		return -EINVAL;
	}
	return 0;
}

int api_url_parse(const char *text, struct api_url *u, char *err, size_t err_len)
{
	const char *auth, *end, *colon;
	size_t hlen;

	memset(u, 0, sizeof(*u));
	if (!strncmp(text, "https://", 8))
		u->https = true;
	else if (strncmp(text, "http://", 7))
		goto bad;
	auth = text + (u->https ? 8 : 7);
	end = auth + strcspn(auth, "/?#");
	if (*end == '?' || *end == '#' || strpbrk(end, "?#"))
		goto bad;
	if (memchr(auth, '@', (size_t)(end - auth))) {
		snprintf(
		    err, err_len,
		    "--api-base '%s': no user:password@ in the URL: the key goes in the agent's "
		    "key variable",
		    text);
		return -EINVAL;
	}
	/* The port's ':' is the last one after any IPv6 bracket. */
	colon = memrchr(auth, ':', (size_t)(end - auth));
	if (colon && memchr(colon, ']', (size_t)(end - colon)))
		colon = NULL;
	hlen = (size_t)((colon ? colon : end) - auth);
	if (api_url_host(auth, hlen, u) ||
	    (colon && api_url_port(colon + 1, (size_t)(end - colon - 1), u)))
		goto bad;
	if (!colon)
		u->port = u->https ? 443 : 80;
	if (strlen(end) > API_URL_PATH_MAX || !api_url_path_ok(end))
		goto bad;
	snprintf(u->path, sizeof(u->path), "%s", end);
	while (u->path[0] && u->path[strlen(u->path) - 1] == '/')
		u->path[strlen(u->path) - 1] = '\0';
	return api_url_loopback(u, err, err_len);
bad:
	snprintf(err, err_len, "--api-base '%s' is not an http(s) URL: %s", text, API_URL_FIX);
	return -EINVAL;
}

int api_url_allow_rule(const struct api_url *u, char *out, size_t len)
{
	int n = snprintf(out, len, u->ipv6 ? "[%s]:%u" : "%s:%u", u->host, (unsigned)u->port);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int api_url_guest(const struct api_url *u, const char *empty_path, char *out, size_t len)
{
	const char *host = u->loopback ? API_URL_GATEWAY : u->host;
	bool brackets = u->ipv6 && !u->loopback;
	int n = snprintf(out, len, "%s://%s%s%s:%u%s", u->https ? "https" : "http",
			 brackets ? "[" : "", host, brackets ? "]" : "", (unsigned)u->port,
			 u->path[0] ? u->path : empty_path);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
