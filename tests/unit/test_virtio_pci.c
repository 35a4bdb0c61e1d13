/* Unit tests for the modern virtio-pci transport (devices/virtio/virtio_pci.c, virtio 1.2 §4.1). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/le.h"
#include "devices/io.h"
#include "devices/io_loop.h"
#include "devices/pci/pci_bus.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/test_host.h"
#include "tests/support/test_wait.h"
#include "tests/support/vp_driver.h"

#define FAKE_DEVICE_ID	       4
#define FAKE_CLASS	       0x00ff00
#define FAKE_QUEUES	       2
#define FAKE_VECTORS	       (1 + FAKE_QUEUES)
#define FAKE_QUEUE_MAX	       64
#define FAKE_FEATURES	       (VIRTIO_BIT(0) | VIRTIO_BIT(5))
#define FAKE_CONFIG_SIZE       8
#define BAR_ADDR	       0xc0000000ULL
#define BAR_ADDR_MOVED	       0xc1230000ULL /* 32 KiB aligned */
#define RAM_SIZE	       (1u << 20)
#define QUEUE_STRIDE	       0x10000ULL
#define OUTSIDE_RAM	       0x80000000ULL
#define MAX_RECORDS	       64
#define MAX_EVENTS	       16
#define TIMEOUT_MS	       2000
#define PCI_CAP_ID_VNDR	       0x09
#define PCI_CAP_ID_MSIX	       0x11
#define PCI_CLASS_REVISION     0x08
#define PCI_BAR1	       (PCI_BAR0 + 4)
#define VIRTIO_PCI_DEVICE_BASE 0x1040

/* Capability types (§4.1.4). */
#define CAP_COMMON_CFG 1
#define CAP_NOTIFY_CFG 2
#define CAP_ISR_CFG    3
#define CAP_DEVICE_CFG 4

#define COMMON(off) (VIRTIO_PCI_COMMON_OFFSET + (off))

struct fake_dev {
	pthread_mutex_t lock;
	int activates, resets, notifies[FAKE_QUEUES];
	bool activate_on_loop, reset_on_loop;
	bool pop_rings; /* queue_notify consumes the ring, breaking the device on a bad one */
	char events[MAX_EVENTS]; /* 'A' activate, 'R' reset, in order */
	unsigned int event_count;
	int activate_ret;
	uint8_t config[FAKE_CONFIG_SIZE];
	unsigned int config_writes;
	struct io_loop *loop;
	struct virtio_pci *vp;
};

struct ioeventfd_record {
	uint64_t addr;
	int fd;
	bool assign;
};

struct msix_record {
	unsigned int vector;
	bool active;
	uint64_t addr;
	uint32_t data;
};

struct bar_change {
	uint64_t addr;
	bool enabled;
};

struct fixture {
	struct io_loop loop;
	struct pci_bus bus;
	int slot;
	uint8_t *mem;
	struct guest_ram ram;
	struct virtio_device_ops ops;
	struct fake_dev dev;
	struct virtio_pci vp;
	int msi_fds[FAKE_VECTORS];

	pthread_mutex_t lock; /* the records below */
	struct ioeventfd_record ioeventfds[MAX_RECORDS];
	unsigned int ioeventfd_count;
	struct msix_record msix[MAX_RECORDS];
	unsigned int msix_count;
	void (*orig_bar_changed)(struct pci_function *fn, uint64_t addr, bool enabled);
	struct bar_change bar_changes[MAX_RECORDS];
	unsigned int bar_change_count;

	/* Released by the teardown too, so a failed test never leaves the loop parked. */
	struct blocker blocker, marker;
	struct test_log log; /* the transport's log lines */
	pthread_t reset_tid;
	bool reset_tid_live;
};

/* ---- the fake device ---- */

static bool on_loop_thread(const struct fake_dev *d)
{
	return d->loop->started && pthread_equal(pthread_self(), d->loop->thread);
}

static void fake_event(struct fake_dev *d, char event)
{
	if (d->event_count < MAX_EVENTS)
		d->events[d->event_count++] = event;
}

static int fake_activate(void *dev, struct virtio_pci *vp)
{
	struct fake_dev *d = dev;

	pthread_mutex_lock(&d->lock);
	d->vp = vp;
	d->activates++;
	d->activate_on_loop = on_loop_thread(d);
	fake_event(d, 'A');
	pthread_mutex_unlock(&d->lock);
	return d->activate_ret;
}

static void fake_reset(void *dev)
{
	struct fake_dev *d = dev;

	pthread_mutex_lock(&d->lock);
	d->resets++;
	d->reset_on_loop = on_loop_thread(d);
	fake_event(d, 'R');
	pthread_mutex_unlock(&d->lock);
}

/* Consumes a queue as a real device does: a malformed ring breaks the device with its reason. */
static void fake_pop(struct fake_dev *d, unsigned int queue)
{
	struct virtq *q = virtio_pci_vq(d->vp, queue);
	struct virtq_chain chain;
	int got;

	while ((got = virtq_pop(q, &chain)) > 0)
		virtq_push(q, chain.head, 0);
	if (got < 0)
		virtio_pci_set_broken(d->vp, queue, q->error);
}

