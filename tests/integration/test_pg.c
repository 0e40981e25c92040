/*
 * PostgreSQL tenancy against the harness's real PostgreSQL 15: isolation
 * between apps and between previews, idempotency, concurrency, hostile
 * names, and no plaintext password in the server's statement log.
 *
 * Apps are named tpg-<pid>-<x>; every test drops what it created.
 */
#include "tl_test.h"

#include "core/core.h"
#include "core/url.h"
#include "pg/pg_internal.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *state_dir;

static void app_name(char *out, size_t len, const char *tag)
{
	snprintf(out, len, "tpg-%d-%s", (int)getpid(), tag);
}

/* The tests connect as the apps from this host, so the apps' URLs point
 * at the admin's host:port (the harness's TOWLION_PG_APP_HOST is meant
 * for containers). */
static char app_host[300];

static tl_ctx *ctx_new(void)
{
	tl_ctx *ctx = tl_test_ctx(1);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", state_dir));
	if (!app_host[0]) {
		tl__url u;
		tl_assert_ok(tl__url_parse(&u, getenv("TOWLION_PG_URL"), "TOWLION_PG_URL"));
		snprintf(app_host, sizeof(app_host), "%s:%d", u.host, u.port ? u.port : 5432);
		tl__url_dispose(&u);
	}
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_APP_HOST", app_host));
	return ctx;
}

typedef struct {
	tl_ctx *ctx;
	tl_pg *pg;
	PGconn *admin;
} fixture;

