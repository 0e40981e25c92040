/* Limits on untrusted input, the parts without services: every bomb a
 * tenant can put in its files (compose merge keys and aliases, variable
 * interpolation, .dockerignore "**", env files, a link to /dev/zero) and
 * output without newlines returns fast with a clear error naming the
 * limit, or the right answer, and memory stays flat.
 * (docs/security.md, "Limits on untrusted input") */
#include "tl_test.h"

#include "core/core.h"
#include "docker/docker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A generous bound: each bomb costs milliseconds now (and minutes to
 * years before). It is CPU time, so that a loaded CI machine sharing its
 * cores does not make a fast call look slow. */
#define FAST_MS 2000

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static tl_compose_options quiet_options(void)
{
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.flags = TL_COMPOSE_NO_PROCESS_ENV | TL_COMPOSE_NO_ENV_FILE;
	o.policy = TL_COMPOSE_STRICT;
	return o;
}

static int parse_timed(const char *yaml, const tl_compose_options *o, long *ms)
{
	tl_compose *c = NULL;
	long t0 = now_ms();
	int rc = tl_compose_parse(&c, yaml, strlen(yaml), "bomb.yml", "/tmp", o);
	*ms = now_ms() - t0;
	tl_compose_free(c);
	return rc;
}

/* ---- compose ---- */

/* "Billion laughs" with merge keys: each level merges the one below ten
 * times, nine levels deep: 10^9 keys to visit without a bound. */
static void test_compose_merge_key_bomb(void **state)
{
	tl_buf y = TL_BUF_INIT;
	tl_assert_ok(tl__buf_puts(&y, "x-l0: &l0 {a: '1', b: '2', c: '3'}\n"));
	for (int i = 1; i <= 9; i++) {
		tl_assert_ok(tl__buf_printf(&y, "x-l%d: &l%d\n  <<: [", i, i));
		for (int k = 0; k < 10; k++)
			tl_assert_ok(tl__buf_printf(&y, "%s*l%d", k ? ", " : "", i - 1));
		tl_assert_ok(tl__buf_puts(&y, "]\n"));
	}
	tl_assert_ok(tl__buf_puts(&y, "services:\n  app:\n    image: busybox\n"
	                              "    environment:\n      <<: *l9\n"));
	tl_compose_options o = quiet_options();
	long ms = 0;
	tl_assert_rc(TL_EINVALID, parse_timed(y.ptr, &o, &ms));
	tl_assert_error_contains("(the limit)");
	tl_assert_error_contains("merge keys");
	assert_true(ms < FAST_MS);
	tl_buf_dispose(&y);
}

/* The same without `<<`: one big mapping aliased by thousands of
 * services. The file is 100 KiB; what it names is millions of keys. */
static void test_compose_alias_bomb(void **state)
{
	tl_buf y = TL_BUF_INIT;
	tl_assert_ok(tl__buf_puts(&y, "x-svc: &svc\n  image: busybox\n  environment:\n"));
	for (int i = 0; i < 5000; i++)
		tl_assert_ok(tl__buf_printf(&y, "    K%d: v\n", i));
	tl_assert_ok(tl__buf_puts(&y, "services:\n"));
	for (int i = 0; i < 3000; i++)
		tl_assert_ok(tl__buf_printf(&y, "  svc%d: *svc\n", i));
	tl_compose_options o = quiet_options();
	long ms = 0;
	tl_assert_rc(TL_EINVALID, parse_timed(y.ptr, &o, &ms));
	tl_assert_error_contains("more than 250000 keys and values (the limit)");
	assert_true(ms < FAST_MS);
	tl_buf_dispose(&y);
}

/* An aliased service with an unknown key warns once per alias: the
 * warnings kept are bounded, and say how many more there were. */
