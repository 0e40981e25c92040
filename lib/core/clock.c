/* The one clock for durations and deadlines. */
#include "core.h"

#include <time.h>

int64_t tl__clock_ms(void)
{
	struct timespec ts;
	/* CLOCK_MONOTONIC cannot fail with a valid pointer; it never jumps
	 * when an administrator or NTP sets the wall clock. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tl__sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}
