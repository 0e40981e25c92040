/*
 * Dump tools of the server's own major version (issue 16), against a real
 * PostgreSQL 17 in containers of the test dockerd while the host's client
 * is 15 (Debian 12):
 *  - the platform's container (labels towlion.platform=1 and
 *    towlion.service=postgres, 5432 published on loopback) is found and
 *    its own pg_dump / pg_restore / psql run by docker exec: backup run
 *    (encrypted, copied to S3), verify --deep, restore (scratch then swap)
 *    with the data equal and owned by the app's role, an SQL backup
 *    restored side by side through psql;
 *  - no exec that ran shows a password to docker inspect, and they ran
 *    as nobody;
 *  - a PostgreSQL 17 without the platform labels (auto), or
 *    TOWLION_PG_TOOLS=host: refused before any change (lock free, no
 *    intent, no scratch database, no file, no S3 object).
 * The image: TL_TEST_PG17_IMAGE, else the one tests/images/build makes
 * (built once, then cached by content). Containers
 * are named bv<pid>-..., labelled towlion.test=backup_versions and removed
 * at the end.
 */
#include "tl_test.h"

#include "backup/backup_internal.h"
#include "docker/docker_int.h"
#include "towlion/docker.h"
#include "towlion/s3.h"

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


static tl_ctx *ctx;
static tl_docker *dk;
static char *tmp, backup_dir[512], state_dir[512], key_path[512];
static char prefix[32];
static char pw[33];
static char image[256];
static char platform_name[64], stray_name[64];
static int platform_port, stray_port;
static char platform_url[256], stray_url[256];
static tl_s3 *s3;
static char bucket[64];
static int host_major;

