/* The egress filter's frame parser: the fields of a guest frame it decides on, copied out once. */
#ifndef MICROVMM_DEVICES_NET_EGRESS_PARSE_H
#define MICROVMM_DEVICES_NET_EGRESS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net/egress_rule.h"

/*
 * Internal to the egress filter (egress.c calls it for every frame either
 * way). Pure: no state, no allocation. The frame is a private copy the
 * guest cannot change while we look.
 */

#define EGRESS_ETH_P_IPV4 0x0800
#define EGRESS_ETH_P_IPV6 0x86dd

enum egress_parse_result {
	EGRESS_PARSE_IP,
	EGRESS_PARSE_ARP,
	EGRESS_PARSE_VLAN, /* 802.1Q or 802.1ad tagged */
	EGRESS_PARSE_OTHER,
	EGRESS_PARSE_MALFORMED,
};

/* The fields of one IP packet we decide on, copied out of the frame once. */
struct egress_pkt {
	struct egress_addr src, dst;
	uint8_t proto, ttl;
	bool fragment;	   /* part of a fragmented datagram: no transport header */
	bool source_route; /* IPv4 LSRR/SSRR, IPv6 routing header with segments left */
	bool ports;	   /* sport/dport valid: TCP, UDP, or ICMP echo (both = identifier) */
	bool icmp;	   /* icmp_type valid (ICMP in IPv4, ICMPv6 in IPv6) */
	uint16_t sport, dport;
	uint8_t tcp_flags, icmp_type;
	uint32_t tcp_seq;	/* TCP only: the segment's sequence number (RFC 9293 §3.1) */
	const uint8_t *eth_src; /* the frame's source MAC (6 bytes) */
	const uint8_t *l4;	/* transport header onwards, l4_len bytes inside the IP length */
	size_t l4_len;
	const uint8_t *payload; /* after the TCP or UDP header */
	size_t payload_len;
};

/*
 * Parses one Ethernet II frame of len bytes: *ethertype (0 when the frame
 * is too short for one) and, for EGRESS_PARSE_IP, *pkt (pointers into
 * frame). IPv4 options and up to 8 IPv6 extension headers are walked; an IP
 * fragment (pkt->fragment) gets no transport fields. Never reads outside
 * the frame or the lengths its headers give.
 */
enum egress_parse_result egress_parse(const uint8_t *frame, size_t len, struct egress_pkt *pkt,
				      uint16_t *ethertype);

#endif
