/*
 * net_hostile: what a hostile guest can push at its network card. Sends
 * malformed, truncated, oversized and garbage Ethernet frames through an
 * AF_PACKET socket on IFACE, then frames with bogus virtio-net headers (GSO
 * and checksum offload requests) through PACKET_VNET_HDR. The guest kernel
 * refuses some of them (too short, too long, bad offload fields): those are
 * counted, not fatal. tests/integration/net.sh runs it as root in the guest
 * and then checks that microvmm and the network are still fine.
 *
 * Usage: net_hostile IFACE [ROUNDS]   (static: the guest has no libraries)
 * Prints "net_hostile: IFACE mtu N" and "net_hostile: sent N frames (M
 * refused by the guest kernel)"; exits 0 unless it cannot open the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_LEN (sizeof(struct virtio_net_hdr) + 70000)

static unsigned char buf[BUF_LEN];
static unsigned long sent, refused;
static uint32_t seed = 12345;
static struct sockaddr_ll dest;

static uint32_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return seed;
}

static void fill_random(unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)rnd();
}

static void send_frame(int fd, const void *p, size_t len)
{
	if (sendto(fd, p, len, 0, (const struct sockaddr *)&dest, sizeof(dest)) < 0)
		refused++;
	else
		sent++;
}

/* Ethernet header: broadcast destination, a made-up source, TYPE. */
static void eth(unsigned char *p, uint16_t type)
{
	memset(p, 0xff, 6);
	memcpy(p + 6, "\x02\x11\x22\x33\x44\x55", 6);
	p[12] = (unsigned char)(type >> 8);
	p[13] = (unsigned char)type;
}

/* Shorter than an Ethernet header (the kernel refuses most). */
static void runts(int fd)
{
	for (size_t len = 0; len <= ETH_HLEN; len++) {
		fill_random(buf, len);
		send_frame(fd, buf, len);
	}
}

/* Unknown ethertypes, VLAN and QinQ tags, MPLS, LLDP, ARP: random payloads. */
static void garbage_types(int fd)
{
	static const uint16_t types[] = {0x1234, 0xffff, 0x0000, 0x0600, 0x8100, 0x88a8,
					 0x9100, 0x8847, 0x88cc, 0x0806, 0x86dd, 0x0800};

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		size_t len = ETH_HLEN + rnd() % 200;

		eth(buf, types[t]);
		fill_random(buf + ETH_HLEN, len - ETH_HLEN);
		send_frame(fd, buf, len);
	}
}

/* IPv4: every truncation of a header with random IHL, lengths and protocol. */
static void bad_ipv4(int fd, int round)
{
	static const unsigned char protos[] = {6, 17, 1, 2, 47, 255};

	for (size_t len = ETH_HLEN; len < ETH_HLEN + 64; len++) {
		unsigned char *ip = buf + ETH_HLEN;

		eth(buf, 0x0800);
		fill_random(ip, len - ETH_HLEN);
		if (len > ETH_HLEN)
			ip[0] = (unsigned char)(0x40 | (rnd() % 16));
		if (len > ETH_HLEN + 9)
			ip[9] = protos[(size_t)round % sizeof(protos)];
		send_frame(fd, buf, len);
	}
	/* IHL 15, a total length past the frame, broken source-route options. */
	unsigned char *ip = buf + ETH_HLEN;

	eth(buf, 0x0800);
	memset(ip, 0, 60);
	ip[0] = 0x4f;
	ip[2] = 0xff;
	ip[3] = 0xff;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 16, "\x0a\x00\x02\x32", 4);
	ip[20] = 0x83; /* LSRR claiming 39 bytes */
	ip[21] = 39;
	ip[22] = 4;
	ip[23] = 0x89; /* SSRR of length 0 */
	ip[24] = 0;
	send_frame(fd, buf, ETH_HLEN + 60);
	/* A fragment with the more-fragments bit and no room for ports. */
	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[3] = 28;
	ip[6] = 0x20;
	ip[7] = 0x01;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 16, "\x0a\x00\x02\x32", 4);
	send_frame(fd, buf, ETH_HLEN + 28);
}

