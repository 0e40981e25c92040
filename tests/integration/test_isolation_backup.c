/*
 * Tenant isolation of restores and deep verifies, against the harness's
 * real PostgreSQL 15 and the real pg_dump / pg_restore:
 *  - a hostile dump (tests/isolation/backup/hostile.sql) whose CHECK
 *    constraints, generated columns, index expressions, defaults and a
 *    count(*) of its own try superuser things: backup, deep verify and
 *    restore finish, and nothing ran with platform rights;
 *  - the restoring process SIGKILLed at each step (TOWLION_TEST_PAUSE_AT), then
 *    the next command repairs it and says so;
 *  - backup run with a database that refuses connections reports it;
 *  - a restore keeps the previews' schemas with their roles;
 *  - a wrong TOWLION_PG_URL never puts its password in an error (backup and pg).
 * Every database and role is named ib<pid>... and dropped at the end.
 */
#include "tl_test.h"

#include "backup/backup_internal.h"
#include "towlion/pg.h"

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static tl_ctx *ctx;
static PGconn *admin;
static char *tmp, backup_dir[512], state_dir[512], mark[600];
static char prefix[32]; /* ib<pid> */
static char host[128], port[16], admin_user[64];
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

static char *value(PGconn *c, const char *fmt, ...) TL__PRINTF(2, 3);
static char *value(PGconn *c, const char *fmt, ...)
{
	char q[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	PGresult *r = sql(c, q);
	char *v = strdup(PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return v;
}

/* value() compared with an expected string. */
static void expect(PGconn *c, const char *want, const char *q)
{
	char *v = value(c, "%s", q);
	if (strcmp(v, want))
		print_error("%s\n  gave \"%s\", want \"%s\"\n", q, v, want);
	assert_string_equal(v, want);
	free(v);
}

static PGconn *try_connect_as(const char *user, const char *password, const char *db)
{
	char ci[512];
	snprintf(ci, sizeof(ci), "host=%s port=%s user=%s password=%s dbname=%s connect_timeout=10",
	         host, port, user, password, db);
	return PQconnectdb(ci);
}

static PGconn *connect_as(const char *user, const char *password, const char *db)
{
	PGconn *c = try_connect_as(user, password, db);
	if (PQstatus(c) != CONNECTION_OK)
		print_error("connect %s@%s: %s\n", user, db, PQerrorMessage(c));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQsetNoticeProcessor(c, NULL, NULL);
	return c;
}

static PGconn *connect_admin(const char *db)
{
	const char *keys[] = {"dbname", "dbname", NULL};
	const char *vals[] = {getenv("TOWLION_PG_URL"), db, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQsetNoticeProcessor(c, NULL, NULL);
	return c;
}

/* An app `<name>_db` owned by `<name>_user` (password "pw-<name>"), PUBLIC
 * locked out as the pg module does, with a table `state` of one row. */
static void make_app(const char *name)
{
	sqlf(admin, "CREATE ROLE %s_user LOGIN PASSWORD 'pw-%s'", name, name);
	sqlf(admin, "CREATE DATABASE %s_db OWNER %s_user", name, name);
	sqlf(admin, "REVOKE ALL ON DATABASE %s_db FROM PUBLIC", name);
	char db[80], user[80], pw[80];
	snprintf(db, sizeof(db), "%s_db", name);
	snprintf(user, sizeof(user), "%s_user", name);
	snprintf(pw, sizeof(pw), "pw-%s", name);
	PGconn *c = connect_as(user, pw, db);
	PQclear(sql(c, "REVOKE ALL ON SCHEMA public FROM PUBLIC"));
	PQclear(sql(c, "CREATE TABLE state (v text)"));
	PQclear(sql(c, "INSERT INTO state VALUES ('v1')"));
	PQfinish(c);
}

static void drop_app(const char *name)
{
	PGresult *r = sql(admin, "SELECT datname FROM pg_database WHERE datname LIKE 'ib%'");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *d = PQgetvalue(r, i, 0);
		if (!strncmp(d, name, strlen(name)) && d[strlen(name)] == '_')
			sqlf(admin, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", d);
	}
	PQclear(r);
	r = sql(admin, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'ib%'");
	for (int i = 0; i < PQntuples(r); i++) {
		const char *n = PQgetvalue(r, i, 0);
		if (!strncmp(n, name, strlen(name)) && n[strlen(name)] == '_')
			sqlf(admin, "DROP ROLE IF EXISTS \"%s\"", n);
	}
	PQclear(r);
}

static void app_name(char *out, size_t len, const char *what)
{
	snprintf(out, len, "%s%s", prefix, what);
}

static void opts_for(tl_backup_options *o, const char *const *dbs, size_t n)
{
	tl_backup_options_init(o, TL_BACKUP_OPTIONS_VERSION);
	o->databases = dbs;
	o->ndatabases = n;
	o->pg_bin_dir = pg_bin;
	o->timeout_ms = 300000;
}

static char *backup_one(const char *db)
{
	const char *dbs[] = {db};
	tl_backup_options o;
	opts_for(&o, dbs, 1);
	tl_backup_report *r = NULL;
	tl_assert_ok(tl_backup_run(&r, ctx, &o));
	char *file = strdup(tl_backup_report_at(r, 0)->file);
	tl_backup_report_free(r);
	return file;
}

/* Nothing the platform made for `db` is left: no scratch database, no
 * throwaway role, no intent record. */
static void assert_no_leftovers(const char *db)
{
	char *n = value(admin,
	                "SELECT count(*) FROM pg_database WHERE datname LIKE '%s\\_\\_restore\\_%%' "
	                "OR datname LIKE '%s\\_\\_verify\\_%%'",
	                db, db);
	assert_string_equal(n, "0");
	free(n);
	n = value(admin,
	          "SELECT count(*) FROM pg_roles WHERE rolname LIKE '%s\\_\\_restore\\_%%' "
	          "OR rolname LIKE '%s\\_\\_verify\\_%%'",
	          db, db);
	assert_string_equal(n, "0");
	free(n);
	char path[1200];
	snprintf(path, sizeof(path), "%s/backups/intent.%s.json", state_dir, db);
	assert_int_not_equal(access(path, F_OK), 0);
}

/* No role gained rights: the only superuser is the harness's admin, the
 * app's role is plain, the hostile role does not exist, and COPY TO
 * PROGRAM never ran. */
static void assert_no_escalation(const char *app)
{
	char q[512];
	snprintf(q, sizeof(q), "SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolsuper");
	expect(admin, admin_user, q);
	snprintf(q, sizeof(q),
	         "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles "
	         "WHERE rolname = '%s_user'",
	         app);
	expect(admin, "f", q);
	snprintf(q, sizeof(q), "SELECT count(*) FROM pg_roles WHERE rolname = '%s_pwned'", app);
	expect(admin, "0", q);
	snprintf(q, sizeof(q),
	         "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
	         "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = '%s_user'",
	         app);
	expect(admin, "0", q);
	assert_int_not_equal(access(mark, F_OK), 0);
}

/* ---- setup ---------------------------------------------------------------- */

static int setup(void **state)
{
	if (!TL_TEST_REQUIRE("TOWLION_PG_URL"))
		return -1;
	pg_bin = getenv("TL_TEST_PG_BIN");
	snprintf(prefix, sizeof(prefix), "ib%d", (int)getpid());
	tmp = tl_test_tmpdir();
	snprintf(backup_dir, sizeof(backup_dir), "%s/backups", tmp);
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	/* Where COPY TO PROGRAM would leave its mark (the server is local). */
	snprintf(mark, sizeof(mark), "/tmp/tl-isolation-backup-%d.pwned", (int)getpid());
	unlink(mark);
	ctx = tl_test_ctx(1);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_DIR", backup_dir));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", state_dir));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", ""));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", ""));
	admin = connect_admin("postgres");
	snprintf(host, sizeof(host), "%s", PQhost(admin));
	snprintf(port, sizeof(port), "%s", PQport(admin));
	snprintf(admin_user, sizeof(admin_user), "%s", PQuser(admin));
	return 0;
}

