/* The host side of the boot timeline: a few monotonic stamps, printed once at exit. */
#include "vmm/timeline.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "vmm/log.h"

/* Nanoseconds on CLOCK_MONOTONIC; 0 while not reached (the clock is never 0 after boot). */
static _Atomic uint64_t timeline_ns[TIMELINE_STAGES];

static const char *const timeline_names[TIMELINE_STAGES] = {
    [TIMELINE_MAIN] = "main_at_ms",
    [TIMELINE_HELPERS] = "helpers_ms",
    [TIMELINE_CREATE_VM] = "create_vm_ms",
    [TIMELINE_DEVICES] = "devices_ms",
    [TIMELINE_LOADED] = "loaded_ms",
    [TIMELINE_JAILED] = "jailed_ms",
    [TIMELINE_FIRST_RUN] = "first_run_ms",
    [TIMELINE_COMMAND] = "command_ms",
    [TIMELINE_GUEST_STOPPED] = "guest_stopped_ms",
    [TIMELINE_EXIT] = "process_exit_ms",
};

void timeline_mark(enum timeline_stage stage)
{
	struct timespec ts;
	uint64_t unset = 0;

	if (stage >= TIMELINE_STAGES || atomic_load(&timeline_ns[stage]))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	atomic_compare_exchange_strong(&timeline_ns[stage], &unset,
				       (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

void timeline_print(void)
{
	uint64_t main_ns = atomic_load(&timeline_ns[TIMELINE_MAIN]);
	char line[384];
	int len;

	if (!main_ns)
		return;
	len = snprintf(line, sizeof(line), "boot timeline: %s=%.3f", timeline_names[TIMELINE_MAIN],
		       (double)main_ns / 1e6);
	for (int s = TIMELINE_MAIN + 1; s < TIMELINE_STAGES && len > 0 && len < (int)sizeof(line);
	     s++) {
		uint64_t ns = atomic_load(&timeline_ns[s]);

		if (ns >= main_ns)
			len += snprintf(line + len, sizeof(line) - (size_t)len, " %s=+%.3f",
					timeline_names[s], (double)(ns - main_ns) / 1e6);
	}
	log_report("%s", line);
}
