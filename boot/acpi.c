/* ACPI tables for a hardware-reduced x86_64 guest, generated at run time (ACPI 6.5). */
#include "boot/acpi.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "boot/aml.h"
#include "boot/layout.h"

/* Tables are written as host structs: only correct on a little-endian host, like the guest. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");

#define ACPI_OEM_ID	      "MICROV"
#define ACPI_OEM_TABLE_ID     "MICROVMM"
#define ACPI_OEM_REVISION     1
#define ACPI_CREATOR_ID	      "MVMM"
#define ACPI_CREATOR_REVISION 1
#define ACPI_HYPERVISOR_ID    "MICROVMM"

/* Every table starts on an 8-byte boundary so 64-bit pointers in them are aligned. */
#define ACPI_TABLE_ALIGN 8

/* RSDP (ACPI 6.5 §5.2.5.3), revision 2: 20-byte v1 part plus the extended part. */
struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* bytes 0..19 */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

/* System Description Table header (§5.2.6). */
struct acpi_sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header is 36 bytes");

/* Generic Address Structure (§5.2.3.2). */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

#define ACPI_GAS_SYSTEM_IO   1
#define ACPI_GAS_ACCESS_BYTE 1

/* XSDT (§5.2.8) with the two tables we list. */
struct acpi_xsdt {
	struct acpi_sdt_header header;
	uint64_t entry[2]; /* FADT, MADT */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_xsdt) == 52, "XSDT with two entries is 52 bytes");

