/*
 * Fuzz support: a byte program run as vCPUs run it. Instructions are FUZZ_OP_MAX bytes (an
 * opcode and operands; operands past the input's end read as zero). Opcode FUZZ_OP_PARALLEL
 * gives the next instruction to a second vCPU thread, which runs it while the caller runs the
 * one after; both finish before the program goes on. The thread lives for the whole process.
 */
#ifndef MICROVMM_TESTS_FUZZ_VCPU_H
#define MICROVMM_TESTS_FUZZ_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_OP_MAX	 12
#define FUZZ_OP_PARALLEL 10

typedef void (*fuzz_op_fn)(const uint8_t *op);

struct fuzz_vcpu {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	fuzz_op_fn fn;
	uint8_t op[FUZZ_OP_MAX];
	bool busy;
};

static inline void *fuzz_vcpu_main(void *arg)
{
	struct fuzz_vcpu *v = arg;

	pthread_mutex_lock(&v->lock);
	for (;;) {
		while (!v->busy)
			pthread_cond_wait(&v->cond, &v->lock);
		pthread_mutex_unlock(&v->lock);
		v->fn(v->op);
		pthread_mutex_lock(&v->lock);
		v->busy = false;
		pthread_cond_broadcast(&v->cond);
	}
	return NULL;
}

static inline void fuzz_vcpu_start(struct fuzz_vcpu *v, fuzz_op_fn fn)
{
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	v->fn = fn;
	if (pthread_create(&v->thread, NULL, fuzz_vcpu_main, v))
		abort();
}

/* The instruction at data[at] with zeros past the end, in `op`. */
static inline void fuzz_vcpu_fetch(uint8_t op[FUZZ_OP_MAX], const uint8_t *data, size_t size,
				   size_t at)
{
	size_t n = size - at < FUZZ_OP_MAX ? size - at : FUZZ_OP_MAX;

	memset(op, 0, FUZZ_OP_MAX);
	memcpy(op, data + at, n);
}

static inline void fuzz_vcpu_program(struct fuzz_vcpu *v, const uint8_t *data, size_t size,
				     fuzz_op_fn fn)
{
	uint8_t op[FUZZ_OP_MAX];

	for (size_t at = 0; at < size; at += FUZZ_OP_MAX) {
		fuzz_vcpu_fetch(op, data, size, at);
		if ((op[0] & 0x0f) != FUZZ_OP_PARALLEL || size - at <= FUZZ_OP_MAX) {
			fn(op);
			continue;
		}
		at += FUZZ_OP_MAX;
		pthread_mutex_lock(&v->lock);
		fuzz_vcpu_fetch(v->op, data, size, at);
		v->busy = true;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
		if (size - at > FUZZ_OP_MAX) {
			at += FUZZ_OP_MAX;
			fuzz_vcpu_fetch(op, data, size, at);
			fn(op);
		}
		pthread_mutex_lock(&v->lock);
		while (v->busy)
			pthread_cond_wait(&v->cond, &v->lock);
		pthread_mutex_unlock(&v->lock);
	}
}

#endif
