/* Egress filter: applies --allow rules to parsed guest frames, tracks flows, learns from DNS. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "devices/net/dns.h"
#include "devices/net/dns_tcp.h"
#include "devices/net/egress.h"
#include "devices/net/egress_link.h"
#include "devices/net/egress_parse.h"
#include "devices/net/egress_rule.h"
#include "devices/net/flow.h"

/*
 * Choices worth knowing:
 * - Fragments (IPv4 MF or offset, IPv6 Fragment header other than an atomic
 *   one) carry no transport header we can trust, so they are judged by
 *   address alone: they pass only when the decision needs no port (a rule
 *   without a port, the bare host-loopback exception, or block_private
 *   alone and a public destination). Guests use path MTU discovery (TCP and
 *   QUIC set DF), so this costs nothing in practice. Fragments never create
 *   or match flows.
 * - Source routes (IPv4 LSRR/SSRR, IPv6 routing header with segments left)
 *   are dropped: the destination we checked is not where the packet goes.
 * - 802.1Q/802.1ad tagged frames and ethertypes other than ARP, IPv4 and
 *   IPv6 are dropped while the filter is active.
 * - ICMP errors from the guest are judged like any other ICMP (by address).
 * - Link-local control traffic passes only in its link-local form: DHCP to
 *   broadcast or a DHCP server seen answering, DHCPv6 to ff02::1:2, MLD and
 *   IGMP with hop limit/TTL 1 to a multicast group, so none of it can be
 *   routed to a chosen host; ARP and NDP only as the exact messages a host
 *   sends (egress_link.c), so they carry no payload of the guest's choice.
 * - DNS over TCP is read only at message boundaries of the reassembled
 *   stream (dns_tcp.c); resolvers are learned only from DHCP servers and
 *   routers the VMM trusts, and never in a range block_private drops.
 * - The host-loopback exception (passt maps its gateway address to the
 *   host's 127.0.0.1) is kept apart from the rules, so that it does not turn
 *   block_private's "every public address" into an allowlist; and its
 *   address never passes merely for being public, or a port list would mean
 *   nothing there.
 * - With block_private and no rule, public destinations pass like rule
 *   matches do (flow recorded, "allowed" logged once), so an audit log of a
 *   run without rules still says where the guest went.
 */

#define IPPROTO_V_IGMP 2

#define PORT_DNS	  53
#define PORT_DHCP_SRV	  67
#define PORT_DHCP_CLI	  68
#define PORT_DHCP6_CLI	  546
#define PORT_DHCP6_SRV	  547
#define LEARNED_RESOLVERS 8 /* from DHCP/DHCPv6/RA, replaced round-robin */
#define DHCP_SERVERS	  4 /* seen answering on port 67, replaced round-robin */

#define LOG_WAYS 4
#define LOG_SETS 64 /* 256 destinations remembered for deduplication */
#define LOG_LINE 384

/* What a log entry is about, besides an IP protocol number (0-255). */
enum log_what {
	LOG_MALFORMED4 = 0x100,
	LOG_MALFORMED6,
	LOG_MALFORMED_ETH,
	LOG_VLAN,
	LOG_ETHERTYPE,
	LOG_ARP,
};

/* A host-loopback exception: TCP/UDP to port at addr, or everything to addr with port 0. */
struct host_loopback {
	struct egress_addr addr;
	uint16_t port;
};

struct log_entry {
	struct egress_addr addr;
	uint16_t what, port;
	uint8_t verdict;
	bool used;
	uint64_t at_ms;
};

_Static_assert(EGRESS_MAX_NAME_RULES <= 64, "DNS learning keeps name rule sets in a uint64_t");
_Static_assert(EGRESS_MAX_RULES <= 256, "learned entries keep the rule index in a uint8_t");
_Static_assert(EGRESS_FLOWS_MAX == FLOW_SETS * FLOW_WAYS, "flow table size");
_Static_assert(EGRESS_LEARNED_MAX == EGRESS_LEARNED_SETS * EGRESS_LEARNED_WAYS,
	       "learned table size");

