/* Unit tests for the Linux 64-bit boot setup (boot/linux_boot.c) on a fake, malloc'd guest RAM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "boot/le.h"
#include "boot/bzimage.h"
#include "boot/e820.h"
#include "boot/guest_ram.h"
#include "boot/layout.h"
#include "boot/linux_boot.h"
#include "boot/reset_stub.h"

#define MIB  (1ULL << 20)
#define GIB  (1ULL << 30)
#define PAGE 4096ULL

/* The fake guest: 64 MiB of low RAM backed by the host, plus 1 GiB at 4 GiB left unmapped. */
#define FAKE_LOW_SIZE  (64 * MIB)
#define FAKE_HIGH_SIZE (1 * GIB)
/* What linux_boot_setup must not leave behind: it has to clear the zero page itself. */
#define POISON 0xcc

/* Setup header fields of the synthetic image (boot.rst). */
#define IMG_HEADER_END	    0x268
#define IMG_CMDLINE_SIZE    255u
#define IMG_INIT_SIZE	    (32 * MIB)
#define IMG_PREF_ADDRESS    (16 * MIB)
#define IMG_INITRD_ADDR_MAX 0x7fffffffu
#define IMG_FILE_SIZE	    (0x2000ULL + 4 * MIB)

/* Zero-page offsets (Documentation/arch/x86/zero-page.rst). */
#define ZP_ACPI_RSDP_ADDR    0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES	     0x1e8
#define ZP_SENTINEL	     0x1ef
#define ZP_SETUP_SECTS	     0x1f1
#define ZP_BOOT_FLAG	     0x1fe
#define ZP_HEADER_MAGIC	     0x202
#define ZP_VERSION	     0x206
#define ZP_TYPE_OF_LOADER    0x210
#define ZP_LOADFLAGS	     0x211
#define ZP_RAMDISK_IMAGE     0x218
#define ZP_RAMDISK_SIZE	     0x21c
#define ZP_HEAP_END_PTR	     0x224
#define ZP_CMD_LINE_PTR	     0x228
#define ZP_KERNEL_ALIGNMENT  0x230
#define ZP_PREF_ADDRESS	     0x258
#define ZP_INIT_SIZE	     0x260
#define ZP_E820_TABLE	     0x2d0

struct fixture {
	struct guest_ram ram;
	uint8_t *low;
	uint8_t head[BZIMAGE_HEADER_BYTES];
	struct bzimage image;
	struct linux_boot_args args;
	struct boot_cpu_state cpu;
};

/* A protocol 2.15 64-bit kernel image head, with bytes outside the setup header that must stay. */
static void build_head(uint8_t *head)
{
	memset(head, 0, BZIMAGE_HEADER_BYTES);
	head[ZP_SENTINEL] = 0xff; /* boot.rst: a loader that copies it triggers sanitize */
	head[ZP_SETUP_SECTS] = 15;
	le_put16(head + ZP_BOOT_FLAG, 0xaa55);
	head[0x200] = 0xeb;
	head[0x201] = IMG_HEADER_END - 0x202;
	memcpy(head + ZP_HEADER_MAGIC, "HdrS", 4);
	le_put16(head + ZP_VERSION, 0x020f);
	head[ZP_TYPE_OF_LOADER] = 0x00;
	head[ZP_LOADFLAGS] = 0x01; /* LOADED_HIGH */
	le_put32(head + 0x22c, IMG_INITRD_ADDR_MAX);
	le_put32(head + ZP_KERNEL_ALIGNMENT, 0x200000);
	le_put16(head + 0x236, 0x0001); /* XLF_KERNEL_64 */
	le_put32(head + 0x238, IMG_CMDLINE_SIZE);
	le_put64(head + ZP_PREF_ADDRESS, IMG_PREF_ADDRESS);
	le_put32(head + ZP_INIT_SIZE, IMG_INIT_SIZE);
	/* Past header_end: not part of the setup header, must not reach the zero page. */
	memset(head + IMG_HEADER_END, 0x5a, BZIMAGE_HEADER_BYTES - IMG_HEADER_END);
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->low = malloc(FAKE_LOW_SIZE);
	if (!f->low) {
		free(f);
		return -1;
	}
	memset(f->low, POISON, 2 * MIB);
	f->ram.regions[0] =
	    (struct guest_ram_region){.gpa = 0, .size = FAKE_LOW_SIZE, .host = f->low};
	f->ram.regions[1] =
	    (struct guest_ram_region){.gpa = LAYOUT_MEM_ABOVE_4G, .size = FAKE_HIGH_SIZE};
	f->ram.count = 2;
	f->ram.total = FAKE_LOW_SIZE + FAKE_HIGH_SIZE;
	build_head(f->head);
	if (bzimage_parse(f->head, sizeof(f->head), IMG_FILE_SIZE, &f->image)) {
		free(f->low);
		free(f);
		return -1;
	}
	f->args = (struct linux_boot_args){
	    .image = &f->image,
	    .image_head = f->head,
	    .cmdline = "console=ttyS0 panic=-1",
	    .initrd_gpa = 0x3f00000,
	    .initrd_size = 0x80000,
	    .rsdp_gpa = LAYOUT_ACPI_START,
	};
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	free(f->low);
	free(f);
	return 0;
}

