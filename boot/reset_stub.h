/* The few bytes of "firmware" at the real-mode BIOS reset entry: they reset the VM. */
#ifndef MICROVMM_BOOT_RESET_STUB_H
#define MICROVMM_BOOT_RESET_STUB_H

#include "boot/guest_ram.h"

/* Bytes written at LAYOUT_RESET_STUB; they must end before 1 MiB (0x100000). */
#define RESET_STUB_SIZE 10

/*
 * Writes the reset stub at LAYOUT_RESET_STUB (F000:FFF0): real-mode code
 * that writes LAYOUT_RESET_VALUE to the ACPI reset port, then halts. Returns
 * 0 or -ENOMEM when RAM does not cover it.
 */
int reset_stub_write(const struct guest_ram *ram) __attribute__((warn_unused_result));

#endif
