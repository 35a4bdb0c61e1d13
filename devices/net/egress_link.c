/* Checks that ARP and neighbour discovery from the guest carry nothing but what the link needs. */
#include <string.h>

#include "devices/net/egress_link.h"

#define ETH_HLEN     14
#define ETH_ZLEN     60 /* shortest Ethernet frame without FCS (IEEE 802.3 §3.2.7) */
#define ARP_LEN	     28 /* Ethernet/IPv4 (RFC 826) */
#define ARP_REQUEST  1
#define ARP_REPLY    2
#define ND_RS	     133
#define ND_RA	     134
#define ND_NS	     135
#define ND_NA	     136
#define ND_REDIRECT  137
#define ND_OPT_SLLA  1
#define ND_OPT_TLLA  2
#define ND_OPT_NONCE 14 /* RFC 7527 §4 */
#define ND_OPTS_MAX  2	/* a link-layer address and a nonce at most */

static const uint8_t zero_mac[6];
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool mac_unicast(const uint8_t *m)
{
	return !(m[0] & 1) && memcmp(m, zero_mac, 6) != 0;
}

/* Not 0/8, loopback, multicast, reserved or broadcast (RFC 1122 §3.2.1.3, RFC 5735). */
static bool ipv4_unicast(const uint8_t *a)
{
	return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* GUEST: frame is the private copy; len is checked before every field is read. */
bool egress_link_arp_ok(const uint8_t *frame, size_t len, const uint8_t mac[6])
{
	const uint8_t *a = frame + ETH_HLEN, *sha = a + 8, *spa = a + 14, *tha = a + 18,
		      *tpa = a + 24;
	uint16_t op;

	if (len < ETH_HLEN + ARP_LEN || len > ETH_ZLEN ||
	    !all_zero(a + ARP_LEN, len - ETH_HLEN - ARP_LEN))
		return false;
	if (get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return false;
	op = get16(a + 6);
	if (memcmp(sha, frame + 6, 6) != 0 || !mac_unicast(sha) ||
	    (memcmp(mac, zero_mac, 6) != 0 && memcmp(sha, mac, 6) != 0))
		return false;
	if (op == ARP_REQUEST)
		return ipv4_unicast(tpa) && (ipv4_unicast(spa) || all_zero(spa, 4)) &&
		       (all_zero(tha, 6) || memcmp(tha, bcast_mac, 6) == 0) &&
		       (mac_unicast(frame) || memcmp(frame, bcast_mac, 6) == 0);
	/* A reply defending an address against a probe goes to 0.0.0.0 (RFC 5227 §2.4). */
	return op == ARP_REPLY && ipv4_unicast(spa) && (ipv4_unicast(tpa) || all_zero(tpa, 4)) &&
	       mac_unicast(tha) && memcmp(frame, tha, 6) == 0;
}

bool egress_link_is_ndp(const struct egress_pkt *p)
{
	return p->icmp && p->dst.family == 6 && p->icmp_type >= ND_RS &&
	       p->icmp_type <= ND_REDIRECT;
}

static bool ipv6_link_local(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* ff02::1, ff02::2 (RFC 4291 §2.7.1) */
static bool ipv6_all(const uint8_t *a, uint8_t which)
{
	static const uint8_t prefix[15] = {0xff, 0x02};

	return memcmp(a, prefix, 15) == 0 && a[15] == which;
}

/* ff02::1:ffXX:XXXX of target (RFC 4291 §2.7.1). */
static bool ipv6_solicited_node_of(const uint8_t *a, const uint8_t *target)
{
	static const uint8_t prefix[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};

	return memcmp(a, prefix, 13) == 0 && memcmp(a + 13, target + 13, 3) == 0;
}

/*
 * Walks the options after the fixed part (RFC 4861 §4.6): each one whole,
 * at most ND_OPTS_MAX, only the link-layer address this message type
 * carries (equal to the frame's source) and, in solicitations, a nonce.
 */
static bool ndp_options_ok(const struct egress_pkt *p, size_t off, uint8_t lla_type)
{
	unsigned int count = 0;
	bool unspecified = all_zero(p->src.b, 16);

	while (off < p->l4_len) {
		const uint8_t *o = p->l4 + off;

		/* Every option here is 8 bytes: type, length 1, six bytes. */
		if (p->l4_len - off < 8 || o[1] != 1 || ++count > ND_OPTS_MAX)
			return false;
		if (o[0] == lla_type) {
			/* No source link-layer address from :: (RFC 4861 §7.1.1). */
			if (unspecified || memcmp(o + 2, p->eth_src, 6) != 0)
				return false;
		} else if (o[0] != ND_OPT_NONCE || p->icmp_type != ND_NS) {
			return false;
		}
		off += 8;
	}
	return true;
}

/* GUEST: p was parsed from the private copy; l4_len bytes of ICMPv6 lie inside the packet. */
bool egress_link_ndp_ok(const struct egress_pkt *p)
{
	const uint8_t *m = p->l4, *dst = p->dst.b, *target = m + 8;
	bool unspecified = all_zero(p->src.b, 16);

	if (p->ttl != 255 || p->l4_len < 8 || m[1] != 0 || p->src.b[0] == 0xff)
		return false;
	switch (p->icmp_type) {
	case ND_RS:
		return all_zero(m + 4, 4) && ipv6_all(dst, 2) && ndp_options_ok(p, 8, ND_OPT_SLLA);
	case ND_NS:
		if (p->l4_len < 24 || !all_zero(m + 4, 4) || target[0] == 0xff ||
		    all_zero(target, 16))
			return false;
		if (!ipv6_solicited_node_of(dst, target) &&
		    (unspecified || !ipv6_link_local(dst) || memcmp(dst, target, 16) != 0))
			return false;
		return ndp_options_ok(p, 24, ND_OPT_SLLA);
	case ND_NA:
		/* Flags R, S, O, then 29 reserved bits (RFC 4861 §4.4). */
		if (p->l4_len < 24 || (m[4] & 0x1f) || !all_zero(m + 5, 3) || unspecified ||
		    target[0] == 0xff || all_zero(target, 16))
			return false;
		if (!ipv6_all(dst, 1) && !ipv6_link_local(dst))
			return false;
		return ndp_options_ok(p, 24, ND_OPT_TLLA);
	case ND_RA:
	case ND_REDIRECT:
	default:
		return false;
	}
}
