/* ACPI tables for a hardware-reduced x86_64 guest, generated at run time (ACPI 6.5). */
#ifndef MICROVMM_BOOT_ACPI_H
#define MICROVMM_BOOT_ACPI_H

#include <stddef.h>
#include <stdint.h>

/* Largest vCPU count a type-0 MADT Local APIC entry can describe (IDs 0..254). */
#define ACPI_MAX_CPUS 254

struct acpi_config {
	unsigned int cpu_count; /* 1..ACPI_MAX_CPUS; APIC ID = UID = vCPU index */
};

/*
 * Writes RSDP (at the start of the area), XSDT, FADT, MADT and DSDT into
 * `area`, a host view of guest memory that starts at guest-physical
 * `area_gpa` and is `area_size` bytes long. All pointers inside the tables
 * are guest-physical. Fixed addresses (ports, PCI window, IOAPIC) come from
 * boot/layout.h. Returns 0, -EINVAL for a bad config, -ENOSPC when the
 * tables do not fit, -ENOMEM when the DSDT's temporary AML buffer cannot be
 * allocated. On success *rsdp_gpa receives the RSDP address.
 * Pure: touches nothing outside `area` (the AML scratch buffer is freed
 * before return); on failure `area` is left unchanged.
 */
int acpi_build(uint8_t *area, size_t area_size, uint64_t area_gpa, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa) __attribute__((warn_unused_result));

#endif
