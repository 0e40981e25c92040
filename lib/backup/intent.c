/*
 * Crash-safe restores and deep verifies: an intent record, and the repair
 * of what a killed one left behind.
 *
 * Before a restore (or deep verify) creates anything, it writes
 * <TOWLION_STATE_DIR>/backups/intent.<db>.json (atomically, 0600): the
 * scratch database, the throwaway role, the kept copy's name, and the
 * step. The step becomes "swap" before the live database is closed to new
 * connections. The record is removed when everything is cleaned up.
 *
 * A record whose database lock is free belongs to a dead process (the
 * kernel releases the flock when it dies). tl_backup_repair() then:
 * allows connections again to the live database and the kept copy (only
 * when the step says this restore closed them), hands anything the
 * throwaway role owns in the live database to the owner, drops the
 * scratch database and the role, and removes the record. Every backup
 * entry point and the doctor call it.
 */
#include "backup_internal.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *intent_dir(tl_ctx *ctx)
{
	return tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "backups");
}

static char *intent_path(tl_ctx *ctx, const char *database)
{
	char *dir = intent_dir(ctx);
	char *file = tl__sprintf("intent.%s.json", database);
	char *p = dir && file ? tl__path_join(dir, file) : NULL;
	free(dir);
	free(file);
	return p;
}

int tl__bk_intent_save(tl_ctx *ctx, const tl__bk_intent *in)
{
	char *dir = intent_dir(ctx);
	char *path = intent_path(ctx, in->database);
	int rc = dir && path ? tl__mkdir_p(dir, 0700) : TL_ENOMEM;
	json_t *j = rc ? NULL
	               : json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "version", 1,
	                           "kind", in->kind, "database", in->database, "target",
	                           in->target ? in->target : in->database, "scratch", in->scratch,
	                           "role", in->role, "owner", in->owner ? in->owner : "", "pre",
	                           in->pre ? in->pre : "", "pid", (json_int_t)getpid(), "started",
	                           (json_int_t)in->started);
	if (rc == TL_OK && j && json_object_set_new(j, "step", json_string(in->step)) != 0)
		rc = TL_ENOMEM;
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (rc == TL_OK && !text)
		rc = tl__error_oom();
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, text, strlen(text), 0600);
	if (rc)
		tl__error_prefix("cannot record the %s of %s before starting it", in->kind,
		                 in->database);
	json_decref(j);
	free(text);
	free(dir);
	free(path);
	return rc;
}

int tl__bk_intent_step(tl_ctx *ctx, tl__bk_intent *in, const char *step)
{
	in->step = step;
	return tl__bk_intent_save(ctx, in);
}

void tl__bk_intent_remove(tl_ctx *ctx, const char *database)
{
	char *path = intent_path(ctx, database);
	char *dir = intent_dir(ctx);
	if (path && unlink(path) == 0 && dir)
		tl__fsync_dir(dir);
	free(path);
	free(dir);
}

/* ---- repair ---- */

static const char *jstr(json_t *j, const char *k)
{
	const char *v = json_string_value(json_object_get(j, k));
	return v ? v : "";
}

static int exists_db(int *out, int *allow, PGconn *admin, const char *db)
{
	const char *p[] = {db};
	PGresult *r = NULL;
	int rc = tl__bk_pg_exec(&r, admin, "look up a database",
	                        "SELECT datallowconn FROM pg_catalog.pg_database WHERE datname = $1",
	                        1, p);
	if (rc)
		return rc;
	*out = PQntuples(r) == 1;
	*allow = *out && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return TL_OK;
}

static int reopen(PGconn *admin, const char *db, tl_buf *what)
{
	int exists = 0, allow = 1;
	int rc = exists_db(&exists, &allow, admin, db);
	if (rc || !exists || allow)
		return rc;
	char *q = tl__bk_pg_ident(admin, db);
	char *sql = q ? tl__sprintf("ALTER DATABASE %s ALLOW_CONNECTIONS true", q) : NULL;
	rc = sql ? tl__bk_pg_exec(NULL, admin, "allow connections again", sql, 0, NULL) : TL_ENOMEM;
	if (rc == TL_OK)
		tl__buf_printf(what, "; connections to %s allowed again", db);
	free(q);
	free(sql);
	return rc;
}