static void random_hex(char *out, size_t n)
{
	unsigned char b[16];
	assert_int_equal(getrandom(b, sizeof(b), 0), (ssize_t)sizeof(b));
	for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < n + 1; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static PGconn *connect_url(const char *url, const char *db)
{
	const char *keys[] = {"dbname", "dbname", NULL};
	const char *vals[] = {url, db, NULL};
	return PQconnectdbParams(keys, vals, 1);
}

static char *value(PGconn *c, const char *q)
{
	PGresult *r = PQexec(c, q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(c));
	char *v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static void sql(PGconn *c, const char *q)
{
	PGresult *r = PQexec(c, q);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(c));
	PQclear(r);
}

/* Start a PostgreSQL 17 container publishing 5432 on a free loopback
 * port; with `platform`, labelled as the platform's. */
static int start_pg(const char *name, int platform)
{
	tl_docker_container_remove(dk, name, TL_DOCKER_REMOVE_FORCE | TL_DOCKER_REMOVE_VOLUMES);
	tl_docker_container_spec *s = NULL;
	tl_assert_ok(tl_docker_container_spec_new(&s, image));
	tl_assert_ok(tl_docker_container_spec_set_name(s, name));
	tl_assert_ok(tl_docker_container_spec_add_env(s, "POSTGRES_PASSWORD", pw));
	tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.test", "backup_versions"));
	if (platform) {
		tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.platform", "1"));
		tl_assert_ok(tl_docker_container_spec_add_label(s, "towlion.service", "postgres"));
	}
	tl_assert_ok(tl_docker_container_spec_add_port(s, 5432, NULL, "127.0.0.1", 0));
	tl_assert_ok(tl_docker_container_create(NULL, dk, s));
	tl_docker_container_spec_free(s);
	tl_assert_ok(tl_docker_container_start(dk, name));
	tl_docker_container *c = NULL;
	tl_assert_ok(tl_docker_container_inspect(&c, dk, name));
	int port = tl_docker_container_host_port(c, "5432", NULL);
	tl_docker_container_free(c);
	assert_true(port > 0);
	return port;
}

/* Wait until the server answers (first start runs initdb). */
static void wait_pg(const char *url)
{
	for (int i = 0; i < 240; i++) {
		PGconn *c = connect_url(url, "postgres");
		int ok = PQstatus(c) == CONNECTION_OK;
		if (ok) {
			assert_int_equal(PQserverVersion(c) / 10000, 17);
			PQfinish(c);
			return;
		}
		PQfinish(c);
		usleep(250000);
	}
	fail_msg("PostgreSQL 17 at %s did not answer within 60 s", url);
}

static int setup(void **state)
{
	if (!TL_TEST_REQUIRE("TOWLION_DOCKER_HOST"))
		return -1;
	if (getenv("TL_TEST_PG17_IMAGE") && *getenv("TL_TEST_PG17_IMAGE")) {
		snprintf(image, sizeof(image), "%s", getenv("TL_TEST_PG17_IMAGE"));
	} else {
		/* "postgres=towlion-local/postgres:<hash>" on its stdout */
		const char *argv[] = {TL_TEST_SOURCE_DIR "/tests/images/build", "--only", "postgres",
		                      NULL};
		tl__spawn_opts so = {0};
		so.argv = argv;
		so.stdout_mode = TL__STDIO_BUFFER;
		so.stderr_mode = TL__STDIO_INHERIT;
		so.timeout_ms = 1200000;
		tl__spawn_result res = {0};
		int rc = tl__spawn(&res, NULL, &so);
		const char *line = rc == TL_OK && res.exited && res.exit_status == 0 && res.out.ptr
		                           ? strstr(res.out.ptr, "postgres=")
		                           : NULL;
		if (line)
			sscanf(line, "postgres=%255s", image);
		tl__spawn_result_dispose(&res);
	}
	snprintf(prefix, sizeof(prefix), "bv%d", (int)getpid());
	random_hex(pw, sizeof(pw));
	tmp = tl_test_tmpdir();
	snprintf(backup_dir, sizeof(backup_dir), "%s/backups", tmp);
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp);
	snprintf(key_path, sizeof(key_path), "%s/backup.key", tmp);
	ctx = tl_test_ctx(1);
	tl_assert_ok(tl_backup_key_generate(key_path));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_DIR", backup_dir));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_STATE_DIR", state_dir));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_KEY", key_path));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", ""));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_TOOLS", "auto"));
	tl_assert_ok(tl_docker_open(&dk, ctx));
	tl_docker_image *img = NULL;
	if (!*image || tl_docker_image_inspect(&img, dk, image) != TL_OK) {
		print_message("no PostgreSQL 17 image \"%s\" (tests/images/build --only postgres "
		              "makes it; or set TL_TEST_PG17_IMAGE)\n", image);
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			fail_msg("the PostgreSQL 17 image %s is missing under CI", image);
		return -1;
	}
	tl_docker_image_free(img);

	/* The premise: the host's client is not 17. */
	const char *argv[] = {"pg_dump", "--version", NULL};
	tl__spawn_opts so = {0};
	so.argv = argv;
	so.stdout_mode = TL__STDIO_BUFFER;
	tl__spawn_result res = {0};
	tl_assert_ok(tl__spawn(&res, NULL, &so));
	host_major = tl__bk_tools_major(res.out.ptr);
	tl__spawn_result_dispose(&res);
	assert_true(host_major > 0 && host_major != 17);

	snprintf(platform_name, sizeof(platform_name), "%s-platform-pg", prefix);
	snprintf(stray_name, sizeof(stray_name), "%s-stray-pg", prefix);
	platform_port = start_pg(platform_name, 1);
	stray_port = start_pg(stray_name, 0);
	snprintf(platform_url, sizeof(platform_url),
	         "postgresql://postgres:%s@127.0.0.1:%d/postgres", pw, platform_port);
	snprintf(stray_url, sizeof(stray_url), "postgresql://postgres:%s@127.0.0.1:%d/postgres",
	         pw, stray_port);
	wait_pg(platform_url);
	wait_pg(stray_url);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL", platform_url));

	const char *ep = getenv("TOWLION_S3_ENDPOINT");
	if (ep && *ep) {
		snprintf(bucket, sizeof(bucket), "%s-offsite", prefix);
		tl_assert_ok(tl_s3_new(&s3, ctx, NULL));
		tl_assert_ok(tl_s3_bucket_create(s3, bucket));
	} else {
		TL_TEST_REQUIRE("TOWLION_S3_ENDPOINT");
	}
	return 0;
}

