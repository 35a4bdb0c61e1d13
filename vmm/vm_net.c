/* The VM's network card: back-end (passt, tap, bridge tap), egress filter and virtio-net device. */
#include "vmm/vm_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "vmm/host/net_log.h"
#include "vmm/host/tap.h"
#include "vmm/host/uplink.h"
#include "vmm/log.h"

/* Device thread (the filter calls it from check_tx). */
static void vm_net_log(void *ctx, const char *line)
{
	struct vm_net *n = ctx;

	/*
	 * The filter already limits these to one per destination and a few per
	 * second. Drops are what the user must see; allowed flows with --verbose.
	 * --net-log gets both, whatever the level (with no --allow rule too:
	 * then every public destination is an allowed line).
	 */
	if (!strncmp(line, "egress: allowed", 15))
		log_info("net", "%s", line);
	else
		log_warn("net", "%s", line);
	net_log_write(n->log_fd, line);
}

_Static_assert(CONFIG_MAX_LOOPBACK <= EGRESS_MAX_LOOPBACK, "every port fits in the filter");

/*
 * The host-loopback exception: the gateway, for every port (bare flag) or
 * the given ones. Not an --allow rule, so that without rules user mode still
 * lets public destinations through.
 */
static int vm_net_host_loopback(struct vm_net *n, const struct config_net *net)
{
	const struct in_addr *gateway = &n->uplink.gateway;
	int ret = 0;

	/*
	 * passt maps the host's IPv4 default gateway to its loopback; that
	 * address is usually private and would be filtered.
	 */
	if (!net->allow_host_loopback || !n->uplink.has_gateway)
		return 0;
	if (net->host_loopback_all_ports)
		return egress_filter_add_host_loopback(n->filter, AF_INET, gateway, 0);
	for (unsigned int i = 0; i < net->host_loopback_port_count && !ret; i++)
		ret = egress_filter_add_host_loopback(n->filter, AF_INET, gateway,
						      net->host_loopback_ports[i]);
	return ret;
}

