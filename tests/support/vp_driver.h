/* Test support: the driver side of the virtio-pci transport (virtio 1.2 §4.1.4.3) through BAR0,
 * plus shared guest RAM for several rings. */
#ifndef MICROVMM_TESTS_SUPPORT_VP_DRIVER_H
#define MICROVMM_TESTS_SUPPORT_VP_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/virtio_pci.h"
#include "tests/support/ring_driver.h"

/* struct virtio_pci_common_cfg offsets (§4.1.4.3), written down again from the spec. */
#define VP_COMMON_DFSELECT	0x00
#define VP_COMMON_DF		0x04
#define VP_COMMON_GFSELECT	0x08
#define VP_COMMON_GF		0x0c
#define VP_COMMON_MSIX		0x10
#define VP_COMMON_NUMQ		0x12
#define VP_COMMON_STATUS	0x14
#define VP_COMMON_CFGGENERATION 0x15
#define VP_COMMON_Q_SELECT	0x16
#define VP_COMMON_Q_SIZE	0x18
#define VP_COMMON_Q_MSIX	0x1a
#define VP_COMMON_Q_ENABLE	0x1c
#define VP_COMMON_Q_NOFF	0x1e
#define VP_COMMON_Q_DESCLO	0x20
#define VP_COMMON_Q_DESCHI	0x24
#define VP_COMMON_Q_AVAILLO	0x28
#define VP_COMMON_Q_AVAILHI	0x2c
#define VP_COMMON_Q_USEDLO	0x30
#define VP_COMMON_Q_USEDHI	0x34

/* BAR0 accesses as a vCPU would make them (offsets relative to BAR0; size 1, 2, 4 or 8). */
uint64_t vp_driver_read(struct virtio_pci *vp, uint64_t offset, unsigned int size);
void vp_driver_write(struct virtio_pci *vp, uint64_t offset, unsigned int size, uint64_t value);

uint8_t vp_driver_status(struct virtio_pci *vp);
/* Writes device_status; a write of 0 returns once the device has reset. */
void vp_driver_set_status(struct virtio_pci *vp, uint8_t status);
/* Both halves of device_feature (§4.1.4.3: select 0 and 1). */
uint64_t vp_driver_device_features(struct virtio_pci *vp);
void vp_driver_set_driver_features(struct virtio_pci *vp, uint64_t features);
/*
 * ACKNOWLEDGE, DRIVER, driver features, FEATURES_OK (§3.1.1 steps 1-5).
 * Returns whether the device kept FEATURES_OK set.
 */
bool vp_driver_negotiate(struct virtio_pci *vp, uint64_t features);
/* Selects `queue` and programs size, vector, ring addresses and enable = 1. */
void vp_driver_setup_queue(struct virtio_pci *vp, uint16_t queue, uint16_t size, uint16_t vector,
			   uint64_t desc, uint64_t avail, uint64_t used);
/* Programs a queue from a ring_driver's layout. */
void vp_driver_setup_ring(struct virtio_pci *vp, uint16_t queue, const struct ring_driver *rd,
			  uint16_t vector);
/* A 2-byte write of the queue index to its notify address (§4.1.4.4, multiplier from the cap). */
void vp_driver_kick(struct virtio_pci *vp, uint16_t queue);

/*
 * Lays out a ring_driver's rings and heap inside [base, base + window) of
 * RAM that starts at gpa 0 and is owned by the caller (so several queues
 * share one guest RAM). Do not ring_driver_destroy() it; drop it with
 * memset instead. Returns 0 or -EINVAL when the rings do not fit.
 */
int vp_driver_place_ring(struct ring_driver *rd, uint8_t *mem, uint64_t base, uint64_t window,
			 uint16_t size) __attribute__((warn_unused_result));

#endif
