/* The VM: the root of ownership for KVM, memory, devices and vCPUs, and its run/stop cycle. */
#ifndef MICROVMM_VMM_VM_H
#define MICROVMM_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
#include "vmm/api/api_server.h"
#include "vmm/vm_msi.h"
#include "vmm/vm_net.h"
#include "vmm/vm_share.h"

/* Each function's BAR0 gets its own naturally aligned slot in the 32-bit window. */
#define VM_PCI_BAR_STRIDE 0x100000ULL

/*
 * The VM behind the API socket (vm_api.c; docs/embedding.md): routes, state,
 * counters and the requests the main thread carries out.
 *
 * Threads: the API thread (api_server.h) calls the handler; GETs read
 * atomics and counters; a PUT that changes the VM is posted here and the
 * API thread waits (at most VM_API_WAIT_MS) until the main thread, woken
 * through request_fd, has run it (vm_run.c: vm_api_take, vm_api_answer).
 * Once the VM is stopping, PUTs are answered 409 without waiting.
 * vm_api_note_state() may be called from any thread; it publishes a line
 * on the events stream when the state changed.
 */
#define VM_API_WAIT_MS		  10000
#define VM_API_SHUTDOWN_DEFAULT_S 30
#define VM_API_SHUTDOWN_MAX_S	  3600

enum vm_api_state { VM_STATE_BOOTING, VM_STATE_RUNNING, VM_STATE_PAUSED, VM_STATE_STOPPING };

enum vm_api_op {
	VM_API_NONE,
	VM_API_SHUTDOWN,
	VM_API_KILL,
	VM_API_PAUSE,
	VM_API_RESUME,
	VM_API_SIGNAL
};

struct vm_api {
	bool enabled;
	struct api_server server;
	int request_fd;	   /* eventfd the main thread polls; -1 */
	char *config_json; /* --print-config's text, owned */
	pid_t pid;	   /* microvmm's pid as the host sees it (the supervisor's) */
	uint64_t start_ms; /* CLOCK_MONOTONIC at vm_api_create */

	pthread_mutex_t lock; /* guards the request below */
	pthread_cond_t answered_cond;
	enum vm_api_op op; /* VM_API_NONE: no request waiting */
	int arg;
	unsigned long posted;	/* the id of the last request posted */
	unsigned long taken;	/* the id of the request the main thread took last */
	unsigned long answered; /* the id the answer below belongs to */
	int status;		/* the main thread's answer: 204, or 4xx/5xx with error */
	char error[API_ERROR_TEXT_MAX];
	bool closed; /* the main thread takes no more requests */

	atomic_bool paused;	    /* main thread writes */
	atomic_bool shutting_down;  /* PUT /vm/shutdown or /vm/kill accepted */
	pthread_mutex_t state_lock; /* guards published, and orders the lines */
	int published;		    /* the last state on the events stream, -1 before any */
	atomic_int exit_status;	    /* -1 until known */
};

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
	struct vcpu_gate gate; /* PUT /vm/pause */
	bool gate_ready;

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

	/* The guest opened hvc0 (loop thread sets): without a command, the VM is up. */
	atomic_bool guest_console_open;

	/* --api-socket (vm_api.c). */
	struct vm_api api;

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
 * What main.c made before the jail for --api-socket: the listening socket
 * and the configuration's JSON text, both handed over to the VM (closed
 * and freed by it, on failure too), and microvmm's pid as the host sees it.
 */
struct vm_api_args {
	int listen_fd;
	char *config_json;
	pid_t pid;
};

/*
 * Builds the whole VM from the configuration: KVM, RAM, kernel, initrd,
 * ACPI, devices and vCPUs (and the API server when `api` is not NULL). On
 * failure writes one user-facing line into `err`, returns -errno, and
 * leaves nothing to undo but vm_destroy().
 */
int vm_create(struct vm *vm, const struct config *cfg, const struct vm_api_args *api, char *err,
	      size_t err_len) __attribute__((warn_unused_result));

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

/* vm_api.c (see struct vm_api). */
/*
 * Main thread, before the jail: takes the listening socket (closed on
 * failure too) and the configuration's JSON text (owned from here on).
 * -errno with one line in err.
 */
int vm_api_create(struct vm *vm, int listen_fd, char *config_json, pid_t pid, char *err,
		  size_t err_len) __attribute__((warn_unused_result));
int vm_api_start(struct vm *vm) __attribute__((warn_unused_result));

/* Any thread: publish the VM's state if it changed. */
void vm_api_note_state(struct vm *vm);

/* Main thread: the request waiting (VM_API_NONE if none) and its answer. */
enum vm_api_op vm_api_take(struct vm *vm, int *arg);
void vm_api_answer(struct vm *vm, int status, const char *error);

/* Main thread, after the exit status is known: the last event, then the server stops. */
void vm_api_finish(struct vm *vm, int exit_status);
void vm_api_destroy(struct vm *vm);

/* Tears everything down; idempotent, accepts a half-built VM. */
void vm_destroy(struct vm *vm);

#endif
