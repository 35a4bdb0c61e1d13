/* Opening /dev/kvm, checking the capabilities microvmm relies on, and creating the VM. */
#ifndef MICROVMM_VMM_KVM_H
#define MICROVMM_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>

/* What this host's /dev/kvm is (pvm-notes sections 0 and 4). */
enum kvm_backend {
	KVM_BACKEND_UNKNOWN,   /* a KVM, but neither of the kinds below */
	KVM_BACKEND_NONE,      /* no /dev/kvm */
	KVM_BACKEND_NO_ACCESS, /* /dev/kvm exists, this user may not open it */
	KVM_BACKEND_NOT_KVM,   /* /dev/kvm answers no KVM ioctl */
	KVM_BACKEND_VMX,       /* hardware KVM on Intel VT-x: boots Linux */
	KVM_BACKEND_SVM,       /* hardware KVM on AMD-V: boots Linux */
	KVM_BACKEND_PVM,       /* guest ring 0 emulated: freestanding guests only */
};

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

/*
 * Which KVM this host has, decided from /dev/kvm itself: whether it opens,
 * answers KVM ioctls, lists or answers the PVM MSRs on a throwaway vCPU, and
 * saves nested state (hardware KVM). Costs one VM and one vCPU: for
 * --version and diagnostics, not the boot path.
 */
enum kvm_backend kvm_detect_backend(void);
/* True for the kinds that run a stock Linux kernel at full speed. */
bool kvm_backend_boots_linux(enum kvm_backend backend);
const char *kvm_backend_name(enum kvm_backend backend);

#endif