static int setup(void **state)
{
	TL_TEST_REQUIRE("TOWLION_PG_URL");
	fixture *f = calloc(1, sizeof(*f));
	f->ctx = ctx_new();
	tl_assert_ok(tl_pg_connect(&f->pg, f->ctx));
	f->admin = PQconnectdb(getenv("TOWLION_PG_URL"));
	assert_int_equal(PQstatus(f->admin), CONNECTION_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (!f)
		return 0;
	PQfinish(f->admin);
	tl_pg_free(f->pg);
	tl_ctx_free(f->ctx);
	free(f);
	return 0;
}

static const tl_pg_options confirm = {TL_PG_OPTIONS_VERSION, TL_PG_CONFIRM, 0, 0};

static void drop_app(fixture *f, const char *app)
{
	tl_assert_ok(tl_pg_app_drop(NULL, f->pg, app, &confirm));
}

/* A one-value query as the admin ("" for no row). */
static char *admin_value(fixture *f, const char *sql, const char *param)
{
	const char *p[] = {param};
	PGresult *r = PQexecParams(f->admin, sql, param ? 1 : 0, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		print_error("%s: %s\n", sql, PQresultErrorMessage(r));
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static int count_of(fixture *f, const char *sql, const char *param)
{
	char *v = admin_value(f, sql, param);
	int n = atoi(v);
	free(v);
	return n;
}

#define DB_COUNT "SELECT count(*) FROM pg_database WHERE datname = $1"
#define ROLE_COUNT "SELECT count(*) FROM pg_roles WHERE rolname = $1"

static char *url_of(tl_ctx *ctx, const char *app, uint32_t pr)
{
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_pg_database_url(&b, ctx, app, pr));
	return b.ptr;
}

static PGconn *connect_url(const char *url)
{
	const char *k[] = {"dbname", "connect_timeout", NULL};
	const char *v[] = {url, "10", NULL};
	return PQconnectdbParams(k, v, 1);
}

/* Connect, expecting success. */
static PGconn *connect_ok(const char *url)
{
	PGconn *c = connect_url(url);
	if (PQstatus(c) != CONNECTION_OK)
		print_error("connect failed: %s\n", PQerrorMessage(c));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	return c;
}

/* Connect, expecting a refusal whose message holds `needle`. */
static void connect_refused(const char *url, const char *needle)
{
	PGconn *c = connect_url(url);
	assert_int_not_equal(PQstatus(c), CONNECTION_OK);
	if (!strstr(PQerrorMessage(c), needle))
		print_error("refusal \"%s\" lacks \"%s\"\n", PQerrorMessage(c), needle);
	assert_non_null(strstr(PQerrorMessage(c), needle));
	PQfinish(c);
}

/* The SQLSTATE of running `sql` ("00000" when it succeeds). */
static char *state_of(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	char *out = strdup(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? "00000" : s ? s : "?");
	PQclear(r);
	return out;
}

#define assert_sql_state(conn, sql, expected)                                   \
	do {                                                                       \
		char *s_ = state_of((conn), (sql));                                    \
		if (strcmp(s_, (expected)))                                            \
			print_error("%s: SQLSTATE %s, expected %s\n", (sql), s_, (expected)); \
		assert_string_equal(s_, (expected));                                   \
		free(s_);                                                              \
	} while (0)

/* A URL for `url` with its database replaced by `db`. */
static char *with_db(const char *url, const char *db)
{
	const char *slash = strrchr(url, '/');
	char *out = malloc(strlen(url) + strlen(db) + 1);
	sprintf(out, "%.*s/%s", (int)(slash - url), url, db);
	return out;
}

static int file_mode(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

/* ---- tests ---- */

static void test_connect_and_version(void **state)
{
	fixture *f = *state;
	assert_true(tl_pg_server_version(f->pg) >= 150000);
	/* A wrong password: TL_EAUTH with SQLSTATE 28P01. */
	tl_ctx *ctx = ctx_new();
	char *bad = strdup(getenv("TOWLION_PG_URL"));
	char *at = strrchr(bad, '@');
	char *colon = memchr(bad + 13, ':', (size_t)(at - bad - 13));
	assert_non_null(colon);
	char url[512];
	snprintf(url, sizeof(url), "%.*s:wrong-password%s", (int)(colon - bad), bad, at);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL", url));
	tl_pg *pg = NULL;
	tl_assert_rc(TL_EAUTH, tl_pg_connect(&pg, ctx));
	assert_string_equal(tl_error_last()->upstream, "28P01");
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_PG);
	assert_null(strstr(tl_error_last()->message, "wrong-password"));
	free(bad);
	tl_ctx_free(ctx);
}

static void test_isolation_between_apps(void **state)
{
	fixture *f = *state;
	char a[64], b[64], nobody[64];
	app_name(a, sizeof(a), "a");
	app_name(b, sizeof(b), "b");
	snprintf(nobody, sizeof(nobody), "tpg_%d_nobody", (int)getpid());
	tl_pg_report *r = NULL;
	tl_assert_ok(tl_pg_app_create(&r, f->pg, a, NULL));
	assert_true(tl_pg_report_action_count(r) >= 3);
	assert_int_equal(tl_pg_report_dry_run(r), 0);
	/* The env file and its directory hold a secret. */
	assert_int_equal(file_mode(tl_pg_report_env_path(r)), 0600);
	char *dir = strdup(tl_pg_report_env_path(r));
	*strrchr(dir, '/') = '\0';
	assert_int_equal(file_mode(dir), 0700);
	free(dir);
	tl_pg_report_free(r);
	tl_assert_ok(tl_pg_app_create(NULL, f->pg, b, NULL));

	char *url_a = url_of(f->ctx, a, 0), *url_b = url_of(f->ctx, b, 0);
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "postgresql://tpg_%d_a_user:", (int)getpid());
	assert_true(tl__str_startswith(url_a, prefix));
	assert_non_null(strstr(url_a, app_host));

	/* The app's role works in its database like a migration would. */
	PGconn *ca = connect_ok(url_a);
	assert_sql_state(ca, "CREATE TABLE items (id serial PRIMARY KEY, name text)", "00000");
	assert_sql_state(ca, "INSERT INTO items (name) VALUES ('x')", "00000");
	assert_sql_state(ca, "CREATE INDEX ON items (name)", "00000");
	assert_sql_state(ca, "CREATE SCHEMA extra", "00000");

	/* App A's role cannot connect to B's database, nor B's to A's. */
	char dbb[64], dba[64];
	snprintf(dbb, sizeof(dbb), "tpg_%d_b_db", (int)getpid());
	snprintf(dba, sizeof(dba), "tpg_%d_a_db", (int)getpid());
	char *a_to_b = with_db(url_a, dbb), *b_to_a = with_db(url_b, dba);
	connect_refused(a_to_b, "permission denied for database");
	connect_refused(b_to_a, "permission denied for database");

	/* PUBLIC cannot connect: a fresh login role with no grants. */
	char *verifier = PQencryptPasswordConn(f->admin, "nobody-pw-123", nobody, "scram-sha-256");
	char sql[512];
	snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN PASSWORD '%s'", nobody, verifier);
	PQfreemem(verifier);
	assert_sql_state(f->admin, sql, "00000");
	char nobody_url[512];
	snprintf(nobody_url, sizeof(nobody_url), "postgresql://%s:nobody-pw-123@%s/%s", nobody,
	         app_host, dba);
	connect_refused(nobody_url, "permission denied for database");
	snprintf(sql, sizeof(sql), "DROP ROLE %s", nobody);
	assert_sql_state(f->admin, sql, "00000");

	/* The database is owned by the app's role. */
	char *owner = admin_value(f, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE "
	                             "datname = $1", dba);
	snprintf(sql, sizeof(sql), "tpg_%d_a_user", (int)getpid());
	assert_string_equal(owner, sql);
	free(owner);

	PQfinish(ca);
	free(a_to_b);
	free(b_to_a);
	free(url_a);
	free(url_b);
	drop_app(f, a);
	drop_app(f, b);
}

static void test_idempotent_create_and_drop(void **state)
{
	fixture *f = *state;
	char a[64], db[64], role[64];
	app_name(a, sizeof(a), "idem");
	snprintf(db, sizeof(db), "tpg_%d_idem_db", (int)getpid());
	snprintf(role, sizeof(role), "tpg_%d_idem_user", (int)getpid());
	tl_pg_options o = TL_PG_OPTIONS_INIT;
	o.connection_limit = 5;
	tl_pg_report *r = NULL;
	tl_assert_ok(tl_pg_app_create(NULL, f->pg, a, &o));
	char *url1 = url_of(f->ctx, a, 0);
	/* Twice: nothing to do, same password. */
	tl_assert_ok(tl_pg_app_create(&r, f->pg, a, &o));
	for (size_t i = 0; i < tl_pg_report_action_count(r); i++)
		print_error("unexpected action: %s\n", tl_pg_report_action(r, i));
	assert_int_equal(tl_pg_report_action_count(r), 0);
	tl_pg_report_free(r);
	char *url2 = url_of(f->ctx, a, 0);
	assert_string_equal(url1, url2);
	PQfinish(connect_ok(url2));
	assert_int_equal(count_of(f, "SELECT datconnlimit FROM pg_database WHERE datname = $1", db),
	                 5);
	/* A changed limit is applied, and only that. */
	o.connection_limit = 0;
	tl_assert_ok(tl_pg_app_create(&r, f->pg, a, &o));
	assert_int_equal(tl_pg_report_action_count(r), 1);
	tl_pg_report_free(r);
	assert_int_equal(count_of(f, "SELECT datconnlimit FROM pg_database WHERE datname = $1", db),
	                 -1);

	/* Drop refuses without confirmation and changes nothing. */
	tl_assert_rc(TL_EINVALID, tl_pg_app_drop(&r, f->pg, a, NULL));
	tl_assert_error_contains("confirm");
	assert_int_equal(count_of(f, DB_COUNT, db), 1);

	/* A dry run plans and changes nothing. */
	tl_pg_options dry = confirm;
	dry.flags |= TL_PG_DRY_RUN;
	tl_assert_ok(tl_pg_app_drop(&r, f->pg, a, &dry));
	assert_int_equal(tl_pg_report_dry_run(r), 1);
	assert_int_equal(tl_pg_report_action_count(r), 3); /* database, role, env */
	tl_pg_report_free(r);
	assert_int_equal(count_of(f, DB_COUNT, db), 1);

	/* Drop ends open sessions. */
	PGconn *held = connect_ok(url2);
	tl_assert_ok(tl_pg_app_drop(&r, f->pg, a, &confirm));
	assert_int_equal(tl_pg_report_action_count(r), 3);
	tl_pg_report_free(r);
	assert_int_equal(count_of(f, DB_COUNT, db), 0);
	assert_int_equal(count_of(f, ROLE_COUNT, role), 0);
	assert_sql_state(held, "SELECT 1", "?");
	PQfinish(held);
	tl_buf b = TL_BUF_INIT;
	tl_assert_rc(TL_ENOTFOUND, tl_pg_database_url(&b, f->ctx, a, 0));
	/* Twice: nothing to do. */
	tl_assert_ok(tl_pg_app_drop(&r, f->pg, a, &confirm));
	assert_int_equal(tl_pg_report_action_count(r), 0);
	tl_pg_report_free(r);
	free(url1);
	free(url2);
}

static void test_dry_run_create_changes_nothing(void **state)
{
	fixture *f = *state;
	char a[64], db[64];
	app_name(a, sizeof(a), "dry");
	snprintf(db, sizeof(db), "tpg_%d_dry_db", (int)getpid());
	tl_pg_options o = TL_PG_OPTIONS_INIT;
	o.flags = TL_PG_DRY_RUN;
	tl_pg_report *r = NULL;
	tl_assert_ok(tl_pg_app_create(&r, f->pg, a, &o));
	assert_true(tl_pg_report_action_count(r) >= 4);
	assert_int_equal(tl_pg_report_dry_run(r), 1);
	assert_int_equal(file_mode(tl_pg_report_env_path(r)), -1);
	tl_pg_report_free(r);
	assert_int_equal(count_of(f, DB_COUNT, db), 0);
	tl_buf b = TL_BUF_INIT;
	tl_assert_rc(TL_ENOTFOUND, tl_pg_database_url(&b, f->ctx, a, 0));
}

/* Two processes provision the same app at the same moment. */
static void test_concurrent_create(void **state)
{
	fixture *f = *state;
	char a[64], db[64], role[64];
	app_name(a, sizeof(a), "race");
	snprintf(db, sizeof(db), "tpg_%d_race_db", (int)getpid());
	snprintf(role, sizeof(role), "tpg_%d_race_user", (int)getpid());
	int gate[2];
	assert_int_equal(pipe(gate), 0);
	pid_t kids[2];
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			close(gate[1]);
			tl_ctx_options co = TL_CTX_OPTIONS_INIT;
			co.flags = TL_CTX_NO_CONFIG_FILE;
			tl_ctx *ctx = NULL;
			tl_pg *pg = NULL;
			if (tl_ctx_new(&ctx, &co) || tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", state_dir) ||
			    tl_ctx_config_set(ctx, "TOWLION_PG_APP_HOST", app_host) ||
			    tl_pg_connect(&pg, ctx))
				_exit(2);
			char c;
			/* Both wait here until the parent closes the pipe. */
			(void)!read(gate[0], &c, 1);
			int rc = tl_pg_app_create(NULL, pg, a, NULL);
			if (rc)
				fprintf(stderr, "child %d: %s\n", i, tl_error_last()->message);
			tl_pg_free(pg);
			tl_ctx_free(ctx);
			_exit(rc ? 1 : 0);
		}
	}
	close(gate[0]);
	usleep(300 * 1000); /* let both connect */
	close(gate[1]);
	for (int i = 0; i < 2; i++) {
		int st = 0;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(count_of(f, DB_COUNT, db), 1);
	assert_int_equal(count_of(f, ROLE_COUNT, role), 1);
	char *url = url_of(f->ctx, a, 0);
	PQfinish(connect_ok(url));
	free(url);
	drop_app(f, a);
}

