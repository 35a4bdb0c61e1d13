/*
 * A tiny freestanding guest in bzImage format for device tests on any KVM
 * (PVM included: its few ring-0 instructions are cheap even when emulated).
 *
 * The file carries a minimal Linux setup header (boot.rst) so microvmm loads
 * it like a kernel: the payload lands at 1 MiB and runs from +0x200 in
 * 64-bit mode with %rsi = zero page. It prints "cmdline=<cmdline>" and
 * "e820=<n>" on COM1, then acts on the first character of its command line:
 *   p  ACPI power-off        r  ACPI reset          k  pvpanic
 *   i  i8042 reset (0xfe)    t  triple fault       9  0xcf9 reset
 *   s  spin forever (for signal tests)
 *   m  write one byte to every page of usable RAM below 4 GiB, then power
 *      off (the host must back all of it: tests of a memory limit)
 */
	.code64
	.section .text
	.globl _start
_start:
	.org 0x1f1
	.byte 1				/* setup_sects: payload at file offset 0x400 */
	.org 0x1fe
	.word 0xaa55			/* boot_flag */
	.org 0x200
	.byte 0xeb, 0x6a		/* jump; its second byte gives the header end (0x26c) */
	.ascii "HdrS"			/* 0x202 */
	.word 0x020f			/* 0x206 protocol version */
	.org 0x211
	.byte 0x01			/* loadflags: LOADED_HIGH */
	.org 0x22c
	.long 0x7fffffff		/* initrd_addr_max */
	.long 0x200000			/* 0x230 kernel_alignment */
	.byte 0				/* 0x234 relocatable_kernel */
	.byte 0
	.word 0x0001			/* 0x236 xloadflags: XLF_KERNEL_64 */
	.long 2047			/* 0x238 cmdline_size */
	.org 0x258
	.quad 0x100000			/* pref_address */
	.long 0x100000			/* 0x260 init_size */
	.org 0x400
payload:
	.org 0x600			/* payload + 0x200: the 64-bit entry */
entry64:
	mov %rsi, %rbx			/* zero page */
	lea msg_cmdline(%rip), %rsi
	call puts
	mov 0x228(%rbx), %esi		/* cmd_line_ptr */
	mov %rsi, %r12
	call puts
	lea msg_e820(%rip), %rsi
	call puts
	movzbl 0x1e8(%rbx), %eax	/* e820_entries */
	call putdec
	mov $'\n', %al
	call putc

	movzbl (%r12), %eax
	cmp $'p', %al
	je do_poweroff
	cmp $'r', %al
	je do_reset
	cmp $'k', %al
	je do_pvpanic
	cmp $'i', %al
	je do_i8042
	cmp $'9', %al
	je do_cf9
	cmp $'s', %al
	je spin
	cmp $'m', %al
	je do_touch
	/* 't' and anything else: triple fault through the empty IDT */
	ud2

/* Every usable e820 entry (zero page 0x2d0: addr, size, type; boot.rst), from 2 MiB (our code
 * is at 1 MiB) to 4 GiB (what the boot page tables map). */
do_touch:
	movzbl 0x1e8(%rbx), %ecx
	lea 0x2d0(%rbx), %r8
1:	test %ecx, %ecx
	jz do_poweroff
	cmpl $1, 16(%r8)
	jne 3f
	mov (%r8), %rdi
	mov 8(%r8), %rdx
	add %rdi, %rdx
	mov $0x200000, %rax
	cmp %rax, %rdi
	cmovb %rax, %rdi
	mov $0x100000000, %rax
	cmp %rax, %rdx
	cmova %rax, %rdx
2:	cmp %rdx, %rdi
	jae 3f
	movb $1, (%rdi)
	add $4096, %rdi
	jmp 2b
3:	add $20, %r8
	dec %ecx
	jmp 1b

do_poweroff:
	mov $0x601, %dx
	mov $0x80, %al
	out %al, %dx			/* clear WAK_STS, as ACPICA does first */
	mov $0x600, %dx
	mov $0x34, %al			/* SLP_TYP 5 | SLP_EN */
	out %al, %dx
	jmp spin
do_reset:
	mov $0x602, %dx
	mov $0x01, %al
	out %al, %dx
	jmp spin
do_pvpanic:
	mov $0x505, %dx
	in %dx, %al			/* capabilities */
	and $1, %al
	out %al, %dx
	jmp spin
do_i8042:
	mov $0x64, %dx
	mov $0xfe, %al
	out %al, %dx
	jmp spin
do_cf9:
	mov $0xcf9, %dx
	mov $0x06, %al
	out %al, %dx
spin:
	pause
	jmp spin

/* putc: %al to COM1, waiting for THRE like a real driver. */
putc:
	push %rdx
	push %rax
	mov $0x3fd, %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	pop %rax
	mov $0x3f8, %dx
	out %al, %dx
	pop %rdx
	ret

/* puts: NUL-terminated string at %rsi. */
puts:
	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp puts
2:	ret

/* putdec: %eax (< 1000) in decimal. */
putdec:
	mov $100, %ecx
3:	xor %edx, %edx
	div %ecx
	add $'0', %al
	call putc
	mov %edx, %eax
	push %rax
	mov %ecx, %eax
	xor %edx, %edx
	mov $10, %ecx
	div %ecx
	mov %eax, %ecx
	pop %rax
	test %ecx, %ecx
	jnz 3b
	ret

msg_cmdline:
	.asciz "cmdline="
msg_e820:
	.asciz "\ne820="
