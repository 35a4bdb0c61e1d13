/* Egress filter: decides for every Ethernet frame the guest sends whether it may leave the VM. */
#ifndef MICROVMM_DEVICES_NET_EGRESS_H
#define MICROVMM_DEVICES_NET_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A pure, deterministic library: no threads, no clocks, no I/O except the
 * log callback. Time comes only from the now_ms arguments (any monotonic
 * millisecond clock). Everything is allocated by egress_filter_create();
 * no call allocates afterwards.
 *
 * Ownership and threading: the net device owns one filter per NIC. Nothing
 * here locks: the caller serializes every call (check_tx and observe_rx
 * update the same flow and DNS tables).
 *
 * Call order: egress_filter_create() -> egress_filter_add_rule()* and
 * egress_filter_add_resolver()* -> egress_filter_active() -> for every
 * frame: egress_check_tx() (guest -> backend) or egress_observe_rx()
 * (backend -> guest) -> egress_filter_destroy().
 *
 * Policy (the --allow rules): when the filter is inactive (no rule, no
 * block_private) every frame passes and observe_rx returns at once. When
 * active, ARP requests and replies, router and neighbour solicitations
 * and neighbour advertisements (133, 135, 136) in the exact form a host
 * sends them to the link (egress_link.h), DHCP (UDP 68->67 to broadcast or
 * to a DHCP server seen answering), DHCPv6 (546->547 to ff02::1:2), MLD
 * (130-132, 143) and IGMP (hop limit/TTL 1 to a multicast group) and DNS
 * (UDP/TCP port 53) to a known resolver always pass; other ARP and
 * neighbour discovery (router advertisements, redirects) is dropped and
 * logged like other drops. Anything else passes when it belongs to a flow already allowed (or
 * opened from outside), when a rule allows its destination, or when the
 * host-loopback exception does; with block_private and no rule, every
 * destination outside the private and link-local ranges (and other than
 * the host-loopback address) is allowed too. Other ethertypes (VLAN-tagged
 * frames too), malformed and source-routed packets are dropped; IP
 * fragments are judged by address alone (they pass only where no port is
 * needed), see egress.c.
 *
 * Frames are plain Ethernet II (no virtio-net header). The caller passes a
 * private copy of the frame (the guest cannot change it while we look).
 */

struct egress_filter;

enum egress_verdict { EGRESS_PASS, EGRESS_DROP };

/*
 * Receives log lines without a trailing newline, e.g.
 * "egress: allowed tcp 93.184.216.34:443 (rule api.example.com:443)",
 * "egress: allowed tcp 10.0.2.2:8080 (host loopback)", "egress: allowed tcp
 * 93.184.216.34:443" (block_private and no rule), or
 * "egress: dropped udp 8.8.8.8:53". Allowed lines come for the first packet
 * of a flow; all of them at most once per (verdict, protocol,
 * destination, port) per EGRESS_LOG_WINDOW_MS and at most EGRESS_LOG_RATE
 * lines per second; lines the rate cap ate are counted and reported as
 * "egress: N more log lines suppressed (...)" before the next line (at most
 * one such summary per second). Called synchronously from check_tx.
 */
typedef void (*egress_log_fn)(void *ctx, const char *line);

struct egress_options {
	/*
	 * User mode: drop traffic to loopback, link-local (cloud metadata at
	 * 169.254.169.254), private, CGNAT and multicast ranges unless a rule
	 * allows them. IPv4: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
	 * 192.168/16, 224/4, 240/4. IPv6: ::/96 (includes ::1 and ::),
	 * fc00::/7, fe80::/10, fec0::/10, ff00::/8, and IPv4-mapped
	 * (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
	 * addresses whose embedded IPv4 address is in one of the IPv4 ranges.
	 * Neighbour discovery, MLD and DHCPv6 still pass (see above).
	 */
	bool block_private;
	/*
	 * The guest's MAC address (--mac): ARP must name it as the sender.
	 * All zero: any unicast address the frame comes from.
	 */
	uint8_t guest_mac[6];
	egress_log_fn log; /* may be NULL */
	void *log_ctx;
};

/*
 * Table sizes and timeouts. Flow idle timeouts are in flow.h: TCP 2 min
 * until answered, 2 h established, 10 s after FIN both ways, 0 after RST;
 * UDP 120 s; ICMP echo 30 s.
 */
#define EGRESS_MAX_RULES	128	 /* --allow values per filter */
#define EGRESS_MAX_NAME_RULES	64	 /* of which HOST or *.HOST */
#define EGRESS_MAX_RESOLVERS	8	 /* given resolvers; 8 more learned ones rotate */
#define EGRESS_MAX_LOOPBACK	16	 /* host-loopback exceptions (address, port) */
#define EGRESS_MAX_DHCP_SERVERS 4	 /* trusted to name resolvers */
#define EGRESS_LEARNED_MAX	1024	 /* (address, rule) pairs learned from DNS answers */
#define EGRESS_FLOWS_MAX	4096	 /* tracked flows */
#define EGRESS_DNS_MIN_TTL_MS	60000ULL /* learned addresses live max(TTL, this) */
#define EGRESS_LOG_WINDOW_MS	60000ULL /* one line per destination per window */
#define EGRESS_LOG_RATE		10	 /* lines per second at most */