/* An operation on an app waits for another one on it at most its
 * lock_timeout_ms, changes nothing when it gives up, and leaves the
 * connection's lock_timeout as it was (it is set for the one statement
 * that takes the lock). */
static void test_lock_timeout(void **state)
{
	fixture *f = *state;
	char a[64], db[64], sql[200];
	app_name(a, sizeof(a), "locked");
	snprintf(db, sizeof(db), "tpg_%d_locked_db", (int)getpid());
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(1953263719, hashtext('%s'))", a);
	PGresult *r = PQexec(f->admin, sql);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	tl_pg_options o = TL_PG_OPTIONS_INIT;
	o.lock_timeout_ms = 300;
	tl_assert_rc(TL_ELOCKED, tl_pg_app_create(NULL, f->pg, a, &o));
	tl_assert_error_contains("still running after 300 ms");
	assert_int_equal(count_of(f, DB_COUNT, db), 0);
	r = PQexec(f->pg->conn, "SHOW lock_timeout");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(1953263719, hashtext('%s'))", a);
	PQclear(PQexec(f->admin, sql));
	tl_assert_ok(tl_pg_app_create(NULL, f->pg, a, &o));
	assert_int_equal(count_of(f, DB_COUNT, db), 1);
	drop_app(f, a);
}

static void test_rotate(void **state)
{
	fixture *f = *state;
	char a[64];
	app_name(a, sizeof(a), "rot");
	tl_pg_report *r = NULL;
	tl_assert_ok(tl_pg_app_create(&r, f->pg, a, NULL));
	char *env_path = strdup(tl_pg_report_env_path(r));
	tl_pg_report_free(r);
	/* Another module's key in the same file survives. */
	tl_envfile *env = NULL;
	tl_assert_ok(tl_envfile_open(&env, env_path, 0));
	tl_assert_ok(tl_envfile_set(env, "REDIS_URL", "redis://x"));
	tl_assert_ok(tl_envfile_save(env, NULL, 0600));
	tl_envfile_free(env);

	char *old = url_of(f->ctx, a, 0);
	PGconn *held = connect_ok(old);
	tl_assert_ok(tl_pg_app_rotate(&r, f->pg, a, NULL));
	assert_int_equal(tl_pg_report_action_count(r), 2);
	tl_pg_report_free(r);
	char *fresh = url_of(f->ctx, a, 0);
	assert_string_not_equal(old, fresh);
	connect_refused(old, "password authentication failed");
	PQfinish(connect_ok(fresh));
	/* Sessions opened before keep working until the app restarts. */
	assert_sql_state(held, "SELECT 1", "00000");
	PQfinish(held);
	assert_int_equal(file_mode(env_path), 0600);
	tl_assert_ok(tl_envfile_open(&env, env_path, 0));
	assert_string_equal(tl_envfile_get(env, "REDIS_URL"), "redis://x");
	tl_envfile_free(env);

	/* The env file is lost: create says so clearly, rotate repairs it. */
	assert_int_equal(unlink(env_path), 0);
	tl_assert_rc(TL_ECONFLICT, tl_pg_app_create(&r, f->pg, a, NULL));
	tl_assert_error_contains("towlion db rotate");
	tl_assert_ok(tl_pg_app_rotate(NULL, f->pg, a, NULL));
	tl_assert_ok(tl_pg_app_create(&r, f->pg, a, NULL));
	assert_int_equal(tl_pg_report_action_count(r), 0);
	tl_pg_report_free(r);
	char *repaired = url_of(f->ctx, a, 0);
	PQfinish(connect_ok(repaired));

	/* Rotating an app that does not exist. */
	char missing[64];
	app_name(missing, sizeof(missing), "nope");
	tl_assert_rc(TL_ENOTFOUND, tl_pg_app_rotate(&r, f->pg, missing, NULL));
	free(repaired);
	free(old);
	free(fresh);
	free(env_path);
	drop_app(f, a);
}

