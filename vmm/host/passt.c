/* passt, the user-mode network back-end of --net user: finding, starting and stopping it. */
#include "vmm/host/passt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * The fixed ones (passt_build_argv): the path, --foreground --quiet
 * --one-off, --fd N, --runas IDS, --no-map-gw, --dns-forward ADDR, --mtu N,
 * --address A --netmask P --gateway G: 19, and the NULL; 24 leaves room.
 */
#define PASST_MAX_ARGS	   (24 + 2 * PASST_MAX_PORTS)
#define PASST_STOP_WAIT_MS 2000

void passt_init(struct passt *p)
{
	helper_init(&p->proc);
	p->sock = -1;
}

static bool passt_find(char *out, size_t len)
{
	if (helper_find_on_path("passt", out, len))
		return true;
	snprintf(out, len, "/usr/bin/passt");
	return access(out, X_OK) == 0;
}

struct passt_argv {
	char *argv[PASST_MAX_ARGS];
	char fd_arg[16];
	char address[INET_ADDRSTRLEN], gateway[INET_ADDRSTRLEN], prefix[4];
	char ports[PASST_MAX_PORTS][16];
};

static void passt_build_argv(struct passt_argv *a, char *exe, const struct passt_options *opts)
{
	unsigned int n = 0;

	a->argv[n++] = exe;
	/* Foreground, quiet, one client: it lives exactly as long as our socket. */
	a->argv[n++] = "--foreground";
	a->argv[n++] = "--quiet";
	a->argv[n++] = "--one-off";
	snprintf(a->fd_arg, sizeof(a->fd_arg), "%d", HELPER_PASSED_FD);
	a->argv[n++] = "--fd";
	a->argv[n++] = a->fd_arg;
	/*
	 * Started as root, passt drops to "nobody" by name; hosts without that
	 * user (minimal images) need the id spelled out.
	 */
	if (geteuid() == 0) {
		a->argv[n++] = "--runas";
		a->argv[n++] = "65534:65534";
	}
	/* The gateway address would otherwise lead to the host's loopback services. */
	if (!opts->allow_host_loopback)
		a->argv[n++] = "--no-map-gw";
	/* A resolver address that works whatever the host's resolv.conf says. */
	a->argv[n++] = "--dns-forward";
	a->argv[n++] = PASST_DNS_ADDR;
	a->argv[n++] = "--mtu";
	a->argv[n++] = PASST_MTU;
	if (opts->address_set) {
		inet_ntop(AF_INET, &opts->address, a->address, sizeof(a->address));
		snprintf(a->prefix, sizeof(a->prefix), "%u", opts->prefix);
		a->argv[n++] = "--address";
		a->argv[n++] = a->address;
		a->argv[n++] = "--netmask";
		a->argv[n++] = a->prefix;
	}
	if (opts->gateway_set) {
		inet_ntop(AF_INET, &opts->gateway, a->gateway, sizeof(a->gateway));
		a->argv[n++] = "--gateway";
		a->argv[n++] = a->gateway;
	}
	for (unsigned int i = 0; i < opts->port_count && i < PASST_MAX_PORTS; i++) {
		const struct passt_port *p = &opts->ports[i];

		snprintf(a->ports[i], sizeof(a->ports[i]), "%u:%u", p->host_port, p->guest_port);
		a->argv[n++] = p->udp ? "--udp-ports" : "--tcp-ports";
		a->argv[n++] = a->ports[i];
	}
	a->argv[n] = NULL;
}

int passt_start(struct passt *p, const struct passt_options *opts, char *err, size_t err_len)
{
	struct passt_argv a;
	char exe[4096];
	int sv[2], ret;

	passt_init(p);
	if (!passt_find(exe, sizeof(exe))) {
		snprintf(err, err_len,
			 "passt is not installed (--net user needs it): apt-get install passt");
		return -ENOENT;
	}
	passt_build_argv(&a, exe, opts);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot create the passt socket: %s", strerror(-ret));
		return ret;
	}
	ret = helper_spawn(&p->proc, a.argv, sv[1], NULL, NULL);
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		snprintf(err, err_len, "cannot start passt: %s", strerror(-ret));
		return ret;
	}
	p->sock = sv[0];
	return 0;
}

void passt_stop(struct passt *p)
{
	if (p->sock >= 0)
		close(p->sock);
	p->sock = -1;
	helper_stop(&p->proc, PASST_STOP_WAIT_MS);
}
