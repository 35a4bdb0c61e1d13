/* Unit tests for the VM's virtio wiring (vmm/vm_virtio.c): vm_virtio_add() and the console ports,
 * without KVM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/layout.h"
#include "devices/virtio/virtio.h"
#include "vmm/guest/run_config.h"
#include "vmm/vm.h"

#define FAKE_QUEUES	3
#define FAKE_QUEUE_MAX	64
#define LOOP_ENTRIES	32
#define CONSOLE_VECTORS 2 /* config, and one the queues share */

/* A device with a fixed queue count whose init can be made to fail. */
struct fake_dev {
	struct virtio_pci vp;
	struct virtio_device_ops ops;
	int init_ret;
	unsigned int inits, destroys;
	uint64_t bar;
};

struct fixture {
	struct vm vm;
	struct config cfg;
	struct fake_dev fake[2];
	struct vm_msi_block msi[2];
};

static int fake_init(void *ctx, const struct virtio_pci_host *host, uint64_t bar, char *err,
		     size_t err_len)
{
	struct fake_dev *f = ctx;

	f->inits++;
	f->bar = bar;
	if (f->init_ret) {
		snprintf(err, err_len, "the fake device failed");
		return f->init_ret;
	}
	return virtio_pci_init(&f->vp, &f->ops, f, host, bar);
}

static void fake_destroy(void *ctx)
{
	struct fake_dev *f = ctx;

	f->destroys++;
	virtio_pci_destroy(&f->vp);
}

static struct vm_virtio_dev fake_wiring(struct fake_dev *f)
{
	return (struct vm_virtio_dev){
	    .what = "the fake device",
	    .init = fake_init,
	    .destroy = fake_destroy,
	    .ctx = f,
	    .vp = &f->vp,
	};
}

/* What vm_create() sets up before vm_virtio_create(), minus KVM and RAM. */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->vm.cfg = &fx->cfg;
	fx->vm.kvm.vm_fd = fx->vm.kvm.sys_fd = fx->vm.mem.fd = -1;
	fx->vm.console_log_fd = fx->vm.input_stop_fd = fx->vm.stop_fd = -1;
	bus_init(&fx->vm.mmio, "mmio");
	assert_int_equal(pci_bus_init(&fx->vm.pci, &fx->vm.power), 0);
	for (unsigned int i = 0; i < 2; i++)
		fx->fake[i].ops = (struct virtio_device_ops){
		    .name = "fake",
		    .device_id = 0x3f,
		    .pci_class = 0x00ff00,
		    .num_queues = FAKE_QUEUES,
		    .queue_max_size = FAKE_QUEUE_MAX,
		};
	*state = fx;
	return 0;
}

/* The loop and router as vm_virtio_create() makes them, for tests that add devices by hand. */
static int setup_loop(void **state)
{
	struct fixture *fx;

	setup(state);
	fx = *state;
	assert_int_equal(io_loop_init(&fx->vm.loop, LOOP_ENTRIES), 0);
	fx->vm.loop_ready = true;
	assert_int_equal(irq_router_init(&fx->vm.irq, -1), 0);
	fx->vm.irq_ready = true;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	for (unsigned int i = 0; i < 2; i++)
		virtio_pci_destroy(&fx->fake[i].vp);
	vm_virtio_destroy(&fx->vm);
	pci_bus_destroy(&fx->vm.pci);
	free(fx);
	return 0;
}

static void test_vm_virtio_add_routes_the_transports_vectors(void **state)
{
	struct fixture *fx = *state;
	struct vm_virtio_dev dev = fake_wiring(&fx->fake[0]);
	char err[128] = "";

	assert_int_equal(vm_virtio_add(&fx->vm, &dev, &fx->msi[0], err, sizeof(err)), 0);

	/* One route for config changes plus one per queue, as the transport counts them. */
	assert_int_equal(fx->msi[0].count, 1 + FAKE_QUEUES);
	assert_int_equal(fx->msi[0].count, fx->fake[0].vp.vectors);
	assert_int_equal(fx->msi[0].base, 0);
	for (unsigned int v = 0; v < fx->msi[0].count; v++) {
		assert_true(fx->msi[0].fds[v] >= 0);
		assert_int_equal(fx->msi[0].fds[v], irq_msi_fd(&fx->vm.irq, v));
	}
	assert_ptr_equal(fx->fake[0].vp.host.msi_fds, fx->msi[0].fds);
	assert_int_equal(fx->fake[0].destroys, 0);
	assert_string_equal(err, "");
}