struct egress_filter {
	struct egress_options opts;
	unsigned int nrules;
	struct egress_rule rules[EGRESS_MAX_RULES];
	/* The NAME and WILDCARD rules (indexes into rules): DNS answers are read only if any. */
	unsigned int nnames;
	uint8_t names[EGRESS_MAX_NAME_RULES];
	struct egress_addr resolvers[EGRESS_MAX_RESOLVERS]; /* given */
	unsigned int nresolvers;
	struct egress_addr learned_resolvers[LEARNED_RESOLVERS];
	unsigned int nlearned_resolvers, next_resolver;
	struct egress_addr trusted_dhcp[EGRESS_MAX_DHCP_SERVERS]; /* may name resolvers */
	unsigned int ntrusted_dhcp;
	struct egress_addr dhcp_servers[DHCP_SERVERS];
	unsigned int ndhcp_servers, next_dhcp_server;
	struct host_loopback host_loopback[EGRESS_MAX_LOOPBACK];
	unsigned int nhost_loopback;
	struct egress_learned_table learned;
	struct flow_table flows;
	struct log_entry log[LOG_SETS][LOG_WAYS];
	unsigned int log_tokens;
	uint64_t log_refill_ms, log_suppressed, log_summary_ms;
	struct dns_answers dns; /* scratch for the response being parsed */
	struct dns_tcp_table dns_tcp;
};

static bool addr_equal(const struct egress_addr *x, const struct egress_addr *y)
{
	return x->family == y->family && memcmp(x->b, y->b, sizeof(x->b)) == 0;
}

static bool addr_in(const struct egress_addr *a, const struct egress_addr *list, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (addr_equal(a, &list[i]))
			return true;
	return false;
}

/* ---- logging ---- */

static const char *proto_name(const struct egress_pkt *pkt, char *buf, size_t len)
{
	switch (pkt->proto) {
	case FLOW_PROTO_TCP:
		return "tcp";
	case FLOW_PROTO_UDP:
		return "udp";
	default:
		if (pkt->icmp)
			return pkt->dst.family == 4 ? "icmp" : "icmp6";
		snprintf(buf, len, "proto %u", pkt->proto);
		return buf;
	}
}

/* Refills EGRESS_LOG_RATE tokens per second and takes one. */
static bool log_take_token(struct egress_filter *f, uint64_t now_ms)
{
	if (now_ms > f->log_refill_ms) {
		uint64_t elapsed = now_ms - f->log_refill_ms;
		uint64_t add = elapsed >= 1000 ? EGRESS_LOG_RATE : elapsed * EGRESS_LOG_RATE / 1000;

		if (f->log_tokens + add >= EGRESS_LOG_RATE) {
			f->log_tokens = EGRESS_LOG_RATE;
			f->log_refill_ms = now_ms;
		} else if (add) {
			f->log_tokens += (unsigned int)add;
			f->log_refill_ms += add * 1000 / EGRESS_LOG_RATE;
		}
	}
	if (f->log_tokens == 0)
		return false;
	f->log_tokens--;
	return true;
}

/*
 * Whether to log this (verdict, what, destination, port) now: not within
 * EGRESS_LOG_WINDOW_MS of the last time, and a rate token is available.
 * Remembers the event either way, and counts the ones the rate cap ate.
 */