static int teardown(void **state)
{
	if (dk) {
		if (*platform_name)
			tl_docker_container_remove(dk, platform_name,
			                           TL_DOCKER_REMOVE_FORCE | TL_DOCKER_REMOVE_VOLUMES);
		if (*stray_name)
			tl_docker_container_remove(dk, stray_name,
			                           TL_DOCKER_REMOVE_FORCE | TL_DOCKER_REMOVE_VOLUMES);
	}
	tl_docker_free(dk);
	tl_s3_free(s3);
	tl_ctx_free(ctx);
	if (tmp)
		tl_test_rmdir(tmp);
	return 0;
}

/* An app: <prefix>x_user owning <prefix>x_db with `rows` rows. */
static void make_app(const char *url, const char *app, int rows)
{
	PGconn *a = connect_url(url, "postgres");
	assert_int_equal(PQstatus(a), CONNECTION_OK);
	char q[512];
	snprintf(q, sizeof(q), "CREATE ROLE %s_user LOGIN PASSWORD '%s'", app, pw);
	sql(a, q);
	snprintf(q, sizeof(q), "CREATE DATABASE %s_db OWNER %s_user", app, app);
	sql(a, q);
	PQfinish(a);
	char db[80];
	snprintf(db, sizeof(db), "%s_db", app);
	PGconn *c = connect_url(url, db);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	snprintf(q, sizeof(q), "SET ROLE %s_user", app);
	sql(c, q);
	snprintf(q, sizeof(q),
	         "CREATE TABLE items AS SELECT g AS id, md5(g::text) AS a, md5((g * 7)::text) AS b "
	         "FROM generate_series(1, %d) g",
	         rows);
	sql(c, q);
	sql(c, "ALTER TABLE items ADD PRIMARY KEY (id)");
	PQfinish(c);
}

static char *checksum(const char *url, const char *db)
{
	PGconn *c = connect_url(url, db);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	char *v = value(c, "SELECT count(*) || ':' || md5(string_agg(id || a || b, ',' ORDER BY id)) "
	                   "FROM items");
	PQfinish(c);
	return v;
}

/* ---- a watcher of the platform container's execs ---------------------------- */

typedef struct {
	volatile int stop;
	int execs;
	tl_buf seen; /* every exec's inspect JSON, and the container's */
	char ids[64][80];
} watcher;

