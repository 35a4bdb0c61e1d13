/* The host's IPv4 uplink, the addresses passt hands the guest in user mode. */
#ifndef MICROVMM_VMM_HOST_UPLINK_H
#define MICROVMM_VMM_HOST_UPLINK_H

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>

/* What host_uplink_read() found; addresses in network byte order. */
struct host_uplink {
	bool has_gateway; /* an IPv4 default route with a gateway */
	char ifname[IFNAMSIZ];
	struct in_addr gateway;
	bool has_address; /* that route's interface has an IPv4 address */
	struct in_addr addr;
	unsigned int prefix;
};

/*
 * The first default route with a gateway in a table laid out like
 * /proc/net/route (Iface, Destination, Gateway, Flags..., hex in network
 * order): its interface and gateway. False when there is none.
 */
bool host_uplink_parse_routes(FILE *routes, char ifname[IFNAMSIZ], struct in_addr *gateway)
    __attribute__((warn_unused_result));

/*
 * The first IPv4 address of `ifname` with a contiguous mask in a
 * getifaddrs(3) list, and its prefix length. False when there is none.
 */
bool host_uplink_pick_address(const struct ifaddrs *list, const char *ifname, struct in_addr *addr,
			      unsigned int *prefix) __attribute__((warn_unused_result));

/* This host's uplink, as far as it has one (the flags say what was found). */
void host_uplink_read(struct host_uplink *out);

/*
 * Whether the guest can take the uplink's address as a static one: both
 * found, and the gateway inside the address's subnet and not the address
 * itself. An on-link /32 set-up (a gateway outside the subnet) cannot be
 * written as a plain default route; the guest asks passt by DHCP then.
 */
bool host_uplink_usable(const struct host_uplink *up) __attribute__((warn_unused_result));

#endif
