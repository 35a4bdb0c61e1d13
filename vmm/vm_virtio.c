/* The VM's virtio side: the io_uring device loop, MSI routing, vm_virtio_add() that wires every
 * virtio device, and the virtio console with its ports. */
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

/*
 * The device's MSI-X table size is the transport's to decide
 * (vp->vectors, virtio_pci_vector_count()), so the routes are taken
 * once the device is built: the transport reads host->msi_fds, which points
 * at msi->fds, only when the device goes live on the loop thread, and the
 * sink only on guest writes to the table.
 */
static int vm_virtio_route(struct vm *vm, const struct vm_virtio_dev *dev, struct vm_msi_block *msi,
			   char *err, size_t err_len)
{
	unsigned int vectors = dev->vp->vectors;

	msi->base = vectors <= MSIX_MAX_VECTORS ? irq_msi_alloc(&vm->irq, vectors) : -ENOSPC;
	if (msi->base < 0) {
		snprintf(err, err_len, "cannot allocate %u MSI vectors: %s", vectors,
			 strerror(-msi->base));
		return msi->base;
	}
	msi->count = vectors;
	for (unsigned int v = 0; v < vectors; v++)
		msi->fds[v] = irq_msi_fd(&vm->irq, (unsigned int)msi->base + v);
	return 0;
}

int vm_virtio_add(struct vm *vm, const struct vm_virtio_dev *dev, struct vm_msi_block *msi,
		  char *err, size_t err_len)
{
	/* The PCI bus runs out of slots long before the window runs out of strides. */
	uint64_t bar = LAYOUT_PCI_MMIO32_START + VM_PCI_BAR_STRIDE * vm->next_pci_bar++;
	struct virtio_pci_host host = {
	    .ram = &vm->mem.ram,
	    .loop = &vm->loop,
	    .ioeventfd = vm_ioeventfd,
	    .log = vm_virtio_log,
	    .ctx = vm,
	    .msix_sink = {.update = vm_msi_block_update, .ctx = msi},
	    .msi_fds = msi->fds,
	};
	int ret;

	*msi = (struct vm_msi_block){.vm = vm, .base = -1};
	for (unsigned int v = 0; v < MSIX_MAX_VECTORS; v++)
		msi->fds[v] = -1;
	ret = dev->init(dev->ctx, &host, bar, err, err_len);
	if (ret)
		goto fail;
	ret = vm_virtio_route(vm, dev, msi, err, err_len);
	if (ret)
		goto fail;
	ret = pci_bus_add(&vm->pci, &dev->vp->fn);
	if (ret < 0) {
		snprintf(err, err_len, "no PCI slot for %s", dev->what);
		goto fail;
	}
	return 0;
fail:
	/* The routes stay with the router, which frees them all at vm_virtio_destroy(). */
	dev->destroy(dev->ctx);
	return ret;
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

	if (port == VM_PORT_CONSOLE && !vm->guest_console_open) {
		vm->guest_console_open = true;
		vm_api_note_state(vm);
	}
	if (port != VM_PORT_CONSOLE || !vm->serial_input)
		return;
	vm->serial_input = false;
	ssize_t ignored = write(vm->input_stop_fd, &one, sizeof(one));
	(void)ignored;
}

/*
 * The ports, indexed by enum vm_port: the guest init finds the named ones
 * by name (run_config.h). The command's stdio ports exist only without a
 * terminal; with one, the command runs on hvc0.
 */
static const struct vm_port_spec {
	const char *name;
	int in_fd, out_fd;
	bool logged; /* a copy goes to --console-log */
} vm_ports[VM_PORT_COUNT] = {
    [VM_PORT_CONSOLE] = {NULL, -1, -1, true},
    [VM_PORT_CTL] = {RUN_PORT_CTL, -1, -1, false},
    [VM_PORT_STDIN] = {RUN_PORT_STDIN, STDIN_FILENO, -1, false},
    [VM_PORT_STDOUT] = {RUN_PORT_STDOUT, -1, STDOUT_FILENO, true},
    [VM_PORT_STDERR] = {RUN_PORT_STDERR, -1, STDERR_FILENO, true},
};