static const uint8_t *zero_page(const struct fixture *f)
{
	return f->low + LAYOUT_ZERO_PAGE;
}

/* Walks the identity map the way the MMU would for a 2 MiB page; returns the physical address. */
static uint64_t walk(const struct fixture *f, uint64_t va)
{
	uint64_t pml4e = le_get64(f->low + LAYOUT_PML4 + ((va >> 39) & 0x1ff) * 8);
	uint64_t pdpte, pde;

	assert_true(pml4e & 1);
	pdpte = le_get64(f->low + (pml4e & ~0xfffULL) + ((va >> 30) & 0x1ff) * 8);
	assert_true(pdpte & 1);
	assert_false(pdpte & 0x80); /* not a 1 GiB page */
	pde = le_get64(f->low + (pdpte & ~0xfffULL) + ((va >> 21) & 0x1ff) * 8);
	assert_int_equal(pde & 0x83, 0x83); /* present, writable, 2 MiB */
	return (pde & ~0x1fffffULL & 0x000fffffffffffffULL) | (va & 0x1fffff);
}

/* ---- linux_boot_setup: command line ---- */

static void test_linux_boot_writes_nul_terminated_cmdline(void **state)
{
	struct fixture *f = *state;
	const char *want = f->args.cmdline;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	assert_memory_equal(f->low + LAYOUT_CMDLINE, want, strlen(want) + 1);
}

static void test_linux_boot_null_cmdline_writes_empty_string(void **state)
{
	struct fixture *f = *state;

	f->args.cmdline = NULL;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	assert_int_equal(f->low[LAYOUT_CMDLINE], 0);
}

static void test_linux_boot_accepts_cmdline_of_exactly_cmdline_max(void **state)
{
	struct fixture *f = *state;
	char line[IMG_CMDLINE_SIZE + 1];

	memset(line, 'a', IMG_CMDLINE_SIZE);
	line[IMG_CMDLINE_SIZE] = '\0';
	f->args.cmdline = line;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	assert_memory_equal(f->low + LAYOUT_CMDLINE, line, sizeof(line));
}

static void test_linux_boot_rejects_cmdline_longer_than_cmdline_max(void **state)
{
	struct fixture *f = *state;
	char line[IMG_CMDLINE_SIZE + 2];

	memset(line, 'a', IMG_CMDLINE_SIZE + 1);
	line[IMG_CMDLINE_SIZE + 1] = '\0';
	f->args.cmdline = line;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, -E2BIG);
	assert_int_equal(f->low[LAYOUT_CMDLINE], POISON); /* nothing written */
}

/* ---- linux_boot_setup: zero page ---- */

