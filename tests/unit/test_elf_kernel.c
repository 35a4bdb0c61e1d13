/*
 * Unit tests for the vmlinux parser (boot/elf_kernel.c): a synthetic ELF shaped like Debian's
 * cloud kernel (PT_LOADs at 16 MiB and up, a PT_NOTE, entry phys_startup_64 = 0x1000000), and
 * each way a file can break the rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/elf_kernel.h"
#include "boot/le.h"

#define FILE_SIZE (64ULL << 20)

/* Program header i of the synthetic file (ELF header 64 bytes, program headers from 64). */
static uint8_t *phdr(uint8_t *head, int i)
{
	return head + 64 + i * 56;
}

static void put_phdr(uint8_t *head, int i, uint32_t type, uint64_t off, uint64_t paddr,
		     uint64_t filesz, uint64_t memsz)
{
	uint8_t *ph = phdr(head, i);

	le_put32(ph, type);
	le_put64(ph + 8, off);
	le_put64(ph + 16, paddr | 0xffffffff80000000ULL); /* vaddr: Linux's kernel map */
	le_put64(ph + 24, paddr);
	le_put64(ph + 32, filesz);
	le_put64(ph + 40, memsz);
}

/* Four PT_LOADs and a PT_NOTE, as `readelf -l` shows for 6.1.0-*-cloud-amd64. */
static void make_vmlinux(uint8_t *head)
{
	memset(head, 0, ELF_KERNEL_HEAD_BYTES);
	memcpy(head,
	       "\x7f"
	       "ELF",
	       4);
	head[4] = 2; /* ELFCLASS64 */
	head[5] = 1; /* little-endian */
	head[6] = 1;
	le_put16(head + 16, 2);	 /* ET_EXEC */
	le_put16(head + 18, 62); /* EM_X86_64 */
	le_put64(head + 24, 0x1000000);
	le_put64(head + 32, 64);
	le_put16(head + 54, 56);
	le_put16(head + 56, 5);
	put_phdr(head, 0, 1, 0x200000, 0x1000000, 0x1826710, 0x1826710);
	put_phdr(head, 1, 1, 0x1c00000, 0x2a00000, 0x61a000, 0x61a000);
	put_phdr(head, 2, 1, 0x2400000, 0x301a000, 0x34000, 0x34000);
	put_phdr(head, 3, 1, 0x244e000, 0x304e000, 0xa00000, 0xdb2000);
	put_phdr(head, 4, 4, 0x1637e70, 0x2437e70, 0x200, 0x200);
}

static void test_parses_debian_shape(void **state)
{
	uint8_t head[ELF_KERNEL_HEAD_BYTES];
	struct elf_kernel k;

	(void)state;
	make_vmlinux(head);
	assert_int_equal(elf_kernel_parse(head, sizeof(head), FILE_SIZE, &k), 0);
	assert_int_equal(k.count, 4); /* the PT_NOTE is not loaded */
	assert_int_equal(k.entry, 0x1000000);
	assert_int_equal(k.low, 0x1000000);
	assert_int_equal(k.high, 0x304e000 + 0xdb2000);
	assert_int_equal(k.segments[3].file_size, 0xa00000);
	assert_int_equal(k.segments[3].mem_size, 0xdb2000);
}

static void test_setup_header(void **state)
{
	uint8_t head[ELF_KERNEL_HEAD_BYTES], zp_head[BZIMAGE_HEADER_BYTES];
	struct elf_kernel k;
	struct bzimage image;

	(void)state;
	make_vmlinux(head);
	assert_int_equal(elf_kernel_parse(head, sizeof(head), FILE_SIZE, &k), 0);
	elf_kernel_setup_header(&k, zp_head, &image);
	assert_int_equal(le_get16(zp_head + 0x1fe), 0xaa55);
	assert_memory_equal(zp_head + 0x202, "HdrS", 4);
	assert_int_equal(le_get16(zp_head + 0x206), 0x020f);
	assert_int_equal(le_get64(zp_head + 0x258), 0x1000000);
	assert_int_equal(le_get32(zp_head + 0x260), k.high - k.low);
	/* The jump at 0x200 tells the zero page code where the header ends. */
	assert_int_equal(0x202 + zp_head[0x201], image.header_end);
	assert_int_equal(image.pref_address, 0x1000000);
	assert_int_equal(image.payload_size, 0);
	assert_int_equal(image.xloadflags & 1, 1);
}

/* Each broken variant: what to change, and that the parser refuses it. */
static void test_refuses(void **state)
{
	uint8_t head[ELF_KERNEL_HEAD_BYTES];
	struct elf_kernel k;

	(void)state;
#define REFUSE(change, len, size)                                                                  \
	do {                                                                                       \
		make_vmlinux(head);                                                                \
		change;                                                                            \
		assert_int_equal(elf_kernel_parse(head, len, size, &k), -ENOEXEC);                 \
	} while (0)
	REFUSE(head[4] = 1, sizeof(head), FILE_SIZE);			      /* 32-bit ELF */
	REFUSE(head[5] = 2, sizeof(head), FILE_SIZE);			      /* big-endian */
	REFUSE(le_put16(head + 18, 3), sizeof(head), FILE_SIZE);	      /* i386 */
	REFUSE(le_put16(head + 16, 3), sizeof(head), FILE_SIZE);	      /* ET_DYN */
	REFUSE(le_put16(head + 54, 32), sizeof(head), FILE_SIZE);	      /* odd phentsize */
	REFUSE(le_put16(head + 56, 0), sizeof(head), FILE_SIZE);	      /* no headers */
	REFUSE(le_put16(head + 56, 70), sizeof(head), FILE_SIZE);	      /* past the head */
	REFUSE(le_put64(head + 32, 4090), sizeof(head), FILE_SIZE);	      /* phoff too far */
	REFUSE(le_put64(head + 32, UINT64_MAX - 8), sizeof(head), FILE_SIZE); /* overflow */
	REFUSE(le_put64(head + 24, 0x900000), sizeof(head), FILE_SIZE);	      /* entry outside */
	REFUSE((void)0, sizeof(head), 0x2000000);			      /* file too short */
	REFUSE(le_put64(phdr(head, 0) + 32, 0x2000000), sizeof(head), FILE_SIZE); /* filesz>memsz */
	REFUSE(le_put64(phdr(head, 1) + 24, 0x80000), sizeof(head), FILE_SIZE);	  /* below 1 MiB */
	REFUSE(le_put64(phdr(head, 2) + 40, UINT64_MAX), sizeof(head), FILE_SIZE); /* huge memsz */
	REFUSE(le_put64(phdr(head, 2) + 8, UINT64_MAX), sizeof(head), FILE_SIZE);  /* offset */
	REFUSE((void)0, 40, FILE_SIZE);						   /* truncated */
	REFUSE(memcpy(head,
		      "\x7f"
		      "ELG",
		      4),
	       sizeof(head), FILE_SIZE); /* magic */
#undef REFUSE
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parses_debian_shape),
	    cmocka_unit_test(test_setup_header),
	    cmocka_unit_test(test_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
