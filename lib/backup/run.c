/*
 * tl_backup_run: one pg_dump per database, read through a pipe,
 * compressed (zstd may use a worker thread of its own), optionally
 * encrypted and hashed as it goes, written to `<file>.partial`, fsynced and
 * renamed. pg_dump runs while a pthread waits for it (tl__spawn blocks);
 * the calling thread does the reading, so events (progress, cancel) stay
 * on the caller's thread.
 *
 * Consistency: pg_dump uses a snapshot exported by our own transaction,
 * so the table count recorded in the manifest matches the dump exactly.
 */
#include "backup_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BUF (256 * 1024)
#define PROGRESS_EVERY (8u * 1024 * 1024)

struct tl_backup_report {
	tl_backup_outcome *items;
	size_t n;
};

size_t tl_backup_report_count(const tl_backup_report *r)
{
	return r ? r->n : 0;
}

const tl_backup_outcome *tl_backup_report_at(const tl_backup_report *r, size_t i)
{
	return r && i < r->n ? &r->items[i] : NULL;
}

void tl_backup_report_free(tl_backup_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free((char *)r->items[i].database);
		free((char *)r->items[i].message);
		free((char *)r->items[i].file);
		free((char *)r->items[i].remote);
	}
	free(r->items);
	free(r);
}

/* ---- the pg_dump thread ---- */

typedef struct {
	tl__spawn_opts so;
	const tl__bk_tools *tools;
	tl__spawn_result res;
	int rc;
	char msg[512];
	int out_fd; /* write end of the pipe: closed when pg_dump is gone */
} child_job;

static void *child_main(void *arg)
{
	child_job *j = arg;
	/* No ctx: events belong to the caller's thread. Cancellation closes
	 * the pipe instead, which ends pg_dump with SIGPIPE. */
	j->rc = tl__bk_tools_run(&j->res, j->tools, &j->so);
	if (j->rc)
		snprintf(j->msg, sizeof(j->msg), "%s", tl_error_last()->message);
	if (j->out_fd >= 0)
		close(j->out_fd);
	j->out_fd = -1;
	return NULL;
}

/* The last line of a child's stderr, for messages. */
static void last_line(char *out, size_t len, const tl_buf *err)
{
	out[0] = '\0';
	if (!err->size)
		return;
	size_t end = err->size;
	while (end && (err->ptr[end - 1] == '\n' || err->ptr[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start && err->ptr[start - 1] != '\n')
		start--;
	snprintf(out, len, ": %.*s", (int)(end - start), err->ptr + start);
}

/* Remove `.partial` files of `db` left by a killed run (we hold its lock). */
static void clean_partials(tl_ctx *ctx, const char *dir, const char *db)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		tl__bk_name n = {0};
		if (tl__bk_name_parse(&n, e->d_name) != TL_OK)
			continue;
		if (n.partial && !strcmp(n.database, db)) {
			char *p = tl__path_join(dir, e->d_name);
			if (p && unlink(p) == 0)
				tl__log(ctx, TL_LOG_INFO, "removed %s left by an interrupted backup",
				        e->d_name);
			free(p);
		}
		tl__bk_name_dispose(&n);
	}
	closedir(d);
	tl_error_clear();
}

typedef struct {
	tl_ctx *ctx;
	const tl__bk_opts *o;
	const char *dir;
	const unsigned char *key; /* NULL: not encrypted */
	tl__bk_tools tools;       /* picked with the first database's connection */
	int tools_picked;
} run_env;

typedef struct {
	char *file;
	int64_t size;
	uint64_t dump_bytes;
	int64_t duration_ms;
	char *remote;
} one_result;

