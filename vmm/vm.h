/* The VM: the root of ownership for KVM, memory, devices and vCPUs, and its run/stop cycle. */
#ifndef MICROVMM_VMM_VM_H
#define MICROVMM_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "devices/io_loop.h"
#include "devices/log_limit.h"
#include "devices/legacy/power.h"
#include "devices/legacy/serial.h"
#include "devices/pci/pci_bus.h"
#include "devices/virtio/console.h"
#include "vmm/bus.h"
#include "vmm/config/config.h"
#include "vmm/guest_mem.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/vcpu.h"
#include "vmm/vm_msi.h"
#include "vmm/vm_net.h"
#include "vmm/vm_share.h"

/* Each function's BAR0 gets its own naturally aligned slot in the 32-bit window. */
#define VM_PCI_BAR_STRIDE 0x100000ULL

/* How the VM ended; main.c maps these to exit codes. */
enum vm_end {
	VM_END_NONE,
	VM_END_POWEROFF, /* guest powered off */
	VM_END_RESET,	 /* guest rebooted: the VM ends, as in Firecracker */
	VM_END_PANIC,	 /* guest kernel panicked */
	VM_END_ERROR,	 /* microvmm or KVM failed while running */
	VM_END_SIGNAL,	 /* microvmm got SIGINT/SIGTERM/SIGHUP */
	VM_END_ESCAPE,	 /* the user typed the escape key */
	VM_END_TIMEOUT,	 /* --timeout expired */
};

/* What the guest init reported about the command over microvmm.ctl. */
enum vm_command_state { VM_CMD_NONE, VM_CMD_RUNNING, VM_CMD_EXITED };

#define VM_CTL_LINE_MAX 256

/* The virtio console's ports in the order the guest numbers them; vm_virtio.c's table. */
enum vm_port {
	VM_PORT_CONSOLE, /* hvc0 */
	VM_PORT_CTL,	 /* microvmm.ctl (vm_ctl.c) */
	VM_PORT_STDIN,	 /* the command's stdio, only without a terminal */
	VM_PORT_STDOUT,
	VM_PORT_STDERR,
	VM_PORT_COUNT,
};

struct vm {
	const struct config *cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct serial serial;
	bool serial_ready;
	struct pci_bus pci;
	bool pci_ready;
	struct power_sink power;
	struct vcpu_env vcpu_env;
	struct vcpu *vcpus;
	unsigned int vcpu_count;

	int stop_fd;		  /* eventfd: written by whoever ends the VM */
	atomic_bool stopping;	  /* every thread polls it; set once by vm_run() */
	pthread_mutex_t end_lock; /* guards end, end_signal and end_detail */
	enum vm_end end;
	int end_signal;
	char end_detail[512];

	pthread_t input_thread;
	bool input_started;
	bool raw_terminal;
	/*
	 * stdin feeds the UART until the virtio console is ready: cleared on the
	 * loop thread (port 0 ready), read by the input thread.
	 */
	atomic_bool serial_input;
	int input_stop_fd; /* eventfd: ends the UART input thread */

	/* The virtio side: device loop, MSI routing, console. */
	struct io_loop loop;
	bool loop_ready;
	struct irq_router irq;
	bool irq_ready;
	struct virtio_console console;
	bool console_ready;
	bool tty; /* the command runs on the console as a terminal */
	int console_log_fd;
	int null_fd;
	unsigned int next_pci_bar;
	struct vm_msi_block console_msi;
	struct log_limit guest_log_limit; /* devices' guest-error lines (vm_virtio.c) */

	/* Shared folders and the --rootfs tree (vm_share.c), the agent's ids from them. */
	struct vm_shares shares;

	/* The network card (vm_net.c). */
	struct vm_net net;

	/* Control channel state; ctl_lock guards it (loop thread writes, main reads). */
	pthread_mutex_t ctl_lock;
	enum vm_command_state cmd_state;
	int cmd_status;	      /* exit status microvmm passes on */
	bool timed_out;	      /* --timeout fired (main thread) */
	int forwarded_signal; /* last signal passed to the command (main thread) */
	char ctl_line[VM_CTL_LINE_MAX];
	size_t ctl_len;
};

/*
 * Builds the whole VM from the configuration: KVM, RAM, kernel, initrd,
 * ACPI, devices and vCPUs. On failure writes one user-facing line into
 * `err`, returns -errno, and leaves nothing to undo but vm_destroy().
 */
int vm_create(struct vm *vm, const struct config *cfg, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/*
 * Runs the guest until it powers off, resets, panics or fails, or until a
 * termination signal arrives. Blocks SIGINT/SIGTERM/SIGHUP/SIGQUIT in the
 * calling thread. Returns how it ended.
 */
enum vm_end vm_run(struct vm *vm);

/*
 * Records how the VM ends (the first caller wins) and wakes vm_run(). Safe
 * from any thread; never blocks on vCPUs. `detail` may be NULL.
 */
void vm_request_end(struct vm *vm, enum vm_end end, int sig, const char *detail);

/* vm_virtio.c: the device loop, MSI routing and the virtio console with its ports. */
int vm_virtio_create(struct vm *vm, char *err, size_t err_len) __attribute__((warn_unused_result));
void vm_virtio_destroy(struct vm *vm);
/* vm_ctl.c: sends "signal N" to the guest init; returns -errno if no command runs. */
int vm_ctl_forward_signal(struct vm *vm, int sig);
/* vm_ctl.c: bytes from the guest init on microvmm.ctl (loop thread). */
void vm_ctl_input(void *ctx, const uint8_t *data, size_t len);

/* Tears everything down; idempotent, accepts a half-built VM. */
void vm_destroy(struct vm *vm);

#endif
