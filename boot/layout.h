/* Guest-physical memory map of an x86_64 microvmm guest: every fixed address in one place. */
#ifndef MICROVMM_BOOT_LAYOUT_H
#define MICROVMM_BOOT_LAYOUT_H

/*
 * The map follows the Linux boot protocol (Documentation/arch/x86/boot.rst)
 * and leaves the legacy areas where firmware-less kernels expect them.
 *
 *   0x0000_0000  real-mode IVT/BDA page (zeroed)
 *   0x0000_0500  boot GDT
 *   0x0000_0540  boot IDT (empty: an early fault is a triple fault we see)
 *   0x0000_6000  PVH: hvm_start_info, its module list, its memory map
 *   0x0000_7000  zero page (struct boot_params)
 *   0x0000_8ff0  initial stack pointer
 *   0x0000_9000  PML4, PDPT, then four PDs identity-mapping 0..4 GiB
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  .. 0x000f_ffff e820-reserved: ACPI tables, RSDP at 0xe0000
 *   0x000f_fff0  reset stub where the BIOS reset entry would be (F000:FFF0)
 *   0x0010_0000  bzImage protected-mode payload
 *   top of low RAM  initrd (page aligned)
 *   0xc000_0000  .. 0xdfff_ffff PCI 32-bit MMIO window (BARs)
 *   0xe000_0000  reserved for a future ECAM window
 *   0xfec0_0000  IOAPIC, 0xfee0_0000 LAPIC (in-kernel)
 *   0xfffb_c000  KVM identity-map page, 0xfffb_d000 KVM TSS (3 pages)
 *   0x1_0000_0000  RAM above the 3 GiB hole continues here
 */

#define LAYOUT_BOOT_GDT 0x500ULL
#define LAYOUT_BOOT_IDT 0x540ULL /* after the GDT's 6 entries */
/* PVH boot (boot/linux_boot.c): start info, one module (the initrd), up to 128 map entries. */
#define LAYOUT_PVH_START_INFO 0x6000ULL
#define LAYOUT_PVH_MODLIST    0x6040ULL
#define LAYOUT_PVH_MEMMAP     0x6080ULL /* 128 * 24 bytes: below the zero page */
#define LAYOUT_ZERO_PAGE      0x7000ULL
#define LAYOUT_BOOT_STACK     0x8ff0ULL
#define LAYOUT_PML4	      0x9000ULL
#define LAYOUT_PDPT	      0xa000ULL
#define LAYOUT_PD	      0xb000ULL /* four pages: 0xb000..0xefff */
#define LAYOUT_PD_COUNT	      4
#define LAYOUT_CMDLINE	      0x20000ULL
#define LAYOUT_CMDLINE_MAX    0x10000ULL /* the kernel's own cmdline_size caps it further */

/* e820 RAM ends here below 1 MiB; the rest up to 1 MiB is reserved. */
#define LAYOUT_LOW_RAM_END 0x9fc00ULL
#define LAYOUT_ACPI_START  0xe0000ULL /* RSDP first, then the other tables */
#define LAYOUT_ACPI_END	   0xf0000ULL /* the BIOS segment F000 stays free */
/* Real-mode BIOS reset entry F000:FFF0, where Linux's reboot=b (and EFI's fallback) jumps. */
#define LAYOUT_RESET_STUB 0xffff0ULL

#define LAYOUT_KERNEL_LOAD    0x100000ULL
#define LAYOUT_HIGH_MEM_START 0x100000ULL

/* RAM below the PCI hole ends at 3 GiB at most (acpi-notes section 5). */
#define LAYOUT_MEM32_END	0xc0000000ULL
#define LAYOUT_PCI_MMIO32_START 0xc0000000ULL
#define LAYOUT_PCI_MMIO32_END	0xe0000000ULL /* exclusive */
#define LAYOUT_ECAM_START	0xe0000000ULL
#define LAYOUT_IOAPIC		0xfec00000ULL
#define LAYOUT_LAPIC		0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xfffbc000ULL
#define LAYOUT_KVM_TSS		0xfffbd000ULL
#define LAYOUT_MEM_ABOVE_4G	0x100000000ULL

/* Legacy I/O ports. */
#define LAYOUT_PORT_COM1	  0x3f8
#define LAYOUT_IRQ_COM1		  4
#define LAYOUT_PORT_I8042_CMD	  0x64
#define LAYOUT_PORT_PVPANIC	  0x505
#define LAYOUT_PORT_PCI_CONF_ADDR 0xcf8
#define LAYOUT_PORT_PCI_CONF_DATA 0xcfc
/* ACPI hardware-reduced registers (ACPI 6.5 sections 4.8.3.6 and 4.8.3.7). */
#define LAYOUT_PORT_SLEEP_CONTROL 0x600
#define LAYOUT_PORT_SLEEP_STATUS  0x601
#define LAYOUT_PORT_RESET	  0x602
#define LAYOUT_RESET_VALUE	  0x01

/* Interrupt lines: GSIs 0..23 are the IOAPIC pins; MSI routes start above. */
#define LAYOUT_GSI_IOAPIC_PINS 24
#define LAYOUT_GSI_MSI_START   24

#endif
