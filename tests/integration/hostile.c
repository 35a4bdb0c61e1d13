/*
 * hostile: what a root program in the guest can do to microvmm's virtio-pci
 * devices and I/O space. For each virtio-pci function (sysfs vendor 0x1af4)
 * except the console (it carries microvmm's control channel: the run's exit
 * status) and virtio-fs (it serves the shares the test reads afterwards),
 * unless --all: unbinds its driver, maps BAR0 (resource0, O_SYNC) and, on
 * one thread per CPU (pinned with sched_setaffinity), for --seconds:
 *  - device_status sequences, DRIVER_OK -> 0x0b -> DRIVER_OK among them,
 *    and concurrent resets from several vCPUs;
 *  - rings programmed at guest RAM with descriptor loops, out-of-range and
 *    overlapping addresses, huge lengths, avail index jumps, descriptors
 *    rewritten while in flight, status flips right after a notify;
 *  - MSI-X table entries and random writes anywhere in BAR0;
 *  - BAR0 moved (PCI config through sysfs) over guest RAM and over another
 *    device's BAR0, then back.
 * Then a read sweep of all I/O ports and of the PCI hole (/dev/mem), and a
 * write of 0 to every I/O port except the power and reset ports
 * (devices/legacy/power.c: 0x64, 0x505, 0x600-0x602; and 0xcf9, the
 * chipset reset port of real machines).
 *
 * Usage: hostile [--seconds N] [--all] [--no-ports] [--hole-stride BYTES]
 * Static (the guest has no libraries). Prints "hostile: ..." lines with
 * counts; exits 0 unless it found no device to attack or could not map one.
 * tests/integration/hostile.sh runs it and checks microvmm afterwards.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVS     16
#define MAX_THREADS  8
#define BAR_SIZE     0x8000
#define NOTIFY_OFF   0x3000
#define MSIX_OFF     0x4000
#define DMA_PAGES    16
#define PAGE	     4096
#define ID_CONSOLE   0x1043
#define ID_FS	     0x105a
#define ST_ACK	     0x01
#define ST_DRIVER    0x02
#define ST_DRIVER_OK 0x04
#define ST_FEAT_OK   0x08

/* struct virtio_pci_common_cfg (virtio 1.2, 4.1.4.3) offsets. */
#define C_DFSEL	  0x00
#define C_GFSEL	  0x08
#define C_GF	  0x0c
#define C_MSIX	  0x10
#define C_NUMQ	  0x12
#define C_STATUS  0x14
#define C_QSEL	  0x16
#define C_QSIZE	  0x18
#define C_QMSIX	  0x1a
#define C_QENABLE 0x1c
#define C_QDESC	  0x20
#define C_QDRV	  0x28
#define C_QDEV	  0x30

struct dev {
	char bdf[32];
	unsigned int id;
	volatile uint8_t *bar;
	uint64_t bar_addr; /* guest-physical, from config space */
	uint32_t bar_lo, bar_hi;
};

static struct dev devs[MAX_DEVS];
static int ndevs;
static volatile uint8_t *dma;	     /* DMA_PAGES locked pages */
static uint64_t dma_phys[DMA_PAGES]; /* their guest-physical addresses */
static volatile int stop;
static int seconds = 20, all, ports = 1;
static unsigned long hole_stride = 0x10000;
static unsigned long ops[MAX_THREADS], bar_moves;

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void w8(struct dev *d, unsigned int off, uint8_t v)
{
	*(volatile uint8_t *)(d->bar + off) = v;
}
static void w16(struct dev *d, unsigned int off, uint16_t v)
{
	*(volatile uint16_t *)(d->bar + off) = v;
}
static void w32(struct dev *d, unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(d->bar + off) = v;
}
static void w64(struct dev *d, unsigned int off, uint64_t v)
{
	w32(d, off, (uint32_t)v);
	w32(d, off + 4, (uint32_t)(v >> 32));
}
static uint16_t r16(struct dev *d, unsigned int off)
{
	return *(volatile uint16_t *)(d->bar + off);
}

static int sysfs_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -1 : 0;
}

static unsigned long sysfs_hex(const char *dir, const char *name)
{
	char p[512], buf[32] = "";
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtoul(buf, NULL, 16);
}