static void *watch(void *arg)
{
	watcher *w = arg;
	tl_ctx *wctx = tl_test_ctx(1);
	tl_docker *d = NULL;
	if (tl_docker_open(&d, wctx) != TL_OK)
		goto out;
	char path[256];
	snprintf(path, sizeof(path), "/containers/%s/json", platform_name);
	while (!w->stop) {
		json_t *c = NULL;
		if (tl__docker_call(d, "GET", path, NULL, &c, 0, "inspect") == TL_OK) {
			size_t i;
			json_t *id;
			json_array_foreach(json_object_get(c, "ExecIDs"), i, id) {
				const char *s = json_string_value(id);
				int known = 0;
				for (int k = 0; k < w->execs && k < 64; k++)
					known |= !strcmp(w->ids[k], s);
				if (known || w->execs >= 64)
					continue;
				snprintf(w->ids[w->execs++], sizeof(w->ids[0]), "%s", s);
				char ep[160];
				snprintf(ep, sizeof(ep), "/exec/%s/json", s);
				json_t *e = NULL;
				if (tl__docker_call(d, "GET", ep, NULL, &e, 0, "inspect exec") == TL_OK) {
					char *txt = json_dumps(e, 0);
					tl__buf_put(&w->seen, txt, strlen(txt));
					free(txt);
				}
				json_decref(e);
			}
			char *txt = json_dumps(c, 0);
			tl__buf_put(&w->seen, txt, strlen(txt));
			free(txt);
		}
		json_decref(c);
		usleep(5000);
	}
out:
	tl_docker_free(d);
	tl_ctx_free(wctx);
	return NULL;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_version_lines(void **state)
{
	assert_int_equal(tl__bk_tools_major("pg_dump (PostgreSQL) 17.2 (Debian 17.2-1.pgdg120+1)"),
	                 17);
	assert_int_equal(tl__bk_tools_major("pg_dump (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n"),
	                 15);
	assert_int_equal(tl__bk_tools_major("pg_restore (PostgreSQL) 9.6.24"), 9);
	assert_int_equal(tl__bk_tools_major("pg_dump: not found"), 0);
	assert_int_equal(tl__bk_tools_major("(PostgreSQL) x"), 0);
	assert_int_equal(tl__bk_tools_major(NULL), 0);
}

static void test_which_tools(void **state)
{
	tl_buf line = TL_BUF_INIT;
	tl_assert_ok(tl_backup_pg_tools(&line, ctx));
	char want[128];
	snprintf(want, sizeof(want), "container %s (PostgreSQL 17 tools, server 17)", platform_name);
	assert_string_equal(line.ptr, want);

	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_TOOLS", "container"));
	tl_assert_ok(tl_backup_pg_tools(&line, ctx));
	assert_string_equal(line.ptr, want);

	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_TOOLS", "host"));
	tl_assert_rc(TL_EUNSUPPORTED, tl_backup_pg_tools(&line, ctx));
	tl_assert_error_contains("no dump tools of PostgreSQL 17");
	tl_assert_error_contains("TOWLION_PG_TOOLS=host");

	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_TOOLS", "sometimes"));
	tl_assert_rc(TL_EINVALID, tl_backup_pg_tools(&line, ctx));
	tl_assert_error_contains("auto, host or container");
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_TOOLS", "auto"));
	tl_buf_dispose(&line);
}

static void opts_for(tl_backup_options *o, const char *const *dbs, size_t n)
{
	tl_backup_options_init(o, TL_BACKUP_OPTIONS_VERSION);
	o->databases = dbs;
	o->ndatabases = n;
	o->timeout_ms = 300000;
	o->flags = TL_BACKUP_CONFIRM;
}

static char *run_backup(const char *db, int format, char **remote)
{
	const char *dbs[] = {db};
	tl_backup_options o;
	opts_for(&o, dbs, 1);
	o.format = format;
	tl_backup_report *r = NULL;
	int64_t t0 = tl__clock_ms();
	tl_assert_ok(tl_backup_run(&r, ctx, &o));
	const tl_backup_outcome *it = tl_backup_report_at(r, 0);
	print_message("backup of %s through the container's pg_dump: %.1f MiB dumped in %lld ms "
	              "(%.1f MiB/s)\n",
	              db, (double)it->dump_bytes / 1048576.0, (long long)(tl__clock_ms() - t0),
	              (double)it->dump_bytes / 1048576.0 /
	                      ((double)(tl__clock_ms() - t0 + 1) / 1000.0));
	char *file = strdup(it->file);
	if (remote)
		*remote = strdup(it->remote);
	tl_backup_report_free(r);
	return file;
}

static void test_round_trip_through_the_container(void **state)
{
	char app[64], db[80], copy[80];
	snprintf(app, sizeof(app), "%srt", prefix);
	snprintf(db, sizeof(db), "%s_db", app);
	snprintf(copy, sizeof(copy), "%s_copy", app);
	make_app(platform_url, app, 60000);
	char *before = checksum(platform_url, db);

	watcher w = {0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, watch, &w), 0);

	char remote[160];
	if (s3) {
		snprintf(remote, sizeof(remote), "s3://%s/nightly/", bucket);
		tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", remote));
	}
	char *copied = NULL;
	char *file = run_backup(db, TL_BACKUP_FORMAT_CUSTOM, &copied);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", ""));
	assert_true(strstr(file, ".dump.zst.enc") != NULL);
	if (s3) {
		char key[256];
		snprintf(key, sizeof(key), "nightly/%s", file);
		tl_s3_object *obj = NULL;
		tl_assert_ok(tl_s3_object_head(&obj, s3, bucket, key));
		tl_s3_object_free(obj);
		assert_true(strstr(copied, file) != NULL);
	}
	/* The manifest says which server it came from. */
	char path[1200];
	snprintf(path, sizeof(path), "%s/%s", backup_dir, file);
	tl__bk_manifest m = {0};
	tl_assert_ok(tl__bk_manifest_load(&m, path));
	assert_true(!strncmp(m.pg_version, "17.", 3));
	tl__bk_manifest_dispose(&m);

	/* Deep verify: pg_restore of the container into a scratch database. */
	tl_backup_options o;
	opts_for(&o, NULL, 0);
	o.flags |= TL_BACKUP_DEEP;
	tl_backup_check chk = {0};
	tl_assert_ok(tl_backup_verify(&chk, ctx, file, &o));
	assert_int_equal(chk.tables, 1);
	assert_int_equal(chk.rows, 60000);

	/* The app changes its data; the restore brings it back, swapped in
	 * from a scratch database, owned by the app's role. */
	PGconn *c = connect_url(platform_url, db);
	sql(c, "DELETE FROM items WHERE id % 3 = 0");
	sql(c, "UPDATE items SET a = 'changed' WHERE id < 100");
	PQfinish(c);
	char *changed = checksum(platform_url, db);
	assert_string_not_equal(changed, before);
	tl_buf previous = TL_BUF_INIT;
	opts_for(&o, NULL, 0);
	tl_assert_ok(tl_backup_restore(&previous, ctx, db, file, &o));
	char *after = checksum(platform_url, db);
	assert_string_equal(after, before);
	assert_true(previous.size > 0);
	char *kept = checksum(platform_url, previous.ptr);
	assert_string_equal(kept, changed);
	c = connect_url(platform_url, db);
	char *owner = value(c, "SELECT tableowner FROM pg_tables WHERE tablename = 'items'");
	char want_owner[80];
	snprintf(want_owner, sizeof(want_owner), "%s_user", app);
	assert_string_equal(owner, want_owner);
	PQfinish(c);

	/* SQL format: psql of the container, side by side. */
	char *sqlfile = run_backup(db, TL_BACKUP_FORMAT_SQL, NULL);
	opts_for(&o, NULL, 0);
	o.into = copy;
	tl_assert_ok(tl_backup_restore(NULL, ctx, db, sqlfile, &o));
	char *side = checksum(platform_url, copy);
	assert_string_equal(side, before);

	w.stop = 1;
	pthread_join(th, NULL);
	/* Every exec ran as nobody, and docker inspect never showed a
	 * password: not the admin's, not a PGPASSWORD of any role. */
	print_message("%d execs seen in %s\n", w.execs, platform_name);
	assert_true(w.execs >= 4); /* --version, pg_dump, pg_restore, psql */
	assert_non_null(w.seen.ptr);
	assert_non_null(strstr(w.seen.ptr, "65534:65534"));
	assert_null(strstr(w.seen.ptr, "PGPASSWORD"));
	assert_null(strstr(w.seen.ptr, "password="));
	/* The admin's password is the container's own POSTGRES_PASSWORD
	 * (its configuration, not ours); no exec carries it. */
	tl_buf_dispose(&w.seen);

	PGconn *a = connect_url(platform_url, "postgres");
	char q[512];
	snprintf(q, sizeof(q),
	         "SELECT count(*) FROM pg_database WHERE datname LIKE '%s\\_%%\\_\\_restore\\_%%' OR "
	         "datname LIKE '%s\\_%%\\_\\_verify\\_%%'",
	         app, app);
	char *left = value(a, q);
	assert_string_equal(left, "0");
	PQfinish(a);
	free(left);
	free(side);
	free(sqlfile);
	free(owner);
	free(kept);
	free(after);
	free(changed);
	free(before);
	free(copied);
	free(file);
	tl_buf_dispose(&previous);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* After a refusal: the lock is free, no intent, no scratch database or
 * role, no new backup file, no S3 object for the attempt's seconds. */
static void assert_nothing_changed(const char *url, const char *db, int files_before,
                                   time_t t0, time_t t1)
{
	tl__lock *lk = NULL;
	tl_assert_ok(tl__bk_lock(&lk, ctx, db, 0));
	tl__lock_release(lk);
	char p[1200];
	snprintf(p, sizeof(p), "%s/backups/intent.%s.json", state_dir, db);
	assert_int_not_equal(access(p, F_OK), 0);
	assert_int_equal(count_files(backup_dir), files_before);
	PGconn *a = connect_url(url, "postgres");
	char q[512];
	snprintf(q, sizeof(q),
	         "SELECT (SELECT count(*) FROM pg_database WHERE datname LIKE '%s\\_\\_%%') + "
	         "(SELECT count(*) FROM pg_roles WHERE rolname LIKE '%s\\_\\_%%')",
	         db, db);
	char *n = value(a, q);
	assert_string_equal(n, "0");
	free(n);
	PQfinish(a);
	for (time_t t = t0; s3 && t <= t1; t++) {
		for (int enc = 0; enc < 2; enc++) {
			char *f = tl__bk_file_name(db, t, TL_BACKUP_FORMAT_CUSTOM, enc);
			char key[256];
			snprintf(key, sizeof(key), "nightly/%s", f);
			tl_s3_object *obj = NULL;
			tl_assert_rc(TL_ENOTFOUND, tl_s3_object_head(&obj, s3, bucket, key));
			free(f);
		}
	}
}

static void expect_refusal(const char *url, const char *db, const char *file,
                           const char *why)
{
	int files = count_files(backup_dir);
	time_t t0 = time(NULL);
	const char *dbs[] = {db};
	tl_backup_options o;
	opts_for(&o, dbs, 1);
	tl_backup_report *r = NULL;
	tl_assert_rc(TL_EUNSUPPORTED, tl_backup_run(&r, ctx, &o));
	tl_assert_error_contains("no dump tools of PostgreSQL 17");
	tl_assert_error_contains(why);
	tl_assert_error_contains("nothing was changed");
	assert_int_equal(tl_backup_report_at(r, 0)->result, TL_EUNSUPPORTED);
	tl_backup_report_free(r);
	assert_nothing_changed(url, db, files, t0, time(NULL));

	/* A restore and a deep verify of an existing backup refuse too. */
	opts_for(&o, NULL, 0);
	tl_assert_rc(TL_EUNSUPPORTED, tl_backup_restore(NULL, ctx, db, file, &o));
	tl_assert_error_contains(why);
	o.flags |= TL_BACKUP_DEEP;
	tl_backup_check chk;
	tl_assert_rc(TL_EUNSUPPORTED, tl_backup_verify(&chk, ctx, file, &o));
	assert_nothing_changed(url, db, files, t0, time(NULL));
}

static void test_refused_before_any_change(void **state)
{
	/* The same app on both servers; a backup made by the platform's
	 * tools is what the refused restores and verifies are asked for. */
	char app[64], db[80];
	snprintf(app, sizeof(app), "%sno", prefix);
	snprintf(db, sizeof(db), "%s_db", app);
	make_app(platform_url, app, 100);
	make_app(stray_url, app, 100);
	char *file = run_backup(db, TL_BACKUP_FORMAT_CUSTOM, NULL);
	if (s3) {
		char remote[160];
		snprintf(remote, sizeof(remote), "s3://%s/nightly/", bucket);
		tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", remote));
	}

	/* The stray server: auto finds the platform container, which does
	 * not serve this URL, and the host's tools are 15. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL", stray_url));
	expect_refusal(stray_url, db, file, "does not serve TOWLION_PG_URL");
	/* The platform's server with the host's tools forced. */
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_URL", platform_url));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_TOOLS", "host"));
	char why[64];
	snprintf(why, sizeof(why), "is PostgreSQL %d", host_major);
	expect_refusal(platform_url, db, file, why);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_PG_TOOLS", "auto"));
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_BACKUP_REMOTE", ""));
	free(file);
}

