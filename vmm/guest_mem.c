/*
 * Guest RAM: one mapping registered with KVM as one memslot per region: a
 * sealed memfd mapped shared when a vhost-user back-end must map the same
 * pages, else private anonymous memory, which transparent huge pages back
 * (docs/benchmarks.md: 4 KiB pages cost a boot twice the time in a nested
 * host).
 */
#include "vmm/guest_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static int guest_mem_check_host(uint64_t size, char *err, size_t err_len)
{
	struct sysinfo info;

	if (sysinfo(&info) != 0)
		return 0; /* cannot tell: let the allocation decide */
	uint64_t host = ((uint64_t)info.totalram + info.totalswap) * info.mem_unit;

	if (size > host) {
		snprintf(err, err_len,
			 "--mem %lluM is more than this host has (%lluM of RAM and swap): give "
			 "a smaller --mem",
			 (unsigned long long)(size >> 20), (unsigned long long)(host >> 20));
		return -ENOMEM;
	}
	return 0;
}

static int guest_mem_map_failed(const struct guest_mem *mem, char *err, size_t err_len)
{
	int ret = -errno;

	snprintf(err, err_len, "cannot map %lluM of guest memory: %s: give a smaller --mem",
		 (unsigned long long)(mem->size >> 20), strerror(-ret));
	return ret;
}

static int guest_mem_memfd(struct guest_mem *mem, char *err, size_t err_len)
{
	int ret;

	mem->fd = memfd_create("microvmm-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem->fd < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot create guest memory: memfd_create: %s",
			 strerror(-ret));
		return ret;
	}
	if (ftruncate(mem->fd, (off_t)mem->size) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot size guest memory to %lluM: %s",
			 (unsigned long long)(mem->size >> 20), strerror(-ret));
		return ret;
	}
	/* The size never changes again: a back-end can trust its mapping. */
	if (fcntl(mem->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = -errno;
		snprintf(err, err_len, "cannot seal guest memory: %s", strerror(-ret));
		return ret;
	}
	void *p =
	    mmap(NULL, mem->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mem->fd, 0);
	if (p == MAP_FAILED)
		return guest_mem_map_failed(mem, err, err_len);
	mem->base = p;
	return 0;
}

/*
 * Private anonymous memory at a 2 MiB-aligned address: KVM maps a huge page
 * into the guest only where host address and guest address agree modulo
 * 2 MiB, and every region starts at a 2 MiB-aligned offset (guest_ram.h).
 */
static int guest_mem_anonymous(struct guest_mem *mem, char *err, size_t err_len)
{
	size_t span = mem->size + GUEST_MEM_HUGE_PAGE;
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return guest_mem_map_failed(mem, err, err_len);
	uint8_t *aligned = (uint8_t *)(((uintptr_t)p + GUEST_MEM_HUGE_PAGE - 1) &
				       ~(uintptr_t)(GUEST_MEM_HUGE_PAGE - 1));

	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	if (aligned + mem->size < p + span)
		munmap(aligned + mem->size, (size_t)(p + span - (aligned + mem->size)));
	mem->base = aligned;
	return 0;
}

static int guest_mem_map(struct guest_mem *mem, const struct guest_mem_options *opts, char *err,
			 size_t err_len)
{
	int ret = opts->shared ? guest_mem_memfd(mem, err, err_len)
			       : guest_mem_anonymous(mem, err, err_len);

	if (ret)
		return ret;
	/* Guest RAM in a core dump of microvmm would leak guest secrets. */
	madvise(mem->base, mem->size, MADV_DONTDUMP);
	/*
	 * Huge pages unless asked not to: for anonymous memory the host's
	 * transparent_hugepage/enabled must be always or madvise (Debian's
	 * default is always); for the memfd, shmem_enabled must be advise or
	 * always (its default, never, leaves it 4 KiB pages; docs/microvmm.1).
	 */
	madvise(mem->base, mem->size, opts->huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return 0;
}

static int guest_mem_register(struct guest_mem *mem, int vm_fd, char *err, size_t err_len)
{
	uint64_t offset = 0;

	for (unsigned int i = 0; i < mem->ram.count; i++) {
		struct guest_ram_region *r = &mem->ram.regions[i];
		struct kvm_userspace_memory_region slot = {
		    .slot = i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uint64_t)(uintptr_t)(mem->base + offset),
		};

		r->host = mem->base + offset;
		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			int ret = -errno;

			snprintf(err, err_len, "KVM_SET_USER_MEMORY_REGION failed for %lluM: %s",
				 (unsigned long long)(r->size >> 20), strerror(-ret));
			return ret;
		}
		offset += r->size;
	}
	return 0;
}

int guest_mem_create(struct guest_mem *mem, int vm_fd, uint64_t size,
		     const struct guest_mem_options *opts, char *err, size_t err_len)
{
	int ret;

	memset(mem, 0, sizeof(*mem));
	mem->fd = -1;
	mem->size = size;
	ret = guest_ram_layout(size, &mem->ram);
	if (ret) {
		snprintf(err, err_len, "guest memory size %llu is not a multiple of 4K",
			 (unsigned long long)size);
		return ret;
	}
	ret = guest_mem_check_host(size, err, err_len);
	if (!ret)
		ret = guest_mem_map(mem, opts, err, err_len);
	if (!ret)
		ret = guest_mem_register(mem, vm_fd, err, err_len);
	return ret;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size); /* the anonymous mapping was trimmed to this */
	if (mem->fd >= 0)
		close(mem->fd);
	mem->base = NULL;
	mem->fd = -1;
}