static int cfg_rw(struct dev *d, unsigned int off, void *buf, size_t len, int wr)
{
	char p[256];
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/config", d->bdf);
	int fd = open(p, wr ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static void set_bar(struct dev *d, uint64_t addr)
{
	uint32_t lo = (uint32_t)addr | (d->bar_lo & 0xf), hi = (uint32_t)(addr >> 32);
	cfg_rw(d, 0x10, &lo, 4, 1);
	if ((d->bar_lo & 0x6) == 0x4)
		cfg_rw(d, 0x14, &hi, 4, 1);
}

static int open_dev(const char *name)
{
	char dir[300], p[400];
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", name);
	if (sysfs_hex(dir, "vendor") != 0x1af4 || ndevs == MAX_DEVS)
		return 0;
	unsigned int id = (unsigned int)sysfs_hex(dir, "device");
	if (!all && (id == ID_CONSOLE || id == ID_FS)) {
		printf("hostile: %s device 0x%x left alone\n", name, id);
		return 0;
	}
	struct dev *d = &devs[ndevs];
	snprintf(d->bdf, sizeof(d->bdf), "%s", name);
	d->id = id;
	snprintf(p, sizeof(p), "%s/driver/unbind", dir);
	if (access(p, W_OK) == 0 && sysfs_write(p, name) < 0)
		printf("hostile: %s: unbind failed\n", name);
	uint16_t cmd = 0;
	cfg_rw(d, 0x04, &cmd, 2, 0);
	cmd |= 0x6; /* memory space and bus master: unbinding may clear them */
	cfg_rw(d, 0x04, &cmd, 2, 1);
	cfg_rw(d, 0x10, &d->bar_lo, 4, 0);
	cfg_rw(d, 0x14, &d->bar_hi, 4, 0);
	d->bar_addr =
	    (d->bar_lo & ~0xfULL) | ((d->bar_lo & 0x6) == 0x4 ? (uint64_t)d->bar_hi << 32 : 0);
	snprintf(p, sizeof(p), "%s/resource0", dir);
	int fd = open(p, O_RDWR | O_SYNC);
	void *m =
	    fd < 0 ? MAP_FAILED : mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fd >= 0)
		close(fd);
	if (m == MAP_FAILED) {
		printf("hostile: %s: cannot map resource0\n", name);
		return -1;
	}
	d->bar = m;
	printf("hostile: attacking %s device 0x%x bar0 0x%llx queues %u\n", name, id,
	       (unsigned long long)d->bar_addr, r16(d, C_NUMQ));
	ndevs++;
	return 0;
}

static int setup_dma(void)
{
	void *m = mmap(NULL, DMA_PAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (m == MAP_FAILED || fd < 0)
		return -1;
	dma = m;
	for (int i = 0; i < DMA_PAGES; i++) {
		uint64_t e = 0;
		dma[i * PAGE] = 1;
		if (pread(fd, &e, 8, ((uintptr_t)m / PAGE + i) * 8) != 8)
			e = 0;
		dma_phys[i] = (e & ((1ULL << 55) - 1)) * PAGE;
	}
	close(fd);
	return dma_phys[0] ? 0 : -1;
}

/* An address the device will be told to use: ours, overlapping, or nonsense. */
static uint64_t pick_addr(uint32_t *s)
{
	static const uint64_t bad[] = {0,
				       0xfff,
				       0x9fc00,
				       0xbffff000,
				       0xc0000000,
				       0xfee00000,
				       0xfffffffffffff000ULL,
				       0x7fffffffffffULL,
				       0x100000000000ULL};
	uint32_t r = rnd(s) % 8;
	if (r < 5)
		return dma_phys[rnd(s) % DMA_PAGES] + (r == 4 ? rnd(s) % PAGE : 0);
	if (r == 5)
		return devs[rnd(s) % ndevs].bar_addr + (rnd(s) % BAR_SIZE);
	if (r == 6)
		return ((uint64_t)rnd(s) << 32 | rnd(s)) & ~0xfULL;
	return bad[rnd(s) % (sizeof(bad) / sizeof(bad[0]))];
}

/* Descriptors (16 bytes each) over all our pages: loops, huge lengths, bad addresses. */
static void scribble_rings(uint32_t *s)
{
	unsigned int page = rnd(s) % DMA_PAGES, mode = rnd(s) % 5;
	volatile uint8_t *p = dma + page * PAGE;
	for (unsigned int i = 0; i < PAGE / 16; i++) {
		volatile uint64_t *a = (volatile uint64_t *)(p + i * 16);
		volatile uint32_t *len = (volatile uint32_t *)(p + i * 16 + 8);
		volatile uint16_t *fl = (volatile uint16_t *)(p + i * 16 + 12);
		volatile uint16_t *next = (volatile uint16_t *)(p + i * 16 + 14);
		*a = mode == 0 ? dma_phys[rnd(s) % DMA_PAGES] : pick_addr(s);
		*len = mode == 1 ? 0xffffffffu : mode == 2 ? rnd(s) : 64;
		*fl = (uint16_t)(mode == 3 ? rnd(s) : 1 | (rnd(s) & 6)); /* NEXT, WRITE, INDIRECT */
		*next = (uint16_t)(mode == 0 ? i : mode == 4 ? (i + 1) % 4 : rnd(s));
	}
	/* The avail/used index fields at the start of some pages jump. */
	*(volatile uint16_t *)(dma + (rnd(s) % DMA_PAGES) * PAGE + 2) = (uint16_t)rnd(s);
}

static void program_queue(struct dev *d, uint32_t *s)
{
	static const uint16_t sizes[] = {0, 1, 2, 3, 64, 256, 1024, 0x8000, 0xffff};
	uint16_t nq = r16(d, C_NUMQ);
	w16(d, C_QSEL, (uint16_t)(rnd(s) % (nq + 3u)));
	w16(d, C_QSIZE, sizes[rnd(s) % (sizeof(sizes) / sizeof(sizes[0]))]);
	uint64_t same = pick_addr(s);
	int overlap = rnd(s) % 3 == 0;
	w64(d, C_QDESC, overlap ? same : pick_addr(s));
	w64(d, C_QDRV, overlap ? same : pick_addr(s));
	w64(d, C_QDEV, overlap ? same : pick_addr(s));
	w16(d, C_QMSIX, (uint16_t)(rnd(s) % 4 ? rnd(s) % 4 : rnd(s)));
	w16(d, C_QENABLE, (uint16_t)(rnd(s) % 4 ? 1 : rnd(s)));
}

static void notify_all(struct dev *d, uint32_t *s, int n)
{
	for (int i = 0; i < n; i++)
		w16(d, NOTIFY_OFF + (rnd(s) % 8) * 4, (uint16_t)rnd(s));
}

static void bring_up(struct dev *d, uint32_t *s)
{
	w8(d, C_STATUS, 0);
	w8(d, C_STATUS, ST_ACK | ST_DRIVER);
	/* VERSION_1 (bit 32) and whatever else, so that FEATURES_OK sticks. */
	w32(d, C_GFSEL, 0);
	w32(d, C_GF, rnd(s));
	w32(d, C_GFSEL, 1);
	w32(d, C_GF, rnd(s) % 4 ? 1 : rnd(s));
	w8(d, C_STATUS, ST_ACK | ST_DRIVER | ST_FEAT_OK);
	for (int i = 0; i < 3; i++)
		program_queue(d, s);
	w8(d, C_STATUS, ST_ACK | ST_DRIVER | ST_FEAT_OK | ST_DRIVER_OK);
	notify_all(d, s, 8);
}

static void one_op(uint32_t *s)
{
	struct dev *d = &devs[rnd(s) % ndevs];
	switch (rnd(s) % 10) {
	case 0: /* the status flip: DRIVER_OK, 0x0b (DRIVER_OK cleared, no reset), DRIVER_OK */
		w8(d, C_STATUS, 0x0f);
		w8(d, C_STATUS, 0x0b);
		w8(d, C_STATUS, 0x0f);
		notify_all(d, s, 4);
		break;
	case 1: /* resets, concurrent with the other threads' */
		w8(d, C_STATUS, 0);
		w8(d, C_STATUS, 0);
		break;
	case 2: /* a proper-looking bring-up with nonsense rings */
		bring_up(d, s);
		break;
	case 3: /* descriptors rewritten while the device may be walking them */
		for (int i = 0; i < 4; i++) {
			scribble_rings(s);
			notify_all(d, s, 2);
		}
		break;
	case 4: /* status flipped mid-request */
		notify_all(d, s, 2);
		w8(d, C_STATUS, (uint8_t)rnd(s));
		notify_all(d, s, 2);
		break;
	case 5: /* MSI-X entries anywhere, vectors anywhere */
		w32(d, MSIX_OFF + (rnd(s) % 0x2000 & ~3u), rnd(s));
		w16(d, C_MSIX, (uint16_t)rnd(s));
		break;
	case 6: { /* any width at any offset */
		unsigned int off = rnd(s) % BAR_SIZE;
		if (off % 4 == 0)
			w32(d, off, rnd(s));
		else
			w8(d, off, (uint8_t)rnd(s));
		break;
	}
	case 7:
		program_queue(d, s);
		break;
	case 8:
		w32(d, C_DFSEL, rnd(s));
		w32(d, C_GFSEL, rnd(s));
		w32(d, C_GF, rnd(s));
		break;
	default:
		scribble_rings(s);
		notify_all(d, s, 1);
	}
}

/* BAR0 over guest RAM (one of our pages), over another device's BAR0, then home. */
static void move_bars(uint32_t *s)
{
	struct dev *d = &devs[rnd(s) % ndevs], *o = &devs[rnd(s) % ndevs];
	set_bar(d, rnd(s) % 2 ? dma_phys[0] & ~(uint64_t)(BAR_SIZE - 1) : o->bar_addr);
	usleep(2000);
	set_bar(d, d->bar_addr);
	bar_moves++;
}

static void *worker(void *arg)
{
	long n = (long)arg;
	uint32_t s = 0x9e3779b9u * (uint32_t)(n + 1);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)(n % sysconf(_SC_NPROCESSORS_ONLN)), &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!stop) {
		if (n == 0 && rnd(&s) % 64 == 0)
			move_bars(&s);
		else
			one_op(&s);
		ops[n]++;
	}
	return NULL;
}

