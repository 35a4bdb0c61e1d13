/* Splits a fuzzer input into records: [tag byte][16-bit little-endian length][bytes]. */
#ifndef MICROVMM_TESTS_FUZZ_RECORD_H
#define MICROVMM_TESTS_FUZZ_RECORD_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_input {
	const uint8_t *data;
	size_t size, at;
};

/* The next record (its length clipped to what is left); 0 when the input is used up. */
static inline int fuzz_next(struct fuzz_input *in, uint8_t *tag, const uint8_t **bytes, size_t *len)
{
	if (in->size - in->at < 3)
		return 0;
	*tag = in->data[in->at];
	size_t want = (size_t)in->data[in->at + 1] | (size_t)in->data[in->at + 2] << 8;
	in->at += 3;
	size_t left = in->size - in->at;

	*len = want < left ? want : left;
	*bytes = in->data + in->at;
	in->at += *len;
	return 1;
}

#endif