/* IPv6: truncations, and a payload of hop-by-hop headers chained to each other. */
static void bad_ipv6(int fd)
{
	unsigned char *ip = buf + ETH_HLEN;

	for (size_t len = ETH_HLEN; len < ETH_HLEN + 48; len += 3) {
		eth(buf, 0x86dd);
		fill_random(ip, len - ETH_HLEN);
		if (len > ETH_HLEN)
			ip[0] = 0x60;
		send_frame(fd, buf, len);
	}
	eth(buf, 0x86dd);
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[4] = 0x05; /* payload length 1480 */
	ip[5] = 0xc8;
	ip[6] = 0; /* next header: hop-by-hop */
	ip[7] = 64;
	for (size_t i = 40; i < 40 + 1480; i += 8) {
		ip[i] = 0;
		ip[i + 1] = 0;
		memset(ip + i + 2, 1, 6);
	}
	send_frame(fd, buf, ETH_HLEN + 40 + 1480);
}

/* Random frames of random length up to the MTU, then the MTU exactly and one byte more. */
static void big_frames(int fd, size_t mtu)
{
	for (int k = 0; k < 30; k++) {
		size_t len = ETH_HLEN + rnd() % (mtu + 1);

		fill_random(buf, len);
		buf[0] = 0xff;
		send_frame(fd, buf, len);
	}
	eth(buf, 0x0800);
	memset(buf + ETH_HLEN, 0x41, mtu + 1);
	buf[ETH_HLEN] = 0x45;
	send_frame(fd, buf, ETH_HLEN + mtu);
	send_frame(fd, buf, ETH_HLEN + mtu + 1);
}

/* Frames behind a virtio-net header with random GSO types, sizes and checksum offsets. */
static void bogus_offloads(int fd, int count)
{
	static const uint8_t gso[] = {VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4,
				      VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_HDR_GSO_TCPV6,
				      VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN};

	for (int i = 0; i < count; i++) {
		struct virtio_net_hdr h = {0};
		unsigned char *f = buf + sizeof(h);
		size_t len = ETH_HLEN + 40 + rnd() % 60000;

		h.flags = (uint8_t)(rnd() & 1 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0);
		h.gso_type = gso[rnd() % sizeof(gso)];
		h.gso_size = (uint16_t)(rnd() % 3 == 0 ? 0 : rnd() % 70000);
		h.hdr_len = (uint16_t)(rnd() % 200);
		h.csum_start = (uint16_t)(rnd() % 100);
		h.csum_offset = (uint16_t)(rnd() % 40);
		memcpy(buf, &h, sizeof(h));
		eth(f, rnd() & 1 ? 0x0800 : 0x86dd);
		fill_random(f + ETH_HLEN, len - ETH_HLEN);
		if (f[13] == 0x00) { /* IPv4 TCP 10.0.2.15 -> 10.0.2.50, lengths that fit */
			f[14] = 0x45;
			f[16] = (unsigned char)((len - ETH_HLEN) >> 8);
			f[17] = (unsigned char)(len - ETH_HLEN);
			f[23] = 6;
			memcpy(f + 26, "\x0a\x00\x02\x0f\x0a\x00\x02\x32", 8);
			f[46] = 0x50;
		} else {
			f[14] = 0x60;
			f[20] = 6;
		}
		send_frame(fd, buf, sizeof(h) + len);
	}
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	struct ifreq ifr = {0};
	size_t mtu = 1500;
	int fd, vfd, one = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: net_hostile IFACE [ROUNDS]\n");
		return 2;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("net_hostile: socket(AF_PACKET)");
		return 1;
	}
	dest.sll_family = AF_PACKET;
	dest.sll_ifindex = (int)if_nametoindex(argv[1]);
	dest.sll_halen = ETH_ALEN;
	memset(dest.sll_addr, 0xff, ETH_ALEN);
	if (dest.sll_ifindex == 0) {
		fprintf(stderr, "net_hostile: no interface %s\n", argv[1]);
		return 1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0 && ifr.ifr_mtu <= 65535)
		mtu = (size_t)ifr.ifr_mtu;
	printf("net_hostile: %s mtu %zu\n", argv[1], mtu);
	for (int r = 0; r < rounds; r++) {
		runts(fd);
		garbage_types(fd);
		bad_ipv4(fd, r);
		bad_ipv6(fd);
		big_frames(fd, mtu);
	}
	vfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (vfd >= 0 && setsockopt(vfd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0)
		bogus_offloads(vfd, rounds * 4);
	else
		printf("net_hostile: no PACKET_VNET_HDR: %s\n", strerror(errno));
	printf("net_hostile: sent %lu frames (%lu refused by the guest kernel)\n", sent, refused);
	return 0;
}
