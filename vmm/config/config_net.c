/* Parsing of the networking flags (--net, --mac, --allow, --publish, --ip, --dns), no side effects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config_net.h"

static int config_net_mode(struct config_net *net, const char *value, char *err, size_t err_len)
{
	const char *name = NULL;

	if (!strcmp(value, "none")) {
		net->mode = CONFIG_NET_NONE;
	} else if (!strcmp(value, "user")) {
		net->mode = CONFIG_NET_USER;
	} else if (!strncmp(value, "tap=", 4)) {
		net->mode = CONFIG_NET_TAP;
		name = value + 4;
	} else if (!strncmp(value, "bridge=", 7)) {
		net->mode = CONFIG_NET_BRIDGE;
		name = value + 7;
	} else {
		snprintf(err, err_len,
			 "--net '%s' is unknown: give none, user, tap=NAME or bridge=BRIDGE",
			 value);
		return -EINVAL;
	}
	if (name && (!*name || strlen(name) >= CONFIG_IFNAME_MAX || strpbrk(name, "/ \t\n:"))) {
		snprintf(err, err_len,
			 "--net '%s': an interface name has 1 to %d characters and no '/', ':' or "
			 "spaces",
			 value, CONFIG_IFNAME_MAX - 1);
		return -EINVAL;
	}
	if (name)
		snprintf(net->ifname, sizeof(net->ifname), "%s", name);
	return 0;
}

static int config_net_mac(struct config_net *net, const char *value, char *err, size_t err_len)
{
	unsigned int b[6];
	char tail;

	if (sscanf(value, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 ||
	    strlen(value) != 17) {
		snprintf(err, err_len,
			 "--mac '%s' is not a MAC address: give e.g. 52:54:00:12:34:56", value);
		return -EINVAL;
	}
	/* A multicast source address would break every neighbour (IEEE 802 I/G bit). */
	if (b[0] & 1) {
		snprintf(err, err_len,
			 "--mac '%s' is a multicast address: the first byte must be even", value);
		return -EINVAL;
	}
	for (int i = 0; i < 6; i++)
		net->mac[i] = (uint8_t)b[i];
	net->mac_set = true;
	return 0;
}

