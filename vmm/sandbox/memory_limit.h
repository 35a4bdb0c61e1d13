/* The VM process's memory limit, set once everything it needs is mapped (docs/security.md). */
#ifndef MICROVMM_VMM_SANDBOX_MEMORY_LIMIT_H
#define MICROVMM_VMM_SANDBOX_MEMORY_LIMIT_H

#include <stdint.h>

/*
 * Headroom above what the process has mapped when the limit is set: the
 * device loop's buffers (console backlogs of a few MiB, network pools),
 * thread stacks and malloc's growth. A guest that makes a device allocate
 * more gets ENOMEM in microvmm (the device is marked broken), not a host
 * out-of-memory kill.
 */
#define MEMORY_LIMIT_HEADROOM (512ULL << 20)

/* Address space each thread started after the limit may map (its stack and guard). */
#define MEMORY_LIMIT_PER_THREAD (16ULL << 20)

/* The RLIMIT_AS value for a process with `mapped` bytes now and `threads` still to start. */
uint64_t memory_limit_for(uint64_t mapped, unsigned int threads);

/*
 * Sets RLIMIT_AS to memory_limit_for(the current address-space size, read
 * from /proc/self/statm, so guest RAM, the kernel image and every ring are
 * counted, and the threads still to start). Call after the VM is built
 * and before the jail hides /proc. Returns 0 or -errno.
 */
int memory_limit_apply(unsigned int threads) __attribute__((warn_unused_result));

#endif
