/* Building and tearing down the VM: KVM, RAM, boot images, ACPI, devices and vCPUs. */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "boot/linux_boot.h"
#include "vmm/arch/x86_64/cpu.h"
#include "vmm/guest/run_config.h"
#include "vmm/kvm.h"
#include "vmm/loader.h"
#include "vmm/log.h"
#include "vmm/sandbox/jail.h"
#include "vmm/sandbox/memory_limit.h"
#include "vmm/timeline.h"

#define VM_CMDLINE_MAX 4096

static int vm_irq_line(void *ctx, unsigned int gsi, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};

	if (ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

static void vm_power_event(void *ctx, enum power_event event)
{
	struct vm *vm = ctx;

	switch (event) {
	case POWER_EVENT_OFF:
		vm_request_end(vm, VM_END_POWEROFF, 0, NULL);
		break;
	case POWER_EVENT_RESET:
		/* A reset right after the panic banner is how panic=-1 ends a guest. */
		vm_request_end(vm, serial_panic_seen(&vm->serial) ? VM_END_PANIC : VM_END_RESET, 0,
			       NULL);
		break;
	case POWER_EVENT_PANIC:
		vm_request_end(vm, VM_END_PANIC, 0, NULL);
		break;
	}
}

static void vm_vcpu_stop(void *ctx, enum vcpu_stop_reason reason, const char *detail)
{
	struct vm *vm = ctx;

	if (reason == VCPU_STOP_SHUTDOWN)
		vm_power_event(vm, POWER_EVENT_RESET);
	else
		vm_request_end(vm, VM_END_ERROR, 0, detail);
}

static int vm_build_cmdline(const struct config *cfg, char *out, size_t len)
{
	int n;

	if (cfg->cmdline)
		n = snprintf(out, len, "%s%s%s", cfg->cmdline, cfg->append ? " " : "",
			     cfg->append ? cfg->append : "");
	else
		n = snprintf(out, len, "%s%s%s%s", CONFIG_DEFAULT_CMDLINE,
			     cfg->verbose ? "" : " " CONFIG_QUIET_CMDLINE, cfg->append ? " " : "",
			     cfg->append ? cfg->append : "");
	return (n < 0 || (size_t)n >= len) ? -E2BIG : 0;
}

/*
 * A Linux kernel names its version in the setup header (boot.rst: kernel_version
 * at 0x20e, non-zero); on PVM its ring-0 code would be emulated instruction
 * by instruction (pvm-notes section 3), so say why the boot will not finish.
 */
static void vm_warn_linux_on_pvm(const struct loaded_kernel *kernel)
{
	const uint8_t *head = kernel->head;

	/*
	 * Only for Linux: a bzImage names its version (kernel_version, 0x20e), a
	 * vmlinux has an entry; the freestanding test guest has neither.
	 * kvm_detect_backend() makes a throwaway VM and vCPU: spend that only
	 * where a PVM module is loaded, not on every boot of a hardware host.
	 */
	if (((head[0x20e] | head[0x20f]) == 0 && !kernel->entry) ||
	    access("/sys/module/kvm_pvm", F_OK) != 0 || kvm_detect_backend() != KVM_BACKEND_PVM)
		return;
	log_warn("kvm",
		 "this host's KVM is PVM (guest ring 0 is emulated): a Linux kernel will not "
		 "boot in useful time; use a host with VMX/SVM KVM, or run microvmm inside "
		 "tests/nested/run-in-l1");
}

/* The initrd with the run configuration appended (a second cpio the guest init reads). */
static int vm_load_initrd(struct vm *vm, const struct loaded_kernel *kernel,
			  struct linux_boot_args *args, char *err, size_t err_len)
{
	const struct config *cfg = vm->cfg;
	struct cpio run;
	int ret;

	cpio_init(&run);
	ret = run_config_build(cfg, vm->tty, vm->shares.agent_uid, vm->shares.agent_gid,
			       &vm->net.guest_ip, &run);
	if (ret)
		snprintf(err, err_len, "cannot build the run configuration: %s", strerror(-ret));
	else
		ret = loader_load_initrd(cfg->initrd, &vm->mem.ram, &kernel->image, run.buf.data,
					 run.buf.len, &args->initrd_gpa, &args->initrd_size, err,
					 err_len);
	cpio_free(&run);
	return ret;
}

static int vm_load_boot(struct vm *vm, char *err, size_t err_len)
{
	const struct config *cfg = vm->cfg;
	struct loaded_kernel kernel;
	struct linux_boot_args args = {.image = &kernel.image, .image_head = kernel.head};
	struct acpi_config acpi = {.cpu_count = cfg->cpus};
	struct boot_cpu_state cpu;
	char cmdline[VM_CMDLINE_MAX];
	int ret;

	ret = loader_load_kernel(cfg->kernel, &vm->mem.ram, &kernel, err, err_len);
	if (ret)
		return ret;
	args.entry = kernel.entry;
	/* A vmlinux with a PVH note starts there (docs/benchmarks.md: the same entry QEMU takes).
	 */
	args.pvh_entry = kernel.pvh_entry;
	vm_warn_linux_on_pvm(&kernel);
	if (cfg->initrd) {
		ret = vm_load_initrd(vm, &kernel, &args, err, err_len);
		if (ret)
			return ret;
	}
	uint8_t *acpi_area =
	    guest_ram_ptr(&vm->mem.ram, LAYOUT_ACPI_START, LAYOUT_ACPI_END - LAYOUT_ACPI_START);

	ret = acpi_area ? acpi_build(acpi_area, LAYOUT_ACPI_END - LAYOUT_ACPI_START,
				     LAYOUT_ACPI_START, &acpi, &args.rsdp_gpa)
			: -ENOMEM;
	if (ret) {
		snprintf(err, err_len, "cannot build ACPI tables: %s", strerror(-ret));
		return ret;
	}
	ret = vm_build_cmdline(cfg, cmdline, sizeof(cmdline));
	args.cmdline = cmdline;
	if (!ret)
		ret = linux_boot_setup(&vm->mem.ram, &args, &cpu);
	if (ret == -E2BIG) {
		snprintf(err, err_len,
			 "kernel command line is too long (this kernel takes %u bytes): shorten "
			 "--cmdline/--append",
			 kernel.image.cmdline_max);
		return ret;
	}
	if (ret) {
		snprintf(err, err_len, "cannot set up the boot parameters: %s", strerror(-ret));
		return ret;
	}
	ret = cpu_load_boot_state(vm->vcpus[0].fd, &cpu);
	if (ret)
		snprintf(err, err_len, "cannot load the boot vCPU registers: %s", strerror(-ret));
	return ret;
}

static int vm_add_devices(struct vm *vm, char *err, size_t err_len)
{
	struct irq_line com1 = {.set_level = vm_irq_line, .ctx = vm, .gsi = LAYOUT_IRQ_COM1};
	int ret;

	vm->power = (struct power_sink){.event = vm_power_event, .ctx = vm};
	/*
	 * The UART carries boot messages. With a command they must not mix
	 * with its output: they go to stderr with --verbose, else nowhere
	 * (the panic banner is still watched for).
	 */
	int uart_out = STDOUT_FILENO;

	if (vm->cfg->command)
		uart_out = vm->cfg->verbose ? STDERR_FILENO : -1;
	ret = serial_init(&vm->serial, uart_out, com1);
	if (ret)
		goto fail;
	vm->serial_ready = true;
	ret = pci_bus_init(&vm->pci, &vm->power);
	if (ret)
		goto fail;
	vm->pci_ready = true;
	ret = bus_register(&vm->pio, LAYOUT_PORT_COM1, SERIAL_PORT_COUNT, &serial_io_ops,
			   &vm->serial);
	if (!ret)
		ret = bus_register(&vm->pio, LAYOUT_PORT_SLEEP_CONTROL, 3, &power_acpi_io_ops,
				   &vm->power);
	if (!ret)
		ret = bus_register(&vm->pio, LAYOUT_PORT_I8042_CMD, 1, &power_i8042_io_ops,
				   &vm->power);
	if (!ret)
		ret = bus_register(&vm->pio, LAYOUT_PORT_PVPANIC, 1, &power_pvpanic_io_ops,
				   &vm->power);
	if (!ret)
		ret =
		    bus_register(&vm->pio, LAYOUT_PORT_PCI_CONF_ADDR, 8, &pci_bus_io_ops, &vm->pci);
	if (!ret)
		return 0;
fail:
	snprintf(err, err_len, "cannot set up devices: %s", strerror(-ret));
	return ret;
}

static int vm_check_cpus(struct vm *vm, char *err, size_t err_len)
{
	unsigned int max = vm->kvm.max_vcpus < ACPI_MAX_CPUS ? vm->kvm.max_vcpus : ACPI_MAX_CPUS;

	if (vm->cfg->cpus > max) {
		snprintf(err, err_len, "--cpus %u is more than this host allows: give at most %u",
			 vm->cfg->cpus, max);
		return -EINVAL;
	}
	return 0;
}

static int vm_create_vcpus(struct vm *vm, char *err, size_t err_len)
{
	struct kvm_cpuid2 *cpuid = cpu_supported_cpuid(vm->kvm.sys_fd);
	int ret = 0;

	if (!cpuid) {
		ret = -errno;
		snprintf(err, err_len, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-ret));
		return ret;
	}
	vm->vcpu_env = (struct vcpu_env){.pio = &vm->pio,
					 .mmio = &vm->mmio,
					 .stopping = &vm->stopping,
					 .gate = &vm->gate,
					 .stop = vm_vcpu_stop,
					 .ctx = vm};
	for (unsigned int i = 0; i < vm->cfg->cpus && !ret; i++) {
		ret = vcpu_create(&vm->vcpus[i], &vm->vcpu_env, vm->kvm.vm_fd, i, vm->kvm.run_size);
		if (!ret)
			vm->vcpu_count = i + 1;
		if (!ret)
			ret = cpu_setup(vm->vcpus[i].fd, cpuid, i, vm->cfg->cpus,
					vm->kvm.tsc_deadline);
		if (ret)
			snprintf(err, err_len, "cannot create vCPU %u: %s", i, strerror(-ret));
	}
	free(cpuid);
	return ret;
}

