/* Upsert THE marked comment on a PR R times through the library (one
 * client, one process) and print the median and mean milliseconds.
 * usage: bench_upsert REPO PR R   (TOWLION_GITHUB_API/_TOKEN from env) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "towlion/towlion.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s REPO PR R\n", argv[0]);
		return 2;
	}
	int r = atoi(argv[3]);
	uint32_t pr = (uint32_t)atoi(argv[2]);
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE;
	tl_ctx *ctx = NULL;
	tl_github *gh = NULL;
	if (tl_ctx_new(&ctx, &co) || tl_github_new(&gh, ctx, NULL)) {
		fprintf(stderr, "%s\n", tl_error_last()->message);
		return 1;
	}
	double *ms = calloc((size_t)r, sizeof(double)), sum = 0;
	char body[64];
	for (int i = 0; i < r; i++) {
		snprintf(body, sizeof(body), "library run %d", i);
		double t0 = now();
		if (tl_github_comment_upsert(NULL, gh, argv[1], pr, "bench:lib", body)) {
			fprintf(stderr, "%s\n", tl_error_last()->message);
			return 1;
		}
		ms[i] = (now() - t0) * 1000;
		sum += ms[i];
	}
	qsort(ms, (size_t)r, sizeof(double), cmp);
	printf("%.2f %.2f\n", ms[r / 2], sum / r);
	free(ms);
	tl_github_free(gh);
	tl_ctx_free(ctx);
	return 0;
}
