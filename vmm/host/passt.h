/* passt, the user-mode network back-end of --net user: finding, starting and stopping it. */
#ifndef MICROVMM_VMM_HOST_PASST_H
#define MICROVMM_VMM_HOST_PASST_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/host/helper.h"

/*
 * Ownership: the VMM. `sock` is our end of a socketpair whose other end is
 * passt's -F fd: no socket file, no race, and passt exits (-1, one-off)
 * when we close it. The stream carries Ethernet frames behind a 4-byte
 * big-endian length (tech-notes §6.4).
 */
struct passt {
	struct helper proc;
	int sock;
};

/* The address passt answers DNS on for the guest; forwarded to the host's resolver. */
#define PASST_DNS_ADDR "169.254.1.53"
/*
 * The MTU passt's side of the link takes and hands out (passt(1) --mtu, its
 * default): the init sets it on eth0 whether or not DHCP runs.
 */
#define PASST_MTU "65520"

/* One forwarded port (--publish HOST:GUEST[/udp]). */
#define PASST_MAX_PORTS 16
struct passt_port {
	uint16_t host_port, guest_port;
	bool udp;
};

/* What passt is told (filled from --net user's flags by vm_net.c). */
struct passt_options {
	bool allow_host_loopback; /* --allow-host-loopback: keep passt's gateway mapping */
	struct passt_port ports[PASST_MAX_PORTS];
	unsigned int port_count;
	/* --address/--netmask and --gateway: what passt hands the guest, when set. */
	bool address_set, gateway_set;
	struct in_addr address, gateway;
	unsigned int prefix;
};

void passt_init(struct passt *p);

/* Finds passt (PATH, /usr/bin/passt) and starts it. -errno with one line in `err`. */
int passt_start(struct passt *p, const struct passt_options *opts, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* Closes our end and reaps passt. Idempotent. */
void passt_stop(struct passt *p);

#endif
