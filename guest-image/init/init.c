/* Guest init (PID 1): set the guest up, run one main process, power off when it ends. */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

/* Scenario names become file names: keep them to one plain path component. */
static int valid_test_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || name[0] == '.')
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	       len;
}

/*
 * Chooses the main process from the kernel command line:
 * microvmm.test=NAME runs the scenario script NAME, anything else an
 * interactive shell on the console. @script backs argv[1] and must outlive
 * @spec.
 */
static int spec_from_cmdline(struct run_spec *spec, char *script, size_t size)
{
	char cmdline[4096];
	char test[64];
	int err, len;

	if (run_spec_add_arg(spec, INIT_SHELL))
		return -E2BIG;
	err = cmdline_read(cmdline, sizeof(cmdline));
	if (err) {
		init_log("/proc/cmdline: %s", strerror(-err));
		cmdline[0] = '\0';
	}
	err = cmdline_get(cmdline, "microvmm.test", test, sizeof(test));
	if (err == -ENOENT) {
		spec->want_ctty = 1;
		return 0;
	}
	if (err || !valid_test_name(test)) {
		init_log("bad microvmm.test= value");
		return -EINVAL;
	}
	len = snprintf(script, size, "%s/%s", INIT_TESTS_DIR, test);
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	return run_spec_add_arg(spec, script);
}

static void report_exit(int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		init_log("main process exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		init_log("main process killed by signal %d", WTERMSIG(status));
}

static void __attribute__((noreturn)) power_off(void)
{
	timeline_report();
	sync();
	reboot(RB_POWER_OFF);
	/* PID 1 must never exit: that would panic the kernel. */
	init_log("power off failed: %s", strerror(errno));
	for (;;)
		pause();
}

static int cmdline_has_test(void)
{
	char cmdline[4096];
	char test[64];

	return cmdline_read(cmdline, sizeof(cmdline)) == 0 &&
	       cmdline_get(cmdline, "microvmm.test", test, sizeof(test)) != -ENOENT;
}

static void run_command_mode(void)
{
	struct run_config rc;
	int err;

	memset(&rc, 0, sizeof(rc));
	run_spec_init(&rc.spec);
	err = runcfg_read(INIT_RUN_CONFIG, &rc);
	if (err) {
		init_log("%s: %s", INIT_RUN_CONFIG, strerror(-err));
		return;
	}
	timeline_stage("command");
	err = command_run(&rc);
	if (err)
		init_log("cannot run the command: %s", strerror(-err));
	sync();
	/* Everything the command wrote reaches virtiofsd before the VM ends. */
	shares_unmount(&rc);
}

int main(void)
{
	struct run_spec spec;
	char script[128];
	int err, status;

	/* The kernel's built-in initramfs has /dev/console, so fds 0..2 exist already. */
	if (mounts_setup())
		init_log("continuing without some mounts");
	timeline_stage("init");
	err = console_setup();
	if (err)
		init_log("/dev/console: %s", strerror(-err));
	if (modules_load(INIT_MODULES_LIST))
		init_log("some modules failed to load; continuing");
	timeline_stage("modules");

	/* A scenario named on the command line wins; then microvmm's run configuration. */
	if (!cmdline_has_test() && access(INIT_RUN_CONFIG, F_OK) == 0) {
		run_command_mode();
		power_off();
	}
	run_spec_init(&spec);
	err = spec_from_cmdline(&spec, script, sizeof(script));
	if (err)
		power_off();
	timeline_stage("command");
	err = run_spec_exec(&spec, &status);
	if (err)
		init_log("running %s: %s", spec.argv[0], strerror(-err));
	else
		report_exit(status);
	power_off();
}
