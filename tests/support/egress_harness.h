/* Test support: frames, DNS messages and a capturing egress filter for the egress filter's unit
 * tests (tests/unit/test_egress*.c). */
#ifndef MICROVMM_TESTS_SUPPORT_EGRESS_HARNESS_H
#define MICROVMM_TESTS_SUPPORT_EGRESS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net/egress.h"

#define ERR_LEN	  256
#define FRAME_CAP 2048
#define SEC	  1000ULL
#define T0	  1000000ULL /* an arbitrary start time */

#define GUEST4	  "10.0.2.15"
#define GUEST6	  "2001:db8:1::15"
#define RESOLVER4 "10.0.2.3"
#define RESOLVER6 "2001:db8:1::3"
#define SERVER4	  "93.184.216.34"
#define SERVER6	  "2606:2800:220:1::1"

#define TCP   6
#define UDP   17
#define ICMP  1
#define ICMP6 58
#define FIN   0x01
#define SYN   0x02
#define RST   0x04
#define ACK   0x10

/* ---- frame building ---- */

/* One packet to build; zero fields get defaults (TTL 64, IPv4 unless family is 6). */
struct pkt {
	int family;
	const char *src, *dst;
	uint8_t proto, tcp_flags, icmp_type, ttl;
	uint16_t sport, dport, icmp_id;
	const void *payload;
	size_t payload_len;
};

struct frame {
	uint8_t b[FRAME_CAP];
	size_t len;
};

#define PKT(...) build(&(struct pkt){__VA_ARGS__})

/* ---- DNS messages ---- */

struct dnsmsg {
	uint8_t b[1024];
	size_t len;
};

/* ---- filter harness ---- */

struct capture {
	unsigned int count;
	char lines[32][256];
};

#define RULES(...) ((const char *const[]){__VA_ARGS__, NULL})

#define TCP4(to_, port_, flags_)                                                                   \
	PKT(.dst = (to_), .proto = TCP, .sport = 40000, .dport = (port_), .tcp_flags = (flags_))
#define UDP4(to_, port_) PKT(.dst = (to_), .proto = UDP, .sport = 40000, .dport = (port_))
#define TCP6(to_, port_, flags_)                                                                   \
	PKT(.family = 6, .dst = (to_), .proto = TCP, .sport = 40000, .dport = (port_),             \
	    .tcp_flags = (flags_))
/* The server's answer to TCP4(). */
#define TCP4_REPLY(from_, port_, flags_)                                                           \
	PKT(.src = (from_), .dst = GUEST4, .proto = TCP, .sport = (port_), .dport = 40000,         \
	    .tcp_flags = (flags_))

/* What the filter logged since the last filter_new(). */
extern struct capture logs;

void put16(uint8_t *p, uint16_t v);
void put_addr(uint8_t *p, int family, const char *text);
size_t build_l4(uint8_t *p, const struct pkt *s);
struct frame build(const struct pkt *s);
void dns_name_put(struct dnsmsg *m, const char *name);
void dns_start(struct dnsmsg *m, const char *qname);
void dns_rr(struct dnsmsg *m, const char *owner, uint16_t type, uint32_t ttl, const void *rdata,
	    uint16_t rdlen);
void dns_a(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *addr);
void dns_aaaa(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *addr);
void dns_cname(struct dnsmsg *m, const char *owner, uint32_t ttl, const char *target);
void capture_log(void *ctx, const char *line);
struct egress_filter *filter_new(bool block_private, const char *const *rules);
enum egress_verdict tx(struct egress_filter *f, struct frame fr, uint64_t now);
void rx(struct egress_filter *f, struct frame fr, uint64_t now);
/* Delivers a DNS answer from src (port 53) to the guest. */
void rx_dns(struct egress_filter *f, int family, const char *src, const struct dnsmsg *m,
	    uint64_t now);
bool logged(const char *line);
/* Answers api.example.com -> SERVER4 with a 60 s TTL at T0; the rule allows :443. */
struct egress_filter *filter_with_learned_server(void);

#endif
