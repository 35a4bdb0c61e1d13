/* Linux 64-bit boot protocol: zero page, command line, e820, page tables and entry registers. */
#include "boot/linux_boot.h"

#include <errno.h>
#include <string.h>

#include "boot/e820.h"
#include "boot/layout.h"
#include "boot/le.h"
#include "boot/reset_stub.h"

/* Zero-page offsets (Documentation/arch/x86/zero-page.rst and boot.rst). */
#define ZP_ACPI_RSDP_ADDR    0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES	     0x1e8
#define ZP_TYPE_OF_LOADER    0x210
#define ZP_LOADFLAGS	     0x211
#define ZP_RAMDISK_IMAGE     0x218
#define ZP_RAMDISK_SIZE	     0x21c
#define ZP_HEAP_END_PTR	     0x224
#define ZP_CMD_LINE_PTR	     0x228
#define ZP_E820_TABLE	     0x2d0
#define ZP_SIZE		     0x1000

#define LOADER_UNDEFINED      0xff /* boot.rst: "0xFF = undefined" boot loader id */
#define LOADFLAG_CAN_USE_HEAP 0x80
#define HEAP_END	      0xfe00

#define PAGE_SIZE      4096ULL
#define PTE_PRESENT_RW 0x03ULL
#define PDE_2M_PAGE    0x83ULL /* present, writable, page size */

#define X86_CR0_PE   0x1ULL
#define X86_CR0_MP   0x2ULL
#define X86_CR0_ET   0x10ULL
#define X86_CR0_NE   0x20ULL
#define X86_CR0_PG   0x80000000ULL
#define X86_CR4_PAE  0x20ULL
#define X86_EFER_LME 0x100ULL
#define X86_EFER_LMA 0x400ULL

/* GDT: boot.rst requires __BOOT_CS = 0x10 and __BOOT_DS = 0x18. */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_DATA   0x00cf93000000ffffULL
#define GDT_TSS64  0x00008b0000000067ULL
/* null, null, code, data, then a 64-bit TSS descriptor, which takes two slots. */
#define GDT_ENTRIES 6
_Static_assert(LAYOUT_BOOT_GDT + GDT_ENTRIES * 8 <= LAYOUT_BOOT_IDT, "boot GDT overlaps the IDT");

uint64_t linux_boot_kernel_end(const struct bzimage *image)
{
	uint64_t run =
	    image->pref_address > LAYOUT_KERNEL_LOAD ? image->pref_address : LAYOUT_KERNEL_LOAD;
	return run + image->init_size;
}

int linux_boot_check_kernel_fits(const struct guest_ram *ram, const struct bzimage *image)
{
	uint64_t low_end = guest_ram_low_end(ram);

	if (LAYOUT_KERNEL_LOAD + image->payload_size > low_end ||
	    linux_boot_kernel_end(image) > low_end)
		return -ENOMEM;
	return 0;
}

int linux_boot_place_initrd(const struct guest_ram *ram, const struct bzimage *image, uint64_t size,
			    uint64_t *gpa)
{
	uint64_t top = guest_ram_low_end(ram);
	uint64_t limit = (uint64_t)image->initrd_addr_max + 1;

	if (top > limit)
		top = limit;
	if (size > top)
		return -ENOMEM;
	uint64_t start = (top - size) & ~(PAGE_SIZE - 1);

	if (start < linux_boot_kernel_end(image))
		return -ENOMEM;
	*gpa = start;
	return 0;
}

static int linux_boot_page_tables(const struct guest_ram *ram)
{
	uint8_t *pml4 = guest_ram_ptr(ram, LAYOUT_PML4, PAGE_SIZE);
	uint8_t *pdpt = guest_ram_ptr(ram, LAYOUT_PDPT, PAGE_SIZE);
	uint8_t *pd = guest_ram_ptr(ram, LAYOUT_PD, PAGE_SIZE * LAYOUT_PD_COUNT);

	if (!pml4 || !pdpt || !pd)
		return -ENOMEM;
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	le_put64(pml4, LAYOUT_PDPT | PTE_PRESENT_RW);
	/* Identity-map 0..4 GiB with 2 MiB pages: kernel, zero page, cmdline, initrd. */
	for (uint64_t i = 0; i < LAYOUT_PD_COUNT; i++)
		le_put64(pdpt + i * 8, (LAYOUT_PD + i * PAGE_SIZE) | PTE_PRESENT_RW);
	for (uint64_t i = 0; i < 512 * LAYOUT_PD_COUNT; i++)
		le_put64(pd + i * 8, (i << 21) | PDE_2M_PAGE);
	return 0;
}

