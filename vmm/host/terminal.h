/* The user's terminal: raw mode while the guest owns it, restored on every way out. */
#ifndef MICROVMM_VMM_HOST_TERMINAL_H
#define MICROVMM_VMM_HOST_TERMINAL_H

#include <stdbool.h>

/* The escape byte that ends the VM from the keyboard: Ctrl-] (as virsh console). */
#define TERMINAL_ESCAPE 0x1d

/*
 * Puts `fd` in raw mode if it is a terminal and remembers the old settings.
 * Also installs handlers so that a crash (SIGSEGV, SIGBUS, SIGABRT, ...)
 * restores the terminal before the process dies. Returns true if raw mode
 * is on. Call from the main thread, once.
 */
bool terminal_enter_raw(int fd);

/* Restores the saved settings; idempotent and async-signal-safe. */
void terminal_restore(void);

#endif