/* Pipe pg_dump's output through the writer into `fd`. */
static int pump(run_env *env, const char *db, int fd, const char *const *argv,
                const char *pgpass, tl__bk_manifest *m)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return tl__error_os(TL_EIO, errno, "cannot create a pipe");
	/* A 1 MiB pipe instead of 64 KiB: fewer wake-ups per GB (best effort). */
	fcntl(p[0], F_SETPIPE_SZ, 1024 * 1024);
	tl__bk_writer *w = NULL;
	/* Compression runs on this thread, concurrently with pg_dump and its
	 * server backend (other processes): zstd -1 on one core outruns one
	 * pg_dump stream several times over. Extra zstd workers only cost
	 * CPU and ratio on small machines (bench/backup); opt-in. */
	int workers = env->o->threads > 0 ? env->o->threads : 0;
	int rc = tl__bk_writer_new(&w, fd, env->o->format == TL_BACKUP_FORMAT_SQL ? TL__BK_GZIP
	                                                                           : TL__BK_ZSTD,
	                           env->o->level, workers, env->key);
	if (rc) {
		close(p[0]);
		close(p[1]);
		return rc;
	}
	const char *envv[] = {pgpass, NULL};
	child_job job = {0};
	job.so.argv = argv;
	job.so.env = pgpass ? envv : NULL;
	job.so.stdin_mode = TL__STDIO_NULL;
	job.so.stdout_mode = TL__STDIO_FD;
	job.so.out_fd = p[1];
	job.so.stderr_mode = TL__STDIO_BUFFER;
	job.so.timeout_ms = env->o->timeout_ms;
	job.tools = &env->tools;
	job.out_fd = p[1];
	pthread_t th;
	if ((errno = pthread_create(&th, NULL, child_main, &job)) != 0) {
		rc = tl__error_os(TL_EIO, errno, "cannot start a thread");
		close(p[0]);
		close(p[1]);
		tl__bk_writer_free(w);
		return rc;
	}
	unsigned char *buf = tl__malloc(READ_BUF);
	if (!buf)
		rc = TL_ENOMEM;
	uint64_t total = 0, next_report = PROGRESS_EVERY;
	char head[5] = {0};
	char tail[256]; /* "dump complete", then maybe "\\unrestrict <key>" */
	size_t tail_len = 0;
	while (rc == TL_OK) {
		ssize_t n = read(p[0], buf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tl__error_os(TL_EIO, errno, "cannot read pg_dump's output");
			break;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; total + (uint64_t)i < 5 && i < n; i++)
			head[total + (uint64_t)i] = (char)buf[i];
		/* Keep the last bytes: a plain dump ends with a known line. */
		if ((size_t)n >= sizeof(tail)) {
			memcpy(tail, buf + n - sizeof(tail), sizeof(tail));
			tail_len = sizeof(tail);
		} else {
			size_t keep = sizeof(tail) - (size_t)n;
			if (keep > tail_len)
				keep = tail_len;
			memmove(tail, tail + tail_len - keep, keep);
			memcpy(tail + keep, buf, (size_t)n);
			tail_len = keep + (size_t)n;
		}
		total += (uint64_t)n;
		rc = tl__bk_writer_write(w, buf, (size_t)n);
		if (rc == TL_OK && total >= next_report) {
			next_report = total + PROGRESS_EVERY;
			rc = tl__progress(env->ctx, "backup.dump", total, 0);
		}
	}
	/* Stop pg_dump if we stopped reading early (error or cancel). */
	close(p[0]);
	pthread_join(th, NULL);
	free(buf);
	char why[400];
	if (rc == TL_OK && job.rc) {
		rc = tl__error_set(job.rc, TL_ERRCLASS_PROCESS, "pg_dump of %s: %s", db, job.msg);
	} else if (rc == TL_OK && !(job.res.exited && job.res.exit_status == 0)) {
		char how[64];
		last_line(why, sizeof(why), &job.res.err);
		rc = tl__error_set_upstream(TL_EIO, TL_ERRCLASS_PROCESS, "", job.res.exit_status,
		                            "pg_dump of %s failed (%s)%s", db,
		                            tl__spawn_describe(&job.res, how, sizeof(how)), why);
	} else if (rc == TL_OK && env->o->format == TL_BACKUP_FORMAT_CUSTOM &&
	           memcmp(head, "PGDMP", 5) != 0) {
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                   "pg_dump of %s did not write a custom-format archive", db);
	} else if (rc == TL_OK && env->o->format == TL_BACKUP_FORMAT_SQL &&
	           !memmem(tail, tail_len, "dump complete", 13)) {
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                   "pg_dump of %s ended without its \"dump complete\" line", db);
	}
	tl__spawn_result_dispose(&job.res);
	if (rc == TL_OK)
		rc = tl__bk_writer_finish(w, m->sha256, (uint64_t *)&m->size);
	tl__bk_writer_free(w);
	if (rc == TL_OK) {
		m->dump_bytes = total;
		rc = tl__progress(env->ctx, "backup.dump", total, total);
	}
	return rc;
}

