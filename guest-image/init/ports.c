/* Guest init: finding the virtio console ports microvmm names
 * (/sys/class/virtio-ports/<port>/name). */
#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PORTS_DIR     "/sys/class/virtio-ports"
#define PORTS_POLL_NS (5 * 1000 * 1000)

static int ports_read_name(const char *port, char *name, size_t size)
{
	char path[300];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), PORTS_DIR "/%s/name", port);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, name, size - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	return 0;
}

/* One scan: the /dev path of the port called `want`, or -ENOENT. */
static int ports_scan(const char *want, char *dev, size_t size)
{
	DIR *dir = opendir(PORTS_DIR);
	struct dirent *e;
	int err = -ENOENT;

	if (!dir)
		return -ENOENT;
	while ((e = readdir(dir))) {
		char name[128];

		if (e->d_name[0] == '.' || ports_read_name(e->d_name, name, sizeof(name)))
			continue;
		if (strcmp(name, want))
			continue;
		snprintf(dev, size, "/dev/%s", e->d_name);
		err = access(dev, F_OK) == 0 ? 0 : -ENOENT;
		break;
	}
	closedir(dir);
	return err;
}

static void ports_sleep(void)
{
	struct timespec ts = {.tv_nsec = PORTS_POLL_NS};

	nanosleep(&ts, NULL);
}

int ports_open(const char *want, int flags, unsigned int timeout_ms)
{
	char dev[300];

	/* Ports appear asynchronously after virtio_console probes: poll for them. */
	for (unsigned int waited = 0;; waited += PORTS_POLL_NS / 1000000) {
		if (ports_scan(want, dev, sizeof(dev)) == 0) {
			int fd = open(dev, flags | O_CLOEXEC);

			if (fd >= 0)
				return fd;
		}
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		ports_sleep();
	}
}

int ports_wait_path(const char *path, unsigned int timeout_ms)
{
	for (unsigned int waited = 0; access(path, F_OK) != 0; waited += PORTS_POLL_NS / 1000000) {
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		ports_sleep();
	}
	return 0;
}
