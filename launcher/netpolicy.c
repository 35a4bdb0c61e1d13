/* The network a run gets: microvmm's --net back-end and --allow rules for --net filtered|none|full.
 */
#include "launcher/netpolicy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * Debian over http (apt's default sources) and https, npm, PyPI (index and
 * files), crates.io (sparse index and downloads), the Go module proxy and
 * its checksum database. Names follow their CDN CNAMEs (microvmm learns the
 * addresses from the DNS answers).
 */
const char *const netpolicy_registries[] = {
    "deb.debian.org:80",
    "deb.debian.org:443",
    "security.debian.org:80",
    "security.debian.org:443",
    "registry.npmjs.org:443",
    "pypi.org:443",
    "files.pythonhosted.org:443",
    "crates.io:443",
    "index.crates.io:443",
    "static.crates.io:443",
    "proxy.golang.org:443",
    "sum.golang.org:443",
    NULL,
};

static const char *const netpolicy_names[] = {
    [NETPOLICY_FILTERED] = "filtered", [NETPOLICY_NONE] = "none",     [NETPOLICY_FULL] = "full",
    [NETPOLICY_TAP] = "tap",	       [NETPOLICY_BRIDGE] = "bridge",
};

const char *netpolicy_mode_name(enum netpolicy_mode mode)
{
	return netpolicy_names[mode];
}

int netpolicy_parse_mode(const char *text, enum netpolicy_mode *mode, const char **device,
			 char *err, size_t err_len)
{
	*device = NULL;
	for (int m = NETPOLICY_FILTERED; m <= NETPOLICY_FULL; m++)
		if (!strcmp(text, netpolicy_names[m])) {
			*mode = (enum netpolicy_mode)m;
			return 0;
		}
	if (!strncmp(text, "tap=", 4) && text[4]) {
		*mode = NETPOLICY_TAP;
		*device = text + 4;
		return 0;
	}
	if (!strncmp(text, "bridge=", 7) && text[7]) {
		*mode = NETPOLICY_BRIDGE;
		*device = text + 7;
		return 0;
	}
	snprintf(err, err_len,
		 "--net '%s' is not a network mode: give filtered (default), none, full, "
		 "tap=NAME or bridge=BR",
		 text);
	return -EINVAL;
}

static int netpolicy_add(struct netpolicy *p, const char *rule, char *err, size_t err_len)
{
	for (unsigned int i = 0; i < p->rule_count; i++)
		if (!strcmp(p->rules[i], rule))
			return 0;
	if (p->rule_count == NETPOLICY_MAX_RULES || strlen(rule) >= NETPOLICY_RULE_MAX) {
		snprintf(err, err_len, "too many or too long --allow rules (at most %d)",
			 NETPOLICY_MAX_RULES);
		return -EINVAL;
	}
	snprintf(p->rules[p->rule_count++], NETPOLICY_RULE_MAX, "%s", rule);
	return 0;
}

int netpolicy_check_request(const struct netpolicy_request *req, char *err, size_t err_len)
{
	const char *what = req->allow_count ? "--allow" : "--allow-registries";

	if (req->mode == NETPOLICY_NONE && (req->allow_count || req->registries || req->api)) {
		snprintf(err, err_len, "%s needs a network: drop --net none",
			 req->api ? "--api-base" : what);
		return -EINVAL;
	}
	if (req->mode == NETPOLICY_FULL && (req->allow_count || req->registries)) {
		snprintf(err, err_len,
			 "%s adds to an allowlist, and --net full has none: use --net filtered",
			 what);
		return -EINVAL;
	}
	if (req->api && req->api->loopback &&
	    (req->mode == NETPOLICY_TAP || req->mode == NETPOLICY_BRIDGE)) {
		snprintf(err, err_len,
			 "--api-base on the host's loopback needs --net filtered or full (passt)");
		return -EINVAL;
	}
	return 0;
}

static int netpolicy_backend(const struct netpolicy_request *req, struct netpolicy *p)
{
	int n;

	switch (req->mode) {
	case NETPOLICY_NONE:
		n = snprintf(p->backend, sizeof(p->backend), "none");
		break;
	case NETPOLICY_TAP:
	case NETPOLICY_BRIDGE:
		n = snprintf(p->backend, sizeof(p->backend), "%s=%s",
			     req->mode == NETPOLICY_TAP ? "tap" : "bridge", req->device);
		break;
	default:
		n = snprintf(p->backend, sizeof(p->backend), "user");
		break;
	}
	return n < 0 || (size_t)n >= sizeof(p->backend) ? -ENAMETOOLONG : 0;
}

int netpolicy_build(const struct netpolicy_request *req, const struct agent_profile *a,
		    struct netpolicy *p, char *err, size_t err_len)
{
	char rule[NETPOLICY_RULE_MAX];
	int ret = netpolicy_check_request(req, err, err_len);

	memset(p, 0, sizeof(*p));
	p->mode = req->mode;
	if (ret)
		return ret;
	if (netpolicy_backend(req, p)) {
		snprintf(err, err_len, "--net: the device name is too long");
		return -EINVAL;
	}
	if (req->api && req->api->loopback) {
		p->host_loopback = true;
		p->host_loopback_port = req->api->port;
	}
	if (req->mode == NETPOLICY_NONE || req->mode == NETPOLICY_FULL)
		return 0;
	if (req->api && !req->api->loopback) {
		if (api_url_allow_rule(req->api, rule, sizeof(rule)))
			return -EINVAL;
		ret = netpolicy_add(p, rule, err, err_len);
	}
	for (unsigned int i = 0; !req->api && !ret && a->api_hosts[i]; i++)
		ret = netpolicy_add(p, a->api_hosts[i], err, err_len);
	for (unsigned int i = 0; req->registries && !ret && netpolicy_registries[i]; i++)
		ret = netpolicy_add(p, netpolicy_registries[i], err, err_len);
	for (unsigned int i = 0; !ret && i < req->allow_count; i++)
		ret = netpolicy_add(p, req->allow[i], err, err_len);
	return ret;
}
