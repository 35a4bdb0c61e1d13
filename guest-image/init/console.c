/* Guest init: /dev/console as stdio, and a real controlling terminal for shells. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int stdio_from(int fd)
{
	int i;

	for (i = 0; i <= 2; i++) {
		if (fd != i && dup2(fd, i) < 0)
			return -errno;
	}
	if (fd > 2)
		close(fd);
	return 0;
}

int console_setup(void)
{
	int fd, err;

	fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* dup2() clears O_CLOEXEC on the copies 0..2. */
	err = stdio_from(fd);
	if (err)
		close(fd);
	return err;
}

/*
 * /dev/console never becomes a controlling terminal on open (tty_open()
 * treats it as O_NOCTTY), so a shell on it has no job control. The device
 * behind it is the last name in /sys/class/tty/console/active (sysfs ABI
 * "sysfs-tty"); open that one instead, as busybox's cttyhack does.
 */
static int console_active_path(char *path, size_t size)
{
	char buf[128];
	char *name;
	ssize_t n;
	int fd, len;

	fd = open("/sys/class/tty/console/active", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	name = strrchr(buf, ' ');
	name = name ? name + 1 : buf;
	if (!*name || strchr(name, '/'))
		return -ENOENT;
	len = snprintf(path, size, "/dev/%s", name);
	if (len < 0 || (size_t)len >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int open_ctty(const char *path)
{
	int fd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TIOCSCTTY, 0) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int console_take_ctty(void)
{
	char path[64];
	int fd = -ENOENT;

	if (setsid() < 0)
		return -errno;
	if (console_active_path(path, sizeof(path)) == 0)
		fd = open_ctty(path);
	if (fd < 0)
		fd = open_ctty("/dev/console");
	if (fd < 0)
		return fd;
	return stdio_from(fd);
}

int console_open_ctty(const char *path)
{
	int fd = open_ctty(path);

	if (fd < 0)
		return fd;
	return stdio_from(fd);
}
