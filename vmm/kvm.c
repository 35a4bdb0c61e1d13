/* Opening /dev/kvm, checking the capabilities microvmm relies on, and creating the VM. */
#include "vmm/kvm.h"

#include <errno.h>
#include <cpuid.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/layout.h"
#include "vmm/timeline.h"

struct kvm_required_cap {
	int cap;
	const char *name;
};

/* Everything the device model depends on (tech-notes section 1.1). */
static const struct kvm_required_cap kvm_required_caps[] = {
    {KVM_CAP_IRQCHIP, "IRQCHIP"},
    {KVM_CAP_IRQ_ROUTING, "IRQ_ROUTING"},
    {KVM_CAP_IRQFD, "IRQFD"},
    {KVM_CAP_IOEVENTFD, "IOEVENTFD"},
    {KVM_CAP_USER_MEMORY, "USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT"},
};

static int kvm_open_device(struct kvm *kvm, char *err, size_t err_len)
{
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd >= 0)
		return 0;
	int ret = -errno;

	if (ret == -ENOENT || ret == -ENODEV || ret == -ENXIO)
		snprintf(err, err_len,
			 "/dev/kvm not found: this host has no KVM%s; load kvm_intel or kvm_amd "
			 "(with VMX/SVM enabled), or use a host that has them",
			 access("/sys/module/kvm_pvm", F_OK) == 0
			     ? " (kvm_pvm is loaded but exposes no /dev/kvm)"
			     : "");
	else if (ret == -EACCES || ret == -EPERM)
		snprintf(err, err_len,
			 "no permission to open /dev/kvm: add your user to the 'kvm' group or "
			 "run as root");
	else
		snprintf(err, err_len, "cannot open /dev/kvm: %s", strerror(-ret));
	return ret;
}

static int kvm_check_caps(struct kvm *kvm, char *err, size_t err_len)
{
	int version = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);

	if (version < 0) {
		snprintf(err, err_len,
			 "/dev/kvm is not a KVM device (%s): load the kvm_intel or kvm_amd module",
			 strerror(errno));
		return -ENODEV;
	}
	if (version != KVM_API_VERSION) {
		snprintf(err, err_len, "/dev/kvm speaks API version %d, microvmm needs %d", version,
			 KVM_API_VERSION);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(kvm_required_caps) / sizeof(kvm_required_caps[0]); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, kvm_required_caps[i].cap) <= 0) {
			snprintf(err, err_len,
				 "this host's KVM lacks KVM_CAP_%s: microvmm needs a newer kernel",
				 kvm_required_caps[i].name);
			return -ENOTSUP;
		}
	}
	int max = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = max > 0 ? (unsigned int)max : 1;
	kvm->tsc_deadline = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	int size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	if (size <= 0) {
		snprintf(err, err_len, "KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		return -ENOTSUP;
	}
	kvm->run_size = (size_t)size;
	return 0;
}

static int kvm_create_vm(struct kvm *kvm, char *err, size_t err_len)
{
	int ret;

	do {
		kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
		if (kvm->vm_fd >= 0)
			timeline_mark(TIMELINE_CREATE_VM);
	} while (kvm->vm_fd < 0 && errno == EINTR);
	if (kvm->vm_fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "KVM_CREATE_VM failed: %s", strerror(-ret));
		return ret;
	}
	/* Both must precede vCPU creation (api.rst 4.48, 4.68); the pages sit in the PCI hole. */
	uint64_t identity = LAYOUT_KVM_IDENTITY_MAP;

	if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0) {
		ret = -errno;
		snprintf(err, err_len, "KVM TSS/identity map setup failed: %s", strerror(-ret));
		return ret;
	}
	/* In-kernel LAPICs and IOAPIC, before any vCPU (acpi-notes section 4). */
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ret = -errno;
		snprintf(err, err_len, "KVM_CREATE_IRQCHIP failed: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int kvm_open(struct kvm *kvm, char *err, size_t err_len)
{
	int ret;

	kvm->sys_fd = -1;
	kvm->vm_fd = -1;
	ret = kvm_open_device(kvm, err, err_len);
	if (ret)
		goto fail;
	ret = kvm_check_caps(kvm, err, err_len);
	if (ret)
		goto fail;
	ret = kvm_create_vm(kvm, err, err_len);
	if (ret)
		goto fail;
	return 0;
fail:
	kvm_close(kvm);
	return ret;
}

void kvm_close(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->vm_fd = -1;
	kvm->sys_fd = -1;
}

/*
 * The private PVM flavour on our machines answers this MSR on a fresh vCPU
 * with "PVM"; hardware KVM knows no such MSR (pvm-notes section 1).
 */
#define KVM_PVM_SIGNATURE_MSR 0x4b564d11U
#define KVM_PVM_SIGNATURE     0x4d5650ULL
/* Upstream virt-pvm's own MSRs (MSR_PVM_*), listed in KVM_GET_MSR_INDEX_LIST. */
#define KVM_PVM_MSR_FIRST 0x4b564df0U
#define KVM_PVM_MSR_LAST  0x4b564df7U
#define KVM_MSR_LIST_MAX  1024

static bool kvm_msr_list_has_pvm(int sys_fd)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t indices[KVM_MSR_LIST_MAX];
	} list = {.hdr.nmsrs = KVM_MSR_LIST_MAX};

	if (ioctl(sys_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0)
		return false;
	for (uint32_t i = 0; i < list.hdr.nmsrs && i < KVM_MSR_LIST_MAX; i++)
		if (list.indices[i] >= KVM_PVM_MSR_FIRST && list.indices[i] <= KVM_PVM_MSR_LAST)
			return true;
	return false;
}

