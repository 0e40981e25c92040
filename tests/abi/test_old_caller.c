/*
 * A program built against an older libtowlion header, run against this
 * library (linked to the shared libtowlion.so.0 as a real program is).
 *
 * tl_docker_exec_options grew in version 2 (stdin_fd, stdout_fd). The old
 * caller here has its own copy of the version-1 layout, as its header had
 * it, and places that struct at the very end of a readable page, with an
 * unreadable page after it: a library that wrote or read one byte past
 * version 1 (the fields the caller does not have) dies with SIGSEGV.
 *
 * Every public _init() is also held to the rule: version 1 works and
 * writes no byte past the struct, 0 and a version from the future are
 * refused with an error naming the struct.
 *
 *   test_abi_old_caller          no services
 *   test_abi_old_caller docker   also runs a command through the version-1
 *                                struct in a container (TOWLION_DOCKER_HOST)
 */
#include "tl_test.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* tl_docker_exec_options as version 1 of the header declared it. */
typedef struct {
	unsigned int version;
	const char *const *env;
	const char *user;
	const char *workdir;
	const void *stdin_data;
	size_t stdin_len;
	int tty;
	long timeout_ms;
} exec_options_v1;

/* The current struct starts with exactly that layout (fields are only
 * appended), and has really grown past it. */
_Static_assert(offsetof(tl_docker_exec_options, stdin_data) ==
                   offsetof(exec_options_v1, stdin_data) &&
               offsetof(tl_docker_exec_options, timeout_ms) ==
                   offsetof(exec_options_v1, timeout_ms) &&
               offsetof(tl_docker_exec_options, stdin_fd) >= sizeof(exec_options_v1),
               "tl_docker_exec_options version 1 is a prefix of the current struct");
_Static_assert(TL_DOCKER_EXEC_OPTIONS_VERSION >= 2, "the struct this test is about grew");

/* `size` bytes at the end of a page followed by an unreadable one. */
typedef struct {
	unsigned char *map;
	size_t page;
} guarded;

