/* The egress filter's frame parser: Ethernet, IPv4/IPv6 and transport headers, bounds-checked. */
#include "devices/net/egress_parse.h"

#include <errno.h>
#include <string.h>

#include "devices/net/flow.h"

#define ETH_HLEN     14
#define ETH_P_ARP    0x0806
#define ETH_P_VLAN   0x8100
#define ETH_P_QINQ   0x88a8
#define IPV4_HLEN    20
#define IPV6_HLEN    40
#define IPV6_EXT_MAX 8 /* extension headers walked before giving up */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* GUEST: every field below is read after checking it lies inside the transport's n bytes. */
static int egress_parse_l4(const uint8_t *p, size_t n, struct egress_pkt *pkt)
{
	uint8_t icmp_proto = pkt->src.family == 4 ? FLOW_PROTO_ICMP : FLOW_PROTO_ICMPV6;

	pkt->l4 = p;
	pkt->l4_len = n;
	if (pkt->fragment)
		return 0;
	if (pkt->proto == FLOW_PROTO_TCP) {
		size_t doff;

		if (n < 20)
			return -EINVAL;
		doff = (size_t)(p[12] >> 4) * 4;
		if (doff < 20 || doff > n)
			return -EINVAL;
		pkt->tcp_flags = p[13];
		pkt->tcp_seq = (uint32_t)get16(p + 4) << 16 | get16(p + 6);
		pkt->payload = p + doff;
		pkt->payload_len = n - doff;
	} else if (pkt->proto == FLOW_PROTO_UDP) {
		if (n < 8 || get16(p + 4) < 8 || get16(p + 4) > n)
			return -EINVAL;
		pkt->payload = p + 8;
		pkt->payload_len = get16(p + 4) - 8u;
	} else if (pkt->proto == icmp_proto) {
		if (n < 4)
			return -EINVAL;
		pkt->icmp = true;
		pkt->icmp_type = p[0];
		/* Echo request/reply (RFC 792; RFC 4443 §4): the identifier acts as both ports. */
		if (n >= 8 && (p[0] == 0 || p[0] == 8 || p[0] == 128 || p[0] == 129) &&
		    (p[0] >= 128) == (icmp_proto == FLOW_PROTO_ICMPV6)) {
			pkt->ports = true;
			pkt->sport = pkt->dport = get16(p + 4);
		}
		return 0;
	} else {
		return 0;
	}
	pkt->ports = true;
	pkt->sport = get16(p);
	pkt->dport = get16(p + 2);
	return 0;
}

/* IPv4 header and options (RFC 791 §3.1). */
static int egress_parse_ipv4(const uint8_t *p, size_t len, struct egress_pkt *pkt)
{
	size_t ihl, total;

	if (len < IPV4_HLEN || p[0] >> 4 != 4)
		return -EINVAL;
	ihl = (size_t)(p[0] & 0xf) * 4;
	total = get16(p + 2);
	if (ihl < IPV4_HLEN || total < ihl || total > len)
		return -EINVAL;
	pkt->fragment = (get16(p + 6) & 0x3fff) != 0; /* MF or a fragment offset */
	for (size_t i = IPV4_HLEN; i < ihl;) {
		uint8_t type = p[i];

		if (type == 0) /* end of options */
			break;
		if (type == 1) { /* no-op */
			i++;
			continue;
		}
		if (ihl - i < 2 || p[i + 1] < 2 || p[i + 1] > ihl - i)
			return -EINVAL;
		if (type == 131 || type == 137) /* loose / strict source route */
			pkt->source_route = true;
		i += p[i + 1];
	}
	pkt->ttl = p[8];
	pkt->proto = p[9];
	egress_addr_set(&pkt->src, 4, p + 12);
	egress_addr_set(&pkt->dst, 4, p + 16);
	return egress_parse_l4(p + ihl, total - ihl, pkt);
}

/* IPv6 header (RFC 8200 §3) and a bounded walk over its extension headers (§4). */
static int egress_parse_ipv6(const uint8_t *p, size_t len, struct egress_pkt *pkt)
{
	size_t off = IPV6_HLEN, end;
	uint8_t nh;

	if (len < IPV6_HLEN || p[0] >> 4 != 6)
		return -EINVAL;
	end = IPV6_HLEN + (size_t)get16(p + 4);
	if (end > len)
		return -EINVAL;
	pkt->ttl = p[7];
	egress_addr_set(&pkt->src, 6, p + 8);
	egress_addr_set(&pkt->dst, 6, p + 24);
	nh = p[6];
	for (unsigned int i = 0;; i++) {
		size_t hlen;

		if (nh != 0 && nh != 43 && nh != 44 && nh != 51 && nh != 60)
			break;
		if (i == IPV6_EXT_MAX || end - off < 8)
			return -EINVAL;
		if (nh == 44) /* fragment */
			hlen = 8;
		else if (nh == 51) /* AH, RFC 4302 §2.2 */
			hlen = ((size_t)p[off + 1] + 2) * 4;
		else
			hlen = ((size_t)p[off + 1] + 1) * 8;
		if (hlen > end - off)
			return -EINVAL;
		if (nh == 43 && p[off + 3] != 0) /* segments left */
			pkt->source_route = true;
		/* An atomic fragment (offset 0, M clear; RFC 6946) is a whole packet. */
		if (nh == 44 && (get16(p + off + 2) & 0xfff9) != 0)
			pkt->fragment = true;
		nh = p[off];
		off += hlen;
		if (pkt->fragment)
			break;
	}
	pkt->proto = nh;
	return egress_parse_l4(p + off, end - off, pkt);
}

/* GUEST: frame is the caller's private copy; every header is bounds-checked before use. */
enum egress_parse_result egress_parse(const uint8_t *frame, size_t len, struct egress_pkt *pkt,
				      uint16_t *ethertype)
{
	memset(pkt, 0, sizeof(*pkt));
	*ethertype = 0;
	if (len < ETH_HLEN)
		return EGRESS_PARSE_MALFORMED;
	*ethertype = get16(frame + 12);
	pkt->eth_src = frame + 6;
	switch (*ethertype) {
	case ETH_P_ARP:
		return EGRESS_PARSE_ARP;
	case ETH_P_VLAN:
	case ETH_P_QINQ:
		return EGRESS_PARSE_VLAN;
	case EGRESS_ETH_P_IPV4:
		return egress_parse_ipv4(frame + ETH_HLEN, len - ETH_HLEN, pkt)
			   ? EGRESS_PARSE_MALFORMED
			   : EGRESS_PARSE_IP;
	case EGRESS_ETH_P_IPV6:
		return egress_parse_ipv6(frame + ETH_HLEN, len - ETH_HLEN, pkt)
			   ? EGRESS_PARSE_MALFORMED
			   : EGRESS_PARSE_IP;
	default:
		return EGRESS_PARSE_OTHER;
	}
}
