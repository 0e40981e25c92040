/* What `platform up` waits for after Docker's health (lib/platform/
 * answers.c), against the harness's real services: PostgreSQL accepts the
 * login of TOWLION_PG_URL, Redis AUTH and PING, a signed S3 request, Caddy's
 * admin API; a refused password fails at once naming the service; a
 * service that never answers fails at the deadline naming it. */
#include "tl_test.h"

#include "platform/platform_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static tl_ctx *new_ctx(void)
{
	tl_ctx *ctx = NULL;
	tl_assert_ok(tl_ctx_new(&ctx, NULL));
	return ctx;
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void test_all_answer(void **state)
{
	(void)state;
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	TL_TEST_REQUIRE("TOWLION_REDIS_URL");
	TL_TEST_REQUIRE("TOWLION_S3_ENDPOINT");
	TL_TEST_REQUIRE("TOWLION_CADDY_ADMIN");
	tl_ctx *ctx = new_ctx();
	tl__plat p = {0};
	p.root = "";
	tl_platform_report *r = tl__plat_report_new();
	const char *services[] = {"postgres", "redis", "s3", "caddy"};
	for (size_t i = 0; i < 4; i++)
		tl_assert_ok(tl__plat_wait_answers(r, ctx, NULL, &p, services[i], 10000));
	assert_int_equal(tl_platform_report_count(r), 4);
	for (size_t i = 0; i < 4; i++) {
		const tl_platform_step *s = tl_platform_report_at(r, i);
		assert_string_equal(s->action, "answers");
		assert_string_equal(s->subject, services[i]);
		assert_non_null(strstr(s->detail, "1 try"));
	}
	tl_platform_report_free(r);
	/* A collector has no answer to wait for. */
	tl_assert_ok(tl__plat_wait_answers(NULL, ctx, NULL, &p, "loki", 10));
	/* Not asked: unpublished ports (Caddy still is), a trial root. */
	r = tl__plat_report_new();
	p.flags = TL_PLATFORM_NO_PORTS;
	tl_assert_ok(tl__plat_wait_answers(r, ctx, NULL, &p, "postgres", 10));
	assert_non_null(strstr(tl_platform_report_at(r, 0)->detail, "not asked"));
	tl_assert_ok(tl__plat_wait_answers(r, ctx, NULL, &p, "caddy", 10000));
	assert_non_null(strstr(tl_platform_report_at(r, 1)->detail, "admin API"));
	p.flags = 0;
	p.root = "/tmp/trial";
	tl_assert_ok(tl__plat_wait_answers(r, ctx, NULL, &p, "redis", 10));
	assert_non_null(strstr(tl_platform_report_at(r, 2)->detail, "--root"));
	tl_platform_report_free(r);
	tl_ctx_free(ctx);
}

static void test_refused_password_fails_at_once(void **state)
{
	(void)state;
	const char *redis = TL_TEST_REQUIRE("TOWLION_REDIS_URL");
	tl_ctx *ctx = new_ctx();
	tl__plat p = {0};
	p.root = "";
	/* The harness's server, a password it does not know. */
	char bad[600];
	const char *at = strrchr(redis, '@');
	snprintf(bad, sizeof(bad), "redis://default:not-the-password%s", at ? at : "@127.0.0.1:6379");
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_REDIS_URL", bad));
	long t0 = now_ms();
	int rc = tl__plat_wait_answers(NULL, ctx, NULL, &p, "redis", 20000);
	assert_int_equal(rc, TL_EAUTH);
	assert_true(now_ms() - t0 < 5000);
	tl_assert_error_contains("platform service redis does not answer");
	tl_assert_error_contains("TOWLION_REDIS_URL");
	tl_assert_error_contains("docker logs towlion-redis");
	assert_null(strstr(tl_error_last()->message, "not-the-password"));
	tl_ctx_free(ctx);
}

static void test_silent_service_fails_at_deadline(void **state)
{
	(void)state;
	tl_ctx *ctx = new_ctx();
	tl__plat p = {0};
	p.root = "";
	/* Nothing listens on port 1. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL",
	                               "postgresql://postgres:pw@127.0.0.1:1/postgres"));
	long t0 = now_ms();
	int rc = tl__plat_wait_answers(NULL, ctx, NULL, &p, "postgres", 1500);
	long took = now_ms() - t0;
	assert_int_equal(rc, TL_EUNAVAILABLE);
	assert_true(took >= 1500 && took < 10000);
	tl_assert_error_contains("platform service postgres does not answer towlion after");
	tl_assert_error_contains("TOWLION_PG_URL");
	assert_null(strstr(tl_error_last()->message, ":pw@"));
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_answer),
		cmocka_unit_test(test_refused_password_fails_at_once),
		cmocka_unit_test(test_silent_service_fails_at_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
