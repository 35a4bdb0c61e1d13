/*
 * libFuzzer target: the control port's guest-to-host protocol (vmm/vm_ctl.c, vm_ctl_input):
 * "started", "exit N", "signal N", "error N TEXT" lines as the guest sends them, cut into
 * chunks where the input's first byte says. stderr goes to /dev/null (the error text is
 * printed there, escaped); the line state and status are reset per input.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct vm vm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (pthread_mutex_init(&vm.ctl_lock, NULL))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;

	if (size < 1)
		return 0;
	if (null_fd < 0 && (null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		abort();
	int saved = dup(STDERR_FILENO);

	dup2(null_fd, STDERR_FILENO);
	vm.ctl_len = 0;
	vm.cmd_state = VM_CMD_NONE;
	vm.cmd_status = 0;
	size_t chunk = (size_t)data[0] + 1;

	for (size_t at = 1; at < size; at += chunk)
		vm_ctl_input(&vm, data + at, size - at < chunk ? size - at : chunk);
	dup2(saved, STDERR_FILENO);
	close(saved);
	return 0;
}