static bool log_wanted(struct egress_filter *f, enum egress_verdict v, uint16_t what,
		       const struct egress_addr *addr, uint16_t port, uint64_t now_ms)
{
	uint32_t h = egress_hash(EGRESS_HASH_INIT, addr, sizeof(*addr));
	struct log_entry *set, *victim = NULL;

	if (!f->opts.log)
		return false;
	h = egress_hash(h, &what, sizeof(what));
	h = egress_hash(h, &port, sizeof(port));
	set = f->log[(h ^ h >> 16) % LOG_SETS];
	for (unsigned int w = 0; w < LOG_WAYS; w++) {
		struct log_entry *e = &set[w];

		if (e->used && e->verdict == v && e->what == what && e->port == port &&
		    addr_equal(&e->addr, addr)) {
			if (now_ms >= e->at_ms && now_ms - e->at_ms < EGRESS_LOG_WINDOW_MS)
				return false;
			if (now_ms < e->at_ms) /* the clock went back: stay quiet */
				return false;
			victim = e;
			break;
		}
		if (!victim || (victim->used && (!e->used || e->at_ms < victim->at_ms)))
			victim = e;
	}
	victim->addr = *addr;
	victim->what = what;
	victim->port = port;
	victim->verdict = (uint8_t)v;
	victim->used = true;
	victim->at_ms = now_ms;
	if (!log_take_token(f, now_ms)) {
		f->log_suppressed++;
		return false;
	}
	return true;
}

/* Emits a line, after a summary of the suppressed ones (at most one summary per second). */
static void log_emit(struct egress_filter *f, const char *line, uint64_t now_ms)
{
	if (f->log_suppressed && (!f->log_summary_ms || now_ms < f->log_summary_ms ||
				  now_ms - f->log_summary_ms >= 1000)) {
		char summary[128];

		snprintf(summary, sizeof(summary),
			 "egress: %" PRIu64 " more log lines suppressed (at most %d lines/s)",
			 f->log_suppressed, EGRESS_LOG_RATE);
		f->log_suppressed = 0;
		f->log_summary_ms = now_ms;
		f->opts.log(f->opts.log_ctx, summary);
	}
	f->opts.log(f->opts.log_ctx, line);
}

/* A frame that is not an IP packet we could look into. */
static void log_frame(struct egress_filter *f, enum log_what what, uint16_t ethertype,
		      uint64_t now_ms)
{
	static const struct egress_addr none;
	char line[LOG_LINE];

	if (!log_wanted(f, EGRESS_DROP, (uint16_t)what, &none,
			what == LOG_ETHERTYPE ? ethertype : 0, now_ms))
		return;
	switch (what) {
	case LOG_MALFORMED4:
	case LOG_MALFORMED6:
		snprintf(line, sizeof(line), "egress: dropped malformed %s packet",
			 what == LOG_MALFORMED4 ? "IPv4" : "IPv6");
		break;
	case LOG_MALFORMED_ETH:
		snprintf(line, sizeof(line), "egress: dropped truncated Ethernet frame");
		break;
	case LOG_VLAN:
		snprintf(line, sizeof(line), "egress: dropped VLAN-tagged frame");
		break;
	case LOG_ARP:
		snprintf(
		    line, sizeof(line),
		    "egress: dropped ARP packet (not a plain request or reply from the guest)");
		break;
	default:
		snprintf(line, sizeof(line), "egress: dropped frame with ethertype 0x%04x",
			 ethertype);
		break;
	}
	log_emit(f, line, now_ms);
}

/* "egress: allowed tcp 1.2.3.4:443 (rule ...)" or "egress: dropped udp 8.8.8.8:53[ (why)]". */
static void log_packet(struct egress_filter *f, enum egress_verdict v, const struct egress_pkt *pkt,
		       const char *why, uint64_t now_ms)
{
	bool has_port = pkt->ports && !pkt->icmp && !pkt->fragment;
	uint16_t port = has_port ? pkt->dport : 0;
	char line[LOG_LINE], dst[64], proto[16];

	if (!log_wanted(f, v, pkt->proto, &pkt->dst, port, now_ms))
		return;
	egress_addr_format(&pkt->dst, port, dst, sizeof(dst));
	snprintf(line, sizeof(line), "egress: %s %s %s%s%s%s",
		 v == EGRESS_PASS ? "allowed" : "dropped", proto_name(pkt, proto, sizeof(proto)),
		 dst, why ? " (" : "", why ? why : "", why ? ")" : "");
	log_emit(f, line, now_ms);
}

/* ---- decisions ---- */

