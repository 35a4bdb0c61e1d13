/* Guest RAM: one sealed memfd mapped shared, registered with KVM as one memslot per region. */
#ifndef MICROVMM_VMM_GUEST_MEM_H
#define MICROVMM_VMM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "boot/guest_ram.h"

/*
 * Owns the memfd and the mapping. The memfd is kept because vhost-user
 * back-ends map the same pages (vhost-user.rst, SET_MEM_TABLE).
 */
struct guest_mem {
	int fd;
	uint8_t *base;
	uint64_t size;
	struct guest_ram ram;
};

/*
 * Creates and maps `size` bytes and registers the regions with the VM.
 * Returns 0 or -errno with one user-facing line in `err`; -ENOMEM when the
 * host cannot give that much. Safe to destroy after a failure.
 */
int guest_mem_create(struct guest_mem *mem, int vm_fd, uint64_t size, char *err, size_t err_len)
    __attribute__((warn_unused_result));
void guest_mem_destroy(struct guest_mem *mem);

#endif