static int linux_boot_gdt(const struct guest_ram *ram, struct boot_cpu_state *cpu)
{
	static const uint64_t gdt[GDT_ENTRIES] = {0, 0, GDT_CODE64, GDT_DATA, GDT_TSS64, 0};
	uint8_t *g = guest_ram_ptr(ram, LAYOUT_BOOT_GDT, sizeof(gdt));
	uint8_t *idt = guest_ram_ptr(ram, LAYOUT_BOOT_IDT, 8);

	if (!g || !idt)
		return -ENOMEM;
	for (unsigned int i = 0; i < GDT_ENTRIES; i++)
		le_put64(g + i * 8, gdt[i]);
	memset(idt, 0, 8);
	cpu->gdt_base = LAYOUT_BOOT_GDT;
	cpu->gdt_limit = sizeof(gdt) - 1;
	/* An empty IDT: any early exception becomes a triple fault the VMM sees. */
	cpu->idt_base = LAYOUT_BOOT_IDT;
	cpu->idt_limit = 7;
	cpu->code_selector = 2 * 8;
	cpu->data_selector = 3 * 8;
	cpu->tss_selector = 4 * 8;
	return 0;
}

static int linux_boot_cmdline(const struct guest_ram *ram, const struct linux_boot_args *args)
{
	const char *cmdline = args->cmdline ? args->cmdline : "";
	size_t len = strlen(cmdline);
	uint64_t max = args->image->cmdline_max;

	if (max > LAYOUT_CMDLINE_MAX - 1)
		max = LAYOUT_CMDLINE_MAX - 1;
	if (len > max)
		return -E2BIG;
	char *dst = guest_ram_ptr(ram, LAYOUT_CMDLINE, len + 1);

	if (!dst)
		return -ENOMEM;
	memcpy(dst, cmdline, len + 1);
	return 0;
}

static int linux_boot_zero_page(const struct guest_ram *ram, const struct linux_boot_args *args)
{
	uint8_t *zp = guest_ram_ptr(ram, LAYOUT_ZERO_PAGE, ZP_SIZE);
	struct e820_entry e820[E820_MAX_ENTRIES];
	int n = e820_build(ram, e820, E820_MAX_ENTRIES);

	if (!zp)
		return -ENOMEM;
	if (n < 0)
		return n;
	/*
	 * Copy only the setup header: bytes outside it (the 0x1ef sentinel
	 * among them) make sanitize_boot_params() wipe fields we set, such as
	 * acpi_rsdp_addr.
	 */
	memset(zp, 0, ZP_SIZE);
	memcpy(zp + BZIMAGE_SETUP_HEADER_START, args->image_head + BZIMAGE_SETUP_HEADER_START,
	       args->image->header_end - BZIMAGE_SETUP_HEADER_START);
	zp[ZP_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[ZP_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
	le_put16(zp + ZP_HEAP_END_PTR, HEAP_END);
	le_put32(zp + ZP_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);
	le_put32(zp + ZP_EXT_CMD_LINE_PTR, (uint32_t)(LAYOUT_CMDLINE >> 32));
	le_put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)args->initrd_gpa);
	le_put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(args->initrd_gpa >> 32));
	le_put32(zp + ZP_RAMDISK_SIZE, (uint32_t)args->initrd_size);
	le_put32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(args->initrd_size >> 32));
	le_put64(zp + ZP_ACPI_RSDP_ADDR, args->rsdp_gpa);
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	memcpy(zp + ZP_E820_TABLE, e820, (size_t)n * sizeof(e820[0]));
	return 0;
}

/*
 * xen/include/public/arch-x86/hvm/start_info.h, version 1 (with a memory
 * map): what the PVH entry finds at %ebx. Linux's pvh_start_xen copies it
 * into its own boot_params (arch/x86/platform/pvh/enlighten.c) at once.
 */
#define PVH_START_MAGIC	  0x336ec578U /* "xEn3" */
#define PVH_START_VERSION 1
#define PVH_SI_MAGIC	  0x00
#define PVH_SI_VERSION	  0x04
#define PVH_SI_NR_MODULES 0x0c
#define PVH_SI_MODLIST	  0x10
#define PVH_SI_CMDLINE	  0x18
#define PVH_SI_RSDP	  0x20
#define PVH_SI_MEMMAP	  0x28
#define PVH_SI_MEMMAP_NR  0x30
#define PVH_SI_SIZE	  0x38
#define PVH_MOD_SIZE	  0x20 /* paddr, size, cmdline_paddr, reserved */
#define PVH_MEMMAP_ENTRY  0x18 /* addr, size, type, reserved */
_Static_assert(LAYOUT_PVH_START_INFO + PVH_SI_SIZE <= LAYOUT_PVH_MODLIST, "start info fits");
_Static_assert(LAYOUT_PVH_MODLIST + PVH_MOD_SIZE <= LAYOUT_PVH_MEMMAP, "module list fits");
_Static_assert(LAYOUT_PVH_MEMMAP + E820_MAX_ENTRIES * PVH_MEMMAP_ENTRY <= LAYOUT_ZERO_PAGE,
	       "memory map fits below the zero page");

