/*
 * Backups against the harness's real PostgreSQL 15 (and S3): round trips
 * compared table by table, a restore while the app is connected, broken
 * backups refused, pg_dump killed mid-run, retention on disk, encryption,
 * offsite copies. Every database and role is named bk<pid>... and dropped
 * at the end.
 */
#include "tl_test.h"

#include "backup/backup_internal.h"
#include "towlion/s3.h"

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static tl_ctx *ctx;
static PGconn *admin;
static char *tmp, backup_dir[512], state_dir[512];
static char prefix[32]; /* bk<pid> */
static char host[128], port[16];
static const char *pg_bin;

/* ---- helpers ------------------------------------------------------------ */

static PGresult *sql(PGconn *c, const char *q)
{
	PGresult *r = PQexec(c, q);
	ExecStatusType s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		print_error("SQL failed: %s\n%s\n", q, PQresultErrorMessage(r));
	assert_true(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK);
	return r;
}

static void sqlf(PGconn *c, const char *fmt, ...) TL__PRINTF(2, 3);
static void sqlf(PGconn *c, const char *fmt, ...)
{
	char q[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	PQclear(sql(c, q));
}

/* A single value as a malloc'd string. */
static char *value(PGconn *c, const char *fmt, ...) TL__PRINTF(2, 3);
static char *value(PGconn *c, const char *fmt, ...)
{
	char q[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	PGresult *r = sql(c, q);
	char *v = strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

static PGconn *connect_as(const char *user, const char *password, const char *db)
{
	char ci[512];
	snprintf(ci, sizeof(ci), "host=%s port=%s user=%s password=%s dbname=%s", host, port,
	         user, password, db);
	PGconn *c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK)
		print_error("connect %s@%s: %s\n", user, db, PQerrorMessage(c));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	return c;
}

static PGconn *connect_admin(const char *db)
{
	const char *keys[] = {"dbname", "dbname", NULL};
	const char *vals[] = {getenv("TOWLION_PG_URL"), db, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	return c;
}

static int db_exists(const char *db)
{
	char *v = value(admin, "SELECT count(*) FROM pg_database WHERE datname = '%s'", db);
	int n = atoi(v);
	free(v);
	return n;
}

/* An app database `<name>_db` owned by `<name>_user` (password "pw-<name>"),
 * PUBLIC locked out as the pg module does, with a bit of everything. */
static void make_app(const char *name, int rows)
{
	char pw[64];
	snprintf(pw, sizeof(pw), "pw-%s", name);
	sqlf(admin, "CREATE ROLE %s_user LOGIN PASSWORD '%s'", name, pw);
	sqlf(admin, "CREATE DATABASE %s_db OWNER %s_user", name, name);
	sqlf(admin, "REVOKE ALL ON DATABASE %s_db FROM PUBLIC", name);
	sqlf(admin, "GRANT CONNECT, TEMPORARY ON DATABASE %s_db TO %s_user", name, name);
	sqlf(admin, "ALTER DATABASE %s_db CONNECTION LIMIT 17", name);
	sqlf(admin, "ALTER DATABASE %s_db SET statement_timeout = '42s'", name);
	char db[64], user[64];
	snprintf(db, sizeof(db), "%s_db", name);
	snprintf(user, sizeof(user), "%s_user", name);
	PGconn *c = connect_as(user, pw, db);
	PQclear(sql(c, "REVOKE ALL ON SCHEMA public FROM PUBLIC"));
	PQclear(sql(c, "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, "
	               "price numeric(12,2), tags jsonb, blob bytea, at timestamptz)"));
	PQclear(sql(c, "CREATE TABLE orders (id serial PRIMARY KEY, item bigint REFERENCES "
	               "items(id), qty int CHECK (qty > 0), note text)"));
	PQclear(sql(c, "CREATE INDEX items_name ON items (name)"));
	PQclear(sql(c, "CREATE VIEW expensive AS SELECT * FROM items WHERE price > 50"));
	PQclear(sql(c, "CREATE FUNCTION total(i bigint) RETURNS bigint LANGUAGE sql AS "
	               "$$ SELECT coalesce(sum(qty), 0) FROM orders WHERE item = i $$"));
	PQclear(sql(c, "CREATE SCHEMA billing"));
	PQclear(sql(c, "CREATE TABLE billing.invoices (n int, body text)"));
	char q[1024];
	snprintf(q, sizeof(q),
	         "INSERT INTO items (name, price, tags, blob, at) SELECT "
	         "'item ' || g || E' \\u00e9\\t''q''', (g %% 10000) / 7.0, "
	         "jsonb_build_object('g', g, 'even', g %% 2 = 0, 'name', md5(g::text)), "
	         "decode(md5(g::text), 'hex'), '2026-01-01'::timestamptz + g * interval '1 min' "
	         "FROM generate_series(1, %d) g",
	         rows);
	PQclear(sql(c, q));
	PQclear(sql(c, "INSERT INTO items (name) VALUES ('nulls everywhere')"));
	snprintf(q, sizeof(q),
	         "INSERT INTO orders (item, qty, note) SELECT 1 + g %% %d, 1 + g %% 5, "
	         "repeat('x', g %% 50) FROM generate_series(1, %d) g",
	         rows, rows / 2 + 1);
	PQclear(sql(c, q));
	PQclear(sql(c, "INSERT INTO billing.invoices SELECT g, md5(g::text) FROM "
	               "generate_series(1, 100) g"));
	PQfinish(c);
}

static void drop_app(const char *name)
{
	PGresult *r = sql(admin, "SELECT datname FROM pg_database WHERE datname LIKE 'bk%'");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *d = PQgetvalue(r, i, 0);
		if (!strncmp(d, name, strlen(name)) && d[strlen(name)] == '_')
			sqlf(admin, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", d);
	}
	PQclear(r);
	sqlf(admin, "DROP ROLE IF EXISTS %s_user", name);
}

/* "table=md5;..." over every user table, rows in a stable order. */
static char *checksums(const char *db)
{
	PGconn *c = connect_admin(db);
	PGresult *r = sql(c, "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
	                     "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	                     "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', "
	                     "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
	                     "ORDER BY 1");
	tl_buf out = TL_BUF_INIT;
	for (int i = 0; i < PQntuples(r); i++) {
		char *v = value(c,
		                "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' "
		                "ORDER BY t::text), '')) FROM %s t",
		                PQgetvalue(r, i, 0));
		tl__buf_printf(&out, "%s=%s;", PQgetvalue(r, i, 0), v);
		free(v);
	}
	/* Sequences continue where they were. */
	char *seq = value(c, "SELECT last_value FROM items_id_seq");
	tl__buf_printf(&out, "seq=%s", seq);
	free(seq);
	PQclear(r);
	PQfinish(c);
	return tl__buf_detach(&out);
}

/* Every relation, function and schema of the app is owned by its role. */
static void assert_owned_by(const char *db, const char *role)
{
	PGconn *c = connect_admin(db);
	char *bad = value(c,
	                  "SELECT count(*) FROM ("
	                  " SELECT relowner AS o FROM pg_class c JOIN pg_namespace n ON n.oid = "
	                  " c.relnamespace WHERE n.nspname IN ('public', 'billing')"
	                  " UNION ALL SELECT proowner FROM pg_proc p JOIN pg_namespace n ON n.oid "
	                  " = p.pronamespace WHERE n.nspname = 'public'"
	                  " UNION ALL SELECT nspowner FROM pg_namespace WHERE nspname = 'billing'"
	                  ") x WHERE o <> '%s'::regrole",
	                  role);
	char *total = value(c, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
	                       "c.relnamespace WHERE n.nspname IN ('public', 'billing')");
	assert_string_equal(bad, "0");
	assert_true(atoi(total) >= 8);
	free(bad);
	free(total);
	PQfinish(c);
}

static void opts_for(tl_backup_options *o, const char *const *dbs, size_t n)
{
	tl_backup_options_init(o, TL_BACKUP_OPTIONS_VERSION);
	o->databases = dbs;
	o->ndatabases = n;
	o->pg_bin_dir = pg_bin;
	o->timeout_ms = 300000;
}

/* Back up one database; returns the new file's name (malloc'd). */
static char *backup_one(const char *db, int format)
{
	const char *dbs[] = {db};
	tl_backup_options o;
	opts_for(&o, dbs, 1);
	o.format = format;
	tl_backup_report *r = NULL;
	tl_assert_ok(tl_backup_run(&r, ctx, &o));
	assert_int_equal(tl_backup_report_count(r), 1);
	const tl_backup_outcome *b = tl_backup_report_at(r, 0);
	assert_int_equal(b->result, TL_OK);
	assert_string_equal(b->database, db);
	assert_true(b->size > 0 && b->dump_bytes > 0);
	char *file = strdup(b->file);
	tl_backup_report_free(r);
	return file;
}

static char *path_of(const char *file)
{
	char *p = malloc(strlen(backup_dir) + strlen(file) + 2);
	sprintf(p, "%s/%s", backup_dir, file);
	return p;
}

static int count_suffix(const char *suffix)
{
	DIR *d = opendir(backup_dir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		if (tl__str_endswith(e->d_name, suffix))
			n++;
	if (d)
		closedir(d);
	return n;
}

static const tl_backup_info *find_in(const tl_backup_list *l, const char *file)
{
	for (size_t i = 0; i < tl_backup_list_count(l); i++)
		if (!strcmp(tl_backup_list_at(l, i)->file, file))
			return tl_backup_list_at(l, i);
	return NULL;
}

static int state_of(const char *file)
{
	tl_backup_list *l = NULL;
	tl_assert_ok(tl_backup_list_get(&l, ctx, NULL));
	const tl_backup_info *b = find_in(l, file);
	int s = b ? b->state : -1;
	tl_backup_list_free(l);
	return s;
}

static void app_name(char *out, size_t len, const char *what)
{
	snprintf(out, len, "%s%s", prefix, what);
}

/* Run a program (argv) and return its exit status; stdout into *out. */
static int run_prog(const char *const *argv, tl_buf *out)
{
	tl__spawn_opts so = {0};
	so.argv = argv;
	so.stdout_mode = out ? TL__STDIO_BUFFER : TL__STDIO_NULL;
	so.stderr_mode = TL__STDIO_NULL;
	tl__spawn_result res;
	tl_assert_ok(tl__spawn(&res, NULL, &so));
	if (out) {
		*out = res.out;
		res.out = (tl_buf)TL_BUF_INIT;
	}
	int st = res.exited ? res.exit_status : 128 + res.signal;
	tl__spawn_result_dispose(&res);
	return st;
}

/* ---- setup ----------------------------------------------------------------- */

static int setup(void **state)
{
	if (!TL_TEST_REQUIRE("TOWLION_PG_URL"))
		return -1;
	pg_bin = getenv("TL_TEST_PG_BIN");
	snprintf(prefix, sizeof(prefix), "bk%d", (int)getpid());
	tmp = tl_test_tmpdir();
	snprintf(backup_dir, sizeof(backup_dir), "%s/backups", tmp);
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	ctx = tl_test_ctx(1);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_DIR", backup_dir));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", state_dir));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", ""));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", ""));
	admin = connect_admin("postgres");
	PQsetNoticeProcessor(admin, NULL, NULL);
	snprintf(host, sizeof(host), "%s", PQhost(admin));
	snprintf(port, sizeof(port), "%s", PQport(admin));
	return 0;
}

