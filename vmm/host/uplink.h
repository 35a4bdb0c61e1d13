/*
 * The host's IPv4 uplink: the interface and gateway of its default route and
 * that interface's address, which passt hands the guest in user mode.
 */
#ifndef MICROVMM_VMM_HOST_UPLINK_H
#define MICROVMM_VMM_HOST_UPLINK_H

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>

struct host_uplink {
	char ifname[IFNAMSIZ];
	struct in_addr gateway, addr; /* network byte order */
	unsigned int prefix;
};

/*
 * The first default route with a gateway in a table laid out like
 * /proc/net/route (Iface, Destination, Gateway, Flags..., hex in network
 * order): its interface and gateway. False when there is none.
 */
bool host_uplink_parse_routes(FILE *routes, char ifname[IFNAMSIZ], struct in_addr *gateway);

/*
 * The first IPv4 address of `ifname` in a getifaddrs(3) list and its prefix
 * length. False when the interface has none or its mask is not contiguous.
 */
bool host_uplink_pick_address(const struct ifaddrs *list, const char *ifname, struct in_addr *addr,
			      unsigned int *prefix);

/* Only the gateway (the host-loopback exception needs nothing else). */
bool host_uplink_gateway(struct in_addr *gateway);

/*
 * All of it, from this host. False when there is no IPv4 default route,
 * its interface has no IPv4 address, or the gateway lies outside that
 * address's subnet (an on-link /32 set-up a plain default route cannot
 * express): the guest then asks passt by DHCP as before.
 */
bool host_uplink_read(struct host_uplink *out);

#endif
