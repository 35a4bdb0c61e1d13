/* Threads of the VM process (vCPUs, the device loop, the API server, stdin) on small stacks. */
#ifndef MICROVMM_VMM_THREAD_H
#define MICROVMM_VMM_THREAD_H

#include <pthread.h>

/*
 * Every thread gets a 1 MiB stack rather than glibc's 8 MiB default: no
 * thread of ours needs more (the largest frames hold 4 KiB buffers), and a
 * stack smaller than a huge page can never be backed by one. With
 * transparent huge pages set to "always", an 8 MiB stack whose top landed on
 * a 2 MiB boundary was given a whole huge page: 2 MiB of the VMM's memory for
 * a few KiB of stack.
 */
#define THREAD_STACK_BYTES (1u << 20)

/* pthread_create with THREAD_STACK_BYTES. Returns 0 or -errno. */
int thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
    __attribute__((warn_unused_result));

#endif
