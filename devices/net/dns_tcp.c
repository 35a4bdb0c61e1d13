/* Reassembles DNS-over-TCP answer streams in order, with a bounded buffer per connection. */
#include <stdbool.h>
#include <string.h>

#include "devices/net/dns_tcp.h"

static struct dns_tcp_stream *dns_tcp_find(struct dns_tcp_table *t, const struct flow_key *k)
{
	for (unsigned int i = 0; i < DNS_TCP_STREAMS; i++)
		if (t->s[i].used && memcmp(&t->s[i].key, k, sizeof(*k)) == 0)
			return &t->s[i];
	return NULL;
}

static bool dns_tcp_idle(const struct dns_tcp_stream *s, uint64_t now_ms)
{
	return now_ms > s->last_ms && now_ms - s->last_ms > DNS_TCP_IDLE_MS;
}

/* The slot for a new stream: its old one, a free or idle one, else the least recently used. */
static struct dns_tcp_stream *dns_tcp_slot(struct dns_tcp_table *t, const struct flow_key *k,
					   uint64_t now_ms)
{
	struct dns_tcp_stream *victim = dns_tcp_find(t, k);

	if (victim)
		return victim;
	victim = &t->s[0];
	for (unsigned int i = 0; i < DNS_TCP_STREAMS; i++) {
		struct dns_tcp_stream *s = &t->s[i];

		if (!s->used || dns_tcp_idle(s, now_ms))
			return s;
		if (s->last_ms < victim->last_ms)
			victim = s;
	}
	return victim;
}

void dns_tcp_reset(struct dns_tcp_table *t)
{
	memset(t, 0, sizeof(*t));
}

/*
 * Whether the first n bytes of data, which lie back bytes before next_seq,
 * agree with what the buffer still holds of them (older bytes were parsed
 * and let go; an honest sender repeats them unchanged anyway).
 */
static bool dns_tcp_consistent(const struct dns_tcp_stream *s, uint32_t back, const uint8_t *data,
			       size_t n)
{
	for (size_t j = 0; j < n; j++) {
		uint32_t from_end = back - (uint32_t)j; /* 1 .. back */

		if (from_end <= s->len && data[j] != s->buf[s->len - from_end])
			return false;
	}
	return true;
}

/* Takes n in-order bytes, calling fn at each message end. */
static void dns_tcp_take(struct dns_tcp_stream *s, const uint8_t *data, size_t n, dns_tcp_msg_fn fn,
			 void *ctx)
{
	s->next_seq += (uint32_t)n;
	while (n) {
		size_t want, take;

		if (s->skip) {
			take = n < s->skip ? n : s->skip;
			s->skip -= (uint32_t)take;
		} else {
			/* The length prefix first, then the message it announces. */
			want = s->len < 2 ? 2 : 2 + (size_t)(s->buf[0] << 8 | s->buf[1]);
			take = n < want - s->len ? n : want - s->len;
			memcpy(s->buf + s->len, data, take);
			s->len += (uint32_t)take;
		}
		data += take;
		n -= take;
		if (s->skip || s->len < 2)
			continue;
		want = (size_t)(s->buf[0] << 8 | s->buf[1]);
		if (want > DNS_TCP_MSG_MAX) {
			s->skip = (uint32_t)want;
			s->len = 0;
		} else if (s->len == 2 + want) {
			fn(ctx, s->buf + 2, want);
			s->len = 0;
		}
	}
}

/* GUEST (backend): sequence numbers and lengths are checked before any byte is kept. */
void dns_tcp_segment(struct dns_tcp_table *t, const struct flow_key *key, uint8_t flags,
		     uint32_t seq, const uint8_t *data, size_t len, uint64_t now_ms,
		     dns_tcp_msg_fn fn, void *ctx)
{
	struct dns_tcp_stream *s;
	uint32_t back;

	if ((flags & (FLOW_TCP_SYN | FLOW_TCP_ACK | FLOW_TCP_RST)) ==
	    (FLOW_TCP_SYN | FLOW_TCP_ACK)) {
		s = dns_tcp_slot(t, key, now_ms);
		memset(s, 0, sizeof(*s));
		s->key = *key;
		s->used = 1;
		s->next_seq = seq + 1; /* the SYN takes one sequence number (RFC 9293 §3.4) */
		seq++;
	} else {
		s = dns_tcp_find(t, key);
	}
	if (!s)
		return;
	if (flags & FLOW_TCP_RST) {
		memset(s, 0, sizeof(*s));
		return;
	}
	s->last_ms = now_ms > s->last_ms ? now_ms : s->last_ms;
	back = s->next_seq - seq; /* modulo 2^32: how far this segment starts before next_seq */
	if (len && back > 0 && back <= INT32_MAX) {
		size_t old = len < back ? len : back;

		if (!dns_tcp_consistent(s, back, data, old)) {
			memset(s, 0, sizeof(*s));
			return;
		}
		data += old;
		len -= old;
	} else if (len && back != 0) {
		return; /* after a gap: out of order, not learned from */
	}
	if (len)
		dns_tcp_take(s, data, len, fn, ctx);
	if (flags & FLOW_TCP_FIN)
		memset(s, 0, sizeof(*s));
}