static void test_linux_boot_zero_page_loader_fields(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	const uint8_t *zp = zero_page(f);

	assert_int_equal(zp[ZP_TYPE_OF_LOADER], 0xff);
	/* LOADED_HIGH from the image stays, CAN_USE_HEAP is added. */
	assert_int_equal(zp[ZP_LOADFLAGS], 0x81);
	assert_int_equal(le_get16(zp + ZP_HEAP_END_PTR), 0xfe00);
	assert_int_equal(le_get32(zp + ZP_CMD_LINE_PTR), LAYOUT_CMDLINE);
	assert_int_equal(le_get32(zp + ZP_EXT_CMD_LINE_PTR), 0);
	assert_int_equal(le_get64(zp + ZP_ACPI_RSDP_ADDR), LAYOUT_ACPI_START);
}

static void test_linux_boot_zero_page_ramdisk_fields(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	const uint8_t *zp = zero_page(f);

	assert_int_equal(le_get32(zp + ZP_RAMDISK_IMAGE), 0x3f00000);
	assert_int_equal(le_get32(zp + ZP_RAMDISK_SIZE), 0x80000);
	assert_int_equal(le_get32(zp + ZP_EXT_RAMDISK_IMAGE), 0);
	assert_int_equal(le_get32(zp + ZP_EXT_RAMDISK_SIZE), 0);
}

static void test_linux_boot_zero_page_splits_ramdisk_above_4g_into_ext_fields(void **state)
{
	struct fixture *f = *state;

	f->args.initrd_gpa = 0x123456000ULL;
	f->args.initrd_size = 0x100001000ULL;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	const uint8_t *zp = zero_page(f);

	assert_int_equal(le_get32(zp + ZP_RAMDISK_IMAGE), 0x23456000);
	assert_int_equal(le_get32(zp + ZP_EXT_RAMDISK_IMAGE), 0x1);
	assert_int_equal(le_get32(zp + ZP_RAMDISK_SIZE), 0x1000);
	assert_int_equal(le_get32(zp + ZP_EXT_RAMDISK_SIZE), 0x1);
}

static void test_linux_boot_zero_page_without_initrd_or_rsdp_is_zero(void **state)
{
	struct fixture *f = *state;

	f->args.initrd_gpa = 0;
	f->args.initrd_size = 0;
	f->args.rsdp_gpa = 0;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	const uint8_t *zp = zero_page(f);

	assert_int_equal(le_get32(zp + ZP_RAMDISK_IMAGE), 0);
	assert_int_equal(le_get32(zp + ZP_RAMDISK_SIZE), 0);
	assert_int_equal(le_get64(zp + ZP_ACPI_RSDP_ADDR), 0);
}

static void test_linux_boot_zero_page_holds_e820_map(void **state)
{
	struct fixture *f = *state;
	struct e820_entry want[E820_MAX_ENTRIES];
	int n = e820_build(&f->ram, want, E820_MAX_ENTRIES);

	assert_int_equal(n, 4);

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	const uint8_t *zp = zero_page(f);

	assert_int_equal(zp[ZP_E820_ENTRIES], 4);
	assert_memory_equal(zp + ZP_E820_TABLE, want, 4 * sizeof(want[0]));
	/* Spot-check the raw layout: entry 3 is RAM at 4 GiB, 20 bytes per entry. */
	assert_int_equal(le_get64(zp + ZP_E820_TABLE + 3 * 20), LAYOUT_MEM_ABOVE_4G);
	assert_int_equal(le_get64(zp + ZP_E820_TABLE + 3 * 20 + 8), FAKE_HIGH_SIZE);
	assert_int_equal(le_get32(zp + ZP_E820_TABLE + 3 * 20 + 16), E820_RAM);
	assert_int_equal(le_get32(zp + ZP_E820_TABLE + 1 * 20 + 16), E820_RESERVED);
	/* The slot after the last entry is cleared, not left poisoned. */
	assert_int_equal(le_get64(zp + ZP_E820_TABLE + 4 * 20), 0);
}