static bool is_resolver(const struct egress_filter *f, const struct egress_addr *a)
{
	return addr_in(a, f->resolvers, f->nresolvers) ||
	       addr_in(a, f->learned_resolvers, f->nlearned_resolvers);
}

static bool is_dhcp6_servers_group(const struct egress_addr *a)
{
	static const uint8_t all_dhcp[16] = {0xff, 0x02, [13] = 0x01, [14] = 0x00, [15] = 0x02};

	return a->family == 6 && memcmp(a->b, all_dhcp, 16) == 0;
}

/* Link-local control traffic and DNS to a resolver: passes whatever the rules say. */
static bool egress_infrastructure(const struct egress_filter *f, const struct egress_pkt *p)
{
	static const struct egress_addr bcast = {4, {255, 255, 255, 255}};
	bool udp = p->proto == FLOW_PROTO_UDP, tcp = p->proto == FLOW_PROTO_TCP;

	if (p->fragment)
		return false;
	if (p->dst.family == 4 && p->proto == IPPROTO_V_IGMP)
		return p->ttl == 1 && egress_addr_is_multicast(&p->dst);
	if (udp && p->dst.family == 4 && p->sport == PORT_DHCP_CLI && p->dport == PORT_DHCP_SRV)
		return addr_equal(&p->dst, &bcast) ||
		       addr_in(&p->dst, f->dhcp_servers, f->ndhcp_servers);
	if (udp && p->sport == PORT_DHCP6_CLI && p->dport == PORT_DHCP6_SRV)
		return is_dhcp6_servers_group(&p->dst);
	if (p->icmp && p->dst.family == 6) {
		/* MLD (RFC 2710 §3, RFC 3810 §5); neighbour discovery is egress_link.c's. */
		if ((p->icmp_type >= 130 && p->icmp_type <= 132) || p->icmp_type == 143)
			return p->ttl == 1 && egress_addr_is_multicast(&p->dst);
		return false;
	}
	return (udp || tcp) && p->dport == PORT_DNS && is_resolver(f, &p->dst);
}

/* Whether dport is a TCP or UDP port a port restriction can judge. */
static bool ports_known(const struct egress_pkt *p)
{
	return p->ports && !p->icmp && !p->fragment &&
	       (p->proto == FLOW_PROTO_TCP || p->proto == FLOW_PROTO_UDP);
}

/* The rule allowing this packet's destination, or -1. */
static int egress_match(const struct egress_filter *f, const struct egress_pkt *p, uint64_t now_ms)
{
	bool known = ports_known(p);

	for (unsigned int i = 0; i < f->nrules; i++)
		if (egress_rule_contains(&f->rules[i], &p->dst) &&
		    egress_rule_port_ok(&f->rules[i], known, p->dport))
			return (int)i;
	return egress_rule_learned_match(&f->learned, f->rules, &p->dst, known, p->dport, now_ms);
}

/* Whether p goes to the host-loopback address; *allowed: an exception admits it. */
static bool egress_host_loopback(const struct egress_filter *f, const struct egress_pkt *p,
				 bool *allowed)
{
	bool found = false;

	*allowed = false;
	for (unsigned int i = 0; i < f->nhost_loopback; i++) {
		const struct host_loopback *h = &f->host_loopback[i];

		if (!addr_equal(&h->addr, &p->dst))
			continue;
		found = true;
		if (!h->port || (ports_known(p) && p->dport == h->port))
			*allowed = true;
	}
	return found;
}

/* Lets p through, recording its flow (fragments have none), and logs it. */
static enum egress_verdict egress_pass(struct egress_filter *f, const struct egress_pkt *p,
				       const struct flow_key *key, const char *why, uint64_t now_ms)
{
	if (!p->fragment)
		flow_seen(flow_add(&f->flows, key, now_ms), true, p->tcp_flags, now_ms);
	log_packet(f, EGRESS_PASS, p, why, now_ms);
	return EGRESS_PASS;
}

