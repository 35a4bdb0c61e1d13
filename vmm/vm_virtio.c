/* The VM's virtio side: the io_uring device loop, MSI routing, the virtio console with its ports,
 * and the shares' virtio-fs devices. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/layout.h"
#include "vmm/guest/run_config.h"
#include "vmm/log.h"
#include "vmm/sandbox/seccomp_filter.h"

#define VM_LOOP_ENTRIES	   256
#define VM_GUEST_LOG_BURST 10 /* device guest-error lines per second, all devices together */

/* Port numbers of the console device (port 0 is hvc0). */
enum { PORT_CONSOLE, PORT_CTL, PORT_STDIN, PORT_STDOUT, PORT_STDERR, PORT_COUNT };

static int vm_ioeventfd(void *ctx, uint64_t addr, int fd, bool assign)
{
	struct vm *vm = ctx;
	struct kvm_ioeventfd io = {.addr = addr, .len = 2, .fd = fd};

	if (!assign)
		io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm->kvm.vm_fd, KVM_IOEVENTFD, &io) < 0) {
		log_warn("virtio", "KVM_IOEVENTFD at 0x%llx: %s", (unsigned long long)addr,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * The devices' guest-error lines (virtio_pci_host.log), on the loop thread:
 * at most VM_GUEST_LOG_BURST a second across all devices, so a hostile
 * guest that resets and breaks a device in a loop cannot flood stderr.
 */
static void vm_virtio_log(void *ctx, const char *line)
{
	struct vm *vm = ctx;
	unsigned int suppressed;

	if (!vm->guest_log_limit.burst)
		vm->guest_log_limit =
		    (struct log_limit){.burst = VM_GUEST_LOG_BURST, .window_ms = 1000};
	if (!log_limit_allow(&vm->guest_log_limit, log_limit_now_ms(), &suppressed))
		return;
	if (suppressed)
		log_warn("guest", "%s (%u similar lines suppressed)", line, suppressed);
	else
		log_warn("guest", "%s", line);
}

static int vm_msi_block_update(void *ctx, unsigned int vector, bool active, uint64_t addr,
			       uint32_t data)
{
	struct vm_msi_block *msi = ctx;

	return irq_msi_update(&msi->vm->irq, (unsigned int)msi->base + vector, active, addr, data);
}

int vm_virtio_host(struct vm *vm, unsigned int vectors, struct vm_msi_block *msi,
		   struct virtio_pci_host *host, uint64_t *bar, char *err, size_t err_len)
{
	msi->vm = vm;
	msi->base = vectors <= MSIX_MAX_VECTORS ? irq_msi_alloc(&vm->irq, vectors) : -ENOSPC;
	if (msi->base < 0) {
		snprintf(err, err_len, "cannot allocate %u MSI vectors: %s", vectors,
			 strerror(-msi->base));
		return msi->base;
	}
	for (unsigned int v = 0; v < vectors; v++)
		msi->fds[v] = irq_msi_fd(&vm->irq, (unsigned int)msi->base + v);
	*host = (struct virtio_pci_host){
	    .ram = &vm->mem.ram,
	    .loop = &vm->loop,
	    .ioeventfd = vm_ioeventfd,
	    .log = vm_virtio_log,
	    .ctx = vm,
	    .msix_sink = {.update = vm_msi_block_update, .ctx = msi},
	    .msi_fds = msi->fds,
	};
	*bar = LAYOUT_PCI_MMIO32_START + VM_PCI_BAR_STRIDE * vm->next_pci_bar++;
	return 0;
}

static void vm_console_escape(void *ctx)
{
	vm_request_end(ctx, VM_END_ESCAPE, 0, NULL);
}

/* Port 0 came up: stdin now belongs to the virtio console, not the UART. */
static void vm_console_port_ready(void *ctx, unsigned int port)
{
	struct vm *vm = ctx;
	uint64_t one = 1;

	if (port != PORT_CONSOLE || !vm->serial_input)
		return;
	vm->serial_input = false;
	ssize_t ignored = write(vm->input_stop_fd, &one, sizeof(one));
	(void)ignored;
}

static unsigned int vm_console_ports(struct vm *vm, struct console_port_config *ports)
{
	const struct config *cfg = vm->cfg;
	bool command_mode = cfg->command != NULL;

	memset(ports, 0, sizeof(ports[0]) * PORT_COUNT);
	for (unsigned int p = 0; p < PORT_COUNT; p++)
		ports[p].in_fd = ports[p].out_fd = ports[p].log_fd = -1;
	/* hvc0: the terminal when there is one; otherwise only the transcript sees it. */
	ports[PORT_CONSOLE].log_fd = vm->console_log_fd;
	if (vm->tty) {
		ports[PORT_CONSOLE].in_fd = STDIN_FILENO;
		ports[PORT_CONSOLE].out_fd = STDOUT_FILENO;
		ports[PORT_CONSOLE].escape = true;
		/* Until the guest's console is up, stdin feeds the UART (boot without a command).
		 */
		ports[PORT_CONSOLE].in_deferred = !command_mode;
	}
	ports[PORT_CTL].name = RUN_PORT_CTL;
	ports[PORT_CTL].on_output = vm_ctl_input;
	ports[PORT_CTL].ctx = vm;
	if (vm->tty)
		return 2;
	ports[PORT_STDIN].name = RUN_PORT_STDIN;
	ports[PORT_STDIN].in_fd = STDIN_FILENO;
	ports[PORT_STDOUT].name = RUN_PORT_STDOUT;
	ports[PORT_STDOUT].out_fd = STDOUT_FILENO;
	ports[PORT_STDOUT].log_fd = vm->console_log_fd;
	ports[PORT_STDERR].name = RUN_PORT_STDERR;
	ports[PORT_STDERR].out_fd = STDERR_FILENO;
	ports[PORT_STDERR].log_fd = vm->console_log_fd;
	return PORT_COUNT;
}

static int vm_virtio_console(struct vm *vm, char *err, size_t err_len)
{
	struct console_port_config ports[PORT_COUNT];
	unsigned int count = vm_console_ports(vm, ports);
	/* Vectors: one for config changes and one per queue (2 per port + control pair). */
	unsigned int vectors = 1 + 2 * (count + 1);
	int ret;

	struct virtio_pci_host host;
	uint64_t bar;

	ret = vm_virtio_host(vm, vectors, &vm->console_msi, &host, &bar, err, err_len);
	if (ret)
		return ret;

	ret = virtio_console_init(&vm->console, ports, count, &host, bar);
	if (ret) {
		snprintf(err, err_len, "cannot create the virtio console: %s", strerror(-ret));
		return ret;
	}
	vm->console_ready = true;
	vm->console.on_escape = vm_console_escape;
	vm->console.on_port_ready = vm_console_port_ready;
	vm->console.escape_ctx = vm;
	ret = pci_bus_add(&vm->pci, &vm->console.vp.fn);
	if (ret < 0) {
		snprintf(err, err_len, "no PCI slot for the virtio console");
		return ret;
	}
	return 0;
}

static void vm_loop_thread_start(void *ctx)
{
	int ret = seccomp_filter_enter(SECCOMP_LOOP);

	if (ret)
		vm_request_end(ctx, VM_END_ERROR, 0,
			       "cannot install the device loop's seccomp filter");
}

int vm_virtio_create(struct vm *vm, char *err, size_t err_len)
{
	int ret;

	ret = io_loop_init(&vm->loop, VM_LOOP_ENTRIES);
	if (ret) {
		if (ret == -ENOSYS || ret == -EPERM)
			snprintf(err, err_len,
				 "this host has no usable io_uring (%s): use Linux 5.10 or newer "
				 "with io_uring enabled (sysctl kernel.io_uring_disabled=0)",
				 strerror(-ret));
		else
			snprintf(err, err_len, "cannot set up io_uring: %s", strerror(-ret));
		return ret;
	}
	vm->loop_ready = true;
	/* io_uring bypasses seccomp: the ring gets its own allowlist (docs/security.md). */
	vm->loop.restrict_ops = !vm->cfg->no_sandbox;
	vm->loop.on_thread_start = vm_loop_thread_start;
	vm->loop.thread_ctx = vm;
	ret = irq_router_init(&vm->irq, vm->kvm.vm_fd);
	if (ret) {
		snprintf(err, err_len, "cannot set up interrupt routing: %s", strerror(-ret));
		return ret;
	}
	vm->irq_ready = true;
	ret = bus_register(&vm->mmio, LAYOUT_PCI_MMIO32_START,
			   LAYOUT_PCI_MMIO32_END - LAYOUT_PCI_MMIO32_START, &pci_bus_mmio_ops,
			   &vm->pci);
	if (ret) {
		snprintf(err, err_len, "cannot map the PCI window: %s", strerror(-ret));
		return ret;
	}
	ret = vm_virtio_console(vm, err, err_len);
	if (!ret)
		ret = vm_shares_devices(vm, err, err_len);
	if (!ret)
		ret = vm_net_device(vm, err, err_len);
	return ret;
}

void vm_virtio_destroy(struct vm *vm)
{
	if (vm->loop_ready)
		io_loop_stop(&vm->loop);
	if (vm->console_ready)
		virtio_console_destroy(&vm->console);
	vm->console_ready = false;
	if (vm->irq_ready)
		irq_router_destroy(&vm->irq);
	vm->irq_ready = false;
	if (vm->loop_ready)
		io_loop_destroy(&vm->loop);
	vm->loop_ready = false;
}