static void test_linux_boot_copies_setup_header_only(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	const uint8_t *zp = zero_page(f);

	/* Inside [0x1f1, header_end): copied from the image. */
	assert_int_equal(zp[ZP_SETUP_SECTS], 15);
	assert_int_equal(le_get16(zp + ZP_BOOT_FLAG), 0xaa55);
	assert_memory_equal(zp + ZP_HEADER_MAGIC, "HdrS", 4);
	assert_int_equal(le_get16(zp + ZP_VERSION), 0x020f);
	assert_int_equal(le_get32(zp + ZP_KERNEL_ALIGNMENT), 0x200000);
	assert_int_equal(le_get64(zp + ZP_PREF_ADDRESS), IMG_PREF_ADDRESS);
	assert_int_equal(le_get32(zp + ZP_INIT_SIZE), IMG_INIT_SIZE);
	/* Outside it: the sentinel and the bytes past header_end stay zero. */
	assert_int_equal(zp[ZP_SENTINEL], 0);
	for (size_t i = IMG_HEADER_END; i < BZIMAGE_SETUP_HEADER_MAX_END; i++)
		assert_int_equal(zp[i], 0);
	/* And the rest of the page was cleared, not left with old contents. */
	assert_int_equal(zp[0], 0);
	assert_int_equal(zp[0x1f0], 0);
	assert_int_equal(zp[0xfff], 0);
}

/* ---- linux_boot_setup: registers, page tables, GDT ---- */

static void test_linux_boot_returns_64bit_entry_registers(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	assert_int_equal(f->cpu.rip, 0x100200);
	assert_int_equal(f->cpu.rsi, 0x7000);
	assert_int_equal(f->cpu.rsp, LAYOUT_BOOT_STACK);
	assert_int_equal(f->cpu.rflags & 0x200, 0); /* IF clear */
	assert_int_equal(f->cpu.rflags & 0x2, 0x2); /* reserved bit 1 set */
	assert_int_equal(f->cpu.cr0 & 0x80000001ULL, 0x80000001ULL);
	assert_int_equal(f->cpu.cr0 & 0x60000000ULL, 0); /* CD and NW clear */
	assert_int_equal(f->cpu.cr4 & 0x20, 0x20);	 /* PAE */
	assert_int_equal(f->cpu.efer & 0x500, 0x500);	 /* LME | LMA */
	assert_int_equal(f->cpu.cr3, LAYOUT_PML4);
	assert_int_equal(f->cpu.code_selector, 0x10); /* __BOOT_CS */
	assert_int_equal(f->cpu.data_selector, 0x18); /* __BOOT_DS */
}

/* PVH (Xen docs/misc/pvh.pandoc): hvm_start_info at %ebx, 32-bit protected mode, paging off. */
static void test_linux_boot_pvh_writes_start_info_and_32bit_registers(void **state)
{
	struct fixture *f = *state;
	const uint8_t *si = f->low + LAYOUT_PVH_START_INFO;
	const uint8_t *mod = f->low + LAYOUT_PVH_MODLIST;
	const uint8_t *map = f->low + LAYOUT_PVH_MEMMAP;
	const uint8_t *zp = zero_page(f);

	f->args.pvh_entry = 0x1000850;
	assert_int_equal(linux_boot_setup(&f->ram, &f->args, &f->cpu), 0);
	assert_false(f->cpu.long_mode);
	assert_int_equal(f->cpu.rip, 0x1000850);
	assert_int_equal(f->cpu.rbx, LAYOUT_PVH_START_INFO);
	assert_int_equal(f->cpu.cr0 & 0x80000001ULL, 0x1); /* PE, not PG */
	assert_int_equal(f->cpu.cr4, 0);
	assert_int_equal(f->cpu.efer, 0);
	assert_int_equal(f->cpu.rflags, 0x2);
	assert_int_equal(le_get32(si), 0x336ec578); /* XEN_HVM_START_MAGIC_VALUE */
	assert_int_equal(le_get32(si + 4), 1);	    /* version 1: with a memory map */
	assert_int_equal(le_get32(si + 12), 1);	    /* nr_modules: the initrd */
	assert_int_equal(le_get64(si + 16), LAYOUT_PVH_MODLIST);
	assert_int_equal(le_get64(si + 24), LAYOUT_CMDLINE);
	assert_int_equal(le_get64(si + 32), LAYOUT_ACPI_START);
	assert_int_equal(le_get64(si + 40), LAYOUT_PVH_MEMMAP);
	assert_int_equal(le_get64(mod), 0x3f00000);
	assert_int_equal(le_get64(mod + 8), 0x80000);
	/* The same map the zero page holds, entry for entry, in 24-byte records. */
	assert_int_equal(le_get32(si + 48), zp[ZP_E820_ENTRIES]);
	for (unsigned int i = 0; i < zp[ZP_E820_ENTRIES]; i++) {
		const uint8_t *e820 = zp + ZP_E820_TABLE + i * 20;

		assert_int_equal(le_get64(map + i * 24), le_get64(e820));
		assert_int_equal(le_get64(map + i * 24 + 8), le_get64(e820 + 8));
		assert_int_equal(le_get32(map + i * 24 + 16), le_get32(e820 + 16));
	}
	assert_string_equal((const char *)f->low + LAYOUT_CMDLINE, "console=ttyS0 panic=-1");
}

