/* Guest init: loopback, and eth0 by DHCP or a static address, before the command runs. */
#include "init.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NET_IFACE	"eth0"
#define NET_WAIT_MS	5000
#define NET_DHCP_SCRIPT "/usr/share/microvmm/udhcpc.script"
#define NET_RESOLV	"/etc/resolv.conf"
#define NET_PING_RANGE	"/proc/sys/net/ipv4/ping_group_range"

/* Runs a busybox applet and waits for it; returns its exit status or -errno. */
static int net_run(char *const argv[], const char *env_extra)
{
	char *envp[] = {"PATH=/bin:/sbin:/usr/bin:/usr/sbin", (char *)env_extra, NULL};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDWR);

		/* udhcpc chatters on stdout; errors still reach the console on stderr. */
		if (null_fd >= 0)
			dup2(null_fd, STDOUT_FILENO);
		execve("/bin/busybox", argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void net_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	ssize_t ignored = write(fd, text, strlen(text));
	(void)ignored;
	close(fd);
}

/*
 * Interfaces, addresses and routes go through the classic ioctls
 * (netdevice(7), SIOCADDRT in route(7)) on one datagram socket: each
 * `ip` command would be a fork and exec of busybox, which costs a small
 * guest far more than the change itself.
 */
static void net_sockaddr(struct sockaddr *sa, struct in_addr addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = addr};

	memcpy(sa, &sin, sizeof(sin));
}

/* An interface request for `name`, everything else zero. */
static struct ifreq net_ifreq(const char *name)
{
	struct ifreq ifr = {0};

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return ifr;
}

static int net_set_mtu(int s, const char *name, unsigned int mtu)
{
	struct ifreq ifr = net_ifreq(name);

	ifr.ifr_mtu = (int)mtu;
	return ioctl(s, SIOCSIFMTU, &ifr) < 0 ? -errno : 0;
}