static bool config_net_port(const char *text, const char *end, uint16_t *port)
{
	char *stop;
	unsigned long v;

	if (text == end || *text < '0' || *text > '9')
		return false;
	v = strtoul(text, &stop, 10);
	if (stop != end || v == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* HOST:GUEST[/udp] or PORT[/udp] (the same port on both sides). */
static int config_net_publish(struct config_net *net, const char *value, char *err, size_t err_len)
{
	struct config_publish p = {0};
	const char *end = value + strlen(value);
	const char *colon;

	if (end - value > 4 && !strcmp(end - 4, "/udp")) {
		p.udp = true;
		end -= 4;
	} else if (end - value > 4 && !strcmp(end - 4, "/tcp")) {
		end -= 4;
	}
	colon = memchr(value, ':', (size_t)(end - value));
	if (net->publish_count == CONFIG_MAX_PUBLISH ||
	    !config_net_port(value, colon ? colon : end, &p.host_port) ||
	    !config_net_port(colon ? colon + 1 : value, end, &p.guest_port)) {
		snprintf(err, err_len,
			 "--publish '%s' is not HOST_PORT:GUEST_PORT[/udp] (at most %d): give e.g. "
			 "--publish 8080:80",
			 value, CONFIG_MAX_PUBLISH);
		return -EINVAL;
	}
	net->publish[net->publish_count++] = p;
	return 0;
}

static bool config_net_ipv4(const char *text, size_t len, uint8_t out[4])
{
	char buf[INET_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, out) == 1;
}

/* ADDR/PREFIX[@GATEWAY] */
static int config_net_ip(struct config_net *net, const char *value, char *err, size_t err_len)
{
	const char *slash = strchr(value, '/');
	const char *at = strchr(value, '@');
	char *stop;
	unsigned long prefix;

	if (!slash || (at && at < slash) ||
	    !config_net_ipv4(value, (size_t)(slash - value), net->ip.addr))
		goto bad;
	prefix = strtoul(slash + 1, &stop, 10);
	if (stop == slash + 1 || prefix < 1 || prefix > 32 || (at ? stop != at : *stop))
		goto bad;
	net->ip.prefix = (unsigned int)prefix;
	net->ip.has_gateway = at != NULL;
	if (at && !config_net_ipv4(at + 1, strlen(at + 1), net->ip.gateway))
		goto bad;
	net->ip.set = true;
	return 0;
bad:
	snprintf(
	    err, err_len,
	    "--ip '%s' is not ADDR/PREFIX[@GATEWAY]: give e.g. --ip 192.168.10.2/24@192.168.10.1",
	    value);
	return -EINVAL;
}

/* --allow-host-loopback (every port) or --allow-host-loopback=PORT (that TCP/UDP port too). */
static int config_net_host_loopback(struct config_net *net, const char *value, char *err,
				    size_t err_len)
{
	uint16_t port;

	net->allow_host_loopback = true;
	if (!value) {
		net->host_loopback_all_ports = true;
		return 0;
	}
	if (config_net_port(value, value + strlen(value), &port)) {
		for (unsigned int i = 0; i < net->host_loopback_port_count; i++)
			if (net->host_loopback_ports[i] == port)
				return 0;
		if (net->host_loopback_port_count < CONFIG_MAX_LOOPBACK) {
			net->host_loopback_ports[net->host_loopback_port_count++] = port;
			return 0;
		}
	}
	snprintf(err, err_len,
		 "--allow-host-loopback='%s' is not a port 1-65535 (at most %d ports): give e.g. "
		 "--allow-host-loopback=8080",
		 value, CONFIG_MAX_LOOPBACK);
	return -EINVAL;
}

int config_net_apply(struct config_net *net, const char *flag, const char *value, char *err,
		     size_t err_len)
{
	if (!strcmp(flag, "net"))
		return config_net_mode(net, value, err, err_len);
	if (!strcmp(flag, "mac"))
		return config_net_mac(net, value, err, err_len);
	if (!strcmp(flag, "publish"))
		return config_net_publish(net, value, err, err_len);
	if (!strcmp(flag, "ip"))
		return config_net_ip(net, value, err, err_len);
	if (!strcmp(flag, "allow-host-loopback"))
		return config_net_host_loopback(net, value, err, err_len);
	if (!strcmp(flag, "allow")) {
		if (net->allow_count == CONFIG_MAX_ALLOW) {
			snprintf(err, err_len, "more than %d --allow rules: use CIDR ranges",
				 CONFIG_MAX_ALLOW);
			return -EINVAL;
		}
		/* Syntax is the egress filter's (checked when the VM is built). */
		net->allow[net->allow_count++] = value;
		return 0;
	}
	if (!strcmp(flag, "dns")) {
		if (net->dns_count == CONFIG_MAX_DNS ||
		    !config_net_ipv4(value, strlen(value), net->dns[net->dns_count])) {
			snprintf(err, err_len,
				 "--dns '%s' is not an IPv4 address (at most %d): give e.g. --dns "
				 "192.168.10.1",
				 value, CONFIG_MAX_DNS);
			return -EINVAL;
		}
		net->dns_count++;
		return 0;
	}
	return -EINVAL;
}

int config_net_validate(const struct config_net *net, char *err, size_t err_len)
{
	const char *flag = NULL;

	if (net->mode == CONFIG_NET_NONE) {
		if (net->allow_count)
			flag = "--allow";
		else if (net->publish_count)
			flag = "--publish";
		else if (net->ip.set)
			flag = "--ip";
		else if (net->dns_count)
			flag = "--dns";
		else if (net->mac_set)
			flag = "--mac";
		else if (net->allow_host_loopback)
			flag = "--allow-host-loopback";
		if (flag) {
			snprintf(err, err_len,
				 "%s needs a network: add --net user (or tap=/bridge=)", flag);
			return -EINVAL;
		}
		return 0;
	}
	if (net->mode != CONFIG_NET_USER && (net->publish_count || net->allow_host_loopback)) {
		snprintf(err, err_len, "%s works with --net user only",
			 net->publish_count ? "--publish" : "--allow-host-loopback");
		return -EINVAL;
	}
	if (net->dns_count && !net->ip.set) {
		snprintf(err, err_len, "--dns goes with --ip (DHCP tells the guest its resolver)");
		return -EINVAL;
	}
	return 0;
}
