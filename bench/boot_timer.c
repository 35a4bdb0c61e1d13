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
 * Prints one line: start_at_ms=<CLOCK_MONOTONIC at the fork> init_ms=<first MARKER> exit_ms=<exit>
 * status=<exit status> vmm_rss_kb=<peak resident memory but guest RAM> guest_rss_kb=<peak guest RAM
 * resident>, then the report lines it passed on (scan_bytes).
 */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Adds one process's memory, split into guest RAM (resident) and the VMM's own
 * (anonymous memory it allocated: heap, stacks, rings; not its binary's and
 * libraries' pages, which every VM shares), then its children's
 * (depth-limited). The VMM's own is its proportional share: per mapping,
 * Anonymous scaled by Pss/Rss. microvmm's VM process is forked from its
 * supervisor, and the copy-on-write pages both still hold would otherwise
 * count once in each (smaps has Pss_Anon only in smaps_rollup, which cannot
 * leave the guest RAM out). Guest RAM is every mapping of
 * BOOT_TIMER_GUEST_MAP bytes or more, shared memfd or anonymous alike, so
 * each VMM is measured in its own best configuration: the VMMs' own mappings
 * (binary, heap, stacks, rings) are far smaller.
 */
#define BOOT_TIMER_GUEST_MAP (64L << 20)

struct mapping_kb {
	long rss, pss, anon;
};

/* One mapping's anonymous pages, each counted 1/N when N processes share it. */
static long mapping_anon_share(const struct mapping_kb *m)
{
	if (m->rss <= 0)
		return 0;
	return (long)((double)m->anon * (double)m->pss / (double)m->rss + 0.5);
}

static void add_rss(pid_t pid, long *vmm_kb, long *guest_kb, int depth)
{
	char path[80], line[256];
	unsigned long start, end;
	long kb;
	struct mapping_kb m = {0};
	int guest = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			*vmm_kb += mapping_anon_share(&m);
			memset(&m, 0, sizeof(m));
			guest = (long)(end - start) >= BOOT_TIMER_GUEST_MAP;
		} else if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
			if (guest)
				*guest_kb += kb;
			else
				m.rss = kb;
		} else if (!guest && sscanf(line, "Pss: %ld kB", &kb) == 1)
			m.pss = kb;
		else if (!guest && sscanf(line, "Anonymous: %ld kB", &kb) == 1)
			m.anon = kb; /* what the VMM allocated; its code is shared file pages */
	}
	*vmm_kb += mapping_anon_share(&m);
	fclose(f);
	if (depth >= 4)
		return;
	/* microvmm's VM process is a child of its supervisor (docs/security.md). */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	int child;

	while (fscanf(f, "%d", &child) == 1)
		add_rss(child, vmm_kb, guest_kb, depth + 1);
	fclose(f);
}

static void sample_rss(pid_t pid, long *vmm_kb, long *guest_kb)
{
	long own = 0, guest = 0;

	add_rss(pid, &own, &guest, 0);
	if (own > *vmm_kb)
		*vmm_kb = own;
	if (guest > *guest_kb)
		*guest_kb = guest;
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
	char report[768];
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
	/*
	 * Lines passed on: "MICROVMM-REPORT key=value..." from the guest and
	 * microvmm's "boot timeline: key=value..." (--boot-timeline), each once.
	 */
	static const char *const prefixes[] = {"MICROVMM-REPORT ", "boot timeline: "};
	size_t keep = 200;

	for (size_t p = 0, found = 0; p < sizeof(prefixes) / sizeof(prefixes[0]) && found < 16;
	     found++) {
		long at = find(s->buf, len, prefixes[p]);
		size_t end, used = strlen(s->report);

		if (at < 0) {
			p++; /* no more of this one */
			continue;
		}
		for (end = (size_t)at; end < len && s->buf[end] != '\n' && s->buf[end] != '\r' &&
				       end - (size_t)at < 300;
		     end++)
			;
		if (end < len && used < sizeof(s->report))
			snprintf(s->report + used, sizeof(s->report) - used, " %.*s",
				 (int)(end - (size_t)at), s->buf + at);
		else if (end >= len) {
			keep = len - (size_t)at + 16; /* the line goes on in the next read */
			p++;
			continue;
		}
		/* Consumed: spoil the prefix so neither this scan nor a later one takes it again.
		 */
		s->buf[at - 1] = '#';
	}
	s->carry = len > keep ? keep : len;
	memmove(s->buf, s->buf + len - s->carry, s->carry);
}

int main(int argc, char **argv)
{
	struct scan s = {.init_ms = -1};
	long vmm_kb = 0, guest_kb = 0;
	unsigned int ticks = 0;
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

		/* smaps is costly to read: every 50 ms, or when output arrives. */
		if (r > 0 || ++ticks % 10 == 0)
			sample_rss(pid, &vmm_kb, &guest_kb);
		if (r <= 0)
			continue;
		ssize_t n = read(fd, s.buf + s.carry, sizeof(s.buf) - s.carry);

		if (n <= 0)
			break;
		scan_bytes(&s, (size_t)n);
	}
	waitpid(pid, &status, 0);
	/* start_at_ms: the exec's CLOCK_MONOTONIC, against microvmm's main_at_ms. */
	printf("start_at_ms=%.3f init_ms=%.1f exit_ms=%.1f status=%d vmm_rss_kb=%ld "
	       "guest_rss_kb=%ld%s\n",
	       s.start, s.init_ms, now_ms() - s.start,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), vmm_kb, guest_kb,
	       s.report);
	return 0;
}