/* A create that died after writing the env file but before its role
 * existed: the next create reuses that password, so the file stays right. */
static void test_recovers_password_from_env_file(void **state)
{
	fixture *f = *state;
	char a[64], sql[256];
	app_name(a, sizeof(a), "rec");
	tl_assert_ok(tl_pg_app_create(NULL, f->pg, a, NULL));
	char *url = url_of(f->ctx, a, 0);
	snprintf(sql, sizeof(sql), "DROP DATABASE tpg_%d_rec_db", (int)getpid());
	assert_sql_state(f->admin, sql, "00000");
	snprintf(sql, sizeof(sql), "DROP ROLE tpg_%d_rec_user", (int)getpid());
	assert_sql_state(f->admin, sql, "00000");
	tl_pg_report *r = NULL;
	tl_assert_ok(tl_pg_app_create(&r, f->pg, a, NULL));
	assert_non_null(strstr(tl_pg_report_action(r, 0), "kept in the env file"));
	tl_pg_report_free(r);
	char *again = url_of(f->ctx, a, 0);
	assert_string_equal(url, again);
	PQfinish(connect_ok(again));
	free(url);
	free(again);
	drop_app(f, a);
}

static void test_previews_are_isolated(void **state)
{
	fixture *f = *state;
	char a[64], other[64], sql[256];
	app_name(a, sizeof(a), "prv");
	app_name(other, sizeof(other), "prvo");
	/* No database yet: a preview needs its app. */
	tl_assert_rc(TL_ENOTFOUND, tl_pg_preview_create(NULL, f->pg, a, 1, NULL));
	tl_assert_ok(tl_pg_app_create(NULL, f->pg, a, NULL));
	tl_assert_ok(tl_pg_app_create(NULL, f->pg, other, NULL));
	char *app_url = url_of(f->ctx, a, 0);
	PGconn *ca = connect_ok(app_url);
	assert_sql_state(ca, "CREATE TABLE secret (v text)", "00000");
	assert_sql_state(ca, "INSERT INTO secret VALUES ('production')", "00000");

	tl_pg_report *r = NULL;
	tl_assert_ok(tl_pg_preview_create(&r, f->pg, a, 1, NULL));
	assert_string_equal(tl_pg_report_schema(r), "pr_1");
	assert_int_equal(file_mode(tl_pg_report_env_path(r)), 0600);
	tl_pg_report_free(r);
	tl_assert_ok(tl_pg_preview_create(NULL, f->pg, a, 2, NULL));
	/* Twice: nothing to do. */
	tl_assert_ok(tl_pg_preview_create(&r, f->pg, a, 1, NULL));
	for (size_t i = 0; i < tl_pg_report_action_count(r); i++)
		print_error("unexpected action: %s\n", tl_pg_report_action(r, i));
	assert_int_equal(tl_pg_report_action_count(r), 0);
	tl_pg_report_free(r);

	char *u1 = url_of(f->ctx, a, 1), *u2 = url_of(f->ctx, a, 2);
	PGconn *p1 = connect_ok(u1), *p2 = connect_ok(u2);
	/* Production data: permission denied, reading and writing. */
	assert_sql_state(p1, "SELECT * FROM public.secret", "42501");
	assert_sql_state(p1, "INSERT INTO public.secret VALUES ('x')", "42501");
	assert_sql_state(p1, "UPDATE public.secret SET v = 'x'", "42501");
	assert_sql_state(p1, "CREATE TABLE public.mine (i int)", "42501");
	/* Its own schema: a migration works without naming it. */
	assert_sql_state(p1, "CREATE TABLE items (id serial PRIMARY KEY, v text)", "00000");
	assert_sql_state(p1, "INSERT INTO items (v) VALUES ('preview')", "00000");
	assert_sql_state(p1, "SELECT * FROM pr_1.items", "00000");
	char *where = NULL;
	{
		PGresult *res = PQexec(p1, "SELECT current_schema()");
		where = strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	assert_string_equal(where, "pr_1");
	free(where);
	/* Two previews cannot see each other, nor create in each other. */
	assert_sql_state(p2, "SELECT * FROM pr_1.items", "42501");
	assert_sql_state(p2, "CREATE TABLE pr_1.x (i int)", "42501");
	assert_sql_state(p2, "CREATE SCHEMA sneaky", "42501");
	/* Nor does the app's own role see the preview's tables. */
	assert_sql_state(ca, "SELECT * FROM pr_1.items", "42501");
	/* A preview cannot reach another app's database. */
	char odb[64];
	snprintf(odb, sizeof(odb), "tpg_%d_prvo_db", (int)getpid());
	char *p1_other = with_db(u1, odb);
	connect_refused(p1_other, "permission denied for database");
	free(p1_other);
	PQfinish(p2);

	/* Drop preview 1 (its session is ended), twice. */
	tl_assert_ok(tl_pg_preview_drop(&r, f->pg, a, 1, NULL));
	assert_int_equal(tl_pg_report_action_count(r), 3); /* schema, role, env */
	tl_pg_report_free(r);
	assert_sql_state(p1, "SELECT 1", "?");
	PQfinish(p1);
	snprintf(sql, sizeof(sql), "tpg_%d_prv_pr_1", (int)getpid());
	assert_int_equal(count_of(f, ROLE_COUNT, sql), 0);
	PGconn *cs = connect_ok(app_url);
	assert_sql_state(cs, "SELECT 'pr_1'::regnamespace", "3F000");
	PQfinish(cs);
	tl_assert_ok(tl_pg_preview_drop(&r, f->pg, a, 1, NULL));
	assert_int_equal(tl_pg_report_action_count(r), 0);
	tl_pg_report_free(r);
	tl_buf b = TL_BUF_INIT;
	tl_assert_rc(TL_ENOTFOUND, tl_pg_database_url(&b, f->ctx, a, 1));

	/* The app's data is intact. */
	assert_sql_state(ca, "SELECT * FROM secret", "00000");
	PQfinish(ca);

	/* Dropping the app takes preview 2's role along. */
	snprintf(sql, sizeof(sql), "tpg_%d_prv_pr_2", (int)getpid());
	assert_int_equal(count_of(f, ROLE_COUNT, sql), 1);
	drop_app(f, a);
	assert_int_equal(count_of(f, ROLE_COUNT, sql), 0);
	tl_assert_rc(TL_ENOTFOUND, tl_pg_database_url(&b, f->ctx, a, 2));
	drop_app(f, other);
	free(u1);
	free(u2);
	free(app_url);
}

static void test_list(void **state)
{
	fixture *f = *state;
	char a[64], db[64];
	app_name(a, sizeof(a), "lst");
	snprintf(db, sizeof(db), "tpg_%d_lst_db", (int)getpid());
	tl_assert_ok(tl_pg_app_create(NULL, f->pg, a, NULL));
	tl_assert_ok(tl_pg_preview_create(NULL, f->pg, a, 4, NULL));
	char *url = url_of(f->ctx, a, 0);
	PGconn *held = connect_ok(url);
	tl_pg_db_list *l = NULL;
	tl_assert_ok(tl_pg_list(&l, f->pg));
	const tl_pg_db_info *mine = NULL;
	for (size_t i = 0; i < tl_pg_db_list_count(l); i++)
		if (!strcmp(tl_pg_db_list_at(l, i)->database, db))
			mine = tl_pg_db_list_at(l, i);
	assert_non_null(mine);
	assert_string_equal(mine->app, a);
	assert_true(tl__str_endswith(mine->owner, "_lst_user"));
	assert_true(mine->size_bytes > 1000000); /* a fresh database is ~7 MB */
	assert_true(mine->connections >= 1);
	assert_int_equal(mine->connection_limit, -1);
	assert_int_equal(mine->previews, 1);
	assert_null(tl_pg_db_list_at(l, tl_pg_db_list_count(l)));
	tl_pg_db_list_free(l);
	PQfinish(held);
	free(url);
	drop_app(f, a);
}

/* Hostile names are refused before any SQL reaches the server: the
 * statement log never shows them. */
static void test_hostile_names_send_no_sql(void **state)
{
	fixture *f = *state;
	const char *log = TL_TEST_REQUIRE("TL_TEST_PG_LOG");
	char token[64], valid[64];
	snprintf(token, sizeof(token), "zzhostile%d", (int)getpid());
	app_name(valid, sizeof(valid), "hostile");
	char hostile[6][128];
	snprintf(hostile[0], 128, "x\"; DROP ROLE postgres; -- %s", token);
	snprintf(hostile[1], 128, "%s'); DROP DATABASE postgres; --", token);
	snprintf(hostile[2], 128, "%s--x", token);
	snprintf(hostile[3], 128, "%s_x", token);
	snprintf(hostile[4], 128, "%s-pr-1", token);
	snprintf(hostile[5], 128, "%sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", token);
	for (int i = 0; i < 6; i++) {
		tl_assert_rc(TL_EINVALID, tl_pg_app_create(NULL, f->pg, hostile[i], NULL));
		tl_assert_rc(TL_EINVALID, tl_pg_app_rotate(NULL, f->pg, hostile[i], NULL));
		tl_assert_rc(TL_EINVALID, tl_pg_app_drop(NULL, f->pg, hostile[i], &confirm));
		tl_assert_rc(TL_EINVALID, tl_pg_preview_create(NULL, f->pg, hostile[i], 1, NULL));
		tl_assert_rc(TL_EINVALID, tl_pg_preview_drop(NULL, f->pg, hostile[i], 1, NULL));
	}
	/* A valid app with a bad PR number. */
	tl_assert_rc(TL_EINVALID, tl_pg_preview_create(NULL, f->pg, valid, 0, NULL));
	tl_assert_rc(TL_EINVALID, tl_pg_preview_drop(NULL, f->pg, valid, 0, NULL));
	/* A statement on the same connection, so the log has caught up. */
	assert_sql_state(f->admin, "SELECT 'hostile-check-done'", "00000");
	char *text = tl_test_read_file(log);
	assert_non_null(text);
	assert_null(strstr(text, token));
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "tpg_%d_hostile", (int)getpid());
	assert_null(strstr(text, prefix));
	free(text);
}

