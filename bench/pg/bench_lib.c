/* Provision and drop N apps through the library on one admin connection:
 * the cost of tl_pg_app_create/tl_pg_app_drop without process start-up.
 * usage: bench_lib N PREFIX   (TOWLION_PG_URL, TOWLION_STATE_DIR from env) */
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

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s N PREFIX\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[1]);
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE;
	tl_ctx *ctx = NULL;
	tl_pg *pg = NULL;
	if (tl_ctx_new(&ctx, &co) || tl_pg_connect(&pg, ctx)) {
		fprintf(stderr, "%s\n", tl_error_last()->message);
		return 1;
	}
	tl_pg_options drop = TL_PG_OPTIONS_INIT;
	drop.flags = TL_PG_CONFIRM;
	char app[64];
	double t0 = now();
	for (int i = 0; i < n; i++) {
		snprintf(app, sizeof(app), "%s-%d", argv[2], i);
		if (tl_pg_app_create(NULL, pg, app, NULL)) {
			fprintf(stderr, "%s: %s\n", app, tl_error_last()->message);
			return 1;
		}
	}
	double t1 = now();
	for (int i = 0; i < n; i++) {
		snprintf(app, sizeof(app), "%s-%d", argv[2], i);
		if (tl_pg_app_drop(NULL, pg, app, &drop)) {
			fprintf(stderr, "%s: %s\n", app, tl_error_last()->message);
			return 1;
		}
	}
	double t2 = now();
	printf("%.1f %.1f\n", (t1 - t0) * 1000 / n, (t2 - t1) * 1000 / n);
	tl_pg_free(pg);
	tl_ctx_free(ctx);
	return 0;
}
