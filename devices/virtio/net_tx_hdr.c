/* Checks a transmit frame's virtio-net header against the frame (net_tx_hdr.h). */
#include "devices/virtio/net_tx_hdr.h"

#include "boot/le.h"

/* struct virtio_net_hdr_v1 (§5.1.6): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
 */
#define HDR_FLAGS	0
#define HDR_GSO_TYPE	1
#define HDR_GSO_SIZE	4
#define HDR_CSUM_START	6
#define HDR_CSUM_OFFSET 8
#define F_NEEDS_CSUM	1
#define GSO_NONE	0
#define GSO_TCPV4	1
#define GSO_TCPV6	4

#define ETH_HLEN	14
#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_IPV6	0x86dd
#define IPPROTO_TCP_NUM 6
#define IPPROTO_UDP_NUM 17
#define TCP_CSUM_FIELD	16 /* RFC 9293 §3.1 */
#define UDP_CSUM_FIELD	6  /* RFC 768 */

struct l4_place {
	size_t start;  /* offset of the TCP/UDP header in the frame */
	uint8_t proto; /* IPPROTO_TCP_NUM or IPPROTO_UDP_NUM, 0 for neither */
	bool ipv6;
};

/* Where the frame's transport header starts; false when it is not plain IPv4/IPv6. */
static bool l4_locate(const uint8_t *frame, size_t len, struct l4_place *at)
{
	if (len < ETH_HLEN + 1)
		return false;
	uint16_t type = (uint16_t)(frame[12] << 8 | frame[13]);
	const uint8_t *ip = frame + ETH_HLEN;

	if (type == ETHERTYPE_IPV4) {
		size_t ihl = (size_t)(ip[0] & 15) * 4;

		if ((ip[0] >> 4) != 4 || ihl < 20 || len < ETH_HLEN + ihl)
			return false;
		*at = (struct l4_place){.start = ETH_HLEN + ihl, .proto = ip[9], .ipv6 = false};
		return true;
	}
	/* IPv6 with no extension header: the filter reads nothing else either. */
	if (type == ETHERTYPE_IPV6 && len >= ETH_HLEN + 40 && (ip[0] >> 4) == 6) {
		*at = (struct l4_place){.start = ETH_HLEN + 40, .proto = ip[6], .ipv6 = true};
		return true;
	}
	return false;
}

bool net_tx_hdr_safe(const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	uint8_t flags = hdr[HDR_FLAGS], gso = hdr[HDR_GSO_TYPE];
	struct l4_place at;

	if (flags & ~F_NEEDS_CSUM)
		return false;
	if (!(flags & F_NEEDS_CSUM))
		return gso == GSO_NONE;
	if (!l4_locate(frame, len, &at))
		return false;
	uint16_t start = le_get16(hdr + HDR_CSUM_START);
	uint16_t offset = le_get16(hdr + HDR_CSUM_OFFSET);

	if (start != at.start)
		return false;
	if (at.proto == IPPROTO_TCP_NUM) {
		if (offset != TCP_CSUM_FIELD || len < at.start + 20)
			return false;
		if (gso == GSO_NONE)
			return true;
		return gso == (at.ipv6 ? GSO_TCPV6 : GSO_TCPV4) &&
		       le_get16(hdr + HDR_GSO_SIZE) != 0;
	}
	return at.proto == IPPROTO_UDP_NUM && offset == UDP_CSUM_FIELD && gso == GSO_NONE &&
	       len >= at.start + 8;
}
