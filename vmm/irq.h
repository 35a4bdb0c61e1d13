/* Interrupt routing: the KVM GSI table (IOAPIC/PIC pins plus MSI routes) and irqfds per MSI vector.
 */
#ifndef MICROVMM_VMM_IRQ_H
#define MICROVMM_VMM_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IRQ_MAX_MSI 256

struct irq_msi {
	bool allocated, active, attached;
	uint64_t addr;
	uint32_t data;
	int fd; /* eventfd: a write raises this vector when it is attached */
};

/*
 * Locking: `lock` guards the table; any thread may update routes (MSI-X
 * table writes arrive on vCPU threads). KVM_SET_GSI_ROUTING replaces the
 * whole table, so every update resubmits the legacy pins too.
 */
struct irq_router {
	int vm_fd;
	pthread_mutex_t lock;
	unsigned int msi_count;
	struct irq_msi msi[IRQ_MAX_MSI];
};

int irq_router_init(struct irq_router *r, int vm_fd) __attribute__((warn_unused_result));
void irq_router_destroy(struct irq_router *r);

/*
 * Reserves `count` MSI vectors, each with its own eventfd. Returns the
 * first vector's index (the GSI is LAYOUT_GSI_MSI_START + index) or -errno.
 */
int irq_msi_alloc(struct irq_router *r, unsigned int count) __attribute__((warn_unused_result));

/* The eventfd that raises MSI `index` (owned by the router). */
int irq_msi_fd(const struct irq_router *r, unsigned int index);

/*
 * Routes MSI `index` to addr/data and attaches its eventfd when `active`;
 * detaches it otherwise so that signals wait in the eventfd (KVM injects
 * a pending count when the irqfd is attached again). Returns 0 or -errno.
 */
int irq_msi_update(struct irq_router *r, unsigned int index, bool active, uint64_t addr,
		   uint32_t data);

#endif
