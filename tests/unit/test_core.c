/* Errors, buffers, secrets, URLs, init/shutdown and the version. */
#include "tl_test.h"

#include "core/core.h"
#include "core/url.h"

#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_error_last_never_null(void **state)
{
	tl_error_clear();
	const tl_error *e = tl_error_last();
	assert_non_null(e);
	assert_int_equal(e->code, TL_OK);
	assert_string_equal(e->message, "no error");
	assert_string_equal(e->upstream, "");
}

static void test_error_set_and_upstream(void **state)
{
	assert_int_equal(tl__error_set_upstream(TL_ENOTFOUND, TL_ERRCLASS_DOCKER, "404", 404,
	                                        "no such container: %s", "web"),
	                 TL_ENOTFOUND);
	const tl_error *e = tl_error_last();
	assert_int_equal(e->code, TL_ENOTFOUND);
	assert_int_equal(e->klass, TL_ERRCLASS_DOCKER);
	assert_string_equal(e->message, "no such container: web");
	assert_string_equal(e->upstream, "404");
	assert_int_equal(e->upstream_code, 404);
	tl__error_prefix("deploy %s", "shop");
	assert_string_equal(tl_error_last()->message, "deploy shop: no such container: web");
	assert_int_equal(tl_error_last()->upstream_code, 404);
	assert_string_equal(tl_errclass_name(TL_ERRCLASS_PG), "postgres");
	assert_string_equal(tl_errclass_name(999), "unknown");
}

static void *other_thread(void *arg)
{
	/* A fresh thread starts without an error. */
	*(int *)arg = tl_error_last()->code;
	tl__error_set(TL_EIO, TL_ERRCLASS_OS, "thread error");
	return NULL;
}

static void test_error_is_thread_local(void **state)
{
	tl__error_set(TL_EAUTH, TL_ERRCLASS_PG, "main error");
	int seen = -99;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, other_thread, &seen), 0);
	pthread_join(t, NULL);
	assert_int_equal(seen, TL_OK);
	assert_int_equal(tl_error_last()->code, TL_EAUTH);
	assert_string_equal(tl_error_last()->message, "main error");
}

static void test_strerror_codes_are_stable(void **state)
{
	/* The numbers are ABI: they must never move. */
	assert_int_equal(TL_EINVALID, -2);
	assert_int_equal(TL_ENOTFOUND, -3);
	assert_int_equal(TL_ELOCKED, -10);
	assert_int_equal(TL_EUSER, -11);
	assert_int_equal(TL_EUNSUPPORTED, -14);
	for (int c = TL_EUNSUPPORTED; c <= TL_OK; c++)
		assert_string_not_equal(tl_strerror(c), "unknown error code");
	assert_string_equal(tl_strerror(-100), "unknown error code");
	assert_string_equal(tl_strerror(TL_ELOCKED), "locked by another operation");
}

static void test_buf(void **state)
{
	tl_buf b = TL_BUF_INIT;
	for (int i = 0; i < 1000; i++)
		tl_assert_ok(tl__buf_printf(&b, "%d,", i));
	assert_true(b.size > 3000);
	assert_int_equal(b.ptr[b.size], '\0');
	assert_true(tl__str_startswith(b.ptr, "0,1,2,"));
	assert_true(tl__str_endswith(b.ptr, "999,"));
	tl__buf_clear(&b);
	assert_int_equal(b.size, 0);
	tl_assert_ok(tl__buf_put(&b, "a\0b", 3));
	assert_int_equal(b.size, 3);
	char *s = tl__buf_detach(&b);
	assert_null(b.ptr);
	assert_memory_equal(s, "a\0b", 4);
	free(s);
	tl_buf_dispose(&b);
	tl_buf_dispose(NULL);
	char *p = tl__path_join("/data/", "/towlion");
	assert_string_equal(p, "/data/towlion");
	free(p);
}

static void test_secret(void **state)
{
	char a[33], b[33];
	tl_assert_ok(tl__secret_generate(a, 32));
	tl_assert_ok(tl__secret_generate(b, 32));
	assert_int_equal(strlen(a), 32);
	assert_string_not_equal(a, b);
	const char *alphabet =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	assert_int_equal(strspn(a, alphabet), 32);
	/* Every symbol shows up over enough draws (no biased alphabet). */
	char big[4097];
	tl_assert_ok(tl__secret_generate(big, 4096));
	for (const char *c = alphabet; *c; c++)
		assert_non_null(strchr(big, *c));
}