static int teardown(void **state)
{
	if (admin) {
		const char *names[] = {"evil", "nb", "kill", "closed", "pv", "url"};
		char app[64];
		for (size_t i = 0; i < TL__ARRAY_SIZE(names); i++) {
			app_name(app, sizeof(app), names[i]);
			drop_app(app);
		}
		PQfinish(admin);
	}
	unlink(mark);
	tl_ctx_free(ctx);
	if (tmp)
		tl_test_rmdir(tmp);
	return 0;
}

/* ---- a hostile dump ---------------------------------------------------------- */

static void load_hostile(const char *app)
{
	char path[600], db[80], user[80], pw[80], role[96];
	snprintf(path, sizeof(path), "%s/tests/isolation/backup/hostile.sql", TL_TEST_SOURCE_DIR);
	snprintf(db, sizeof(db), "%s_db", app);
	snprintf(user, sizeof(user), "%s_user", app);
	snprintf(pw, sizeof(pw), "pw-%s", app);
	snprintf(role, sizeof(role), "%s_pwned", app);
	char *text = tl_test_read_file(path);
	assert_non_null(text);
	tl_buf b = TL_BUF_INIT;
	for (const char *p = text; *p;) {
		if (!strncmp(p, "@MARK@", 6)) {
			tl__buf_puts(&b, mark);
			p += 6;
		} else if (!strncmp(p, "@ROLE@", 6)) {
			tl__buf_puts(&b, role);
			p += 6;
		} else {
			tl__buf_putc(&b, *p++);
		}
	}
	PGconn *c = connect_as(user, pw, db);
	PQclear(sql(c, b.ptr));
	/* Its own count(*) before pg_catalog's, for sessions that follow the
	 * database's settings. */
	sqlf(c, "ALTER DATABASE %s SET search_path = public, pg_catalog", db);
	PQfinish(c);
	tl_buf_dispose(&b);
	free(text);
}