static int vm_net_filter(struct vm_net *n, char *err, size_t err_len)
{
	const struct config_net *net = &n->cfg->net;
	struct egress_options opts = {
	    /* NAT through the host: never into the host's own networks unless allowed. */
	    .block_private = net->mode == CONFIG_NET_USER,
	    .log = vm_net_log,
	    .log_ctx = n,
	};
	struct in_addr dns;
	int ret;

	/* ARP and neighbour discovery must speak for the NIC's own address. */
	memcpy(opts.guest_mac, n->mac, sizeof(opts.guest_mac));
	ret = egress_filter_create(&n->filter, &opts);

	if (ret) {
		snprintf(err, err_len, "cannot create the egress filter: %s", strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < net->allow_count; i++) {
		ret = egress_filter_add_rule(n->filter, net->allow[i], err, err_len);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < net->dns_count && !ret; i++)
		ret = egress_filter_add_resolver(n->filter, AF_INET, net->dns[i]);
	if (!ret && net->mode == CONFIG_NET_USER && inet_pton(AF_INET, PASST_DNS_ADDR, &dns) == 1)
		ret = egress_filter_add_resolver(n->filter, AF_INET, &dns);
	if (!ret)
		ret = vm_net_host_loopback(n, net);
	if (ret && !err[0])
		snprintf(err, err_len, "cannot set up the egress filter: %s", strerror(-ret));
	return ret;
}

/*
 * Without --ip, microvmm decides the guest's IPv4 address, prefix and
 * gateway itself, the ones passt would hand out by DHCP (the host's
 * uplink), and tells both: passt as its own settings, the guest init as a
 * static address. The guest then skips the DHCP exchange (a tenth of a
 * second of a nested guest's start, docs/network.md). A host without a
 * usable IPv4 uplink leaves the guest to DHCP as before. With --ip, passt
 * learns that address (inbound --publish traffic goes to it before the
 * guest has sent anything), but keeps the host's gateway, which is the one
 * it maps to the host's loopback.
 */
static void vm_net_user_address(struct vm_net *n, const struct config_net *net,
				struct passt_options *opts)
{
	const struct host_uplink *up = &n->uplink;

	if (net->ip.set) {
		opts->address_set = true;
		memcpy(&opts->address, net->ip.addr, sizeof(opts->address));
		opts->prefix = net->ip.prefix;
		return;
	}
	if (!host_uplink_usable(up)) {
		log_info("net", "no IPv4 default route with an address in its subnet on this host: "
				"the guest asks passt by DHCP");
		return;
	}
	n->guest_ip = (struct config_ip){.set = true, .has_gateway = true, .prefix = up->prefix};
	memcpy(n->guest_ip.addr, &up->addr, sizeof(n->guest_ip.addr));
	memcpy(n->guest_ip.gateway, &up->gateway, sizeof(n->guest_ip.gateway));
	opts->address_set = opts->gateway_set = true;
	opts->address = up->addr;
	opts->gateway = up->gateway;
	opts->prefix = up->prefix;
}

/* passt gets --net user's own flags: the loopback exception, the published ports, the address. */
static int vm_net_start_passt(struct vm_net *n, const struct config_net *net, char *err,
			      size_t err_len)
{
	struct passt_options opts = {.allow_host_loopback = net->allow_host_loopback};

	vm_net_user_address(n, net, &opts);

	_Static_assert(PASST_MAX_PORTS >= CONFIG_MAX_PUBLISH, "every --publish fits passt's list");
	for (unsigned int i = 0; i < net->publish_count; i++)
		opts.ports[i] = (struct passt_port){.host_port = net->publish[i].host_port,
						    .guest_port = net->publish[i].guest_port,
						    .udp = net->publish[i].udp};
	opts.port_count = net->publish_count;
	return passt_start(&n->passt, &opts, err, err_len);
}

static int vm_net_backend(struct vm_net *n, char *err, size_t err_len)
{
	const struct config_net *net = &n->cfg->net;

	switch (net->mode) {
	case CONFIG_NET_USER:
		return vm_net_start_passt(n, net, err, err_len);
	case CONFIG_NET_TAP:
		return tap_open_existing(net->ifname, &n->tap_fd, err, err_len);
	case CONFIG_NET_BRIDGE:
		return tap_create_on_bridge(net->ifname, &n->tap_fd, n->tap_name, err, err_len);
	case CONFIG_NET_NONE:
	default:
		return 0;
	}
}

int vm_net_start(struct vm_net *n, struct vm *vm, const struct config *cfg, char *err,
		 size_t err_len)
{
	const struct config_net *net = &cfg->net;
	int ret;

	n->vm = vm;
	n->cfg = cfg;
	n->tap_fd = -1;
	passt_init(&n->passt);
	/* Created even without a NIC: a caller's audit trail always has the file. */
	if (cfg->net_log) {
		n->log_fd = net_log_open(cfg->net_log, err, err_len);
		if (n->log_fd < 0)
			return n->log_fd;
	}
	if (net->mode == CONFIG_NET_NONE)
		return 0;
	n->enabled = true;
	if (net->mac_set) {
		memcpy(n->mac, net->mac, sizeof(n->mac));
	} else {
		if (getrandom(n->mac, sizeof(n->mac), 0) != (ssize_t)sizeof(n->mac))
			return -errno;
		/* Unicast, locally administered (IEEE 802 U/L bit). */
		n->mac[0] = (uint8_t)((n->mac[0] & 0xfe) | 0x02);
	}
	/* Read once: the filter's host-loopback exception and passt's addresses agree. */
	if (net->mode == CONFIG_NET_USER)
		host_uplink_read(&n->uplink);
	err[0] = '\0';
	ret = vm_net_filter(n, err, err_len);
	if (!ret)
		ret = vm_net_backend(n, err, err_len);
	if (!ret && n->tap_name[0])
		log_info("net", "created tap %s on bridge %s", n->tap_name, net->ifname);
	return ret;
}

/* Loop thread: passt went away (it never does while we hold the socket, unless it crashed). */
static void vm_net_backend_gone(void *ctx)
{
	struct vm_net *n = ctx;
	char last[200], detail[300];

	helper_last_words(&n->passt.proc, last, sizeof(last));
	snprintf(detail, sizeof(detail), "the network back-end (%s) stopped%s%s",
		 n->cfg->net.mode == CONFIG_NET_USER ? "passt" : "tap", last[0] ? ": " : "", last);
	vm_fail(n->vm, detail);
}

/* The network card's part of struct vm_virtio_dev: its back-end was set up by vm_net_start(). */
static int vm_net_init(void *ctx, const struct virtio_pci_host *host, uint64_t bar, char *err,
		       size_t err_len)
{
	struct vm_net *n = ctx;
	bool tap = vm_net_uses_tap(n);
	struct virtio_net_params params = {
	    .backend = tap ? VIRTIO_NET_BACKEND_TAP : VIRTIO_NET_BACKEND_STREAM,
	    .fd = tap ? n->tap_fd : n->passt.sock,
	    .vnet_hdr = tap,
	    .filter = egress_filter_active(n->filter) ? n->filter : NULL,
	};
	int ret;

	memcpy(params.mac, n->mac, sizeof(params.mac));
	ret = virtio_net_init(&n->dev, &params, host, bar);
	if (ret) {
		snprintf(err, err_len, "cannot create the network card: %s", strerror(-ret));
		return ret;
	}
	n->dev.on_backend_gone = vm_net_backend_gone;
	n->dev.ctx = n;
	return 0;
}

static void vm_net_dev_destroy(void *ctx)
{
	struct vm_net *n = ctx;

	virtio_net_destroy(&n->dev);
}

bool vm_net_uses_tap(const struct vm_net *n)
{
	return n->enabled && n->cfg->net.mode != CONFIG_NET_USER;
}

int vm_net_device(struct vm_net *n, char *err, size_t err_len)
{
	const struct vm_virtio_dev dev = {
	    .what = "the network card",
	    .init = vm_net_init,
	    .destroy = vm_net_dev_destroy,
	    .ctx = n,
	    .vp = &n->dev.vp,
	};
	int ret;

	if (!n->enabled)
		return 0;
	ret = vm_virtio_add(n->vm, &dev, &n->msi, err, err_len);
	if (!ret)
		n->dev_ready = true;
	return ret;
}

int vm_net_check(struct vm_net *n, char *err, size_t err_len)
{
	char last[200];

	if (!n->cfg || n->cfg->net.mode != CONFIG_NET_USER || !helper_exited(&n->passt.proc))
		return 0;
	helper_last_words(&n->passt.proc, last, sizeof(last));
	snprintf(err, err_len, "passt exited at start%s%s", last[0] ? ": " : "", last);
	return -ECHILD;
}

void vm_net_destroy(struct vm_net *n)
{

	if (n->dev_ready) {
		const struct virtio_net_stats *st = &n->dev.stats;

		log_info("net",
			 "tx %llu frames, %llu filtered, %llu dropped; rx %llu frames, %llu "
			 "dropped, %llu waits for buffers",
			 (unsigned long long)st->tx_frames, (unsigned long long)st->tx_filtered,
			 (unsigned long long)st->tx_dropped, (unsigned long long)st->rx_frames,
			 (unsigned long long)st->rx_dropped, (unsigned long long)st->rx_waits);
		virtio_net_destroy(&n->dev);
	}
	n->dev_ready = false;
	passt_stop(&n->passt);
	/* Closing the last fd of a non-persistent tap deletes it. */
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	n->tap_fd = -1;
	egress_filter_destroy(n->filter);
	n->filter = NULL;
	n->enabled = false;
	if (n->log_fd >= 0)
		close(n->log_fd);
	n->log_fd = -1;
}