static void test_compose_warnings_bounded(void **state)
{
	tl_buf y = TL_BUF_INIT;
	tl_assert_ok(tl__buf_puts(&y, "x-svc: &svc\n  image: busybox\n  unknown_key: 1\n"
	                              "services:\n"));
	for (int i = 0; i < 5000; i++)
		tl_assert_ok(tl__buf_printf(&y, "  svc%d: *svc\n", i));
	tl_compose_options o = quiet_options();
	tl_compose *c = NULL;
	long t0 = now_ms();
	tl_assert_ok(tl_compose_parse(&c, y.ptr, y.size, "warn.yml", "/tmp", &o));
	assert_true(now_ms() - t0 < FAST_MS);
	assert_int_equal(tl_compose_service_count(c), 5000);
	assert_int_equal(tl_compose_warning_count(c), 1001);
	assert_non_null(strstr(tl_compose_warning_at(c, 1000), "4000 more warnings not shown"));
	tl_compose_free(c);
	tl_buf_dispose(&y);
}

/* A mapping with many distinct keys is read in linear time (duplicate
 * keys are found through an index, not by comparing every pair). */
static void test_compose_many_keys_linear(void **state)
{
	tl_buf y = TL_BUF_INIT;
	tl_assert_ok(tl__buf_puts(&y, "services:\n  app:\n    image: busybox\n"
	                              "    environment:\n"));
	for (int i = 0; i < 60000; i++)
		tl_assert_ok(tl__buf_printf(&y, "      K%d: v\n", i));
	tl_compose_options o = quiet_options();
	long ms = 0;
	tl_assert_ok(parse_timed(y.ptr, &o, &ms));
	assert_true(ms < FAST_MS);
	/* and a duplicate among them is still found, with its line */
	tl_assert_ok(tl__buf_puts(&y, "      K59999: again\n"));
	tl_assert_rc(TL_EINVALID, parse_timed(y.ptr, &o, &ms));
	tl_assert_error_contains("duplicate key \"K59999\"");
	tl_buf_dispose(&y);
}

/* Variables: "$A$A$A..." with a long A, and many "${" (once quadratic). */
static void test_compose_interpolation_bombs(void **state)
{
	tl_envfile *vars = NULL;
	tl_assert_ok(tl_envfile_parse(&vars, "", 0, "vars"));
	char *big = malloc(64 * 1024 + 1);
	memset(big, 'x', 64 * 1024);
	big[64 * 1024] = '\0';
	tl_assert_ok(tl_envfile_set(vars, "A", big));
	free(big);
	tl_compose_options o = quiet_options();
	o.vars = vars;
	tl_buf y = TL_BUF_INIT;
	tl_assert_ok(tl__buf_puts(&y, "services:\n  app:\n    image: busybox\n"
	                              "    environment:\n      E: \""));
	for (int i = 0; i < 100; i++) /* 100 x 64 KiB = 6.4 MiB from 200 bytes */
		tl_assert_ok(tl__buf_puts(&y, "$A"));
	tl_assert_ok(tl__buf_puts(&y, "\"\n"));
	long ms = 0;
	tl_assert_rc(TL_EINVALID, parse_timed(y.ptr, &o, &ms));
	tl_assert_error_contains("longer than 1048576 bytes (the limit)");
	assert_true(ms < FAST_MS);

	/* twenty values of 15 x 64 KiB each: every value fits, the file not */
	tl__buf_clear(&y);
	tl_assert_ok(tl__buf_puts(&y, "services:\n  app:\n    image: busybox\n"
	                              "    environment:\n"));
	for (int k = 0; k < 20; k++) {
		tl_assert_ok(tl__buf_printf(&y, "      E%d: \"", k));
		for (int i = 0; i < 15; i++)
			tl_assert_ok(tl__buf_puts(&y, "${A}"));
		tl_assert_ok(tl__buf_puts(&y, "\"\n"));
	}
	tl_assert_rc(TL_EINVALID, parse_timed(y.ptr, &o, &ms));
	tl_assert_error_contains("expand to more than 16777216 bytes (the limit)");
	assert_true(ms < FAST_MS);

	/* 150000 "${B}" in one value (900 KiB): linear, and the right answer */
	tl_assert_ok(tl_envfile_set(vars, "B", "b"));
	tl__buf_clear(&y);
	tl_assert_ok(tl__buf_puts(&y, "services:\n  app:\n    image: busybox\n"
	                              "    environment:\n      E: \""));
	for (int i = 0; i < 150000; i++)
		tl_assert_ok(tl__buf_puts(&y, "${B}"));
	tl_assert_ok(tl__buf_puts(&y, "\"\n"));
	tl_compose *c = NULL;
	long t0 = now_ms();
	tl_assert_ok(tl_compose_parse(&c, y.ptr, y.size, "many.yml", "/tmp", &o));
	assert_true(now_ms() - t0 < FAST_MS);
	const tl_compose_service *s = tl_compose_service_get(c, "app");
	assert_non_null(s);
	const char *k = NULL, *v = NULL;
	tl_compose_service_env_at(s, 0, &k, &v);
	assert_string_equal(k, "E");
	assert_int_equal(strlen(v), 150000);
	tl_compose_free(c);
	tl_buf_dispose(&y);
	tl_envfile_free(vars);
}