static void fake_queue_notify(void *dev, unsigned int queue)
{
	struct fake_dev *d = dev;

	if (d->pop_rings) {
		fake_pop(d, queue);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (queue < FAKE_QUEUES)
		d->notifies[queue]++;
	pthread_mutex_unlock(&d->lock);
	/* Answer every kick with an interrupt (no EVENT_IDX: unless NO_INTERRUPT). */
	virtio_pci_notify_queue(d->vp, queue);
}

static void fake_config_read(void *dev, uint32_t offset, uint8_t *data, unsigned int size)
{
	struct fake_dev *d = dev;

	memcpy(data, d->config + offset, size);
}

static void fake_config_write(void *dev, uint32_t offset, const uint8_t *data, unsigned int size)
{
	struct fake_dev *d = dev;

	memcpy(d->config + offset, data, size);
	d->config_writes++;
}

static int fake_count(struct fake_dev *d, const int *counter)
{
	pthread_mutex_lock(&d->lock);
	int v = *counter;

	pthread_mutex_unlock(&d->lock);
	return v;
}

/* ---- host services ---- */

static void record_log(void *ctx, const char *line)
{
	struct fixture *f = ctx;

	test_log_add(&f->log, line);
}

static int record_ioeventfd(void *ctx, uint64_t addr, int fd, bool assign)
{
	struct fixture *f = ctx;

	pthread_mutex_lock(&f->lock);
	if (f->ioeventfd_count < MAX_RECORDS)
		f->ioeventfds[f->ioeventfd_count] = (struct ioeventfd_record){addr, fd, assign};
	f->ioeventfd_count++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int record_msix(void *ctx, unsigned int vector, bool active, uint64_t addr, uint32_t data)
{
	struct fixture *f = ctx;

	pthread_mutex_lock(&f->lock);
	if (f->msix_count < MAX_RECORDS)
		f->msix[f->msix_count] = (struct msix_record){vector, active, addr, data};
	f->msix_count++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void record_bar_changed(struct pci_function *fn, uint64_t addr, bool enabled)
{
	struct virtio_pci *vp = fn->opaque;
	struct fixture *f = (struct fixture *)((uint8_t *)vp - offsetof(struct fixture, vp));

	pthread_mutex_lock(&f->lock);
	if (f->bar_change_count < MAX_RECORDS)
		f->bar_changes[f->bar_change_count] = (struct bar_change){addr, enabled};
	f->bar_change_count++;
	pthread_mutex_unlock(&f->lock);
	f->orig_bar_changed(fn, addr, enabled);
}

/* Reads (and clears) an eventfd's counter; 0 when nothing was signalled. */
static uint64_t eventfd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- fixture ---- */

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	for (unsigned int v = 0; v < FAKE_VECTORS; v++)
		f->msi_fds[v] = -1;
	pthread_mutex_init(&f->lock, NULL);
	test_log_init(&f->log);
	pthread_mutex_init(&f->dev.lock, NULL);
	f->mem = calloc(1, RAM_SIZE);
	if (!f->mem)
		goto fail;
	f->ram.regions[0] = (struct guest_ram_region){.gpa = 0, .size = RAM_SIZE, .host = f->mem};
	f->ram.count = 1;
	f->ram.total = RAM_SIZE;
	for (unsigned int v = 0; v < FAKE_VECTORS; v++) {
		f->msi_fds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (f->msi_fds[v] < 0)
			goto fail;
	}
	if (io_loop_init(&f->loop, 64))
		goto fail;
	if (pci_bus_init(&f->bus, NULL))
		goto fail;
	f->dev.loop = &f->loop;
	f->dev.vp = &f->vp;
	f->ops = (struct virtio_device_ops){
	    .name = "fake",
	    .device_id = FAKE_DEVICE_ID,
	    .pci_class = FAKE_CLASS,
	    .num_queues = FAKE_QUEUES,
	    .queue_max_size = FAKE_QUEUE_MAX,
	    .features = FAKE_FEATURES,
	    .config_size = FAKE_CONFIG_SIZE,
	    .config_read = fake_config_read,
	    .config_write = fake_config_write,
	    .activate = fake_activate,
	    .reset = fake_reset,
	    .queue_notify = fake_queue_notify,
	};
	struct virtio_pci_host host = {
	    .ram = &f->ram,
	    .loop = &f->loop,
	    .ioeventfd = record_ioeventfd,
	    .log = record_log,
	    .ctx = f,
	    .msix_sink = {.update = record_msix, .ctx = f},
	    .msi_fds = f->msi_fds,
	};

	if (virtio_pci_init(&f->vp, &f->ops, &f->dev, &host, BAR_ADDR))
		goto fail;
	f->orig_bar_changed = f->vp.fn.bar_changed;
	f->vp.fn.bar_changed = record_bar_changed;
	f->slot = pci_bus_add(&f->bus, &f->vp.fn);
	if (f->slot < 0)
		goto fail;
	*state = f;
	return 0;
fail:
	*state = f;
	return -1;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	blocker_release(&f->blocker);
	if (f->reset_tid_live)
		pthread_join(f->reset_tid, NULL);
	io_loop_stop(&f->loop);
	virtio_pci_destroy(&f->vp);
	io_loop_destroy(&f->loop);
	pci_bus_destroy(&f->bus);
	for (unsigned int v = 0; v < FAKE_VECTORS; v++)
		if (f->msi_fds[v] >= 0)
			close(f->msi_fds[v]);
	pthread_mutex_destroy(&f->dev.lock);
	pthread_mutex_destroy(&f->lock);
	test_log_destroy(&f->log);
	free(f->mem);
	free(f);
	return 0;
}

static uint32_t cfg_read(struct fixture *f, unsigned int offset, unsigned int size)
{
	return pci_bus_config_read(&f->bus, (unsigned int)f->slot, offset, size);
}

static void cfg_write(struct fixture *f, unsigned int offset, unsigned int size, uint32_t value)
{
	pci_bus_config_write(&f->bus, (unsigned int)f->slot, offset, size, value);
}

static void memory_decode(struct fixture *f, bool on)
{
	uint16_t cmd = (uint16_t)cfg_read(f, PCI_COMMAND, 2);

	cmd = on ? (uint16_t)(cmd | PCI_COMMAND_MEMORY) : (uint16_t)(cmd & ~PCI_COMMAND_MEMORY);
	cfg_write(f, PCI_COMMAND, 2, cmd);
}

static uint64_t queue_base(unsigned int q)
{
	return 0x1000 + q * QUEUE_STRIDE;
}

/* Programs every queue with rings inside the fake RAM, vector 1 + q. */
static void setup_queues(struct fixture *f)
{
	for (uint16_t q = 0; q < FAKE_QUEUES; q++) {
		uint64_t desc = queue_base(q);
		uint64_t avail = desc + VIRTQ_DESC_BYTES(FAKE_QUEUE_MAX);
		uint64_t used = (avail + VIRTQ_AVAIL_BYTES(FAKE_QUEUE_MAX) + 3) & ~3ULL;

		vp_driver_setup_queue(&f->vp, q, FAKE_QUEUE_MAX, (uint16_t)(1 + q), desc, avail,
				      used);
	}
}

static const uint64_t driver_features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

static void start_loop(struct fixture *f)
{
	assert_int_equal(io_loop_start(&f->loop), 0);
}

static bool activated(void *arg)
{
	struct fixture *f = arg;

	return fake_count(&f->dev, &f->dev.activates) > 0;
}

static bool needs_reset(void *arg)
{
	struct fixture *f = arg;

	return vp_driver_status(&f->vp) & VIRTIO_STATUS_NEEDS_RESET;
}

/* Negotiates, programs the queues and sets DRIVER_OK; waits for ops->activate. */
static void bring_up(struct fixture *f)
{
	assert_true(vp_driver_negotiate(&f->vp, driver_features));
	setup_queues(f);
	vp_driver_set_status(&f->vp, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_true(test_wait_until(activated, f, TIMEOUT_MS));
}

/* The ioeventfd records from `from` on, as (addr, assign) counted per queue. */
static void assert_ioeventfds(struct fixture *f, unsigned int from, uint64_t bar, bool assign)
{
	pthread_mutex_lock(&f->lock);
	unsigned int count = f->ioeventfd_count;
	struct ioeventfd_record rec[MAX_RECORDS];

	memcpy(rec, f->ioeventfds, sizeof(rec));
	pthread_mutex_unlock(&f->lock);
	assert_int_equal(count - from, FAKE_QUEUES);
	for (unsigned int q = 0; q < FAKE_QUEUES; q++) {
		bool found = false;

		for (unsigned int i = from; i < count; i++)
			if (rec[i].addr == bar + VIRTIO_PCI_NOTIFY_OFFSET + 4 * q &&
			    rec[i].fd == f->vp.queues[q].kick_fd && rec[i].assign == assign)
				found = true;
		assert_true(found);
	}
}

static bool log_has_lines(void *arg)
{
	struct fixture *f = arg;

	return test_log_count(&f->log) > 0;
}

/* Exactly `n` lines were logged (after waiting for a first one, when n > 0). */
static void assert_log_lines(struct fixture *f, unsigned int n)
{
	if (n)
		assert_true(test_wait_until(log_has_lines, f, TIMEOUT_MS));
	assert_int_equal(test_log_count(&f->log), n);
}

static void assert_log_line(struct fixture *f, unsigned int i, const char *want)
{
	char line[TEST_LOG_LINE_MAX];

	test_log_get(&f->log, i, line, sizeof(line));
	assert_string_equal(line, want);
}

static unsigned int ioeventfd_count(struct fixture *f)
{
	pthread_mutex_lock(&f->lock);
	unsigned int n = f->ioeventfd_count;

	pthread_mutex_unlock(&f->lock);
	return n;
}

/* ---- PCI header and capabilities ---- */

static void test_vpci_header_identifies_modern_virtio_device(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_read(f, PCI_DEVICE_ID, 2), VIRTIO_PCI_DEVICE_BASE + FAKE_DEVICE_ID);
	assert_int_equal(cfg_read(f, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_read(f, PCI_CLASS_REVISION, 4) >> 8, FAKE_CLASS);
	assert_int_equal(cfg_read(f, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_true(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg_read(f, PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(cfg_read(f, PCI_INTERRUPT_PIN, 1), 0);
	/* BAR0 is a 64-bit memory BAR at the address we gave; decode starts off. */
	assert_int_equal(cfg_read(f, PCI_BAR0, 4), (uint32_t)BAR_ADDR | PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_read(f, PCI_BAR1, 4), (uint32_t)(BAR_ADDR >> 32));
	assert_false(cfg_read(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
}

static void test_vpci_capability_chain_has_msix_and_virtio_caps(void **state)
{
	struct fixture *f = *state;
	static const uint8_t want_types[] = {CAP_COMMON_CFG, CAP_ISR_CFG, CAP_DEVICE_CFG,
					     CAP_NOTIFY_CFG};
	static const uint32_t want_offset[] = {VIRTIO_PCI_COMMON_OFFSET, VIRTIO_PCI_ISR_OFFSET,
					       VIRTIO_PCI_DEVICE_OFFSET, VIRTIO_PCI_NOTIFY_OFFSET};
	unsigned int vendor_caps = 0, msix_caps = 0, hops = 0;
	unsigned int at = cfg_read(f, PCI_CAPABILITY_LIST, 1);

	while (at) {
		assert_true(++hops < 48);
		assert_true(at >= 0x40 && at <= PCI_CONFIG_SIZE - 4);
		assert_int_equal(at & 3, 0);
		unsigned int id = cfg_read(f, at, 1);

		if (id == PCI_CAP_ID_MSIX) {
			msix_caps++;
			/* Table size N-1, table and PBA in BAR0 (PCI 3.0 §6.8.2). */
			assert_int_equal(cfg_read(f, at + 2, 2) & MSIX_CONTROL_TABLE_SIZE_MASK,
					 FAKE_VECTORS - 1);
			assert_int_equal(cfg_read(f, at + 4, 4), VIRTIO_PCI_MSIX_TABLE_OFFSET | 0);
			assert_int_equal(cfg_read(f, at + 8, 4), VIRTIO_PCI_MSIX_PBA_OFFSET | 0);
		} else if (id == PCI_CAP_ID_VNDR) {
			unsigned int type = cfg_read(f, at + 3, 1);
			uint32_t offset = cfg_read(f, at + 8, 4);
			uint32_t length = cfg_read(f, at + 12, 4);

			assert_true(vendor_caps < 4);
			assert_int_equal(type, want_types[vendor_caps]);
			assert_int_equal(cfg_read(f, at + 4, 1), 0); /* bar */
			assert_int_equal(offset, want_offset[vendor_caps]);
			assert_true((uint64_t)offset + length <= VIRTIO_PCI_BAR_SIZE);
			switch (type) {
			case CAP_COMMON_CFG:
				assert_int_equal(cfg_read(f, at + 2, 1), 16);
				assert_true(length >= 0x38); /* struct virtio_pci_common_cfg */
				break;
			case CAP_ISR_CFG:
				assert_int_equal(cfg_read(f, at + 2, 1), 16);
				assert_true(length >= 1);
				break;
			case CAP_DEVICE_CFG:
				assert_int_equal(cfg_read(f, at + 2, 1), 16);
				assert_int_equal(length, FAKE_CONFIG_SIZE);
				break;
			case CAP_NOTIFY_CFG:
				/* struct virtio_pci_notify_cap: cap + notify_off_multiplier
				 * (§4.1.4.4). */
				assert_int_equal(cfg_read(f, at + 2, 1), 20);
				assert_int_equal(cfg_read(f, at + 16, 4),
						 VIRTIO_PCI_NOTIFY_MULTIPLIER);
				assert_true(length >= 4 * (FAKE_QUEUES - 1) + 2);
				break;
			default:
				fail();
			}
			vendor_caps++;
		}
		at = cfg_read(f, at + 1, 1);
	}
	assert_int_equal(msix_caps, 1);
	assert_int_equal(vendor_caps, 4);
	assert_int_equal(VIRTIO_PCI_NOTIFY_MULTIPLIER, 4);
}

static void test_vpci_capabilities_are_read_only(void **state)
{
	struct fixture *f = *state;
	unsigned int at = cfg_read(f, PCI_CAPABILITY_LIST, 1);
	uint8_t before[PCI_CONFIG_SIZE];

	for (unsigned int i = 0; i < PCI_CONFIG_SIZE; i++)
		before[i] = (uint8_t)cfg_read(f, i, 1);
	/* Everything from the first capability on, except MSI-X Message Control. */
	for (unsigned int i = at; i < PCI_CONFIG_SIZE; i += 4)
		if (i != at)
			cfg_write(f, i, 4, 0xa5a5a5a5);
	cfg_write(f, PCI_CAPABILITY_LIST, 1, 0);

	for (unsigned int i = 0; i < PCI_CONFIG_SIZE; i++)
		if (i < PCI_COMMAND || i > PCI_COMMAND + 1)
			assert_int_equal(cfg_read(f, i, 1), before[i]);
}

static void test_vpci_bar0_sizing_reads_size_mask(void **state)
{
	struct fixture *f = *state;

	cfg_write(f, PCI_BAR0, 4, 0xffffffff);
	cfg_write(f, PCI_BAR1, 4, 0xffffffff);

	assert_int_equal(cfg_read(f, PCI_BAR0, 4),
			 (uint32_t) ~(VIRTIO_PCI_BAR_SIZE - 1) | PCI_BAR_MEM_TYPE_64);
	assert_int_equal(cfg_read(f, PCI_BAR1, 4), 0xffffffff);

	/* The guest writes the address back; sizing with decode off never enabled it. */
	cfg_write(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR);
	cfg_write(f, PCI_BAR1, 4, 0);
	assert_int_equal(cfg_read(f, PCI_BAR0, 4), (uint32_t)BAR_ADDR | PCI_BAR_MEM_TYPE_64);
	assert_false(f->vp.fn.bar_enabled);
	for (unsigned int i = 0; i < f->bar_change_count && i < MAX_RECORDS; i++)
		assert_false(f->bar_changes[i].enabled);
}

static void test_vpci_bar_move_and_decode_call_bar_changed(void **state)
{
	struct fixture *f = *state;

	memory_decode(f, true);
	assert_int_equal(f->bar_change_count, 1);
	assert_int_equal(f->bar_changes[0].addr, BAR_ADDR);
	assert_true(f->bar_changes[0].enabled);

	cfg_write(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR_MOVED);
	assert_int_equal(f->bar_change_count, 2);
	assert_int_equal(f->bar_changes[1].addr, BAR_ADDR_MOVED);
	assert_true(f->bar_changes[1].enabled);
	assert_int_equal(f->vp.fn.bar_addr, BAR_ADDR_MOVED);

	memory_decode(f, false);
	assert_int_equal(f->bar_change_count, 3);
	assert_false(f->bar_changes[2].enabled);
	/* Nothing live before DRIVER_OK: no ioeventfds were registered. */
	assert_int_equal(ioeventfd_count(f), 0);
}

/* ---- common configuration ---- */

static void test_vpci_device_features_show_transport_and_device_bits(void **state)
{
	struct fixture *f = *state;

	uint64_t features = vp_driver_device_features(&f->vp);

	assert_int_equal(features, FAKE_FEATURES | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				       VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
				       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	vp_driver_write(&f->vp, COMMON(VP_COMMON_DFSELECT), 4, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DFSELECT), 4), 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DF), 4), 1); /* VERSION_1 */
	vp_driver_write(&f->vp, COMMON(VP_COMMON_DFSELECT), 4, 2);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DF), 4), 0);
}

static void test_vpci_num_queues_and_queue_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_NUMQ), 2), FAKE_QUEUES);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_STATUS), 1), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	for (uint16_t q = 0; q < FAKE_QUEUES; q++) {
		vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, q);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2), q);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2),
				 FAKE_QUEUE_MAX);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2), 0);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2),
				 VIRTIO_MSI_NO_VECTOR);
		/* notify address = cap offset + queue_notify_off * multiplier (§4.1.4.4). */
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_NOFF), 2), q);
	}
}

