/* The harness's services are up and the doctor sees each of them. */
#include "tl_test.h"

#include <stdio.h>
#include <string.h>

static void test_every_service_answers(void **state)
{
	const char *vars[] = {"TOWLION_DOCKER_HOST", "TOWLION_PG_URL", "TOWLION_REDIS_URL",
	                      "TOWLION_CADDY_ADMIN", "TOWLION_S3_ENDPOINT",
	                      "TL_TEST_SSH_PORT"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		TL_TEST_REQUIRE(vars[i]);
	tl_ctx *ctx = tl_test_ctx(1);
	tl_doctor_report *r = NULL;
	tl_assert_ok(tl_doctor_run(&r, ctx));
	assert_int_equal(tl_doctor_report_count(r), 6);
	for (size_t i = 0; i < tl_doctor_report_count(r); i++) {
		const tl_check *c = tl_doctor_report_at(r, i);
		print_message("%-11s %-4s %s (%.1f ms)\n", c->name, tl_check_status_name(c->status),
		              c->detail, c->elapsed_ms);
		if (c->status != TL_CHECK_OK)
			fail_msg("%s: %s (%s)", c->name, c->detail, c->hint);
	}
	assert_int_equal(tl_doctor_report_worst(r), TL_CHECK_OK);
	assert_null(tl_doctor_report_at(r, 6));
	tl_doctor_report_free(r);
	tl_ctx_free(ctx);
}

static void test_doctor_names_a_dead_service(void **state)
{
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	tl_ctx *ctx = tl_test_ctx(1);
	/* Port 1 on loopback: nothing listens there. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_CADDY_ADMIN", "http://127.0.0.1:1"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_DOCKER_HOST", "unix:///nonexistent.sock"));
	tl_doctor_report *r = NULL;
	tl_assert_ok(tl_doctor_run(&r, ctx));
	int failed = 0;
	for (size_t i = 0; i < tl_doctor_report_count(r); i++) {
		const tl_check *c = tl_doctor_report_at(r, i);
		if (!strcmp(c->name, "caddy") || !strcmp(c->name, "docker")) {
			assert_int_equal(c->status, TL_CHECK_FAIL);
			assert_true(strlen(c->hint) > 0);
			failed++;
		}
		if (!strcmp(c->name, "docker"))
			assert_non_null(strstr(c->detail, "/nonexistent.sock"));
		if (!strcmp(c->name, "postgres"))
			assert_int_equal(c->status, TL_CHECK_OK);
	}
	assert_int_equal(failed, 2);
	assert_int_equal(tl_doctor_report_worst(r), TL_CHECK_FAIL);
	tl_doctor_report_free(r);
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_service_answers),
		cmocka_unit_test(test_doctor_names_a_dead_service),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