static int net_link_up(int s, const char *name)
{
	struct ifreq ifr = net_ifreq(name);

	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* "A.B.C.D/N" into address and mask; -EINVAL for anything else. */
static int net_parse_cidr(const char *cidr, struct in_addr *addr, struct in_addr *mask)
{
	char text[32], *slash, *end;
	unsigned long prefix;

	if ((size_t)snprintf(text, sizeof(text), "%s", cidr) >= sizeof(text))
		return -EINVAL;
	slash = strchr(text, '/');
	if (!slash)
		return -EINVAL;
	*slash++ = '\0';
	prefix = strtoul(slash, &end, 10);
	if (end == slash || *end || prefix > 32 || inet_pton(AF_INET, text, addr) != 1)
		return -EINVAL;
	mask->s_addr = prefix ? htonl(0xffffffffu << (32 - prefix)) : 0;
	return 0;
}

/*
 * The address, then the mask: the kernel adds the prefix route and the
 * broadcast address when the mask changes (devinet_ioctl, SIOCSIFNETMASK).
 */
static int net_set_address(int s, const char *name, struct in_addr addr, struct in_addr mask)
{
	struct ifreq ifr = net_ifreq(name);

	net_sockaddr(&ifr.ifr_addr, addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		return -errno;
	net_sockaddr(&ifr.ifr_netmask, mask);
	return ioctl(s, SIOCSIFNETMASK, &ifr) < 0 ? -errno : 0;
}

static int net_default_route(int s, const char *gateway)
{
	struct rtentry rt = {.rt_flags = RTF_UP | RTF_GATEWAY};
	struct in_addr gw, any = {0};

	if (inet_pton(AF_INET, gateway, &gw) != 1)
		return -EINVAL;
	net_sockaddr(&rt.rt_dst, any);
	net_sockaddr(&rt.rt_genmask, any);
	net_sockaddr(&rt.rt_gateway, gw);
	return ioctl(s, SIOCADDRT, &rt) < 0 ? -errno : 0;
}

/*
 * A gratuitous ARP request for our own address (RFC 5227 §3 "ARP
 * Announcement"), sent as soon as the address is set, so that whoever is
 * on the other side learns the guest's MAC before the command's traffic.
 * A DHCP exchange would have taught it; a static address does not. passt
 * sends inbound connections (--publish) to the MAC it last saw, and a
 * bridge forwards to the port it learned. Best effort: a lost
 * announcement only delays that until the guest's own first packet.
 */
static void net_announce(int s, const char *name, struct in_addr addr)
{
	struct ifreq ifr = net_ifreq(name);
	struct {
		uint16_t htype, ptype;
		uint8_t hlen, plen;
		uint16_t op;
		uint8_t sha[ETH_ALEN], spa[4], tha[ETH_ALEN], tpa[4];
	} __attribute__((packed)) arp = {
	    .htype = htons(ARPHRD_ETHER),
	    .ptype = htons(ETH_P_IP),
	    .hlen = ETH_ALEN,
	    .plen = 4,
	    .op = htons(ARPOP_REQUEST),
	};
	struct sockaddr_ll to = {
	    .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_halen = ETH_ALEN};
	int ps;

	/* One ifreq, two questions: ifr_ifindex and ifr_hwaddr share a union. */
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		return;
	to.sll_ifindex = ifr.ifr_ifindex;
	memset(to.sll_addr, 0xff, ETH_ALEN);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		return;
	memcpy(arp.sha, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	memcpy(arp.spa, &addr, 4);
	memcpy(arp.tpa, &addr, 4);
	ps = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (ps < 0)
		return;
	ssize_t ignored = sendto(ps, &arp, sizeof(arp), 0, (struct sockaddr *)&to, sizeof(to));
	(void)ignored;
	close(ps);
}

static int net_static(int s, const struct run_config *rc)
{
	struct in_addr addr, mask;
	int err = net_parse_cidr(rc->net_addr, &addr, &mask);

	if (!err)
		err = net_set_address(s, NET_IFACE, addr, mask);
	if (!err && rc->net_gateway[0])
		err = net_default_route(s, rc->net_gateway);
	if (!err)
		net_announce(s, NET_IFACE, addr);
	return err;
}

static int net_dhcp(const struct run_config *rc)
{
	/* 30 discovers one second apart: a slow DHCP server on a bridge still makes it. */
	char *argv[] = {"udhcpc", "-i", NET_IFACE,	 "-f", "-q", "-n", "-t", "30", "-T",
			"1",	  "-s", NET_DHCP_SCRIPT, NULL};

	return net_run(argv, rc->dns_count ? "MICROVMM_DNS=1" : NULL);
}

int net_setup(const struct run_config *rc, char *why, size_t why_len)
{
	char path[64], resolv[256] = "";
	int err, s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		err = -errno;
		snprintf(why, why_len, "no socket for network set-up: %s", strerror(-err));
		return err;
	}
	/* Loopback always: tools expect 127.0.0.1 even without a NIC. */
	net_link_up(s, "lo");
	/* The unprivileged agent may ping (ICMP sockets, no raw sockets). */
	net_write(NET_PING_RANGE, "0 2147483647\n");
	if (!rc->net_mode) {
		close(s);
		return 0;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s", NET_IFACE);
	err = ports_wait_path(path, NET_WAIT_MS);
	if (err) {
		close(s);
		snprintf(why, why_len, "the network card %s did not appear", NET_IFACE);
		return err;
	}
	/* Best effort, as a DHCP lease's MTU option would be: the link works at 1500 too. */
	if (rc->net_mtu)
		net_set_mtu(s, NET_IFACE, rc->net_mtu);
	net_link_up(s, NET_IFACE);
	err = strcmp(rc->net_mode, "static") ? net_dhcp(rc) : net_static(s, rc);
	close(s);
	if (err) {
		snprintf(why, why_len, "cannot configure %s (%s): %s", NET_IFACE, rc->net_mode,
			 err < 0 ? strerror(-err) : "no DHCP answer or bad address");
		return err < 0 ? err : -EIO;
	}
	for (unsigned int i = 0; i < rc->dns_count; i++) {
		size_t len = strlen(resolv);

		snprintf(resolv + len, sizeof(resolv) - len, "nameserver %s\n", rc->dns[i]);
	}
	if (rc->dns_count)
		net_write(NET_RESOLV, resolv);
	return 0;
}
