/* Tenant isolation in the shared Redis, against the harness's Redis 7:
 * every command a tenant could use to see or change another tenant (or the
 * whole server) is tried for real as app A's user and must fail, while app
 * B's keys stay and B keeps working; reserved and foreign user names are
 * refused; app users survive a restart of Redis (aclfile + ACL SAVE). */
#include "tl_test.h"

#include "core/core.h"
#include "core/url.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	snprintf(f->a, sizeof(f->a), "iso%da", (int)getpid());
	snprintf(f->b, sizeof(f->b), "iso%db", (int)getpid());
	*state = f;
	return 0;
}

static tl_redis *admin(fixture *f)
{
	tl_redis *r = NULL;
	tl_assert_ok(tl_redis_connect(&r, f->ctx));
	return r;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	tl_redis *r = NULL;
	if (tl_redis_connect(&r, f->ctx) == TL_OK) {
		tl_redis_options o = TL_REDIS_OPTIONS_INIT;
		o.flags = TL_REDIS_PURGE;
		tl_redis_drop(NULL, r, f->a, 0, &o);
		tl_redis_drop(NULL, r, f->b, 0, &o);
		tl_redis_free(r);
	}
	tl_ctx_free(f->ctx);
	tl_test_rmdir(f->dir);
	free(f);
	return 0;
}

/* A raw admin connection (the harness's default user). */
static redisContext *admin_raw(void)
{
	tl__url u;
	tl_assert_ok(tl__url_parse(&u, getenv("TOWLION_REDIS_URL"), "TOWLION_REDIS_URL"));
	redisContext *c = redisConnect(host, port);
	assert_true(c && !c->err);
	redisReply *r = redisCommand(c, "AUTH %s %s", u.user ? u.user : "default", u.password);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	tl__url_dispose(&u);
	return c;
}

/* A client logged in as the app, with the password from its env file. */
static redisContext *login_app(fixture *f, const char *app)
{
	tl_buf path = TL_BUF_INIT;
	tl_assert_ok(tl_app_env_path(&path, f->ctx, app));
	tl_envfile *env = NULL;
	tl_assert_ok(tl_envfile_open(&env, path.ptr, 0));
	tl__url u;
	tl_assert_ok(tl__url_parse(&u, tl_envfile_get(env, "REDIS_URL"), "REDIS_URL"));
	redisContext *c = redisConnect(host, port);
	assert_true(c && !c->err);
	redisReply *r = redisCommand(c, "AUTH %s %s", u.user, u.password);
	if (r->type != REDIS_REPLY_STATUS)
		fail_msg("login as %s refused: %s", u.user, r->str ? r->str : "?");
	freeReplyObject(r);
	tl__url_dispose(&u);
	tl_envfile_free(env);
	tl_buf_dispose(&path);
	return c;
}

/* Run argv (NULL-terminated); the error text, or "" when it succeeded. */
static const char *cmd(redisContext *c, char *buf, size_t len, const char *first, ...)
{
	const char *argv[16];
	int argc = 0;
	va_list ap;
	va_start(ap, first);
	for (const char *s = first; s && argc < 16; s = va_arg(ap, const char *))
		argv[argc++] = s;
	va_end(ap);
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	assert_non_null(r);
	snprintf(buf, len, "%s", r->type == REDIS_REPLY_ERROR ? r->str : "");
	freeReplyObject(r);
	return buf;
}

/* Refused by the ACL: NOPERM, or a script told it cannot run a command
 * or reach a key (DEBUG is also off for everyone, which Redis checks
 * first: "DEBUG command not allowed"). */
static void refused(const char *what, const char *err)
{
	if (strncmp(err, "NOPERM", 6) != 0 && !strstr(err, "can't run this command") &&
	    !strstr(err, "can't access at least one of the keys") &&
	    strncmp(err, "ERR DEBUG command not allowed", 29) != 0)
		fail_msg("%s as a tenant: expected a permission error, got \"%s\"", what, err);
}