static int skip_write(unsigned int port)
{
	return port == 0x64 || port == 0x505 || (port >= 0x600 && port <= 0x602) || port == 0xcf9;
}

static void port_sweep(void)
{
	unsigned long x = 0;
	if (iopl(3) < 0) {
		printf("hostile: iopl failed, no port sweep\n");
		return;
	}
	for (unsigned int p = 0; p < 0x10000; p++)
		x += inb((unsigned short)p);
	printf("hostile: read 65536 ports (sum %lu)\n", x);
	/* The address port first, so that data-port writes hit no function's config. */
	outl(0, 0xcf8);
	unsigned long n = 0;
	for (unsigned int p = 0; p < 0x10000; p++)
		if (!skip_write(p)) {
			if (p == 0xcfc)
				outl(0, 0xcf8);
			outb(0, (unsigned short)p);
			n++;
		}
	outl(0, 0xcf8);
	printf("hostile: wrote %lu ports\n", n);
}

static void hole_sweep(void)
{
	const uint64_t start = 0xc0000000ULL, end = 0xfec00000ULL;
	int fd = open("/dev/mem", O_RDONLY | O_SYNC);
	unsigned long n = 0, x = 0;
	for (uint64_t a = start; fd >= 0 && a < end; a += 0x100000) {
		volatile uint8_t *m = mmap(NULL, 0x100000, PROT_READ, MAP_SHARED, fd, (off_t)a);
		if (m == MAP_FAILED)
			continue;
		for (unsigned long o = 0; o < 0x100000; o += hole_stride, n++)
			x += *(volatile uint32_t *)(m + o);
		munmap((void *)m, 0x100000);
	}
	if (fd >= 0)
		close(fd);
	printf("hostile: read %lu words of the PCI hole (sum %lu)%s\n", n, x,
	       fd < 0 ? " (no /dev/mem)" : "");
}