static void test_linux_boot_pvh_without_initrd_has_no_module(void **state)
{
	struct fixture *f = *state;

	f->args.pvh_entry = 0x1000850;
	f->args.initrd_size = 0;
	assert_int_equal(linux_boot_setup(&f->ram, &f->args, &f->cpu), 0);
	assert_int_equal(le_get32(f->low + LAYOUT_PVH_START_INFO + 12), 0);
	assert_int_equal(le_get64(f->low + LAYOUT_PVH_START_INFO + 16), 0);
}

static void test_linux_boot_page_tables_point_down_the_hierarchy(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	assert_int_equal(le_get64(f->low + LAYOUT_PML4), LAYOUT_PDPT | 0x3);
	assert_int_equal(le_get64(f->low + LAYOUT_PML4 + 8), 0);
	assert_int_equal(le_get64(f->low + LAYOUT_PML4 + 511 * 8), 0);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(le_get64(f->low + LAYOUT_PDPT + i * 8),
				 (LAYOUT_PD + i * PAGE) | 0x3);
	assert_int_equal(le_get64(f->low + LAYOUT_PDPT + 4 * 8), 0);
}

static void test_linux_boot_page_tables_use_2m_identity_pdes(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	assert_int_equal(le_get64(f->low + LAYOUT_PD), 0x83);
	assert_int_equal(le_get64(f->low + LAYOUT_PD + 8), 0x200083);
	assert_int_equal(le_get64(f->low + LAYOUT_PD + 511 * 8), 0x3fe00083);
	assert_int_equal(le_get64(f->low + LAYOUT_PD + PAGE), 0x40000083);
	assert_int_equal(le_get64(f->low + LAYOUT_PD + 3 * PAGE + 511 * 8), 0xffe00083);
}

static void test_linux_boot_page_tables_identity_map_0_to_4g(void **state)
{
	static const uint64_t probes[] = {
	    0x0,	LAYOUT_ZERO_PAGE, LAYOUT_CMDLINE + 5, 0x100200,	  0x1234567,  0x7fffffff,
	    0x80000000, 0xbffff000,	  0xfec00000,	      0xfee00010, 0xffffffff,
	};
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		assert_int_equal(walk(f, probes[i]), probes[i]);
}

