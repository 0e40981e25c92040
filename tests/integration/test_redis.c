/* Redis tenancy against the harness Redis 7 (its default user has a
 * password, so a failed AUTH can never fall back to it): isolation of keys
 * and channels, dangerous commands denied, wrong passwords refused,
 * idempotency, rotation, stats and drop. */
#include "tl_test.h"

#include "core/core.h"
#include "core/url.h"

#include <fcntl.h>
#include <jansson.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
	tl_ctx *ctx;
	char *dir;
	char a[32], b[32];
} fixture;

static char host[256];
static int port;

static int setup(void **state)
{
	const char *url = TL_TEST_REQUIRE("TOWLION_REDIS_URL");
	if (!url)
		return -1;
	tl__url u;
	if (tl__url_parse(&u, url, "TOWLION_REDIS_URL"))
		return -1;
	snprintf(host, sizeof(host), "%s", u.host);
	port = u.port ? u.port : 6379;
	tl__url_dispose(&u);
	fixture *f = calloc(1, sizeof(*f));
	f->ctx = tl_test_ctx(1);
	f->dir = tl_test_tmpdir();
	tl_assert_ok(tl_ctx_config_set(f->ctx, "TOWLION_STATE_DIR", f->dir));
	snprintf(f->a, sizeof(f->a), "tr%da", (int)getpid());
	snprintf(f->b, sizeof(f->b), "tr%db", (int)getpid());
	*state = f;
	return 0;
}

static tl_redis *admin(fixture *f)
{
	tl_redis *r = NULL;
	tl_assert_ok(tl_redis_connect(&r, f->ctx));
	return r;
}

static void drop_all(fixture *f)
{
	tl_redis *r = admin(f);
	tl_redis_options o = TL_REDIS_OPTIONS_INIT;
	o.flags = TL_REDIS_PURGE;
	tl_redis_drop(NULL, r, f->a, 0, &o);
	tl_redis_drop(NULL, r, f->b, 0, &o);
	tl_redis_drop(NULL, r, f->a, 7, &o);
	tl_redis_free(r);
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	drop_all(f);
	tl_ctx_free(f->ctx);
	tl_test_rmdir(f->dir);
	free(f);
	return 0;
}

/* The REDIS_URL an app got, parsed. */
static void app_url(fixture *f, const char *app, uint32_t pr, tl__url *u)
{
	tl_buf path = TL_BUF_INIT;
	tl_assert_ok(pr ? tl_preview_env_path(&path, f->ctx, app, pr)
	                : tl_app_env_path(&path, f->ctx, app));
	tl_envfile *env = NULL;
	tl_assert_ok(tl_envfile_open(&env, path.ptr, 0));
	const char *url = tl_envfile_get(env, "REDIS_URL");
	assert_non_null(url);
	tl_assert_ok(tl__url_parse(u, url, "REDIS_URL"));
	tl_envfile_free(env);
	tl_buf_dispose(&path);
}

/* A client logged in as user/password; NULL (and *why set) when refused. */
static redisContext *login(const char *user, const char *password, char *why, size_t wlen)
{
	redisContext *c = redisConnect(host, port);
	assert_non_null(c);
	assert_int_equal(c->err, 0);
	redisReply *r = redisCommand(c, "AUTH %s %s", user, password);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, wlen, "%s", r->str);
		freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

static redisContext *login_app(fixture *f, const char *app, uint32_t pr)
{
	tl__url u;
	app_url(f, app, pr, &u);
	char why[256] = "";
	redisContext *c = login(u.user, u.password, why, sizeof(why));
	if (!c)
		fail_msg("login as %s refused: %s", u.user, why);
	tl__url_dispose(&u);
	return c;
}

/* Run a command; return its error text ("" when it succeeded). */
static const char *run(redisContext *c, char *buf, size_t len, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(c, fmt, arg);
	assert_non_null(r);
	snprintf(buf, len, "%s", r->type == REDIS_REPLY_ERROR ? r->str : "");
	freeReplyObject(r);
	return buf;
}

static void assert_noperm(const char *err)
{
	if (strncmp(err, "NOPERM", 6) != 0)
		fail_msg("expected NOPERM, got \"%s\"", err);
}