static void test_hostile_dump(void **state)
{
	char app[64], nb[64], db[80], nbdb[80], user[80], pw[80], q[512];
	app_name(app, sizeof(app), "evil");
	app_name(nb, sizeof(nb), "nb");
	snprintf(db, sizeof(db), "%s_db", app);
	snprintf(nbdb, sizeof(nbdb), "%s_db", nb);
	snprintf(user, sizeof(user), "%s_user", app);
	snprintf(pw, sizeof(pw), "pw-%s", app);
	make_app(app);
	make_app(nb);
	load_hostile(app);
	/* As the app's own role, every attempt was refused. */
	PGconn *c = connect_as(user, pw, db);
	expect(c, "0", "SELECT pg_catalog.count(*) FROM trace WHERE result = 'ok'");
	expect(c, "t", "SELECT pg_catalog.count(*) >= 8 FROM trace");
	PQfinish(c);

	/* A backup: the admin's table count never uses the tenant's count(*). */
	char *file = backup_one(db);
	c = connect_admin(db);
	snprintf(q, sizeof(q), "SELECT pg_catalog.count(*) FROM public.trace WHERE sess = '%s' OR "
	                       "cur = '%s'", admin_user, admin_user);
	expect(c, "0", q);
	PQfinish(c);

	/* Deep verify: restored into a scratch database and counted. */
	tl_backup_options o;
	opts_for(&o, NULL, 0);
	o.flags = TL_BACKUP_DEEP;
	tl_backup_check k;
	tl_assert_ok(tl_backup_verify(&k, ctx, file, &o));
	assert_int_equal(k.tables, 6);
	assert_no_leftovers(db);
	assert_no_escalation(app);

	/* Restore over the live database. */
	o.flags = TL_BACKUP_CONFIRM;
	tl_buf prev = TL_BUF_INIT;
	tl_assert_ok(tl_backup_restore(&prev, ctx, db, file, &o));
	assert_no_leftovers(db);
	assert_no_escalation(app);
	c = connect_as(user, pw, db);
	/* The tenant's code did run during the restore (CHECK, generated
	 * column): as the app's role in a session of the throwaway role,
	 * never as the admin, and every attempt was refused. */
	snprintf(q, sizeof(q), "SELECT pg_catalog.count(*) FROM trace WHERE sess LIKE '%s\\_\\_restore\\_%%'", db);
	char *during = value(c, "%s", q);
	assert_true(atoi(during) >= 8);
	free(during);
	snprintf(q, sizeof(q), "SELECT pg_catalog.count(*) FROM trace WHERE sess = '%s' OR cur = '%s'",
	         admin_user, admin_user);
	expect(c, "0", q);
	expect(c, "0", "SELECT pg_catalog.count(*) FROM trace WHERE result = 'ok'");
	/* Every object belongs to the app's role; the data is all there. */
	snprintf(q, sizeof(q),
	         "SELECT pg_catalog.count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
	         "c.relnamespace WHERE n.nspname = 'public' AND c.relowner <> '%s'::regrole",
	         user);
	expect(c, "0", q);
	expect(c, "2", "SELECT pg_catalog.count(*) FROM guarded");
	PQfinish(c);
	/* The neighbour never noticed. */
	char nbuser[80], nbpw[80];
	snprintf(nbuser, sizeof(nbuser), "%s_user", nb);
	snprintf(nbpw, sizeof(nbpw), "pw-%s", nb);
	c = connect_as(nbuser, nbpw, nbdb);
	expect(c, "v1", "SELECT v FROM state");
	PQfinish(c);
	tl_buf_dispose(&prev);
	free(file);
}

