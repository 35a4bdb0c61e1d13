/* Defensive parsers for DNS answers and for resolver addresses in DHCP, DHCPv6 and RAs. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "devices/net/dns.h"

#define DNS_HEADER_LEN	12
#define DNS_FLAG_QR	0x8000
#define DNS_CLASS_IN	1
#define DNS_MAX_WIRE	255 /* RFC 1035 §2.3.4 */
#define DNS_MAX_LABEL	63
#define DNS_MAX_QDCOUNT 4 /* real responses carry one question */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends one label to the dotted text name; rejects labels we could not compare safely. */
static int dns_append_label(char *out, size_t *outlen, const uint8_t *label, unsigned int n)
{
	size_t o = *outlen;

	if (o + (o ? 1 : 0) + n >= DNS_NAME_TEXT)
		return -EINVAL;
	if (o)
		out[o++] = '.';
	for (unsigned int i = 0; i < n; i++) {
		uint8_t c = label[i];

		if (c == '.' || c == 0)
			return -EINVAL;
		out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	*outlen = o;
	return 0;
}

/*
 * Decodes the name at off (RFC 1035 §4.1.4). *next is the offset just after
 * the name where it starts (after the first pointer if it is compressed).
 * GUEST (backend): every label and pointer is checked against len; pointer
 * hops are bounded by DNS_MAX_PTR_HOPS and the name by 255 wire bytes, so
 * loops end.
 */
static int dns_name(const uint8_t *msg, size_t len, size_t off, char out[DNS_NAME_TEXT],
		    size_t *next)
{
	size_t pos = off, outlen = 0, wire = 0;
	unsigned int hops = 0;
	bool jumped = false;

	for (;;) {
		if (pos >= len)
			return -EINVAL;
		uint8_t c = msg[pos];

		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len || ++hops > DNS_MAX_PTR_HOPS)
				return -EINVAL;
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			pos = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			continue;
		}
		if (c & 0xc0) /* extended (0x40) and reserved (0x80) label types */
			return -EINVAL;
		wire += 1u + c;
		if (wire > DNS_MAX_WIRE)
			return -EINVAL;
		if (c == 0) {
			if (!jumped)
				*next = pos + 1;
			out[outlen] = '\0';
			return 0;
		}
		if (c > len - pos - 1 || dns_append_label(out, &outlen, msg + pos + 1, c))
			return -EINVAL;
		pos += 1u + c;
	}
}

/* Decodes one resource record at *pos into rr; returns 1 if kept, 0 if skipped, -EINVAL. */
static int dns_rr(const uint8_t *msg, size_t len, size_t *pos, struct dns_rr *rr)
{
	size_t p, rdata, end;

	if (dns_name(msg, len, *pos, rr->owner, &p) || len - p < 10)
		return -EINVAL;
	uint16_t type = get16(msg + p), class = get16(msg + p + 2), rdlen = get16(msg + p + 8);
	uint32_t ttl = get32(msg + p + 4);

	rdata = p + 10;
	if (rdlen > len - rdata)
		return -EINVAL;
	*pos = rdata + rdlen;
	if (class != DNS_CLASS_IN)
		return 0;
	rr->type = type;
	rr->ttl = ttl & 0x80000000u ? 0 : ttl;
	switch (type) {
	case DNS_TYPE_A:
		if (rdlen != 4)
			return 0;
		memcpy(rr->addr, msg + rdata, 4);
		return 1;
	case DNS_TYPE_AAAA:
		if (rdlen != 16)
			return 0;
		memcpy(rr->addr, msg + rdata, 16);
		return 1;
	case DNS_TYPE_CNAME:
		/* The target's own bytes lie inside rdata; its pointers may leave it. */
		if (dns_name(msg, len, rdata, rr->target, &end) || end > rdata + rdlen)
			return -EINVAL;
		return 1;
	default:
		return 0;
	}
}

int dns_parse_response(const uint8_t *msg, size_t len, struct dns_answers *out)
{
	char scratch[DNS_NAME_TEXT];
	size_t pos = DNS_HEADER_LEN;

	out->count = 0;
	if (len < DNS_HEADER_LEN)
		return -EINVAL;
	/* GUEST (backend): header fields read once from the checked 12 bytes. */
	uint16_t flags = get16(msg + 2), qdcount = get16(msg + 4), ancount = get16(msg + 6);

	if (!(flags & DNS_FLAG_QR) || ((flags >> 11) & 0xf) != 0 || (flags & 0xf) != 0)
		return -EINVAL;
	if (qdcount > DNS_MAX_QDCOUNT)
		return -EINVAL;
	for (unsigned int i = 0; i < qdcount; i++) {
		if (dns_name(msg, len, pos, scratch, &pos) || len - pos < 4)
			return -EINVAL;
		pos += 4;
	}
	/* ancount is bounded by the message: every record takes at least 11 bytes. */
	for (unsigned int i = 0; i < ancount && out->count < DNS_MAX_RRS; i++) {
		int kept = dns_rr(msg, len, &pos, &out->rr[out->count]);

		if (kept < 0)
			break;
		out->count += (unsigned int)kept;
	}
	return 0;
}

