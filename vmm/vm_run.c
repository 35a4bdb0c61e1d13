/* Running the VM: vCPU threads, terminal input, signals, and stopping everything in order. */
#include "vmm/vm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vmm/exit_codes.h"

#include "vmm/host/terminal.h"
#include "vmm/log.h"
#include "vmm/sandbox/jail.h"
#include "vmm/sandbox/seccomp_filter.h"
#include "vmm/thread.h"
#include "vmm/timeline.h"

#define VM_INPUT_CHUNK 256
/* How long a command may take to die after a forwarded signal or the timeout. */
#define VM_GRACE_SECONDS 10
/* How long the guest's last output may take to reach a slow reader. */
#define VM_FLUSH_TIMEOUT_MS 60000

void vm_request_end(struct vm *vm, enum vm_end end, int sig, const char *detail)
{
	uint64_t one = 1;

	timeline_mark(TIMELINE_GUEST_STOPPED);
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

void vm_fail(struct vm *vm, const char *detail)
{
	vm_request_end(vm, VM_END_ERROR, 0, detail);
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
		start +=
		    serial_push_input(&vm->serial, buf + start, len - start, true, &vm->stopping);
}

static void *vm_input_thread(void *arg)
{
	struct vm *vm = arg;
	uint8_t buf[VM_INPUT_CHUNK];
	struct pollfd fds[3] = {{.fd = STDIN_FILENO, .events = POLLIN},
				{.fd = vm->stop_fd, .events = POLLIN},
				{.fd = vm->input_stop_fd, .events = POLLIN}};

	pthread_setname_np(pthread_self(), "uart-input");
	if (seccomp_filter_enter(SECCOMP_INPUT)) {
		vm_request_end(vm, VM_END_ERROR, 0, "cannot install the input seccomp filter");
		return NULL;
	}
	while (!vm->stopping && vm->serial_input) {
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents || fds[2].revents)
			break;
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break; /* end of input: the guest just sees no more bytes */
		vm_input_forward(vm, buf, (size_t)n);
	}
	/* The guest's virtio console is up: terminal input goes there from now on. */
	if (!vm->stopping && vm->console_ready &&
	    virtio_console_start_input(&vm->console, VM_PORT_CONSOLE))
		log_warn("console", "out of memory: terminal input stops here");
	return NULL;
}

static int vm_block_signals(sigset_t *set)
{
	sigemptyset(set);
	jail_add_termination_signals(set);
	sigaddset(set, SIGPIPE);
	sigaddset(set, SIGWINCH);
	/* vCPU threads unblock the kick signal themselves. */
	sigaddset(set, SIGUSR1);
	return -pthread_sigmask(SIG_BLOCK, set, NULL);
}

static void vm_send_window_size(struct vm *vm)
{
	struct winsize ws;

	if (vm->tty && vm->console_ready && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_row && ws.ws_col && virtio_console_resize(&vm->console, ws.ws_row, ws.ws_col))
		log_warn("console", "out of memory: the guest keeps the old terminal size");
}

static int vm_start_threads(struct vm *vm)
{
	int ret = vcpu_install_kick_signal();

	if (!ret)
		ret = io_loop_start(&vm->loop);
	for (unsigned int i = 0; !ret && i < vm->vcpu_count; i++)
		ret = vcpu_start(&vm->vcpus[i]);
	if (!ret)
		ret = vm_api_start(vm);
	if (ret)
		return ret;
	if (vm->tty)
		vm->raw_terminal = terminal_enter_raw(STDIN_FILENO);
	vm_send_window_size(vm);
	if (!vm->serial_input)
		return 0;
	ret = thread_start(&vm->input_thread, vm_input_thread, vm);
	if (!ret)
		vm->input_started = true;
	return ret;
}

static void vm_arm_timer(int timer_fd, unsigned int seconds)
{
	struct itimerspec its = {.it_value = {.tv_sec = seconds}};

	if (timer_fd >= 0)
		timerfd_settime(timer_fd, 0, &its, NULL);
}

/* A termination signal: pass it to the command if one runs, else end the VM. */
static bool vm_on_signal(struct vm *vm, int sig, int grace_fd)
{
	if (sig == SIGWINCH) {
		vm_send_window_size(vm);
		return false;
	}
	if (vm->cfg->command && vm_ctl_forward_signal(vm, sig) == 0) {
		vm->forwarded_signal = sig;
		vm_arm_timer(grace_fd, VM_GRACE_SECONDS);
		return false;
	}
	vm_request_end(vm, VM_END_SIGNAL, sig, NULL);
	return true;
}

/* --timeout: stop the command like timeout(1), with TERM and then a grace period. */
static void vm_on_timeout(struct vm *vm, int grace_fd)
{
	vm->timed_out = true;
	if (vm_ctl_forward_signal(vm, SIGTERM) == 0)
		vm_arm_timer(grace_fd, VM_GRACE_SECONDS);
	else
		vm_request_end(vm, VM_END_TIMEOUT, 0, NULL);
}

/* PUT /vm/pause: every vCPU parked at the gate; the devices finish what they have in hand. */
static void vm_run_pause(struct vm *vm)
{
	if (vm->api.paused)
		return vm_api_answer(vm, 204, NULL);
	if (vcpu_pause_all(vm->vcpus, vm->vcpu_count, &vm->gate, 2000)) {
		vcpu_resume_all(vm->vcpus, vm->vcpu_count, &vm->gate);
		return vm_api_answer(vm, 503, "a vCPU did not stop within 2 s");
	}
	vm->api.paused = true;
	vm_api_note_state(vm);
	vm_api_answer(vm, 204, NULL);
}

