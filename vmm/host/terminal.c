/* The user's terminal: raw mode while the guest owns it, restored on every way out. */
#include "vmm/host/terminal.h"

#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios terminal_saved;
static volatile sig_atomic_t terminal_fd = -1;

static const int terminal_fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

void terminal_restore(void)
{
	int fd = terminal_fd;

	if (fd < 0)
		return;
	terminal_fd = -1;
	tcsetattr(fd, TCSAFLUSH, &terminal_saved);
}

static void terminal_fatal(int sig)
{
	/* Restore, then die of the same signal with the default action. */
	terminal_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

bool terminal_enter_raw(int fd)
{
	struct termios raw;
	struct sigaction sa;

	if (!isatty(fd) || tcgetattr(fd, &terminal_saved) < 0)
		return false;
	raw = terminal_saved;
	cfmakeraw(&raw);
	/* Keep output post-processing off too: the guest sends its own CR LF. */
	if (tcsetattr(fd, TCSAFLUSH, &raw) < 0)
		return false;
	terminal_fd = fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = terminal_fatal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < sizeof(terminal_fatal_signals) / sizeof(int); i++)
		sigaction(terminal_fatal_signals[i], &sa, NULL);
	return true;
}