void dns_follow_cnames(const struct dns_answers *a, uint64_t mask[DNS_MAX_RRS])
{
	for (unsigned int hop = 0; hop < DNS_CNAME_HOPS; hop++) {
		uint64_t next[DNS_MAX_RRS];
		bool changed = false;

		/* One hop per pass: spread from a snapshot so the bound is exact. */
		memcpy(next, mask, sizeof(next));
		for (unsigned int i = 0; i < a->count; i++) {
			if (a->rr[i].type != DNS_TYPE_CNAME || !mask[i])
				continue;
			for (unsigned int j = 0; j < a->count; j++) {
				if ((next[j] | mask[i]) == next[j] ||
				    strcmp(a->rr[j].owner, a->rr[i].target) != 0)
					continue;
				next[j] |= mask[i];
				changed = true;
			}
		}
		memcpy(mask, next, sizeof(next));
		if (!changed)
			break;
	}
}

#define DHCP_OPTIONS_OFF 240 /* fixed BOOTP fields (236) + magic cookie (RFC 2131 §3) */
#define DHCP_OPT_PAD	 0
#define DHCP_OPT_DNS	 6
#define DHCP_OPT_MSGTYPE 53
#define DHCP_OPT_END	 255
#define DHCP_OFFER	 2
#define DHCP_ACK	 5
#define BOOTREPLY	 2

int dns_servers_from_dhcp4(const uint8_t *msg, size_t len, uint8_t (*out)[4], unsigned int max)
{
	static const uint8_t cookie[4] = {99, 130, 83, 99};
	unsigned int n = 0, type = 0;
	size_t pos = DHCP_OPTIONS_OFF;

	if (len < DHCP_OPTIONS_OFF || msg[0] != BOOTREPLY || memcmp(msg + 236, cookie, 4) != 0)
		return -EINVAL;
	/* GUEST (backend): each option's length is checked against len before it is read. */
	while (pos < len && msg[pos] != DHCP_OPT_END) {
		uint8_t code = msg[pos];

		if (code == DHCP_OPT_PAD) {
			pos++;
			continue;
		}
		if (len - pos < 2 || msg[pos + 1] > len - pos - 2)
			break;
		uint8_t olen = msg[pos + 1];
		const uint8_t *val = msg + pos + 2;

		if (code == DHCP_OPT_MSGTYPE && olen == 1)
			type = val[0];
		if (code == DHCP_OPT_DNS)
			for (unsigned int i = 0; i + 4 <= olen && n < max; i += 4)
				memcpy(out[n++], val + i, 4);
		pos += 2u + olen;
	}
	return type == DHCP_OFFER || type == DHCP_ACK ? (int)n : -EINVAL;
}

#define DHCP6_ADVERTISE	  2
#define DHCP6_REPLY	  7
#define DHCP6_OPT_DNS	  23
#define DHCP6_OPTIONS_OFF 4 /* msg-type + transaction-id (RFC 8415 §8) */

unsigned int dns_servers_from_dhcp6(const uint8_t *msg, size_t len, uint8_t (*out)[16],
				    unsigned int max)
{
	unsigned int n = 0;
	size_t pos = DHCP6_OPTIONS_OFF;

	if (len < DHCP6_OPTIONS_OFF || (msg[0] != DHCP6_ADVERTISE && msg[0] != DHCP6_REPLY))
		return 0;
	/* GUEST (backend): top-level options only, each bounded by len. */
	while (len - pos >= 4) {
		uint16_t code = get16(msg + pos), olen = get16(msg + pos + 2);
		const uint8_t *val = msg + pos + 4;

		if (olen > len - pos - 4)
			break;
		if (code == DHCP6_OPT_DNS)
			for (unsigned int i = 0; i + 16 <= olen && n < max; i += 16)
				memcpy(out[n++], val + i, 16);
		pos += 4u + olen;
	}
	return n;
}

#define ICMP6_ROUTER_ADVERT 134
#define RA_OPTIONS_OFF	    16 /* RFC 4861 §4.2 */
#define ND_OPT_RDNSS	    25

unsigned int dns_servers_from_ra(const uint8_t *msg, size_t len, uint8_t (*out)[16],
				 unsigned int max)
{
	unsigned int n = 0;
	size_t pos = RA_OPTIONS_OFF;

	if (len < RA_OPTIONS_OFF || msg[0] != ICMP6_ROUTER_ADVERT)
		return 0;
	/* GUEST (backend): option lengths are in units of 8 bytes and never 0 (RFC 4861 §4.6). */
	while (len - pos >= 2) {
		size_t olen = (size_t)msg[pos + 1] * 8;

		if (olen == 0 || olen > len - pos)
			break;
		if (msg[pos] == ND_OPT_RDNSS && olen >= 24)
			for (size_t i = 8; i + 16 <= olen && n < max; i += 16)
				memcpy(out[n++], msg + pos + i, 16);
		pos += olen;
	}
	return n;
}
