/* acpi-dump OUTDIR NCPUS: writes each generated ACPI table to OUTDIR/<SIG>.dat for iasl -d. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/layout.h"

#define DUMP_AREA_SIZE (LAYOUT_ACPI_END - LAYOUT_ACPI_START)

static uint8_t dump_area[DUMP_AREA_SIZE];
static size_t dump_end; /* highest table end seen, as an area offset */

static uint64_t dump_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Area offset of a table at `gpa` of `len` bytes, or -1 when it is not wholly inside. */
static long dump_offset(uint64_t gpa, uint64_t len)
{
	if (gpa < LAYOUT_ACPI_START || gpa - LAYOUT_ACPI_START > DUMP_AREA_SIZE ||
	    len > DUMP_AREA_SIZE - (gpa - LAYOUT_ACPI_START))
		return -1;
	return (long)(gpa - LAYOUT_ACPI_START);
}

static int dump_write(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	FILE *f;
	int ok;

	if (snprintf(path, sizeof(path), "%s/%s.dat", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "wb");
	if (!f)
		return -errno;
	ok = fwrite(p, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	printf("%s: %zu bytes\n", path, len);
	return ok ? 0 : -EIO;
}

/* Writes the SDT at `gpa`, named by its signature; returns its area offset or -1. */
static long dump_table(const char *dir, uint64_t gpa)
{
	char sig[5] = {0};
	uint32_t len;
	long off = dump_offset(gpa, 36);

	if (off < 0)
		return -1;
	len = (uint32_t)dump_le(dump_area + off + 4, 4);
	if (len < 36 || dump_offset(gpa, len) < 0)
		return -1;
	memcpy(sig, dump_area + off, 4);
	for (int i = 0; i < 4; i++) {
		if (!((sig[i] >= 'A' && sig[i] <= 'Z') || (sig[i] >= '0' && sig[i] <= '9')))
			return -1;
	}
	if (dump_write(dir, sig, dump_area + off, len))
		return -1;
	if ((size_t)off + len > dump_end)
		dump_end = (size_t)off + len;
	return off;
}

static int dump_all(const char *dir, uint64_t rsdp_gpa)
{
	long rsdp = dump_offset(rsdp_gpa, 36), xsdt;
	uint32_t xsdt_len;

	if (rsdp < 0 || dump_write(dir, "RSDP", dump_area + rsdp, 36))
		return -1;
	xsdt = dump_table(dir, dump_le(dump_area + rsdp + 24, 8));
	if (xsdt < 0)
		return -1;
	xsdt_len = (uint32_t)dump_le(dump_area + xsdt + 4, 4);
	for (uint32_t e = 36; e + 8 <= xsdt_len; e += 8) {
		long t = dump_table(dir, dump_le(dump_area + xsdt + e, 8));

		if (t < 0)
			return -1;
		/* FADT.X_DSDT at offset 140 (ACPI 6.5 §5.2.9). */
		if (!memcmp(dump_area + t, "FACP", 4) &&
		    dump_table(dir, dump_le(dump_area + t + 140, 8)) < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct acpi_config cfg;
	uint64_t rsdp_gpa;
	unsigned long n;
	char *end;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s OUTDIR NCPUS\n", argv[0]);
		return 2;
	}
	errno = 0;
	n = strtoul(argv[2], &end, 10);
	if (errno || *end || end == argv[2] || n > ACPI_MAX_CPUS) {
		fprintf(stderr, "acpi-dump: bad NCPUS '%s'\n", argv[2]);
		return 2;
	}
	cfg = (struct acpi_config){.cpu_count = (unsigned int)n};
	ret = acpi_build(dump_area, sizeof(dump_area), LAYOUT_ACPI_START, &cfg, &rsdp_gpa);
	if (ret) {
		fprintf(stderr, "acpi-dump: acpi_build: %s\n", strerror(-ret));
		return 1;
	}
	if (dump_all(argv[1], rsdp_gpa)) {
		fprintf(stderr, "acpi-dump: bad table layout or write error\n");
		return 1;
	}
	printf("total: %zu bytes for %lu CPUs\n", dump_end, n);
	return 0;
}