static void test_vm_virtio_add_gives_each_device_its_own_bar_routes_and_slot(void **state)
{
	struct fixture *fx = *state;
	char err[128];
	int slots[2] = {-1, -1};

	for (unsigned int i = 0; i < 2; i++) {
		struct vm_virtio_dev dev = fake_wiring(&fx->fake[i]);

		assert_int_equal(vm_virtio_add(&fx->vm, &dev, &fx->msi[i], err, sizeof(err)), 0);
	}

	assert_int_equal(fx->fake[0].bar, LAYOUT_PCI_MMIO32_START);
	assert_int_equal(fx->fake[1].bar, LAYOUT_PCI_MMIO32_START + VM_PCI_BAR_STRIDE);
	assert_int_equal(fx->msi[1].base, (int)(1 + FAKE_QUEUES));
	for (unsigned int s = 0; s < PCI_SLOTS; s++)
		for (unsigned int i = 0; i < 2; i++)
			if (fx->vm.pci.slots[s] == &fx->fake[i].vp.fn)
				slots[i] = (int)s;
	assert_true(slots[0] >= 0);
	assert_true(slots[1] >= 0);
	assert_int_not_equal(slots[0], slots[1]);
	assert_int_equal(pci_bus_config_read(&fx->vm.pci, (unsigned int)slots[1], 0x10, 4) & ~0xfu,
			 (uint32_t)(LAYOUT_PCI_MMIO32_START + VM_PCI_BAR_STRIDE));
}

static void test_vm_virtio_add_failed_init_keeps_the_devices_line_and_takes_no_route(void **state)
{
	struct fixture *fx = *state;
	struct vm_virtio_dev dev = fake_wiring(&fx->fake[0]);
	char err[128] = "";

	fx->fake[0].init_ret = -EIO;

	assert_int_equal(vm_virtio_add(&fx->vm, &dev, &fx->msi[0], err, sizeof(err)), -EIO);

	assert_string_equal(err, "the fake device failed");
	assert_int_equal(fx->fake[0].destroys, 1);
	assert_int_equal(fx->vm.irq.msi_count, 0);
	for (unsigned int s = 0; s < PCI_SLOTS; s++)
		assert_ptr_not_equal(fx->vm.pci.slots[s], &fx->fake[0].vp.fn);
}

static void test_vm_virtio_add_full_bus_destroys_the_device(void **state)
{
	struct fixture *fx = *state;
	struct vm_virtio_dev dev = fake_wiring(&fx->fake[0]);
	static struct pci_function filler[PCI_SLOTS];
	char err[128] = "";

	for (unsigned int i = 0; i < PCI_SLOTS; i++) {
		pci_function_init(&filler[i], 0x1af4, 0x1000, 0x00ff00, 0, 0);
		if (pci_bus_add(&fx->vm.pci, &filler[i]) < 0)
			break;
	}

	assert_int_equal(vm_virtio_add(&fx->vm, &dev, &fx->msi[0], err, sizeof(err)), -ENOSPC);

	assert_string_equal(err, "no PCI slot for the fake device");
	assert_int_equal(fx->fake[0].inits, 1);
	assert_int_equal(fx->fake[0].destroys, 1);
}

