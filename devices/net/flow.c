/* Bounded, set-associative flow table with lazy idle expiry and TCP FIN/RST tracking. */
#include <string.h>

#include "devices/net/flow.h"

static uint32_t flow_hash(const struct flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h ^ h >> 15;
}

static uint64_t flow_timeout(const struct flow_entry *e)
{
	switch (e->key.proto) {
	case FLOW_PROTO_TCP:
		if (flow_closing(e))
			return FLOW_TCP_CLOSING_MS;
		if ((e->flags & (FLOW_SEEN_TX | FLOW_SEEN_RX)) == (FLOW_SEEN_TX | FLOW_SEEN_RX))
			return FLOW_TCP_ESTABLISHED_MS;
		return FLOW_TCP_OPENING_MS;
	case FLOW_PROTO_UDP:
		return FLOW_UDP_MS;
	case FLOW_PROTO_ICMP:
	case FLOW_PROTO_ICMPV6:
		return FLOW_ICMP_MS;
	default:
		return FLOW_OTHER_MS;
	}
}

/* A clock that goes backwards never expires anything. */
static bool flow_expired(const struct flow_entry *e, uint64_t now_ms)
{
	return now_ms > e->last_ms && now_ms - e->last_ms > flow_timeout(e);
}

void flow_table_reset(struct flow_table *t)
{
	memset(t, 0, sizeof(*t));
}

struct flow_entry *flow_find(struct flow_table *t, const struct flow_key *k, uint64_t now_ms)
{
	struct flow_entry *set = t->set[flow_hash(k) % FLOW_SETS];

	for (unsigned int w = 0; w < FLOW_WAYS; w++) {
		struct flow_entry *e = &set[w];

		if (!e->used || memcmp(&e->key, k, sizeof(*k)) != 0)
			continue;
		if (flow_expired(e, now_ms)) {
			flow_remove(e);
			continue;
		}
		return e;
	}
	return NULL;
}

struct flow_entry *flow_add(struct flow_table *t, const struct flow_key *k, uint64_t now_ms)
{
	struct flow_entry *set = t->set[flow_hash(k) % FLOW_SETS], *victim = NULL;

	for (unsigned int w = 0; w < FLOW_WAYS; w++) {
		struct flow_entry *e = &set[w];

		if (e->used && memcmp(&e->key, k, sizeof(*k)) == 0 && !flow_expired(e, now_ms))
			return e;
		if (!e->used || flow_expired(e, now_ms)) {
			if (!victim || victim->used)
				victim = e;
		} else if (!victim || (victim->used && e->last_ms < victim->last_ms)) {
			victim = e;
		}
	}
	memset(victim, 0, sizeof(*victim));
	victim->key = *k;
	victim->used = true;
	victim->last_ms = now_ms;
	return victim;
}

bool flow_closing(const struct flow_entry *e)
{
	return (e->flags & (FLOW_FIN_TX | FLOW_FIN_RX)) == (FLOW_FIN_TX | FLOW_FIN_RX);
}

void flow_seen(struct flow_entry *e, bool from_guest, uint8_t tcp_flags, uint64_t now_ms)
{
	if (now_ms > e->last_ms)
		e->last_ms = now_ms;
	e->flags |= from_guest ? FLOW_SEEN_TX : FLOW_SEEN_RX;
	if (e->key.proto != FLOW_PROTO_TCP)
		return;
	if (tcp_flags & FLOW_TCP_RST) {
		flow_remove(e);
		return;
	}
	if (tcp_flags & FLOW_TCP_FIN)
		e->flags |= from_guest ? FLOW_FIN_TX : FLOW_FIN_RX;
}

void flow_remove(struct flow_entry *e)
{
	memset(e, 0, sizeof(*e));
}
