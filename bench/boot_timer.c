/* bench/boot_timer: run a VMM, time when a marker line appears and when it exits, and the RSS of
 * it and its child processes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * usage: boot_timer MARKER -- COMMAND [ARG]...
 * Prints one line: init_ms=<first MARKER> exit_ms=<exit> status=<exit status>
 * vmm_rss_kb=<peak RssAnon+RssFile> guest_rss_kb=<peak RssShmem>. Guest RAM
 * shared from a memfd is RssShmem, so RssAnon+RssFile is the VMM's own.
 */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Adds one process's RssAnon+RssFile and RssShmem, then its children's (depth-limited). */
static void add_rss(pid_t pid, long *anon_file, long *shmem_total, int depth)
{
	char path[80], line[256];
	long anon = 0, file = 0, shmem = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "RssAnon: %ld", &anon);
		sscanf(line, "RssFile: %ld", &file);
		sscanf(line, "RssShmem: %ld", &shmem);
	}
	fclose(f);
	*anon_file += anon + file;
	*shmem_total += shmem;
	if (depth >= 4)
		return;
	/* microvmm's VM process is a child of its supervisor (docs/security.md). */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	int child;

	while (fscanf(f, "%d", &child) == 1)
		add_rss(child, anon_file, shmem_total, depth + 1);
	fclose(f);
}

static void sample_rss(pid_t pid, long *vmm_kb, long *shmem_kb)
{
	long anon_file = 0, shmem = 0;

	add_rss(pid, &anon_file, &shmem, 0);
	if (anon_file > *vmm_kb)
		*vmm_kb = anon_file;
	if (shmem > *shmem_kb)
		*shmem_kb = shmem;
}

/* Binary-safe search; returns the offset after the match or -1. */
static long find(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n && i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return (long)(i + n);
	return -1;
}

/* What the scan of the command's output found so far. */
struct scan {
	const char *marker;
	double start, init_ms;
	char report[128];
	/* The last bytes of the previous read, so a marker split across reads is found. */
	char buf[256 + 65536];
	size_t carry;
};

/* Runs argv with its stdout and stderr into a pipe; returns the pipe's read end or -1. */
static int spawn(char **argv, pid_t *pid)
{
	int out[2];

	if (pipe(out) < 0)
		return -1;
	*pid = fork();
	if (*pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	return out[0];
}

/* Looks at the `n` bytes just read after the carried ones. */
static void scan_bytes(struct scan *s, size_t n)
{
	size_t len = s->carry + n;

	if (s->init_ms < 0 && find(s->buf, len, s->marker) >= 0)
		s->init_ms = now_ms() - s->start;
	/* A "MICROVMM-REPORT key=value" line from the guest is passed on. */
	long at = find(s->buf, len, "MICROVMM-REPORT ");

	size_t keep = 200;

	if (at >= 0) {
		size_t end = (size_t)at;

		while (end < len && s->buf[end] != '\n' && s->buf[end] != '\r' && end - at < 100)
			end++;
		if (end < len)
			snprintf(s->report, sizeof(s->report), " %.*s", (int)(end - at),
				 s->buf + at);
		else
			keep = len - (size_t)at + 16; /* the line goes on in the next read */
	}
	s->carry = len > keep ? keep : len;
	memmove(s->buf, s->buf + len - s->carry, s->carry);
}

int main(int argc, char **argv)
{
	struct scan s = {.init_ms = -1};
	long vmm_kb = 0, shmem_kb = 0;
	int status, fd;
	pid_t pid;

	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: boot_timer MARKER -- COMMAND [ARG]...\n");
		return 2;
	}
	s.marker = argv[1];
	s.start = now_ms();
	fd = spawn(&argv[3], &pid);
	if (fd < 0)
		return 2;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	for (;;) {
		int r = poll(&pfd, 1, 5);

		sample_rss(pid, &vmm_kb, &shmem_kb);
		if (r <= 0)
			continue;
		ssize_t n = read(fd, s.buf + s.carry, sizeof(s.buf) - s.carry);

		if (n <= 0)
			break;
		scan_bytes(&s, (size_t)n);
	}
	waitpid(pid, &status, 0);
	printf("init_ms=%.1f exit_ms=%.1f status=%d vmm_rss_kb=%ld guest_rss_kb=%ld%s\n", s.init_ms,
	       now_ms() - s.start, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       vmm_kb, shmem_kb, s.report);
	return 0;
}
