/* Test support: the virtio-pci transport on a fake device with recording host services. */
#include "tests/support/vpci_fake.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/le.h"
#include "tests/support/test_wait.h"
#include "tests/support/vp_driver.h"

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

int fake_count(struct fake_dev *d, const int *counter)
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
uint64_t eventfd_take(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* ---- fixture ---- */

static const struct virtio_device_ops fake_ops = {
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

int vpci_fixture_setup(void **state)
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
	test_ram_one_region(&f->ram, f->mem, RAM_SIZE);
	if (test_msi_eventfds(f->msi_fds, FAKE_VECTORS))
		goto fail;
	if (io_loop_init(&f->loop, 64))
		goto fail;
	if (pci_bus_init(&f->bus, NULL))
		goto fail;
	f->dev.loop = &f->loop;
	f->dev.vp = &f->vp;
	struct virtio_pci_host host = {
	    .ram = &f->ram,
	    .loop = &f->loop,
	    .ioeventfd = record_ioeventfd,
	    .log = record_log,
	    .ctx = f,
	    .msix_sink = {.update = record_msix, .ctx = f},
	    .msi_fds = f->msi_fds,
	};

	if (virtio_pci_init(&f->vp, &fake_ops, &f->dev, &host, BAR_ADDR))
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

int vpci_fixture_teardown(void **state)
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

uint32_t cfg_read(struct fixture *f, unsigned int offset, unsigned int size)
{
	return pci_bus_config_read(&f->bus, (unsigned int)f->slot, offset, size);
}

void cfg_write(struct fixture *f, unsigned int offset, unsigned int size, uint32_t value)
{
	pci_bus_config_write(&f->bus, (unsigned int)f->slot, offset, size, value);
}

void memory_decode(struct fixture *f, bool on)
{
	uint16_t cmd = (uint16_t)cfg_read(f, PCI_COMMAND, 2);

	cmd = on ? (uint16_t)(cmd | PCI_COMMAND_MEMORY) : (uint16_t)(cmd & ~PCI_COMMAND_MEMORY);
	cfg_write(f, PCI_COMMAND, 2, cmd);
}

uint64_t queue_base(unsigned int q)
{
	return 0x1000 + q * QUEUE_STRIDE;
}

/* Programs every queue with rings inside the fake RAM, vector 1 + q. */
void setup_queues(struct fixture *f)
{
	for (uint16_t q = 0; q < FAKE_QUEUES; q++) {
		uint64_t desc = queue_base(q);
		uint64_t avail = desc + VIRTQ_DESC_BYTES(FAKE_QUEUE_MAX);
		uint64_t used = (avail + VIRTQ_AVAIL_BYTES(FAKE_QUEUE_MAX) + 3) & ~3ULL;

		vp_driver_setup_queue(&f->vp, q, FAKE_QUEUE_MAX, (uint16_t)(1 + q), desc, avail,
				      used);
	}
}

const uint64_t driver_features = VIRTIO_BIT(VIRTIO_F_VERSION_1);

void start_loop(struct fixture *f)
{
	assert_int_equal(io_loop_start(&f->loop), 0);
}

bool activated(void *arg)
{
	struct fixture *f = arg;

	return fake_count(&f->dev, &f->dev.activates) > 0;
}

bool vpci_needs_reset(void *arg)
{
	struct fixture *f = arg;

	return vp_driver_status(&f->vp) & VIRTIO_STATUS_NEEDS_RESET;
}

/* Negotiates, programs the queues and sets DRIVER_OK; waits for ops->activate. */
void bring_up(struct fixture *f)
{
	assert_true(vp_driver_negotiate(&f->vp, driver_features));
	setup_queues(f);
	vp_driver_set_status(&f->vp, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_true(test_wait_until(activated, f, TIMEOUT_MS));
}

/* The ioeventfd records from `from` on, as (addr, assign) counted per queue. */
void assert_ioeventfds(struct fixture *f, unsigned int from, uint64_t bar, bool assign)
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
void assert_log_lines(struct fixture *f, unsigned int n)
{
	if (n)
		assert_true(test_wait_until(log_has_lines, f, TIMEOUT_MS));
	assert_int_equal(test_log_count(&f->log), n);
}

void assert_log_line(struct fixture *f, unsigned int i, const char *want)
{
	char line[TEST_LOG_LINE_MAX];

	test_log_get(&f->log, i, line, sizeof(line));
	assert_string_equal(line, want);
}

unsigned int ioeventfd_count(struct fixture *f)
{
	pthread_mutex_lock(&f->lock);
	unsigned int n = f->ioeventfd_count;

	pthread_mutex_unlock(&f->lock);
	return n;
}
