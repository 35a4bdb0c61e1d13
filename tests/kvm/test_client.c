/*
 * libmicrovmm against the freestanding test guest on whatever KVM this host has (kvm.client):
 * a VM that spins is started, reports its state, pauses and resumes (the events stream sees
 * both), cannot be waited for without blocking while it runs, is killed through the API
 * (137) and leaves no private directory; a VM that powers off ends 0; a bad key makes
 * microvmm_start fail with -ECHILD and microvmm's status; a finished VM's API is gone.
 *   test_client GUEST   (MICROVMM_BIN names the microvmm to run)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <microvmm.h>

static int failures;

static void check(int ok, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", ok ? "PASS" : "FAIL", what, detail ? ": " : "",
	       detail ? detail : "");
	failures += !ok;
}

static struct microvmm_config *guest_config(const char *guest, const char *cmdline)
{
	struct microvmm_config *cfg = microvmm_config_new();

	if (!cfg || microvmm_config_set_string(cfg, "kernel", guest) ||
	    microvmm_config_set_string(cfg, "cmdline", cmdline) ||
	    microvmm_config_set_string(cfg, "mem", "64M")) {
		fprintf(stderr, "test_client: %s\n", microvmm_error());
		exit(1);
	}
	return cfg;
}

static void test_spinning_vm(const char *guest)
{
	struct microvmm_config *cfg = guest_config(guest, "s spin");
	struct microvmm_start_options opts = {
	    .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1, .die_with_launcher = true};
	struct microvmm_events *events = NULL;
	struct microvmm_vm *vm;
	char state[32] = "", line[256], dir[128];
	int status = -1, ret;
	struct stat st;

	ret = microvmm_start(cfg, &opts, &vm);
	check(ret == 0, "microvmm_start of a spinning guest", ret ? microvmm_error() : NULL);
	microvmm_config_free(cfg);
	if (ret)
		return;
	snprintf(dir, sizeof(dir), "%s", microvmm_api_socket(vm));
	*strrchr(dir, '/') = '\0';
	check(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "a private 0700 directory", dir);
	check(microvmm_events_open(vm, &events) == 0, "events stream opened", microvmm_error());
	check(microvmm_state(vm, state, sizeof(state)) == 0 && !strcmp(state, "booting"),
	      "state booting (the test guest has no init to report)", state);
	check(microvmm_pause(vm) == 0, "microvmm_pause", microvmm_error());
	check(microvmm_state(vm, state, sizeof(state)) == 0 && !strcmp(state, "paused"),
	      "state paused", state);
	check(microvmm_resume(vm) == 0, "microvmm_resume", microvmm_error());
	check(microvmm_try_wait(vm, &status) == -EAGAIN, "try_wait while it runs: -EAGAIN", NULL);
	ret = microvmm_signal(vm, 15);
	check(ret == -EPROTO && strstr(microvmm_error(), "409"),
	      "signal without a command: -EPROTO with the 409", microvmm_error());
	check(microvmm_kill(vm) == 0, "microvmm_kill", microvmm_error());
	check(microvmm_wait(vm, &status) == 0 && status == 137, "killed: exit status 137", NULL);
	for (int i = 0; events && i < 3; i++) {
		ret = microvmm_events_next(events, line, sizeof(line), 5000);
		check(ret == 1 && strstr(line, i == 0	? "\"booting\""
					       : i == 1 ? "\"paused\""
							: "\"booting\""),
		      "events: booting, paused, booting again", line);
	}
	for (int i = 0; events && i < 4; i++)
		if (microvmm_events_next(events, line, sizeof(line), 5000) != 1 ||
		    strstr(line, "stopped"))
			break;
	check(strstr(line, "\"stopped\", \"exit_status\": 137") != NULL,
	      "events: the last line says stopped, 137", line);
	microvmm_events_close(events);
	check(stat(dir, &st) < 0 && errno == ENOENT, "the private directory is gone", dir);
	check(microvmm_state(vm, state, sizeof(state)) < 0, "a finished VM's API is gone",
	      microvmm_error());
	microvmm_vm_free(vm);
}

static void test_other_ends(const char *guest)
{
	struct microvmm_config *cfg = guest_config(guest, "p poweroff");
	struct microvmm_vm *vm = NULL;
	int status = -1, ret;

	ret = microvmm_start(cfg, NULL, &vm);
	if (ret == -ECHILD)
		check(strstr(microvmm_error(), "status 0") != NULL,
		      "a guest that powers off at once may end before its API is asked",
		      microvmm_error());
	else
		check(ret == 0 && microvmm_wait(vm, &status) == 0 && status == 0,
		      "a guest that powers off: exit status 0", microvmm_error());
	microvmm_vm_free(vm);
	microvmm_config_set_string(cfg, "no_such_key", "x");
	vm = NULL;
	ret = microvmm_start(cfg, NULL, &vm);
	check(ret == -ECHILD && strstr(microvmm_error(), "status 125") && !vm,
	      "a bad key: -ECHILD with microvmm's status 125", microvmm_error());
	microvmm_config_free(cfg);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_client GUEST\n");
		return 2;
	}
	test_spinning_vm(argv[1]);
	test_other_ends(argv[1]);
	printf("kvm.client: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