/* The PostgreSQL side of one database: a snapshot, its table count and
 * the server version. The transaction must stay open until pg_dump has
 * imported the snapshot, so the connection lives as long as the dump. */
static int open_snapshot(PGconn **out, char **snapshot, tl__bk_manifest *m, tl_ctx *ctx,
                         const char *db)
{
	PGconn *c = NULL;
	int rc = tl__bk_pg_open(&c, ctx, db);
	PGresult *r = NULL;
	if (rc == TL_OK)
		rc = tl__bk_pg_exec(NULL, c, "start the backup transaction",
		                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL);
	if (rc == TL_OK)
		rc = tl__bk_pg_exec(&r, c, "export a snapshot", "SELECT pg_export_snapshot()", 0,
		                    NULL);
	if (rc == TL_OK) {
		*snapshot = tl__strdup(PQgetvalue(r, 0, 0));
		PQclear(r);
		rc = *snapshot ? tl__bk_pg_table_count(&m->tables, c) : TL_ENOMEM;
	}
	if (rc == TL_OK) {
		const char *v = PQparameterStatus(c, "server_version");
		m->pg_version = tl__strdup(v ? v : "");
		if (!m->pg_version)
			rc = TL_ENOMEM;
	}
	if (rc) {
		PQfinish(c);
		return rc;
	}
	*out = c;
	return TL_OK;
}