static void *guarded_alloc(guarded *g, size_t size)
{
	g->page = (size_t)sysconf(_SC_PAGESIZE);
	g->map = mmap(NULL, 2 * g->page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	assert_int_equal(mprotect(g->map + g->page, g->page, PROT_NONE), 0);
	assert_true(size % sizeof(void *) == 0);
	memset(g->map, 0xA5, g->page); /* poison: a field left unwritten shows */
	return g->map + g->page - size;
}

static void guarded_free(guarded *g)
{
	munmap(g->map, 2 * g->page);
}

static void test_exec_options_init_v1(void **state)
{
	(void)state;
	guarded g;
	exec_options_v1 *o = guarded_alloc(&g, sizeof(*o));
	tl_assert_ok(tl_docker_exec_options_init((tl_docker_exec_options *)o, 1));
	assert_int_equal(o->version, 1);
	assert_null(o->env);
	assert_null(o->stdin_data);
	assert_int_equal(o->stdin_len, 0);
	assert_int_equal(o->tty, 0);
	assert_int_equal(o->timeout_ms, 0);
	guarded_free(&g);

	/* The current caller gets the current struct, descriptors unset. */
	tl_docker_exec_options now;
	tl_assert_ok(tl_docker_exec_options_init(&now, TL_DOCKER_EXEC_OPTIONS_VERSION));
	assert_int_equal(now.version, TL_DOCKER_EXEC_OPTIONS_VERSION);
	assert_int_equal(now.stdin_fd, -1);
	assert_int_equal(now.stdout_fd, -1);
}

typedef int (*init_fn)(void *opts, unsigned int version);

/* Each public _init() behind one signature (no cast of function types). */
#define INIT_WRAPPER(type, fn)                                                \
	static int init_##fn(void *opts, unsigned int version)                  \
	{                                                                        \
		return fn((type *)opts, version);                                    \
	}
#define OPTIONS(X)                                                           \
	X(tl_ctx_options, tl_ctx_options_init, TL_CTX_OPTIONS_VERSION)              \
	X(tl_app_options, tl_app_options_init, TL_APP_OPTIONS_VERSION)              \
	X(tl_appenv_options, tl_appenv_options_init, TL_APPENV_OPTIONS_VERSION)     \
	X(tl_backup_options, tl_backup_options_init, TL_BACKUP_OPTIONS_VERSION)     \
	X(tl_caddy_route, tl_caddy_route_init, TL_CADDY_ROUTE_VERSION)              \
	X(tl_caddy_main_options, tl_caddy_main_options_init,                        \
	  TL_CADDY_MAIN_OPTIONS_VERSION)                                             \
	X(tl_compose_options, tl_compose_options_init, TL_COMPOSE_OPTIONS_VERSION)  \
	X(tl_envfile_options, tl_envfile_options_init, TL_ENVFILE_OPTIONS_VERSION)  \
	X(tl_deploy_options, tl_deploy_options_init, TL_DEPLOY_OPTIONS_VERSION)     \
	X(tl_rollback_options, tl_rollback_options_init, TL_ROLLBACK_OPTIONS_VERSION) \
	X(tl_destroy_options, tl_destroy_options_init, TL_DESTROY_OPTIONS_VERSION)   \
	X(tl_docker_logs_options, tl_docker_logs_options_init,                      \
	  TL_DOCKER_LOGS_OPTIONS_VERSION)                                            \
	X(tl_docker_exec_options, tl_docker_exec_options_init,                      \
	  TL_DOCKER_EXEC_OPTIONS_VERSION)                                            \
	X(tl_github_options, tl_github_options_init, TL_GITHUB_OPTIONS_VERSION)     \
	X(tl_github_deployment_options, tl_github_deployment_options_init,          \
	  TL_GITHUB_DEPLOYMENT_OPTIONS_VERSION)                                      \
	X(tl_github_status_options, tl_github_status_options_init,                  \
	  TL_GITHUB_STATUS_OPTIONS_VERSION)                                          \
	X(tl_pg_options, tl_pg_options_init, TL_PG_OPTIONS_VERSION)                 \
	X(tl_doctor_options, tl_doctor_options_init, TL_DOCTOR_OPTIONS_VERSION)     \
	X(tl_platform_options, tl_platform_options_init, TL_PLATFORM_OPTIONS_VERSION) \
	X(tl_metrics_options, tl_metrics_options_init, TL_METRICS_OPTIONS_VERSION)  \
	X(tl_alert_options, tl_alert_options_init, TL_ALERT_OPTIONS_VERSION)        \
	X(tl_scan_options, tl_scan_options_init, TL_SCAN_OPTIONS_VERSION)           \
	X(tl_status_options, tl_status_options_init, TL_STATUS_OPTIONS_VERSION)     \
	X(tl_cluster_init_options, tl_cluster_init_options_init,                    \
	  TL_CLUSTER_INIT_OPTIONS_VERSION)                                           \
	X(tl_preview_options, tl_preview_options_init, TL_PREVIEW_OPTIONS_VERSION)  \
	X(tl_preview_gc_options, tl_preview_gc_options_init,                        \
	  TL_PREVIEW_GC_OPTIONS_VERSION)                                             \
	X(tl_redis_options, tl_redis_options_init, TL_REDIS_OPTIONS_VERSION)        \
	X(tl_s3_options, tl_s3_options_init, TL_S3_OPTIONS_VERSION)                 \
	X(tl_s3_transfer_options, tl_s3_transfer_options_init,                      \
	  TL_S3_TRANSFER_OPTIONS_VERSION)                                            \
	X(tl_s3_list_options, tl_s3_list_options_init, TL_S3_LIST_OPTIONS_VERSION)  \
	X(tl_server_bootstrap_options, tl_server_bootstrap_options_init,            \
	  TL_SERVER_BOOTSTRAP_OPTIONS_VERSION)                                       \
	X(tl_ssh_options, tl_ssh_options_init, TL_SSH_OPTIONS_VERSION)              \
	X(tl_ssh_exec_options, tl_ssh_exec_options_init, TL_SSH_EXEC_OPTIONS_VERSION) \
	X(tl_ssh_upload_options, tl_ssh_upload_options_init,                        \
	  TL_SSH_UPLOAD_OPTIONS_VERSION)

#define WRAP(type, fn, current) INIT_WRAPPER(type, fn)
OPTIONS(WRAP)

static const struct {
	const char *name;
	size_t size;
	unsigned int current;
	init_fn init;
} all_options[] = {
#define ENTRY(type, fn, current) {#type, sizeof(type), current, init_##fn},
	OPTIONS(ENTRY)
#undef ENTRY
};

static void test_every_init(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_options) / sizeof(all_options[0]); i++) {
		const char *name = all_options[i].name;
		print_message("%s\n", name);
		guarded g;
		/* Version 1 is never refused; a struct that never grew is
		 * written whole, up to the guard and not past it. */
		unsigned int *o = guarded_alloc(&g, (all_options[i].size + 7) / 8 * 8);
		tl_assert_ok(all_options[i].init(o, 1));
		assert_int_equal(*o, 1);
		tl_assert_ok(all_options[i].init(o, all_options[i].current));
		assert_int_equal(*o, all_options[i].current);
		/* 0 (never initialised) and a newer version than the library
		 * knows: refused, naming the struct, nothing written. */
		memset(o, 0xA5, all_options[i].size);
		tl_assert_rc(TL_EINVALID, all_options[i].init(o, 0));
		tl_assert_error_contains(name);
		tl_assert_rc(TL_EINVALID, all_options[i].init(o, all_options[i].current + 1));
		tl_assert_error_contains(name);
		char versions[64];
		snprintf(versions, sizeof(versions), "versions 1 to %u", all_options[i].current);
		tl_assert_error_contains(versions);
		assert_int_equal(*o, 0xA5A5A5A5u);
		tl_assert_rc(TL_EINVALID, all_options[i].init(NULL, 1));
		guarded_free(&g);
	}
}

