/* Running the VM: vCPU threads, terminal input, signals, and stopping everything in order. */
#include "vmm/vm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/terminal.h"

#define VM_INPUT_CHUNK 256

void vm_request_end(struct vm *vm, enum vm_end end, int sig, const char *detail)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->end_lock);
	if (vm->end == VM_END_NONE) {
		vm->end = end;
		vm->end_signal = sig;
		if (detail)
			snprintf(vm->end_detail, sizeof(vm->end_detail), "%s", detail);
	}
	pthread_mutex_unlock(&vm->end_lock);
	ssize_t ignored = write(vm->stop_fd, &one, sizeof(one));
	(void)ignored;
}

/* Sends terminal bytes to the UART; the escape key ends the VM when the terminal is raw. */
static void vm_input_forward(struct vm *vm, const uint8_t *buf, size_t len)
{
	size_t start = 0;

	if (vm->raw_terminal) {
		const uint8_t *esc = memchr(buf, TERMINAL_ESCAPE, len);

		if (esc) {
			len = (size_t)(esc - buf);
			vm_request_end(vm, VM_END_ESCAPE, 0, NULL);
		}
	}
	while (start < len && !vm->stopping)
		start += serial_push_input(&vm->serial, buf + start, len - start, true,
					   &vm->stopping);
}

static void *vm_input_thread(void *arg)
{
	struct vm *vm = arg;
	uint8_t buf[VM_INPUT_CHUNK];
	struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
				{.fd = vm->stop_fd, .events = POLLIN}};

	pthread_setname_np(pthread_self(), "input");
	while (!vm->stopping) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents)
			break;
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* end of input: the guest just sees no more bytes */
		vm_input_forward(vm, buf, (size_t)n);
	}
	return NULL;
}

static int vm_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGPIPE);
	/* vCPU threads unblock the kick signal themselves. */
	sigaddset(set, SIGUSR1);
	return -pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int vm_start_threads(struct vm *vm)
{
	int ret = vcpu_install_kick_signal();

	for (unsigned int i = 0; !ret && i < vm->vcpu_count; i++)
		ret = vcpu_start(&vm->vcpus[i]);
	if (ret)
		return ret;
	vm->raw_terminal = terminal_enter_raw(STDIN_FILENO);
	ret = -pthread_create(&vm->input_thread, NULL, vm_input_thread, vm);
	if (!ret)
		vm->input_started = true;
	return ret;
}

static void vm_wait(struct vm *vm, int sig_fd)
{
	struct pollfd fds[2] = {{.fd = vm->stop_fd, .events = POLLIN},
				{.fd = sig_fd, .events = POLLIN}};

	for (;;) {
		if (poll(fds, sig_fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			vm_request_end(vm, VM_END_ERROR, 0, "poll failed");
			return;
		}
		if (fds[0].revents)
			return;
		struct signalfd_siginfo si;

		if (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			/* SIGPIPE means our output went away: keep running, writes just fail. */
			if (si.ssi_signo == SIGPIPE)
				continue;
			vm_request_end(vm, VM_END_SIGNAL, (int)si.ssi_signo, NULL);
			return;
		}
	}
}

static void vm_stop_threads(struct vm *vm)
{
	vm->stopping = true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned int i = 0; i < vm->vcpu_count; i++)
		vcpu_stop(&vm->vcpus[i]);
	if (vm->input_started) {
		serial_wake_input(&vm->serial);
		pthread_join(vm->input_thread, NULL);
		vm->input_started = false;
	}
	terminal_restore();
}

enum vm_end vm_run(struct vm *vm)
{
	sigset_t set;
	int sig_fd = -1;

	if (vm_block_signals(&set) == 0)
		sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (vm_start_threads(vm) == 0)
		vm_wait(vm, sig_fd);
	else
		vm_request_end(vm, VM_END_ERROR, 0, "cannot start the VM's threads");
	vm_stop_threads(vm);
	if (sig_fd >= 0)
		close(sig_fd);
	return vm->end;
}
