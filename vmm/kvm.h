/* Opening /dev/kvm, checking the capabilities microvmm relies on, and creating the VM. */
#ifndef MICROVMM_VMM_KVM_H
#define MICROVMM_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>

enum kvm_backend { KVM_BACKEND_UNKNOWN, KVM_BACKEND_HARDWARE, KVM_BACKEND_PVM };

struct kvm {
	int sys_fd; /* /dev/kvm */
	int vm_fd;
	size_t run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned int max_vcpus;
	bool tsc_deadline;
};

/*
 * Opens /dev/kvm, checks the API version and required capabilities, creates
 * the VM, the in-kernel irqchip and the TSS/identity-map pages. On failure
 * writes one user-facing line into `err` and returns -errno; everything is
 * closed again. Fields are -1/0 before and after kvm_close().
 */
int kvm_open(struct kvm *kvm, char *err, size_t err_len) __attribute__((warn_unused_result));
void kvm_close(struct kvm *kvm);

/* Which KVM this host has, from /sys/module (pvm-notes section 4). */
enum kvm_backend kvm_detect_backend(void);
const char *kvm_backend_name(enum kvm_backend backend);

#endif
