/* x86_64 vCPU state: CPUID, MSRs, LAPIC LINTs and the boot registers. */
#include "vmm/arch/x86_64/cpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CPUID_MAX_ENTRIES 256

/* CPUID bits (Intel SDM vol. 2A, CPUID; AMD APM vol. 3 appendix E). */
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR	 (1u << 31)
#define CPUID_1_EDX_HTT		 (1u << 28)
#define CPUID_1_ECX_PDCM	 (1u << 15)

/* MSRs set at boot (Firecracker's boot MSR list; Intel SDM vol. 4). */
#define MSR_IA32_SYSENTER_CS		 0x174
#define MSR_IA32_SYSENTER_ESP		 0x175
#define MSR_IA32_SYSENTER_EIP		 0x176
#define MSR_STAR			 0xc0000081
#define MSR_LSTAR			 0xc0000082
#define MSR_CSTAR			 0xc0000083
#define MSR_SYSCALL_MASK		 0xc0000084
#define MSR_KERNEL_GS_BASE		 0xc0000102
#define MSR_IA32_TSC			 0x10
#define MSR_IA32_MISC_ENABLE		 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING 0x1
#define MSR_MTRR_DEF_TYPE		 0x2ff
#define MTRR_ENABLE			 0x800
#define MTRR_TYPE_WRBACK		 0x6

/* LAPIC LVT registers (Intel SDM vol. 3A §11.5.1): delivery mode in bits 10:8. */
#define APIC_LVT0	 0x350
#define APIC_LVT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

struct kvm_cpuid2 *cpu_supported_cpuid(int sys_fd)
{
	size_t bytes =
	    sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, bytes);

	if (!cpuid)
		return NULL;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		int saved = errno;

		free(cpuid);
		errno = saved;
		return NULL;
	}
	return cpuid;
}

static void cpu_adjust_cpuid_entry(struct kvm_cpuid_entry2 *e, unsigned int index,
				   unsigned int count, bool tsc_deadline)
{
	switch (e->function) {
	case 1:
		/* Without the hypervisor bit Linux never finds KVM's leaves or kvm-clock. */
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (tsc_deadline)
			e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
		e->ecx &= ~CPUID_1_ECX_PDCM; /* no PMU to describe */
		/* EBX: initial APIC ID 31:24, logical processor count 23:16, CLFLUSH size 15:8. */
		e->ebx = (index << 24) | ((count & 0xff) << 16) | (8u << 8);
		if (count > 1)
			e->edx |= CPUID_1_EDX_HTT;
		break;
	case 0xb:
	case 0x1f:
		/* x2APIC topology: every vCPU reports its own ID on every level. */
		e->edx = index;
		break;
	case 0x8000001e:
		/* AMD extended APIC ID; one core per compute unit. */
		e->eax = index;
		e->ebx = index & 0xff;
		break;
	default:
		break;
	}
}

static int cpu_set_cpuid(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int index,
			 unsigned int count, bool tsc_deadline)
{
	size_t bytes = sizeof(struct kvm_cpuid2) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(bytes);
	int ret = 0;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, supported, bytes);
	for (unsigned int i = 0; i < cpuid->nent; i++)
		cpu_adjust_cpuid_entry(&cpuid->entries[i], index, count, tsc_deadline);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		ret = -errno;
	free(cpuid);
	return ret;
}

static int cpu_set_msrs(int vcpu_fd)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} boot_msrs[] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_LSTAR, 0},
	    {MSR_IA32_TSC, 0},
	    {MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STRING},
	    {MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK},
	};
	enum { COUNT = sizeof(boot_msrs) / sizeof(boot_msrs[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[COUNT];
	} msrs;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = COUNT;
	for (unsigned int i = 0; i < COUNT; i++) {
		msrs.entries[i].index = boot_msrs[i].index;
		msrs.entries[i].data = boot_msrs[i].value;
	}
	/* KVM_SET_MSRS returns how many it set; all of these are architectural. */
	int n = ioctl(vcpu_fd, KVM_SET_MSRS, &msrs);

	if (n < 0)
		return -errno;
	return n == COUNT ? 0 : -EINVAL;
}

static void cpu_set_lvt(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &lapic->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&lapic->regs[reg], &v, sizeof(v));
}

static int cpu_set_lapic(int vcpu_fd)
{
	struct kvm_lapic_state lapic;

	if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	/* Virtual-wire mode: LINT0 ExtINT from the PIC, LINT1 NMI. */
	cpu_set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	cpu_set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int cpu_setup(int vcpu_fd, const struct kvm_cpuid2 *supported, unsigned int index,
	      unsigned int count, bool tsc_deadline)
{
	int ret = cpu_set_cpuid(vcpu_fd, supported, index, count, tsc_deadline);

	if (!ret)
		ret = cpu_set_msrs(vcpu_fd);
	if (!ret)
		ret = cpu_set_lapic(vcpu_fd);
	return ret;
}

/* A flat 4 GiB segment; a code one is 64-bit (L) in long mode, 32-bit (D/B) otherwise. */
static void cpu_flat_segment(struct kvm_segment *seg, uint16_t selector, uint8_t type, bool code,
			     bool long_mode)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
	seg->g = 1;
	seg->l = code && long_mode ? 1 : 0;
	seg->db = code && long_mode ? 0 : 1;
}

int cpu_load_boot_state(int vcpu_fd, const struct boot_cpu_state *state)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	cpu_flat_segment(&sregs.cs, state->code_selector, 0xb, true, state->long_mode);
	cpu_flat_segment(&sregs.ds, state->data_selector, 0x3, false, state->long_mode);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	/* VM entry needs a present busy TSS in TR (type 11: 64-bit, or 32-bit for PVH). */
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = state->tss_selector;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xb;
	sregs.tr.present = 1;
	sregs.gdt.base = state->gdt_base;
	sregs.gdt.limit = state->gdt_limit;
	sregs.idt.base = state->idt_base;
	sregs.idt.limit = state->idt_limit;
	sregs.cr0 = state->cr0;
	sregs.cr3 = state->cr3;
	sregs.cr4 = state->cr4;
	sregs.efer = state->efer;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rip = state->rip;
	regs.rsi = state->rsi;
	regs.rbx = state->rbx;
	regs.rsp = state->rsp;
	regs.rbp = state->rsp;
	regs.rflags = state->rflags;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* x87 default control word */
	fpu.mxcsr = 0x1f80; /* SSE default: all exceptions masked */
	if (ioctl(vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}