static void test_vpci_out_of_range_queue_select_reads_size_zero(void **state)
{
	struct fixture *f = *state;

	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, FAKE_QUEUES);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2, 16);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, 0xffff);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2), 0);

	/* The real queues were not touched. */
	for (uint16_t q = 0; q < FAKE_QUEUES; q++) {
		vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, q);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2),
				 FAKE_QUEUE_MAX);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2), 0);
	}
}

static void test_vpci_msix_vector_beyond_table_reads_no_vector(void **state)
{
	struct fixture *f = *state;

	vp_driver_write(&f->vp, COMMON(VP_COMMON_MSIX), 2, 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_MSIX), 2), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_MSIX), 2, FAKE_VECTORS);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_MSIX), 2), VIRTIO_MSI_NO_VECTOR);

	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, 1);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2, FAKE_VECTORS - 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2), FAKE_VECTORS - 1);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2, FAKE_VECTORS);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2, 0x8000);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
}

static void test_vpci_features_ok_refused_without_version_1(void **state)
{
	struct fixture *f = *state;

	assert_false(vp_driver_negotiate(&f->vp, VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | FAKE_FEATURES));
	assert_int_equal(vp_driver_status(&f->vp),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
}

static void test_vpci_features_ok_refused_for_unoffered_bits(void **state)
{
	struct fixture *f = *state;

	/* Bit 40 is in the high word, bit 1 in the low word; neither is offered. */
	assert_false(vp_driver_negotiate(&f->vp, driver_features | VIRTIO_BIT(40)));
	assert_false(vp_driver_negotiate(&f->vp, driver_features | VIRTIO_BIT(1)));
	assert_false(vp_driver_status(&f->vp) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_vpci_features_ok_accepted_for_offered_subset(void **state)
{
	struct fixture *f = *state;
	uint64_t want = driver_features | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(5);

	assert_true(vp_driver_negotiate(&f->vp, want));

	/* driver_feature reads back; later writes are ignored once FEATURES_OK is set. */
	vp_driver_write(&f->vp, COMMON(VP_COMMON_GFSELECT), 4, 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_GF), 4), (uint32_t)want);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_GF), 4, 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_GF), 4), (uint32_t)want);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_GFSELECT), 4, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_GF), 4), 1);
}

