/* Parses --allow values, classifies addresses, keeps the addresses DNS taught for names. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "devices/net/egress_rule.h"

#define RULE_TEXT_INPUT_MAX 300 /* longest --allow value looked at */
#define DNS_LABEL_MAX	    63

static int rule_err(char *err, size_t err_len, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "--allow 'TEXT': " + the message into err; always returns -EINVAL. */
static int rule_err(char *err, size_t err_len, const char *text, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || err_len == 0)
		return -EINVAL;
	n = snprintf(err, err_len, "--allow '%.64s%s': ", text, strlen(text) > 64 ? "..." : "");
	if (n < 0 || (size_t)n >= err_len)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal in [lo, hi], at most 5 digits, nothing else. */
static int parse_number(const char *s, size_t n, unsigned int lo, unsigned int hi,
			unsigned int *out)
{
	unsigned int v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_port(const char *text, const char *s, struct egress_rule *r, char *err,
		      size_t err_len)
{
	unsigned int port;

	if (parse_number(s, strlen(s), 1, 65535, &port))
		return rule_err(err, err_len, text, "port '%.16s' is not a number in 1-65535", s);
	r->port = (uint16_t)port;
	return 0;
}

/* Parses "ADDR" or "ADDR/N" of one family (4 or 6) from s[0, n); masks host bits. */
static int parse_cidr(const char *s, size_t n, uint8_t family, struct egress_rule *r)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	unsigned int max = family == 4 ? 32 : 128, prefix = max;

	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, buf, r->addr.b) != 1)
		return -EINVAL;
	if (slash && parse_number(slash + 1, n - alen - 1, 0, max, &prefix))
		return -EINVAL;
	r->kind = EGRESS_RULE_CIDR;
	r->addr.family = family;
	r->prefix = (uint8_t)prefix;
	for (unsigned int bit = prefix; bit < 128; bit++)
		r->addr.b[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
}

/* Checks a DNS name (RFC 1123 §2.1 host names) and stores it lowercase without the trailing dot. */
static int parse_name(const char *text, const char *s, size_t n, struct egress_rule *r, char *err,
		      size_t err_len)
{
	size_t label = 0;

	r->kind = EGRESS_RULE_NAME;
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		r->kind = EGRESS_RULE_WILDCARD;
		s += 2;
		n -= 2;
	}
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0)
		return rule_err(err, err_len, text,
				"empty host name; give a name like example.com");
	if (n > EGRESS_RULE_NAME_MAX)
		return rule_err(err, err_len, text,
				"host name longer than 253 characters; DNS names cannot be");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return rule_err(err, err_len, text,
						"empty label in host name; remove the extra '.'");
			label = 0;
		} else if (c == '*') {
			return rule_err(err, err_len, text,
					"'*' is only allowed as a whole first label, as in "
					"*.example.com");
		} else if (!(is_digit(c) || c == '-' || (c >= 'a' && c <= 'z') ||
			     (c >= 'A' && c <= 'Z'))) {
			if (c > ' ' && c < 0x7f)
				return rule_err(err, err_len, text,
						"invalid character '%c' in host name; use letters, "
						"digits, '-' and '.'",
						c);
			return rule_err(err, err_len, text,
					"invalid byte 0x%02x in host name; use letters, digits, "
					"'-' and '.'",
					(unsigned int)(unsigned char)c);
		} else if (++label > DNS_LABEL_MAX) {
			return rule_err(err, err_len, text,
					"a label of the host name is longer than 63 characters");
		}
		r->name[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	r->name[n] = '\0';
	return 0;
}

static void rule_canonical(struct egress_rule *r)
{
	char addr[INET6_ADDRSTRLEN + 4], port[8] = "";

	if (r->port)
		snprintf(port, sizeof(port), ":%u", r->port);
	if (r->kind != EGRESS_RULE_CIDR) {
		snprintf(r->text, sizeof(r->text), "%s%s%s",
			 r->kind == EGRESS_RULE_WILDCARD ? "*." : "", r->name, port);
		return;
	}
	inet_ntop(r->addr.family == 4 ? AF_INET : AF_INET6, r->addr.b, addr, sizeof(addr));
	if (r->prefix != (r->addr.family == 4 ? 32 : 128))
		snprintf(addr + strlen(addr), sizeof(addr) - strlen(addr), "/%u", r->prefix);
	if (r->addr.family == 6 && r->port)
		snprintf(r->text, sizeof(r->text), "[%s]%s", addr, port);
	else
		snprintf(r->text, sizeof(r->text), "%s%s", addr, port);
}