/* A compose file (or its .env) that is a link to /dev/zero: the read
 * stops at the limit instead of filling memory. */
static void test_compose_link_to_dev_zero(void **state)
{
	char *dir = tl_test_tmpdir();
	char p[512];
	snprintf(p, sizeof(p), "%s/docker-compose.yml", dir);
	assert_int_equal(symlink("/dev/zero", p), 0);
	tl_compose *c = NULL;
	tl_compose_options o = quiet_options();
	o.policy = TL_COMPOSE_TRUSTED;
	long t0 = now_ms();
	tl_assert_rc(TL_EINVALID, tl_compose_load(&c, p, &o));
	tl_assert_error_contains("larger than 1048576 bytes (the limit)");
	assert_null(c);

	/* the .env next to a good compose file */
	unlink(p);
	tl_test_write_file(p, "services:\n  app:\n    image: busybox\n", 0644);
	snprintf(p, sizeof(p), "%s/.env", dir);
	assert_int_equal(symlink("/dev/zero", p), 0);
	o.flags = TL_COMPOSE_NO_PROCESS_ENV;
	snprintf(p, sizeof(p), "%s/docker-compose.yml", dir);
	tl_assert_rc(TL_EINVALID, tl_compose_load(&c, p, &o));
	tl_assert_error_contains("env file");
	tl_assert_error_contains("(the limit)");
	assert_true(now_ms() - t0 < FAST_MS);
	tl_test_rmdir(dir);
}

/* ---- env files ---- */

static void test_envfile_many_keys_linear(void **state)
{
	tl_buf t = TL_BUF_INIT;
	for (int i = 0; i < 200000; i++)
		tl_assert_ok(tl__buf_printf(&t, "KEY_%d=v\n", i));
	tl_assert_ok(tl__buf_puts(&t, "KEY_7=last\n"));
	tl_envfile *e = NULL;
	long t0 = now_ms();
	tl_assert_ok(tl_envfile_parse(&e, t.ptr, t.size, "big.env"));
	assert_true(now_ms() - t0 < FAST_MS);
	assert_int_equal(tl_envfile_count(e), 200000);
	assert_string_equal(tl_envfile_get(e, "KEY_7"), "last");
	assert_int_equal(tl_envfile_warning_count(e), 1);
	tl_envfile_free(e);
	tl_buf_dispose(&t);
}

/* ---- .dockerignore ---- */

/* A path n segments deep: "a/a/a/.../a". */
static char *deep_path(int n)
{
	char *p = malloc((size_t)n * 2 + 1);
	for (int i = 0; i < n; i++) {
		p[2 * i] = 'a';
		p[2 * i + 1] = '/';
	}
	p[2 * n - 1] = '\0';
	return p;
}

