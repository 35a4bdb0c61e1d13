/* The host side of the boot timeline (--boot-timeline; docs/benchmarks.md): when each stage began.
 */
#ifndef MICROVMM_VMM_TIMELINE_H
#define MICROVMM_VMM_TIMELINE_H

enum timeline_stage {
	TIMELINE_MAIN,	    /* main() entered: exec and the dynamic loader are behind */
	TIMELINE_HELPERS,   /* virtiofsd and passt started (not yet answering) */
	TIMELINE_CREATE_VM, /* KVM_CREATE_VM returned: KVM's clock for the guest starts */
	TIMELINE_DEVICES,   /* guest RAM and devices made, vhost-user handshakes done */
	TIMELINE_LOADED,    /* kernel, initrd and boot parameters in guest RAM */
	TIMELINE_JAILED,    /* the sandbox is on: the vCPUs start next */
	TIMELINE_FIRST_RUN, /* the boot vCPU's first KVM_RUN: the kernel's entry */
	/*
	 * The guest init said "ready" on microvmm.ctl, which it does once the
	 * command's exec has succeeded: the command's start on the host's clock,
	 * a little after its first instruction. Reported by the guest: its own
	 * boot's figure, the first report kept.
	 */
	TIMELINE_COMMAND,
	TIMELINE_GUEST_STOPPED, /* the guest powered off, reset, panicked, or was stopped */
	TIMELINE_EXIT,		/* everything torn down; the process exits */
	TIMELINE_STAGES,
};

/* Records CLOCK_MONOTONIC for `stage`, once: later calls keep the first. Any thread. */
void timeline_mark(enum timeline_stage stage);

/*
 * Writes one line to stderr: "microvmm: boot timeline: main_at_ms=T" (T on
 * CLOCK_MONOTONIC, so a launcher that noted its exec can subtract) and each
 * later stage as milliseconds since main; stages never reached are left out.
 */
void timeline_print(void);

#endif