static void test_linux_boot_gdt_holds_boot_segments(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	const uint8_t *gdt = f->low + f->cpu.gdt_base;
	uint64_t cs = le_get64(gdt + f->cpu.code_selector);
	uint64_t ds = le_get64(gdt + f->cpu.data_selector);

	assert_int_equal(le_get64(gdt), 0);	   /* null descriptor */
	assert_int_equal((cs >> 40) & 0x9a, 0x9a); /* present, code, readable */
	assert_int_equal((cs >> 53) & 1, 1);	   /* L: 64-bit code */
	assert_int_equal((ds >> 40) & 0x92, 0x92); /* present, data, writable */
	assert_true(f->cpu.code_selector + 7u <= f->cpu.gdt_limit);
	assert_true(f->cpu.data_selector + 7u <= f->cpu.gdt_limit);
}

static void test_linux_boot_gdt_keeps_tss_descriptor(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	uint64_t tss = le_get64(f->low + f->cpu.gdt_base + f->cpu.tss_selector);

	assert_true(f->cpu.tss_selector + 7u <= f->cpu.gdt_limit);
	/* Present (bit 47), type 0xb: busy 64-bit TSS, as the sregs TR says. */
	assert_int_equal((tss >> 40) & 0x8f, 0x8b);
}

static void test_linux_boot_gdt_and_idt_do_not_overlap(void **state)
{
	struct fixture *f = *state;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	uint64_t gdt_end = f->cpu.gdt_base + f->cpu.gdt_limit + 1;
	uint64_t idt_end = f->cpu.idt_base + f->cpu.idt_limit + 1;

	assert_true(gdt_end <= f->cpu.idt_base || idt_end <= f->cpu.gdt_base);
}

static void test_linux_boot_fails_on_unmapped_ram(void **state)
{
	struct fixture *f = *state;

	f->ram.regions[0].host = NULL;

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, -ENOMEM);
}

/*
 * ---- the reset stub at F000:FFF0 ----
 * Reproduction of the hang it fixes: a guest booted with --cmdline
 * "console=ttyS0" (no reboot=) reboots through reboot_type EFI, which
 * without EFI falls back to a real-mode jump to F000:FFF0; that address held
 * zeros and the vCPU spun there forever (tests/integration/boot_stock_kernel.sh
 * runs it for real).
 */

static void test_linux_boot_writes_reset_stub_at_bios_reset_entry(void **state)
{
	struct fixture *f = *state;
	/* mov al, 1; mov dx, 0x602; out dx, al; cli; 1: hlt; jmp 1b */
	static const uint8_t want[RESET_STUB_SIZE] = {0xb0, 0x01, 0xba, 0x02, 0x06,
						      0xee, 0xfa, 0xf4, 0xeb, 0xfd};

	int ret = linux_boot_setup(&f->ram, &f->args, &f->cpu);

	assert_int_equal(ret, 0);
	assert_int_equal(LAYOUT_RESET_STUB, 0xf0000 + 0xfff0); /* F000:FFF0 */
	assert_int_equal(LAYOUT_PORT_RESET, 0x602);
	assert_int_equal(LAYOUT_RESET_VALUE, 0x01);
	assert_memory_equal(f->low + LAYOUT_RESET_STUB, want, sizeof(want));
	/* The rest of the segment up to 1 MiB stays untouched. */
	for (uint64_t a = LAYOUT_RESET_STUB + RESET_STUB_SIZE; a < LAYOUT_HIGH_MEM_START; a++)
		assert_int_equal(f->low[a], POISON);
}

/* The stub sits in e820-reserved memory, so the kernel never allocates over it. */
static void test_linux_boot_reset_stub_is_e820_reserved(void **state)
{
	struct fixture *f = *state;
	struct e820_entry map[E820_MAX_ENTRIES];
	int n = e820_build(&f->ram, map, E820_MAX_ENTRIES);
	bool reserved = false;

	assert_true(n > 0);
	for (int i = 0; i < n; i++)
		if (map[i].addr <= LAYOUT_RESET_STUB &&
		    LAYOUT_RESET_STUB + RESET_STUB_SIZE <= map[i].addr + map[i].size)
			reserved = map[i].type == E820_RESERVED;
	assert_true(reserved);
	assert_true(LAYOUT_ACPI_END <= LAYOUT_RESET_STUB);
}

/* ---- kernel footprint and initrd placement ---- */

