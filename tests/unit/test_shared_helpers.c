/* The one helper each module uses for a repeated piece: the monotonic
 * clock, hex and URL encoding, digests. */
#include "tl_test.h"

#include "core/core.h"
#include "core/url.h"
#include "deploy/deploy_int.h"
#include "towlion/app.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static void test_hex_and_sha256(void **state)
{
	char out[9];
	const unsigned char bin[4] = {0x00, 0x0f, 0xa0, 0xff};
	tl__hex(out, bin, sizeof(bin));
	assert_string_equal(out, "000fa0ff");
	tl__hex(out, bin, 0);
	assert_string_equal(out, "");
	char sha[65];
	/* FIPS 180-2's examples. */
	tl__sha256_hex(sha, "", 0);
	assert_string_equal(sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	tl__sha256_hex(sha, "abc", 3);
	assert_string_equal(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_url_encoding(void **state)
{
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl__url_encode(&b, "a/b c+d&e=f~g_h.i-j%\xc3\xbc"));
	assert_string_equal(b.ptr, "a%2Fb%20c%2Bd%26e%3Df~g_h.i-j%25%C3%BC");
	tl__buf_clear(&b);
	tl_assert_ok(tl__url_encode_path(&b, "dir/a b"));
	assert_string_equal(b.ptr, "dir/a%20b");
	tl__buf_clear(&b);
	tl_assert_ok(tl__url_encode(&b, ""));
	assert_string_equal(b.ptr ? b.ptr : "", "");
	tl_buf_dispose(&b);
}

static void test_app_paths(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", "/srv/state"));
	char *p = NULL;
	tl_assert_ok(tl__app_path(&p, ctx, "blog", NULL));
	assert_string_equal(p, "/srv/state/apps/blog");
	free(p);
	tl_assert_ok(tl__app_path(&p, ctx, "blog", "history.json"));
	assert_string_equal(p, "/srv/state/apps/blog/history.json");
	free(p);
	/* The public env path is the same place. */
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_app_env_path(&b, ctx, "blog"));
	assert_string_equal(b.ptr, "/srv/state/apps/blog/app.env");
	tl_buf_dispose(&b);
	tl_ctx_free(ctx);
}

/* A release that falls off the history (100 kept) takes its saved plan
 * along: plans do not pile up in the state dir. */
static void test_plans_of_forgotten_releases_are_deleted(void **state)
{
	char *dir = tl_test_tmpdir();
	char id[32], plan[128];
	for (int i = 0; i <= 100; i++) {
		snprintf(id, sizeof(id), "r%03d", i);
		tl_assert_ok(tl__plan_save(dir, id, "{}"));
		tl_release r = {.id = id, .status = TL_RELEASE_ACTIVE, .created = i};
		tl_assert_ok(tl__history_record(dir, &r));
	}
	snprintf(plan, sizeof(plan), "%s/plans/r000.json", dir);
	assert_int_equal(access(plan, F_OK), -1);
	snprintf(plan, sizeof(plan), "%s/plans/r001.json", dir);
	assert_int_equal(access(plan, F_OK), 0);
	snprintf(plan, sizeof(plan), "%s/plans/r100.json", dir);
	assert_int_equal(access(plan, F_OK), 0);
	tl_test_rmdir(dir);
}

/* A saved plan reads back as it was written; a number out of its range
 * (hand-edited or damaged) is refused with the key, never truncated. */
static void test_saved_plan_numbers_checked(void **state)
{
	(void)state;
	char *env[] = {"A=1", NULL}, *hc[] = {"CMD", "true", NULL};
	tl__svc svc = {.name = "app", .image = "img", .env = env, .healthcheck = hc,
	               .hc_interval_ms = 1500, .hc_timeout_ms = 700, .hc_start_ms = 3000,
	               .hc_retries = 4, .init = 1, .stop_grace_s = 12, .cpus = 0.5,
	               .memory = (int64_t)5 << 30, .replicas = 3, .routed = true, .port = 8000};
	tl__plan plan = {.svcs = &svc, .n = 1};
	tl_buf text = TL_BUF_INIT;
	tl_assert_ok(tl__plan_to_json(&text, &plan));
	tl__plan back;
	tl_assert_ok(tl__plan_from_json(&back, text.ptr, "p.json"));
	const tl__svc *b = &back.svcs[0];
	assert_int_equal(b->hc_interval_ms, 1500);
	assert_int_equal(b->hc_timeout_ms, 700);
	assert_int_equal(b->hc_start_ms, 3000);
	assert_int_equal(b->hc_retries, 4);
	assert_int_equal(b->init, 1);
	assert_int_equal(b->read_only, 0);
	assert_int_equal(b->stop_grace_s, 12);
	assert_true(b->cpus == 0.5);
	assert_true(b->memory == (int64_t)5 << 30);
	assert_int_equal(b->replicas, 3);
	assert_true(b->routed);
	assert_int_equal(b->port, 8000);
	tl__plan_dispose(&back);
	tl_buf_dispose(&text);

	static const struct {
		const char *svc, *key;
	} bad[] = {
		{"\"port\":70000", "port"},
		{"\"port\":\"8000\"", "port"},
		{"\"stop_grace_s\":4294967308", "stop_grace_s"},
		{"\"replicas\":-2", "replicas"},
		{"\"init\":2", "init"},
		{"\"init\":-2", "init"},
		{"\"memory\":-2", "memory"},
		{"\"hc\":[1000,1000,0,2147483648]", "hc[3]"},
		{"\"cpus\":-1.5", "cpus"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char doc[256];
		snprintf(doc, sizeof(doc),
		         "{\"services\":[{\"name\":\"app\",\"image\":\"img\",%s}]}", bad[i].svc);
		assert_int_equal(tl__plan_from_json(&back, doc, "p.json"), TL_EINVALID);
		tl_assert_error_contains(bad[i].key);
		tl_assert_error_contains("p.json");
	}
	/* a plan as a deploy writes it, every "unset" -1 (init, grace,
	 * replicas) and 0 (hc, memory, cpus) taken */
	tl_assert_ok(tl__plan_from_json(
		&back,
		"{\"schema\":1,\"services\":[{\"name\":\"app\",\"image\":\"i\",\"hc\":[0,0,0,0],"
		"\"init\":-1,\"read_only\":0,\"stop_grace_s\":-1,\"cpus\":0.0,\"memory\":0,"
		"\"replicas\":-1,\"routed\":true,\"port\":8000}]}",
		"p.json"));
	assert_int_equal(back.svcs[0].init, -1);
	tl__plan_dispose(&back);
	/* absent numbers keep their defaults (plans saved before a key existed) */
	tl_assert_ok(tl__plan_from_json(&back, "{\"services\":[{\"name\":\"a\",\"image\":\"i\"}]}",
	                                "p.json"));
	assert_int_equal(back.svcs[0].replicas, -1);
	assert_int_equal(back.svcs[0].stop_grace_s, -1);
	tl__plan_dispose(&back);
}

/* A saved error survives the errors of the clean-up it is kept across,
 * upstream text included (a copied tl_error only points at them). */
static void test_error_saved_across_cleanup(void **state)
{
	tl__error_set_upstream(TL_EIO, TL_ERRCLASS_S3, "SlowDown", 503, "upload failed");
	tl__error_saved saved;
	tl__error_save(&saved);
	tl__error_set_upstream(TL_ENOTFOUND, TL_ERRCLASS_S3, "NoSuchUpload", 404, "abort failed");
	assert_int_equal(tl__error_restore(&saved), TL_EIO);
	const tl_error *e = tl_error_last();
	assert_int_equal(e->code, TL_EIO);
	assert_int_equal(e->klass, TL_ERRCLASS_S3);
	assert_string_equal(e->message, "upload failed");
	assert_string_equal(e->upstream, "SlowDown");
	assert_int_equal(e->upstream_code, 503);
}

/* A project's lock is the one file every operation on it takes: held
 * through tl__lock_project, it is locks/app-<project> to everyone else. */
static void test_project_lock(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_ctx *ctx = tl_test_ctx(0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", dir));
	tl_buf who = TL_BUF_INIT;
	tl_assert_rc(TL_ENOTFOUND, tl__lock_project_holder(&who, ctx, "shop"));
	tl__lock *held = NULL, *again = NULL;
	tl_assert_ok(tl__lock_project(&held, ctx, "shop", 0));
	tl_assert_ok(tl__lock_project_holder(&who, ctx, "shop"));
	assert_non_null(strstr(who.ptr, "pid"));
	char locks[512];
	snprintf(locks, sizeof(locks), "%s/locks", dir);
	tl_assert_rc(TL_ELOCKED, tl__lock_acquire(&again, ctx, locks, "app-shop", 0));
	/* Another project's lock is another file. */
	tl_assert_ok(tl__lock_project(&again, ctx, "shop-pr-1", 0));
	tl__lock_release(again);
	tl__lock_release(held);
	tl_buf_dispose(&who);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_advances_monotonically),
		cmocka_unit_test(test_hex_and_sha256),
		cmocka_unit_test(test_url_encoding),
		cmocka_unit_test(test_app_paths),
		cmocka_unit_test(test_plans_of_forgotten_releases_are_deleted),
		cmocka_unit_test(test_saved_plan_numbers_checked),
		cmocka_unit_test(test_error_saved_across_cleanup),
		cmocka_unit_test(test_project_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