static void restore(void)
{
	for (int i = 0; i < ndevs; i++) {
		set_bar(&devs[i], devs[i].bar_addr);
		w8(&devs[i], C_STATUS, 0);
	}
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hole-stride") && i + 1 < argc)
			hole_stride = strtoul(argv[++i], NULL, 0) & ~3UL;
		else if (!strcmp(argv[i], "--all"))
			all = 1;
		else if (!strcmp(argv[i], "--no-ports"))
			ports = 0;
		else {
			fprintf(stderr, "usage: hostile [--seconds N] [--all] [--no-ports] "
					"[--hole-stride BYTES]\n");
			return 2;
		}
	}
	if (!hole_stride)
		hole_stride = 4;
	setvbuf(stdout, NULL, _IOLBF, 0);
	mlockall(MCL_CURRENT | MCL_FUTURE); /* never page in from a share under attack */
	if (setup_dma() < 0) {
		printf("hostile: no guest-physical pages (pagemap)\n");
		return 1;
	}
	DIR *dir = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		if (e->d_name[0] != '.' && open_dev(e->d_name) < 0)
			return 1;
	if (dir)
		closedir(dir);
	if (!ndevs) {
		printf("hostile: no virtio-pci device to attack\n");
		return 1;
	}
	long nt = sysconf(_SC_NPROCESSORS_ONLN) * 2;
	nt = nt < 2 ? 2 : nt > MAX_THREADS ? MAX_THREADS : nt;
	pthread_t th[MAX_THREADS];
	for (long i = 0; i < nt; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	sleep((unsigned int)seconds);
	stop = 1;
	unsigned long total = 0;
	for (long i = 0; i < nt; i++) {
		pthread_join(th[i], NULL);
		total += ops[i];
	}
	printf("hostile: %ld threads, %lu register sequences, %lu BAR moves in %d s\n", nt, total,
	       bar_moves, seconds);
	restore();
	if (ports) {
		port_sweep();
		hole_sweep();
	}
	printf("hostile: done\n");
	return 0;
}