static void test_dockerignore_doublestar_bomb(void **state)
{
	/* 100 "**" then a name that is not there, against a path 64 deep:
	 * trying every split would be C(164, 100) attempts */
	tl_buf t = TL_BUF_INIT;
	for (int i = 0; i < 100; i++)
		tl_assert_ok(tl__buf_puts(&t, "**/"));
	tl_assert_ok(tl__buf_puts(&t, "nothere\n"));
	/* "**" between literal segments: the greedy path must still go back */
	for (int i = 0; i < 60; i++)
		tl_assert_ok(tl__buf_puts(&t, "**/a/"));
	tl_assert_ok(tl__buf_puts(&t, "b\n"));
	tl__docker_ignore *ig = NULL;
	tl_assert_ok(tl__docker_ignore_parse(&ig, t.ptr, t.size));
	char *deep = deep_path(64);
	long t0 = now_ms();
	assert_int_equal(tl__docker_ignore_match(ig, deep), 0);
	assert_true(now_ms() - t0 < FAST_MS);
	tl__docker_ignore_free(ig);

	/* correct answers, on the same shapes */
	tl_assert_ok(tl__docker_ignore_parse(&ig, "**/**/**/**/a/**/b\n", 19));
	assert_int_equal(tl__docker_ignore_match(ig, "x/a/y/z/b"), 1);
	assert_int_equal(tl__docker_ignore_match(ig, "x/a/y/z/b/below"), 1);
	assert_int_equal(tl__docker_ignore_match(ig, "b/a"), 0);
	assert_int_equal(tl__docker_ignore_match(ig, deep), 0);
	tl__docker_ignore_free(ig);
	tl__buf_clear(&t);
	for (int i = 0; i < 63; i++)
		tl_assert_ok(tl__buf_puts(&t, "**/a/"));
	tl_assert_ok(tl__buf_puts(&t, "a\n"));
	tl_assert_ok(tl__docker_ignore_parse(&ig, t.ptr, t.size));
	t0 = now_ms();
	assert_int_equal(tl__docker_ignore_match(ig, deep), 1);
	assert_true(now_ms() - t0 < FAST_MS);
	tl__docker_ignore_free(ig);
	free(deep);
	tl_buf_dispose(&t);
}

/* The bomb on a real tree through the tar planner, as a build sees it. */
static void test_dockerignore_bomb_on_context(void **state)
{
	char *dir = tl_test_tmpdir();
	tl_buf p = TL_BUF_INIT;
	tl_assert_ok(tl__buf_puts(&p, dir));
	for (int i = 0; i < 40; i++) {
		tl_assert_ok(tl__buf_puts(&p, "/a"));
		assert_int_equal(mkdir(p.ptr, 0755), 0);
		char f[4200];
		snprintf(f, sizeof(f), "%s/f", p.ptr);
		tl_test_write_file(f, "x", 0644);
	}
	tl_buf t = TL_BUF_INIT;
	for (int i = 0; i < 120; i++)
		tl_assert_ok(tl__buf_puts(&t, "**/"));
	tl_assert_ok(tl__buf_puts(&t, "nothere\n!**/**/**/**/**/**/x\n"));
	tl__docker_ignore *ig = NULL;
	tl_assert_ok(tl__docker_ignore_parse(&ig, t.ptr, t.size));
	tl__docker_tar *tar = NULL;
	long t0 = now_ms();
	tl_assert_ok(tl__docker_tar_plan(&tar, dir, ig, NULL));
	assert_true(now_ms() - t0 < FAST_MS);
	assert_int_equal(tl__docker_tar_count(tar), 80); /* 40 dirs, 40 files: nothing ignored */
	tl__docker_tar_free(tar);
	tl__docker_ignore_free(ig);
	tl_buf_dispose(&t);
	tl_buf_dispose(&p);
	tl_test_rmdir(dir);
}

