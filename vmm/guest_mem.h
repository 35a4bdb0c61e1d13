/* Guest RAM: a sealed shared memfd, or anonymous memory; one KVM memslot per region. */
#ifndef MICROVMM_VMM_GUEST_MEM_H
#define MICROVMM_VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/guest_ram.h"

/* The transparent huge page size of x86-64, and the alignment guest RAM gets. */
#define GUEST_MEM_HUGE_PAGE (2ULL << 20)

struct guest_mem_options {
	/* A vhost-user back-end maps the same pages (vhost-user.rst, SET_MEM_TABLE): a memfd. */
	bool shared;
	/* Ask for transparent huge pages (MADV_HUGEPAGE); false: MADV_NOHUGEPAGE. */
	bool huge_pages;
};

/*
 * Owns the mapping, and the memfd when shared (-1 otherwise): kept for
 * the vhost-user back-ends.
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
int guest_mem_create(struct guest_mem *mem, int vm_fd, uint64_t size,
		     const struct guest_mem_options *opts, char *err, size_t err_len)
    __attribute__((warn_unused_result));
void guest_mem_destroy(struct guest_mem *mem);

#endif
