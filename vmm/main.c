/* microvmm's entry point: parse flags, build the VM, run it, map how it ended to an exit status. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/api/api_socket.h"
#include "vmm/config/config.h"
#include "vmm/config/config_json.h"
#include "vmm/exit_codes.h"
#include "vmm/kvm.h"
#include "vmm/log.h"
#include "vmm/timeline.h"
#include "vmm/sandbox/jail.h"
#include "vmm/sandbox/seccomp_filter.h"
#include "vmm/vm.h"

#define ERR_LEN 512

#ifdef MICROVMM_SECCOMP_DEFAULT_LOG
static const bool seccomp_log_is_default = true;
#else
static const bool seccomp_log_is_default = false;
#endif

#ifdef MICROVMM_SANITIZE
/*
 * LeakSanitizer's exit-time check reads /proc and ptraces the threads; the
 * jailed VM process has no /proc and is not dumpable, so the check could
 * only fail. Unit tests keep it; ASAN_OPTIONS=detect_leaks=1 turns it back
 * on for a --no-sandbox run.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/*
 * A closed standard fd would be reused by the next open() (/dev/kvm, the
 * kernel...) and guest output would land there. Refuse to start instead.
 */
static int main_check_std_fds(void)
{
	static const char *const names[] = {"standard input", "standard output", "standard error"};

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		log_user_error("%s is closed: start microvmm with it open (e.g. </dev/null or "
			       ">/dev/null)",
			       names[fd]);
		return -EBADF;
	}
	return 0;
}

/* The command's own status, once the guest ended normally after reporting it. */
static int main_command_status(struct vm *vm)
{
	pthread_mutex_lock(&vm->ctl_lock);
	enum vm_command_state state = vm->cmd_state;
	int status = vm->cmd_status;

	pthread_mutex_unlock(&vm->ctl_lock);
	if (vm->timed_out)
		return EXIT_TIMEOUT;
	if (state == VM_CMD_EXITED)
		return status;
	if (vm->console_ready && virtio_pci_was_disrupted(&vm->console.vp)) {
		log_user_error(
		    "the guest reset or broke its virtio console, and with it microvmm's "
		    "control channel, before the command reported its status");
		return EXIT_VMM_FAILURE;
	}
	if (state == VM_CMD_RUNNING) {
		/*
		 * The command was running when the guest powered off or reset
		 * (`-- reboot -f`, `-- poweroff -f`): the guest ended on purpose,
		 * the way a poweroff without a command does.
		 */
		log_info("vm", "the guest stopped while the command ran (exit status %d)",
			 EXIT_GUEST_OK);
		return EXIT_GUEST_OK;
	}
	log_user_error("the guest stopped before the command reported its status: use the "
		       "microvmm guest image initrd (guest-image/build) for '-- COMMAND'");
	return EXIT_VMM_FAILURE;
}

/*
 * MICROVMM_BOOT_LOG=FILE: one line appended per VM whose guest ran until it
 * stopped (power-off, reset, panic, signal, timeout, Ctrl-]), for test
 * harnesses and fleet accounting that count boots. Opened before the jail;
 * written once by the main thread after the run (write is in its allowlist).
 */
