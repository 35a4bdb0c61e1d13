/*
 * Test builds only (microvmm-sandbox-test): after a thread's seccomp filter
 * is in place, make the system call that class must never make, chosen by
 * MICROVMM_TEST_FORBIDDEN=vcpu|devices|main|supervisor. The process must die
 * of SIGSYS; tests/kvm/test_sandbox.sh checks that it does.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/sandbox/seccomp_filter.h"

void seccomp_filter_test_hook(enum seccomp_class cls)
{
	const char *want = getenv("MICROVMM_TEST_FORBIDDEN");
	char *const argv[] = {"true", NULL};

	if (!want || strcmp(want, seccomp_filter_class_name(cls)))
		return;
	switch (cls) {
	case SECCOMP_VCPU:
		/* A guest that took over a vCPU thread wants files. */
		(void)!open("/etc/passwd", O_RDONLY);
		break;
	case SECCOMP_LOOP:
		(void)!execve("/bin/true", argv, NULL);
		break;
	case SECCOMP_MAIN:
		(void)!socket(AF_INET, SOCK_STREAM, 0);
		break;
	default:
		(void)!open("/etc/passwd", O_RDONLY);
		break;
	}
}
