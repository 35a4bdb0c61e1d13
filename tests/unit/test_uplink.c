/* The host's IPv4 uplink: /proc/net/route's default route and the interface's address. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "vmm/host/uplink.h"

/* Parses `table` as /proc/net/route; the interface and gateway in dotted form. */
static bool parse(const char *table, char ifname[IFNAMSIZ], char gw[INET_ADDRSTRLEN])
{
	struct in_addr gateway;
	FILE *f = fmemopen((void *)table, strlen(table), "r");
	bool found;

	assert_non_null(f);
	found = host_uplink_parse_routes(f, ifname, &gateway);
	fclose(f);
	if (found)
		inet_ntop(AF_INET, &gateway, gw, INET_ADDRSTRLEN);
	return found;
}

#define ROUTE_HEADER                                                                               \
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

static void test_uplink_takes_the_first_default_route_with_a_gateway(void **state)
{
	char ifname[IFNAMSIZ], gw[INET_ADDRSTRLEN];

	(void)state;
	/* A subnet route, a default route without RTF_GATEWAY, then two real ones. */
	assert_true(parse(ROUTE_HEADER
			  "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
			  "wg0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n"
			  "eth0\t00000000\t0202000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
			  "eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n",
			  ifname, gw));
	assert_string_equal(ifname, "eth0");
	assert_string_equal(gw, "10.0.2.2");
}

static void test_uplink_without_a_default_route_is_none(void **state)
{
	char ifname[IFNAMSIZ], gw[INET_ADDRSTRLEN];

	(void)state;
	assert_false(parse(ROUTE_HEADER, ifname, gw));
	assert_false(parse("", ifname, gw));
	assert_false(parse(ROUTE_HEADER
			   "eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
			   ifname, gw));
	/* An interface name longer than the kernel allows is not taken. */
	assert_false(parse(ROUTE_HEADER
			   "averyveryverylongname\t00000000\t0202000A\t0003\t0\t0\t0\t0\t0\t0\t0\n",
			   ifname, gw));
}

/* One getifaddrs entry of family `family` (AF_INET: address and mask in dotted form). */
struct fake_ifa {
	struct ifaddrs ifa;
	struct sockaddr_storage addr, mask;
};

static void fake_ifa(struct fake_ifa *f, struct fake_ifa *next, const char *name, int family,
		     const char *addr, const char *mask)
{
	memset(f, 0, sizeof(*f));
	f->ifa.ifa_next = next ? &next->ifa : NULL;
	f->ifa.ifa_name = (char *)name;
	f->addr.ss_family = (sa_family_t)family;
	f->mask.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&f->addr;
		struct sockaddr_in *m = (struct sockaddr_in *)&f->mask;

		assert_int_equal(inet_pton(AF_INET, addr, &a->sin_addr), 1);
		assert_int_equal(inet_pton(AF_INET, mask, &m->sin_addr), 1);
	}
	f->ifa.ifa_addr = (struct sockaddr *)&f->addr;
	f->ifa.ifa_netmask = (struct sockaddr *)&f->mask;
}

static void test_uplink_picks_the_interfaces_first_ipv4_address(void **state)
{
	struct fake_ifa lo, v6, other, first, second;
	struct in_addr addr;
	unsigned int prefix = 0;
	char text[INET_ADDRSTRLEN];

	(void)state;
	fake_ifa(&second, NULL, "eth0", AF_INET, "10.0.2.99", "255.255.255.0");
	fake_ifa(&first, &second, "eth0", AF_INET, "10.0.2.15", "255.255.255.0");
	fake_ifa(&other, &first, "eth1", AF_INET, "192.168.1.5", "255.255.0.0");
	fake_ifa(&v6, &other, "eth0", AF_INET6, NULL, NULL);
	fake_ifa(&lo, &v6, "lo", AF_INET, "127.0.0.1", "255.0.0.0");
	assert_true(host_uplink_pick_address(&lo.ifa, "eth0", &addr, &prefix));
	inet_ntop(AF_INET, &addr, text, sizeof(text));
	assert_string_equal(text, "10.0.2.15");
	assert_int_equal(prefix, 24);
	assert_true(host_uplink_pick_address(&lo.ifa, "eth1", &addr, &prefix));
	assert_int_equal(prefix, 16);
	assert_false(host_uplink_pick_address(&lo.ifa, "eth2", &addr, &prefix));
}