static void test_vpci_wrong_width_common_access_ignored(void **state)
{
	struct fixture *f = *state;

	/* status is a byte, queue_select a word, device_feature_select a dword (§4.1.3.1). */
	vp_driver_write(&f->vp, COMMON(VP_COMMON_STATUS), 2, VIRTIO_STATUS_ACKNOWLEDGE);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_STATUS), 4, VIRTIO_STATUS_ACKNOWLEDGE);
	assert_int_equal(vp_driver_status(&f->vp), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 4, 1);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 1, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2), 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_DFSELECT), 2, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DFSELECT), 4), 0);

	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_NUMQ), 4), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_NUMQ), 1), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 4), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DF), 2), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_DF), 8), 0);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_DESCLO), 8), 0);
}

static void test_vpci_queue_registers_frozen_after_driver_ok(void **state)
{
	struct fixture *f = *state;

	start_loop(f);
	bring_up(f);

	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, 0);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2, 8);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_DESCLO), 4, 0x9000);
	/* The vector stays writable (§4.1.5.1.2 allows remapping). */
	vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2, 0);

	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2), FAKE_QUEUE_MAX);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_DESCLO), 4), queue_base(0));
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2), 0);
}

static void test_vpci_device_config_forwarded_within_size(void **state)
{
	struct fixture *f = *state;

	memcpy(f->dev.config, "\x11\x22\x33\x44\x55\x66\x77\x88", FAKE_CONFIG_SIZE);

	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 4, 4), 0x88776655);
	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 1, 1), 0x22);
	/* Past config_size: reads 0, writes dropped. */
	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 6, 4), 0);
	vp_driver_write(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 6, 4, 0);
	assert_int_equal(f->dev.config_writes, 0);
	vp_driver_write(&f->vp, VIRTIO_PCI_DEVICE_OFFSET + 2, 2, 0xbeef);
	assert_int_equal(f->dev.config_writes, 1);
	assert_int_equal(le_get(f->dev.config + 2, 2), 0xbeef);
	/* ISR reads 0 with MSI-X. */
	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_ISR_OFFSET, 1), 0);
}