/* The server's statement log (log_statement = all) never shows a
 * plaintext password: not at create, preview create, nor rotate. */
static void test_no_plaintext_password_in_server_log(void **state)
{
	fixture *f = *state;
	const char *log = TL_TEST_REQUIRE("TL_TEST_PG_LOG");
	char a[64];
	app_name(a, sizeof(a), "log");
	tl_assert_ok(tl_pg_app_create(NULL, f->pg, a, NULL));
	char *u0 = url_of(f->ctx, a, 0);
	tl_assert_ok(tl_pg_preview_create(NULL, f->pg, a, 9, NULL));
	char *u9 = url_of(f->ctx, a, 9);
	tl_assert_ok(tl_pg_app_rotate(NULL, f->pg, a, NULL));
	char *u1 = url_of(f->ctx, a, 0);
	assert_sql_state(f->admin, "SELECT 'password-check-done'", "00000");
	char *text = tl_test_read_file(log);
	assert_non_null(text);
	/* The log did record the statements, as SCRAM verifiers. */
	char marker[96];
	snprintf(marker, sizeof(marker), "CREATE ROLE \"tpg_%d_log_user\"", (int)getpid());
	assert_non_null(strstr(text, marker));
	assert_non_null(strstr(text, "PASSWORD 'SCRAM-SHA-256$4096:"));
	const char *urls[] = {u0, u9, u1};
	for (int i = 0; i < 3; i++) {
		/* postgresql://user:PASSWORD@host/db: the password is URL-safe. */
		const char *p = strchr(urls[i] + 13, ':') + 1;
		char pw[64];
		snprintf(pw, sizeof(pw), "%.*s", (int)(strchr(p, '@') - p), p);
		assert_int_equal(strlen(pw), 32);
		assert_null(strstr(text, pw));
	}
	free(text);
	free(u0);
	free(u9);
	free(u1);
	drop_app(f, a);
}