/*
 * The PVH boot ABI (Xen docs/misc/pvh.pandoc): hvm_start_info at %ebx, the
 * vCPU in 32-bit protected mode with paging off, flat 4 GiB segments, IF
 * clear. The zero page written before stays unused.
 */
static int linux_boot_pvh(const struct guest_ram *ram, const struct linux_boot_args *args,
			  struct boot_cpu_state *cpu)
{
	struct e820_entry e820[E820_MAX_ENTRIES];
	int n = e820_build(ram, e820, E820_MAX_ENTRIES);
	uint8_t *si =
	    guest_ram_ptr(ram, LAYOUT_PVH_START_INFO, LAYOUT_ZERO_PAGE - LAYOUT_PVH_START_INFO);

	if (!si)
		return -ENOMEM;
	if (n < 0)
		return n;
	memset(si, 0, LAYOUT_ZERO_PAGE - LAYOUT_PVH_START_INFO);
	le_put32(si + PVH_SI_MAGIC, PVH_START_MAGIC);
	le_put32(si + PVH_SI_VERSION, PVH_START_VERSION);
	le_put64(si + PVH_SI_CMDLINE, LAYOUT_CMDLINE);
	le_put64(si + PVH_SI_RSDP, args->rsdp_gpa);
	if (args->initrd_size) {
		/* "The first module is always ramdisk" (init_pvh_bootparams). */
		uint8_t *mod = si + (LAYOUT_PVH_MODLIST - LAYOUT_PVH_START_INFO);

		le_put32(si + PVH_SI_NR_MODULES, 1);
		le_put64(si + PVH_SI_MODLIST, LAYOUT_PVH_MODLIST);
		le_put64(mod, args->initrd_gpa);
		le_put64(mod + 8, args->initrd_size);
	}
	le_put64(si + PVH_SI_MEMMAP, LAYOUT_PVH_MEMMAP);
	le_put32(si + PVH_SI_MEMMAP_NR, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t *entry =
		    si + (LAYOUT_PVH_MEMMAP - LAYOUT_PVH_START_INFO) + (size_t)i * PVH_MEMMAP_ENTRY;

		/* XEN_HVM_MEMMAP_TYPE_* use the e820 numbers. */
		le_put64(entry, e820[i].addr);
		le_put64(entry + 8, e820[i].size);
		le_put32(entry + 16, e820[i].type);
	}
	cpu->long_mode = false;
	cpu->rip = args->pvh_entry;
	cpu->rbx = LAYOUT_PVH_START_INFO;
	cpu->rsp = LAYOUT_BOOT_STACK;
	cpu->rflags = 0x2;
	cpu->cr0 = X86_CR0_PE | X86_CR0_ET;
	return 0;
}

int linux_boot_setup(const struct guest_ram *ram, const struct linux_boot_args *args,
		     struct boot_cpu_state *cpu)
{
	int ret;

	memset(cpu, 0, sizeof(*cpu));
	ret = linux_boot_cmdline(ram, args);
	if (!ret)
		ret = linux_boot_zero_page(ram, args);
	if (!ret)
		ret = linux_boot_page_tables(ram);
	if (!ret)
		ret = linux_boot_gdt(ram, cpu);
	if (!ret)
		ret = reset_stub_write(ram);
	if (ret)
		return ret;
	if (args->pvh_entry)
		return linux_boot_pvh(ram, args, cpu);
	/*
	 * boot.rst: 64-bit entry at load address + 0x200 (the decompressor), or
	 * a vmlinux's own entry (startup_64, as the decompressor would jump to
	 * it); %rsi = zero page, IF clear.
	 */
	cpu->long_mode = true;
	cpu->rip = args->entry ? args->entry : LAYOUT_KERNEL_LOAD + 0x200;
	cpu->rsi = LAYOUT_ZERO_PAGE;
	cpu->rsp = LAYOUT_BOOT_STACK;
	cpu->rflags = 0x2;
	/* KVM's reset CR0 has CD|NW set; the kernel expects caching enabled. */
	cpu->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	cpu->cr3 = LAYOUT_PML4;
	cpu->cr4 = X86_CR4_PAE;
	cpu->efer = X86_EFER_LME | X86_EFER_LMA;
	return 0;
}
