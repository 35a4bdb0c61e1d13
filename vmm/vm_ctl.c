/* The control channel (port microvmm.ctl): the guest init reports the command's fate, microvmm
 * forwards signals. */
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/exit_codes.h"
#include "vmm/log.h"
#include "vmm/timeline.h"

/*
 * Guest to host, one line each:
 *   ready          the command is about to start
 *   exit N         it exited with status N (0..255)
 *   signal N       it was killed by signal N (1..64)
 *   error N TEXT   it could not start: N is 126 (not executable), 127 (not found)
 *                  or 125 (the guest side of microvmm failed, e.g. a share did not mount)
 * Host to guest:
 *   signal N       deliver signal N to the command's process group
 */
static struct log_ratelimit vm_ctl_log;

/*
 * The init's "error N TEXT" reaches the user's terminal: TEXT is the
 * guest's, so it is escaped, cut and counted (a hostile guest could
 * otherwise send escape sequences, lines that pass for microvmm's own, or
 * a flood).
 */
#define VM_CTL_ERROR_TEXT_MAX  200
#define VM_CTL_ERROR_LINES_MAX 10
static unsigned int vm_ctl_error_lines;

static void vm_ctl_show_error(const char *text)
{
	char safe[VM_CTL_ERROR_TEXT_MAX * 4 + 8];

	if (vm_ctl_error_lines >= VM_CTL_ERROR_LINES_MAX)
		return;
	if (++vm_ctl_error_lines == VM_CTL_ERROR_LINES_MAX)
		log_warn("ctl", "further error reports from the guest are not shown");
	log_escape_guest_text(safe, sizeof(safe), text, VM_CTL_ERROR_TEXT_MAX);
	log_user_error("the guest reports: %s", safe);
}

static bool vm_ctl_number(const char *text, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || (*end && *end != ' ') || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void vm_ctl_set_status(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->ctl_lock);
	/* First report wins: a guest cannot rewrite the status after the fact. */
	if (vm->cmd_state != VM_CMD_EXITED) {
		vm->cmd_state = VM_CMD_EXITED;
		vm->cmd_status = status;
	}
	pthread_mutex_unlock(&vm->ctl_lock);
}

/*
 * GUEST: `line` is a NUL-terminated private copy; every number is
 * range-checked. "ready" also stamps the timeline's command stage, a time
 * the guest chooses (first report kept) and that only its own report shows.
 */
static void vm_ctl_line(struct vm *vm, const char *line)
{
	long v;

	if (!strcmp(line, "ready")) {
		timeline_mark(TIMELINE_COMMAND);
		pthread_mutex_lock(&vm->ctl_lock);
		if (vm->cmd_state == VM_CMD_NONE)
			vm->cmd_state = VM_CMD_RUNNING;
		pthread_mutex_unlock(&vm->ctl_lock);
		vm_api_note_state(vm);
	} else if (!strncmp(line, "exit ", 5) && vm_ctl_number(line + 5, 0, 255, &v)) {
		vm_ctl_set_status(vm, (int)v);
	} else if (!strncmp(line, "signal ", 7) && vm_ctl_number(line + 7, 1, 64, &v)) {
		vm_ctl_set_status(vm, EXIT_SIGNAL_BASE + (int)v);
	} else if (!strncmp(line, "error ", 6) && vm_ctl_number(line + 6, 125, 127, &v)) {
		const char *text = strchr(line + 6, ' ');

		vm_ctl_show_error(text ? text + 1 : "the command could not be started");
		vm_ctl_set_status(vm, (int)v);
	} else {
		log_guest(&vm_ctl_log, "ctl", "ignoring an unknown control message");
	}
}

void vm_ctl_input(void *ctx, const uint8_t *data, size_t len)
{
	struct vm *vm = ctx;

	/* Loop thread only: ctl_line/ctl_len are not shared. */
	for (size_t i = 0; i < len; i++) {
		char ch = (char)data[i];

		if (ch == '\n') {
			vm->ctl_line[vm->ctl_len] = '\0';
			vm_ctl_line(vm, vm->ctl_line);
			vm->ctl_len = 0;
		} else if (vm->ctl_len < sizeof(vm->ctl_line) - 1 && ch != '\0') {
			vm->ctl_line[vm->ctl_len++] = ch;
		} else {
			/* Over-long or NUL-carrying lines are cut; the rest of the line is junk. */
			vm->ctl_len = sizeof(vm->ctl_line) - 1;
		}
	}
}

int vm_ctl_forward_signal(struct vm *vm, int sig)
{
	char msg[32];
	int n;

	pthread_mutex_lock(&vm->ctl_lock);
	bool running = vm->cmd_state == VM_CMD_RUNNING;

	pthread_mutex_unlock(&vm->ctl_lock);
	if (!running || !vm->console_ready)
		return -ESRCH;
	n = snprintf(msg, sizeof(msg), "signal %d\n", sig);
	return virtio_console_send(&vm->console, VM_PORT_CTL, msg, (size_t)n);
}
