/* tl_backup_prune: retention applied to the backup directory (and to the
 * offsite copies). The decisions are in retention.c. */
#include "backup_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	tl_backup_prune_item pub;
	char *file, *database;
} pitem;

struct tl_backup_prune_report {
	pitem *items;
	size_t n;
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
	const char *v = tl__cfg(ctx, key);
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < min || n > 100000)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "%s must be a whole number >= %d (it is \"%s\")", key, min, v);
	*out = (int)n;
	return TL_OK;
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
	tl_backup_list *l = NULL;
	if ((rc = tl_backup_list_get(&l, ctx, opts)))
		return rc;
	size_t n = tl_backup_list_count(l);
	tl__bk_keep_item *keep = n ? tl__calloc(n, sizeof(*keep)) : NULL;
	tl_backup_prune_report *rep = tl__calloc(1, sizeof(*rep));
	if (rep && n)
		rep->items = tl__calloc(n, sizeof(*rep->items));
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
			tl__lock_release(lk);
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
	tl__lock_release(lk);
	free(keep);
	tl_backup_list_free(l);
	if (first) {
		tl_backup_prune_report_free(rep);
		return tl__error_set(first, TL_ERRCLASS_BACKUP,
		                     "prune could not delete every expired backup: %s",
		                     tl_error_last()->message);
	}
	*out = rep;
	return TL_OK;
}
