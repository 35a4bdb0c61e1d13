/* The egress filter's flow table: connections already allowed keep passing. */
#ifndef MICROVMM_DEVICES_NET_FLOW_H
#define MICROVMM_DEVICES_NET_FLOW_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Internal to the egress filter, which owns the table and serializes all
 * calls. A fixed set-associative table (FLOW_SETS x FLOW_WAYS entries): a
 * new flow takes a free, ended or idle-expired way of its set, else the way
 * used least recently. Expiry is lazy (checked when a set is looked at);
 * time comes only from now_ms.
 *
 * Idle timeouts: TCP FLOW_TCP_OPENING_MS until both directions were seen,
 * then FLOW_TCP_ESTABLISHED_MS; after a FIN in each direction
 * FLOW_TCP_CLOSING_MS (so the last ACKs still pass); an RST ends the flow at
 * once. UDP FLOW_UDP_MS, ICMP echo FLOW_ICMP_MS, other protocols
 * FLOW_OTHER_MS.
 */

#define FLOW_WAYS 8
#define FLOW_SETS 512 /* FLOW_SETS * FLOW_WAYS == EGRESS_FLOWS_MAX */

#define FLOW_TCP_OPENING_MS	(120ULL * 1000)
#define FLOW_TCP_ESTABLISHED_MS (2ULL * 3600 * 1000)
#define FLOW_TCP_CLOSING_MS	(10ULL * 1000)
#define FLOW_UDP_MS		(120ULL * 1000)
#define FLOW_ICMP_MS		(30ULL * 1000)
#define FLOW_OTHER_MS		(120ULL * 1000)

#define FLOW_PROTO_ICMP	  1
#define FLOW_PROTO_TCP	  6
#define FLOW_PROTO_UDP	  17
#define FLOW_PROTO_ICMPV6 58

/* TCP flag bits (RFC 9293 §3.1). */
#define FLOW_TCP_FIN 0x01
#define FLOW_TCP_SYN 0x02
#define FLOW_TCP_RST 0x04
#define FLOW_TCP_ACK 0x10

/*
 * Seen from the guest: guest/guest_port is the guest's end. ICMP echo uses
 * the identifier as guest_port and remote_port. Zero the whole key (padding
 * included) before filling it: keys are compared and hashed as bytes.
 */
struct flow_key {
	uint8_t guest[16];
	uint8_t remote[16];
	uint16_t guest_port, remote_port;
	uint8_t family, proto;
	uint8_t pad[2];
};
_Static_assert(sizeof(struct flow_key) == 40, "flow_key has no hidden padding");

#define FLOW_SEEN_TX 0x01 /* a packet from the guest */
#define FLOW_SEEN_RX 0x02 /* a packet to the guest */
#define FLOW_FIN_TX  0x04
#define FLOW_FIN_RX  0x08

struct flow_entry {
	struct flow_key key;
	uint64_t last_ms;
	uint8_t flags;
	bool used;
};

struct flow_table {
	struct flow_entry set[FLOW_SETS][FLOW_WAYS];
};

/* Empties the table. */
void flow_table_reset(struct flow_table *t);

/* The live flow with this key, or NULL (an expired one is freed on the way). */
struct flow_entry *flow_find(struct flow_table *t, const struct flow_key *k, uint64_t now_ms);

/* Finds or creates the flow (evicting as described above); never NULL. */
struct flow_entry *flow_add(struct flow_table *t, const struct flow_key *k, uint64_t now_ms);

/*
 * Notes a packet of flow e (from the guest when from_guest): refreshes it
 * and follows TCP FIN/RST. Frees e on RST; e must not be used afterwards.
 */
void flow_seen(struct flow_entry *e, bool from_guest, uint8_t tcp_flags, uint64_t now_ms);

/* Whether a TCP flow has seen a FIN in both directions (it is lingering). */
bool flow_closing(const struct flow_entry *e);

/* Ends the flow now. */
void flow_remove(struct flow_entry *e);

#endif