/* What the drop line says in parentheses, if anything. */
static const char *egress_drop_reason(const struct egress_filter *f, const struct egress_pkt *p,
				      bool host_loopback)
{
	if (host_loopback)
		return p->fragment ? "IP fragment" : "host loopback: port not allowed";
	if (f->nrules == 0)
		return "private or link-local address";
	return p->fragment ? "IP fragment" : NULL;
}

/* The flow key of a packet, seen from the guest: tx packets start there, rx ones end there. */
static void flow_key_of(const struct egress_pkt *p, bool from_guest, struct flow_key *k)
{
	const struct egress_addr *guest = from_guest ? &p->src : &p->dst;
	const struct egress_addr *remote = from_guest ? &p->dst : &p->src;

	memset(k, 0, sizeof(*k));
	memcpy(k->guest, guest->b, 16);
	memcpy(k->remote, remote->b, 16);
	k->family = p->dst.family;
	k->proto = p->proto;
	if (p->ports) {
		k->guest_port = from_guest ? p->sport : p->dport;
		k->remote_port = from_guest ? p->dport : p->sport;
	}
}

static enum egress_verdict egress_decide(struct egress_filter *f, const struct egress_pkt *p,
					 uint64_t now_ms)
{
	char why[EGRESS_RULE_TEXT_MAX + 8];
	struct flow_key key;
	bool loopback, loopback_ok;
	int rule;

	if (egress_link_is_ndp(p)) {
		/* Passes whatever the rules say, so only in the exact form a host sends. */
		if (egress_link_ndp_ok(p))
			return EGRESS_PASS;
		log_packet(f, EGRESS_DROP, p, "not plain neighbour discovery", now_ms);
		return EGRESS_DROP;
	}
	if (egress_infrastructure(f, p))
		return EGRESS_PASS;
	if (p->source_route) {
		log_packet(f, EGRESS_DROP, p, "source-routed", now_ms);
		return EGRESS_DROP;
	}
	flow_key_of(p, true, &key);
	if (!p->fragment) {
		struct flow_entry *e = flow_find(&f->flows, &key, now_ms);

		/* A new connection reusing a closing one's ports needs a rule again. */
		if (e && p->proto == FLOW_PROTO_TCP && flow_closing(e) &&
		    (p->tcp_flags & (FLOW_TCP_SYN | FLOW_TCP_ACK)) == FLOW_TCP_SYN) {
			flow_remove(e);
			e = NULL;
		}
		if (e) {
			flow_seen(e, true, p->tcp_flags, now_ms);
			return EGRESS_PASS;
		}
	}
	rule = egress_match(f, p, now_ms);
	if (rule >= 0) {
		snprintf(why, sizeof(why), "rule %s", f->rules[rule].text);
		return egress_pass(f, p, &key, why, now_ms);
	}
	/* The host-loopback exception is not a rule: without rules, public addresses pass. */
	loopback = egress_host_loopback(f, p, &loopback_ok);
	if (loopback_ok)
		return egress_pass(f, p, &key, "host loopback", now_ms);
	if (f->nrules == 0 && !loopback && !egress_addr_is_private(&p->dst))
		return egress_pass(f, p, &key, NULL, now_ms);
	log_packet(f, EGRESS_DROP, p, egress_drop_reason(f, p, loopback), now_ms);
	return EGRESS_DROP;
}

enum egress_verdict egress_check_tx(struct egress_filter *f, const uint8_t *frame, size_t len,
				    uint64_t now_ms)
{
	struct egress_pkt pkt;
	uint16_t ethertype;

	if (!egress_filter_active(f))
		return EGRESS_PASS;
	switch (egress_parse(frame, len, &pkt, &ethertype)) {
	case EGRESS_PARSE_IP:
		return egress_decide(f, &pkt, now_ms);
	case EGRESS_PARSE_ARP:
		if (egress_link_arp_ok(frame, len, f->opts.guest_mac))
			return EGRESS_PASS;
		log_frame(f, LOG_ARP, ethertype, now_ms);
		return EGRESS_DROP;
	case EGRESS_PARSE_VLAN:
		log_frame(f, LOG_VLAN, ethertype, now_ms);
		return EGRESS_DROP;
	case EGRESS_PARSE_OTHER:
		log_frame(f, LOG_ETHERTYPE, ethertype, now_ms);
		return EGRESS_DROP;
	case EGRESS_PARSE_MALFORMED:
	default:
		log_frame(f,
			  ethertype == EGRESS_ETH_P_IPV4   ? LOG_MALFORMED4
			  : ethertype == EGRESS_ETH_P_IPV6 ? LOG_MALFORMED6
							   : LOG_MALFORMED_ETH,
			  ethertype, now_ms);
		return EGRESS_DROP;
	}
}

