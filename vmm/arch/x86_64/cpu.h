/* x86_64 vCPU state: CPUID, MSRs, LAPIC LINTs and the boot registers. */
#ifndef MICROVMM_VMM_ARCH_X86_64_CPU_H
#define MICROVMM_VMM_ARCH_X86_64_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/linux_boot.h"

struct kvm_cpuid2;

/*
 * Fetches KVM_GET_SUPPORTED_CPUID once; the caller frees it with free().
 * Returns NULL with errno set on failure.
 */
struct kvm_cpuid2 *cpu_supported_cpuid(int sys_fd);

/*
 * Per-vCPU setup in the order KVM wants (tech-notes 1.1 step 6): CPUID
 * (adjusted for this vCPU's APIC ID and the vCPU count), MSRs, LAPIC LINT
 * pins. Returns 0 or -errno.
 */
int cpu_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int index,
	      unsigned int count, bool tsc_deadline) __attribute__((warn_unused_result));

/* Loads the 64-bit boot registers into the boot vCPU. Returns 0 or -errno. */
int cpu_load_boot_state(int vcpu_fd, const struct boot_cpu_state *state)
    __attribute__((warn_unused_result));

#endif
