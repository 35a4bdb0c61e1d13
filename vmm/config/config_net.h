/* The networking part of the run configuration (--net and its flags): types, parsing, checks. */
#ifndef MICROVMM_VMM_CONFIG_CONFIG_NET_H
#define MICROVMM_VMM_CONFIG_CONFIG_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --net: no NIC (default), passt (user), an existing tap, or a new tap on a bridge. */
enum config_net_mode { CONFIG_NET_NONE, CONFIG_NET_USER, CONFIG_NET_TAP, CONFIG_NET_BRIDGE };

#define CONFIG_MAX_ALLOW   64
#define CONFIG_MAX_PUBLISH 16
#define CONFIG_MAX_DNS	   3
#define CONFIG_IFNAME_MAX  16 /* IFNAMSIZ */

#define CONFIG_MAX_LOOPBACK 16 /* --allow-host-loopback=PORT values */

/* --publish HOST:GUEST[/udp]: a host port forwarded into the guest (user mode). */
struct config_publish {
	uint16_t host_port, guest_port;
	bool udp;
};

/* --ip ADDR/PREFIX[@GATEWAY] (IPv4), in network byte order. */
struct config_ip {
	bool set;
	uint8_t addr[4], gateway[4];
	unsigned int prefix;
	bool has_gateway;
};

struct config_net {
	enum config_net_mode mode;
	char ifname[CONFIG_IFNAME_MAX]; /* tap=NAME or bridge=BR */
	uint8_t mac[6];
	bool mac_set;
	const char *allow[CONFIG_MAX_ALLOW]; /* --allow rules, checked by the egress filter */
	unsigned int allow_count;
	/*
	 * --allow-host-loopback[=PORT]: passt maps the gateway to the host's
	 * loopback (set by either form); the filter lets through every port
	 * (the bare form) or only the given TCP/UDP ports.
	 */
	bool allow_host_loopback;
	bool host_loopback_all_ports;
	uint16_t host_loopback_ports[CONFIG_MAX_LOOPBACK];
	unsigned int host_loopback_port_count;
	struct config_publish publish[CONFIG_MAX_PUBLISH];
	unsigned int publish_count;
	struct config_ip ip;
	uint8_t dns[CONFIG_MAX_DNS][4];
	unsigned int dns_count;
};

/*
 * config_net.c: one networking flag (--net, --mac, --allow, --publish,
 * --ip, --dns, --allow-host-loopback with value NULL for the bare form)
 * into `net`; config_net_validate checks how they combine. -EINVAL with
 * one line in `err`.
 */
int config_net_apply(struct config_net *net, const char *flag, const char *value, char *err,
		     size_t err_len) __attribute__((warn_unused_result));
int config_net_validate(const struct config_net *net, char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