/* A database owned by the admin is never restored (its code would run as
 * the admin). */
static void test_superuser_owner_refused(void **state)
{
	char app[64], db[80];
	app_name(app, sizeof(app), "nb");
	snprintf(db, sizeof(db), "%s_db", app);
	char *file = backup_one(db);
	sqlf(admin, "ALTER DATABASE %s OWNER TO %s", db, admin_user);
	tl_backup_options o;
	opts_for(&o, NULL, 0);
	o.flags = TL_BACKUP_CONFIRM;
	tl_assert_rc(TL_EINVALID, tl_backup_restore(NULL, ctx, db, file, &o));
	tl_assert_error_contains("platform rights");
	tl_assert_error_contains("nothing was changed");
	assert_no_leftovers(db);
	sqlf(admin, "ALTER DATABASE %s OWNER TO %s_user", db, app);
	free(file);
}

/* ---- killed at each step -------------------------------------------------------- */

static char pause_file[700];

/* Start `towlion ARGS` paused at `point`; returns its pid once it is
 * there. */
static pid_t start_paused(const char *point, const char *const *args)
{
	snprintf(pause_file, sizeof(pause_file), "%s/paused", tmp);
	unlink(pause_file);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("TOWLION_TEST_PAUSE_AT", point, 1);
		setenv("TOWLION_TEST_PAUSE_FILE", pause_file, 1);
		setenv("TOWLION_BACKUP_DIR", backup_dir, 1);
		setenv("TOWLION_STATE_DIR", state_dir, 1);
		setenv("TOWLION_BACKUP_KEY", "", 1);
		setenv("TOWLION_BACKUP_REMOTE", "", 1);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		const char *argv[16] = {TL_TEST_BINARY_DIR "/towlion"};
		for (size_t i = 0; args[i] && i < 14; i++)
			argv[i + 1] = args[i];
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 1200; i++) {
		if (access(pause_file, F_OK) == 0)
			return pid;
		int st = 0;
		if (waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("towlion exited (status %d) before reaching %s", st, point);
		struct timespec t = {0, 100 * 1000 * 1000};
		nanosleep(&t, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fail_msg("towlion never reached %s", point);
	return -1;
}

static int datallowconn(const char *db)
{
	char *v = value(admin, "SELECT datallowconn FROM pg_database WHERE datname = '%s'", db);
	int r = !strcmp(v, "t") ? 1 : !strcmp(v, "f") ? 0 : -1;
	free(v);
	return r;
}

static char *pre_of(const char *db)
{
	return value(admin,
	             "SELECT datname FROM pg_database WHERE datname LIKE '%s\\_\\_pre\\_restore\\_%%' "
	             "ORDER BY datname DESC LIMIT 1",
	             db);
}

/* Capture events: the repair must say what it did. */
static tl_buf heard;
static int listen(const tl_event *ev, void *payload)
{
	if (ev->type == TL_EVENT_LOG && ev->message)
		tl__buf_printf(&heard, "%s\n", ev->message);
	return 0;
}

static void test_killed_at_each_step(void **state)
{
	char app[64], db[80], user[80], pw[80], nb[64], nbdb[80], nbuser[80], nbpw[80];
	app_name(app, sizeof(app), "kill");
	app_name(nb, sizeof(nb), "nb");
	snprintf(db, sizeof(db), "%s_db", app);
	snprintf(user, sizeof(user), "%s_user", app);
	snprintf(pw, sizeof(pw), "pw-%s", app);
	snprintf(nbdb, sizeof(nbdb), "%s_db", nb);
	snprintf(nbuser, sizeof(nbuser), "%s_user", nb);
	snprintf(nbpw, sizeof(nbpw), "pw-%s", nb);
	make_app(app);
	char *file = backup_one(db); /* holds state = v1 */
	PGconn *c = connect_as(user, pw, db);
	PQclear(sql(c, "UPDATE state SET v = 'v2'"));
	PQfinish(c);
	/* A neighbour keeps a connection open through it all. */
	PGconn *neighbour = connect_as(nbuser, nbpw, nbdb);

	const struct {
		const char *point;
		int verify;   /* a deep verify, not a restore */
		int closed;   /* the live database is left closed */
		int swapped;  /* the restored copy is live */
		int repair_by; /* 0 backup run, 1 doctor, 2 CLI backup repair, 3 verify, 4 restore,
		                  5 any other CLI command (db list) */
	} steps[] = {
		{"restore:scratch", 0, 0, 0, 0},
		{"restore:restored", 0, 0, 0, 1},
		{"restore:closed", 0, 1, 0, 0},
		{"restore:closed", 0, 1, 0, 5},
		{"restore:swapped", 0, 1, 1, 2},
		{"verify:scratch", 1, 0, 0, 3},
		{"verify:restored", 1, 0, 0, 4},
	};
	for (size_t i = 0; i < TL__ARRAY_SIZE(steps); i++) {
		print_message("kill -9 at %s\n", steps[i].point);
		const char *restore[] = {"backup", "restore", db, file, "--yes", NULL};
		const char *verify[] = {"backup", "verify", file, "--deep", NULL};
		pid_t pid = start_paused(steps[i].point, steps[i].verify ? verify : restore);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, NULL, 0), pid);

		/* What the kill left. */
		char intent[1200];
		snprintf(intent, sizeof(intent), "%s/backups/intent.%s.json", state_dir, db);
		assert_int_equal(access(intent, F_OK), 0);
		char *left = value(admin,
		                   "SELECT count(*) FROM pg_roles WHERE rolname LIKE '%s\\_\\_%s\\_%%'", db,
		                   steps[i].verify ? "verify" : "restore");
		assert_string_equal(left, "1");
		free(left);
		char *pre = pre_of(db);
		if (steps[i].closed && !steps[i].swapped)
			assert_int_equal(datallowconn(db), 0);
		if (steps[i].swapped)
			assert_int_equal(datallowconn(pre), 0);
		/* The app cannot get in while its database is closed. */
		if (steps[i].closed && !steps[i].swapped) {
			PGconn *x = try_connect_as(user, pw, db);
			assert_int_not_equal(PQstatus(x), CONNECTION_OK);
			PQfinish(x);
		}

		/* The next command repairs, and says so. */
		tl__buf_clear(&heard);
		tl_ctx_set_event_cb(ctx, listen, NULL);
		tl_backup_options o;
		if (steps[i].repair_by == 0) {
			const char *dbs[] = {db};
			opts_for(&o, dbs, 1);
			tl_backup_report *r = NULL;
			tl_assert_ok(tl_backup_run(&r, ctx, &o));
			tl_backup_report_free(r);
		} else if (steps[i].repair_by == 1) {
			tl_doctor_options d = TL_DOCTOR_OPTIONS_INIT;
			d.checks = TL_DOCTOR_SERVER;
			tl_doctor_report *r = NULL;
			tl_assert_ok(tl_doctor_run_with(&r, ctx, &d));
			const tl_check *b = NULL;
			for (size_t k = 0; k < tl_doctor_report_count(r); k++)
				if (!strcmp(tl_doctor_report_at(r, k)->name, "backups"))
					b = tl_doctor_report_at(r, k);
			assert_non_null(b);
			print_message("doctor: %s %s\n", tl_check_status_name(b->status), b->detail);
			assert_int_equal(b->status, TL_CHECK_WARN);
			assert_non_null(strstr(b->detail, "repaired restore of"));
			assert_non_null(strstr(b->detail, db));
			tl_doctor_report_free(r);
		} else if (steps[i].repair_by == 2 || steps[i].repair_by == 5) {
			tl__spawn_result res;
			char sd[600], bd[600];
			snprintf(sd, sizeof(sd), "TOWLION_STATE_DIR=%s", state_dir);
			snprintf(bd, sizeof(bd), "TOWLION_BACKUP_DIR=%s", backup_dir);
			const char *env[] = {sd, bd, "TOWLION_BACKUP_KEY=", "TOWLION_BACKUP_REMOTE=", NULL};
			const char *repair[] = {TL_TEST_BINARY_DIR "/towlion", "--json", "backup", "repair",
			                        NULL};
			const char *other[] = {TL_TEST_BINARY_DIR "/towlion", "db", "list", NULL};
			const char *const *argv = steps[i].repair_by == 2 ? repair : other;
			tl__spawn_opts so = {.argv = argv, .env = env, .stdout_mode = TL__STDIO_BUFFER,
			                     .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 60000};
			tl_assert_ok(tl__spawn(&res, NULL, &so));
			if (res.exit_status)
				print_error("%s\n", res.err.ptr ? res.err.ptr : "");
			assert_int_equal(res.exit_status, 0);
			if (steps[i].repair_by == 2) {
				assert_non_null(strstr(res.out.ptr, "\"repaired\""));
				assert_non_null(strstr(res.out.ptr, db));
			} else {
				/* db list repaired first and said so on stderr; the
				 * reopened database is in its list. */
				print_message("db list said: %s\n", res.err.ptr ? res.err.ptr : "");
				assert_non_null(res.err.ptr);
				assert_non_null(strstr(res.err.ptr, "repaired"));
				assert_non_null(strstr(res.err.ptr, db));
				assert_non_null(strstr(res.out.ptr, db));
			}
			tl__buf_puts(&heard, res.out.ptr);
			tl__spawn_result_dispose(&res);
		} else if (steps[i].repair_by == 3) {
			opts_for(&o, NULL, 0);
			o.flags = TL_BACKUP_DEEP;
			tl_assert_ok(tl_backup_verify(NULL, ctx, file, &o));
		} else {
			/* A restore --into a new name after a killed verify. */
			char into[96];
			snprintf(into, sizeof(into), "%s_copy_db", app);
			opts_for(&o, NULL, 0);
			o.flags = TL_BACKUP_CONFIRM;
			o.into = into;
			tl_assert_ok(tl_backup_restore(NULL, ctx, db, file, &o));
			char cq[200];
			snprintf(cq, sizeof(cq), "SELECT count(*) FROM pg_database WHERE datname = '%s'", into);
			expect(admin, "1", cq);
		}
		tl_ctx_set_event_cb(ctx, NULL, NULL);
		if (steps[i].repair_by != 2 && steps[i].repair_by != 5) {
			if (!strstr(heard.ptr ? heard.ptr : "", "repaired"))
				print_error("events: %s\n", heard.ptr ? heard.ptr : "(none)");
			assert_non_null(strstr(heard.ptr, "repaired"));
			assert_non_null(strstr(heard.ptr, db));
		}

		/* Repaired: open, no scratch database, role or record left. */
		assert_no_leftovers(db);
		assert_int_equal(datallowconn(db), 1);
		if (steps[i].swapped)
			assert_int_equal(datallowconn(pre), 1);
		c = connect_as(user, pw, db);
		expect(c, steps[i].swapped ? "v1" : "v2", "SELECT v FROM state");
		/* Back to v2 for the next round. */
		PQclear(sql(c, "UPDATE state SET v = 'v2'"));
		PQfinish(c);
		expect(neighbour, "v1", "SELECT v FROM state");
		free(pre);
	}
	PQfinish(neighbour);
	tl_buf_dispose(&heard);
	free(file);
}