/* ---- MSI-X through config space and BAR0 ---- */

static void test_vpci_msix_control_and_table_through_transport(void **state)
{
	struct fixture *f = *state;
	unsigned int cap = cfg_read(f, PCI_CAPABILITY_LIST, 1);
	uint64_t entry1 = VIRTIO_PCI_MSIX_TABLE_OFFSET + MSIX_ENTRY_SIZE;

	assert_int_equal(cfg_read(f, cap, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(vp_driver_read(&f->vp, entry1 + 12, 4), MSIX_VECTOR_CONTROL_MASKED);
	vp_driver_write(&f->vp, entry1, 8, 0xfee00000);
	vp_driver_write(&f->vp, entry1 + 8, 4, 0x31);
	vp_driver_write(&f->vp, entry1 + 12, 4, 0);
	assert_int_equal(f->msix_count, 0);

	/* Only enable and function mask are writable in Message Control. */
	cfg_write(f, cap + 2, 2, 0xffff & ~MSIX_CONTROL_FUNCTION_MASK);
	assert_int_equal(cfg_read(f, cap + 2, 2), MSIX_CONTROL_ENABLE | (FAKE_VECTORS - 1));

	assert_int_equal(f->msix_count, 1);
	assert_int_equal(f->msix[0].vector, 1);
	assert_true(f->msix[0].active);
	assert_int_equal(f->msix[0].addr, 0xfee00000);
	assert_int_equal(f->msix[0].data, 0x31);
	assert_int_equal(vp_driver_read(&f->vp, entry1 + 8, 4), 0x31);
	assert_int_equal(vp_driver_read(&f->vp, VIRTIO_PCI_MSIX_PBA_OFFSET, 8), 0);

	cfg_write(f, cap + 3, 1, (MSIX_CONTROL_ENABLE | MSIX_CONTROL_FUNCTION_MASK) >> 8);
	assert_int_equal(f->msix_count, 2);
	assert_false(f->msix[1].active);
}

/* ---- notify ---- */

static void test_vpci_notify_write_increments_kick_eventfd(void **state)
{
	struct fixture *f = *state;

	vp_driver_kick(&f->vp, 1);
	vp_driver_kick(&f->vp, 1);
	/* Past the last queue: nothing to kick. */
	vp_driver_write(&f->vp, VIRTIO_PCI_NOTIFY_OFFSET + 4 * FAKE_QUEUES, 2, FAKE_QUEUES);

	assert_int_equal(eventfd_take(f->vp.queues[1].kick_fd), 2);
	assert_int_equal(eventfd_take(f->vp.queues[0].kick_fd), 0);
}

/* ---- activation, ioeventfds, reset ---- */

static void test_vpci_driver_ok_activates_on_loop_and_registers_ioeventfds(void **state)
{
	struct fixture *f = *state;

	memory_decode(f, true);
	start_loop(f);

	bring_up(f);

	assert_true(f->dev.activate_on_loop);
	for (unsigned int q = 0; q < FAKE_QUEUES; q++) {
		assert_true(f->vp.queues[q].vq.ready);
		assert_int_equal(f->vp.queues[q].vq.size, FAKE_QUEUE_MAX);
		assert_int_equal(f->vp.queues[q].vq.desc_gpa, queue_base(q));
	}
	assert_ioeventfds(f, 0, BAR_ADDR, true);
	assert_int_equal(vp_driver_status(&f->vp) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static bool queue1_notified(void *arg)
{
	struct fixture *f = arg;

	return fake_count(&f->dev, &f->dev.notifies[1]) >= 1;
}

static bool queue1_notified_twice(void *arg)
{
	struct fixture *f = arg;

	return fake_count(&f->dev, &f->dev.notifies[1]) >= 2;
}

static void test_vpci_kick_after_activation_reaches_queue_notify(void **state)
{
	struct fixture *f = *state;

	start_loop(f);
	bring_up(f);
	/* Activation looks at each queue once, in case kicks came before it. */
	assert_true(test_wait_until(queue1_notified, f, TIMEOUT_MS));
	(void)eventfd_take(f->msi_fds[2]);

	vp_driver_kick(&f->vp, 1);

	assert_true(test_wait_until(queue1_notified_twice, f, TIMEOUT_MS));
	/* The device's virtio_pci_notify_queue() raised queue 1's vector (1 + 1). */
	assert_int_equal(eventfd_take(f->msi_fds[2]), 1);
	assert_int_equal(eventfd_take(f->msi_fds[0]), 0);
}

static void test_vpci_ioeventfds_follow_memory_decode_and_bar(void **state)
{
	struct fixture *f = *state;

	start_loop(f);
	bring_up(f);
	/* Decode is off: nothing can reach the notify window yet. */
	assert_int_equal(ioeventfd_count(f), 0);

	memory_decode(f, true);
	assert_ioeventfds(f, 0, BAR_ADDR, true);

	cfg_write(f, PCI_BAR0, 4, (uint32_t)BAR_ADDR_MOVED);
	assert_int_equal(ioeventfd_count(f), 3 * FAKE_QUEUES);
	/* Deassign at the old address and assign at the new one, for each queue. */
	pthread_mutex_lock(&f->lock);
	for (unsigned int q = 0; q < FAKE_QUEUES; q++) {
		bool old_gone = false, new_there = false;

		for (unsigned int i = FAKE_QUEUES; i < f->ioeventfd_count; i++) {
			const struct ioeventfd_record *r = &f->ioeventfds[i];

			if (r->addr == BAR_ADDR + VIRTIO_PCI_NOTIFY_OFFSET + 4 * q && !r->assign)
				old_gone = true;
			if (r->addr == BAR_ADDR_MOVED + VIRTIO_PCI_NOTIFY_OFFSET + 4 * q &&
			    r->assign)
				new_there = true;
		}
		assert_true(old_gone);
		assert_true(new_there);
	}
	pthread_mutex_unlock(&f->lock);

	unsigned int before = ioeventfd_count(f);

	memory_decode(f, false);
	assert_ioeventfds(f, before, BAR_ADDR_MOVED, false);
}

static void test_vpci_reset_calls_ops_reset_and_clears_state(void **state)
{
	struct fixture *f = *state;

	memory_decode(f, true);
	start_loop(f);
	bring_up(f);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_MSIX), 2, 0);
	unsigned int before = ioeventfd_count(f);

	vp_driver_set_status(&f->vp, 0);

	/* No polling: the write returns only once the device has reset (§4.1.4.3.2). */
	assert_int_equal(vp_driver_status(&f->vp), 0);
	assert_int_equal(fake_count(&f->dev, &f->dev.resets), 1);
	assert_true(f->dev.reset_on_loop);
	assert_false(f->vp.live);
	assert_ioeventfds(f, before, BAR_ADDR, false);
	for (uint16_t q = 0; q < FAKE_QUEUES; q++) {
		assert_false(f->vp.queues[q].vq.ready);
		vp_driver_write(&f->vp, COMMON(VP_COMMON_Q_SELECT), 2, q);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_ENABLE), 2), 0);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_SIZE), 2),
				 FAKE_QUEUE_MAX);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_DESCLO), 4), 0);
		assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_Q_MSIX), 2),
				 VIRTIO_MSI_NO_VECTOR);
	}
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_GFSELECT), 4, 1);
	assert_int_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_GF), 4), 0);

	/* And the device comes up again. */
	pthread_mutex_lock(&f->dev.lock);
	f->dev.activates = 0;
	pthread_mutex_unlock(&f->dev.lock);
	bring_up(f);
	assert_int_equal(fake_count(&f->dev, &f->dev.activates), 1);
}