/* ---- learning from what the guest receives ---- */

/* Whether a is no host's unicast address: unspecified, loopback, multicast or broadcast. */
static bool addr_not_unicast(const struct egress_addr *a)
{
	static const uint8_t zero[12];

	if (egress_addr_is_multicast(a))
		return true;
	if (a->family == 4)
		return a->b[0] == 0 || a->b[0] == 127;
	return memcmp(a->b, zero, sizeof(zero)) == 0 && a->b[12] == 0 && a->b[13] == 0 &&
	       a->b[14] == 0 && a->b[15] <= 1;
}

/*
 * A resolver a trusted server named. Only a given one (--dns, passt's) may
 * sit in a range block_private drops: a learned one there would open, say,
 * the metadata service or the host's LAN on port 53.
 */
static void learn_resolver(struct egress_filter *f, uint8_t family, const uint8_t *b)
{
	struct egress_addr a;

	egress_addr_set(&a, family, b);
	if (is_resolver(f, &a) || addr_not_unicast(&a) ||
	    (f->opts.block_private && egress_addr_is_private(&a)))
		return;
	f->learned_resolvers[f->next_resolver] = a;
	f->next_resolver = (f->next_resolver + 1) % LEARNED_RESOLVERS;
	if (f->nlearned_resolvers < LEARNED_RESOLVERS)
		f->nlearned_resolvers++;
}

static void learn_dhcp_server(struct egress_filter *f, const struct egress_addr *a)
{
	if (egress_addr_is_multicast(a) || addr_in(a, f->dhcp_servers, f->ndhcp_servers))
		return;
	f->dhcp_servers[f->next_dhcp_server] = *a;
	f->next_dhcp_server = (f->next_dhcp_server + 1) % DHCP_SERVERS;
	if (f->ndhcp_servers < DHCP_SERVERS)
		f->ndhcp_servers++;
}

/* Bitmask over f->names of the name rules that allow name. */
static uint64_t rules_naming(const struct egress_filter *f, const char *name)
{
	uint64_t mask = 0;

	for (unsigned int i = 0; i < f->nnames; i++)
		if (egress_rule_names(&f->rules[f->names[i]], name))
			mask |= 1ULL << i;
	return mask;
}

/* GUEST (backend): msg is a DNS response from a known resolver; dns.c checks every byte. */
static void learn_dns(struct egress_filter *f, const uint8_t *msg, size_t len, uint64_t now_ms)
{
	uint64_t mask[DNS_MAX_RRS];

	if (dns_parse_response(msg, len, &f->dns))
		return;
	for (unsigned int i = 0; i < f->dns.count; i++)
		mask[i] = rules_naming(f, f->dns.rr[i].owner);
	dns_follow_cnames(&f->dns, mask);
	for (unsigned int i = 0; i < f->dns.count; i++) {
		const struct dns_rr *rr = &f->dns.rr[i];
		uint64_t ttl_ms = (uint64_t)rr->ttl * 1000;
		struct egress_addr a;

		if (!mask[i] || (rr->type != DNS_TYPE_A && rr->type != DNS_TYPE_AAAA))
			continue;
		egress_addr_set(&a, rr->type == DNS_TYPE_A ? 4 : 6, rr->addr);
		if (ttl_ms < EGRESS_DNS_MIN_TTL_MS)
			ttl_ms = EGRESS_DNS_MIN_TTL_MS;
		for (unsigned int n = 0; n < f->nnames; n++)
			if (mask[i] & (1ULL << n))
				egress_rule_learn(&f->learned, &a, f->names[n], now_ms + ttl_ms,
						  now_ms);
	}
}

