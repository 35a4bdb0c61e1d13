/* Parsers for what resolvers send the guest: DNS answers, resolver addresses in DHCP/RA. */
#ifndef MICROVMM_DEVICES_NET_DNS_H
#define MICROVMM_DEVICES_NET_DNS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Internal to the egress filter. Every function here reads untrusted bytes
 * (whatever arrives for the guest) and checks every length before use;
 * none allocates, keeps state or calls out. Names are returned as dotted
 * lowercase text without the trailing dot ("" for the root).
 */

#define DNS_NAME_TEXT	 256 /* 253 characters of a 255-byte wire name, NUL, slack */
#define DNS_MAX_RRS	 32  /* answer records looked at per response */
#define DNS_MAX_PTR_HOPS 128 /* compression pointers followed per name */
#define DNS_CNAME_HOPS	 8   /* CNAME chain length followed */

#define DNS_TYPE_A     1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA  28

/* One A, AAAA or CNAME record of the answer section (class IN). */
struct dns_rr {
	uint16_t type;
	uint32_t ttl; /* seconds; values with the top bit set read as 0 (RFC 2181 §8) */
	char owner[DNS_NAME_TEXT];
	char target[DNS_NAME_TEXT]; /* CNAME only */
	uint8_t addr[16];	    /* A: first 4 bytes; AAAA: all 16 */
};

struct dns_answers {
	unsigned int count;
	struct dns_rr rr[DNS_MAX_RRS];
};

/*
 * Decodes the A, AAAA and CNAME answers of a DNS response (RFC 1035 §4.1):
 * QR set, opcode QUERY, RCODE NOERROR. Names may use compression pointers
 * (at most DNS_MAX_PTR_HOPS per name, at most 255 bytes on the wire);
 * labels containing '.' or NUL make the name invalid. Records after the
 * first DNS_MAX_RRS kept ones are ignored. Returns 0 (out->count may be 0)
 * or -EINVAL when the message is not a usable response; a malformed record
 * ends the walk but keeps the records decoded before it.
 */
int dns_parse_response(const uint8_t *msg, size_t len, struct dns_answers *out)
    __attribute__((warn_unused_result));

/*
 * Spreads rule masks along CNAME chains: mask[i] starts as the rules that
 * allow rr[i].owner; afterwards every record whose owner is reachable from
 * an allowed name through at most DNS_CNAME_HOPS CNAMEs has that name's
 * rules too (names compare exactly; they are lowercase).
 */
void dns_follow_cnames(const struct dns_answers *a, uint64_t mask[DNS_MAX_RRS]);

/*
 * Resolver addresses from a DHCP OFFER or ACK (RFC 2131; option 6, RFC
 * 2132 §3.8) given as the UDP payload. Copies up to max IPv4 addresses
 * (4 bytes each) into out and returns how many (0 when the answer names
 * none), or -EINVAL when msg is not a DHCP OFFER or ACK.
 */
int dns_servers_from_dhcp4(const uint8_t *msg, size_t len, uint8_t (*out)[4], unsigned int max);

/*
 * Resolver addresses from a DHCPv6 ADVERTISE or REPLY (RFC 8415; option 23,
 * RFC 3646) given as the UDP payload. Returns how many were copied.
 */
unsigned int dns_servers_from_dhcp6(const uint8_t *msg, size_t len, uint8_t (*out)[16],
				    unsigned int max);

/*
 * Resolver addresses from the RDNSS options (RFC 8106 §5.1) of an ICMPv6
 * router advertisement (RFC 4861 §4.2), msg starting at the ICMPv6 type.
 * Returns how many were copied.
 */
unsigned int dns_servers_from_ra(const uint8_t *msg, size_t len, uint8_t (*out)[16],
				 unsigned int max);

#endif