/* "[IPv6[/N]]" or "[IPv6[/N]]:PORT". */
static int parse_bracketed(const char *text, struct egress_rule *r, char *err, size_t err_len)
{
	const char *close = strchr(text, ']');

	if (!close)
		return rule_err(err, err_len, text,
				"missing ']'; write IPv6 addresses as [2001:db8::1]:443");
	if (close[1] == ':') {
		if (parse_port(text, close + 2, r, err, err_len))
			return -EINVAL;
	} else if (close[1] != '\0') {
		return rule_err(
		    err, err_len, text,
		    "unexpected text after ']'; write [IPv6]:PORT, e.g. [2001:db8::1]:443");
	}
	if (parse_cidr(text + 1, (size_t)(close - text - 1), 6, r))
		return rule_err(err, err_len, text,
				"not an IPv6 address or prefix inside [...]; brackets are only for "
				"IPv6, write names and IPv4 as HOST:PORT");
	return 0;
}

int egress_rule_parse(const char *text, struct egress_rule *out, char *err, size_t err_len)
{
	size_t len, hostlen, colons = 0;
	const char *colon;
	bool numeric = true;

	memset(out, 0, sizeof(*out));
	if (err && err_len)
		err[0] = '\0';
	if (!text || !text[0])
		return rule_err(
		    err, err_len, "",
		    "empty rule; give HOST[:PORT], A.B.C.D[/N][:PORT] or [IPv6[/N]]:PORT");
	len = strlen(text);
	if (len > RULE_TEXT_INPUT_MAX)
		return rule_err(err, err_len, text,
				"too long; a host name has at most 253 characters");
	if (text[0] == '[') {
		if (parse_bracketed(text, out, err, err_len))
			return -EINVAL;
		goto done;
	}
	for (size_t i = 0; i < len; i++)
		colons += text[i] == ':';
	if (colons >= 2) {
		if (parse_cidr(text, len, 6, out))
			return rule_err(err, err_len, text,
					"not a valid IPv6 address or prefix; to add a port write "
					"[2001:db8::1]:443");
		goto done;
	}
	colon = strchr(text, ':');
	hostlen = colon ? (size_t)(colon - text) : len;
	if (colon && parse_port(text, colon + 1, out, err, err_len))
		return -EINVAL;
	if (hostlen == 0)
		return rule_err(err, err_len, text,
				"missing host before ':PORT'; e.g. example.com:443");
	for (size_t i = 0; i < hostlen; i++)
		numeric &= is_digit(text[i]) || text[i] == '.' || text[i] == '/';
	if (numeric || memchr(text, '/', hostlen)) {
		if (parse_cidr(text, hostlen, 4, out))
			return rule_err(err, err_len, text,
					"not a valid IPv4 address or prefix; write A.B.C.D or "
					"A.B.C.D/N with N in 0-32");
		goto done;
	}
	if (parse_name(text, text, hostlen, out, err, err_len))
		return -EINVAL;
done:
	rule_canonical(out);
	return 0;
}

bool egress_rule_contains(const struct egress_rule *r, const struct egress_addr *a)
{
	unsigned int full = r->prefix / 8, rest = r->prefix % 8;

	if (r->kind != EGRESS_RULE_CIDR || a->family != r->addr.family)
		return false;
	if (memcmp(a->b, r->addr.b, full) != 0)
		return false;
	return rest == 0 || ((a->b[full] ^ r->addr.b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool egress_rule_names(const struct egress_rule *r, const char *name)
{
	size_t n = strlen(name), m = strlen(r->name);

	if (r->kind == EGRESS_RULE_NAME)
		return n == m && memcmp(name, r->name, n) == 0;
	if (r->kind == EGRESS_RULE_WILDCARD)
		return n > m + 1 && name[n - m - 1] == '.' && memcmp(name + n - m, r->name, m) == 0;
	return false;
}

bool egress_rule_port_ok(const struct egress_rule *r, bool ports_known, uint16_t dport)
{
	return r->port == 0 || (ports_known && dport == r->port);
}

static bool v4_in(const uint8_t *b, uint32_t net, unsigned int prefix)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];

	return prefix == 0 || ((a ^ net) >> (32 - prefix)) == 0;
}

static bool v4_is_private(const uint8_t *b)
{
	static const struct {
		uint32_t net;
		unsigned int prefix;
	} ranges[] = {
	    {0x00000000, 8},  /* "this network" */
	    {0x0a000000, 8},  /* RFC 1918 */
	    {0x64400000, 10}, /* CGNAT, RFC 6598 */
	    {0x7f000000, 8},  /* loopback */
	    {0xa9fe0000, 16}, /* link-local, cloud metadata */
	    {0xac100000, 12}, /* RFC 1918 */
	    {0xc0a80000, 16}, /* RFC 1918 */
	    {0xe0000000, 4},  /* multicast */
	    {0xf0000000, 4},  /* reserved and limited broadcast */
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (v4_in(b, ranges[i].net, ranges[i].prefix))
			return true;
	return false;
}

void egress_addr_set(struct egress_addr *a, uint8_t family, const uint8_t *b)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->b, b, family == 4 ? 4 : 16);
}

