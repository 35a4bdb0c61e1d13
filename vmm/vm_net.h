/* The VM's network card: back-end (passt, tap, bridge tap), egress filter and virtio-net device. */
#ifndef MICROVMM_VMM_VM_NET_H
#define MICROVMM_VMM_VM_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "devices/net/egress.h"
#include "devices/virtio/net.h"
#include "vmm/config/config.h"
#include "vmm/host/passt.h"
#include "vmm/host/uplink.h"
#include "vmm/vm_msi.h"

struct vm;

/*
 * Owned by struct vm (vm->net); everything -1/NULL/false until set up. It
 * reaches the VM only through vm_msi.h's services (vm_virtio_add, vm_fail).
 */
struct vm_net {
	struct vm *vm; /* opaque here */
	const struct config *cfg;
	bool enabled;
	struct passt passt;
	int tap_fd;
	char tap_name[IFNAMSIZ]; /* the tap microvmm created on a bridge */
	uint8_t mac[6];
	/* User mode: the host's uplink, read once at start. */
	struct host_uplink uplink;
	/* User mode without --ip: the IPv4 set-up microvmm chose for passt and the init. */
	struct config_ip guest_ip;
	struct egress_filter *filter;
	struct virtio_net dev;
	bool dev_ready;
	struct vm_msi_block msi; /* config + rx + tx */
	int log_fd;		 /* --net-log, appended by the device thread; -1 without */
};

/*
 * Main thread, before KVM and the jail: opens --net-log, parses the --allow
 * rules, starts passt or opens the tap (creating it on the bridge). -errno
 * with one line in `err`.
 */
int vm_net_start(struct vm_net *n, struct vm *vm, const struct config *cfg, char *err,
		 size_t err_len) __attribute__((warn_unused_result));

/* Main thread, with the loop and IRQ router up: the virtio-net PCI function. */
int vm_net_device(struct vm_net *n, char *err, size_t err_len) __attribute__((warn_unused_result));

/* The card's frames go to a tap (--net tap= or bridge=), not to passt. */
bool vm_net_uses_tap(const struct vm_net *n);

/* Main thread, right before the vCPUs start: a back-end that already died is an error. */
int vm_net_check(struct vm_net *n, char *err, size_t err_len) __attribute__((warn_unused_result));

/* After the device loop stopped: device, back-end (passt reaped, tap closed), filter. */
void vm_net_destroy(struct vm_net *n);

#endif
