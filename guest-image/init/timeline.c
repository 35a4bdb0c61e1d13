/*
 * Guest init: the guest side of the boot timeline, only with microvmm.bootmark
 * on the kernel command line (bench/boot; docs/benchmarks.md). Each stage is
 * a line in the kernel log, so its time is the kernel's own clock; at power
 * off the init reads them back, with the kvm-clock line that says how long
 * after the VM's creation that clock started, and prints one
 * "MICROVMM-REPORT timeline ..." line. Nothing here depends on the VMM: the
 * same report comes out under any of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

#define TIMELINE_MARK_PREFIX "microvmm-init: stage "
/* arch/x86/kernel/kvmclock.c, printed once the kernel's clock is kvm-clock's time less this. */
#define KVMCLOCK_OFFSET_PREFIX "kvm-clock: using sched offset of "

static int timeline_on = -1; /* -1: the command line not read yet */

static int timeline_enabled(void)
{
	char cmdline[4096];
	char value[8];

	if (timeline_on < 0)
		timeline_on = cmdline_read(cmdline, sizeof(cmdline)) == 0 &&
			      cmdline_get(cmdline, "microvmm.bootmark", value, sizeof(value)) == 0;
	return timeline_on;
}

void timeline_stage(const char *stage)
{
	char line[64];
	int fd, len;

	if (!timeline_enabled())
		return;
	/* bench/boot times the way to /init by this line on the console, under every VMM. */
	if (!strcmp(stage, "init")) {
		static const char mark[] = "MICROVMM-INIT-START\n";
		ssize_t ignored = write(STDOUT_FILENO, mark, sizeof(mark) - 1);
		(void)ignored;
	}
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	len = snprintf(line, sizeof(line), TIMELINE_MARK_PREFIX "%s\n", stage);
	if (len > 0 && (size_t)len < sizeof(line)) {
		ssize_t ignored = write(fd, line, (size_t)len);
		(void)ignored;
	}
	close(fd);
}

/* One /dev/kmsg record: "PRIO,SEQ,TIME_US,FLAGS;TEXT\n" (Documentation/ABI/testing/dev-kmsg). */
static int timeline_record(const char *rec, unsigned long long *us, const char **text)
{
	const char *p = strchr(rec, ',');

	if (!p || !(p = strchr(p + 1, ',')))
		return -EINVAL;
	*us = strtoull(p + 1, NULL, 10);
	*text = strchr(p, ';');
	if (!*text)
		return -EINVAL;
	(*text)++;
	return 0;
}

/* The stages the report names, in boot order; timeline_stage() callers use these names. */
static const char *const timeline_stages[] = {"init", "modules", "command", "poweroff"};
#define TIMELINE_STAGES (sizeof(timeline_stages) / sizeof(timeline_stages[0]))

/* Index of the stage a record's text marks, or -1. */
static int timeline_stage_of(const char *text)
{
	size_t prefix = strlen(TIMELINE_MARK_PREFIX), i;

	if (strncmp(text, TIMELINE_MARK_PREFIX, prefix))
		return -1;
	for (i = 0; i < TIMELINE_STAGES; i++) {
		size_t len = strlen(timeline_stages[i]);

		if (!strncmp(text + prefix, timeline_stages[i], len) &&
		    (text[prefix + len] == '\n' || text[prefix + len] == '\0'))
			return (int)i;
	}
	return -1;
}

void timeline_report(void)
{
	char rec[1024], out[512];
	double offset_ms = -1, stage_ms[TIMELINE_STAGES];
	unsigned long long us;
	const char *text;
	ssize_t n;
	size_t i;
	int fd, stage, len;

	if (!timeline_enabled())
		return;
	for (i = 0; i < TIMELINE_STAGES; i++)
		stage_ms[i] = -1;
	timeline_stage("poweroff");
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	/* One record per read; EPIPE when older records were overwritten: go on. */
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		if (timeline_record(rec, &us, &text))
			continue;
		if (!strncmp(text, KVMCLOCK_OFFSET_PREFIX, strlen(KVMCLOCK_OFFSET_PREFIX)))
			/* In nanoseconds, though the kernel's message says cycles. */
			offset_ms =
			    (double)strtoull(text + strlen(KVMCLOCK_OFFSET_PREFIX), NULL, 10) / 1e6;
		else if ((stage = timeline_stage_of(text)) >= 0)
			stage_ms[stage] = (double)us / 1e3;
	}
	close(fd);
	/* Kernel clock milliseconds; kvmclock_offset_ms is that clock's start after KVM_CREATE_VM;
	 * one kernel_<stage>_ms per stage, in the table's order. */
	len = snprintf(out, sizeof(out), "MICROVMM-REPORT timeline kvmclock_offset_ms=%.3f",
		       offset_ms);
	for (i = 0; i < TIMELINE_STAGES && len > 0 && (size_t)len < sizeof(out); i++)
		len += snprintf(out + len, sizeof(out) - (size_t)len, " kernel_%s_ms=%.3f",
				timeline_stages[i], stage_ms[i]);
	if (len > 0 && (size_t)len + 1 < sizeof(out)) {
		ssize_t ignored;

		out[len++] = '\n';
		ignored = write(STDOUT_FILENO, out, (size_t)len);
		(void)ignored;
	}
}