/* ---- a database that refuses connections ------------------------------------------ */

static void test_closed_database_fails_the_run(void **state)
{
	char app[64], db[80], nb[64], nbdb[80];
	app_name(app, sizeof(app), "closed");
	app_name(nb, sizeof(nb), "nb");
	snprintf(db, sizeof(db), "%s_db", app);
	snprintf(nbdb, sizeof(nbdb), "%s_db", nb);
	make_app(app);
	sqlf(admin, "ALTER DATABASE %s ALLOW_CONNECTIONS false", db);
	/* Every app database, found by the run itself. */
	tl_backup_options o;
	opts_for(&o, NULL, 0);
	tl_backup_report *r = NULL;
	int rc = tl_backup_run(&r, ctx, &o);
	assert_int_not_equal(rc, TL_OK);
	tl_assert_error_contains(db);
	assert_non_null(r);
	int seen = 0, nb_ok = 0;
	for (size_t i = 0; i < tl_backup_report_count(r); i++) {
		const tl_backup_outcome *b = tl_backup_report_at(r, i);
		if (!strcmp(b->database, db)) {
			seen = 1;
			assert_int_not_equal(b->result, TL_OK);
			print_message("%s: %s\n", b->database, b->message);
			assert_non_null(strstr(b->message, "refuses connections"));
		} else if (!strcmp(b->database, nbdb)) {
			nb_ok = b->result == TL_OK;
		}
	}
	assert_true(seen);
	assert_true(nb_ok); /* the others are still backed up */
	tl_backup_report_free(r);
	sqlf(admin, "ALTER DATABASE %s ALLOW_CONNECTIONS true", db);
}