/* FADT (§5.2.9, Table 5.9), revision 6: offsets in the comments. */
struct acpi_fadt {
	struct acpi_sdt_header header;
	uint32_t firmware_ctrl; /* 36 */
	uint32_t dsdt;		/* 40 */
	uint8_t reserved0;	/* 44 */
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd; /* 48 */
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk; /* 56 */
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len; /* 88 */
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat; /* 96 */
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset; /* 104 */
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch; /* 109 */
	uint8_t reserved1;
	uint32_t flags;		   /* 112 */
	struct acpi_gas reset_reg; /* 116 */
	uint8_t reset_value;	   /* 128 */
	uint16_t arm_boot_arch;
	uint8_t minor_version;		/* 131 */
	uint64_t x_firmware_ctrl;	/* 132 */
	uint64_t x_dsdt;		/* 140 */
	struct acpi_gas x_pm1a_evt_blk; /* 148 */
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg; /* 244 */
	struct acpi_gas sleep_status_reg;  /* 256 */
	char hypervisor_vendor_id[8];	   /* 268 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH offset");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT offset");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT SLEEP_CONTROL offset");

/* FADT Flags (§5.2.9, Table 5.10). */
#define ACPI_FADT_PWR_BUTTON	  (1u << 4) /* no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON	  (1u << 5) /* no fixed-feature sleep button */
#define ACPI_FADT_RESET_REG_SUP	  (1u << 10)
#define ACPI_FADT_HW_REDUCED_ACPI (1u << 20)

/*
 * IA-PC Boot Architecture Flags (§5.2.9.3). Bit 3, MSI Not Supported, must
 * stay clear: Linux's acpi_pci_init() would call pci_no_msi() and virtio
 * would lose MSI-X. Bit 1 (8042) stays clear: there is none.
 */
#define ACPI_BOOT_ARCH_VGA_NOT_PRESENT	    (1u << 2)
#define ACPI_BOOT_ARCH_PCIE_ASPM_CONTROLS   (1u << 4)
#define ACPI_BOOT_ARCH_CMOS_RTC_NOT_PRESENT (1u << 5)

/* MADT (§5.2.12) fixed part and the three entry types we emit. */
struct acpi_madt {
	struct acpi_sdt_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT fixed part is 44 bytes");

struct acpi_madt_lapic { /* type 0, §5.2.12.2 */
	uint8_t type;
	uint8_t length;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT Local APIC is 8 bytes");

struct acpi_madt_ioapic { /* type 1, §5.2.12.3 */
	uint8_t type;
	uint8_t length;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT I/O APIC is 12 bytes");

struct acpi_madt_iso { /* type 2, §5.2.12.5 */
	uint8_t type;
	uint8_t length;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT Interrupt Source Override is 10 bytes");

#define ACPI_MADT_LAPIC_ENABLED 1u

/* Table revisions: ACPI 6.5 §5.2.8 (XSDT 1), §5.2.9 (FADT 6.5), §5.2.12 (MADT 6). */
#define ACPI_XSDT_REVISION	 1
#define ACPI_FADT_REVISION	 6
#define ACPI_FADT_MINOR_REVISION 5
#define ACPI_MADT_REVISION	 6
/* Revision 2 makes integers 64-bit (§5.2.11.1, §19.6.159). */
#define ACPI_DSDT_REVISION 2

/* Where each table goes, as offsets from the area start. */
struct acpi_layout {
	size_t xsdt;
	size_t fadt;
	size_t madt;
	size_t madt_len;
	size_t dsdt;
	size_t dsdt_len;
	size_t end;
};

static size_t acpi_align(size_t off)
{
	return (off + ACPI_TABLE_ALIGN - 1) & ~(size_t)(ACPI_TABLE_ALIGN - 1);
}

/* Value for the checksum byte so that all `len` bytes sum to 0 mod 256 (§5.2.6). */
static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

static void acpi_header(struct acpi_sdt_header *h, const char *sig, size_t len, uint8_t rev)
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->length = (uint32_t)len;
	h->revision = rev;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Sets the checksum of the complete SDT at `table`; call after every field is final. */
static void acpi_seal(uint8_t *table, size_t len)
{
	table[offsetof(struct acpi_sdt_header, checksum)] = 0;
	table[offsetof(struct acpi_sdt_header, checksum)] = acpi_checksum(table, len);
}

/*
 * \_SB.PCI0: the PCI host bridge on conf1 ports (acpi-notes §2.6). Linux
 * takes the bus range from WordBusNumber and the windows from the other
 * producers; it drops the 0xCF8 consumer range itself.
 */
static void acpi_dsdt_pci0(struct aml_buf *aml)
{
	struct aml_buf res;
	size_t dev = aml_device_begin(aml, "PCI0");

	aml_name(aml, "_HID");
	aml_eisaid(aml, "PNP0A03");
	aml_name(aml, "_UID");
	aml_integer(aml, 0);
	aml_name(aml, "_SEG");
	aml_integer(aml, 0);
	aml_name(aml, "_BBN");
	aml_integer(aml, 0);

	aml_init(&res);
	aml_res_word_bus(&res, 0, 0);
	aml_res_io(&res, LAYOUT_PORT_PCI_CONF_ADDR, LAYOUT_PORT_PCI_CONF_ADDR, 1, 8);
	aml_res_word_io(&res, 0x0000, LAYOUT_PORT_PCI_CONF_ADDR - 1);
	aml_res_word_io(&res, LAYOUT_PORT_PCI_CONF_ADDR + 8, 0xffff);
	aml_res_dword_memory(&res, AML_MEM_NON_CACHEABLE, 1, (uint32_t)LAYOUT_PCI_MMIO32_START,
			     (uint32_t)(LAYOUT_PCI_MMIO32_END - 1));
	aml_name(aml, "_CRS");
	aml_resource_template(aml, &res);
	aml_free(&res);
	aml_end(aml, dev);
}

/* \_SB.COM1: the 16550 at 0x3F8 on GSI 4 (acpi-notes §4; PNP0501 per §6.1.5 and PNP IDs). */
static void acpi_dsdt_com1(struct aml_buf *aml)
{
	struct aml_buf res;
	size_t dev = aml_device_begin(aml, "COM1");

	aml_name(aml, "_HID");
	aml_eisaid(aml, "PNP0501");
	aml_name(aml, "_UID");
	aml_integer(aml, 0);

	aml_init(&res);
	aml_res_io(&res, LAYOUT_PORT_COM1, LAYOUT_PORT_COM1, 0, 8);
	aml_res_ext_irq(&res, AML_IRQ_CONSUMER | AML_IRQ_EDGE, LAYOUT_IRQ_COM1);
	aml_name(aml, "_CRS");
	aml_resource_template(aml, &res);
	aml_free(&res);
	aml_end(aml, dev);
}

/*
 * \_SB.PEVT: pvpanic. Linux's pvpanic-mmio driver matches _HID "QEMU0001"
 * and accepts either a memory or an I/O port resource; one byte port.
 */
static void acpi_dsdt_pvpanic(struct aml_buf *aml)
{
	struct aml_buf res;
	size_t dev = aml_device_begin(aml, "PEVT");

	aml_name(aml, "_HID");
	aml_string(aml, "QEMU0001");
	aml_name(aml, "_UID");
	aml_integer(aml, 0);

	aml_init(&res);
	aml_res_io(&res, LAYOUT_PORT_PVPANIC, LAYOUT_PORT_PVPANIC, 1, 1);
	aml_name(aml, "_CRS");
	aml_resource_template(aml, &res);
	aml_free(&res);
	aml_end(aml, dev);
}

/*
 * DSDT body. \_S5 (§7.4.2) = {SLP_TYPa 5, SLP_TYPb 0, reserved 0, 0}: with
 * it and the FADT sleep registers Linux registers acpi_power_off and writes
 * (5 << 2) | SLP_EN = 0x34 to SLEEP_CONTROL (acpi-notes §3).
 */
static int acpi_dsdt_aml(struct aml_buf *aml)
{
	size_t scope, pkg;

	/* At the root, iasl writes Scope(\_SB) as plain "_SB_" (acpi-notes §6). */
	scope = aml_scope_begin(aml, "_SB");
	acpi_dsdt_pci0(aml);
	acpi_dsdt_com1(aml);
	acpi_dsdt_pvpanic(aml);
	aml_end(aml, scope);

	aml_name(aml, "_S5");
	pkg = aml_package_begin(aml, 4);
	aml_integer(aml, 5);
	aml_integer(aml, 0);
	aml_integer(aml, 0);
	aml_integer(aml, 0);
	aml_end(aml, pkg);
	return aml_error(aml);
}

static void acpi_write_rsdp(uint8_t *at, uint64_t xsdt_gpa)
{
	struct acpi_rsdp rsdp = {
	    .revision = 2,
	    .rsdt_address = 0, /* XSDT only: ACPICA prefers it for revision >= 2 */
	    .length = sizeof(rsdp),
	    .xsdt_address = xsdt_gpa,
	};

	memcpy(rsdp.signature, "RSD PTR ", sizeof(rsdp.signature));
	memcpy(rsdp.oem_id, ACPI_OEM_ID, sizeof(rsdp.oem_id));
	/* §5.2.5.3: the v1 checksum covers bytes 0..19, the extended one all 36. */
	rsdp.checksum = acpi_checksum((const uint8_t *)&rsdp, 20);
	rsdp.extended_checksum = acpi_checksum((const uint8_t *)&rsdp, sizeof(rsdp));
	memcpy(at, &rsdp, sizeof(rsdp));
}

/* The DSDT is reached only through FADT.X_DSDT, never listed here (§5.2.8). */
static void acpi_write_xsdt(uint8_t *at, uint64_t fadt_gpa, uint64_t madt_gpa)
{
	struct acpi_xsdt xsdt = {.entry = {fadt_gpa, madt_gpa}};

	acpi_header(&xsdt.header, "XSDT", sizeof(xsdt), ACPI_XSDT_REVISION);
	memcpy(at, &xsdt, sizeof(xsdt));
	acpi_seal(at, sizeof(xsdt));
}

static struct acpi_gas acpi_gas_port8(uint16_t port)
{
	return (struct acpi_gas){
	    .space_id = ACPI_GAS_SYSTEM_IO,
	    .bit_width = 8,
	    .access_size = ACPI_GAS_ACCESS_BYTE,
	    .address = port,
	};
}

/*
 * Hardware-reduced FADT (§4.1, §5.2.9): no FACS, SCI, PM1 or GPE blocks.
 * Reset (§4.8.3.6) and sleep control/status (§4.8.3.7) are byte ports.
 */
static void acpi_write_fadt(uint8_t *at, uint64_t dsdt_gpa)
{
	struct acpi_fadt fadt = {
	    .iapc_boot_arch = ACPI_BOOT_ARCH_VGA_NOT_PRESENT | ACPI_BOOT_ARCH_PCIE_ASPM_CONTROLS |
			      ACPI_BOOT_ARCH_CMOS_RTC_NOT_PRESENT,
	    .flags = ACPI_FADT_HW_REDUCED_ACPI | ACPI_FADT_RESET_REG_SUP | ACPI_FADT_PWR_BUTTON |
		     ACPI_FADT_SLP_BUTTON,
	    .reset_reg = acpi_gas_port8(LAYOUT_PORT_RESET),
	    .reset_value = LAYOUT_RESET_VALUE,
	    .minor_version = ACPI_FADT_MINOR_REVISION,
	    .x_dsdt = dsdt_gpa,
	    .sleep_control_reg = acpi_gas_port8(LAYOUT_PORT_SLEEP_CONTROL),
	    .sleep_status_reg = acpi_gas_port8(LAYOUT_PORT_SLEEP_STATUS),
	};

	acpi_header(&fadt.header, "FACP", sizeof(fadt), ACPI_FADT_REVISION);
	memcpy(fadt.hypervisor_vendor_id, ACPI_HYPERVISOR_ID, sizeof(fadt.hypervisor_vendor_id));
	memcpy(at, &fadt, sizeof(fadt));
	acpi_seal(at, sizeof(fadt));
}

/*
 * MADT (§5.2.12): one enabled Local APIC per vCPU with UID = APIC ID =
 * index, KVM's in-kernel IOAPIC, and ISA IRQ 4 -> GSI 4 with conforming
 * polarity and trigger (flags 0), which makes Linux allocate IRQ 4 for ttyS0.
 */
static void acpi_write_madt(uint8_t *at, size_t len, unsigned int cpu_count)
{
	struct acpi_madt madt = {.lapic_address = (uint32_t)LAYOUT_LAPIC, .flags = 0};
	struct acpi_madt_ioapic ioapic = {
	    .type = 1,
	    .length = sizeof(ioapic),
	    .id = 0,
	    .address = (uint32_t)LAYOUT_IOAPIC,
	    .gsi_base = 0,
	};
	struct acpi_madt_iso iso = {
	    .type = 2,
	    .length = sizeof(iso),
	    .bus = 0,
	    .source = LAYOUT_IRQ_COM1,
	    .gsi = LAYOUT_IRQ_COM1,
	    .flags = 0,
	};
	size_t off = sizeof(madt);

	acpi_header(&madt.header, "APIC", len, ACPI_MADT_REVISION);
	memcpy(at, &madt, sizeof(madt));
	for (unsigned int i = 0; i < cpu_count; i++) {
		struct acpi_madt_lapic lapic = {
		    .type = 0,
		    .length = sizeof(lapic),
		    .uid = (uint8_t)i,
		    .apic_id = (uint8_t)i,
		    .flags = ACPI_MADT_LAPIC_ENABLED,
		};

		memcpy(at + off, &lapic, sizeof(lapic));
		off += sizeof(lapic);
	}
	memcpy(at + off, &ioapic, sizeof(ioapic));
	off += sizeof(ioapic);
	memcpy(at + off, &iso, sizeof(iso));
	acpi_seal(at, len);
}

static void acpi_write_dsdt(uint8_t *at, const struct aml_buf *aml)
{
	struct acpi_sdt_header h;
	size_t len = sizeof(h) + aml->len;

	acpi_header(&h, "DSDT", len, ACPI_DSDT_REVISION);
	memcpy(at, &h, sizeof(h));
	memcpy(at + sizeof(h), aml->data, aml->len);
	acpi_seal(at, len);
}

/* RSDP first (the legacy scan window starts at 0xE0000, §5.2.5.1), then the rest. */
static void acpi_plan(struct acpi_layout *l, unsigned int cpu_count, size_t aml_len)
{
	l->xsdt = acpi_align(sizeof(struct acpi_rsdp));
	l->fadt = acpi_align(l->xsdt + sizeof(struct acpi_xsdt));
	l->madt = acpi_align(l->fadt + sizeof(struct acpi_fadt));
	l->madt_len = sizeof(struct acpi_madt) + cpu_count * sizeof(struct acpi_madt_lapic) +
		      sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso);
	l->dsdt = acpi_align(l->madt + l->madt_len);
	l->dsdt_len = sizeof(struct acpi_sdt_header) + aml_len;
	l->end = l->dsdt + l->dsdt_len;
}

int acpi_build(uint8_t *area, size_t area_size, uint64_t area_gpa, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	struct acpi_layout l;
	struct aml_buf aml;
	int ret;

	if (!area || !cfg || !rsdp_gpa || cfg->cpu_count == 0 || cfg->cpu_count > ACPI_MAX_CPUS)
		return -EINVAL;
	aml_init(&aml);
	ret = acpi_dsdt_aml(&aml);
	if (ret)
		goto out_free_aml;
	acpi_plan(&l, cfg->cpu_count, aml.len);
	ret = -ENOSPC;
	if (l.end > area_size)
		goto out_free_aml;
	ret = -EINVAL;
	if (area_gpa > UINT64_MAX - l.end)
		goto out_free_aml;

	/* Padding between tables reads as zeros. Pointers are final before each seal. */
	memset(area, 0, l.end);
	acpi_write_dsdt(area + l.dsdt, &aml);
	acpi_write_madt(area + l.madt, l.madt_len, cfg->cpu_count);
	acpi_write_fadt(area + l.fadt, area_gpa + l.dsdt);
	acpi_write_xsdt(area + l.xsdt, area_gpa + l.fadt, area_gpa + l.madt);
	acpi_write_rsdp(area, area_gpa + l.xsdt);
	*rsdp_gpa = area_gpa;
	ret = 0;
out_free_aml:
	aml_free(&aml);
	return ret;
}
