/* tl_backup_prune: retention applied to the backup directory (and to the
 * offsite copies). The decisions are in retention.c. */
#include "backup_internal.h"
#include "towlion/validate.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	tl_backup_prune_item pub;
	char *file, *database;
} pitem;

struct tl_backup_prune_report {
	pitem *items;
	size_t n, cap;
};

size_t tl_backup_prune_report_count(const tl_backup_prune_report *r)
{
	return r ? r->n : 0;
}

const tl_backup_prune_item *tl_backup_prune_report_at(const tl_backup_prune_report *r, size_t i)
{
	return r && i < r->n ? &r->items[i].pub : NULL;
}

void tl_backup_prune_report_free(tl_backup_prune_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].file);
		free(r->items[i].database);
	}
	free(r->items);
	free(r);
}

static int config_int(int *out, tl_ctx *ctx, const char *key, int min)
{
	uint64_t n;
	int rc = tl_parse_uint(&n, tl__cfg(ctx, key), (uint64_t)min, 100000, key);
	if (rc == TL_OK)
		*out = (int)n;
	return rc;
}

static int remove_backup(tl_ctx *ctx, const tl_backup_info *b)
{
	char *json = tl__sprintf("%s.json", b->path);
	if (!json)
		return TL_ENOMEM;
	int rc = TL_OK;
	/* The backup first: a manifest without its file is harmless. */
	if (unlink(b->path) != 0 && errno != ENOENT)
		rc = tl__error_os(TL_EIO, errno, "cannot delete %s", b->path);
	if (rc == TL_OK && unlink(json) != 0 && errno != ENOENT)
		rc = tl__error_os(TL_EIO, errno, "cannot delete %s", json);
	free(json);
	return rc;
}

static pitem *add_item(tl_backup_prune_report *rep)
{
	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? 2 * rep->cap : 16;
		pitem *v = tl__realloc(rep->items, cap * sizeof(*v));
		if (!v)
			return NULL;
		rep->items = v;
		rep->cap = cap;
	}
	pitem *it = &rep->items[rep->n++];
	memset(it, 0, sizeof(*it));
	return it;
}

static int wanted(const tl__bk_opts *o, const char *db)
{
	if (!o->databases)
		return 1;
	for (size_t i = 0; i < o->ndatabases; i++)
		if (!strcmp(o->databases[i], db))
			return 1;
	return 0;
}

/* "<db>__pre_restore_<YYYYMMDDHHMMSS>": the base name and the time. */
static int parse_pre_restore(char **db, time_t *t, const char *name)
{
	const char *mark = strstr(name, "__pre_restore_");
	if (!mark || mark == name)
		return -1;
	const char *ts = mark + strlen("__pre_restore_");
	if (strlen(ts) != 14 || strstr(ts, "__pre_restore_"))
		return -1;
	int64_t when = 0;
	if (!tl__parse_utc(&when, ts, 14, "%Y%m%d%H%M%S")) /* as tl__bk_derived_db writes it */
		return -1;
	*t = (time_t)when;
	*db = tl__strndup(name, (size_t)(mark - name));
	return *db ? 0 : -1;
}

/* Drop the databases restores kept, once older than the window. */
static int prune_kept_databases(tl_backup_prune_report *rep, tl_ctx *ctx, const tl__bk_opts *o,
                                int keep_days)
{
	PGconn *c = NULL;
	if (tl__bk_pg_open(&c, ctx, NULL) != TL_OK) {
		tl__log(ctx, TL_LOG_WARN, "kept pre-restore databases not pruned: %s",
		        tl_error_last()->message);
		tl_error_clear();
		return TL_OK;
	}
	PGresult *r = NULL;
	int rc = tl__bk_pg_exec(&r, c, "list the pre-restore databases",
	                        "SELECT datname FROM pg_catalog.pg_database "
	                        "WHERE datname LIKE '%\\_\\_pre\\_restore\\_%' ORDER BY 1",
	                        0, NULL);
	int first = TL_OK;
	time_t now = time(NULL);
	for (int i = 0; rc == TL_OK && i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0);
		char *db = NULL;
		time_t t;
		if (parse_pre_restore(&db, &t, name) != 0)
			continue;
		if (!wanted(o, db)) {
			free(db);
			continue;
		}
		pitem *it = add_item(rep);
		if (!it) {
			free(db);
			rc = TL_ENOMEM;
			break;
		}
		it->file = tl__strdup(name);
		it->database = db;
		it->pub.file = it->file ? it->file : "";
		it->pub.database = db;
		it->pub.is_database = 1;
		int old = (int64_t)now - (int64_t)t >= (int64_t)keep_days * 86400;
		it->pub.deleted = old;
		it->pub.reason = old ? "database kept by a restore, older than the retention window"
		                     : "database kept by a restore, within the retention window";
		if (!old || (o->flags & TL_BACKUP_DRY_RUN))
			continue;
		tl__lock *lk = NULL;
		int r1 = tl__bk_lock(&lk, ctx, db, o->lock_timeout_ms);
		char *q = r1 ? NULL : tl__bk_pg_ident(c, name);
		char *sql = q ? tl__sprintf("DROP DATABASE %s WITH (FORCE)", q) : NULL;
		if (r1 == TL_OK)
			r1 = sql ? tl__bk_pg_exec(NULL, c, "drop a kept pre-restore database", sql, 0, NULL)
			         : TL_ENOMEM;
		free(q);
		free(sql);
		tl__bk_unlock(lk);
		if (r1) {
			it->pub.deleted = 0;
			it->pub.reason = "deletion failed";
			if (!first)
				first = r1;
			tl__log(ctx, TL_LOG_ERROR, "cannot drop %s: %s", name, tl_error_last()->message);
		} else {
			tl__log(ctx, TL_LOG_INFO, "dropped %s (kept by a restore, past the window)", name);
		}
	}
	PQclear(r);
	PQfinish(c);
	return rc ? rc : first;
}