#define REFUSED(c, ...)                                                       \
	do {                                                                      \
		char e_[512];                                                         \
		refused(#__VA_ARGS__, cmd((c), e_, sizeof(e_), __VA_ARGS__, NULL));   \
	} while (0)

#define ALLOWED(c, ...)                                                       \
	do {                                                                      \
		char e_[512];                                                         \
		if (*cmd((c), e_, sizeof(e_), __VA_ARGS__, NULL))                     \
			fail_msg("%s as a tenant: refused: %s", #__VA_ARGS__, e_);       \
	} while (0)

/* B's keys are all there and B's user works. */
static void assert_b_intact(fixture *f, const char *bkey, const char *bchan)
{
	redisContext *b = login_app(f, f->b);
	redisReply *r = redisCommand(b, "GET %s", bkey);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_string_equal(r->str, "b-secret");
	freeReplyObject(r);
	char k2[64];
	snprintf(k2, sizeof(k2), "%s:queue", f->b);
	r = redisCommand(b, "LLEN %s", k2);
	assert_int_equal(r->integer, 2);
	freeReplyObject(r);
	ALLOWED(b, "PUBLISH", bchan, "still-here");
	redisFree(b);
	/* And the admin still sees B's keys (nothing was flushed or moved). */
	redisContext *adm = admin_raw();
	r = redisCommand(adm, "EXISTS %s %s", bkey, k2);
	assert_int_equal(r->integer, 2);
	freeReplyObject(r);
	redisFree(adm);
}

static void test_cross_tenant_commands_refused(void **state)
{
	fixture *f = *state;
	tl_redis *r = admin(f);
	tl_assert_ok(tl_redis_create(NULL, r, f->a, 0, NULL));
	tl_assert_ok(tl_redis_create(NULL, r, f->b, 0, NULL));
	tl_redis_free(r);

	char bkey[64], bq[64], bchan[64], akey[64];
	snprintf(bkey, sizeof(bkey), "%s:secret", f->b);
	snprintf(bq, sizeof(bq), "%s:queue", f->b);
	snprintf(bchan, sizeof(bchan), "%s:events", f->b);
	snprintf(akey, sizeof(akey), "%s:mine", f->a);
	redisContext *b = login_app(f, f->b);
	ALLOWED(b, "SET", bkey, "b-secret");
	ALLOWED(b, "RPUSH", bq, "t1", "t2");
	redisFree(b);
	/* A subscriber of B's, so PUBSUB CHANNELS would have something to show. */
	redisContext *bsub = login_app(f, f->b);
	ALLOWED(bsub, "SUBSCRIBE", bchan);

	redisContext *a = login_app(f, f->a);
	/* What A may do: its own keys, database 0, scripts on its own keys. */
	ALLOWED(a, "SET", akey, "1");
	ALLOWED(a, "SELECT", "0");
	ALLOWED(a, "EVAL", "return redis.call('get', KEYS[1])", "1", akey);
	ALLOWED(a, "PING");

	/* Keyspace-wide reads: other tenants' key names and counts. */
	REFUSED(a, "SCAN", "0");
	REFUSED(a, "SCAN", "0", "MATCH", "*");
	REFUSED(a, "KEYS", "*");
	REFUSED(a, "RANDOMKEY");
	REFUSED(a, "DBSIZE");
	REFUSED(a, "CLIENT", "TRACKING", "on", "BCAST");
	/* Everything at once. */
	REFUSED(a, "FLUSHALL");
	REFUSED(a, "FLUSHALL", "ASYNC");
	REFUSED(a, "FLUSHDB");
	REFUSED(a, "SWAPDB", "0", "1");
	REFUSED(a, "SELECT", "1");
	REFUSED(a, "MOVE", akey, "1");
	/* Scripts and functions are server-wide. */
	REFUSED(a, "SCRIPT", "FLUSH");
	REFUSED(a, "SCRIPT", "KILL");
	REFUSED(a, "FUNCTION", "FLUSH");
	REFUSED(a, "FUNCTION", "LOAD",
	        "#!lua name=evil\nredis.register_function('f', function() return 1 end)");
	REFUSED(a, "FUNCTION", "LIST");
	REFUSED(a, "FUNCTION", "DELETE", "anything");
	REFUSED(a, "FCALL", "f", "0");
	/* Scripts run with A's rights: B's keys and denied commands fail. */
	REFUSED(a, "EVAL", "return redis.call('get', KEYS[1])", "1", bkey);
	REFUSED(a, "EVAL", "return redis.call('get', ARGV[1])", "0", bkey);
	REFUSED(a, "EVAL", "return redis.call('keys', '*')", "0");
	REFUSED(a, "EVAL", "return redis.call('flushall')", "0");
	/* Pub/sub: others' channels. */
	REFUSED(a, "PUBSUB", "CHANNELS");
	REFUSED(a, "PUBSUB", "NUMPAT");
	REFUSED(a, "PUBSUB", "NUMSUB", bchan);
	REFUSED(a, "PUBSUB", "SHARDCHANNELS");
	REFUSED(a, "PUBLISH", bchan, "forged");
	/* B's keys directly. */
	REFUSED(a, "GET", bkey);
	REFUSED(a, "SET", bkey, "evil");
	REFUSED(a, "DEL", bkey);
	REFUSED(a, "UNLINK", bq);
	REFUSED(a, "LPOP", bq);
	REFUSED(a, "RENAME", bkey, akey);
	REFUSED(a, "COPY", bkey, akey);
	REFUSED(a, "OBJECT", "ENCODING", bkey);
	REFUSED(a, "TYPE", bkey);
	REFUSED(a, "EXISTS", bkey);
	REFUSED(a, "DUMP", bkey);
	REFUSED(a, "MEMORY", "USAGE", bkey);
	REFUSED(a, "SORT", bq);
	/* The server, other clients, the ACL, replication. */
	REFUSED(a, "CONFIG", "GET", "*");
	REFUSED(a, "CONFIG", "SET", "maxmemory", "1");
	REFUSED(a, "DEBUG", "SLEEP", "0");
	REFUSED(a, "INFO");
	REFUSED(a, "MEMORY", "STATS");
	REFUSED(a, "CLIENT", "LIST");
	REFUSED(a, "CLIENT", "KILL", "USER", f->b);
	REFUSED(a, "CLIENT", "PAUSE", "10");
	REFUSED(a, "ACL", "LIST");
	REFUSED(a, "ACL", "SETUSER", f->a, "~*");
	REFUSED(a, "ACL", "WHOAMI");
	REFUSED(a, "SLOWLOG", "GET");
	REFUSED(a, "LATENCY", "LATEST");
	REFUSED(a, "WAIT", "0", "0");
	REFUSED(a, "REPLICAOF", "127.0.0.1", "1");
	REFUSED(a, "SHUTDOWN", "ABORT");
	REFUSED(a, "MONITOR");
	redisFree(a);
	redisFree(bsub);
	assert_b_intact(f, bkey, bchan);
}

static void test_reserved_and_foreign_names(void **state)
{
	fixture *f = *state;
	tl_redis *r = admin(f);
	/* Redis's own admin user. */
	tl_assert_rc(TL_EINVALID, tl_redis_create(NULL, r, "default", 0, NULL));
	tl_assert_error_contains("reserved");
	tl_assert_error_contains("\"default\"");
	tl_assert_rc(TL_EINVALID, tl_redis_drop(NULL, r, "default", 0, NULL));
	tl_assert_error_contains("reserved");
	tl_redis_free(r);

	/* The platform's admin user (whatever TOWLION_REDIS_URL names), and
	 * an operator's user that exists and is not an app's. */
	char adm_user[32], op_user[32], url[512];
	snprintf(adm_user, sizeof(adm_user), "isoadm%d", (int)getpid());
	snprintf(op_user, sizeof(op_user), "isoop%d", (int)getpid());
	redisContext *adm = admin_raw();
	freeReplyObject(redisCommand(adm, "ACL SETUSER %s reset on >admpw ~* &* +@all", adm_user));
	freeReplyObject(redisCommand(adm, "ACL SETUSER %s reset on >oppw ~* &* +@all", op_user));
	tl_ctx *ctx = tl_test_ctx(1);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", f->dir));
	snprintf(url, sizeof(url), "redis://%s:admpw@%s:%d", adm_user, host, port);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_REDIS_URL", url));
	tl_assert_ok(tl_redis_connect(&r, ctx));
	tl_assert_rc(TL_EINVALID, tl_redis_create(NULL, r, adm_user, 0, NULL));
	tl_assert_error_contains("platform's admin user");
	tl_assert_rc(TL_EINVALID, tl_redis_drop(NULL, r, adm_user, 0, NULL));
	tl_assert_rc(TL_ECONFLICT, tl_redis_create(NULL, r, op_user, 0, NULL));
	tl_assert_error_contains("is not an app's user");
	tl_assert_rc(TL_ECONFLICT, tl_redis_drop(NULL, r, op_user, 0, NULL));
	tl_redis_free(r);
	tl_ctx_free(ctx);
	/* Nothing changed: both still log in with their own passwords and
	 * rules, and no env file was written. */
	const char *users[] = {adm_user, op_user}, *pws[] = {"admpw", "oppw"};
	for (int i = 0; i < 2; i++) {
		redisContext *c = redisConnect(host, port);
		redisReply *x = redisCommand(c, "AUTH %s %s", users[i], pws[i]);
		assert_int_equal(x->type, REDIS_REPLY_STATUS);
		freeReplyObject(x);
		ALLOWED(c, "DBSIZE");
		redisFree(c);
		tl_buf path = TL_BUF_INIT;
		tl_assert_ok(tl_app_env_path(&path, f->ctx, users[i]));
		assert_int_equal(access(path.ptr, F_OK), -1);
		tl_buf_dispose(&path);
	}
	freeReplyObject(redisCommand(adm, "ACL DELUSER %s %s", adm_user, op_user));
	redisFree(adm);
}

static void test_cli_refuses_reserved(void **state)
{
	fixture *f = *state;
	char statearg[600];
	snprintf(statearg, sizeof(statearg), "TOWLION_STATE_DIR=%s", f->dir);
	const char *env[] = {statearg, NULL};
	const char *argv[] = {TL_TEST_BINARY_DIR "/towlion", "redis", "create", "default", NULL};
	tl__spawn_opts o = {.argv = argv, .env = env, .stdout_mode = TL__STDIO_BUFFER,
	                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 60000};
	tl__spawn_result res;
	memset(&res, 0, sizeof(res));
	tl_assert_ok(tl__spawn(&res, NULL, &o));
	assert_int_not_equal(res.exit_status, 0);
	assert_non_null(strstr(res.err.ptr, "reserved"));
	tl__spawn_result_dispose(&res);
	/* The default user is untouched: the admin still logs in. */
	redisFree(admin_raw());
}

/* App users survive a restart of Redis: the harness's Redis has an aclfile
 * like the platform's, and create saves it (ACL SAVE). */
static void test_users_survive_restart(void **state)
{
	fixture *f = *state;
	const char *hdir = TL_TEST_REQUIRE("TL_HARNESS_DIR");
	if (!hdir)
		return;
	tl_redis *r = admin(f);
	tl_assert_ok(tl_redis_create(NULL, r, f->a, 0, NULL));
	tl_assert_ok(tl_redis_create(NULL, r, f->b, 0, NULL));
	/* A run killed between ACL SETUSER and ACL SAVE: the server has the
	 * user, the file does not. The next create finds nothing to change
	 * and still saves. */
	tl_test_sh("sed -i '/^user %s /d' '%s/redis/users.acl'", f->a, hdir);
	tl_redis_report *rep0 = NULL;
	tl_assert_ok(tl_redis_create(&rep0, r, f->a, 0, NULL));
	assert_int_equal(tl_redis_report_action_count(rep0), 0);
	tl_redis_report_free(rep0);
	tl_redis_free(r);
	tl_test_sh("grep -q '^user %s ' '%s/redis/users.acl'", f->a, hdir);
	tl_test_sh("%s/tests/harness/restart '%s' redis 2>/dev/null", TL_TEST_SOURCE_DIR, hdir);
	/* Both log in with the passwords in their env files, and are still
	 * confined. */
	redisContext *a = login_app(f, f->a);
	char key[64];
	snprintf(key, sizeof(key), "%s:after", f->a);
	ALLOWED(a, "SET", key, "1");
	REFUSED(a, "KEYS", "*");
	snprintf(key, sizeof(key), "%s:after", f->b);
	REFUSED(a, "GET", key);
	redisFree(a);
	redisFree(login_app(f, f->b));
	/* And the rules are exactly as create leaves them: nothing to redo. */
	r = admin(f);
	tl_redis_report *rep = NULL;
	tl_assert_ok(tl_redis_create(&rep, r, f->a, 0, NULL));
	assert_int_equal(tl_redis_report_action_count(rep), 0);
	tl_redis_report_free(rep);
	tl_redis_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cross_tenant_commands_refused),
		cmocka_unit_test(test_reserved_and_foreign_names),
		cmocka_unit_test(test_cli_refuses_reserved),
		cmocka_unit_test(test_users_survive_restart),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