static void test_vm_virtio_create_wires_the_console_ports_from_the_table(void **state)
{
	struct fixture *fx = *state;
	struct virtio_console *con = &fx->vm.console;
	char err[128] = "";

	assert_int_equal(vm_virtio_create(&fx->vm, err, sizeof(err)), 0);

	assert_true(fx->vm.console_ready);
	assert_int_equal(con->port_count, VM_PORT_COUNT);
	assert_null(con->ports[VM_PORT_CONSOLE].cfg.name);
	/* Without a terminal hvc0 feeds only the transcript. */
	assert_int_equal(con->ports[VM_PORT_CONSOLE].cfg.in_fd, -1);
	assert_int_equal(con->ports[VM_PORT_CONSOLE].cfg.out_fd, -1);
	assert_int_equal(con->ports[VM_PORT_CTL].cfg.in_fd, -1);
	assert_int_equal(con->ports[VM_PORT_CTL].cfg.out_fd, -1);
	assert_int_equal(con->ports[VM_PORT_STDIN].cfg.in_fd, STDIN_FILENO);
	assert_int_equal(con->ports[VM_PORT_STDOUT].cfg.out_fd, STDOUT_FILENO);
	assert_int_equal(con->ports[VM_PORT_STDERR].cfg.out_fd, STDERR_FILENO);
	assert_string_equal(con->ports[VM_PORT_CTL].cfg.name, RUN_PORT_CTL);
	assert_ptr_equal(con->ports[VM_PORT_CTL].cfg.on_output, vm_ctl_input);
	assert_string_equal(con->ports[VM_PORT_STDIN].cfg.name, RUN_PORT_STDIN);
	assert_string_equal(con->ports[VM_PORT_STDOUT].cfg.name, RUN_PORT_STDOUT);
	assert_string_equal(con->ports[VM_PORT_STDERR].cfg.name, RUN_PORT_STDERR);
	assert_int_equal(fx->vm.console_msi.count, CONSOLE_VECTORS);
}

static void test_vm_virtio_create_with_a_terminal_has_no_stdio_ports(void **state)
{
	struct fixture *fx = *state;
	char err[128] = "";

	fx->vm.tty = true;

	assert_int_equal(vm_virtio_create(&fx->vm, err, sizeof(err)), 0);

	assert_int_equal(fx->vm.console.port_count, VM_PORT_STDIN);
	assert_true(fx->vm.console.ports[VM_PORT_CONSOLE].cfg.escape);
	/* Fewer ports, the same two vectors: config, and the queues' shared one. */
	assert_int_equal(fx->vm.console_msi.count, 2);
}

static void test_vm_ctl_forward_signal_needs_the_console(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(pthread_mutex_init(&fx->vm.ctl_lock, NULL), 0);
	fx->vm.cmd_state = VM_CMD_RUNNING;

	assert_int_equal(vm_ctl_forward_signal(&fx->vm, 15), -ESRCH);
	pthread_mutex_destroy(&fx->vm.ctl_lock);
}

static void test_vm_virtio_destroy_is_idempotent(void **state)
{
	struct fixture *fx = *state;
	char err[128] = "";

	assert_int_equal(vm_virtio_create(&fx->vm, err, sizeof(err)), 0);

	vm_virtio_destroy(&fx->vm);
	vm_virtio_destroy(&fx->vm);

	assert_false(fx->vm.console_ready);
	assert_false(fx->vm.irq_ready);
	assert_false(fx->vm.loop_ready);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_vm_virtio_add_routes_the_transports_vectors,
					    setup_loop, teardown),
	    cmocka_unit_test_setup_teardown(
		test_vm_virtio_add_gives_each_device_its_own_bar_routes_and_slot, setup_loop,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_vm_virtio_add_failed_init_keeps_the_devices_line_and_takes_no_route,
		setup_loop, teardown),
	    cmocka_unit_test_setup_teardown(test_vm_virtio_add_full_bus_destroys_the_device,
					    setup_loop, teardown),
	    cmocka_unit_test_setup_teardown(
		test_vm_virtio_create_wires_the_console_ports_from_the_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_vm_virtio_create_with_a_terminal_has_no_stdio_ports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vm_ctl_forward_signal_needs_the_console, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_vm_virtio_destroy_is_idempotent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
