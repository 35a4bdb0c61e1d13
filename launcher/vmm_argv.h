/* microvmm's command line for a run: root tree, shares, network, variables by name, the entry
 * script. */
#ifndef MICROVMM_LAUNCHER_VMM_ARGV_H
#define MICROVMM_LAUNCHER_VMM_ARGV_H

#include <stddef.h>

#include "launcher/netpolicy.h"
#include "launcher/options.h"

/*
 * The VM's --timeout is the agent's plus this: the entry script stops the
 * agent itself at --timeout (so it can still save the transcript), and
 * microvmm stops the VM only if the guest does not end by then.
 */
#define VMM_ARGV_TIMEOUT_GRACE 60
#define VMM_ARGV_ENTRY	       "/run/microvmm-agent/guest-entry.sh"

struct vmm_launch {
	const char *microvmm;
	const char *rootfs;    /* IMAGE/rootfs */
	const char *kernel;    /* --kernel for microvmm, or NULL: its default */
	const char *initrd;    /* --initrd for microvmm, or NULL: its default */
	const char *workspace; /* real path */
	const char *setup_dir; /* shared read-only at RUNDIR_GUEST_SETUP */
	const char *out_dir;   /* shared read-write at RUNDIR_GUEST_OUT */
	const char *net_log;   /* --net-log (the launcher's FIFO), or NULL */
	const struct options *opts;
	const struct netpolicy *net;
	const char *const *key_vars; /* names of the credentials set in the environment */
	unsigned int key_count;
	unsigned int cpus;
	const char *mem; /* as microvmm takes it, e.g. "4096M" */
};

/* An argv that owns its strings; NULL-terminated once built. */
struct vmm_argv {
	char **v;
	size_t n, cap;
	int err;
};

/*
 * Builds the argv. Variables only ever go by name (--env NAME) unless the
 * user wrote --env NAME=VALUE. The workspace is the first read-write
 * share, so the guest's agent user gets its owner's ids. Returns 0 or
 * -ENOMEM.
 */
int vmm_argv_build(const struct vmm_launch *l, struct vmm_argv *a)
    __attribute__((warn_unused_result));
void vmm_argv_free(struct vmm_argv *a);

#endif
