/*
 * A small synthetic bzImage for test_bzimage: the real-mode kernel header laid out field by
 * field in the order of Documentation/arch/x86/boot.rst ("The real-mode kernel header") and
 * the kernel's arch/x86/boot/header.S, protocol 2.15, then a payload. It is written
 * independently of the test's offset table, so the two check each other; the build makes it
 * (tests/CMakeLists.txt), so it exists on every machine that builds the tests.
 */
	.section .text
start:
	.org	0x1f1
	.byte	3		/* 0x1f1 setup_sects: 3 setup sectors after the boot sector */
	.word	0		/* 0x1f2 root_flags */
	.long	0		/* 0x1f4 syssize */
	.word	0		/* 0x1f8 ram_size */
	.word	0xffff		/* 0x1fa vid_mode: NORMAL_VGA */
	.word	0		/* 0x1fc root_dev */
	.word	0xaa55		/* 0x1fe boot_flag */
	.byte	0xeb		/* 0x200 jump: a short jmp over the header ... */
	.byte	header_end - start - 0x202 /* 0x201 ... to its end */
	.ascii	"HdrS"		/* 0x202 header */
	.word	0x020f		/* 0x206 version 2.15 */
	.long	0		/* 0x208 realmode_swtch */
	.word	0x1000		/* 0x20c start_sys_seg */
	.word	0		/* 0x20e kernel_version */
	.byte	0		/* 0x210 type_of_loader */
	.byte	0x01		/* 0x211 loadflags: LOADED_HIGH */
	.word	0x8000		/* 0x212 setup_move_size */
	.long	0x100000	/* 0x214 code32_start */
	.long	0		/* 0x218 ramdisk_image */
	.long	0		/* 0x21c ramdisk_size */
	.long	0		/* 0x220 bootsect_kludge */
	.word	0		/* 0x224 heap_end_ptr */
	.byte	0		/* 0x226 ext_loader_ver */
	.byte	0		/* 0x227 ext_loader_type */
	.long	0		/* 0x228 cmd_line_ptr */
	.long	0x7fffffff	/* 0x22c initrd_addr_max */
	.long	0x200000	/* 0x230 kernel_alignment: 2 MiB */
	.byte	1		/* 0x234 relocatable_kernel */
	.byte	21		/* 0x235 min_alignment: 2^21 */
	.word	0x0003		/* 0x236 xloadflags: XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	.long	2047		/* 0x238 cmdline_size */
	.long	0		/* 0x23c hardware_subarch */
	.quad	0		/* 0x240 hardware_subarch_data */
	.long	0		/* 0x248 payload_offset (of the compressed kernel; unused here) */
	.long	0		/* 0x24c payload_length */
	.quad	0		/* 0x250 setup_data */
	.quad	0x1000000	/* 0x258 pref_address: 16 MiB */
	.long	0x2000000	/* 0x260 init_size: 32 MiB */
	.long	0		/* 0x264 handover_offset */
	.long	0		/* 0x268 kernel_info_offset (2.15) */
header_end:			/* 0x26c */

	/* The protected-mode kernel starts after the boot sector and setup_sects sectors. */
	.org	(3 + 1) * 512
	.ascii	"microvmm bzimage fixture payload"
	.fill	4096 - 32, 1, 0xf4 /* hlt */
