/* DNS over TCP from resolvers: each connection's byte stream, so answers are read only whole. */
#ifndef MICROVMM_DEVICES_NET_DNS_TCP_H
#define MICROVMM_DEVICES_NET_DNS_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "devices/net/flow.h"

/*
 * Internal to the egress filter, which owns the table and serializes all
 * calls; nothing allocates. DNS over TCP is a byte stream of
 * [be16 length][message] (RFC 1035 §4.2.2, RFC 7766 §8) that the sender
 * cuts into segments as it likes; a guest steers that cut through its MSS
 * and window, so a segment may start inside a message (in a TXT record the
 * guest's own domain filled). Answers are therefore read only at true
 * message boundaries of the stream, rebuilt from sequence numbers:
 *
 * - A stream starts at the resolver's SYN-ACK (its first byte is ISN + 1).
 *   Segments of a connection whose SYN-ACK we did not see teach nothing.
 * - Bytes are taken strictly in order. A segment after a gap is ignored
 *   (the stream waits for the missing bytes; if they never come, it
 *   teaches nothing more); bytes already taken are compared with the copy
 *   still buffered, and a mismatch ends the stream's learning for good.
 * - A message longer than DNS_TCP_MSG_MAX is skipped (its bytes counted,
 *   not kept) and learning resumes at the next boundary.
 * - FIN or RST from the resolver, or a new SYN-ACK, ends or restarts the
 *   stream. The table holds DNS_TCP_STREAMS streams; a new one takes a
 *   free or idle (DNS_TCP_IDLE_MS) slot, else the least recently used.
 */

#define DNS_TCP_STREAMS 16
#define DNS_TCP_MSG_MAX 4096 /* longest message kept whole; answers for A/AAAA fit */
#define DNS_TCP_IDLE_MS (120ULL * 1000)

struct dns_tcp_stream {
	struct flow_key key; /* seen from the guest, as in flow.h */
	uint64_t last_ms;
	uint32_t next_seq; /* sequence number of the resolver's next byte */
	uint32_t skip;	   /* bytes of an over-long message still to pass over */
	uint32_t len;	   /* bytes of the current [length][message] in buf */
	uint8_t used;
	uint8_t buf[2 + DNS_TCP_MSG_MAX];
};

struct dns_tcp_table {
	struct dns_tcp_stream s[DNS_TCP_STREAMS];
};

/* Called with each whole message (len may be 0); msg is valid during the call only. */
typedef void (*dns_tcp_msg_fn)(void *ctx, const uint8_t *msg, size_t len);

/* Forgets every stream. */
void dns_tcp_reset(struct dns_tcp_table *t);

/*
 * A segment from a resolver's port 53 to the guest (key seen from the
 * guest): flags and seq from its TCP header, data its payload. Starts the
 * stream on SYN-ACK, follows it as above, and calls fn for each message
 * completed in order.
 */
void dns_tcp_segment(struct dns_tcp_table *t, const struct flow_key *key, uint8_t flags,
		     uint32_t seq, const uint8_t *data, size_t len, uint64_t now_ms,
		     dns_tcp_msg_fn fn, void *ctx);

#endif