struct learn_ctx {
	struct egress_filter *f;
	uint64_t now_ms;
};

/* dns_tcp's callback: one whole message of a resolver's TCP stream. */
static void learn_dns_message(void *ctx, const uint8_t *msg, size_t len)
{
	struct learn_ctx *c = ctx;

	learn_dns(c->f, msg, len, c->now_ms);
}

/* Resolvers (DHCP, DHCPv6, RA RDNSS), DHCP servers and DNS answers. */
static void learn_from_rx(struct egress_filter *f, const struct egress_pkt *p, uint64_t now_ms)
{
	bool trusted = addr_in(&p->src, f->trusted_dhcp, f->ntrusted_dhcp);
	uint8_t v6[LEARNED_RESOLVERS][16];
	unsigned int n;

	if (p->proto == FLOW_PROTO_UDP && p->src.family == 4 && p->sport == PORT_DHCP_SRV &&
	    p->dport == PORT_DHCP_CLI) {
		uint8_t v4[LEARNED_RESOLVERS][4];
		int found =
		    dns_servers_from_dhcp4(p->payload, p->payload_len, v4, LEARNED_RESOLVERS);

		for (int i = 0; trusted && i < found; i++)
			learn_resolver(f, 4, v4[i]);
		if (found >= 0)
			learn_dhcp_server(f, &p->src);
		return;
	}
	if (p->proto == FLOW_PROTO_UDP && p->src.family == 6 && p->sport == PORT_DHCP6_SRV &&
	    p->dport == PORT_DHCP6_CLI) {
		n = dns_servers_from_dhcp6(p->payload, p->payload_len, v6, LEARNED_RESOLVERS);
		for (unsigned int i = 0; trusted && i < n; i++)
			learn_resolver(f, 6, v6[i]);
		return;
	}
	if (p->icmp && p->src.family == 6 && p->icmp_type == 134 && p->ttl == 255) {
		if (!trusted)
			return;
		n = dns_servers_from_ra(p->l4, p->l4_len, v6, LEARNED_RESOLVERS);
		for (unsigned int i = 0; i < n; i++)
			learn_resolver(f, 6, v6[i]);
		return;
	}
	if (!f->nnames || p->sport != PORT_DNS || !is_resolver(f, &p->src))
		return;
	if (p->proto == FLOW_PROTO_UDP) {
		learn_dns(f, p->payload, p->payload_len, now_ms);
	} else if (p->proto == FLOW_PROTO_TCP) {
		/* Read only at message boundaries of the stream (dns_tcp.h says why). */
		struct learn_ctx ctx = {f, now_ms};
		struct flow_key key;

		flow_key_of(p, false, &key);
		dns_tcp_segment(&f->dns_tcp, &key, p->tcp_flags, p->tcp_seq, p->payload,
				p->payload_len, now_ms, learn_dns_message, &ctx);
	}
}

/* Whether an unknown packet to the guest opens a flow its replies may use. */
static bool opens_inbound_flow(const struct egress_filter *f, const struct egress_pkt *p)
{
	if (egress_addr_is_multicast(&p->dst))
		return false;
	if (p->proto == FLOW_PROTO_TCP)
		return (p->tcp_flags & (FLOW_TCP_SYN | FLOW_TCP_ACK | FLOW_TCP_RST)) ==
		       FLOW_TCP_SYN;
	if (p->proto == FLOW_PROTO_UDP)
		return p->sport != PORT_DHCP_SRV && p->sport != PORT_DHCP6_SRV &&
		       !(p->sport == PORT_DNS && is_resolver(f, &p->src));
	return p->ports && p->icmp && (p->icmp_type == 8 || p->icmp_type == 128);
}

