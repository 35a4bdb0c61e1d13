/* Interrupt routing: the KVM GSI table (IOAPIC/PIC pins plus MSI routes) and irqfds per MSI vector.
 */
#include "vmm/irq.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/layout.h"

#define IRQ_PIC_PINS 16

int irq_router_init(struct irq_router *r, int vm_fd)
{
	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	for (unsigned int i = 0; i < IRQ_MAX_MSI; i++)
		r->msi[i].fd = -1;
	return -pthread_mutex_init(&r->lock, NULL);
}

void irq_router_destroy(struct irq_router *r)
{
	for (unsigned int i = 0; i < r->msi_count; i++) {
		if (r->msi[i].fd >= 0)
			close(r->msi[i].fd);
		r->msi[i].fd = -1;
	}
	r->msi_count = 0;
	pthread_mutex_destroy(&r->lock);
}

int irq_msi_alloc(struct irq_router *r, unsigned int count)
{
	int first;

	pthread_mutex_lock(&r->lock);
	if (count > IRQ_MAX_MSI - r->msi_count) {
		pthread_mutex_unlock(&r->lock);
		return -ENOSPC;
	}
	first = (int)r->msi_count;
	for (unsigned int i = 0; i < count; i++) {
		struct irq_msi *m = &r->msi[r->msi_count];

		m->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->fd < 0) {
			int ret = -errno;

			pthread_mutex_unlock(&r->lock);
			return ret;
		}
		m->allocated = true;
		r->msi_count++;
	}
	pthread_mutex_unlock(&r->lock);
	return first;
}

int irq_msi_fd(const struct irq_router *r, unsigned int index)
{
	return index < r->msi_count ? r->msi[index].fd : -1;
}

/* KVM's default routes (virt/kvm/irqchip defaults): GSIs 0-15 to IOAPIC and PIC, 16-23 to IOAPIC.
 */
static unsigned int irq_fill_legacy(struct kvm_irq_routing_entry *e)
{
	unsigned int n = 0;

	for (unsigned int gsi = 0; gsi < LAYOUT_GSI_IOAPIC_PINS; gsi++) {
		e[n++] = (struct kvm_irq_routing_entry){
		    .gsi = gsi,
		    .type = KVM_IRQ_ROUTING_IRQCHIP,
		    .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi}};
		if (gsi < IRQ_PIC_PINS)
			e[n++] = (struct kvm_irq_routing_entry){
			    .gsi = gsi,
			    .type = KVM_IRQ_ROUTING_IRQCHIP,
			    .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
							     : KVM_IRQCHIP_PIC_SLAVE,
					  .pin = gsi % 8}};
	}
	return n;
}

static int irq_commit_routes(struct irq_router *r)
{
	size_t max = LAYOUT_GSI_IOAPIC_PINS + IRQ_PIC_PINS + IRQ_MAX_MSI;
	struct kvm_irq_routing *table =
	    calloc(1, sizeof(*table) + max * sizeof(struct kvm_irq_routing_entry));
	int ret = 0;

	if (!table)
		return -ENOMEM;
	unsigned int n = irq_fill_legacy(table->entries);

	for (unsigned int i = 0; i < r->msi_count; i++) {
		const struct irq_msi *m = &r->msi[i];

		if (!m->active)
			continue;
		table->entries[n++] = (struct kvm_irq_routing_entry){
		    .gsi = LAYOUT_GSI_MSI_START + i,
		    .type = KVM_IRQ_ROUTING_MSI,
		    .u.msi = {.address_lo = (uint32_t)m->addr,
			      .address_hi = (uint32_t)(m->addr >> 32),
			      .data = m->data}};
	}
	table->nr = n;
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, table) < 0)
		ret = -errno;
	free(table);
	return ret;
}

static int irq_set_attached(struct irq_router *r, unsigned int index, bool attach)
{
	struct irq_msi *m = &r->msi[index];
	struct kvm_irqfd irqfd = {.fd = (uint32_t)m->fd, .gsi = LAYOUT_GSI_MSI_START + index};

	if (m->attached == attach)
		return 0;
	if (!attach)
		irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	if (ioctl(r->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	m->attached = attach;
	return 0;
}

int irq_msi_update(struct irq_router *r, unsigned int index, bool active, uint64_t addr,
		   uint32_t data)
{
	int ret;

	pthread_mutex_lock(&r->lock);
	if (index >= r->msi_count) {
		pthread_mutex_unlock(&r->lock);
		return -EINVAL;
	}
	struct irq_msi *m = &r->msi[index];

	/*
	 * Every MSI-X table write lands here (vCPU thread), and KVM rebuilds
	 * its whole routing table on each KVM_SET_GSI_ROUTING: a guest writing
	 * the same entry in a loop must not make us do that. Only a change to
	 * the route as KVM sees it (an active entry's address or data, or
	 * active itself) is committed.
	 */
	if (m->active == active && (!active || (m->addr == addr && m->data == data))) {
		m->addr = addr;
		m->data = data;
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	/* Detach before the route goes away; attach only once the route exists. */
	if (!active)
		irq_set_attached(r, index, false);
	m->active = active;
	m->addr = addr;
	m->data = data;
	ret = irq_commit_routes(r);
	if (!ret && active)
		ret = irq_set_attached(r, index, true);
	pthread_mutex_unlock(&r->lock);
	return ret;
}