static void test_linux_boot_kernel_end_is_pref_address_plus_init_size(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(linux_boot_kernel_end(&f->image), IMG_PREF_ADDRESS + IMG_INIT_SIZE);
	f->image.pref_address = 0x100000;
	assert_int_equal(linux_boot_kernel_end(&f->image), 0x100000 + IMG_INIT_SIZE);
}

static void test_linux_boot_places_initrd_page_aligned_at_top_of_low_ram(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	int ret = linux_boot_place_initrd(&f->ram, &f->image, 0x1800, &gpa);

	assert_int_equal(ret, 0);
	assert_int_equal(gpa & (PAGE - 1), 0);
	assert_int_equal(gpa, FAKE_LOW_SIZE - 0x2000);
	assert_true(gpa + 0x1800 <= FAKE_LOW_SIZE);
}

static void test_linux_boot_places_initrd_below_3g_not_above_4g(void **state)
{
	struct fixture *f = *state;
	struct guest_ram ram;
	uint64_t gpa = 0;

	assert_int_equal(guest_ram_layout(5 * GIB, &ram), 0);
	f->image.initrd_addr_max = 0xffffffff; /* no limit below 4 GiB */

	int ret = linux_boot_place_initrd(&ram, &f->image, 10 * MIB, &gpa);

	assert_int_equal(ret, 0);
	assert_int_equal(gpa, LAYOUT_MEM32_END - 10 * MIB);
}

static void test_linux_boot_places_initrd_below_initrd_addr_max(void **state)
{
	struct fixture *f = *state;
	struct guest_ram ram;
	uint64_t gpa = 0;

	assert_int_equal(guest_ram_layout(3 * GIB, &ram), 0);
	f->image.initrd_addr_max = 0x37ffffff; /* the pre-2.03 default */

	int ret = linux_boot_place_initrd(&ram, &f->image, 0x12345, &gpa);

	assert_int_equal(ret, 0);
	assert_int_equal(gpa & (PAGE - 1), 0);
	assert_true(gpa + 0x12345 - 1 <= 0x37ffffff);
	assert_int_equal(gpa, (0x38000000 - 0x12345) & ~(PAGE - 1));
}

static void test_linux_boot_places_initrd_right_after_kernel_when_tight(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;
	uint64_t room = FAKE_LOW_SIZE - (IMG_PREF_ADDRESS + IMG_INIT_SIZE);

	int ret = linux_boot_place_initrd(&f->ram, &f->image, room, &gpa);

	assert_int_equal(ret, 0);
	assert_int_equal(gpa, IMG_PREF_ADDRESS + IMG_INIT_SIZE);
}

static void test_linux_boot_rejects_initrd_overlapping_kernel(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0xdead;
	uint64_t room = FAKE_LOW_SIZE - (IMG_PREF_ADDRESS + IMG_INIT_SIZE);

	int ret = linux_boot_place_initrd(&f->ram, &f->image, room + 1, &gpa);

	assert_int_equal(ret, -ENOMEM);
	assert_int_equal(gpa, 0xdead);
}

static void test_linux_boot_rejects_initrd_larger_than_ram(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0xdead;

	assert_int_equal(linux_boot_place_initrd(&f->ram, &f->image, FAKE_LOW_SIZE + 1, &gpa),
			 -ENOMEM);
	assert_int_equal(linux_boot_place_initrd(&f->ram, &f->image, UINT64_MAX, &gpa), -ENOMEM);
	assert_int_equal(gpa, 0xdead);
}

static void test_linux_boot_kernel_fits_in_64m(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(linux_boot_check_kernel_fits(&f->ram, &f->image), 0);
}

static void test_linux_boot_kernel_fits_with_footprint_ending_at_ram_end(void **state)
{
	struct fixture *f = *state;

	f->image.init_size = (uint32_t)(FAKE_LOW_SIZE - IMG_PREF_ADDRESS);

	assert_int_equal(linux_boot_check_kernel_fits(&f->ram, &f->image), 0);
}

