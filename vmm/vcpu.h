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
 * Pausing (the API's PUT /vm/pause): while the gate is closed every vCPU
 * waits outside KVM_RUN; vcpu_pause_all closes it and returns once all are
 * parked, vcpu_resume_all opens it. Main thread only; the lock guards
 * closed and parked.
 */
struct vcpu_gate {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	atomic_bool closed;
	unsigned int parked;
};

/*
 * What vCPU threads share with the VM: the buses (immutable while running),
 * the stop flag (set by the main thread before it kicks the vCPUs), the
 * pause gate and the callback for exits that end the VM.
 */
struct vcpu_env {
	const struct bus *pio;
	const struct bus *mmio;
	atomic_bool *stopping;
	struct vcpu_gate *gate;
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

int vcpu_gate_init(struct vcpu_gate *gate) __attribute__((warn_unused_result));
void vcpu_gate_destroy(struct vcpu_gate *gate);

/*
 * Closes the gate and kicks every started vCPU out of KVM_RUN; 0 once all
 * wait at the gate, -ETIMEDOUT when one did not within `timeout_ms` (the
 * gate stays closed: it parks when it comes out).
 */
int vcpu_pause_all(struct vcpu *vcpus, unsigned int count, struct vcpu_gate *gate,
		   unsigned int timeout_ms) __attribute__((warn_unused_result));

/*
 * Opens the gate: parked vCPUs go on, and one that never reached it (a
 * pause that timed out) loses the kick's immediate_exit, which would
 * otherwise make every KVM_RUN return at once. Also before vcpu_stop, so
 * that parked ones can end.
 */
void vcpu_resume_all(struct vcpu *vcpus, unsigned int count, struct vcpu_gate *gate);

/* Closes the fd and unmaps the run area. Idempotent. */
void vcpu_destroy(struct vcpu *vcpu);

/* Installs the no-op SIGUSR1 handler used to kick vCPUs. Call once before vcpu_start(). */
int vcpu_install_kick_signal(void) __attribute__((warn_unused_result));

#endif