static void test_dockerignore_limits(void **state)
{
	tl__docker_ignore *ig = NULL;
	tl_buf t = TL_BUF_INIT;
	for (int i = 0; i < 200; i++)
		tl_assert_ok(tl__buf_puts(&t, "x/"));
	tl_assert_rc(TL_EINVALID, tl__docker_ignore_parse(&ig, t.ptr, t.size));
	tl_assert_error_contains("more than 128 path segments (the limit)");
	assert_null(ig);
	tl__buf_clear(&t);
	for (int i = 0; i < 10001; i++)
		tl_assert_ok(tl__buf_printf(&t, "p%d\n", i));
	tl_assert_rc(TL_EINVALID, tl__docker_ignore_parse(&ig, t.ptr, t.size));
	tl_assert_error_contains(".dockerignore:10001: more than 10000 patterns (the limit)");
	tl__buf_clear(&t);
	tl_assert_ok(tl__buf_grow(&t, (1u << 20) + 2));
	memset(t.ptr, '#', (1u << 20) + 1);
	t.size = (1u << 20) + 1;
	tl_assert_rc(TL_EINVALID, tl__docker_ignore_parse(&ig, t.ptr, t.size));
	tl_assert_error_contains("(the limit)");
	tl_buf_dispose(&t);

	/* the bounded read that the build uses for it: /dev/zero stops */
	tl_buf got = TL_BUF_INIT;
	tl_assert_rc(TL_EINVALID, tl__file_read_max(&got, "/dev/zero", DK_IGNORE_MAX_BYTES,
	                                            "the .dockerignore"));
	tl_assert_error_contains("the .dockerignore /dev/zero is larger than 1048576 bytes");
	assert_null(got.ptr);
}

/* ---- output without newlines ---- */

typedef struct {
	int n;
	size_t longest;
	char first[128], last[128];
} seen;

static int count_events(const tl_event *ev, void *p)
{
	seen *s = p;
	if (ev->type != TL_EVENT_OUTPUT)
		return 0;
	s->n++;
	size_t l = strlen(ev->message);
	if (l > s->longest)
		s->longest = l;
	snprintf(s->last, sizeof(s->last), "%s", l > 60 ? ev->message + l - 60 : ev->message);
	if (s->n == 1)
		snprintf(s->first, sizeof(s->first), "%s", s->last);
	return 0;
}

/* 1 GiB on one line, fed as a stream would be: one cut, marked event of
 * DK_LINE_MAX bytes, memory flat, and the next line comes through whole. */
static void test_lines_endless_line(void **state)
{
	tl_ctx *ctx = tl_test_ctx(0);
	seen s = {0};
	tl_ctx_set_event_cb(ctx, count_events, &s);
	tl__docker_lines l = {ctx, "c1", {TL_BUF_INIT, TL_BUF_INIT, TL_BUF_INIT}, {0, 0, 0}};
	static char chunk[64 * 1024];
	memset(chunk, 'a', sizeof(chunk));
	chunk[sizeof(chunk) - 1] = (char)0xC3; /* an "é" split by the cut is left out */
	chunk[0] = (char)0xA9;
	long base = tl_test_peak_reset_kib();
	for (int i = 0; i < 16384; i++) /* 1 GiB */
		tl_assert_ok(tl__docker_lines_put(&l, DK_STDOUT, chunk, sizeof(chunk)));
	tl_assert_ok(tl__docker_lines_put(&l, DK_STDOUT, "tail\nnext line\n", 15));
	tl_assert_ok(tl__docker_lines_flush(&l));
	long grew = tl_test_peak_kib() - base;
	print_message("1 GiB without a newline: %d events, longest %zu bytes, +%ld KiB peak\n",
	              s.n, s.longest, grew);
	assert_int_equal(s.n, 2);
	assert_true(s.longest <= DK_LINE_MAX + 64);
	assert_string_equal(s.last, "next line");
	/* cut, marked, and no half character before the mark */
	assert_non_null(strstr(s.first, "a [... line cut: longer than 65536 bytes]"));
	assert_true(grew < 8 * 1024);
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compose_merge_key_bomb),
		cmocka_unit_test(test_compose_alias_bomb),
		cmocka_unit_test(test_compose_warnings_bounded),
		cmocka_unit_test(test_compose_many_keys_linear),
		cmocka_unit_test(test_compose_interpolation_bombs),
		cmocka_unit_test(test_compose_link_to_dev_zero),
		cmocka_unit_test(test_envfile_many_keys_linear),
		cmocka_unit_test(test_dockerignore_doublestar_bomb),
		cmocka_unit_test(test_dockerignore_bomb_on_context),
		cmocka_unit_test(test_dockerignore_limits),
		cmocka_unit_test(test_lines_endless_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