/* ---- previews keep their schemas ----------------------------------------------------- */

/* Log in with the user and password of a DATABASE_URL, through the
 * admin's host and port (the URL names the address containers use). */
static PGconn *url_login(const char *url)
{
	char *err = NULL;
	PQconninfoOption *o = PQconninfoParse(url, &err);
	assert_non_null(o);
	const char *user = "", *pw = "", *db = "";
	for (PQconninfoOption *p = o; p->keyword; p++) {
		if (!p->val)
			continue;
		if (!strcmp(p->keyword, "user"))
			user = p->val;
		else if (!strcmp(p->keyword, "password"))
			pw = p->val;
		else if (!strcmp(p->keyword, "dbname"))
			db = p->val;
	}
	PGconn *c = connect_as(user, pw, db);
	PQconninfoFree(o);
	return c;
}

static void test_preview_survives_restore(void **state)
{
	char app[64], db[80];
	/* App names are DNS labels: "ib123pv". */
	app_name(app, sizeof(app), "pv");
	snprintf(db, sizeof(db), "%s_db", app);
	tl_pg *pg = NULL;
	tl_assert_ok(tl_pg_connect(&pg, ctx));
	tl_assert_ok(tl_pg_app_create(NULL, pg, app, NULL));
	tl_assert_ok(tl_pg_preview_create(NULL, pg, app, 7, NULL));
	tl_buf url = TL_BUF_INIT, appurl = TL_BUF_INIT;
	tl_assert_ok(tl_pg_database_url(&url, ctx, app, 7));
	tl_assert_ok(tl_pg_database_url(&appurl, ctx, app, 0));
	PGconn *c = url_login(url.ptr);
	PQclear(sql(c, "CREATE TABLE notes (id serial PRIMARY KEY, body text)"));
	PQclear(sql(c, "CREATE TYPE mood AS ENUM ('ok', 'meh')"));
	PQclear(sql(c, "CREATE VIEW short_notes AS SELECT id FROM notes"));
	PQclear(sql(c, "CREATE FUNCTION n_notes() RETURNS bigint LANGUAGE sql AS "
	               "$$ SELECT count(*) FROM notes $$"));
	PQclear(sql(c, "INSERT INTO notes (body) VALUES ('from the preview')"));
	PQfinish(c);

	char *file = backup_one(db);
	tl_backup_options o;
	opts_for(&o, NULL, 0);
	o.flags = TL_BACKUP_CONFIRM;
	tl_assert_ok(tl_backup_restore(NULL, ctx, db, file, &o));
	assert_no_leftovers(db);

	/* pr_7 and everything in it belong to the preview's role again... */
	PGconn *a = connect_admin(db);
	char q[600];
	snprintf(q, sizeof(q),
	         "SELECT string_agg(DISTINCT pg_get_userbyid(o), ',') FROM ("
	         " SELECT nspowner o FROM pg_namespace WHERE nspname = 'pr_7'"
	         " UNION ALL SELECT relowner FROM pg_class WHERE relnamespace = 'pr_7'::regnamespace"
	         " UNION ALL SELECT proowner FROM pg_proc WHERE pronamespace = 'pr_7'::regnamespace"
	         " UNION ALL SELECT typowner FROM pg_type WHERE typnamespace = 'pr_7'::regnamespace"
	         "  AND typtype = 'e') x");
	char want[96];
	snprintf(want, sizeof(want), "%s_pr_7", app);
	expect(a, want, q);
	PQfinish(a);
	/* ...so the preview can be brought up again, and keeps working. */
	tl_pg_report *rep = NULL;
	tl_assert_ok(tl_pg_preview_create(&rep, pg, app, 7, NULL));
	tl_pg_report_free(rep);
	c = url_login(url.ptr);
	expect(c, "1", "SELECT n_notes()");
	PQclear(sql(c, "INSERT INTO notes (body) VALUES ('after the restore')"));
	PQclear(sql(c, "ALTER TABLE notes ADD COLUMN at timestamptz"));
	PQfinish(c);
	/* The app still cannot read the preview's data. */
	c = url_login(appurl.ptr);
	PGresult *r = PQexec(c, "SELECT * FROM pr_7.notes");
	assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	PQfinish(c);

	tl_pg_options drop = TL_PG_OPTIONS_INIT;
	drop.flags = TL_PG_CONFIRM;
	tl_assert_ok(tl_pg_app_drop(NULL, pg, app, &drop));
	tl_pg_free(pg);
	tl__buf_dispose_secret(&url);
	tl__buf_dispose_secret(&appurl);
	free(file);
}