/* Functions that take options refuse an unknown version with the same
 * message (the checks are one function): one per kind of site. */
static void test_readers_refuse_future_versions(void **state)
{
	(void)state;
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE | TL_CTX_NO_ENV;
	co.version = TL_CTX_OPTIONS_VERSION + 1;
	tl_ctx *ctx = NULL;
	tl_assert_rc(TL_EINVALID, tl_ctx_new(&ctx, &co));
	tl_assert_error_contains("tl_ctx_new: tl_ctx_options version 2 is newer than");
	assert_null(ctx);
	co.version = 0;
	tl_assert_rc(TL_EINVALID, tl_ctx_new(&ctx, &co));
	tl_assert_error_contains("version 0 (not initialised");
	co.version = 1;
	tl_assert_ok(tl_ctx_new(&ctx, &co));

	tl_compose *c = NULL;
	tl_compose_options cmo = TL_COMPOSE_OPTIONS_INIT;
	cmo.version = 99;
	tl_assert_rc(TL_EINVALID, tl_compose_parse(&c, "a: 1", 4, NULL, NULL, &cmo));
	tl_assert_error_contains("tl_compose_options version 99");
	assert_null(c);

	/* (once a check only asked for `version >= 1`) */
	tl_s3 *s3 = NULL;
	tl_s3_options so = TL_S3_OPTIONS_INIT;
	so.version = 7;
	tl_assert_rc(TL_EINVALID, tl_s3_new(&s3, ctx, &so));
	tl_assert_error_contains("tl_s3_new: tl_s3_options version 7 is newer than this library "
	                         "knows (versions 1 to 1)");
	assert_null(s3);
	tl_ctx_free(ctx);
}

static char g_container[64]; /* tltest-abi-<pid> */

/* The container, also when the test died on the way (main calls it). */
static void remove_container(void)
{
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE;
	tl_ctx *ctx = NULL;
	tl_docker *d = NULL;
	if (tl_ctx_new(&ctx, &co) == TL_OK && tl_docker_open(&d, ctx) == TL_OK)
		tl_docker_container_remove(d, g_container, TL_DOCKER_REMOVE_FORCE);
	tl_docker_free(d);
	tl_ctx_free(ctx);
}

/* With a daemon: a command run through the version-1 struct at the edge
 * of its page, stdin from the version-1 field. */
static void test_exec_v1_in_container(void **state)
{
	(void)state;
	TL_TEST_REQUIRE("TOWLION_DOCKER_HOST");
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE;
	tl_ctx *ctx = NULL;
	tl_assert_ok(tl_ctx_new(&ctx, &co));
	tl_docker *d = NULL;
	tl_assert_ok(tl_docker_open(&d, ctx));
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, "towlion-test/busybox:latest"));
	tl_assert_ok(tl_docker_container_spec_set_name(s, g_container));
	const char *sleep_argv[] = {"sleep", "300", NULL};
	tl_assert_ok(tl_docker_container_spec_set_cmd(s, sleep_argv));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "abi"));
	tl_assert_ok(tl_docker_container_spec_set_init(s, 1));
	tl_buf id = TL_BUF_INIT;
	tl_assert_ok(tl_docker_container_create(&id, d, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(d, id.ptr));

	guarded g;
	exec_options_v1 *o = guarded_alloc(&g, sizeof(*o));
	tl_assert_ok(tl_docker_exec_options_init((tl_docker_exec_options *)o, 1));
	const char *env[] = {"WHO=old-caller", NULL};
	o->env = env;
	o->stdin_data = "version one\n";
	o->stdin_len = 12;
	o->timeout_ms = 30000;
	const char *argv[] = {"sh", "-c", "tr a-z A-Z; echo $WHO", NULL};
	int code = -1;
	tl_buf out = TL_BUF_INIT, err = TL_BUF_INIT;
	int rc = tl_docker_exec(&code, &out, &err, d, g_container, argv,
	                        (const tl_docker_exec_options *)o);
	tl_docker_container_remove(d, id.ptr, TL_DOCKER_REMOVE_FORCE);
	tl_assert_ok(rc);
	assert_int_equal(code, 0);
	assert_string_equal(out.ptr, "VERSION ONE\nold-caller\n");
	guarded_free(&g);
	tl_buf_dispose(&out);
	tl_buf_dispose(&err);
	tl_buf_dispose(&id);
	tl_docker_free(d);
	tl_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "docker")) {
		snprintf(g_container, sizeof(g_container), "tltest-abi-%d", (int)getpid());
		const struct CMUnitTest tests[] = {cmocka_unit_test(test_exec_v1_in_container)};
		int rc = cmocka_run_group_tests(tests, NULL, NULL);
		if (getenv("TOWLION_DOCKER_HOST"))
			remove_container();
		return rc;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_options_init_v1),
		cmocka_unit_test(test_every_init),
		cmocka_unit_test(test_readers_refuse_future_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