/* Repair one record (its database lock is held). */
static int repair_one(tl_ctx *ctx, PGconn *admin, json_t *j, tl_buf *what)
{
	const char *kind = jstr(j, "kind"), *db = jstr(j, "database"), *target = jstr(j, "target"),
	           *scratch = jstr(j, "scratch"), *role = jstr(j, "role"), *owner = jstr(j, "owner"),
	           *pre = jstr(j, "pre"), *step = jstr(j, "step");
	if (tl__bk_validate_db(db) || (*target && tl__bk_validate_db(target)) ||
	    (*scratch && tl__bk_validate_db(scratch)) || (*pre && tl__bk_validate_db(pre)) ||
	    (*role && tl__bk_validate_db(role)))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                     "the intent record of %s is malformed; inspect and remove it", db);
	tl__buf_printf(what, "%s of %s interrupted (step %s)", kind, db, step);
	int rc = TL_OK;
	/* Only a restore that reached the swap closed databases. */
	if (!strcmp(step, "swap")) {
		rc = reopen(admin, target, what);
		if (rc == TL_OK && *pre)
			rc = reopen(admin, pre, what);
	}
	int exists = 0, allow = 0;
	if (rc == TL_OK && *scratch)
		rc = exists_db(&exists, &allow, admin, scratch);
	if (rc == TL_OK && exists) {
		tl__bk_drop_db(ctx, admin, scratch);
		rc = exists_db(&exists, &allow, admin, scratch);
		if (rc == TL_OK && exists)
			rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_BACKUP,
			                   "could not drop the scratch database %s", scratch);
		if (rc == TL_OK)
			tl__buf_printf(what, "; scratch database %s dropped", scratch);
	}
	int rexists = 0;
	if (rc == TL_OK && *role)
		rc = tl__bk_role_exists(&rexists, admin, role);
	if (rc == TL_OK && rexists) {
		/* After a swap (or rename) the restored database is live: what the
		 * role created there goes to the owner. */
		int texists = 0;
		rc = exists_db(&texists, &allow, admin, target);
		if (rc == TL_OK && texists && allow && *owner && !strcmp(kind, "restore")) {
			PGconn *t = NULL;
			rc = tl__bk_pg_open(&t, ctx, target);
			if (rc == TL_OK)
				rc = tl__bk_disown(t, role, owner);
			PQfinish(t);
		}
		if (rc == TL_OK)
			rc = tl__bk_restorer_drop(ctx, admin, role);
		if (rc == TL_OK)
			tl__buf_printf(what, "; role %s dropped", role);
	}
	return rc;
}

int tl__bk_repair(tl_ctx *ctx, tl_buf *done, int dry_run)
{
	char *dir = intent_dir(ctx);
	if (!dir)
		return TL_ENOMEM;
	DIR *d = opendir(dir);
	if (!d) {
		free(dir);
		return TL_OK; /* nothing was ever recorded */
	}
	PGconn *admin = NULL;
	int first = TL_OK;
	for (struct dirent *e; (e = readdir(d));) {
		const char *n = e->d_name;
		if (!tl__str_startswith(n, "intent.") || !tl__str_endswith(n, ".json") ||
		    strlen(n) <= 12)
			continue;
		char db[128];
		snprintf(db, sizeof(db), "%.*s", (int)(strlen(n) - 12), n + 7);
		if (tl__bk_validate_db(db) != TL_OK) {
			tl_error_clear();
			continue;
		}
		tl__lock *lk = NULL;
		if (tl__bk_lock(&lk, ctx, db, 0) != TL_OK) {
			/* Held: that restore is alive and will clean up itself. */
			tl__log(ctx, TL_LOG_INFO, "a restore or verify of %s is in progress", db);
			tl_error_clear();
			continue;
		}
		char *path = tl__path_join(dir, n);
		tl_buf text = TL_BUF_INIT, what = TL_BUF_INIT;
		int rc = path ? tl__file_read(&text, path) : TL_ENOMEM;
		if (rc == TL_ENOTFOUND) {
			/* repaired meanwhile by another command, which held the lock
			 * between this listing and this read: nothing left to do */
			tl_error_clear();
			free(path);
			tl__bk_unlock(lk);
			continue;
		}
		json_t *j = rc ? NULL : json_loadb(text.ptr, text.size, 0, NULL);
		if (rc == TL_OK && !j)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
			                   "%s is not JSON; inspect and remove it", path);
		if (rc == TL_OK && dry_run) {
			tl__log(ctx, TL_LOG_WARN, "would repair an interrupted %s of %s (step %s)",
			        jstr(j, "kind"), db, jstr(j, "step"));
		} else if (rc == TL_OK) {
			if (!admin)
				rc = tl__bk_pg_open(&admin, ctx, NULL);
			if (rc == TL_OK)
				rc = repair_one(ctx, admin, j, &what);
			if (rc == TL_OK) {
				unlink(path);
				tl__fsync_dir(dir);
				tl__log(ctx, TL_LOG_WARN, "repaired: %s", what.ptr);
				tl__buf_printf(done, "%s%s", done->size ? "\n" : "", what.ptr);
			} else {
				tl__error_prefix("cannot repair the interrupted %s of %s",
				                 j ? jstr(j, "kind") : "restore", db);
			}
		}
		if (rc && !first)
			first = rc;
		json_decref(j);
		tl_buf_dispose(&text);
		tl_buf_dispose(&what);
		free(path);
		tl__bk_unlock(lk);
	}
	closedir(d);
	PQfinish(admin);
	free(dir);
	return first;
}

int tl_backup_repair(tl_buf *done, tl_ctx *ctx, const tl_backup_options *opts)
{
	TL__CHECK_ARG(ctx);
	tl__bk_opts o;
	int rc = tl__bk_opts_read(&o, opts);
	if (rc)
		return rc;
	tl_buf d = TL_BUF_INIT;
	rc = tl__bk_repair(ctx, &d, !!(o.flags & TL_BACKUP_DRY_RUN));
	if (rc == TL_OK && done)
		rc = tl__buf_set(done, d.ptr ? d.ptr : "", d.size);
	tl_buf_dispose(&d);
	return rc;
}