static void test_vpci_rings_outside_ram_set_needs_reset(void **state)
{
	struct fixture *f = *state;

	start_loop(f);
	assert_true(vp_driver_negotiate(&f->vp, driver_features));
	setup_queues(f);
	vp_driver_write(&f->vp, COMMON(VP_COMMON_MSIX), 2, 0);
	vp_driver_setup_queue(&f->vp, 1, FAKE_QUEUE_MAX, 2, OUTSIDE_RAM, OUTSIDE_RAM + 0x400,
			      OUTSIDE_RAM + 0x800);

	vp_driver_set_status(&f->vp, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);

	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
	assert_int_equal(vp_driver_status(&f->vp),
			 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK |
			     VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(fake_count(&f->dev, &f->dev.activates), 0);
	/* §4.1.5.2: announced through the configuration vector, with a new generation. */
	assert_int_equal(eventfd_take(f->msi_fds[0]), 1);
	assert_int_not_equal(vp_driver_read(&f->vp, COMMON(VP_COMMON_CFGGENERATION), 1), 0);
	assert_log_lines(f, 1);
	assert_log_line(f, 0, "virtio-fake: queue 1 broken: ring outside guest RAM");
}

static void test_vpci_failed_activate_logs_a_device_line(void **state)
{
	struct fixture *f = *state;

	f->dev.activate_ret = -ENOTSUP;
	start_loop(f);

	bring_up(f);

	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
	assert_log_lines(f, 1);
	assert_log_line(f, 0, "virtio-fake: device broken: the device could not start");
}

/* The driver bumps avail->idx (§2.7.6) past anything the ring can hold. */
static void hostile_avail_idx(struct fixture *f, unsigned int q)
{
	le_put16(f->mem + queue_base(q) + VIRTQ_DESC_BYTES(FAKE_QUEUE_MAX) + 2, FAKE_QUEUE_MAX + 5);
}

static bool activated_twice(void *arg)
{
	struct fixture *f = arg;

	return fake_count(&f->dev, &f->dev.activates) == 2;
}

static void test_vpci_hostile_ring_logs_one_line_per_reset(void **state)
{
	struct fixture *f = *state;

	f->dev.pop_rings = true;
	blocker_release(&f->marker);
	start_loop(f);
	bring_up(f);
	hostile_avail_idx(f, 1);

	vp_driver_kick(&f->vp, 1);
	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
	/* More kicks while broken: the device is no longer live, nothing more is said. */
	vp_driver_kick(&f->vp, 1);
	vp_driver_kick(&f->vp, 0);
	blocker_start(&f->marker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->marker, TIMEOUT_MS));
	assert_log_lines(f, 1);
	assert_log_line(f, 0,
			"virtio-fake: queue 1 broken: available index moved by more than the queue "
			"size");

	/* The driver resets and starts again with fresh rings; the guest breaks queue 0 this time.
	 */
	vp_driver_set_status(&f->vp, 0);
	memset(f->mem, 0, RAM_SIZE);
	bring_up(f);
	assert_true(test_wait_until(activated_twice, f, TIMEOUT_MS));
	hostile_avail_idx(f, 0);
	vp_driver_kick(&f->vp, 0);
	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
	assert_log_lines(f, 2);
	assert_log_line(f, 1,
			"virtio-fake: queue 0 broken: available index moved by more than the queue "
			"size");
}

