/* The few bytes of "firmware" at the real-mode BIOS reset entry: they reset the VM. */
#include "boot/reset_stub.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"

_Static_assert(LAYOUT_RESET_STUB + RESET_STUB_SIZE <= LAYOUT_HIGH_MEM_START,
	       "the reset stub must fit below 1 MiB");
_Static_assert(LAYOUT_ACPI_END <= LAYOUT_RESET_STUB, "ACPI tables overlap the reset stub");

/*
 * Linux's last resorts on reboot (arch/x86/kernel/reboot.c,
 * native_machine_emergency_restart) include reboot_type BOOT_BIOS:
 * machine_real_restart() drops to real mode and jumps to the BIOS reset
 * entry F000:FFF0 (arch/x86/realmode/rm/reboot.S). BOOT_EFI falls back to
 * it when there is no EFI runtime, and a kernel booted without "reboot="
 * on a hardware-reduced ACPI platform starts with BOOT_EFI (reboot_init(),
 * efi_reboot_required()), so this is the path of a plain
 * "console=ttyS0" guest. With no firmware there, RAM holds zeros and the
 * vCPU spins on them forever. These bytes write the ACPI reset register
 * (ACPI 6.5 §4.8.3.6), which ends the VM as every other reset does; should
 * the write be ignored, the vCPU halts with interrupts off instead of
 * running whatever follows.
 */
static const uint8_t reset_stub[RESET_STUB_SIZE] = {
    0xb0,
    LAYOUT_RESET_VALUE, /* mov al, RESET_VALUE */
    0xba,
    LAYOUT_PORT_RESET & 0xff,
    LAYOUT_PORT_RESET >> 8, /* mov dx, PORT_RESET */
    0xee,		    /* out dx, al */
    0xfa,		    /* cli */
    0xf4,		    /* 1: hlt */
    0xeb,
    0xfd, /* jmp 1b */
};

int reset_stub_write(const struct guest_ram *ram)
{
	uint8_t *at = guest_ram_ptr(ram, LAYOUT_RESET_STUB, sizeof(reset_stub));

	if (!at)
		return -ENOMEM;
	memcpy(at, reset_stub, sizeof(reset_stub));
	return 0;
}