/* Reads the PVM signature MSR on a throwaway vCPU of a throwaway VM. */
static bool kvm_vcpu_says_pvm(int sys_fd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry;
	} msrs = {.hdr.nmsrs = 1, .entry.index = KVM_PVM_SIGNATURE_MSR};
	bool pvm = false;
	int vm_fd, vcpu_fd;

	vm_fd = ioctl(sys_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		return false;
	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	if (vcpu_fd >= 0) {
		pvm = ioctl(vcpu_fd, KVM_GET_MSRS, &msrs) == 1 &&
		      msrs.entry.data == KVM_PVM_SIGNATURE;
		close(vcpu_fd);
	}
	close(vm_fd);
	return pvm;
}

/*
 * The CPU's own extension: CPUID.1:ECX[5] is VMX (Intel SDM vol. 3 §24.6),
 * CPUID 8000_0001h:ECX[2] is SVM (AMD APM vol. 2 §15.4).
 */
static enum kvm_backend kvm_hardware_kind(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1U << 5)))
		return KVM_BACKEND_VMX;
	if (__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) && (ecx & (1U << 2)))
		return KVM_BACKEND_SVM;
	return KVM_BACKEND_UNKNOWN;
}

enum kvm_backend kvm_detect_backend(void)
{
	enum kvm_backend kind = KVM_BACKEND_UNKNOWN;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return (errno == EACCES || errno == EPERM) ? KVM_BACKEND_NO_ACCESS
							   : KVM_BACKEND_NONE;
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		kind = KVM_BACKEND_NOT_KVM;
	else if (kvm_msr_list_has_pvm(fd) || kvm_vcpu_says_pvm(fd))
		kind = KVM_BACKEND_PVM;
	/*
	 * VMX/SVM KVM saves nested state; PVM cannot (pvm-notes section 1).
	 * The module check covers kernels built without nested support.
	 */
	else if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE) > 0 ||
		 access("/sys/module/kvm_intel", F_OK) == 0 ||
		 access("/sys/module/kvm_amd", F_OK) == 0)
		kind = kvm_hardware_kind();
	close(fd);
	return kind;
}

bool kvm_backend_boots_linux(enum kvm_backend backend)
{
	return backend == KVM_BACKEND_VMX || backend == KVM_BACKEND_SVM;
}

const char *kvm_backend_name(enum kvm_backend backend)
{
	switch (backend) {
	case KVM_BACKEND_VMX:
		return "vmx (hardware KVM, kvm_intel)";
	case KVM_BACKEND_SVM:
		return "svm (hardware KVM, kvm_amd)";
	case KVM_BACKEND_PVM:
		return "pvm (guest ring 0 is emulated; stock kernels cannot boot)";
	case KVM_BACKEND_NONE:
		return "none (no /dev/kvm: load kvm_intel or kvm_amd, or use a host that has them)";
	case KVM_BACKEND_NO_ACCESS:
		return "no access (cannot open /dev/kvm: join the 'kvm' group or run as root)";
	case KVM_BACKEND_NOT_KVM:
		return "none (/dev/kvm is not a KVM device)";
	default:
		return "unknown (a /dev/kvm that is neither VMX/SVM nor PVM)";
	}
}