/* ---- a wrong URL never shows its password ----------------------------------------------- */

static void assert_secret_absent(const char *secret, const char *what)
{
	const char *m = tl_error_last()->message;
	print_message("%s: %s\n", what, m);
	assert_true(strlen(m) > 0);
	/* Neither the password nor any 3 characters of it in a row. */
	for (size_t i = 0; i + 3 <= strlen(secret); i++) {
		char piece[4] = {secret[i], secret[i + 1], secret[i + 2], 0};
		if (strstr(m, piece))
			fail_msg("\"%s\" (from the password) appears in: %s", piece, m);
	}
}

static void test_wrong_url_never_quotes_password(void **state)
{
	char app[64], db[80];
	app_name(app, sizeof(app), "url");
	snprintf(db, sizeof(db), "%s_db", app);
	make_app(app);
	char *file = backup_one(db);
	/* A pending repair, so tl_backup_repair must connect too. */
	char intent[1200];
	snprintf(intent, sizeof(intent), "%s/backups/intent.%s.json", state_dir, db);
	char *body = tl__sprintf("{\"kind\": \"restore\", \"database\": \"%s\", \"target\": \"%s\", "
	                         "\"scratch\": \"%s__restore_1\", \"role\": \"%s__restore_1\", "
	                         "\"owner\": \"%s_user\", \"pre\": \"\", \"step\": \"scratch\"}",
	                         db, db, db, db, app);
	tl_test_write_file(intent, body, 0600);
	free(body);

	const struct {
		const char *url, *secret;
	} bad[] = {
		/* '/' in the password: libpq takes "Wx9" for the port */
		{"postgresql://admin:Wx9/QzKp7@127.0.0.1:5432/postgres", "Wx9/QzKp7"},
		/* '@' and ':' in the password, a port that is not a number */
		{"postgresql://admin:Hu:nt@er2Zq@127.0.0.1:notaport/postgres", "Hu:nt@er2Zq"},
		/* bad percent-encoding right in the password */
		{"postgresql://admin:Tq%zzVb8Lm@127.0.0.1:1/postgres", "Tq%zzVb8Lm"},
		/* key=value with an unterminated quote */
		{"host=127.0.0.1 port=1 user=admin password='Pw7Kd9Xs", "Pw7Kd9Xs"},
		/* well-formed, nobody listening */
		{"postgresql://admin:Rf4Gh6Jk@127.0.0.1:1/postgres", "Rf4Gh6Jk"},
	};
	for (size_t i = 0; i < TL__ARRAY_SIZE(bad); i++) {
		tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL", bad[i].url));
		const char *dbs[] = {db};
		tl_backup_options o;
		opts_for(&o, dbs, 1);
		tl_backup_report *r = NULL;
		assert_int_not_equal(tl_backup_run(&r, ctx, &o), TL_OK);
		assert_secret_absent(bad[i].secret, "run");
		for (size_t k = 0; k < tl_backup_report_count(r); k++) {
			const char *m = tl_backup_report_at(r, k)->message;
			assert_null(strstr(m, bad[i].secret));
		}
		tl_backup_report_free(r);
		opts_for(&o, NULL, 0);
		o.flags = TL_BACKUP_DEEP;
		assert_int_not_equal(tl_backup_verify(NULL, ctx, file, &o), TL_OK);
		assert_secret_absent(bad[i].secret, "verify");
		o.flags = TL_BACKUP_CONFIRM;
		assert_int_not_equal(tl_backup_restore(NULL, ctx, db, file, &o), TL_OK);
		assert_secret_absent(bad[i].secret, "restore");
		assert_int_not_equal(tl_backup_repair(NULL, ctx, NULL), TL_OK);
		assert_secret_absent(bad[i].secret, "repair");
		/* The pg module (towlion db ...) connects with the same URL. */
		tl_pg *pg = NULL;
		assert_int_not_equal(tl_pg_connect(&pg, ctx), TL_OK);
		assert_null(pg);
		assert_secret_absent(bad[i].secret, "pg connect");
	}
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL", getenv("TOWLION_PG_URL")));
	/* With the right URL the (harmless) record is cleared. */
	tl_assert_ok(tl_backup_repair(NULL, ctx, NULL));
	assert_no_leftovers(db);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_dump),
		cmocka_unit_test(test_superuser_owner_refused),
		cmocka_unit_test(test_killed_at_each_step),
		cmocka_unit_test(test_closed_database_fails_the_run),
		cmocka_unit_test(test_preview_survives_restore),
		cmocka_unit_test(test_wrong_url_never_quotes_password),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
