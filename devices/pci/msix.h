/* MSI-X: the capability's control bits, the vector table and PBA in a BAR (PCI Local Bus 3.0
 * §6.8.2). */
#ifndef MICROVMM_DEVICES_PCI_MSIX_H
#define MICROVMM_DEVICES_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define MSIX_MAX_VECTORS 64
#define MSIX_ENTRY_SIZE	 16
#define MSIX_CAP_SIZE	 12

/* Message Control (offset 2 in the capability). */
#define MSIX_CONTROL_TABLE_SIZE_MASK 0x07ff
#define MSIX_CONTROL_FUNCTION_MASK   0x4000
#define MSIX_CONTROL_ENABLE	     0x8000
#define MSIX_VECTOR_CONTROL_MASKED   0x1

/*
 * Where vector changes go: `active` is true when the vector may deliver
 * (MSI-X on, function not masked, entry not masked); the VMM then routes
 * address/data to the vector's interrupt and attaches its eventfd, and
 * detaches it otherwise so signals wait in the eventfd until unmasked.
 */
struct msix_sink {
	int (*update)(void *ctx, unsigned int vector, bool active, uint64_t addr, uint32_t data);
	void *ctx;
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, control;
};

/*
 * Locking: `lock` guards the table and control bits; the sink is called
 * with it held (the VMM's routing takes its own lock, never ours).
 */
struct msix {
	pthread_mutex_t lock;
	unsigned int vectors;
	bool enabled, function_masked;
	struct msix_entry table[MSIX_MAX_VECTORS];
	bool active[MSIX_MAX_VECTORS];
	struct msix_sink sink;
};

int msix_init(struct msix *m, unsigned int vectors, struct msix_sink sink)
    __attribute__((warn_unused_result));
void msix_destroy(struct msix *m);

/* Writes the capability (ID, next pointer, control, table and PBA locations) into `cap`. */
void msix_write_capability(const struct msix *m, uint8_t *cap, uint8_t next, uint32_t table_offset,
			   uint32_t pba_offset, uint8_t bar);

/* The guest wrote Message Control: apply enable and function mask. */
void msix_set_control(struct msix *m, uint16_t control);

/* Table and PBA accesses; `offset` is relative to the table or PBA start. */
void msix_table_read(struct msix *m, uint64_t offset, uint8_t *data, unsigned int size);
void msix_table_write(struct msix *m, uint64_t offset, const uint8_t *data, unsigned int size);
void msix_pba_read(struct msix *m, uint64_t offset, uint8_t *data, unsigned int size);

#endif
