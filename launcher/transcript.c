/* The agent's transcript and shell history: from the guest's output share into the audit trail. */
#include "launcher/transcript.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "launcher/audit.h"
#include "launcher/fdio.h"

struct transcript_out {
	int fd;
	int err;
};

static int transcript_emit(void *ctx, const char *data, size_t len)
{
	struct transcript_out *o = ctx;

	if (!o->err)
		o->err = fdio_write_all(o->fd, data, len);
	return o->err;
}

/* fstree_copy_fn: at most limit bytes of in_fd into out_fd, secrets redacted. */
static int64_t transcript_copy(void *ctx, int in_fd, int out_fd, uint64_t limit)
{
	struct transcript_out o = {.fd = out_fd};
	struct redactor r;
	char buf[65536];
	uint64_t total = 0;
	int ret = redactor_init(&r, ctx);

	while (!ret && total < limit) {
		size_t want = limit - total < sizeof(buf) ? (size_t)(limit - total) : sizeof(buf);
		ssize_t n = read(in_fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		total += (uint64_t)n;
		ret = redact_feed(&r, buf, (size_t)n, transcript_emit, &o);
	}
	if (!ret)
		ret = redact_flush(&r, transcript_emit, &o);
	redactor_free(&r);
	explicit_bzero(buf, sizeof(buf));
	/* A file that grew past the limit counts as longer than it: truncated. */
	if (!ret && total == limit) {
		char probe;

		if (read(in_fd, &probe, 1) == 1)
			total++;
	}
	return ret ? ret : (int64_t)total;
}

static bool transcript_empty(int dir_fd)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	bool empty = true;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	while (empty && (e = readdir(d)) != NULL)
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

int transcript_save(int src_fd, int audit_fd, const char *name, const struct redact_set *set,
		    struct fstree_stats *st)
{
	const struct fstree_limits lim = {
	    .max_depth = TRANSCRIPT_MAX_DEPTH,
	    .max_files = TRANSCRIPT_MAX_FILES,
	    .max_bytes = TRANSCRIPT_MAX_BYTES,
	    .max_file_bytes = TRANSCRIPT_MAX_FILE_BYTES,
	};
	int dst, ret;

	memset(st, 0, sizeof(*st));
	if (transcript_empty(src_fd))
		return 0;
	ret = audit_mkdir(audit_fd, name, false, &dst);
	if (ret)
		return ret;
	/* The redact_set is only read: the cast drops const for the callback's void *. */
	ret = fstree_copy(src_fd, dst, &lim, transcript_copy, (void *)set, st);
	close(dst);
	return ret;
}