static int backup_one(run_env *env, const char *db, one_result *res)
{
	tl_ctx *ctx = env->ctx;
	const tl__bk_opts *o = env->o;
	int rc = tl__step(ctx, "backup.database", db, "backing up %s", db);
	if (rc)
		return rc;
	tl__lock *lk = NULL;
	if ((rc = tl__bk_lock(&lk, ctx, db, o->lock_timeout_ms)))
		return rc;
	if (!(o->flags & TL_BACKUP_DRY_RUN))
		clean_partials(ctx, env->dir, db);
	tl__bk_manifest m = {0};
	PGconn *c = NULL;
	char *snapshot = NULL, *path = NULL, *partial = NULL;
	tl__bk_client cl = {0};
	int fd = -1;
	int64_t t0 = tl__clock_ms();
	time_t started = time(NULL);
	rc = open_snapshot(&c, &snapshot, &m, ctx, db);
	/* Before a file exists: tools of the server's major, or a refusal. */
	if (rc == TL_OK && !env->tools_picked) {
		rc = tl__bk_tools_pick(&env->tools, ctx, c, o->pg_bin_dir);
		env->tools_picked = rc == TL_OK;
	}
	if (rc == TL_OK) {
		/* Two runs in one second: the next free second names the file. */
		for (time_t t = started;; t++) {
			free(res->file);
			res->file = tl__bk_file_name(db, t, o->format, env->key != NULL);
			free(path);
			path = res->file ? tl__path_join(env->dir, res->file) : NULL;
			struct stat st;
			if (!path) {
				rc = TL_ENOMEM;
				break;
			}
			if (stat(path, &st) != 0)
				break;
		}
	}
	if (rc == TL_OK && (o->flags & TL_BACKUP_DRY_RUN)) {
		tl__log(ctx, TL_LOG_INFO, "would write %s (%lld tables) with pg_dump %d of the %s %s",
		        path, (long long)m.tables, env->tools.tools_major,
		        env->tools.in_container ? "container" : "host", env->tools.where);
		goto done;
	}
	if (rc == TL_OK)
		rc = tl__bk_tools_client(&cl, &env->tools, ctx, db, NULL, NULL);
	const char *prog = env->tools.dump;
	if (rc == TL_OK) {
		partial = tl__sprintf("%s.partial", path);
		if (!partial)
			rc = TL_ENOMEM;
	}
	if (rc == TL_OK) {
		fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			rc = tl__error_os(0, errno, "cannot create %s", partial);
	}
	if (rc == TL_OK) {
		char *dbarg = tl__sprintf("--dbname=%s", cl.conninfo);
		char *snaparg = tl__sprintf("--snapshot=%s", snapshot);
		const char *custom[] = {prog, "--no-password", "--format=custom", "--compress=0",
		                        dbarg, snaparg, NULL};
		/* Plain SQL without owners, so `gunzip | psql` works as any role. */
		const char *plain[] = {prog, "--no-password", "--format=plain", "--no-owner",
		                       dbarg, snaparg, NULL};
		if (!dbarg || !snaparg)
			rc = TL_ENOMEM;
		else
			rc = pump(env, db, fd,
			          o->format == TL_BACKUP_FORMAT_SQL ? plain : custom,
			          cl.pgpassword_env, &m);
		free(dbarg);
		free(snaparg);
	}
	if (fd >= 0) {
		if (rc == TL_OK && fsync(fd) != 0)
			rc = tl__error_os(TL_EIO, errno, "cannot fsync %s", partial);
		close(fd);
	}
	/* The snapshot is no longer needed once pg_dump is done. */
	PQfinish(c);
	c = NULL;
	if (rc == TL_OK && rename(partial, path) != 0)
		rc = tl__error_os(TL_EIO, errno, "cannot rename %s", partial);
	if (rc == TL_OK)
		rc = tl__fsync_dir(env->dir);
	if (rc == TL_OK) {
		m.database = tl__strdup(db);
		m.file = tl__strdup(res->file);
		m.compression = tl__strdup(o->format == TL_BACKUP_FORMAT_SQL ? "gzip" : "zstd");
		m.remote = tl__strdup("");
		m.format = o->format;
		m.encrypted = env->key != NULL;
		m.created = started;
		m.duration_ms = tl__clock_ms() - t0;
		m.state = TL_BACKUP_UNVERIFIED;
		rc = m.database && m.file && m.compression && m.remote ? TL_OK : TL_ENOMEM;
		if (rc == TL_OK)
			rc = tl__bk_manifest_save(&m, path);
		if (rc) /* a backup without its manifest is not a backup */
			unlink(path);
	}
	if (rc && partial)
		unlink(partial);
	if (rc == TL_OK) {
		res->size = m.size;
		res->dump_bytes = m.dump_bytes;
		res->duration_ms = m.duration_ms;
		if (tl__bk_remote_enabled(ctx, o->flags)) {
			rc = tl__bk_remote_upload(&res->remote, ctx, path, res->file);
			if (rc == TL_OK) {
				free(m.remote);
				m.remote = tl__strdup(res->remote);
				rc = m.remote ? tl__bk_manifest_save(&m, path) : TL_ENOMEM;
			}
		}
	}
	if (rc == TL_OK) {
		int r2 = tl__bk_record_success(ctx, db, started, res->file);
		if (r2)
			tl__log(ctx, TL_LOG_WARN, "cannot record the last success of %s: %s", db,
			        tl_error_last()->message);
		tl__log(ctx, TL_LOG_INFO, "%s: %s, %lld bytes (%llu dumped) in %lld ms", db,
		        res->file, (long long)m.size, (unsigned long long)m.dump_bytes,
		        (long long)m.duration_ms);
	}
done:
	PQfinish(c);
	free(snapshot);
	free(path);
	free(partial);
	tl__bk_client_dispose(&cl);
	tl__bk_manifest_dispose(&m);
	tl__bk_unlock(lk);
	if (rc && strstr(tl_error_last()->message, "not currently accepting connections"))
		tl__error_prefix("%s refuses connections (ALLOW_CONNECTIONS is false; after a killed "
		                 "restore, towlion doctor says why), so it was not backed up", db);
	else if (rc && !strstr(tl_error_last()->message, db))
		tl__error_prefix("%s", db);
	return rc;
}

/* The app databases: `<x>_db` owned by `<x>_user`. */
static int app_databases(char ***out, size_t *n, tl_ctx *ctx)
{
	PGconn *c = NULL;
	int rc = tl__bk_pg_open(&c, ctx, NULL);
	PGresult *r = NULL;
	if (rc == TL_OK)
		rc = tl__bk_pg_exec(&r, c, "list the app databases",
		                    "SELECT d.datname FROM pg_catalog.pg_database d "
		                    "JOIN pg_catalog.pg_roles o ON o.oid = d.datdba "
		                    "WHERE NOT d.datistemplate "
		                    "AND d.datname LIKE '%\\_db' "
		                    "AND o.rolname = left(d.datname, -3) || '_user' "
		                    "ORDER BY 1",
		                    0, NULL);
	if (rc == TL_OK) {
		int rows = PQntuples(r);
		char **v = tl__calloc((size_t)rows + 1, sizeof(char *));
		for (int i = 0; v && i < rows; i++)
			if (!(v[i] = tl__strdup(PQgetvalue(r, i, 0))))
				rc = TL_ENOMEM;
		if (!v)
			rc = TL_ENOMEM;
		*out = v;
		*n = (size_t)rows;
		PQclear(r);
	}
	PQfinish(c);
	return rc;
}