static void test_create_and_isolation(void **state)
{
	fixture *f = *state;
	tl_redis *r = admin(f);
	assert_true(atoi(tl_redis_server_version(r)) >= 6);
	tl_redis_report *rep = NULL;
	tl_assert_ok(tl_redis_create(&rep, r, f->a, 0, NULL));
	assert_string_equal(tl_redis_report_user(rep), f->a);
	char prefix[40];
	snprintf(prefix, sizeof(prefix), "%s:", f->a);
	assert_string_equal(tl_redis_report_prefix(rep), prefix);
	assert_int_equal(tl_redis_report_action_count(rep), 2);
	struct stat st;
	assert_int_equal(stat(tl_redis_report_env_path(rep), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	tl_envfile *env = NULL;
	tl_assert_ok(tl_envfile_open(&env, tl_redis_report_env_path(rep), 0));
	assert_string_equal(tl_envfile_get(env, "REDIS_KEY_PREFIX"), prefix);
	char want[128];
	snprintf(want, sizeof(want), "redis://%s:", f->a);
	assert_true(tl__str_startswith(tl_envfile_get(env, "REDIS_URL"), want));
	snprintf(want, sizeof(want), "@%s/0", tl_ctx_config_get(f->ctx, "TOWLION_REDIS_APP_HOST"));
	assert_true(tl__str_endswith(tl_envfile_get(env, "REDIS_URL"), want));
	tl_envfile_free(env);
	tl_redis_report_free(rep);
	tl_assert_ok(tl_redis_create(NULL, r, f->b, 0, NULL));

	redisContext *a = login_app(f, f->a, 0);
	redisContext *b = login_app(f, f->b, 0);
	char buf[256], key[64];
	/* Own keys work. */
	snprintf(key, sizeof(key), "%s:x", f->a);
	assert_string_equal(run(a, buf, sizeof(buf), "SET %s 1", key), "");
	snprintf(key, sizeof(key), "%s:x", f->b);
	assert_string_equal(run(b, buf, sizeof(buf), "SET %s 2", key), "");
	/* The other app's keys, unprefixed keys and a longer name that only
	 * starts like the app are refused. */
	assert_noperm(run(a, buf, sizeof(buf), "GET %s", key));
	assert_noperm(run(a, buf, sizeof(buf), "SET %s evil", key));
	assert_noperm(run(a, buf, sizeof(buf), "DEL %s", key));
	assert_noperm(run(a, buf, sizeof(buf), "GET %s", "plain"));
	snprintf(key, sizeof(key), "%sx:y", f->a);
	assert_noperm(run(a, buf, sizeof(buf), "SET %s 1", key));
	/* Dangerous commands are refused. */
	assert_noperm(run(a, buf, sizeof(buf), "FLUSHALL%s", ""));
	assert_noperm(run(a, buf, sizeof(buf), "FLUSHDB%s", ""));
	assert_noperm(run(a, buf, sizeof(buf), "CONFIG GET %s", "*"));
	assert_noperm(run(a, buf, sizeof(buf), "KEYS %s", "*"));
	assert_noperm(run(a, buf, sizeof(buf), "ACL LIST%s", ""));
	/* B's value is intact. */
	snprintf(key, sizeof(key), "%s:x", f->b);
	redisReply *rr = redisCommand(b, "GET %s", key);
	assert_string_equal(rr->str, "2");
	freeReplyObject(rr);
	/* Channels: only under the own prefix. */
	char chan[64];
	snprintf(chan, sizeof(chan), "%s:events", f->b);
	assert_noperm(run(a, buf, sizeof(buf), "PUBLISH %s hi", chan));
	snprintf(chan, sizeof(chan), "%s:events", f->a);
	assert_string_equal(run(a, buf, sizeof(buf), "PUBLISH %s hi", chan), "");
	redisContext *sub = login_app(f, f->a, 0);
	snprintf(chan, sizeof(chan), "%s:events", f->b);
	assert_noperm(run(sub, buf, sizeof(buf), "SUBSCRIBE %s", chan));
	redisFree(sub);
	sub = login_app(f, f->a, 0);
	snprintf(chan, sizeof(chan), "%s:events", f->a);
	assert_string_equal(run(sub, buf, sizeof(buf), "SUBSCRIBE %s", chan), "");
	assert_string_equal(run(a, buf, sizeof(buf), "PUBLISH %s hello", chan), "");
	redisReply *msg = NULL;
	assert_int_equal(redisGetReply(sub, (void **)&msg), REDIS_OK);
	assert_int_equal(msg->type, REDIS_REPLY_ARRAY);
	assert_string_equal(msg->element[2]->str, "hello");
	freeReplyObject(msg);
	redisFree(sub);
	redisFree(a);
	redisFree(b);
	tl_redis_free(r);
}

static void test_wrong_password_refused(void **state)
{
	fixture *f = *state;
	tl_redis *r = admin(f);
	tl_assert_ok(tl_redis_create(NULL, r, f->a, 0, NULL));
	char why[256] = "";
	assert_null(login(f->a, "wrong-password", why, sizeof(why)));
	assert_true(tl__str_startswith(why, "WRONGPASS"));
	/* A password alone is tried against the default user, which has
	 * another one. */
	tl__url u;
	app_url(f, f->a, 0, &u);
	redisContext *c = redisConnect(host, port);
	redisReply *rep = redisCommand(c, "AUTH %s", u.password);
	assert_int_equal(rep->type, REDIS_REPLY_ERROR);
	freeReplyObject(rep);
	/* Unauthenticated connections can do nothing. */
	rep = redisCommand(c, "GET %s:x", f->a);
	assert_int_equal(rep->type, REDIS_REPLY_ERROR);
	assert_true(tl__str_startswith(rep->str, "NOAUTH"));
	freeReplyObject(rep);
	redisFree(c);
	tl__url_dispose(&u);
	/* The library's own admin connection with a wrong password. */
	tl_ctx *bad = tl_test_ctx(1);
	char url[512];
	snprintf(url, sizeof(url), "redis://default:nope@%s:%d", host, port);
	tl_assert_ok(tl_ctx_config_set(bad, "TOWLION_REDIS_URL", url));
	tl_redis *r2 = NULL;
	tl_assert_rc(TL_EAUTH, tl_redis_connect(&r2, bad));
	assert_string_equal(tl_error_last()->upstream, "WRONGPASS");
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_REDIS);
	assert_null(strstr(tl_error_last()->message, "nope"));
	snprintf(url, sizeof(url), "redis://127.0.0.1:1");
	tl_assert_ok(tl_ctx_config_set(bad, "TOWLION_REDIS_URL", url));
	tl_assert_rc(TL_EUNAVAILABLE, tl_redis_connect(&r2, bad));
	tl_ctx_free(bad);
	tl_redis_free(r);
}

static char *env_text(fixture *f, const char *app)
{
	tl_buf path = TL_BUF_INIT;
	tl_assert_ok(tl_app_env_path(&path, f->ctx, app));
	char *t = tl_test_read_file(path.ptr);
	tl_buf_dispose(&path);
	return t;
}

static void test_idempotent_rotate_and_repair(void **state)
{
	fixture *f = *state;
	tl_redis *r = admin(f);
	tl_assert_ok(tl_redis_create(NULL, r, f->a, 0, NULL));
	char *before = env_text(f, f->a);
	/* Again: nothing to do, same password. */
	tl_redis_report *rep = NULL;
	tl_assert_ok(tl_redis_create(&rep, r, f->a, 0, NULL));
	assert_int_equal(tl_redis_report_action_count(rep), 0);
	tl_redis_report_free(rep);
	char *after = env_text(f, f->a);
	assert_string_equal(before, after);
	free(after);
	/* Someone widened the user's rules: create puts them back. */
	redisContext *adm = NULL;
	{
		tl__url u;
		tl_assert_ok(tl__url_parse(&u, tl_ctx_config_get(f->ctx, "TOWLION_REDIS_URL"), "x"));
		char why[256];
		adm = login(u.user, u.password, why, sizeof(why));
		assert_non_null(adm);
		tl__url_dispose(&u);
	}
	redisReply *x = redisCommand(adm, "ACL SETUSER %s ~* +@dangerous", f->a);
	freeReplyObject(x);
	tl_assert_ok(tl_redis_create(&rep, r, f->a, 0, NULL));
	assert_int_equal(tl_redis_report_action_count(rep), 1);
	assert_non_null(strstr(tl_redis_report_action(rep, 0), "reset the rules"));
	tl_redis_report_free(rep);
	redisContext *a = login_app(f, f->a, 0);
	char buf[256];
	assert_noperm(run(a, buf, sizeof(buf), "FLUSHALL%s", ""));
	assert_noperm(run(a, buf, sizeof(buf), "GET %s", "plain"));
	redisFree(a);
	after = env_text(f, f->a);
	assert_string_equal(before, after);
	free(after);
	/* The env file lost the password: create refuses, rotate fixes it. */
	tl_buf path = TL_BUF_INIT;
	tl_assert_ok(tl_app_env_path(&path, f->ctx, f->a));
	tl_test_write_file(path.ptr, "OTHER=kept\n", 0600);
	tl_assert_rc(TL_ECONFLICT, tl_redis_create(NULL, r, f->a, 0, NULL));
	tl_assert_error_contains("rotate");
	tl__url old;
	{
		/* The old password, from the saved copy. */
		tl_envfile *e = NULL;
		tl_assert_ok(tl_envfile_parse(&e, before, strlen(before), "before"));
		tl_assert_ok(tl__url_parse(&old, tl_envfile_get(e, "REDIS_URL"), "x"));
		tl_envfile_free(e);
	}
	tl_redis_options o = TL_REDIS_OPTIONS_INIT;
	o.flags = TL_REDIS_ROTATE;
	tl_assert_ok(tl_redis_create(&rep, r, f->a, 0, &o));
	assert_non_null(strstr(tl_redis_report_action(rep, 1), "new password"));
	tl_redis_report_free(rep);
	char why[256] = "";
	assert_null(login(old.user, old.password, why, sizeof(why)));
	a = login_app(f, f->a, 0);
	redisFree(a);
	char *text = tl_test_read_file(path.ptr);
	assert_non_null(strstr(text, "OTHER=kept"));
	free(text);
	tl__url_dispose(&old);
	free(before);
	tl_buf_dispose(&path);
	redisFree(adm);
	tl_redis_free(r);
}

static void test_dry_run_and_bad_names(void **state)
{
	fixture *f = *state;
	tl_redis *r = admin(f);
	drop_all(f);
	tl_redis_options o = TL_REDIS_OPTIONS_INIT;
	o.flags = TL_REDIS_DRY_RUN;
	tl_redis_report *rep = NULL;
	tl_assert_ok(tl_redis_create(&rep, r, f->b, 0, &o));
	assert_true(tl_redis_report_dry_run(rep));
	assert_int_equal(tl_redis_report_action_count(rep), 2);
	char *text = tl_test_read_file(tl_redis_report_env_path(rep));
	assert_true(!text || !strstr(text, "REDIS_URL"));
	free(text);
	tl_redis_report_free(rep);
	tl_redis_stats *s = NULL;
	tl_assert_ok(tl_redis_stats_get(&s, r, f->b, 0));
	assert_false(tl_redis_stats_user_exists(s));
	tl_redis_stats_free(s);
	tl_assert_rc(TL_EINVALID, tl_redis_create(NULL, r, "Bad_App", 0, NULL));
	tl_assert_rc(TL_EINVALID, tl_redis_create(NULL, r, "x-pr-3", 0, NULL));
	tl_assert_rc(TL_EINVALID, tl_redis_create(NULL, r, f->a, TL_PR_MAX + 1u, NULL));
	o.flags = 1u << 9;
	tl_assert_rc(TL_EINVALID, tl_redis_create(NULL, r, f->a, 0, &o));
	tl_redis_free(r);
}

static void test_preview_user(void **state)
{
	fixture *f = *state;
	tl_redis *r = admin(f);
	tl_assert_ok(tl_redis_create(NULL, r, f->a, 0, NULL));
	tl_redis_report *rep = NULL;
	tl_assert_ok(tl_redis_create(&rep, r, f->a, 7, NULL));
	char want[64];
	snprintf(want, sizeof(want), "%s-pr-7", f->a);
	assert_string_equal(tl_redis_report_user(rep), want);
	assert_non_null(strstr(tl_redis_report_env_path(rep), "/previews/pr-7.env"));
	tl_redis_report_free(rep);
	redisContext *p = login_app(f, f->a, 7);
	redisContext *a = login_app(f, f->a, 0);
	char buf[256], key[64];
	snprintf(key, sizeof(key), "%s-pr-7:k", f->a);
	assert_string_equal(run(p, buf, sizeof(buf), "SET %s 1", key), "");
	/* The app's pattern "<app>:*" does not cover "<app>-pr-7:". */
	assert_noperm(run(a, buf, sizeof(buf), "GET %s", key));
	snprintf(key, sizeof(key), "%s:k", f->a);
	assert_noperm(run(p, buf, sizeof(buf), "GET %s", key));
	redisFree(p);
	redisFree(a);
	tl_redis_free(r);
}

static void test_stats_and_drop(void **state)
{
	fixture *f = *state;
	tl_redis *r = admin(f);
	tl_assert_ok(tl_redis_create(NULL, r, f->a, 0, NULL));
	redisContext *a = login_app(f, f->a, 0);
	for (int i = 0; i < 3; i++)
		freeReplyObject(redisCommand(a, "LPUSH %s:celery task%d", f->a, i));
	freeReplyObject(redisCommand(a, "LPUSH %s:emails t", f->a));
	freeReplyObject(redisCommand(a, "SET %s:_kombu.binding.celery x", f->a));
	tl_redis_stats *s = NULL;
	tl_assert_ok(tl_redis_stats_get(&s, r, f->a, 0));
	assert_true(tl_redis_stats_user_exists(s));
	assert_true(tl_redis_stats_used_memory(s) > 0);
	assert_true(tl_redis_stats_connected_clients(s) >= 2);
	assert_int_equal(tl_redis_stats_app_clients(s), 1);
	assert_int_equal(tl_redis_stats_app_keys(s), 3);
	assert_int_equal(tl_redis_stats_queue_count(s), 2);
	assert_string_equal(tl_redis_stats_queue_name(s, 0), "celery");
	assert_int_equal(tl_redis_stats_queue_length(s, 0), 3);
	assert_string_equal(tl_redis_stats_queue_name(s, 1), "emails");
	assert_int_equal(tl_redis_stats_queue_length(s, 1), 1);
	assert_null(tl_redis_stats_queue_name(s, 2));
	tl_redis_stats_free(s);
	/* Drop keeps the data by default; the user and its clients go. */
	tl_redis_report *rep = NULL;
	tl_assert_ok(tl_redis_drop(&rep, r, f->a, 0, NULL));
	assert_int_equal(tl_redis_report_action_count(rep), 2);
	tl_redis_report_free(rep);
	redisReply *x = redisCommand(a, "GET %s:celery", f->a);
	assert_true(x == NULL || x->type == REDIS_REPLY_ERROR); /* disconnected */
	freeReplyObject(x);
	redisFree(a);
	tl_assert_ok(tl_redis_stats_get(&s, r, f->a, 0));
	assert_false(tl_redis_stats_user_exists(s));
	assert_int_equal(tl_redis_stats_app_keys(s), 3);
	tl_redis_stats_free(s);
	char *text = env_text(f, f->a);
	assert_null(strstr(text, "REDIS_URL"));
	free(text);
	/* Again: nothing left to do. Purge: the keys go. */
	tl_assert_ok(tl_redis_drop(&rep, r, f->a, 0, NULL));
	assert_int_equal(tl_redis_report_action_count(rep), 0);
	tl_redis_report_free(rep);
	tl_redis_options o = TL_REDIS_OPTIONS_INIT;
	o.flags = TL_REDIS_PURGE | TL_REDIS_DRY_RUN;
	tl_assert_ok(tl_redis_drop(&rep, r, f->a, 0, &o));
	assert_int_equal(tl_redis_report_keys_deleted(rep), 0);
	tl_redis_report_free(rep);
	o.flags = TL_REDIS_PURGE;
	tl_assert_ok(tl_redis_drop(&rep, r, f->a, 0, &o));
	assert_int_equal(tl_redis_report_keys_deleted(rep), 3);
	tl_redis_report_free(rep);
	tl_assert_ok(tl_redis_stats_get(&s, r, f->a, 0));
	assert_int_equal(tl_redis_stats_app_keys(s), 0);
	tl_redis_stats_free(s);
	tl_redis_free(r);
}

static void test_concurrent_creates_agree(void **state)
{
	fixture *f = *state;
	/* Eight processes, connected and released at once by closing a pipe,
	 * create the same app: one password wins, and it is the one in the
	 * env file. Several rounds, each from scratch. */
	for (int round = 0; round < 5; round++) {
		drop_all(f);
		int gate[2];
		assert_int_equal(pipe(gate), 0);
		pid_t kids[8];
		for (int i = 0; i < 8; i++) {
			kids[i] = fork();
			assert_true(kids[i] >= 0);
			if (kids[i] == 0) {
				close(gate[1]);
				tl_ctx *ctx = tl_test_ctx(1);
				tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", f->dir);
				tl_redis *r = NULL;
				int rc = tl_redis_connect(&r, ctx);
				char byte;
				while (read(gate[0], &byte, 1) > 0)
					;
				if (!rc)
					rc = tl_redis_create(NULL, r, f->a, 0, NULL);
				tl_redis_free(r);
				tl_ctx_free(ctx);
				_exit(rc == TL_OK ? 0 : 1);
			}
		}
		close(gate[0]);
		usleep(200000); /* let every child connect */
		close(gate[1]);
		for (int i = 0; i < 8; i++) {
			int st = 0;
			assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		redisContext *a = login_app(f, f->a, 0);
		redisFree(a);
	}
}

/* A private redis-server that keeps its users in an ACL file, on a free
 * port: a server whose child exited (port taken) is retried elsewhere. */
static pid_t start_private_redis(const char *dir, int *port_io)
{
	char aclfile[512];
	snprintf(aclfile, sizeof(aclfile), "%s/users.acl", dir);
	for (int attempt = 0; attempt < 20; attempt++) {
		int p = *port_io ? *port_io : 20000 + (int)((getpid() * 7919u + attempt * 104729u) % 40000);
		char portarg[16];
		snprintf(portarg, sizeof(portarg), "%d", p);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 1);
			dup2(devnull, 2);
			execlp("redis-server", "redis-server", "--port", portarg, "--bind", "127.0.0.1",
			       "--aclfile", aclfile, "--save", "", "--appendonly", "no", "--dir", dir,
			       (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 100; i++) {
			int st;
			if (waitpid(pid, &st, WNOHANG) == pid)
				break; /* it exited: most likely the port is taken */
			redisContext *c = redisConnect("127.0.0.1", p);
			bool up = c && !c->err;
			redisFree(c);
			if (up) {
				*port_io = p;
				return pid;
			}
			usleep(50000);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (*port_io)
			break; /* a restart must reuse its port */
	}
	fail_msg("could not start a private redis-server");
	return -1;
}

static void stop_private_redis(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void test_users_survive_restart_with_aclfile(void **state)
{
	fixture *f = *state;
	char *dir = tl_test_tmpdir();
	char path[512];
	snprintf(path, sizeof(path), "%s/users.acl", dir);
	tl_test_write_file(path, "user default on >adminpw ~* &* +@all\n", 0600);
	int p = 0;
	pid_t srv = start_private_redis(dir, &p);
	tl_ctx *ctx = tl_test_ctx(1);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", f->dir));
	char url[128];
	snprintf(url, sizeof(url), "redis://default:adminpw@127.0.0.1:%d", p);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_REDIS_URL", url));
	tl_redis *r = NULL;
	tl_assert_ok(tl_redis_connect(&r, ctx));
	tl_assert_ok(tl_redis_create(NULL, r, f->b, 0, NULL));
	tl_redis_free(r);
	char *acl = tl_test_read_file(path);
	char want[64];
	snprintf(want, sizeof(want), "user %s on", f->b);
	assert_non_null(strstr(acl, want));
	free(acl);
	/* After a restart the app still logs in with its env file's URL. */
	stop_private_redis(srv);
	srv = start_private_redis(dir, &p);
	tl__url u;
	app_url(f, f->b, 0, &u);
	redisContext *c = redisConnect("127.0.0.1", p);
	redisReply *rep = redisCommand(c, "AUTH %s %s", u.user, u.password);
	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	redisFree(c);
	tl__url_dispose(&u);
	/* Drop saves the file too. */
	tl_assert_ok(tl_redis_connect(&r, ctx));
	tl_assert_ok(tl_redis_drop(NULL, r, f->b, 0, NULL));
	tl_redis_free(r);
	acl = tl_test_read_file(path);
	assert_null(strstr(acl, want));
	free(acl);
	stop_private_redis(srv);
	tl_ctx_free(ctx);
	tl_test_rmdir(dir);
}

static int towlion(tl__spawn_result *r, const char *const *env, const char *const *args)
{
	const char *argv[32] = {TL_TEST_BINARY_DIR "/towlion"};
	size_t n = 1;
	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	tl__spawn_opts o = {.argv = argv, .env = env, .stdout_mode = TL__STDIO_BUFFER,
	                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 60000};
	memset(r, 0, sizeof(*r));
	tl_assert_ok(tl__spawn(r, NULL, &o));
	return r->exit_status;
}

static void test_cli(void **state)
{
	fixture *f = *state;
	drop_all(f);
	char statearg[600];
	snprintf(statearg, sizeof(statearg), "TOWLION_STATE_DIR=%s", f->dir);
	const char *env[] = {statearg, NULL};
	tl__spawn_result r;
	const char *create[] = {"--json", "redis", "create", f->a, "--standalone", NULL};
	assert_int_equal(towlion(&r, env, create), 0);
	json_t *doc = json_loads(r.out.ptr, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "user")), f->a);
	assert_int_equal(json_array_size(json_object_get(doc, "actions")), 2);
	assert_null(strstr(r.out.ptr, "redis://")); /* no secret in the output */
	json_decref(doc);
	tl__spawn_result_dispose(&r);
	redisContext *a = login_app(f, f->a, 0);
	freeReplyObject(redisCommand(a, "RPUSH %s:celery t1", f->a));
	redisFree(a);
	const char *stats[] = {"--json", "redis", "stats", f->a, NULL};
	assert_int_equal(towlion(&r, env, stats), 0);
	doc = json_loads(r.out.ptr, 0, NULL);
	assert_non_null(doc);
	json_t *q = json_array_get(json_object_get(doc, "queues"), 0);
	assert_string_equal(json_string_value(json_object_get(q, "name")), "celery");
	assert_int_equal(json_integer_value(json_object_get(q, "length")), 1);
	json_decref(doc);
	tl__spawn_result_dispose(&r);
	/* --purge needs --yes; --dry-run changes nothing. */
	const char *purge[] = {"redis", "drop", f->a, "--purge", NULL};
	assert_int_equal(towlion(&r, env, purge), 2);
	tl__spawn_result_dispose(&r);
	const char *dry[] = {"--dry-run", "redis", "drop", f->a, "--purge", NULL};
	assert_int_equal(towlion(&r, env, dry), 0);
	assert_non_null(strstr(r.out.ptr, "would delete"));
	tl__spawn_result_dispose(&r);
	a = login_app(f, f->a, 0);
	redisFree(a);
	const char *drop[] = {"redis", "drop", f->a, "--purge", "--yes", NULL};
	assert_int_equal(towlion(&r, env, drop), 0);
	tl__spawn_result_dispose(&r);
	char why[256];
	assert_null(login(f->a, "anything", why, sizeof(why)));
	assert_true(tl__str_startswith(why, "WRONGPASS"));
	const char *bad[] = {"redis", "create", "Bad_App", NULL};
	assert_int_equal(towlion(&r, env, bad), 1);
	tl__spawn_result_dispose(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_isolation),
		cmocka_unit_test(test_wrong_password_refused),
		cmocka_unit_test(test_idempotent_rotate_and_repair),
		cmocka_unit_test(test_dry_run_and_bad_names),
		cmocka_unit_test(test_preview_user),
		cmocka_unit_test(test_stats_and_drop),
		cmocka_unit_test(test_concurrent_creates_agree),
		cmocka_unit_test(test_users_survive_restart_with_aclfile),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