static int teardown(void **state)
{
	if (admin) {
		char app[64];
		const char *names[] = {"rt", "live", "bad", "kill", "small", "keep", "enc", "off",
		                       "dry"};
		for (size_t i = 0; i < TL__ARRAY_SIZE(names); i++) {
			app_name(app, sizeof(app), names[i]);
			drop_app(app);
		}
		PQfinish(admin);
	}
	tl_ctx_free(ctx);
	if (tmp)
		tl_test_rmdir(tmp);
	return 0;
}

static int clean_dir(void **state)
{
	/* Each test starts with an empty backup directory. */
	DIR *d = opendir(backup_dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char *p = path_of(e->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", "");
	tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", "");
	tl_ctx_set_event_cb(ctx, NULL, NULL);
	return 0;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_round_trip(void **state)
{
	char app[64], db[80], user[80], pw[80];
	app_name(app, sizeof(app), "rt");
	snprintf(db, sizeof(db), "%s_db", app);
	snprintf(user, sizeof(user), "%s_user", app);
	snprintf(pw, sizeof(pw), "pw-%s", app);
	make_app(app, 20000);
	char *before = checksums(db);

	/* Default format: a zstd stream of a custom-format archive. */
	char *file = backup_one(db, TL_BACKUP_FORMAT_CUSTOM);
	assert_true(tl__str_endswith(file, ".dump.zst"));
	char *path = path_of(file);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	const char *zstd[] = {"zstd", "-dcq", path, NULL};
	tl_buf out = TL_BUF_INIT;
	assert_int_equal(run_prog(zstd, &out), 0);
	assert_memory_equal(out.ptr, "PGDMP", 5);
	tl_buf_dispose(&out);
	assert_int_equal(state_of(file), TL_BACKUP_UNVERIFIED);

	/* The manifest says what it is. */
	tl__bk_manifest m;
	tl_assert_ok(tl__bk_manifest_load(&m, path));
	assert_string_equal(m.database, db);
	assert_int_equal(m.size, st.st_size);
	assert_int_equal(m.tables, 3);
	assert_non_null(strstr(m.pg_version, "15"));
	assert_int_equal(m.encrypted, 0);
	tl__bk_manifest_dispose(&m);

	/* Last success recorded for monitoring. */
	char ls[600];
	snprintf(ls, sizeof(ls), "%s/backups/last-success.json", state_dir);
	char *text = tl_test_read_file(ls);
	assert_non_null(text);
	assert_non_null(strstr(text, db));
	assert_non_null(strstr(text, file));
	free(text);

	tl_backup_check k;
	tl_backup_options o;
	opts_for(&o, NULL, 0);
	tl_assert_ok(tl_backup_verify(&k, ctx, file, &o));
	assert_true(k.bytes > 0);
	assert_int_equal(state_of(file), TL_BACKUP_VERIFIED);
	o.flags = TL_BACKUP_DEEP;
	tl_assert_ok(tl_backup_verify(&k, ctx, file, &o));
	assert_int_equal(k.tables, 3);
	assert_int_equal(k.rows, 20001 + 10001 + 100);

	/* Change the data, then restore: the data is as it was. */
	PGconn *c = connect_as(user, pw, db);
	PQclear(sql(c, "DELETE FROM orders; UPDATE items SET name = 'changed'"));
	PQfinish(c);
	char *changed = checksums(db);
	assert_string_not_equal(before, changed);
	o.flags = TL_BACKUP_CONFIRM;
	tl_buf prev = TL_BUF_INIT;
	tl_assert_ok(tl_backup_restore(&prev, ctx, db, file, &o));
	assert_true(tl__str_startswith(prev.ptr, db));
	assert_non_null(strstr(prev.ptr, "__pre_restore_"));
	char *after = checksums(db);
	assert_string_equal(before, after);
	/* The previous database is kept, unchanged. */
	assert_int_equal(db_exists(prev.ptr), 1);
	char *kept = checksums(prev.ptr);
	assert_string_equal(kept, changed);
	assert_owned_by(db, user);

	/* A restore whose pre-restore name is taken (a second restore within
	 * the same second) takes the next free second and keeps every copy.
	 * The first restore's copy may already hold this second's name (a
	 * fast machine restores within it): it is taken all the same. */
	time_t t0 = time(NULL);
	char *taken[2];
	bool made[2];
	for (int i = 0; i < 2; i++) {
		taken[i] = tl__bk_derived_db(db, "__pre_restore_", t0 + i);
		assert_non_null(taken[i]);
		made[i] = !db_exists(taken[i]);
		char q[200];
		snprintf(q, sizeof(q), "CREATE DATABASE \"%s\"", taken[i]);
		if (made[i])
			PQclear(sql(admin, q));
	}
	tl_buf again = TL_BUF_INIT;
	tl_assert_ok(tl_backup_restore(&again, ctx, db, file, &o));
	assert_non_null(strstr(again.ptr, "__pre_restore_"));
	assert_string_not_equal(again.ptr, prev.ptr);
	for (int i = 0; i < 2; i++) {
		assert_string_not_equal(again.ptr, taken[i]);
		assert_int_equal(db_exists(taken[i]), 1);
		char q[200];
		snprintf(q, sizeof(q), "DROP DATABASE \"%s\"", taken[i]);
		if (made[i])
			PQclear(sql(admin, q));
		free(taken[i]);
	}
	assert_int_equal(db_exists(prev.ptr), 1);
	assert_int_equal(db_exists(again.ptr), 1);
	tl_buf_dispose(&again);
	/* Owner, grants, connection limit and settings came along. */
	char *props = value(admin,
	                    "SELECT pg_get_userbyid(datdba) || ' ' || datconnlimit || ' ' || "
	                    "has_database_privilege('%s', '%s', 'CONNECT') || ' ' || "
	                    "(SELECT count(*) FROM aclexplode(datacl) WHERE grantee = 0) || ' ' || "
	                    "(SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s "
	                    "WHERE s.setdatabase = d.oid AND s.setrole = 0) "
	                    "FROM pg_database d WHERE datname = '%s'",
	                    user, db, db);
	char want[200];
	snprintf(want, sizeof(want), "%s 17 true 0 statement_timeout=42s", user);
	assert_string_equal(props, want);
	free(props);

	/* The sql.gz format: plain gunzip works, and it restores side by side. */
	char *sqlfile = backup_one(db, TL_BACKUP_FORMAT_SQL);
	assert_true(tl__str_endswith(sqlfile, ".sql.gz"));
	char *sqlpath = path_of(sqlfile);
	const char *gz[] = {"gunzip", "-t", sqlpath, NULL};
	assert_int_equal(run_prog(gz, NULL), 0);
	char into[96];
	snprintf(into, sizeof(into), "%s_copy_db", app);
	o.into = into;
	tl_buf_dispose(&prev);
	tl_assert_ok(tl_backup_restore(&prev, ctx, db, sqlfile, &o));
	assert_string_equal(prev.ptr ? prev.ptr : "", "");
	char *copy = checksums(into);
	assert_string_equal(copy, before);
	assert_owned_by(into, user);
	/* --into never replaces an existing database. */
	tl_assert_rc(TL_EEXISTS, tl_backup_restore(NULL, ctx, db, sqlfile, &o));

	/* The list: newest first, both there. */
	tl_backup_list *l = NULL;
	tl_assert_ok(tl_backup_list_get(&l, ctx, NULL));
	assert_int_equal(tl_backup_list_count(l), 2);
	assert_true(tl_backup_list_at(l, 0)->created >= tl_backup_list_at(l, 1)->created);
	assert_string_equal(tl_backup_list_at(l, 0)->file, sqlfile);
	tl_backup_list_free(l);

	tl_buf_dispose(&prev);
	free(before);
	free(changed);
	free(after);
	free(kept);
	free(copy);
	free(file);
	free(path);
	free(sqlfile);
	free(sqlpath);
}

static void test_restore_while_app_connected(void **state)
{
	char app[64], db[80], user[80], pw[80];
	app_name(app, sizeof(app), "live");
	snprintf(db, sizeof(db), "%s_db", app);
	snprintf(user, sizeof(user), "%s_user", app);
	snprintf(pw, sizeof(pw), "pw-%s", app);
	make_app(app, 3000);
	char *before = checksums(db);
	char *file = backup_one(db, TL_BACKUP_FORMAT_CUSTOM);
	/* The app: one idle connection and one inside a transaction. */
	PGconn *idle = connect_as(user, pw, db);
	PGconn *busy = connect_as(user, pw, db);
	PQclear(sql(busy, "BEGIN; INSERT INTO items (name) VALUES ('in flight')"));
	tl_backup_options o;
	opts_for(&o, NULL, 0);
	o.flags = TL_BACKUP_CONFIRM;
	tl_assert_ok(tl_backup_restore(NULL, ctx, db, file, &o));
	/* Their sessions were ended; the app reconnects to the restored data. */
	PGresult *r = PQexec(idle, "SELECT 1");
	assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	PQfinish(idle);
	PQfinish(busy);
	char *after = checksums(db);
	assert_string_equal(before, after);
	assert_owned_by(db, user);
	/* ...and can migrate: new tables, changes to its tables. */
	PGconn *c = connect_as(user, pw, db);
	PQclear(sql(c, "CREATE TABLE migrated (x int)"));
	PQclear(sql(c, "ALTER TABLE items ADD COLUMN sku text"));
	PQclear(sql(c, "CREATE INDEX ON orders (qty)"));
	PQclear(sql(c, "INSERT INTO items (name) VALUES ('after restore')"));
	PQfinish(c);
	free(before);
	free(after);
	free(file);
}

static void test_broken_backups_are_refused(void **state)
{
	char app[64], db[80];
	app_name(app, sizeof(app), "bad");
	snprintf(db, sizeof(db), "%s_db", app);
	make_app(app, 5000);
	char *before = checksums(db);
	tl_backup_options o;
	opts_for(&o, NULL, 0);

	/* Truncated: verify fails and marks it; restore refuses it. */
	char *file = backup_one(db, TL_BACKUP_FORMAT_CUSTOM);
	char *path = path_of(file);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	tl_assert_rc(TL_EIO, tl_backup_verify(NULL, ctx, file, &o));
	tl_assert_error_contains("truncated");
	tl_assert_error_contains(file);
	assert_int_equal(state_of(file), TL_BACKUP_FAILED);
	o.flags = TL_BACKUP_CONFIRM;
	tl_assert_rc(TL_EIO, tl_backup_restore(NULL, ctx, db, file, &o));
	tl_assert_error_contains("failed verification");

	/* Corrupted but never verified: the restore itself finds out, after
	 * pg_restore has already written part of it into the scratch
	 * database, and leaves the current database alone. */
	sleep(1);
	char *file2 = backup_one(db, TL_BACKUP_FORMAT_CUSTOM);
	char *path2 = path_of(file2);
	int fd = open(path2, O_RDWR);
	assert_int_equal(fstat(fd, &st), 0);
	unsigned char buf[64];
	assert_int_equal(pread(fd, buf, sizeof(buf), st.st_size * 3 / 4), (ssize_t)sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] ^= 0x5a;
	assert_int_equal(pwrite(fd, buf, sizeof(buf), st.st_size * 3 / 4), (ssize_t)sizeof(buf));
	close(fd);
	int rc = tl_backup_restore(NULL, ctx, db, file2, &o);
	assert_int_not_equal(rc, TL_OK);
	tl_assert_error_contains("unchanged");
	char *after = checksums(db);
	assert_string_equal(before, after);
	/* No scratch or pre-restore database left behind. */
	char *left = value(admin,
	                   "SELECT count(*) FROM pg_database WHERE datname LIKE '%s\\_\\_%%'", db);
	assert_string_equal(left, "0");
	free(left);
	o.flags = 0;
	tl_assert_rc(TL_EIO, tl_backup_verify(NULL, ctx, file2, &o));
	tl_assert_error_contains("corrupted");

	/* A backup of another database is refused for this one. */
	o.flags = TL_BACKUP_CONFIRM;
	tl_assert_rc(TL_EINVALID, tl_backup_restore(NULL, ctx, "postgres", file2, &o));
	tl_assert_error_contains("not of postgres");
	/* Without confirmation nothing happens. */
	o.flags = 0;
	tl_assert_rc(TL_EINVALID, tl_backup_restore(NULL, ctx, db, file2, &o));
	/* Unknown file. */
	tl_assert_rc(TL_ENOTFOUND, tl_backup_verify(NULL, ctx, "nope_db_20260101T000000Z.dump.zst",
	                                            &o));
	free(before);
	free(after);
	free(file);
	free(path);
	free(file2);
	free(path2);
}

/* Kill the pg_dump child of this process as soon as data flows. */
static int killed;
static int kill_pg_dump(const tl_event *ev, void *payload)
{
	if (ev->type != TL_EVENT_PROGRESS || killed)
		return 0;
	DIR *d = opendir("/proc");
	for (struct dirent *e; d && (e = readdir(d));) {
		int pid = atoi(e->d_name);
		if (pid <= 0)
			continue;
		char p[64], stat[512];
		snprintf(p, sizeof(p), "/proc/%d/stat", pid);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		size_t n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[n] = '\0';
		char *close_paren = strrchr(stat, ')');
		int ppid = 0;
		if (strstr(stat, "(pg_dump)") && close_paren &&
		    sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == getpid()) {
			kill(pid, SIGKILL);
			killed = pid;
		}
	}
	if (d)
		closedir(d);
	return 0;
}

static void test_pg_dump_killed(void **state)
{
	char big[64], small[64], bigdb[80], smalldb[80];
	app_name(big, sizeof(big), "kill");
	app_name(small, sizeof(small), "small");
	snprintf(bigdb, sizeof(bigdb), "%s_db", big);
	snprintf(smalldb, sizeof(smalldb), "%s_db", small);
	make_app(big, 150000); /* well over one progress step (8 MiB) of dump */
	make_app(small, 100);
	/* A .partial left by a run that died: never listed, cleaned up. */
	mkdir(backup_dir, 0700);
	char stale[1200];
	snprintf(stale, sizeof(stale), "%s/%s_20250101T000000Z.dump.zst.partial", backup_dir,
	         bigdb);
	tl_test_write_file(stale, "half a backup", 0600);

	const char *dbs[] = {bigdb, smalldb};
	tl_backup_options o;
	opts_for(&o, dbs, 2);
	killed = 0;
	tl_ctx_set_event_cb(ctx, kill_pg_dump, NULL);
	tl_backup_report *r = NULL;
	int rc = tl_backup_run(&r, ctx, &o);
	tl_ctx_set_event_cb(ctx, NULL, NULL);
	assert_true(killed > 0);
	assert_int_not_equal(rc, TL_OK);
	tl_assert_error_contains(bigdb);
	tl_assert_error_contains("1 of 2");
	assert_non_null(r);
	assert_int_equal(tl_backup_report_count(r), 2);
	const tl_backup_outcome *b0 = tl_backup_report_at(r, 0), *b1 = tl_backup_report_at(r, 1);
	assert_string_equal(b0->database, bigdb);
	assert_int_not_equal(b0->result, TL_OK);
	assert_non_null(strstr(b0->message, "signal 9"));
	/* The other database was still backed up. */
	assert_string_equal(b1->database, smalldb);
	assert_int_equal(b1->result, TL_OK);
	tl_backup_report_free(r);
	/* No partial file survives; the list has only the good backup. */
	assert_int_equal(count_suffix(".partial"), 0);
	tl_backup_list *l = NULL;
	tl_assert_ok(tl_backup_list_get(&l, ctx, NULL));
	assert_int_equal(tl_backup_list_count(l), 1);
	assert_string_equal(tl_backup_list_at(l, 0)->database, smalldb);
	tl_backup_list_free(l);
	/* The next run succeeds. */
	tl_test_write_file(stale, "half a backup", 0600);
	l = NULL;
	tl_assert_ok(tl_backup_list_get(&l, ctx, NULL));
	assert_int_equal(tl_backup_list_count(l), 1);
	tl_backup_list_free(l);
	char *file = backup_one(bigdb, TL_BACKUP_FORMAT_CUSTOM);
	assert_int_equal(count_suffix(".partial"), 0);
	tl_assert_ok(tl_backup_verify(NULL, ctx, file, &o));
	free(file);
}

/* Copy a backup under another date, with a manifest in a given state. */
static char *fake_backup(const char *src_file, const char *db, int days_ago, int state,
                         int with_manifest)
{
	time_t t = time(NULL) - (time_t)days_ago * 86400 - 3600;
	char *name = tl__bk_file_name(db, t, TL_BACKUP_FORMAT_CUSTOM, 0);
	char *src = path_of(src_file), *dst = path_of(name);
	char *data = NULL;
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl__file_read(&b, src));
	tl_assert_ok(tl__file_write_atomic(dst, b.ptr, b.size, 0600));
	if (with_manifest) {
		tl__bk_manifest m;
		tl_assert_ok(tl__bk_manifest_load(&m, src));
		free(m.file);
		m.file = strdup(name);
		m.created = t;
		m.state = state;
		tl_assert_ok(tl__bk_manifest_save(&m, dst));
		tl__bk_manifest_dispose(&m);
	}
	tl_buf_dispose(&b);
	free(data);
	free(src);
	free(dst);
	return name;
}

static int exists_file(const char *file)
{
	char *p = path_of(file);
	int ok = access(p, F_OK) == 0;
	free(p);
	return ok;
}

static void test_retention(void **state)
{
	char app[64], db[80];
	app_name(app, sizeof(app), "keep");
	snprintf(db, sizeof(db), "%s_db", app);
	make_app(app, 50);
	char *real = backup_one(db, TL_BACKUP_FORMAT_CUSTOM);
	/* The last good backup is 9 days old; 8 daily runs since then failed
	 * (their files failed verification); an orphan file without a
	 * manifest is 10 days old. */
	char *good = fake_backup(real, db, 9, TL_BACKUP_VERIFIED, 1);
	char *failed[8];
	for (int i = 0; i < 8; i++)
		failed[i] = fake_backup(real, db, 8 - i, TL_BACKUP_FAILED, 1);
	char *orphan = fake_backup(real, db, 10, 0, 0);
	/* Drop the real one: the scenario is "nothing good in 9 days". */
	char *rp = path_of(real), *rj = NULL;
	assert_int_equal(asprintf(&rj, "%s.json", rp) > 0, 1);
	unlink(rp);
	unlink(rj);
	free(rp);
	free(rj);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEEP_DAYS", "7"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEEP_LAST", "3"));
	/* Databases kept by restores: one from 2020, one from now. */
	char old_kept[128], new_kept[128];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char ts[16];
	strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
	snprintf(old_kept, sizeof(old_kept), "%s__pre_restore_20200101000000", db);
	snprintf(new_kept, sizeof(new_kept), "%s__pre_restore_%s", db, ts);
	sqlf(admin, "CREATE DATABASE %s", old_kept);
	sqlf(admin, "CREATE DATABASE %s", new_kept);
	tl_backup_list *l = NULL;
	tl_assert_ok(tl_backup_list_get(&l, ctx, NULL));
	assert_int_equal(tl_backup_list_count(l), 10);
	assert_int_equal(find_in(l, orphan)->state, TL_BACKUP_INCOMPLETE);
	assert_int_equal(find_in(l, failed[0])->state, TL_BACKUP_FAILED);
	tl_backup_list_free(l);

	/* Dry run: a plan, nothing deleted. */
	tl_backup_options o;
	opts_for(&o, NULL, 0);
	o.flags = TL_BACKUP_DRY_RUN;
	tl_backup_prune_report *r = NULL;
	tl_assert_ok(tl_backup_prune(&r, ctx, &o));
	size_t planned = 0;
	for (size_t i = 0; i < tl_backup_prune_report_count(r); i++)
		planned += tl_backup_prune_report_at(r, i)->deleted != 0;
	/* the orphan, the failed ones of 8 and 7 days ago, the 2020 database */
	assert_int_equal(planned, 4);
	tl_backup_prune_report_free(r);
	assert_int_equal(exists_file(orphan), 1);
	assert_int_equal(db_exists(old_kept), 1);

	o.flags = 0;
	tl_assert_ok(tl_backup_prune(&r, ctx, &o));
	tl_backup_prune_report_free(r);
	assert_int_equal(exists_file(good), 1); /* the last good one stays */
	assert_int_equal(exists_file(orphan), 0);
	assert_int_equal(exists_file(failed[0]), 0); /* failed, 8 days old */
	assert_int_equal(exists_file(failed[1]), 0); /* failed, 7 days and an hour */
	for (int i = 2; i < 8; i++)                   /* failed, in the window */
		assert_int_equal(exists_file(failed[i]), 1);
	char *gj = NULL;
	assert_int_equal(asprintf(&gj, "%s.json", good) > 0, 1);
	assert_int_equal(exists_file(gj), 1);
	free(gj);
	assert_int_equal(count_suffix(".json"), 7);
	assert_int_equal(db_exists(old_kept), 0);
	assert_int_equal(db_exists(new_kept), 1);

	/* Bad configuration is refused before anything is deleted. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEEP_LAST", "0"));
	tl_assert_rc(TL_EINVALID, tl_backup_prune(&r, ctx, &o));
	tl_assert_error_contains("TOWLION_BACKUP_KEEP_LAST");
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEEP_LAST", "3"));
	free(real);
	free(good);
	free(orphan);
	for (int i = 0; i < 8; i++)
		free(failed[i]);
}

static void test_encryption(void **state)
{
	char app[64], db[80], key[600], key2[600];
	app_name(app, sizeof(app), "enc");
	snprintf(db, sizeof(db), "%s_db", app);
	make_app(app, 4000);
	char *before = checksums(db);
	snprintf(key, sizeof(key), "%s/backup.key", tmp);
	snprintf(key2, sizeof(key2), "%s/other.key", tmp);
	unlink(key);
	unlink(key2);
	tl_assert_ok(tl_backup_key_generate(key));
	tl_assert_ok(tl_backup_key_generate(key2));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", key));
	char *file = backup_one(db, TL_BACKUP_FORMAT_CUSTOM);
	assert_true(tl__str_endswith(file, ".dump.zst.enc"));
	char *sqlfile = backup_one(db, TL_BACKUP_FORMAT_SQL);
	assert_true(tl__str_endswith(sqlfile, ".sql.gz.enc"));
	/* Not readable as zstd without the key. */
	char *path = path_of(file);
	const char *zstd[] = {"zstd", "-dcq", path, NULL};
	assert_int_not_equal(run_prog(zstd, NULL), 0);

	tl_backup_options o;
	opts_for(&o, NULL, 0);
	tl_assert_ok(tl_backup_verify(NULL, ctx, file, &o));
	o.flags = TL_BACKUP_CONFIRM;
	char into[96];
	snprintf(into, sizeof(into), "%s_copy_db", app);
	o.into = into;
	tl_assert_ok(tl_backup_restore(NULL, ctx, db, file, &o));
	char *copy = checksums(into);
	assert_string_equal(copy, before);
	free(copy);
	o.into = NULL;
	tl_assert_ok(tl_backup_restore(NULL, ctx, db, sqlfile, &o));
	copy = checksums(db);
	assert_string_equal(copy, before);
	free(copy);

	/* The wrong key is named, and does not mark the backup as failed. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", key2));
	o.flags = 0;
	tl_assert_rc(TL_EAUTH, tl_backup_verify(NULL, ctx, file, &o));
	tl_assert_error_contains("wrong key");
	assert_int_equal(state_of(file), TL_BACKUP_VERIFIED);
	/* No key at all. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", ""));
	tl_assert_rc(TL_EINVALID, tl_backup_verify(NULL, ctx, file, &o));
	tl_assert_error_contains("TOWLION_BACKUP_KEY");
	/* A key file others can read is refused (and nothing is written). */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", key));
	assert_int_equal(chmod(key, 0640), 0);
	const char *dbs[] = {db};
	tl_backup_options ro;
	opts_for(&ro, dbs, 1);
	tl_backup_report *r = NULL;
	tl_assert_rc(TL_EAUTH, tl_backup_run(&r, ctx, &ro));
	assert_null(r);
	tl_assert_error_contains("chmod 600");
	assert_int_equal(chmod(key, 0600), 0);
	/* Tampered: one byte changed in the middle. */
	int fd = open(path, O_RDWR);
	struct stat st;
	fstat(fd, &st);
	unsigned char c;
	assert_int_equal(pread(fd, &c, 1, st.st_size / 2), 1);
	c ^= 1;
	assert_int_equal(pwrite(fd, &c, 1, st.st_size / 2), 1);
	close(fd);
	tl_assert_rc(TL_EIO, tl_backup_verify(NULL, ctx, file, &o));
	tl_assert_error_contains("tampered");
	assert_int_equal(state_of(file), TL_BACKUP_FAILED);
	free(before);
	free(file);
	free(sqlfile);
	free(path);
}