int tl_backup_prune(tl_backup_prune_report **out, tl_ctx *ctx, const tl_backup_options *opts)
{
	TL__CHECK_ARG(out && ctx);
	tl__bk_opts o;
	int rc = tl__bk_opts_read(&o, opts);
	int keep_days = 0, keep_last = 0;
	if (rc == TL_OK)
		rc = config_int(&keep_days, ctx, "TOWLION_BACKUP_KEEP_DAYS", 0);
	if (rc == TL_OK)
		rc = config_int(&keep_last, ctx, "TOWLION_BACKUP_KEEP_LAST", 1);
	if (rc)
		return rc;
	/* Leftovers of killed restores first (best effort: pruning files does
	 * not need PostgreSQL). */
	tl_buf repaired = TL_BUF_INIT;
	if (tl__bk_repair(ctx, &repaired, !!(o.flags & TL_BACKUP_DRY_RUN)) != TL_OK)
		tl__log(ctx, TL_LOG_WARN, "%s", tl_error_last()->message);
	tl_buf_dispose(&repaired);
	tl_error_clear();
	tl_backup_list *l = NULL;
	if ((rc = tl_backup_list_get(&l, ctx, opts)))
		return rc;
	size_t n = tl_backup_list_count(l);
	tl__bk_keep_item *keep = n ? tl__calloc(n, sizeof(*keep)) : NULL;
	tl_backup_prune_report *rep = tl__calloc(1, sizeof(*rep));
	if (rep && n) {
		rep->items = tl__calloc(n, sizeof(*rep->items));
		rep->cap = n;
	}
	if ((n && (!keep || !rep->items)) || !rep) {
		free(keep);
		tl_backup_prune_report_free(rep);
		tl_backup_list_free(l);
		return TL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const tl_backup_info *b = tl_backup_list_at(l, i);
		keep[i].database = b->database;
		keep[i].created = (time_t)b->created;
		keep[i].good = b->state == TL_BACKUP_VERIFIED || b->state == TL_BACKUP_UNVERIFIED;
	}
	tl__bk_retention(keep, n, time(NULL), keep_days, keep_last);
	int remote = tl__bk_remote_enabled(ctx, o.flags);
	int first = TL_OK;
	tl__lock *lk = NULL;
	const char *locked_db = NULL;
	for (size_t i = 0; i < n; i++) {
		const tl_backup_info *b = tl_backup_list_at(l, i);
		pitem *it = &rep->items[rep->n++];
		it->file = tl__strdup(b->file);
		it->database = tl__strdup(b->database);
		it->pub.file = it->file ? it->file : "";
		it->pub.database = it->database ? it->database : "";
		it->pub.deleted = !keep[i].keep;
		it->pub.reason = keep[i].reason;
		if (keep[i].keep || (o.flags & TL_BACKUP_DRY_RUN))
			continue;
		/* Not while a backup or restore of that database runs. */
		int r1 = TL_OK;
		if (!locked_db || strcmp(locked_db, b->database) != 0) {
			tl__bk_unlock(lk);
			lk = NULL;
			locked_db = b->database;
			r1 = tl__bk_lock(&lk, ctx, b->database, o.lock_timeout_ms);
		}
		if (r1 == TL_OK && lk) {
			if (remote)
				r1 = tl__bk_remote_delete(ctx, b->file);
			if (r1 == TL_OK)
				r1 = remove_backup(ctx, b);
		}
		if (r1 || !lk) {
			it->pub.deleted = 0;
			it->pub.reason = "deletion failed";
			if (!first)
				first = r1 ? r1 : TL_ELOCKED;
			tl__log(ctx, TL_LOG_ERROR, "cannot prune %s: %s", b->file, tl_error_last()->message);
		} else {
			tl__log(ctx, TL_LOG_INFO, "pruned %s (%s)", b->file, keep[i].reason);
		}
	}
	tl__bk_unlock(lk);
	free(keep);
	tl_backup_list_free(l);
	int r2 = prune_kept_databases(rep, ctx, &o, keep_days);
	if (r2 && !first)
		first = r2;
	if (first) {
		tl_backup_prune_report_free(rep);
		return tl__error_set(first, TL_ERRCLASS_BACKUP,
		                     "prune could not delete every expired backup: %s",
		                     tl_error_last()->message);
	}
	*out = rep;
	return TL_OK;
}