static int main_open_boot_log(void)
{
	const char *path = getenv("MICROVMM_BOOT_LOG");

	if (!path || !*path)
		return -1;
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

static void main_note_boot(int boot_log_fd, enum vm_end end)
{
	static const char line[] = "microvmm: vm booted\n";

	if (boot_log_fd < 0 || end == VM_END_ERROR || end == VM_END_NONE)
		return;
	if (write(boot_log_fd, line, sizeof(line) - 1) < 0)
		log_warn("vm", "cannot append to MICROVMM_BOOT_LOG: %s", strerror(errno));
}

static int main_exit_status(struct vm *vm, enum vm_end end)
{
	switch (end) {
	case VM_END_POWEROFF:
	case VM_END_RESET:
		return vm->cfg->command ? main_command_status(vm) : EXIT_GUEST_OK;
	case VM_END_PANIC:
		log_user_error("the guest kernel panicked (exit status %d)", EXIT_GUEST_PANIC);
		return EXIT_GUEST_PANIC;
	case VM_END_SIGNAL:
		log_info("vm", "stopped by signal %d", vm->end_signal);
		return EXIT_SIGNAL_BASE + vm->end_signal;
	case VM_END_TIMEOUT:
		return EXIT_TIMEOUT;
	case VM_END_ESCAPE:
		return EXIT_ESCAPE;
	case VM_END_ERROR:
	case VM_END_NONE:
	default:
		log_user_error("the VM failed: %s", vm->end_detail[0] ? vm->end_detail : "unknown");
		return EXIT_VMM_FAILURE;
	}
}

/* MAIN_RUN_VM when the VM should start; otherwise the status to exit with. */
#define MAIN_RUN_VM (-1)

/*
 * The command line, with the --config file's options merged in front of it
 * (config_json.h): `file` and `args` hold the words cfg points into until
 * exit.
 */
static int main_parse(int argc, char *argv[], struct config *cfg, struct config_file *file,
		      struct config_argv *args, char *err, size_t err_len)
{
	const char *path = config_file_requested(argc, argv);
	int ret;

	if (!path)
		return config_parse(argc, argv, cfg, err, err_len);
	ret = config_file_load(path, file, err, err_len);
	if (ret)
		return ret;
	ret = config_file_merge(file, argc, argv, args);
	if (ret) {
		snprintf(err, err_len, "out of memory reading --config %s", path);
		return ret;
	}
	return config_parse(args->argc, args->argv, cfg, err, err_len);
}

/* --print-config: the effective configuration on stdout. */
static int main_print_config(int argc, char *argv[], const struct config_argv *args)
{
	bool exact = true;
	char *text = args->argv ? config_print_json(args->argc, args->argv, &exact)
				: config_print_json(argc, argv, &exact);

	if (!text) {
		log_user_error("out of memory printing the configuration");
		return EXIT_VMM_FAILURE;
	}
	if (!exact) {
		free(text);
		log_user_error(
		    "--print-config: a value is not UTF-8 text, which JSON cannot carry: "
		    "give it as UTF-8 (or through a file the guest reads)");
		return EXIT_VMM_FAILURE;
	}
	fputs(text, stdout);
	free(text);
	return fflush(stdout) ? EXIT_VMM_FAILURE : 0;
}

/* Flags, --help/--version, the guest image, the log level and the sandbox's mode. */
static int main_configure(int argc, char *argv[], struct config *cfg, struct config_file *file,
			  struct config_argv *args)
{
	char err[ERR_LEN] = "";

	if (main_parse(argc, argv, cfg, file, args, err, sizeof(err))) {
		log_user_error("%s", err);
		return EXIT_VMM_FAILURE;
	}
	if (cfg->action == CONFIG_HELP) {
		fputs(config_usage, stdout);
		return 0;
	}
	if (cfg->action == CONFIG_VERSION) {
		printf("microvmm %s (KVM: %s)\n", MICROVMM_VERSION,
		       kvm_backend_name(kvm_detect_backend()));
		return 0;
	}
	if (cfg->action == CONFIG_PRINT)
		return main_print_config(argc, argv, args);
	if (config_guest_image(cfg, NULL, err, sizeof(err))) {
		log_user_error("%s", err);
		return EXIT_VMM_FAILURE;
	}
	if (cfg->command && !cfg->initrd) {
		log_user_error("running '-- %s' needs the microvmm guest image: add --initrd "
			       "(made by guest-image/build)",
			       cfg->command[0]);
		return EXIT_VMM_FAILURE;
	}
	log_set_level(cfg->verbose ? LOG_INFO : LOG_WARN);
	/* A sanitizer build logs by default (config.c): a debugging build, nothing to warn of. */
	if (cfg->no_sandbox || (cfg->seccomp_log && !seccomp_log_is_default))
		log_warn("sandbox",
			 "%s: a guest that breaks out of a device lands in an "
			 "unrestricted process; for debugging only",
			 cfg->no_sandbox ? "--no-sandbox" : "--seccomp=log");
	seccomp_filter_configure(cfg->no_sandbox    ? SECCOMP_MODE_OFF
				 : cfg->seccomp_log ? SECCOMP_MODE_LOG
						    : SECCOMP_MODE_KILL);
	return MAIN_RUN_VM;
}

/* The supervisor's last act (jail_handover): the API socket's file goes with the VM. */
static void main_remove_api_socket(void *ctx)
{
	api_socket_remove(ctx);
}

/*
 * --api-socket: the socket, bound before the jail; the fds the API thread
 * and the supervisor may use are pinned for their seccomp filters; the
 * configuration as GET /vm shows it. On failure nothing is left behind.
 */
static int main_open_api(const struct config *cfg, const struct config_argv *args, int argc,
			 char *argv[], struct api_socket *sock, struct vm_api_args *api)
{
	char err[ERR_LEN] = "";

	if (!cfg->api_socket)
		return 0;
	if (api_socket_open(sock, cfg->api_socket, err, sizeof(err))) {
		log_user_error("%s", err);
		return EXIT_VMM_FAILURE;
	}
	*api = (struct vm_api_args){
	    .listen_fd = sock->listen_fd,
	    /* GET /vm shows it; a value that is not UTF-8 shows as U+FFFD there. */
	    .config_json = args->argv ? config_print_json(args->argc, args->argv, NULL)
				      : config_print_json(argc, argv, NULL),
	    .pid = getpid(),
	};
	if (!api->config_json || seccomp_filter_pin_fds(SECCOMP_API, &sock->listen_fd, 1) ||
	    seccomp_filter_pin_fds(SECCOMP_SUPERVISOR, &sock->dir_fd, 1)) {
		log_user_error("out of memory setting up --api-socket");
		free(api->config_json);
		close(sock->listen_fd);
		api_socket_remove(sock);
		return EXIT_VMM_FAILURE;
	}
	return 0;
}

/*
 * From here on this is the jailed VM process; its parent only supervises
 * and removes the API socket at the end (so the VM process forgets the
 * socket's directory, which jail_fork closed here).
 */
static int main_fork_jail(const struct config *cfg, struct api_socket *sock)
{
	char err[ERR_LEN] = "";

	if (cfg->no_sandbox)
		return 0;
	if (jail_fork(&(struct jail_handover){.cleanup = main_remove_api_socket,
					      .ctx = sock,
					      .supervisor_fd = sock->dir_fd,
					      .vm_fd = sock->listen_fd},
		      err, sizeof(err))) {
		log_user_error("%s", err);
		return -1;
	}
	sock->dir_fd = -1;
	return 0;
}

int main(int argc, char *argv[])
{
	struct api_socket sock = {.listen_fd = -1, .dir_fd = -1};
	struct vm_api_args api = {.listen_fd = -1};
	struct config_file file = {0};
	struct config_argv args = {0};
	struct config cfg;
	struct vm vm;
	char err[ERR_LEN] = "";
	enum vm_end end;
	int boot_log_fd;
	int status;

	timeline_mark(TIMELINE_MAIN);
	if (main_check_std_fds())
		return EXIT_VMM_FAILURE;
	jail_close_inherited_fds();
	/*
	 * One malloc arena: glibc's per-thread arenas read
	 * /proc/sys/vm/overcommit_memory when they shrink, an open() no
	 * thread's seccomp filter allows (and the jail has no /proc).
	 */
	mallopt(M_ARENA_MAX, 1);
	status = main_configure(argc, argv, &cfg, &file, &args);
	if (status != MAIN_RUN_VM)
		goto out_config;
	status = main_open_api(&cfg, &args, argc, argv, &sock, &api);
	if (status)
		goto out_config;
	boot_log_fd = main_open_boot_log();
	if (main_fork_jail(&cfg, &sock)) {
		status = EXIT_VMM_FAILURE;
		goto out_socket;
	}
	if (vm_create(&vm, &cfg, cfg.api_socket ? &api : NULL, err, sizeof(err))) {
		log_user_error("%s", err);
		vm_destroy(&vm);
		status = EXIT_VMM_FAILURE;
		goto out_socket;
	}
	end = vm_run(&vm);
	main_note_boot(boot_log_fd, end);
	status = main_exit_status(&vm, end);
	vm_api_finish(&vm, status);
	vm_destroy(&vm);
	timeline_mark(TIMELINE_EXIT);
	if (cfg.boot_timeline)
		timeline_print();
out_socket:
	api_socket_remove(&sock);
out_config:
	config_argv_free(&args);
	config_file_free(&file);
	return status;
}
