/* Whole reads and writes on file descriptors, retried on EINTR and short transfers. */
#include "launcher/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int fdio_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fdio_read_file(int dir_fd, const char *path, bool follow, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int ret = 0, fd = openat(dir_fd, path,
				 O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out_close;
	}
	buf = malloc(max + 2);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	/* Read one byte past max: a file that grew since fstat is still caught. */
	while (got <= max) {
		ssize_t n = read(fd, buf + got, max + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out_free;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > max) {
		ret = -EFBIG;
		goto out_free;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	close(fd);
	return 0;
out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}
