/* The VM process's memory limit (memory_limit.h). */
#include "vmm/sandbox/memory_limit.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

uint64_t memory_limit_for(uint64_t mapped, unsigned int threads)
{
	/* Round up to a MiB so the figure in the log and docs reads plainly. */
	uint64_t limit = mapped + MEMORY_LIMIT_HEADROOM + MEMORY_LIMIT_PER_THREAD * threads;

	return (limit + (1ULL << 20) - 1) & ~((1ULL << 20) - 1);
}

/* The process's virtual size in bytes (statm's first field, in pages). */
static int memory_limit_mapped(uint64_t *bytes)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long long pages;
	long page = sysconf(_SC_PAGESIZE);
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%llu", &pages) == 1;
	fclose(f);
	if (!ok || page <= 0)
		return -EIO;
	*bytes = (uint64_t)pages * (uint64_t)page;
	return 0;
}

int memory_limit_apply(unsigned int threads)
{
	uint64_t mapped = 0;
	struct rlimit lim;
	int ret = memory_limit_mapped(&mapped);

	if (ret)
		return ret;
	lim.rlim_cur = lim.rlim_max = (rlim_t)memory_limit_for(mapped, threads);
	return setrlimit(RLIMIT_AS, &lim) ? -errno : 0;
}
