/* Link-layer control the egress filter lets out: well-formed ARP and neighbour discovery only. */
#ifndef MICROVMM_DEVICES_NET_EGRESS_LINK_H
#define MICROVMM_DEVICES_NET_EGRESS_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net/egress_parse.h"

/*
 * Internal to the egress filter. Pure: no state. ARP and neighbour
 * discovery pass whatever the rules say, so that the guest can reach its
 * gateway; anything in them the guest could fill freely would be a channel
 * out of the VM to every host on a tap's or bridge's link. So only the
 * exact messages a host's stack sends pass, with every field that can be
 * pinned pinned. What cannot be (which addresses the guest asks about or
 * announces: up to 8 bytes an ARP packet, 16 a neighbour message) is the
 * residue docs/network.md names.
 */

/*
 * Whether an ARP frame (len bytes, Ethernet header included) is an
 * Ethernet/IPv4 request or reply (RFC 826) the guest's stack would send:
 * 28 bytes of ARP after the header, then at most the zero padding up to
 * the 60-byte Ethernet minimum; sender hardware address = the frame's
 * source = mac (when mac is not all zero), a unicast address; sender and
 * target protocol addresses unicast host addresses (the sender may be
 * 0.0.0.0 in a probe, RFC 5227 §2.1.1, and so may the target of the reply
 * that defends an address against one); a request's target hardware
 * address zero or broadcast (RFC 5227 §2.1.1), a reply's the frame's
 * unicast destination.
 */
bool egress_link_arp_ok(const uint8_t *frame, size_t len, const uint8_t mac[6]);

/* Whether p is ICMPv6 neighbour discovery or redirect (types 133-137, RFC 4861 §4). */
bool egress_link_is_ndp(const struct egress_pkt *p);

/*
 * Whether p (egress_link_is_ndp) is a router solicitation, neighbour
 * solicitation or neighbour advertisement a host sends (RFC 4861 §4.1,
 * §4.3, §4.4, §7.1.1): hop limit 255, code 0, reserved bits zero, the
 * exact length of the message and its options (source or target link-layer
 * address = the frame's source, a nonce in solicitations, RFC 7527), a
 * unicast target, and a destination on the link: all-routers for a
 * solicitation of routers; the target's solicited-node group or the
 * link-local target itself for a neighbour solicitation; all-nodes or a
 * link-local address for an advertisement. Router advertisements and
 * redirects are a router's business and never pass.
 */
bool egress_link_ndp_ok(const struct egress_pkt *p);

#endif