static unsigned int vm_console_ports(struct vm *vm, struct console_port_config *ports)
{
	unsigned int count = vm->tty ? VM_PORT_STDIN : VM_PORT_COUNT;

	memset(ports, 0, sizeof(ports[0]) * VM_PORT_COUNT);
	for (unsigned int p = 0; p < count; p++)
		ports[p] = (struct console_port_config){
		    .name = vm_ports[p].name,
		    .in_fd = vm_ports[p].in_fd,
		    .out_fd = vm_ports[p].out_fd,
		    .log_fd = vm_ports[p].logged ? vm->console_log_fd : -1,
		};
	/* hvc0: the terminal when there is one; otherwise only the transcript sees it. */
	if (vm->tty) {
		ports[VM_PORT_CONSOLE].in_fd = STDIN_FILENO;
		ports[VM_PORT_CONSOLE].out_fd = STDOUT_FILENO;
		ports[VM_PORT_CONSOLE].escape = true;
		/* Until the guest's console is up, stdin feeds the UART (boot without a command).
		 */
		ports[VM_PORT_CONSOLE].in_deferred = vm->cfg->command == NULL;
	}
	ports[VM_PORT_CTL].on_output = vm_ctl_input;
	ports[VM_PORT_CTL].ctx = vm;
	return count;
}

/* The console's part of struct vm_virtio_dev: its ports come from the VM's configuration. */
static int vm_console_init(void *ctx, const struct virtio_pci_host *host, uint64_t bar, char *err,
			   size_t err_len)
{
	struct vm *vm = ctx;
	struct console_port_config ports[VM_PORT_COUNT];
	unsigned int count = vm_console_ports(vm, ports);
	int ret = virtio_console_init(&vm->console, ports, count, host, bar);

	if (ret) {
		snprintf(err, err_len, "cannot create the virtio console: %s", strerror(-ret));
		return ret;
	}
	vm->console.on_escape = vm_console_escape;
	vm->console.on_port_ready = vm_console_port_ready;
	vm->console.escape_ctx = vm;
	return 0;
}

static void vm_console_destroy(void *ctx)
{
	struct vm *vm = ctx;

	virtio_console_destroy(&vm->console);
}

static int vm_virtio_console(struct vm *vm, char *err, size_t err_len)
{
	const struct vm_virtio_dev dev = {
	    .what = "the virtio console",
	    .init = vm_console_init,
	    .destroy = vm_console_destroy,
	    .ctx = vm,
	    .vp = &vm->console.vp,
	};
	int ret = vm_virtio_add(vm, &dev, &vm->console_msi, err, err_len);

	if (!ret)
		vm->console_ready = true;
	return ret;
}

/*
 * The device loop sends vhost-user messages, with fds attached
 * (SCM_RIGHTS), only to the virtiofsd sockets: its sendmsg and recvmsg are
 * pinned to them, so a compromised loop cannot hand guest memory or KVM
 * fds to any other socket it might reach.
 */
static int vm_loop_pin_vhost_fds(struct vm *vm)
{
	int fds[SECCOMP_MAX_PINNED_FDS];
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->shares.count; i++) {
		int fd = vm->shares.list[i].fs.vu.sock;

		if (fd < 0)
			continue;
		if (n == SECCOMP_MAX_PINNED_FDS)
			return -E2BIG;
		fds[n++] = fd;
	}
	return seccomp_filter_pin_fds(SECCOMP_LOOP, fds, n);
}

static void vm_loop_thread_start(void *ctx)
{
	int ret = vm_loop_pin_vhost_fds(ctx);

	if (!ret)
		ret = seccomp_filter_enter(SECCOMP_LOOP);

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
	/* Only a tap's frames gain from it; passt's relay loses (docs/network.md, "Scheduling"). */
	vm->loop.batch_sched = vm_net_uses_tap(&vm->net);
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
		ret = vm_shares_devices(&vm->shares, &vm->mem, err, err_len);
	if (!ret)
		ret = vm_net_device(&vm->net, err, err_len);
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
