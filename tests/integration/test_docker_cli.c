/* The towlion command's docker, logs, exec and compose groups against the
 * harness's dockerd: a labelled container of a test app is listed, its
 * logs printed per stream, a command run in it exits with its status,
 * and compose check prints plans and errors with file:line. */
#include "tl_test.h"

#include "core/core.h"
#include "towlion/docker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define APP "tltest-cli"

static char g_name[96];

static int towlion(tl__spawn_result *r, const char *const *args)
{
	const char *argv[32] = {TL_TEST_BINARY_DIR "/towlion"};
	size_t n = 1;
	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	tl__spawn_opts o = {.argv = argv, .stdout_mode = TL__STDIO_BUFFER,
	                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 60000};
	memset(r, 0, sizeof(*r));
	tl_assert_ok(tl__spawn(r, NULL, &o));
	return r->exit_status;
}

static const char *S(const tl_buf *b)
{
	return b->ptr ? b->ptr : "";
}

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	tl_ctx *ctx = tl_test_ctx(1);
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/busybox:latest"));
	tl_assert_ok(tl_docker_container_spec_set_name(s, g_name));
	const char *cmd[] = {"sh", "-c", "echo started; echo complaint >&2; exec sleep 600", NULL};
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, cmd));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "1"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.app", APP));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", "app"));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.release", "r1"));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_assert_ok(tl_docker_container_create(NULL, d, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(d, g_name));
	/* wait for both lines to be logged */
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	for (int i = 0; i < 50; i++) {
		tl_assert_ok(tl_docker_container_logs(&out, &err, d, g_name, NULL));
		if (err.size)
			break;
		usleep(100000);
	}
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	return 0;
}

static int teardown(void **state)
{
	if (!getenv("TOWLION_DOCKER_HOST"))
		return 0;
	tl_ctx *ctx = tl_test_ctx(1);
	tl_docker *d = NULL;
	if (tl_docker_open(&d, ctx) == TL_OK)
		tl_docker_container_remove(d, g_name, TL_DOCKER_REMOVE_FORCE | TL_DOCKER_REMOVE_VOLUMES);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	return 0;
}

static void test_ps(void **state)
{
	tl__spawn_result r;
	const char *a[] = {"docker", "ps", "--app", APP, NULL};
	assert_int_equal(towlion(&r, a), 0);
	assert_non_null(strstr(S(&r.out), g_name));
	assert_non_null(strstr(S(&r.out), "running"));
	tl__spawn_result_dispose(&r);
	const char *j[] = {"docker", "ps", "--app", APP, "--json", NULL};
	assert_int_equal(towlion(&r, j), 0);
	assert_non_null(strstr(S(&r.out), "\"service\": \"app\""));
	assert_non_null(strstr(S(&r.out), "\"release\": \"r1\""));
	tl__spawn_result_dispose(&r);
	const char *bad[] = {"docker", "ps", "--app", "Not_An_App", NULL};
	assert_int_equal(towlion(&r, bad), 1);
	tl__spawn_result_dispose(&r);
}

static void test_logs(void **state)
{
	tl__spawn_result r;
	const char *a[] = {"logs", APP, NULL};
	assert_int_equal(towlion(&r, a), 0);
	assert_string_equal(S(&r.out), "started\n");
	assert_string_equal(S(&r.err), "complaint\n");
	tl__spawn_result_dispose(&r);
	const char *t[] = {"logs", APP, "--tail", "2", "--json", NULL};
	assert_int_equal(towlion(&r, t), 0);
	assert_non_null(strstr(S(&r.out), "\"stream\": \"stderr\""));
	assert_non_null(strstr(S(&r.out), "\"line\": \"started\""));
	tl__spawn_result_dispose(&r);
	const char *none[] = {"logs", APP, "--service", "worker", NULL};
	assert_int_equal(towlion(&r, none), 3);
	assert_non_null(strstr(S(&r.err), "no container for service worker"));
	tl__spawn_result_dispose(&r);
}

static void test_exec(void **state)
{
	tl__spawn_result r;
	const char *a[] = {"exec", APP, "--", "sh", "-c", "echo hi; echo oops >&2; exit 5", NULL};
	assert_int_equal(towlion(&r, a), 5);
	assert_string_equal(S(&r.out), "hi\n");
	assert_string_equal(S(&r.err), "oops\n");
	tl__spawn_result_dispose(&r);
	const char *j[] = {"exec", APP, "--json", "--", "echo", "--json", NULL};
	assert_int_equal(towlion(&r, j), 0);
	assert_non_null(strstr(S(&r.out), "\"exit_code\": 0"));
	tl__spawn_result_dispose(&r);
	const char *usage[] = {"exec", APP, NULL};
	assert_int_equal(towlion(&r, usage), 2);
	tl__spawn_result_dispose(&r);
}

static void test_compose_check(void **state)
{
	tl__spawn_result r;
	const char *a[] = {"compose", "check", TL_TEST_SOURCE_DIR "/examples/apps/hello", NULL};
	assert_int_equal(towlion(&r, a), 0);
	assert_non_null(strstr(S(&r.out), "hello:1.0.0"));
	tl__spawn_result_dispose(&r);
	const char *j[] = {"compose", "check", "--json",
	                   TL_TEST_SOURCE_DIR "/tests/compose/good/fastapi-full.yml", NULL};
	assert_int_equal(towlion(&r, j), 0);
	assert_non_null(strstr(S(&r.out), "\"start_order\""));
	tl__spawn_result_dispose(&r);
	const char *bad[] = {"compose", "check", "--strict",
	                     TL_TEST_SOURCE_DIR "/tests/compose/bad/strict-privileged.yml", NULL};
	assert_int_equal(towlion(&r, bad), 1);
	assert_non_null(strstr(S(&r.err), "strict-privileged.yml:4:"));
	tl__spawn_result_dispose(&r);
	const char *missing[] = {"compose", "check", "/nonexistent-dir", NULL};
	assert_int_equal(towlion(&r, missing), 3);
	tl__spawn_result_dispose(&r);
}

int main(void)
{
	snprintf(g_name, sizeof(g_name), "tltest-cli-%d-app", (int)getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ps),
		cmocka_unit_test(test_logs),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_compose_check),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
