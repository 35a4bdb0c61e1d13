/* vCPU threads: one KVM_RUN loop per vCPU, decoding PIO/MMIO exits onto the buses. */
#ifndef MICROVMM_VMM_VCPU_H
#define MICROVMM_VMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "vmm/bus.h"

struct kvm_run;

/* Why a vCPU asked the VM to stop. */
enum vcpu_stop_reason {
	VCPU_STOP_SHUTDOWN, /* triple fault or KVM system event: treated as a reset */
	VCPU_STOP_ERROR,    /* KVM could not run the guest */
};

/*
 * What vCPU threads share with the VM: the buses (immutable while running),
 * the stop flag (set by the main thread before it kicks the vCPUs) and the
 * callback for exits that end the VM.
 */
struct vcpu_env {
	const struct bus *pio;
	const struct bus *mmio;
	atomic_bool *stopping;
	void (*stop)(void *ctx, enum vcpu_stop_reason reason, const char *detail);
	void *ctx;
};

struct vcpu {
	const struct vcpu_env *env;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
};

/* Creates vCPU `index` (its APIC ID) and maps its run area. Returns 0 or -errno. */
int vcpu_create(struct vcpu *vcpu, const struct vcpu_env *env, int vm_fd, unsigned int index,
		size_t run_size) __attribute__((warn_unused_result));

/* Starts the run loop thread. Returns 0 or -errno. */
int vcpu_start(struct vcpu *vcpu) __attribute__((warn_unused_result));

/*
 * Makes the vCPU leave KVM_RUN and its loop (env->stopping must already be
 * true), then joins the thread. Safe on a vCPU that never started.
 */
void vcpu_stop(struct vcpu *vcpu);

/* Closes the fd and unmaps the run area. Idempotent. */
void vcpu_destroy(struct vcpu *vcpu);

/* Installs the no-op SIGUSR1 handler used to kick vCPUs. Call once before vcpu_start(). */
int vcpu_install_kick_signal(void) __attribute__((warn_unused_result));

#endif