/* Whatever a failed test left behind is dropped at the end. */
static void drop_leftovers(void)
{
	static const char *tags[] = {"a", "b", "idem", "dry", "race", "rot", "rec",
	                             "prv", "prvo", "lst", "log", "hostile", "nope"};
	if (!getenv("TOWLION_PG_URL"))
		return;
	tl_ctx *ctx = NULL;
	tl_pg *pg = NULL;
	tl_ctx_options co = TL_CTX_OPTIONS_INIT;
	co.flags = TL_CTX_NO_CONFIG_FILE;
	if (tl_ctx_new(&ctx, &co) == TL_OK &&
	    tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", state_dir) == TL_OK &&
	    tl_pg_connect(&pg, ctx) == TL_OK) {
		for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
			char a[64];
			app_name(a, sizeof(a), tags[i]);
			if (tl_pg_app_drop(NULL, pg, a, &confirm) != TL_OK)
				fprintf(stderr, "cleanup of %s: %s\n", a, tl_error_last()->message);
		}
	}
	tl_pg_free(pg);
	tl_ctx_free(ctx);
}

int main(void)
{
	state_dir = tl_test_tmpdir();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation_between_apps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotent_create_and_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_create_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovers_password_from_env_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_previews_are_isolated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_names_send_no_sql, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext_password_in_server_log, setup,
		                                teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	drop_leftovers();
	tl_test_rmdir(state_dir);
	return rc;
}
