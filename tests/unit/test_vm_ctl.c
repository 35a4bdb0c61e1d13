/*
 * Unit tests for the control channel's guest-to-host lines (vmm/vm_ctl.c).
 * The error reports used to reach the terminal raw and without limit: a
 * guest could clear the screen, forge "microvmm:" lines or flood stderr.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/vm.h"

/* Runs `lines` through vm_ctl_input with stderr captured into `out`; returns the exit status. */
static int ctl_run(const char *lines, char *out, size_t out_len)
{
	static struct vm vm;
	int fds[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	memset(&vm, 0, sizeof(vm));
	assert_int_equal(pthread_mutex_init(&vm.ctl_lock, NULL), 0);
	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	assert_true(fcntl(fds[1], F_SETPIPE_SZ, 1 << 20) > 0);
	dup2(fds[1], STDERR_FILENO);
	vm_ctl_input(&vm, (const uint8_t *)lines, strlen(lines));
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, out_len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	pthread_mutex_destroy(&vm.ctl_lock);
	return vm.cmd_state == VM_CMD_EXITED ? vm.cmd_status : -1;
}

static void test_ctl_error_text_is_escaped_and_prefixed(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(ctl_run("error 127 \033[2J\rmicrovmm: fine\n", out, sizeof(out)), 127);
	assert_string_equal(out, "microvmm: the guest reports: \\x1b[2J\\x0dmicrovmm: fine\n");
}

static void test_ctl_error_lines_are_limited_per_run(void **state)
{
	char lines[64 * 30], out[1 << 16];
	size_t at = 0;
	unsigned int shown = 0;

	(void)state;
	for (int i = 0; i < 30; i++)
		at += (size_t)snprintf(lines + at, sizeof(lines) - at, "error 125 report %d\n", i);
	/* The first report sets the status; later ones cannot rewrite it. */
	assert_int_equal(ctl_run(lines, out, sizeof(out)), 125);
	for (const char *p = out; (p = strstr(p, "the guest reports: ")); p++)
		shown++;
	/* The earlier test used one of the run's ten. */
	assert_int_equal(shown, 9);
	assert_non_null(strstr(out, "further error reports from the guest are not shown"));
	assert_null(strstr(out, "report 9\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctl_error_text_is_escaped_and_prefixed),
	    cmocka_unit_test(test_ctl_error_lines_are_limited_per_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
