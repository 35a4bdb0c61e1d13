/* The host's IPv4 uplink: default route, gateway and address, as passt(1) -a/-n/-g take them. */
#include "vmm/host/uplink.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#define ROUTE_FLAG_GATEWAY 0x2 /* RTF_GATEWAY in /proc/net/route's Flags */

bool host_uplink_parse_routes(FILE *routes, char ifname[IFNAMSIZ], struct in_addr *gateway)
{
	char line[256], iface[IFNAMSIZ + 1];
	unsigned int dest, gw, flags;

	while (fgets(line, sizeof(line), routes))
		/* The header line fails the hex conversions. */
		if (sscanf(line, "%16s %x %x %x", iface, &dest, &gw, &flags) == 4 && dest == 0 &&
		    gw != 0 && (flags & ROUTE_FLAG_GATEWAY) && strlen(iface) < IFNAMSIZ) {
			memcpy(ifname, iface, strlen(iface) + 1);
			gateway->s_addr = gw; /* the table prints it in network order */
			return true;
		}
	return false;
}

/* The netmask of a prefix length of at most 32, in host byte order. */
static uint32_t host_uplink_mask(unsigned int prefix)
{
	return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

/* A netmask's prefix length, or -1 when its ones are not contiguous. */
static int host_uplink_prefix(uint32_t mask_be)
{
	uint32_t mask = ntohl(mask_be);
	int prefix = __builtin_popcount(mask);

	return mask != host_uplink_mask((unsigned int)prefix) ? -1 : prefix;
}

bool host_uplink_pick_address(const struct ifaddrs *list, const char *ifname, struct in_addr *addr,
			      unsigned int *prefix)
{
	for (const struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET || !ifa->ifa_netmask ||
		    strcmp(ifa->ifa_name, ifname))
			continue;
		struct sockaddr_in a, m;

		memcpy(&a, ifa->ifa_addr, sizeof(a));
		memcpy(&m, ifa->ifa_netmask, sizeof(m));
		int len = host_uplink_prefix(m.sin_addr.s_addr);

		if (len < 0)
			continue;
		*addr = a.sin_addr;
		*prefix = (unsigned int)len;
		return true;
	}
	return false;
}

void host_uplink_read(struct host_uplink *out)
{
	struct ifaddrs *list;
	FILE *f = fopen("/proc/net/route", "re");

	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	out->has_gateway = host_uplink_parse_routes(f, out->ifname, &out->gateway);
	fclose(f);
	if (!out->has_gateway || getifaddrs(&list) < 0)
		return;
	out->has_address = host_uplink_pick_address(list, out->ifname, &out->addr, &out->prefix);
	freeifaddrs(list);
}

bool host_uplink_usable(const struct host_uplink *up)
{
	if (!up->has_gateway || !up->has_address || up->prefix > 32)
		return false;
	uint32_t mask = htonl(host_uplink_mask(up->prefix));

	return ((up->addr.s_addr ^ up->gateway.s_addr) & mask) == 0 &&
	       up->addr.s_addr != up->gateway.s_addr;
}