/*
 * Allocates an empty (inactive unless opts->block_private) filter. opts may
 * be NULL (no block_private, no log). Returns 0 with *out set, or -ENOMEM.
 */
int egress_filter_create(struct egress_filter **out, const struct egress_options *opts)
    __attribute__((warn_unused_result));

/*
 * Parses one --allow value and adds it. Syntax:
 *   HOST | HOST:PORT            DNS name (letters, digits, '-', '.', optional
 *                               trailing dot, at most 253 characters, any case)
 *   *.HOST | *.HOST:PORT        any subdomain of HOST (not HOST itself)
 *   A.B.C.D[/N][:PORT]          IPv4 address or prefix (host bits are masked)
 *   [IPv6[/N]][:PORT]           IPv6 address or prefix in brackets
 *   IPv6[/N]                    bare IPv6 address or prefix, no port
 * PORT is 1-65535 and restricts TCP and UDP; a rule without a port allows
 * every protocol to that destination. Returns 0; -EINVAL on a syntax error
 * or -ENOSPC when EGRESS_MAX_RULES (or EGRESS_MAX_NAME_RULES host name
 * rules) are already set, each with one line in err (when err_len > 0)
 * naming the problem and the fix.
 */
int egress_filter_add_rule(struct egress_filter *f, const char *text, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * Adds a resolver that DNS queries (UDP and TCP port 53) may go to and
 * whose answers teach addresses for allowed names. family is AF_INET (addr
 * points to 4 bytes, e.g. struct in_addr) or AF_INET6 (16 bytes). A given
 * resolver passes whatever its range (block_private does not apply to it).
 * Resolvers are also learned from DHCP OFFER/ACK option 6, DHCPv6 option 23
 * and the router advertisement RDNSS option seen in egress_observe_rx(),
 * but only from a server given with egress_filter_add_dhcp_server(), and a
 * learned one is never a multicast, broadcast, unspecified or loopback
 * address, nor (with block_private) one in the private and link-local
 * ranges. Returns 0 (also when already known), -EINVAL for another family
 * or -ENOSPC when EGRESS_MAX_RESOLVERS were given explicitly.
 */
int egress_filter_add_resolver(struct egress_filter *f, int family, const void *addr)
    __attribute__((warn_unused_result));

/*
 * Trusts the DHCP server (AF_INET) or the router and DHCPv6 server
 * (AF_INET6, usually its link-local address) at addr to name resolvers:
 * DHCP, DHCPv6 and router advertisements from any other source teach none
 * (any host that can answer the guest from port 67 could otherwise name its
 * own resolver and teach any address for an allowed name). Without a call,
 * the only resolvers are the given ones. The VMM passes passt's address in
 * user mode (passt answers DHCP from the gateway address) and, on a tap or
 * bridge, a server the user named, or none. Returns 0 (also when already
 * there), -EINVAL for another family or -ENOSPC when
 * EGRESS_MAX_DHCP_SERVERS are set.
 */
int egress_filter_add_dhcp_server(struct egress_filter *f, int family, const void *addr)
    __attribute__((warn_unused_result));

/*
 * Adds a host-loopback exception (--allow-host-loopback[=PORT]): the address
 * where the back-end maps the host's loopback (passt's gateway), for TCP and
 * UDP to port only, or for every protocol with port 0; once per port.
 * family and addr as for egress_filter_add_resolver(). It is not a rule:
 * with block_private and no rule, public destinations still pass. Traffic to
 * the address that no exception (or rule) allows is dropped, even when the
 * address is public. The filter stays inactive without a rule or
 * block_private. Returns 0 (also when already there), -EINVAL for another
 * family or -ENOSPC when EGRESS_MAX_LOOPBACK are set.
 */
int egress_filter_add_host_loopback(struct egress_filter *f, int family, const void *addr,
				    uint16_t port) __attribute__((warn_unused_result));

/*
 * Whether any rule was given or block_private is set; inactive filters pass
 * everything. check_tx, observe_rx and this accept f == NULL (no filter).
 */
bool egress_filter_active(const struct egress_filter *f);

/*
 * Decides whether a frame the guest sent may leave. frame is a private copy
 * (len bytes) of one Ethernet II frame; it is only read. Records the flow
 * when it passes by rule and logs as described above.
 */
enum egress_verdict egress_check_tx(struct egress_filter *f, const uint8_t *frame, size_t len,
				    uint64_t now_ms);

/*
 * Looks at a frame about to be delivered to the guest: learns resolvers
 * (DHCP), addresses of allowed names (DNS answers from a known resolver),
 * opens flows started from outside (TCP SYN, UDP, ICMP echo request to the
 * guest) and ends flows (FIN, RST). Never changes the frame and never drops
 * it: inbound traffic is the backend's business.
 */
void egress_observe_rx(struct egress_filter *f, const uint8_t *frame, size_t len, uint64_t now_ms);

/* Frees the filter. NULL is accepted. */
void egress_filter_destroy(struct egress_filter *f);

#endif