void egress_observe_rx(struct egress_filter *f, const uint8_t *frame, size_t len, uint64_t now_ms)
{
	struct egress_pkt pkt;
	struct flow_key key;
	struct flow_entry *e;
	uint16_t ethertype;

	if (!egress_filter_active(f) ||
	    egress_parse(frame, len, &pkt, &ethertype) != EGRESS_PARSE_IP || pkt.fragment)
		return;
	learn_from_rx(f, &pkt, now_ms);
	flow_key_of(&pkt, false, &key);
	e = flow_find(&f->flows, &key, now_ms);
	if (!e && opens_inbound_flow(f, &pkt))
		e = flow_add(&f->flows, &key, now_ms);
	if (e)
		flow_seen(e, false, pkt.tcp_flags, now_ms);
}

/* ---- lifetime and configuration ---- */

int egress_filter_create(struct egress_filter **out, const struct egress_options *opts)
{
	struct egress_filter *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	if (opts)
		f->opts = *opts;
	flow_table_reset(&f->flows);
	f->log_tokens = EGRESS_LOG_RATE;
	*out = f;
	return 0;
}

int egress_filter_add_rule(struct egress_filter *f, const char *text, char *err, size_t err_len)
{
	struct egress_rule rule;

	if (egress_rule_parse(text, &rule, err, err_len))
		return -EINVAL;
	if (f->nrules == EGRESS_MAX_RULES) {
		if (err && err_len)
			snprintf(err, err_len,
				 "--allow '%.64s': too many --allow rules (at most %d); cover "
				 "several addresses with one CIDR prefix or *.domain rule",
				 text, EGRESS_MAX_RULES);
		return -ENOSPC;
	}
	if (rule.kind != EGRESS_RULE_CIDR) {
		if (f->nnames == EGRESS_MAX_NAME_RULES) {
			if (err && err_len)
				snprintf(err, err_len,
					 "--allow '%.64s': too many host name rules (at most %d); "
					 "cover several names with one *.domain rule",
					 text, EGRESS_MAX_NAME_RULES);
			return -ENOSPC;
		}
		f->names[f->nnames++] = (uint8_t)f->nrules;
	}
	f->rules[f->nrules++] = rule;
	return 0;
}

int egress_filter_add_resolver(struct egress_filter *f, int family, const void *addr)
{
	struct egress_addr a;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	egress_addr_set(&a, family == AF_INET ? 4 : 6, addr);
	if (addr_in(&a, f->resolvers, f->nresolvers))
		return 0;
	if (f->nresolvers == EGRESS_MAX_RESOLVERS)
		return -ENOSPC;
	f->resolvers[f->nresolvers++] = a;
	return 0;
}

int egress_filter_add_dhcp_server(struct egress_filter *f, int family, const void *addr)
{
	struct egress_addr a;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	egress_addr_set(&a, family == AF_INET ? 4 : 6, addr);
	if (addr_in(&a, f->trusted_dhcp, f->ntrusted_dhcp))
		return 0;
	if (f->ntrusted_dhcp == EGRESS_MAX_DHCP_SERVERS)
		return -ENOSPC;
	f->trusted_dhcp[f->ntrusted_dhcp++] = a;
	return 0;
}

int egress_filter_add_host_loopback(struct egress_filter *f, int family, const void *addr,
				    uint16_t port)
{
	struct host_loopback h = {.port = port};

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	egress_addr_set(&h.addr, family == AF_INET ? 4 : 6, addr);
	for (unsigned int i = 0; i < f->nhost_loopback; i++)
		if (addr_equal(&f->host_loopback[i].addr, &h.addr) &&
		    f->host_loopback[i].port == port)
			return 0;
	if (f->nhost_loopback == EGRESS_MAX_LOOPBACK)
		return -ENOSPC;
	f->host_loopback[f->nhost_loopback++] = h;
	return 0;
}

bool egress_filter_active(const struct egress_filter *f)
{
	return f && (f->nrules > 0 || f->opts.block_private);
}

void egress_filter_destroy(struct egress_filter *f)
{
	free(f);
}