/*
 * The VM process may grow only a bounded amount past what it has mapped
 * now (guest RAM included): a guest that makes a device allocate without
 * limit meets ENOMEM here instead of the host's OOM killer. Sanitizer
 * builds reserve terabytes of shadow address space and go without.
 */
static int vm_limit_memory(unsigned int threads, char *err, size_t err_len)
{
#ifdef MICROVMM_SANITIZE
	(void)threads;
	(void)err;
	(void)err_len;
	return 0;
#else
	int ret = memory_limit_apply(threads);

	if (ret)
		snprintf(err, err_len, "cannot limit microvmm's memory: %s", strerror(-ret));
	return ret;
#endif
}

/* Everything vm_destroy() looks at is valid once this returns. */
static void vm_init_state(struct vm *vm, const struct config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm.sys_fd = vm->kvm.vm_fd = vm->mem.fd = vm->stop_fd = -1;
	vm->input_stop_fd = vm->console_log_fd = vm->null_fd = -1;
	vm->net.tap_fd = vm->net.log_fd = -1;
	vm->api.request_fd = -1;
	passt_init(&vm->net.passt);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->end_lock, NULL);
	pthread_mutex_init(&vm->ctl_lock, NULL);
	/* Like docker run -t: a terminal only when stdin is one. */
	vm->tty = isatty(STDIN_FILENO);
	vm->serial_input = vm->tty && !cfg->command;
}

