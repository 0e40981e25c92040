/* The one helper each module uses for a repeated piece: the monotonic
 * clock, hex and URL encoding, digests. */
#include "tl_test.h"

#include "core/core.h"

#include <string.h>
#include <time.h>

static void test_clock_advances_monotonically(void **state)
{
	int64_t a = tl__clock_ms();
	struct timespec pause = {0, 20 * 1000 * 1000};
	nanosleep(&pause, NULL);
	int64_t b = tl__clock_ms();
	assert_true(a >= 0);
	assert_true(b - a >= 20);
	assert_true(b - a < 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_advances_monotonically),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