int tl_backup_run(tl_backup_report **out, tl_ctx *ctx, const tl_backup_options *opts)
{
	TL__CHECK_ARG(out && ctx);
	tl__bk_opts o;
	int rc = tl__bk_opts_read(&o, opts);
	if (rc)
		return rc;
	unsigned char key[TL__BK_KEY_BYTES];
	int have_key = 0;
	if ((rc = tl__bk_key_load(key, &have_key, ctx)))
		return rc;
	const char *dir = tl__cfg(ctx, "TOWLION_BACKUP_DIR");
	if (!(o.flags & TL_BACKUP_DRY_RUN) && (rc = tl__mkdir_p(dir, 0700)))
		goto out_key;
	/* A killed restore may have left a database closed: reopen it first.
	 * If that fails the run goes on; a closed database then fails below
	 * (it is never skipped). */
	tl_buf repaired = TL_BUF_INIT;
	if (tl__bk_repair(ctx, &repaired, !!(o.flags & TL_BACKUP_DRY_RUN)) != TL_OK)
		tl__log(ctx, TL_LOG_WARN, "%s", tl_error_last()->message);
	tl_buf_dispose(&repaired);
	tl_error_clear();
	char **found = NULL;
	size_t nfound = 0;
	const char *const *dbs = o.databases;
	size_t ndbs = o.ndatabases;
	if (!dbs) {
		if ((rc = app_databases(&found, &nfound, ctx))) {
			for (size_t i = 0; found && found[i]; i++)
				free(found[i]);
			free(found);
			goto out_key;
		}
		dbs = (const char *const *)found;
		ndbs = nfound;
	}
	tl_backup_report *rep = tl__calloc(1, sizeof(*rep));
	if (rep && ndbs)
		rep->items = tl__calloc(ndbs, sizeof(*rep->items));
	if (!rep || (ndbs && !rep->items)) {
		rc = TL_ENOMEM;
		free(rep);
		goto out_found;
	}
	run_env env = {ctx, &o, dir, have_key ? key : NULL, {0}, 0};
	int first = TL_OK;
	tl_buf failed = TL_BUF_INIT;
	size_t nfailed = 0;
	for (size_t i = 0; i < ndbs; i++) {
		one_result res = {0};
		int r1 = backup_one(&env, dbs[i], &res);
		tl_backup_outcome *it = &rep->items[rep->n++];
		it->database = tl__strdup(dbs[i]);
		it->result = r1;
		it->message = tl__strdup(r1 ? tl_error_last()->message : "");
		it->file = tl__strdup(r1 || !res.file ? "" : res.file);
		it->remote = tl__strdup(res.remote ? res.remote : "");
		it->size = res.size;
		it->dump_bytes = res.dump_bytes;
		it->duration_ms = res.duration_ms;
		free(res.file);
		free(res.remote);
		if (r1) {
			if (!first)
				first = r1;
			nfailed++;
			tl__buf_printf(&failed, "%s%s", failed.size ? "; " : "",
			               it->message ? it->message : dbs[i]);
		}
		/* A cancel stops the run; other failures do not. */
		if (r1 == TL_EUSER || tl__cancelled(ctx))
			break;
	}
	if (first)
		rc = tl__error_set(first, TL_ERRCLASS_BACKUP, "backup failed for %zu of %zu databases: %s",
		                   nfailed, ndbs, failed.ptr ? failed.ptr : "");
	tl_buf_dispose(&failed);
	tl__bk_tools_dispose(&env.tools);
	*out = rep;
out_found:
	for (size_t i = 0; found && found[i]; i++)
		free(found[i]);
	free(found);
out_key:
	sodium_memzero(key, sizeof(key));
	return rc;
}