/* The VM's own eventfds, the --console-log file and the vCPU array. */
static int vm_open_own_fds(struct vm *vm, char *err, size_t err_len)
{
	const struct config *cfg = vm->cfg;
	int ret;

	vm->input_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->input_stop_fd < 0 || vm->stop_fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "eventfd: %s", strerror(-ret));
		return ret;
	}
	if (cfg->console_log) {
		vm->console_log_fd =
		    open(cfg->console_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (vm->console_log_fd < 0) {
			ret = -errno;
			snprintf(err, err_len, "cannot open --console-log '%s': %s",
				 cfg->console_log, strerror(-ret));
			return ret;
		}
	}
	vm->vcpus = calloc(cfg->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		snprintf(err, err_len, "out of memory for %u vCPUs", cfg->cpus);
		return -ENOMEM;
	}
	ret = vcpu_gate_init(&vm->gate);
	if (ret) {
		snprintf(err, err_len, "cannot set up the vCPUs' pause gate: %s", strerror(-ret));
		return ret;
	}
	vm->gate_ready = true;
	return 0;
}

/* --api-socket: the server, built before the jail; its thread starts with the others. */
static int vm_create_api(struct vm *vm, const struct vm_api_args *api, char *err, size_t err_len)
{
	if (!api)
		return 0;
	if (!api->config_json) {
		close(api->listen_fd);
		snprintf(err, err_len, "out of memory for the API's copy of the configuration");
		return -ENOMEM;
	}
	return vm_api_create(vm, api->listen_fd, api->config_json, api->pid, err, err_len);
}

