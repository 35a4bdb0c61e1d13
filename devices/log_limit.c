/* A sliding-window limit on log lines a guest can cause; see log_limit.h. */
#include "devices/log_limit.h"

#include <time.h>

bool log_limit_allow(struct log_limit *l, uint64_t now_ms, unsigned int *suppressed)
{
	unsigned int burst = l->burst < LOG_LIMIT_MAX_BURST ? l->burst : LOG_LIMIT_MAX_BURST;

	if (burst == 0)
		return false;
	/* Full: the oldest of the last `burst` lines must have left the window. */
	if (l->sent == burst && now_ms - l->sent_ms[l->next] < l->window_ms) {
		l->suppressed++;
		return false;
	}
	if (l->sent < burst) {
		l->sent_ms[l->sent++] = now_ms;
	} else {
		l->sent_ms[l->next] = now_ms;
		l->next = (l->next + 1) % burst;
	}
	*suppressed = l->suppressed;
	l->suppressed = 0;
	return true;
}

uint64_t log_limit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
