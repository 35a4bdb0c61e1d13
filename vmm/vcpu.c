/* vCPU threads: one KVM_RUN loop per vCPU, decoding PIO/MMIO exits onto the buses. */
#include "vmm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/sandbox/seccomp_filter.h"

#include "vmm/log.h"
#include "vmm/thread.h"
#include "vmm/timeline.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return -EINTR */
}

int vcpu_install_kick_signal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct vcpu *vcpu, const struct vcpu_env *env, int vm_fd, unsigned int index,
		size_t run_size)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->env = env;
	vcpu->index = index;
	vcpu->run_size = run_size;
	vcpu->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0) {
		vcpu->fd = -1;
		return -errno;
	}
	void *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);

	if (run == MAP_FAILED) {
		int ret = -errno;

		vcpu_destroy(vcpu);
		return ret;
	}
	vcpu->run = run;
	return 0;
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int size = run->io.size;

	/* KVM guarantees the data area is inside the run page; `count` > 1 is rep ins/outs. */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus_write(vcpu->env->pio, run->io.port, data, size);
		else
			bus_read(vcpu->env->pio, run->io.port, data, size);
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len <= 8 ? run->mmio.len : 8;

	if (run->mmio.is_write)
		bus_write(vcpu->env->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus_read(vcpu->env->mmio, run->mmio.phys_addr, run->mmio.data, len);
}

/* Returns true when the loop must end. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char detail[128];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return false;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return false;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
		return false;
	case KVM_EXIT_SHUTDOWN:
		vcpu->env->stop(vcpu->env->ctx, VCPU_STOP_SHUTDOWN, "triple fault");
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(detail, sizeof(detail), "system event %u", run->system_event.type);
		vcpu->env->stop(vcpu->env->ctx, VCPU_STOP_SHUTDOWN, detail);
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(detail, sizeof(detail), "vCPU %u: KVM entry failed (reason 0x%llx)",
			 vcpu->index,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(detail, sizeof(detail), "vCPU %u: KVM internal error (suberror %u)",
			 vcpu->index, run->internal.suberror);
		break;
	default:
		snprintf(detail, sizeof(detail), "vCPU %u: unexpected KVM exit %u", vcpu->index,
			 run->exit_reason);
		break;
	}
	vcpu->env->stop(vcpu->env->ctx, VCPU_STOP_ERROR, detail);
	return true;
}

/* At the closed gate: wait until it opens or the VM stops, then clear the kick's immediate_exit. */
static void vcpu_park(struct vcpu *vcpu)
{
	struct vcpu_gate *gate = vcpu->env->gate;

	pthread_mutex_lock(&gate->lock);
	gate->parked++;
	pthread_cond_broadcast(&gate->changed);
	while (gate->closed && !*vcpu->env->stopping)
		pthread_cond_wait(&gate->changed, &gate->lock);
	gate->parked--;
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&gate->lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	sigset_t unblock;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&unblock);
	sigaddset(&unblock, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
	/* Before the first KVM_RUN: from here on the guest can reach this thread. */
	if (seccomp_filter_enter(SECCOMP_VCPU)) {
		vcpu->env->stop(vcpu->env->ctx, VCPU_STOP_ERROR,
				"cannot install the vCPU seccomp filter");
		return NULL;
	}

	if (vcpu->index == 0)
		timeline_mark(TIMELINE_FIRST_RUN);
	while (!*vcpu->env->stopping) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			/*
			 * A kick (SIGUSR1 or immediate_exit): the VM stops (the loop's
			 * condition) or pauses. A pause kicks every vCPU, so only here is
			 * the gate worth a look; the exit path stays as it was.
			 */
			if (errno == EINTR || errno == EAGAIN) {
				if (vcpu->env->gate && vcpu->env->gate->closed)
					vcpu_park(vcpu);
				continue;
			}
			char detail[96];

			snprintf(detail, sizeof(detail), "vCPU %u: KVM_RUN failed: %s", vcpu->index,
				 strerror(errno));
			vcpu->env->stop(vcpu->env->ctx, VCPU_STOP_ERROR, detail);
			break;
		}
		if (vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret = thread_start(&vcpu->thread, vcpu_thread, vcpu);

	if (ret)
		return ret;
	vcpu->started = true;
	return 0;
}

void vcpu_stop(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	/*
	 * immediate_exit covers a kick that lands before the thread re-enters
	 * KVM_RUN (api.rst, "immediate_exit"); the signal covers one inside it.
	 */
	if (vcpu->run)
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
	pthread_join(vcpu->thread, NULL);
	vcpu->started = false;
}

int vcpu_gate_init(struct vcpu_gate *gate)
{
	pthread_condattr_t attr;
	int ret;

	gate->closed = false;
	gate->parked = 0;
	ret = pthread_condattr_init(&attr);
	if (ret)
		return -ret;
	/* Waits are bounded on the monotonic clock: a wall-clock step must not stretch them. */
	ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(&gate->changed, &attr);
	pthread_condattr_destroy(&attr);
	if (ret)
		return -ret;
	ret = pthread_mutex_init(&gate->lock, NULL);
	if (ret) {
		pthread_cond_destroy(&gate->changed);
		return -ret;
	}
	return 0;
}

void vcpu_gate_destroy(struct vcpu_gate *gate)
{
	pthread_cond_destroy(&gate->changed);
	pthread_mutex_destroy(&gate->lock);
}

int vcpu_pause_all(struct vcpu *vcpus, unsigned int count, struct vcpu_gate *gate,
		   unsigned int timeout_ms)
{
	unsigned int started = 0;
	struct timespec deadline;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&gate->lock);
	gate->closed = true;
	pthread_mutex_unlock(&gate->lock);
	/* As in vcpu_stop: immediate_exit for a vCPU about to enter KVM_RUN, the signal for one in
	 * it. */
	for (unsigned int i = 0; i < count; i++) {
		if (!vcpus[i].started)
			continue;
		started++;
		__atomic_store_n(&vcpus[i].run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(vcpus[i].thread, VCPU_KICK_SIGNAL);
	}
	pthread_mutex_lock(&gate->lock);
	while (gate->parked < started && ret == 0)
		ret = pthread_cond_timedwait(&gate->changed, &gate->lock, &deadline);
	pthread_mutex_unlock(&gate->lock);
	return ret ? -ETIMEDOUT : 0;
}

void vcpu_resume_all(struct vcpu *vcpus, unsigned int count, struct vcpu_gate *gate)
{
	pthread_mutex_lock(&gate->lock);
	for (unsigned int i = 0; i < count; i++)
		if (vcpus[i].run)
			__atomic_store_n(&vcpus[i].run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	gate->closed = false;
	pthread_cond_broadcast(&gate->changed);
	pthread_mutex_unlock(&gate->lock);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
