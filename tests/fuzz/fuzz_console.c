/*
 * libFuzzer target: virtio-console (devices/virtio/console.c) with its control queue, four
 * ports and resets, on the test suite's guest (tests/support/console_guest.c) with the device
 * loop running. Each input brings the device up as Linux does (features, rings, control
 * buffers, DRIVER_OK) and then runs a byte program: control messages (well-formed and raw),
 * port output, receive buffers, host input, resizes, kicks, status writes (resets midway) and
 * common-configuration writes; opcode 10 runs the next instruction on a second vCPU thread
 * while this one runs the one after. The host ends of the ports are drained per input.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/le.h"
#include "tests/fuzz/fuzz_vcpu.h"
#include "tests/support/console_guest.h"
#include "tests/support/vp_driver.h"

#define MAX_FILLS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fixture *f;
static struct fuzz_vcpu vcpu2;
static unsigned int fills; /* receive buffers offered this input (each takes RX_BUFS pages) */

static void offer_bytes(unsigned int q, const uint8_t *bytes, size_t len)
{
	struct ring_buf b = {.gpa = guest_alloc(f, q, bytes, len ? len : 1), .len = (uint32_t)len};

	guest_offer(f, q, &b, 1);
}

static void run_op(const uint8_t *op)
{
	unsigned int port = op[1] % PORTS;

	switch (op[0] & 0x0f) {
	case 0:
		ctrl_send(f, op[1] == 0xff ? BAD_ID : op[1] % (PORTS + 2), op[2] % 9, op[3]);
		break;
	case 1:
		offer_bytes(CTRL_TX, op + 2, op[1] % (FUZZ_OP_MAX - 1));
		break;
	case 2:
		offer_bytes(tx_queue(port), op + 2, (op[0] >> 4) % (FUZZ_OP_MAX - 1));
		break;
	case 3:
		if (__atomic_fetch_add(&fills, 1, __ATOMIC_RELAXED) < MAX_FILLS)
			port_fill_rx(f, port);
		break;
	case 4:
		(void)virtio_console_send(&f->con, port, op + 2, (op[0] >> 4) % (FUZZ_OP_MAX - 1));
		break;
	case 5:
		vp_driver_set_status(vp(f), op[1]);
		break;
	case 6:
		(void)virtio_console_resize(&f->con, le_get(op + 1, 2), le_get(op + 3, 2));
		break;
	case 7:
		vp_driver_kick(vp(f), (uint16_t)(op[1] % (QUEUES + 1)));
		break;
	case 8:
		vp_driver_write(vp(f), VIRTIO_PCI_COMMON_OFFSET + (op[1] & 0x3f), 1u << (op[2] & 1),
				le_get(op + 3, 2));
		break;
	default:
		break;
	}
}

static void drain(int fd)
{
	uint8_t buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void setup_once(void)
{
	void *state = NULL;

	if (console_fixture_setup(&state))
		abort();
	f = state;
	if (fcntl(f->out0[0], F_SETFL, O_NONBLOCK) || fcntl(f->out3[0], F_SETFL, O_NONBLOCK))
		abort();
	fuzz_vcpu_start(&vcpu2, run_op);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!f)
		setup_once();
	vp_driver_set_status(vp(f), 0);
	fills = 0;
	guest_setup(f, linux_features);
	fuzz_vcpu_program(&vcpu2, data, size, run_op);
	vp_driver_set_status(vp(f), 0);
	drain(f->out0[0]);
	drain(f->out3[0]);
	return 0;
}