static void test_uplink_refuses_a_mask_with_holes(void **state)
{
	struct fake_ifa odd, next, host;
	struct in_addr addr;
	unsigned int prefix = 7;
	char text[INET_ADDRSTRLEN];

	(void)state;
	fake_ifa(&odd, NULL, "eth0", AF_INET, "10.0.2.15", "255.0.255.0");
	assert_false(host_uplink_pick_address(&odd.ifa, "eth0", &addr, &prefix));
	/* The interface's next address is taken instead. */
	fake_ifa(&next, NULL, "eth0", AF_INET, "10.0.3.15", "255.255.255.0");
	fake_ifa(&odd, &next, "eth0", AF_INET, "10.0.2.15", "255.0.255.0");
	assert_true(host_uplink_pick_address(&odd.ifa, "eth0", &addr, &prefix));
	inet_ntop(AF_INET, &addr, text, sizeof(text));
	assert_string_equal(text, "10.0.3.15");
	/* A /32 is a mask like any other. */
	fake_ifa(&host, NULL, "eth0", AF_INET, "10.128.0.5", "255.255.255.255");
	assert_true(host_uplink_pick_address(&host.ifa, "eth0", &addr, &prefix));
	assert_int_equal(prefix, 32);
}

/* An uplink with both parts found: ADDR/PREFIX via GATEWAY. */
static struct host_uplink uplink(const char *addr, unsigned int prefix, const char *gateway)
{
	struct host_uplink up = {.has_gateway = true, .has_address = true, .prefix = prefix};

	assert_int_equal(inet_pton(AF_INET, addr, &up.addr), 1);
	assert_int_equal(inet_pton(AF_INET, gateway, &up.gateway), 1);
	return up;
}

static void test_uplink_is_usable_only_with_the_gateway_in_its_subnet(void **state)
{
	struct host_uplink up;

	(void)state;
	up = uplink("10.0.2.15", 24, "10.0.2.2");
	assert_true(host_uplink_usable(&up));
	up = uplink("192.168.7.200", 25, "192.168.7.129");
	assert_true(host_uplink_usable(&up));
	/* On-link /32 (cloud VMs) and a gateway in another subnet: DHCP instead. */
	up = uplink("10.128.0.5", 32, "10.128.0.1");
	assert_false(host_uplink_usable(&up));
	up = uplink("192.168.7.100", 25, "192.168.7.129");
	assert_false(host_uplink_usable(&up));
	/* The gateway being our own address would route to ourselves. */
	up = uplink("10.0.2.15", 24, "10.0.2.15");
	assert_false(host_uplink_usable(&up));
	/* Half found, or a prefix no mask has. */
	up = uplink("10.0.2.15", 24, "10.0.2.2");
	up.has_address = false;
	assert_false(host_uplink_usable(&up));
	up = uplink("10.0.2.15", 24, "10.0.2.2");
	up.has_gateway = false;
	assert_false(host_uplink_usable(&up));
	up = uplink("10.0.2.15", 33, "10.0.2.2");
	assert_false(host_uplink_usable(&up));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uplink_takes_the_first_default_route_with_a_gateway),
	    cmocka_unit_test(test_uplink_without_a_default_route_is_none),
	    cmocka_unit_test(test_uplink_picks_the_interfaces_first_ipv4_address),
	    cmocka_unit_test(test_uplink_refuses_a_mask_with_holes),
	    cmocka_unit_test(test_uplink_is_usable_only_with_the_gateway_in_its_subnet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