static void test_linux_boot_kernel_rejected_when_footprint_exceeds_low_ram(void **state)
{
	struct fixture *f = *state;

	f->image.init_size = (uint32_t)(FAKE_LOW_SIZE - IMG_PREF_ADDRESS + PAGE);

	assert_int_equal(linux_boot_check_kernel_fits(&f->ram, &f->image), -ENOMEM);
}

static void test_linux_boot_kernel_rejected_when_payload_exceeds_low_ram(void **state)
{
	struct fixture *f = *state;

	f->image.payload_size = FAKE_LOW_SIZE;

	assert_int_equal(linux_boot_check_kernel_fits(&f->ram, &f->image), -ENOMEM);
}

#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    FIXTURE_TEST(test_linux_boot_writes_nul_terminated_cmdline),
	    FIXTURE_TEST(test_linux_boot_null_cmdline_writes_empty_string),
	    FIXTURE_TEST(test_linux_boot_accepts_cmdline_of_exactly_cmdline_max),
	    FIXTURE_TEST(test_linux_boot_rejects_cmdline_longer_than_cmdline_max),
	    FIXTURE_TEST(test_linux_boot_zero_page_loader_fields),
	    FIXTURE_TEST(test_linux_boot_zero_page_ramdisk_fields),
	    FIXTURE_TEST(test_linux_boot_zero_page_splits_ramdisk_above_4g_into_ext_fields),
	    FIXTURE_TEST(test_linux_boot_zero_page_without_initrd_or_rsdp_is_zero),
	    FIXTURE_TEST(test_linux_boot_zero_page_holds_e820_map),
	    FIXTURE_TEST(test_linux_boot_copies_setup_header_only),
	    FIXTURE_TEST(test_linux_boot_returns_64bit_entry_registers),
	    FIXTURE_TEST(test_linux_boot_pvh_writes_start_info_and_32bit_registers),
	    FIXTURE_TEST(test_linux_boot_pvh_without_initrd_has_no_module),
	    FIXTURE_TEST(test_linux_boot_page_tables_point_down_the_hierarchy),
	    FIXTURE_TEST(test_linux_boot_page_tables_use_2m_identity_pdes),
	    FIXTURE_TEST(test_linux_boot_page_tables_identity_map_0_to_4g),
	    FIXTURE_TEST(test_linux_boot_gdt_holds_boot_segments),
	    FIXTURE_TEST(test_linux_boot_gdt_keeps_tss_descriptor),
	    FIXTURE_TEST(test_linux_boot_gdt_and_idt_do_not_overlap),
	    FIXTURE_TEST(test_linux_boot_fails_on_unmapped_ram),
	    FIXTURE_TEST(test_linux_boot_writes_reset_stub_at_bios_reset_entry),
	    FIXTURE_TEST(test_linux_boot_reset_stub_is_e820_reserved),
	    FIXTURE_TEST(test_linux_boot_kernel_end_is_pref_address_plus_init_size),
	    FIXTURE_TEST(test_linux_boot_places_initrd_page_aligned_at_top_of_low_ram),
	    FIXTURE_TEST(test_linux_boot_places_initrd_below_3g_not_above_4g),
	    FIXTURE_TEST(test_linux_boot_places_initrd_below_initrd_addr_max),
	    FIXTURE_TEST(test_linux_boot_places_initrd_right_after_kernel_when_tight),
	    FIXTURE_TEST(test_linux_boot_rejects_initrd_overlapping_kernel),
	    FIXTURE_TEST(test_linux_boot_rejects_initrd_larger_than_ram),
	    FIXTURE_TEST(test_linux_boot_kernel_fits_in_64m),
	    FIXTURE_TEST(test_linux_boot_kernel_fits_with_footprint_ending_at_ram_end),
	    FIXTURE_TEST(test_linux_boot_kernel_rejected_when_footprint_exceeds_low_ram),
	    FIXTURE_TEST(test_linux_boot_kernel_rejected_when_payload_exceeds_low_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