static void test_vpci_failed_activate_sets_needs_reset(void **state)
{
	struct fixture *f = *state;

	f->dev.activate_ret = -ENOTSUP;
	start_loop(f);

	bring_up(f);

	assert_true(test_wait_until(needs_reset, f, TIMEOUT_MS));
}

static void *reset_thread(void *arg)
{
	struct fixture *f = arg;

	vp_driver_set_status(&f->vp, 0);
	return NULL;
}

static bool reset_queued(void *arg)
{
	struct fixture *f = arg;

	pthread_mutex_lock(&f->vp.lock);
	bool pending = f->vp.reset_pending;

	pthread_mutex_unlock(&f->vp.lock);
	return pending;
}

/*
 * DRIVER_OK then an immediate reset, both reaching the loop while it is
 * busy: the device must end up reset (activate, then reset), not
 * activated after the reset the driver already saw complete.
 */
static void test_vpci_reset_right_after_driver_ok_leaves_device_stopped(void **state)
{
	struct fixture *f = *state;

	blocker_release(&f->marker);
	start_loop(f);
	blocker_start(&f->blocker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->blocker, TIMEOUT_MS));
	assert_true(vp_driver_negotiate(&f->vp, driver_features));
	setup_queues(f);
	vp_driver_set_status(&f->vp, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(pthread_create(&f->reset_tid, NULL, reset_thread, f), 0);
	f->reset_tid_live = true;
	assert_true(test_wait_until(reset_queued, f, TIMEOUT_MS));

	blocker_release(&f->blocker);
	pthread_join(f->reset_tid, NULL);
	f->reset_tid_live = false;
	/* Everything queued before the marker has run once the marker runs. */
	blocker_start(&f->marker, &f->loop);
	assert_true(test_wait_until(blocker_entered, &f->marker, TIMEOUT_MS));

	pthread_mutex_lock(&f->dev.lock);
	unsigned int n = f->dev.event_count;
	char last = n ? f->dev.events[n - 1] : 0;

	pthread_mutex_unlock(&f->dev.lock);
	assert_int_equal(vp_driver_status(&f->vp), 0);
	assert_int_equal(last, 'R');
	assert_false(__atomic_load_n(&f->vp.live, __ATOMIC_SEQ_CST));
}