bool egress_addr_is_private(const struct egress_addr *a)
{
	static const uint8_t zero[12], mapped[12] = {[10] = 0xff, [11] = 0xff},
				       nat64[12] = {0x00, 0x64, 0xff, 0x9b};
	const uint8_t *b = a->b;

	if (a->family == 4)
		return v4_is_private(b);
	if (memcmp(b, zero, 12) == 0) /* ::/96: unspecified, loopback, IPv4-compatible */
		return true;
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return v4_is_private(b + 12);
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4 (RFC 3056): 2002:V4ADDR::/48 */
		return v4_is_private(b + 2);
	return (b[0] & 0xfe) == 0xfc ||			  /* unique local fc00::/7 */
	       (b[0] == 0xfe && (b[1] & 0x80) == 0x80) || /* fe80::/10 and fec0::/10 */
	       b[0] == 0xff;				  /* multicast */
}

bool egress_addr_is_multicast(const struct egress_addr *a)
{
	if (a->family == 4)
		return (a->b[0] & 0xf0) == 0xe0 ||
		       (a->b[0] == 255 && a->b[1] == 255 && a->b[2] == 255 && a->b[3] == 255);
	return a->b[0] == 0xff;
}

void egress_addr_format(const struct egress_addr *a, uint16_t port, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->b, s, sizeof(s));
	if (!port)
		snprintf(buf, len, "%s", s);
	else if (a->family == 4)
		snprintf(buf, len, "%s:%u", s, port);
	else
		snprintf(buf, len, "[%s]:%u", s, port);
}

uint32_t egress_hash(uint32_t h, const void *data, size_t n)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static unsigned int learned_set(const struct egress_addr *a)
{
	uint32_t h = egress_hash(EGRESS_HASH_INIT, a, sizeof(*a));

	return (h ^ h >> 16) % EGRESS_LEARNED_SETS;
}

static bool addr_equal(const struct egress_addr *x, const struct egress_addr *y)
{
	return x->family == y->family && memcmp(x->b, y->b, sizeof(x->b)) == 0;
}

void egress_rule_learn(struct egress_learned_table *t, const struct egress_addr *a,
		       unsigned int rule, uint64_t expires_ms, uint64_t now_ms)
{
	struct egress_learned *set = t->set[learned_set(a)], *victim = &set[0];

	for (unsigned int w = 0; w < EGRESS_LEARNED_WAYS; w++) {
		struct egress_learned *e = &set[w];

		if (e->used && e->rule == rule && addr_equal(&e->addr, a)) {
			if (expires_ms > e->expires_ms)
				e->expires_ms = expires_ms;
			return;
		}
		if (!e->used || e->expires_ms <= now_ms)
			victim = e, victim->used = false;
		else if (victim->used && e->expires_ms < victim->expires_ms)
			victim = e;
	}
	victim->addr = *a;
	victim->rule = (uint8_t)rule;
	victim->used = true;
	victim->expires_ms = expires_ms;
}

int egress_rule_learned_match(const struct egress_learned_table *t, const struct egress_rule *rules,
			      const struct egress_addr *a, bool ports_known, uint16_t dport,
			      uint64_t now_ms)
{
	const struct egress_learned *set = t->set[learned_set(a)];
	int best = -1;

	for (unsigned int w = 0; w < EGRESS_LEARNED_WAYS; w++) {
		const struct egress_learned *e = &set[w];

		if (!e->used || e->expires_ms <= now_ms || !addr_equal(&e->addr, a) ||
		    !egress_rule_port_ok(&rules[e->rule], ports_known, dport))
			continue;
		if (best < 0 || e->rule < best)
			best = e->rule;
	}
	return best;
}