static void test_url(void **state)
{
	tl__url u;
	tl_assert_ok(tl__url_parse(&u, "postgresql://post%40gres:p%3Ass@db.local:5433/postgres",
	                           "X"));
	assert_string_equal(u.scheme, "postgresql");
	assert_string_equal(u.user, "post@gres");
	assert_string_equal(u.password, "p:ss");
	assert_string_equal(u.host, "db.local");
	assert_int_equal(u.port, 5433);
	assert_string_equal(u.path, "/postgres");
	tl__url_dispose(&u);
	tl_assert_ok(tl__url_parse(&u, "redis://[::1]:6379", "X"));
	assert_string_equal(u.host, "::1");
	assert_null(u.user);
	tl__url_dispose(&u);
	tl_assert_ok(tl__url_parse(&u, "redis://:only-pass@127.0.0.1", "X"));
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "only-pass");
	assert_int_equal(u.port, 0);
	tl__url_dispose(&u);
	tl_assert_rc(TL_EINVALID, tl__url_parse(&u, "127.0.0.1:6379", "TOWLION_REDIS_URL"));
	tl_assert_error_contains("TOWLION_REDIS_URL");
	tl_assert_rc(TL_EINVALID, tl__url_parse(&u, "redis://u:secretpw@h:99999", "K"));
	assert_null(strstr(tl_error_last()->message, "secretpw"));
	tl_assert_rc(TL_EINVALID, tl__url_parse(&u, "redis://:6379", "K"));
	/* The host ends at a query or a fragment as at a path. */
	tl_assert_ok(tl__url_parse(&u, "postgresql://u@db:5432?sslmode=require", "X"));
	assert_string_equal(u.host, "db");
	assert_int_equal(u.port, 5432);
	assert_string_equal(u.path, "?sslmode=require");
	tl__url_dispose(&u);
	tl_assert_ok(tl__url_parse(&u, "redis://cache#frag", "X"));
	assert_string_equal(u.host, "cache");
	assert_string_equal(u.path, "#frag");
	tl__url_dispose(&u);
	/* A hand-written password keeps its '?' and '#' (the last '@' ends it). */
	tl_assert_ok(tl__url_parse(&u, "postgresql://u:p#?s@db/app", "X"));
	assert_string_equal(u.password, "p#?s");
	assert_string_equal(u.host, "db");
	assert_string_equal(u.path, "/app");
	tl__url_dispose(&u);
	/* Nothing in a host that means something to the next reader. */
	const char *bad_hosts[] = {"http://a b:80/", "http://h\r\nX-Evil:1/", "http://h\"x/",
	                           "http://h;rm/", "http://[::1;x]:80/", "http://h{a}/", NULL};
	for (const char **h = bad_hosts; *h; h++) {
		tl_assert_rc(TL_EINVALID, tl__url_parse(&u, *h, "K"));
		tl_assert_error_contains("the host may hold only");
	}
	tl_assert_ok(tl__url_parse(&u, "http://[fe80::1%25eth0]:80/", "X"));
	assert_string_equal(u.host, "fe80::1%25eth0");
	tl__url_dispose(&u);
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl__url_encode(&b, "a b/c@d~"));
	assert_string_equal(b.ptr, "a%20b%2Fc%40d~");
	tl_buf_dispose(&b);
}

static void test_init_refcount(void **state)
{
	int base = tl_init();
	assert_true(base >= 1);
	assert_int_equal(tl_init(), base + 1);
	assert_int_equal(tl_shutdown(), base);
	assert_int_equal(tl_shutdown(), base - 1);
	if (base == 1)
		tl_assert_rc(TL_EINVALID, tl_shutdown());
}

static void test_version(void **state)
{
	int ma, mi, pa;
	tl_version_numbers(&ma, &mi, &pa);
	assert_int_equal(ma, TL_VERSION_MAJOR);
	assert_int_equal(mi, TL_VERSION_MINOR);
	assert_int_equal(pa, TL_VERSION_PATCH);
	assert_string_equal(tl_version(), TL_VERSION);
	tl_version_numbers(NULL, NULL, NULL);
}

static int count_events;
static int cancel_after;
static int on_event(const tl_event *ev, void *p)
{
	assert_int_equal(ev->version, TL_EVENT_VERSION);
	count_events++;
	return count_events >= cancel_after;
}

