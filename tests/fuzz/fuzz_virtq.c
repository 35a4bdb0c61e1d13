/*
 * libFuzzer target: the virtqueue walker (devices/virtio/virtq.c). The input is a small header
 * then the guest's RAM: descriptor table, avail and used rings and the buffers all come from the
 * fuzzer, as a hostile driver would write them (virtio 1.2 §2.7). Every popped chain is copied
 * through in both directions and returned, so the iovs virtq_pop validated are all touched.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/guest_ram.h"
#include "devices/virtio/virtq.h"

#define RAM_BYTES  (64u * 1024)
#define HEADER	   4
#define MAX_ROUNDS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	static uint8_t scratch[RAM_BYTES];
	struct guest_ram ram = {0};
	struct virtq q = {0};
	struct virtq_chain chain;

	if (size < HEADER)
		return 0;
	if (!mem && !(mem = malloc(RAM_BYTES)))
		abort();
	/* Header: queue size (1..256, powers of two and not), features, ring placement. */
	uint16_t qsize = (uint16_t)(data[0] + 1);
	bool event_idx = data[1] & 1, indirect = data[1] & 2;
	uint64_t avail = 0x1000 + ((uint64_t)(data[2] & 0x0f) << 8);
	uint64_t used = 0x2000 + ((uint64_t)(data[3] & 0x0f) << 8);
	size_t n = size - HEADER < RAM_BYTES ? size - HEADER : RAM_BYTES;

	memset(mem, 0, RAM_BYTES);
	memcpy(mem, data + HEADER, n);
	ram.regions[0] = (struct guest_ram_region){.gpa = 0, .size = RAM_BYTES, .host = mem};
	ram.count = 1;
	ram.total = RAM_BYTES;
	if (virtq_activate(&q, &ram, qsize, 0, avail, used, event_idx, indirect) != 0)
		return 0;
	for (int round = 0; round < MAX_ROUNDS; round++) {
		int r = virtq_pop(&q, &chain);

		if (r <= 0)
			break;
		size_t got = virtq_chain_copy_from(&chain, 0, scratch, sizeof(scratch));
		size_t put = virtq_chain_copy_to(&chain, (size_t)(round & 3), scratch, got);

		(void)virtq_push(&q, chain.head, (uint32_t)put);
		(void)virtq_should_notify(&q);
		virtq_set_notification(&q, round & 1);
	}
	(void)virtq_has_available(&q);
	virtq_reset(&q);
	return 0;
}
