/* Test support: the driver side of the virtio-pci transport (virtio 1.2 §4.1.4.3) through BAR0,
 * plus shared guest RAM for several rings. */
#include "tests/support/vp_driver.h"

#include <errno.h>
#include <string.h>

#include "devices/io.h"
#include "devices/virtio/virtio.h"

uint64_t vp_driver_read(struct virtio_pci *vp, uint64_t offset, unsigned int size)
{
	uint8_t data[8];

	memset(data, 0xee, sizeof(data));
	vp->fn.bar_ops->read(vp->fn.bar_opaque, offset, data, size);
	return le_get(data, size);
}

void vp_driver_write(struct virtio_pci *vp, uint64_t offset, unsigned int size, uint64_t value)
{
	uint8_t data[8];

	le_put(data, size, value);
	vp->fn.bar_ops->write(vp->fn.bar_opaque, offset, data, size);
}

uint8_t vp_driver_status(struct virtio_pci *vp)
{
	return (uint8_t)vp_driver_read(vp, VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_STATUS, 1);
}

void vp_driver_set_status(struct virtio_pci *vp, uint8_t status)
{
	vp_driver_write(vp, VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_STATUS, 1, status);
}

uint64_t vp_driver_device_features(struct virtio_pci *vp)
{
	uint64_t features = 0;

	for (unsigned int sel = 0; sel < 2; sel++) {
		vp_driver_write(vp, VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_DFSELECT, 4, sel);
		features |= vp_driver_read(vp, VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_DF, 4)
			    << (32 * sel);
	}
	return features;
}

void vp_driver_set_driver_features(struct virtio_pci *vp, uint64_t features)
{
	for (unsigned int sel = 0; sel < 2; sel++) {
		vp_driver_write(vp, VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_GFSELECT, 4, sel);
		vp_driver_write(vp, VIRTIO_PCI_COMMON_OFFSET + VP_COMMON_GF, 4,
				(uint32_t)(features >> (32 * sel)));
	}
}

bool vp_driver_negotiate(struct virtio_pci *vp, uint64_t features)
{
	uint8_t status = VIRTIO_STATUS_ACKNOWLEDGE;

	vp_driver_set_status(vp, status);
	status |= VIRTIO_STATUS_DRIVER;
	vp_driver_set_status(vp, status);
	vp_driver_set_driver_features(vp, features);
	vp_driver_set_status(vp, status | VIRTIO_STATUS_FEATURES_OK);
	return vp_driver_status(vp) & VIRTIO_STATUS_FEATURES_OK;
}

void vp_driver_setup_queue(struct virtio_pci *vp, uint16_t queue, uint16_t size, uint16_t vector,
			   uint64_t desc, uint64_t avail, uint64_t used)
{
	const uint64_t c = VIRTIO_PCI_COMMON_OFFSET;

	vp_driver_write(vp, c + VP_COMMON_Q_SELECT, 2, queue);
	vp_driver_write(vp, c + VP_COMMON_Q_SIZE, 2, size);
	vp_driver_write(vp, c + VP_COMMON_Q_MSIX, 2, vector);
	vp_driver_write(vp, c + VP_COMMON_Q_DESCLO, 4, (uint32_t)desc);
	vp_driver_write(vp, c + VP_COMMON_Q_DESCHI, 4, (uint32_t)(desc >> 32));
	vp_driver_write(vp, c + VP_COMMON_Q_AVAILLO, 4, (uint32_t)avail);
	vp_driver_write(vp, c + VP_COMMON_Q_AVAILHI, 4, (uint32_t)(avail >> 32));
	vp_driver_write(vp, c + VP_COMMON_Q_USEDLO, 4, (uint32_t)used);
	vp_driver_write(vp, c + VP_COMMON_Q_USEDHI, 4, (uint32_t)(used >> 32));
	vp_driver_write(vp, c + VP_COMMON_Q_ENABLE, 2, 1);
}

void vp_driver_setup_ring(struct virtio_pci *vp, uint16_t queue, const struct ring_driver *rd,
			  uint16_t vector)
{
	vp_driver_setup_queue(vp, queue, rd->size, vector, rd->desc_gpa, rd->avail_gpa,
			      rd->used_gpa);
}

void vp_driver_kick(struct virtio_pci *vp, uint16_t queue)
{
	vp_driver_write(vp,
			VIRTIO_PCI_NOTIFY_OFFSET + (uint64_t)queue * VIRTIO_PCI_NOTIFY_MULTIPLIER,
			2, queue);
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

int vp_driver_place_ring(struct ring_driver *rd, uint8_t *mem, uint64_t base, uint64_t window,
			 uint16_t size)
{
	memset(rd, 0, sizeof(*rd));
	if (size == 0 || size > VIRTQ_MAX_SIZE || (base & 0xfff))
		return -EINVAL;
	rd->mem = mem;
	rd->size = size;
	rd->desc_gpa = base;
	rd->avail_gpa = rd->desc_gpa + VIRTQ_DESC_BYTES(size);
	rd->used_gpa = align_up(rd->avail_gpa + VIRTQ_AVAIL_BYTES(size), 4);
	rd->heap_start = align_up(rd->used_gpa + VIRTQ_USED_BYTES(size), 4096);
	rd->heap_next = rd->heap_start;
	/* ring_driver_alloc() bounds the heap by mem_size: end it at the window. */
	rd->mem_size = base + window;
	if (rd->heap_start >= rd->mem_size)
		return -EINVAL;
	return 0;
}
