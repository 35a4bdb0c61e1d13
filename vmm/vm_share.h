/* The VM's shared folders: one virtiofsd and one virtio-fs device per --share and --rootfs. */
#ifndef MICROVMM_VMM_VM_SHARE_H
#define MICROVMM_VMM_VM_SHARE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "devices/virtio/fs.h"
#include "vmm/config/config.h"
#include "vmm/guest_mem.h"
#include "vmm/host/virtiofsd.h"
#include "vmm/vm_msi.h"

struct vm;

/* One share; owned by struct vm_shares. */
struct vm_share {
	struct vm *vm; /* opaque here: vm_msi.h's services only */
	const struct guest_mem *mem;
	const struct config_share *cfg;
	char dir[PATH_MAX]; /* the host directory, absolute */
	char what[160];	    /* the option as the user wrote it (config_share_describe) */
	struct virtiofsd_options daemon_opts;
	struct virtiofsd daemon;
	struct virtio_fs fs;
	bool fs_ready;
	struct vm_msi_block msi;
};

/* Every share of the VM (struct vm's `shares`), and the agent's ids they decide. */
struct vm_shares {
	struct vm_share *list; /* the --share entries in order, then --rootfs */
	unsigned int count;
	unsigned int agent_uid, agent_gid;
};

/*
 * Main thread, before KVM is set up: checks every share's directory (and
 * that the --rootfs tree has a /bin/sh), sets the agent's uid/gid from the
 * first writable share, and starts the daemons (or connects --share-socket
 * ones) so they come up while the VM is built.
 */
int vm_shares_start(struct vm_shares *ss, struct vm *vm, const struct config *cfg, char *err,
		    size_t err_len) __attribute__((warn_unused_result));

/* Main thread, with the loop and IRQ router set up: one virtio-fs PCI function per share. */
int vm_shares_devices(struct vm_shares *ss, const struct guest_mem *mem, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* After the device loop stopped: close the connections, then reap the daemons. Idempotent. */
void vm_shares_destroy(struct vm_shares *ss);

#endif