/* The exec streams a pg_dump needs: megabytes in through stdin_fd, out
 * through stdout_fd, byte for byte; and options of version 1 still work. */
static void test_exec_streams(void **state)
{
	char in_path[600], out_path[600];
	snprintf(in_path, sizeof(in_path), "%s/exec-in", tmp);
	snprintf(out_path, sizeof(out_path), "%s/exec-out", tmp);
	size_t len = 6u * 1024 * 1024 + 12345;
	unsigned char *data = malloc(len);
	assert_non_null(data);
	for (size_t i = 0; i < len; i += 256)
		assert_true(getrandom(data + i, len - i < 256 ? len - i : 256, 0) > 0);
	FILE *f = fopen(in_path, "wb");
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	int in = open(in_path, O_RDONLY | O_CLOEXEC);
	int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(in >= 0 && out >= 0);
	tl_docker_exec_options eo;
	tl_assert_ok(tl_docker_exec_options_init(&eo, TL_DOCKER_EXEC_OPTIONS_VERSION));
	assert_int_equal(eo.stdin_fd, -1);
	assert_int_equal(eo.stdout_fd, -1);
	eo.stdin_fd = in;
	eo.stdout_fd = out;
	eo.user = "65534:65534";
	eo.timeout_ms = 120000;
	const char *cat[] = {"cat", NULL};
	tl_buf err = TL_BUF_INIT;
	int code = -1;
	tl_assert_ok(tl_docker_exec(&code, NULL, &err, dk, platform_name, cat, &eo));
	assert_int_equal(code, 0);
	close(in);
	close(out);
	char *back = tl_test_read_file(out_path);
	struct stat st;
	assert_int_equal(stat(out_path, &st), 0);
	assert_int_equal((size_t)st.st_size, len);
	assert_memory_equal(back, data, len);
	free(back);
	free(data);

	/* stdout_fd with an `out` buffer is a usage error. */
	tl_buf buf = TL_BUF_INIT;
	eo.stdin_fd = -1;
	eo.stdout_fd = 1;
	tl_assert_rc(TL_EINVALID, tl_docker_exec(&code, &buf, NULL, dk, platform_name, cat, &eo));
	/* Version 1 callers (no descriptor fields) are read as before. */
	tl_docker_exec_options v1 = TL_DOCKER_EXEC_OPTIONS_INIT;
	v1.version = 1;
	v1.stdin_data = "hello";
	v1.stdin_len = 5;
	v1.stdin_fd = 12345; /* past a version 1 struct: never read */
	v1.stdout_fd = 12345;
	tl_assert_ok(tl_docker_exec(&code, &buf, &err, dk, platform_name, cat, &v1));
	assert_int_equal(code, 0);
	assert_string_equal(buf.ptr, "hello");
	tl_buf_dispose(&buf);
	tl_buf_dispose(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_lines),
		cmocka_unit_test(test_which_tools),
		cmocka_unit_test(test_exec_streams),
		cmocka_unit_test(test_round_trip_through_the_container),
		cmocka_unit_test(test_refused_before_any_change),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