static void test_offsite(void **state)
{
	const char *ep = getenv("TOWLION_S3_ENDPOINT");
	if (!ep || !*ep) {
		TL_TEST_REQUIRE("TOWLION_S3_ENDPOINT");
		skip();
	}
	char app[64], db[80], bucket[64], remote[128];
	app_name(app, sizeof(app), "off");
	snprintf(db, sizeof(db), "%s_db", app);
	snprintf(bucket, sizeof(bucket), "%s-offsite", prefix);
	make_app(app, 2000);
	tl_s3 *s3 = NULL;
	tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
	tl_assert_ok(tl_s3_bucket_create(s3, bucket));
	snprintf(remote, sizeof(remote), "s3://%s/nightly/", bucket);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", remote));

	const char *dbs[] = {db};
	tl_backup_options o;
	opts_for(&o, dbs, 1);
	tl_backup_report *r = NULL;
	tl_assert_ok(tl_backup_run(&r, ctx, &o));
	const tl_backup_outcome *b = tl_backup_report_at(r, 0);
	char want[256];
	snprintf(want, sizeof(want), "s3://%s/nightly/%s", bucket, b->file);
	assert_string_equal(b->remote, want);
	char key[200], mkey[220];
	snprintf(key, sizeof(key), "nightly/%s", b->file);
	snprintf(mkey, sizeof(mkey), "%s.json", key);
	tl_s3_object *obj = NULL;
	tl_assert_ok(tl_s3_object_head(&obj, s3, bucket, key));
	assert_int_equal(tl_s3_object_size(obj), (uint64_t)b->size);
	tl_s3_object_free(obj);
	tl_assert_ok(tl_s3_object_head(&obj, s3, bucket, mkey));
	tl_s3_object_free(obj);
	/* The copy round-trips: download it and compare with the local file. */
	char dl[600];
	snprintf(dl, sizeof(dl), "%s/downloaded", tmp);
	tl_assert_ok(tl_s3_object_get_file(s3, bucket, key, dl, NULL));
	char *local = path_of(b->file);
	tl_buf x = TL_BUF_INIT, y = TL_BUF_INIT;
	tl_assert_ok(tl__file_read(&x, local));
	tl_assert_ok(tl__file_read(&y, dl));
	assert_int_equal(x.size, y.size);
	assert_memory_equal(x.ptr, y.ptr, x.size);
	tl_buf_dispose(&x);
	tl_buf_dispose(&y);
	unlink(dl);
	/* The list knows where the copy is. */
	tl_backup_list *l = NULL;
	tl_assert_ok(tl_backup_list_get(&l, ctx, NULL));
	assert_string_equal(find_in(l, b->file)->remote, want);
	tl_backup_list_free(l);

	/* Prune applies remotely too. */
	char *old = fake_backup(b->file, db, 30, TL_BACKUP_VERIFIED, 1);
	char *oldpath = path_of(old);
	char oldkey[200];
	snprintf(oldkey, sizeof(oldkey), "nightly/%s", old);
	tl_assert_ok(tl_s3_object_put_file(NULL, s3, bucket, oldkey, oldpath, NULL));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEEP_LAST", "1"));
	tl_backup_prune_report *pr = NULL;
	tl_assert_ok(tl_backup_prune(&pr, ctx, &o));
	tl_backup_prune_report_free(pr);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEEP_LAST", "3"));
	assert_int_equal(exists_file(old), 0);
	tl_assert_rc(TL_ENOTFOUND, tl_s3_object_head(&obj, s3, bucket, oldkey));
	tl_assert_ok(tl_s3_object_head(&obj, s3, bucket, key)); /* the new one stays */
	tl_s3_object_free(obj);
	tl_backup_report_free(r);

	/* Failure path: the bucket is gone. The run fails, naming the
	 * database; the local backup is still there. */
	snprintf(remote, sizeof(remote), "s3://%s-missing/x", prefix);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", remote));
	sleep(1);
	r = NULL;
	int rc = tl_backup_run(&r, ctx, &o);
	assert_int_not_equal(rc, TL_OK);
	tl_assert_error_contains(db);
	tl_assert_error_contains("offsite");
	b = tl_backup_report_at(r, 0);
	assert_int_not_equal(b->result, TL_OK);
	tl_backup_report_free(r);
	assert_int_equal(count_suffix(".partial"), 0);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", ""));

	tl_assert_ok(tl_s3_bucket_purge(s3, bucket));
	tl_s3_free(s3);
	free(local);
	free(old);
	free(oldpath);
}