int vm_create(struct vm *vm, const struct config *cfg, const struct vm_api_args *api, char *err,
	      size_t err_len)
{
	int ret;

	vm_init_state(vm, cfg);
	ret = vm_create_api(vm, api, err, err_len);
	if (!ret)
		ret = vm_open_own_fds(vm, err, err_len);
	/* The daemons start first so they come up while the VM is built. */
	if (!ret)
		ret = vm_shares_start(&vm->shares, vm, cfg, err, err_len);
	if (!ret)
		ret = vm_net_start(&vm->net, vm, cfg, err, err_len);
	if (!ret)
		timeline_mark(TIMELINE_HELPERS);
	if (!ret)
		ret = kvm_open(&vm->kvm, err, err_len);
	if (!ret)
		ret = vm_check_cpus(vm, err, err_len);
	if (!ret)
		ret = guest_mem_create(&vm->mem, vm->kvm.vm_fd, cfg->mem,
				       &(struct guest_mem_options){
					   .shared = cfg->share_count > 0 || cfg->rootfs_set,
					   .huge_pages = !cfg->no_hugepages,
				       },
				       err, err_len);
	if (!ret)
		ret = vm_add_devices(vm, err, err_len);
	if (!ret)
		ret = vm_virtio_create(vm, err, err_len);
	if (!ret)
		ret = vm_create_vcpus(vm, err, err_len);
	if (!ret)
		timeline_mark(TIMELINE_DEVICES);
	if (!ret)
		ret = vm_load_boot(vm, err, err_len);
	if (!ret)
		ret = vm_net_check(&vm->net, err, err_len);
	if (!ret)
		timeline_mark(TIMELINE_LOADED);
	/* vCPUs, the device loop, the input thread, main, a spare, and the API's. */
	if (!ret && !cfg->no_sandbox)
		ret = vm_limit_memory(cfg->cpus + 4 + (vm->api.enabled ? 1 : 0), err, err_len);
	if (!ret && !cfg->no_sandbox)
		ret = jail_enter(
		    &(struct jail_options){.uid = cfg->jail_uid,
					   .gid = cfg->jail_gid,
					   .spare_fds = vm->api.enabled ? API_MAX_CLIENTS : 0},
		    err, err_len);
	if (!ret)
		timeline_mark(TIMELINE_JAILED);
	return ret;
}

void vm_destroy(struct vm *vm)
{
	vm_api_destroy(vm);
	vm_virtio_destroy(vm);
	vm_shares_destroy(&vm->shares);
	vm_net_destroy(&vm->net);
	for (unsigned int i = 0; i < vm->vcpu_count; i++)
		vcpu_destroy(&vm->vcpus[i]);
	vm->vcpu_count = 0;
	free(vm->vcpus);
	vm->vcpus = NULL;
	if (vm->pci_ready)
		pci_bus_destroy(&vm->pci);
	if (vm->serial_ready)
		serial_destroy(&vm->serial);
	vm->pci_ready = vm->serial_ready = false;
	guest_mem_destroy(&vm->mem);
	kvm_close(&vm->kvm);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	vm->stop_fd = -1;
	if (vm->input_stop_fd >= 0)
		close(vm->input_stop_fd);
	if (vm->console_log_fd >= 0)
		close(vm->console_log_fd);
	vm->input_stop_fd = vm->console_log_fd = -1;
	if (vm->gate_ready)
		vcpu_gate_destroy(&vm->gate);
	vm->gate_ready = false;
	pthread_mutex_destroy(&vm->end_lock);
	pthread_mutex_destroy(&vm->ctl_lock);
}
