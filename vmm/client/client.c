/* libmicrovmm: running the microvmm binary for a configuration, waiting for it, the error line. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/client/client.h"

#define CLIENT_READY_MS_DEFAULT 30000

static __thread char client_error_line[512];

const char *microvmm_error(void)
{
	return client_error_line;
}

int client_fail(int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(client_error_line, sizeof(client_error_line), fmt, ap);
	va_end(ap);
	return ret;
}

static void client_config_path(const struct microvmm_vm *vm, char *out, size_t len)
{
	snprintf(out, len, "%s/config.json", vm->dir);
}

/* The socket (if microvmm could not remove it), the config file, the directory. */
static void client_cleanup(struct microvmm_vm *vm)
{
	char path[CLIENT_PATH_MAX + 16];

	if (!vm->dir[0])
		return;
	client_config_path(vm, path, sizeof(path));
	unlink(path);
	unlink(vm->socket);
	rmdir(vm->dir);
	vm->dir[0] = '\0';
}

/* A private directory for the socket and the config file; its path must fit sun_path. */
static int client_make_dir(struct microvmm_vm *vm)
{
	const char *base = getenv("XDG_RUNTIME_DIR");

	if (!base || !*base || strlen(base) > 60)
		base = "/tmp";
	snprintf(vm->dir, sizeof(vm->dir), "%s/microvmm-XXXXXX", base);
	if (!mkdtemp(vm->dir)) {
		int ret = -errno;

		vm->dir[0] = '\0';
		return client_fail(ret, "cannot make a directory in %s: %s", base, strerror(-ret));
	}
	snprintf(vm->socket, sizeof(vm->socket), "%s/api.sock", vm->dir);
	return 0;
}

static int client_write_config(const struct microvmm_vm *vm, const struct microvmm_config *cfg)
{
	char path[CLIENT_PATH_MAX + 16];
	char *text = client_config_text(cfg, vm->socket);
	size_t len = text ? strlen(text) : 0;
	int fd, ret = 0;

	if (!text)
		return -ENOMEM;
	client_config_path(vm, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		ret = client_fail(-errno, "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0 && close(fd) && !ret)
		ret = client_fail(-errno, "cannot write %s: %s", path, strerror(errno));
	free(text);
	return ret;
}

/* In the child: stdio as asked, a clean signal mask, then microvmm. Never returns. */
static void __attribute__((noreturn))
client_exec(const struct microvmm_vm *vm, const struct microvmm_start_options *opts, pid_t parent)
{
	const char *binary = opts && opts->binary ? opts->binary : getenv("MICROVMM_BIN");
	char config[CLIENT_PATH_MAX + 16];
	int in = opts && opts->stdin_fd >= 0 ? opts->stdin_fd : open("/dev/null", O_RDONLY);
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (opts && opts->die_with_launcher &&
	    (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
		_exit(125);
	if (in < 0 || dup2(in, STDIN_FILENO) < 0 ||
	    (opts && opts->stdout_fd >= 0 && dup2(opts->stdout_fd, STDOUT_FILENO) < 0) ||
	    (opts && opts->stderr_fd >= 0 && dup2(opts->stderr_fd, STDERR_FILENO) < 0))
		_exit(125);
	client_config_path(vm, config, sizeof(config));
	if (!binary || !*binary)
		binary = "microvmm";
	execlp(binary, "microvmm", "--config", config, (char *)NULL);
	dprintf(STDERR_FILENO, "libmicrovmm: cannot run %s: %s\n", binary, strerror(errno));
	_exit(127);
}

/*
 * Whether the API answers GET /vm. A bound socket alone says little: it
 * listens before microvmm builds the VM and starts the API's thread, and a
 * connection waits in its backlog meanwhile.
 */
static bool client_api_answers(const struct microvmm_vm *vm)
{
	char *reply = NULL;
	int status = 0;
	bool ok = client_request(vm, "GET", "/vm", NULL, &status, &reply) == 0 && status == 200;

	free(reply);
	return ok;
}

static int client_status(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

/* Until the API socket takes a connection (microvmm read its config before making it). */
static int client_wait_ready(struct microvmm_vm *vm, unsigned int ready_ms)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	int wstatus;

	for (unsigned int waited = 0; waited < ready_ms; waited += 10) {
		if (client_api_answers(vm))
			return 0;
		if (waitpid(vm->pid, &wstatus, WNOHANG) == vm->pid) {
			vm->reaped = true;
			vm->exit_status = client_status(wstatus);
			return client_fail(-ECHILD,
					   "microvmm exited with status %d before its API came up "
					   "(its stderr says why)",
					   vm->exit_status);
		}
		nanosleep(&pause, NULL);
	}
	return client_fail(-ETIMEDOUT, "microvmm's API did not come up within %u ms", ready_ms);
}

int microvmm_start(const struct microvmm_config *cfg, const struct microvmm_start_options *opts,
		   struct microvmm_vm **out)
{
	struct microvmm_vm *vm = calloc(1, sizeof(*vm));
	char config[CLIENT_PATH_MAX + 16];
	pid_t parent = getpid();
	int ret;

	*out = NULL;
	if (!vm)
		return client_fail(-ENOMEM, "out of memory");
	ret = client_make_dir(vm);
	if (!ret)
		ret = client_write_config(vm, cfg);
	if (ret)
		goto fail;
	vm->pid = fork();
	if (vm->pid < 0) {
		ret = client_fail(-errno, "cannot start microvmm: %s", strerror(errno));
		goto fail;
	}
	if (vm->pid == 0)
		client_exec(vm, opts, parent);
	ret = client_wait_ready(vm,
				opts && opts->ready_ms ? opts->ready_ms : CLIENT_READY_MS_DEFAULT);
	/* Read or not, the file has done its work: it holds the --env values. */
	client_config_path(vm, config, sizeof(config));
	unlink(config);
	if (ret)
		goto fail;
	*out = vm;
	return 0;
fail:
	microvmm_vm_free(vm);
	return ret;
}

void microvmm_start_options_init(struct microvmm_start_options *opts)
{
	*opts = (struct microvmm_start_options){.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
}

pid_t microvmm_pid(const struct microvmm_vm *vm)
{
	return vm->pid;
}

const char *microvmm_api_socket(const struct microvmm_vm *vm)
{
	return vm->socket;
}

static int client_reap(struct microvmm_vm *vm, int flags, int *exit_status)
{
	int wstatus;
	pid_t got;

	if (!vm->reaped) {
		do
			got = waitpid(vm->pid, &wstatus, flags);
		while (got < 0 && errno == EINTR);
		if (got == 0)
			return -EAGAIN;
		if (got < 0)
			return client_fail(-errno, "waitpid: %s", strerror(errno));
		vm->reaped = true;
		vm->exit_status = client_status(wstatus);
		client_cleanup(vm);
	}
	if (exit_status)
		*exit_status = vm->exit_status;
	return 0;
}

int microvmm_wait(struct microvmm_vm *vm, int *exit_status)
{
	return client_reap(vm, 0, exit_status);
}

int microvmm_try_wait(struct microvmm_vm *vm, int *exit_status)
{
	return client_reap(vm, WNOHANG, exit_status);
}

void microvmm_vm_free(struct microvmm_vm *vm)
{
	if (!vm)
		return;
	/* The supervisor's death takes the VM process and its helpers with it (docs/security.md).
	 */
	if (vm->pid > 0 && !vm->reaped) {
		kill(vm->pid, SIGKILL);
		client_reap(vm, 0, NULL);
	}
	client_cleanup(vm);
	free(vm);
}
