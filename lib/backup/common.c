/* Shared pieces of the backup module: options, locks, resolving a backup
 * argument, the last-success record, names of states and formats. */
#include "backup_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>

int tl_backup_options_init(tl_backup_options *opts, unsigned int version)
{
	tl_backup_options def = TL_BACKUP_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_BACKUP_OPTIONS_VERSION, "tl_backup_options");
}

const char *tl_backup_state_name(int state)
{
	switch (state) {
	case TL_BACKUP_UNVERIFIED: return "unverified";
	case TL_BACKUP_VERIFIED: return "verified";
	case TL_BACKUP_FAILED: return "failed";
	case TL_BACKUP_INCOMPLETE: return "incomplete";
	default: return "unknown";
	}
}

const char *tl_backup_format_name(int format)
{
	switch (format) {
	case TL_BACKUP_FORMAT_CUSTOM: return "custom";
	case TL_BACKUP_FORMAT_SQL: return "sql";
	default: return "unknown";
	}
}

int tl__bk_opts_read(tl__bk_opts *out, const tl_backup_options *opts)
{
	tl_backup_options d = TL_BACKUP_OPTIONS_INIT;
	if (!opts)
		opts = &d;
	TL__CHECK_VERSION(opts, TL_BACKUP_OPTIONS_VERSION, "tl_backup_options");
	if (opts->format != TL_BACKUP_FORMAT_CUSTOM && opts->format != TL_BACKUP_FORMAT_SQL)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "unknown backup format %d",
		                     opts->format);
	if (opts->level < 0 || opts->level > 19 ||
	    (opts->format == TL_BACKUP_FORMAT_SQL && opts->level > 9))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "compression level %d is out of range (zstd 1..19, gzip 1..9)",
		                     opts->level);
	if (opts->threads < 0 || opts->threads > 64)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "compression threads must be 0..64");
	if (opts->ndatabases && !opts->databases)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "ndatabases without databases");
	for (size_t i = 0; i < opts->ndatabases; i++) {
		int rc = tl__bk_validate_db(opts->databases[i]);
		if (rc)
			return rc;
	}
	if (opts->into) {
		int rc = tl__bk_validate_db(opts->into);
		if (rc)
			return rc;
	}
	out->flags = opts->flags;
	out->format = opts->format;
	out->databases = opts->databases;
	out->ndatabases = opts->ndatabases;
	out->pg_bin_dir = opts->pg_bin_dir;
	out->level = opts->level;
	out->timeout_ms = opts->timeout_ms;
	out->lock_timeout_ms = opts->lock_timeout_ms == 0 ? 30000
	                       : opts->lock_timeout_ms < 0 ? 0
	                                                   : opts->lock_timeout_ms;
	out->into = opts->into;
	out->threads = opts->threads;
	return TL_OK;
}

int tl__bk_lock(tl__lock **out, tl_ctx *ctx, const char *database, int timeout_ms)
{
	char *dir = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	char *name = tl__sprintf("backup.%s", database);
	int rc = dir && name ? tl__mkdir_p(dir, 0700) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__lock_acquire(out, ctx, dir, name, timeout_ms);
	free(dir);
	free(name);
	return rc;
}

void tl__bk_unlock(tl__lock *lk)
{
	tl__lock_discard(lk);
}

int tl__bk_resolve(char **path, tl__bk_name *name, tl_ctx *ctx, const char *backup)
{
	TL__CHECK_ARG(backup && *backup);
	const char *slash = strrchr(backup, '/');
	const char *base = slash ? slash + 1 : backup;
	tl__bk_name n = {0};
	int rc = tl__bk_name_parse(&n, base);
	if (rc)
		return rc;
	if (n.partial) {
		tl__bk_name_dispose(&n);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                     "%s is an unfinished backup (.partial), not a backup", base);
	}
	char *p = slash ? tl__strdup(backup) : tl__path_join(tl__cfg(ctx, "TOWLION_BACKUP_DIR"), base);
	struct stat st;
	if (!p)
		rc = TL_ENOMEM;
	else if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_BACKUP,
		                   "backup %s not found; see 'towlion backup list'", p);
	if (rc) {
		free(p);
		tl__bk_name_dispose(&n);
		return rc;
	}
	*path = p;
	*name = n;
	return TL_OK;
}

int tl__bk_key_for(unsigned char key[TL__BK_KEY_BYTES], tl_ctx *ctx, int encrypted,
                   const char *file)
{
	if (!encrypted)
		return TL_OK;
	int have = 0;
	int rc = tl__bk_key_load(key, &have, ctx);
	if (rc == TL_OK && !have)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                   "%s is encrypted: set TOWLION_BACKUP_KEY to its key file", file);
	return rc;
}

/* last-success.json: {"<db>": {"time": "...", "epoch": N, "file": "..."}}
 * Read-modify-write under its own lock, replaced atomically. */
int tl__bk_record_success(tl_ctx *ctx, const char *database, time_t when, const char *file)
{
	char *dir = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "backups");
	char *path = dir ? tl__path_join(dir, "last-success.json") : NULL;
	char *locks = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	tl__lock *lk = NULL;
	int rc = path && locks ? tl__mkdir_p(dir, 0700) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__mkdir_p(locks, 0700);
	if (rc == TL_OK)
		rc = tl__lock_acquire(&lk, ctx, locks, "backup-state", 30000);
	json_t *doc = NULL;
	if (rc == TL_OK) {
		tl_buf text = TL_BUF_INIT;
		if (tl__file_read(&text, path) == TL_OK)
			doc = json_loads(text.ptr, 0, NULL);
		tl_buf_dispose(&text);
		if (!json_is_object(doc)) {
			json_decref(doc);
			doc = json_object();
		}
		char iso[32];
		struct tm tm;
		gmtime_r(&when, &tm);
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(doc, database,
		                    json_pack("{s:s, s:I, s:s}", "time", iso, "epoch",
		                              (json_int_t)when, "file", file));
		char *out = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
		rc = out ? tl__file_write_atomic(path, out, strlen(out), 0600) : tl__error_oom();
		free(out);
	}
	json_decref(doc);
	tl__lock_release(lk);
	free(dir);
	free(path);
	free(locks);
	return rc;
}
