/* Little-endian loads and stores for guest-visible structures and register data (x86 and every
 * spec we use are LE): the one set of byte-order helpers. */
#ifndef MICROVMM_BOOT_LE_H
#define MICROVMM_BOOT_LE_H

#include <stdint.h>

/* `size` (0..8) bytes at p as a little-endian number; register data of any width uses these. */
static inline uint64_t le_get(const uint8_t *p, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void le_put(uint8_t *p, unsigned int size, uint64_t v)
{
	for (unsigned int i = 0; i < size && i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t le_get16(const uint8_t *p)
{
	return (uint16_t)le_get(p, 2);
}

static inline uint32_t le_get32(const uint8_t *p)
{
	return (uint32_t)le_get(p, 4);
}

static inline uint64_t le_get64(const uint8_t *p)
{
	return le_get(p, 8);
}

static inline void le_put16(uint8_t *p, uint16_t v)
{
	le_put(p, 2, v);
}

static inline void le_put32(uint8_t *p, uint32_t v)
{
	le_put(p, 4, v);
}

static inline void le_put64(uint8_t *p, uint64_t v)
{
	le_put(p, 8, v);
}

#endif