static void test_dry_run_and_locks(void **state)
{
	char app[64], db[80];
	app_name(app, sizeof(app), "dry");
	snprintf(db, sizeof(db), "%s_db", app);
	make_app(app, 10);
	const char *dbs[] = {db};
	tl_backup_options o;
	opts_for(&o, dbs, 1);
	o.flags = TL_BACKUP_DRY_RUN;
	tl_backup_report *r = NULL;
	tl_assert_ok(tl_backup_run(&r, ctx, &o));
	assert_true(tl__str_startswith(tl_backup_report_at(r, 0)->file, db));
	tl_backup_report_free(r);
	tl_backup_list *l = NULL;
	tl_assert_ok(tl_backup_list_get(&l, ctx, NULL));
	assert_int_equal(tl_backup_list_count(l), 0);
	tl_backup_list_free(l);

	char *file = backup_one(db, TL_BACKUP_FORMAT_CUSTOM);
	char *before = checksums(db);
	o.flags = TL_BACKUP_DRY_RUN;
	tl_buf prev = TL_BUF_INIT;
	tl_assert_ok(tl_backup_restore(&prev, ctx, db, file, &o));
	assert_non_null(strstr(prev.ptr, "__pre_restore_"));
	tl_buf_dispose(&prev);
	char *left = value(admin,
	                   "SELECT count(*) FROM pg_database WHERE datname LIKE '%s\\_\\_%%'", db);
	assert_string_equal(left, "0");
	free(left);

	/* A database that is busy (locked) is refused at once with -1. */
	tl__lock *lk = NULL;
	tl_assert_ok(tl__bk_lock(&lk, ctx, db, 0));
	o.flags = 0;
	o.lock_timeout_ms = -1;
	r = NULL;
	tl_assert_rc(TL_ELOCKED, tl_backup_run(&r, ctx, &o));
	assert_int_equal(tl_backup_report_at(r, 0)->result, TL_ELOCKED);
	tl_backup_report_free(r);
	tl__lock_release(lk);

	/* Unknown database: a clear error naming it. */
	const char *none[] = {"bk_no_such_db"};
	opts_for(&o, none, 1);
	r = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_backup_run(&r, ctx, &o));
	tl_assert_error_contains("bk_no_such_db");
	tl_backup_report_free(r);
	free(file);
	free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_round_trip, clean_dir),
		cmocka_unit_test_setup(test_restore_while_app_connected, clean_dir),
		cmocka_unit_test_setup(test_broken_backups_are_refused, clean_dir),
		cmocka_unit_test_setup(test_pg_dump_killed, clean_dir),
		cmocka_unit_test_setup(test_retention, clean_dir),
		cmocka_unit_test_setup(test_encryption, clean_dir),
		cmocka_unit_test_setup(test_offsite, clean_dir),
		cmocka_unit_test_setup(test_dry_run_and_locks, clean_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