static void test_events_and_cancel(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	count_events = 0;
	cancel_after = 3;
	tl_ctx_set_event_cb(ctx, on_event, NULL);
	tl_assert_ok(tl__log(ctx, TL_LOG_INFO, "one %d", 1));
	tl_assert_ok(tl__step(ctx, "s", "app", "two"));
	tl_assert_rc(TL_EUSER, tl__progress(ctx, "p", 1, 2));
	/* Stays cancelled; the callback is not called again. */
	tl_assert_rc(TL_EUSER, tl__log(ctx, TL_LOG_INFO, "four"));
	assert_int_equal(count_events, 3);
	tl_ctx_clear_cancel(ctx);
	tl_assert_ok(tl__cancelled(ctx));
	tl_ctx_clear_cancel(NULL);
	tl_ctx_free(ctx);
	tl_ctx_free(NULL);
}

/* Reads size the buffer from the file: every size around the edges
 * (empty, a power of two and its neighbours, beyond the old 4 KiB step)
 * comes back whole, by path and by name in an open directory, and a
 * /proc file (size 0 to stat, text to read) is read to its end. */
static void test_file_read_sizes(void **state)
{
	char dir[] = "/tmp/tl-test-read-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	const size_t sizes[] = {0, 1, 62, 63, 64, 255, 256, 4094, 4095, 4096, 4097, 8191, 70000};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		char *data = malloc(n + 1), path[256];
		for (size_t i = 0; i < n; i++)
			data[i] = (char)('a' + (i * 7 + k) % 26);
		snprintf(path, sizeof(path), "%s/f%zu", dir, n);
		tl_assert_ok(tl__file_write_atomic(path, data, n, 0600));
		tl_buf a = TL_BUF_INIT, b = TL_BUF_INIT;
		tl_assert_ok(tl__file_read(&a, path));
		tl_assert_ok(tl__file_read_at(&b, dfd, strrchr(path, '/') + 1, path));
		assert_int_equal(a.size, n);
		assert_int_equal(b.size, n);
		assert_true(n == 0 || (!memcmp(a.ptr, data, n) && !memcmp(b.ptr, data, n)));
		assert_true(!a.ptr || a.ptr[n] == '\0');
		tl_buf_dispose(&a);
		tl_buf_dispose(&b);
		unlink(path);
		free(data);
	}
	tl_buf p = TL_BUF_INIT;
	tl_assert_ok(tl__file_read(&p, "/proc/self/status"));
	assert_true(p.size > 64 && strstr(p.ptr, "Name:"));
	tl_buf_dispose(&p);
	tl_assert_rc(TL_ENOTFOUND, tl__file_read_at(&p, dfd, "missing", "missing"));
	close(dfd);
	rmdir(dir);
}

/* The snapshot of Caddy's configuration lives only inside a scope:
 * nested scopes share it, the last end drops it, outside there is none. */
static void test_caddy_snapshot_scope(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	assert_null(tl__caddy_snapshot_slot(ctx));
	tl__caddy_snapshot_begin(ctx);
	void **slot = tl__caddy_snapshot_slot(ctx);
	assert_non_null(slot);
	assert_null(*slot);
	*slot = json_object();
	tl__caddy_snapshot_begin(ctx);
	assert_ptr_equal(tl__caddy_snapshot_slot(ctx), slot);
	assert_non_null(*slot);
	tl__caddy_snapshot_end(ctx);
	assert_non_null(*tl__caddy_snapshot_slot(ctx));
	tl__caddy_snapshot_end(ctx);
	assert_null(tl__caddy_snapshot_slot(ctx));
	tl__caddy_snapshot_end(ctx); /* unbalanced: harmless */
	assert_null(tl__caddy_snapshot_slot(ctx));
	/* A scope left open is freed with the context. */
	tl__caddy_snapshot_begin(ctx);
	*tl__caddy_snapshot_slot(ctx) = json_object();
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_last_never_null),
		cmocka_unit_test(test_error_set_and_upstream),
		cmocka_unit_test(test_error_is_thread_local),
		cmocka_unit_test(test_strerror_codes_are_stable),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_init_refcount),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_events_and_cancel),
		cmocka_unit_test(test_file_read_sizes),
		cmocka_unit_test(test_caddy_snapshot_scope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
