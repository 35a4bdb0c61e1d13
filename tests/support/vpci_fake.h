/* Test support: the virtio-pci transport on a fake device, with recording host services and the
 * helpers the transport's unit tests share. */
#ifndef MICROVMM_TESTS_SUPPORT_VPCI_FAKE_H
#define MICROVMM_TESTS_SUPPORT_VPCI_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/io_loop.h"
#include "devices/pci/pci_bus.h"
#include "devices/virtio/virtio.h"
#include "devices/virtio/virtio_pci.h"
#include "tests/support/test_host.h"

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

/* The features a minimal modern driver accepts. */
extern const uint64_t driver_features;

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

int fake_count(struct fake_dev *d, const int *counter);
/* Reads (and clears) an eventfd's counter; 0 when nothing was signalled. */
uint64_t eventfd_take(int fd);
uint32_t cfg_read(struct fixture *f, unsigned int offset, unsigned int size);
void cfg_write(struct fixture *f, unsigned int offset, unsigned int size, uint32_t value);
void memory_decode(struct fixture *f, bool on);
uint64_t queue_base(unsigned int q);
/* Programs every queue with rings inside the fake RAM, vector 1 + q. */
void setup_queues(struct fixture *f);
void start_loop(struct fixture *f);
bool activated(void *arg);
bool vpci_needs_reset(void *arg);
/* Negotiates, programs the queues and sets DRIVER_OK; waits for ops->activate. */
void bring_up(struct fixture *f);
/* The ioeventfd records from `from` on, as (addr, assign) counted per queue. */
void assert_ioeventfds(struct fixture *f, unsigned int from, uint64_t bar, bool assign);
/* Exactly `n` lines were logged (after waiting for a first one, when n > 0). */
void assert_log_lines(struct fixture *f, unsigned int n);
void assert_log_line(struct fixture *f, unsigned int i, const char *want);
unsigned int ioeventfd_count(struct fixture *f);

/* cmocka set-up and teardown: the fake device on its transport, the loop not yet started. */
int vpci_fixture_setup(void **state);
int vpci_fixture_teardown(void **state);

#endif