static void vm_run_resume(struct vm *vm)
{
	vcpu_resume_all(vm->vcpus, vm->vcpu_count, &vm->gate);
	vm->api.paused = false;
	vm_api_note_state(vm);
}

/*
 * PUT /vm/shutdown: the command gets SIGTERM through the guest init, which
 * syncs and powers off once it ends; after `seconds` the VM is stopped.
 * With no command running (booting, or a shell) the VM stops at once.
 */
static void vm_run_shutdown(struct vm *vm, int seconds, int grace_fd)
{
	vm->api.shutting_down = true;
	if (vm->api.paused)
		vm_run_resume(vm);
	vm_api_note_state(vm);
	if (vm->cfg->command && vm_ctl_forward_signal(vm, SIGTERM) == 0) {
		vm->forwarded_signal = SIGTERM;
		vm_arm_timer(grace_fd, (unsigned int)seconds);
	} else {
		vm_request_end(vm, VM_END_SIGNAL, SIGTERM, NULL);
	}
	vm_api_answer(vm, 204, NULL);
}

/* A request the API thread posted (vm_api.h), carried out on the main thread. */
static void vm_on_api_request(struct vm *vm, int grace_fd)
{
	int arg;

	switch (vm_api_take(vm, &arg)) {
	case VM_API_PAUSE:
		return vm_run_pause(vm);
	case VM_API_RESUME:
		if (vm->api.paused)
			vm_run_resume(vm);
		return vm_api_answer(vm, 204, NULL);
	case VM_API_SHUTDOWN:
		return vm_run_shutdown(vm, arg, grace_fd);
	case VM_API_KILL:
		vm->api.shutting_down = true;
		vm_request_end(vm, VM_END_SIGNAL, SIGKILL, NULL);
		return vm_api_answer(vm, 204, NULL);
	case VM_API_SIGNAL:
		if (!vm->cfg->command || vm_ctl_forward_signal(vm, arg))
			return vm_api_answer(vm, 409, "no command is running in the guest");
		return vm_api_answer(vm, 204, NULL);
	case VM_API_NONE:
	default:
		return;
	}
}

static void vm_wait(struct vm *vm, int sig_fd)
{
	int timeout_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	int grace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct pollfd fds[5] = {{.fd = vm->stop_fd, .events = POLLIN},
				{.fd = sig_fd, .events = POLLIN},
				{.fd = timeout_fd, .events = POLLIN},
				{.fd = grace_fd, .events = POLLIN},
				{.fd = vm->api.request_fd, .events = POLLIN}};
	uint64_t ticks;

	if (vm->cfg->timeout)
		vm_arm_timer(timeout_fd, vm->cfg->timeout);
	for (;;) {
		if (poll(fds, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			vm_request_end(vm, VM_END_ERROR, 0, "poll failed");
			break;
		}
		if (fds[0].revents)
			break;
		if (fds[2].revents && read(timeout_fd, &ticks, sizeof(ticks)) > 0)
			vm_on_timeout(vm, grace_fd);
		if (fds[4].revents)
			vm_on_api_request(vm, grace_fd);
		if (fds[3].revents && read(grace_fd, &ticks, sizeof(ticks)) > 0) {
			/* The command outlived its grace period: end the VM the hard way. */
			vm_request_end(vm, vm->timed_out ? VM_END_TIMEOUT : VM_END_SIGNAL,
				       vm->forwarded_signal, NULL);
			break;
		}
		struct signalfd_siginfo si;

		if (fds[1].revents && read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			/* SIGPIPE means our output went away: keep running, writes just fail. */
			if (si.ssi_signo != SIGPIPE &&
			    vm_on_signal(vm, (int)si.ssi_signo, grace_fd))
				break;
		}
	}
	if (timeout_fd >= 0)
		close(timeout_fd);
	if (grace_fd >= 0)
		close(grace_fd);
}

static void vm_stop_threads(struct vm *vm)
{
	vm->stopping = true;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vm_api_note_state(vm);
	/* Paused vCPUs wait at the gate: open it, they see `stopping` and end. */
	if (vm->gate_ready)
		vcpu_resume_all(vm->vcpus, vm->vcpu_count, &vm->gate);
	for (unsigned int i = 0; i < vm->vcpu_count; i++)
		vcpu_stop(&vm->vcpus[i]);
	/* vCPUs are gone: nothing adds guest work any more; let the loop finish and stop. */
	if (vm->loop_ready)
		io_loop_stop(&vm->loop);
	/* Like docker run: everything the command wrote reaches our stdout/stderr before we exit.
	 */
	if (vm->console_ready && vm->end != VM_END_ERROR &&
	    virtio_console_flush(&vm->console, VM_FLUSH_TIMEOUT_MS))
		log_warn("console", "gave up writing the guest's last output after %d s",
			 VM_FLUSH_TIMEOUT_MS / 1000);
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
	/* Every thread is up with its own filter: now the main thread's. */
	if (vm_start_threads(vm) == 0 && seccomp_filter_enter(SECCOMP_MAIN) == 0)
		vm_wait(vm, sig_fd);
	else
		vm_request_end(vm, VM_END_ERROR, 0, "cannot start the VM's threads");
	vm_stop_threads(vm);
	if (sig_fd >= 0)
		close(sig_fd);
	return vm->end;
}
