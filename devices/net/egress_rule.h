/* --allow rules: parsing, address ranges, and the addresses DNS answers taught for names. */
#ifndef MICROVMM_DEVICES_NET_EGRESS_RULE_H
#define MICROVMM_DEVICES_NET_EGRESS_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Internal to the egress filter (egress.c owns every object here and
 * serializes all calls). Nothing allocates.
 */

/* An IPv4 (family 4, bytes 0-3, rest zero) or IPv6 (family 6) address. */
struct egress_addr {
	uint8_t family;
	uint8_t b[16];
};

enum egress_rule_kind {
	EGRESS_RULE_CIDR,     /* addr/prefix */
	EGRESS_RULE_NAME,     /* exactly name */
	EGRESS_RULE_WILDCARD, /* any subdomain of name */
};

#define EGRESS_RULE_NAME_MAX 253 /* RFC 1035 §2.3.4: 255 wire bytes */
#define EGRESS_RULE_TEXT_MAX 272 /* canonical text: "*." + name + ":65535" or "[v6/128]:65535" */

struct egress_rule {
	enum egress_rule_kind kind;
	uint16_t port; /* 0: any protocol and port; else TCP/UDP to this port only */
	uint8_t prefix;
	struct egress_addr addr;	     /* CIDR: host bits cleared */
	char name[EGRESS_RULE_NAME_MAX + 1]; /* NAME/WILDCARD: lowercase, no trailing dot */
	char text[EGRESS_RULE_TEXT_MAX];     /* canonical form, for log lines */
};

/*
 * Parses one --allow value (syntax in egress.h). Returns 0, or -EINVAL with
 * one line in err naming the problem and the fix.
 */
int egress_rule_parse(const char *text, struct egress_rule *out, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* Whether a (CIDR) rule's prefix contains a. */
bool egress_rule_contains(const struct egress_rule *r, const struct egress_addr *a);

/* Whether a (NAME or WILDCARD) rule allows the lowercase dotted name. */
bool egress_rule_names(const struct egress_rule *r, const char *name);

/*
 * Whether the rule's port restriction admits a packet: ports_known says the
 * packet is TCP or UDP with a readable header, dport is its destination port.
 */
bool egress_rule_port_ok(const struct egress_rule *r, bool ports_known, uint16_t dport);

/* Sets a to the 4 (family 4) or 16 (family 6) bytes at b, the rest zeroed. */
void egress_addr_set(struct egress_addr *a, uint8_t family, const uint8_t *b);

/* Whether a is in one of the ranges block_private drops (list in egress.h). */
bool egress_addr_is_private(const struct egress_addr *a);

/* Whether a is multicast or the IPv4 limited broadcast address. */
bool egress_addr_is_multicast(const struct egress_addr *a);

/* Formats "1.2.3.4", "1.2.3.4:80", "2001:db8::1" or "[2001:db8::1]:80" (port 0: none). */
void egress_addr_format(const struct egress_addr *a, uint16_t port, char *buf, size_t len);

/*
 * Addresses learned for name rules: a set-associative table keyed by
 * address (EGRESS_LEARNED_SETS x EGRESS_LEARNED_WAYS entries), one entry
 * per (address, rule). A new entry takes a free or expired way of its set,
 * else the way that expires first.
 */
#define EGRESS_LEARNED_WAYS 8
#define EGRESS_LEARNED_SETS 128

struct egress_learned {
	struct egress_addr addr;
	uint8_t rule; /* index into the filter's rules */
	bool used;
	uint64_t expires_ms;
};

struct egress_learned_table {
	struct egress_learned set[EGRESS_LEARNED_SETS][EGRESS_LEARNED_WAYS];
};

/* Allows a for rules[rule] until expires_ms (an existing entry keeps the later expiry). */
void egress_rule_learn(struct egress_learned_table *t, const struct egress_addr *a,
		       unsigned int rule, uint64_t expires_ms, uint64_t now_ms);

/*
 * The first rule that a live learned entry for a allows with this port
 * restriction, or -1.
 */
int egress_rule_learned_match(const struct egress_learned_table *t, const struct egress_rule *rules,
			      const struct egress_addr *a, bool ports_known, uint16_t dport,
			      uint64_t now_ms);

/* FNV-1a over n bytes, continuing from h (start with EGRESS_HASH_INIT). */
#define EGRESS_HASH_INIT 2166136261u
uint32_t egress_hash(uint32_t h, const void *data, size_t n);

#endif