#define VPCI_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    VPCI_TEST(test_vpci_header_identifies_modern_virtio_device),
	    VPCI_TEST(test_vpci_capability_chain_has_msix_and_virtio_caps),
	    VPCI_TEST(test_vpci_capabilities_are_read_only),
	    VPCI_TEST(test_vpci_bar0_sizing_reads_size_mask),
	    VPCI_TEST(test_vpci_bar_move_and_decode_call_bar_changed),
	    VPCI_TEST(test_vpci_device_features_show_transport_and_device_bits),
	    VPCI_TEST(test_vpci_num_queues_and_queue_defaults),
	    VPCI_TEST(test_vpci_out_of_range_queue_select_reads_size_zero),
	    VPCI_TEST(test_vpci_msix_vector_beyond_table_reads_no_vector),
	    VPCI_TEST(test_vpci_features_ok_refused_without_version_1),
	    VPCI_TEST(test_vpci_features_ok_refused_for_unoffered_bits),
	    VPCI_TEST(test_vpci_features_ok_accepted_for_offered_subset),
	    VPCI_TEST(test_vpci_wrong_width_common_access_ignored),
	    VPCI_TEST(test_vpci_queue_registers_frozen_after_driver_ok),
	    VPCI_TEST(test_vpci_device_config_forwarded_within_size),
	    VPCI_TEST(test_vpci_msix_control_and_table_through_transport),
	    VPCI_TEST(test_vpci_notify_write_increments_kick_eventfd),
	    VPCI_TEST(test_vpci_driver_ok_activates_on_loop_and_registers_ioeventfds),
	    VPCI_TEST(test_vpci_kick_after_activation_reaches_queue_notify),
	    VPCI_TEST(test_vpci_ioeventfds_follow_memory_decode_and_bar),
	    VPCI_TEST(test_vpci_reset_calls_ops_reset_and_clears_state),
	    VPCI_TEST(test_vpci_rings_outside_ram_set_needs_reset),
	    VPCI_TEST(test_vpci_failed_activate_sets_needs_reset),
	    VPCI_TEST(test_vpci_reset_right_after_driver_ok_leaves_device_stopped),
	    VPCI_TEST(test_vpci_failed_activate_logs_a_device_line),
	    VPCI_TEST(test_vpci_hostile_ring_logs_one_line_per_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
