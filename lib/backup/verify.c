/* Listing backups, and verifying one (optionally by a scratch restore). */
#include "backup_internal.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
	tl_backup_info pub;
	char *file, *path, *database, *sha256, *pg_version, *remote;
} item;

struct tl_backup_list {
	item *items;
	size_t n, cap;
};

size_t tl_backup_list_count(const tl_backup_list *l)
{
	return l ? l->n : 0;
}

const tl_backup_info *tl_backup_list_at(const tl_backup_list *l, size_t i)
{
	return l && i < l->n ? &l->items[i].pub : NULL;
}

void tl_backup_list_free(tl_backup_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].file);
		free(l->items[i].path);
		free(l->items[i].database);
		free(l->items[i].sha256);
		free(l->items[i].pg_version);
		free(l->items[i].remote);
	}
	free(l->items);
	free(l);
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

static int newest_first(const void *a, const void *b)
{
	const item *x = a, *y = b;
	if (x->pub.created != y->pub.created)
		return x->pub.created < y->pub.created ? 1 : -1;
	return strcmp(x->file, y->file);
}

static int add_item(tl_backup_list *l, const char *dir, const char *file, tl__bk_name *n)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		item *v = tl__realloc(l->items, cap * sizeof(*v));
		if (!v)
			return TL_ENOMEM;
		l->items = v;
		l->cap = cap;
	}
	item *it = &l->items[l->n];
	memset(it, 0, sizeof(*it));
	it->file = tl__strdup(file);
	it->path = tl__path_join(dir, file);
	it->database = n->database;
	n->database = NULL;
	if (!it->file || !it->path) {
		free(it->file);
		free(it->path);
		free(it->database);
		return TL_ENOMEM;
	}
	struct stat st;
	int64_t size = stat(it->path, &st) == 0 ? (int64_t)st.st_size : -1;
	tl__bk_manifest m = {0};
	int state = TL_BACKUP_INCOMPLETE;
	if (tl__bk_manifest_load(&m, it->path) == TL_OK) {
		/* A failed verdict stands even when the file changed since. */
		state = m.state == TL_BACKUP_FAILED ? TL_BACKUP_FAILED
		        : m.size == size && !strcmp(m.database, it->database) ? m.state
		                                                              : TL_BACKUP_INCOMPLETE;
		it->sha256 = tl__strdup(m.sha256);
		it->pg_version = tl__strdup(m.pg_version);
		it->remote = tl__strdup(m.remote);
		it->pub.duration_ms = m.duration_ms;
		it->pub.tables = m.tables;
		it->pub.verified_at = m.verified_at;
		tl__bk_manifest_dispose(&m);
	} else {
		it->pub.duration_ms = -1;
		it->pub.tables = -1;
	}
	tl_error_clear();
	if (!it->sha256)
		it->sha256 = tl__strdup("");
	if (!it->pg_version)
		it->pg_version = tl__strdup("");
	if (!it->remote)
		it->remote = tl__strdup("");
	it->pub.file = it->file;
	it->pub.path = it->path;
	it->pub.database = it->database;
	it->pub.format = n->format;
	it->pub.encrypted = n->encrypted;
	it->pub.state = state;
	it->pub.size = size;
	it->pub.created = (int64_t)n->created;
	it->pub.sha256 = it->sha256 ? it->sha256 : "";
	it->pub.pg_version = it->pg_version ? it->pg_version : "";
	it->pub.remote = it->remote ? it->remote : "";
	l->n++;
	return TL_OK;
}

int tl_backup_list_get(tl_backup_list **out, tl_ctx *ctx, const tl_backup_options *opts)
{
	TL__CHECK_ARG(out && ctx);
	tl__bk_opts o;
	int rc = tl__bk_opts_read(&o, opts);
	if (rc)
		return rc;
	tl_backup_list *l = tl__calloc(1, sizeof(*l));
	if (!l)
		return TL_ENOMEM;
	const char *dir = tl__cfg(ctx, "TOWLION_BACKUP_DIR");
	DIR *d = opendir(dir);
	if (!d && errno != ENOENT) {
		free(l);
		return tl__error_os(0, errno, "cannot read the backup directory %s", dir);
	}
	for (struct dirent *e; d && rc == TL_OK && (e = readdir(d));) {
		tl__bk_name n = {0};
		/* Manifests, .partial files and strangers are not backups. */
		if (tl__bk_name_parse(&n, e->d_name) != TL_OK) {
			tl_error_clear();
			continue;
		}
		if (!n.partial && wanted(&o, n.database))
			rc = add_item(l, dir, e->d_name, &n);
		tl__bk_name_dispose(&n);
	}
	if (d)
		closedir(d);
	if (rc) {
		tl_backup_list_free(l);
		return rc;
	}
	if (l->n)
		qsort(l->items, l->n, sizeof(*l->items), newest_first);
	/* qsort moved the items: point the public structs at their strings. */
	for (size_t i = 0; i < l->n; i++) {
		item *it = &l->items[i];
		it->pub.file = it->file;
		it->pub.path = it->path;
		it->pub.database = it->database;
		it->pub.sha256 = it->sha256 ? it->sha256 : "";
		it->pub.pg_version = it->pg_version ? it->pg_version : "";
		it->pub.remote = it->remote ? it->remote : "";
	}
	*out = l;
	return TL_OK;
}

/* Count the rows of every table of the connected database. */
static int count_rows(int64_t *tables, int64_t *rows, PGconn *c)
{
	PGresult *r = NULL;
	int rc = tl__bk_pg_exec(&r, c, "list the tables",
	                        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
	                        "FROM pg_catalog.pg_class c "
	                        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	                        "WHERE c.relkind IN ('r', 'p') "
	                        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
	                        "AND n.nspname NOT LIKE 'pg\\_toast%' "
	                        "AND n.nspname NOT LIKE 'pg\\_temp\\_%'",
	                        0, NULL);
	if (rc)
		return rc;
	int64_t total = 0;
	int nt = PQntuples(r);
	for (int i = 0; rc == TL_OK && i < nt; i++) {
		/* ONLY: a partitioned table's rows are counted in its partitions. */
		char *sql = tl__sprintf("SELECT count(*) FROM ONLY %s", PQgetvalue(r, i, 0));
		PGresult *cr = NULL;
		rc = sql ? tl__bk_pg_exec(&cr, c, "count rows", sql, 0, NULL) : TL_ENOMEM;
		if (rc == TL_OK) {
			total += strtoll(PQgetvalue(cr, 0, 0), NULL, 10); /* count(): a bigint */
			PQclear(cr);
		}
		free(sql);
	}
	PQclear(r);
	if (rc == TL_OK) {
		*tables = nt;
		*rows = total;
	}
	return rc;
}

/* Restore into a scratch database owned by a throwaway role that owns
 * nothing else, logged in as that role, and count its rows as that role:
 * the backup's code never runs with the admin's rights. */
static int deep_check(tl_backup_check *chk, tl_ctx *ctx, const char *path,
                      const tl__bk_name *name, const tl__bk_manifest *m, const tl__bk_opts *o)
{
	PGconn *admin = NULL;
	char pw[TL__BK_PW_LEN + 1] = "";
	int rc = tl__bk_pg_open(&admin, ctx, NULL);
	/* Before the intent record: tools of the server's major, or nothing. */
	tl__bk_tools tools = {0};
	tl__bk_opts with_tools = *o;
	if (rc == TL_OK)
		rc = tl__bk_tools_pick(&tools, ctx, admin, o->pg_bin_dir);
	with_tools.tools = &tools;
	o = &with_tools;
	time_t now = time(NULL);
	char *scratch = rc ? NULL : tl__bk_derived_db(m->database, "__verify_", now);
	if (rc == TL_OK && !scratch)
		rc = tl_error_last()->code ? tl_error_last()->code : TL_ENOMEM;
	tl__bk_intent in = {"verify", m->database, NULL, scratch, scratch, "", NULL, "scratch",
	                    (int64_t)now};
	int recorded = 0;
	if (rc == TL_OK)
		recorded = (rc = tl__bk_intent_save(ctx, &in)) == TL_OK;
	if (rc == TL_OK)
		rc = tl__bk_restorer_create(pw, admin, scratch, NULL);
	if (rc == TL_OK)
		rc = tl__bk_restore_scratch(ctx, admin, "verify", scratch, scratch, scratch, pw, path,
		                            name, m, o);
	if (rc == TL_OK) {
		PGconn *sc = NULL;
		rc = tl__bk_pg_open_as(&sc, ctx, scratch, scratch, pw);
		if (rc == TL_OK)
			rc = count_rows(&chk->tables, &chk->rows, sc);
		PQfinish(sc);
		tl__bk_drop_db(ctx, admin, scratch);
		chk->bytes = m->dump_bytes;
	}
	if (recorded) {
		tl__error_saved saved;
		tl__error_save(&saved);
		int rexists = 1, clean = tl__bk_role_exists(&rexists, admin, scratch) == TL_OK &&
		                         (!rexists || tl__bk_restorer_drop(ctx, admin, scratch) == TL_OK);
		if (clean)
			tl__bk_intent_remove(ctx, m->database);
		if (rc)
			tl__error_restore(&saved);
	}
	sodium_memzero(pw, sizeof(pw));
	tl__bk_tools_dispose(&tools);
	free(scratch);
	PQfinish(admin);
	return rc;
}

int tl_backup_verify(tl_backup_check *out, tl_ctx *ctx, const char *backup,
                     const tl_backup_options *opts)
{
	TL__CHECK_ARG(ctx && backup);
	tl__bk_opts o;
	int rc = tl__bk_opts_read(&o, opts);
	if (rc)
		return rc;
	char *path = NULL;
	tl__bk_name name = {0};
	tl__bk_manifest m = {0};
	if ((rc = tl__bk_resolve(&path, &name, ctx, backup)))
		return rc;
	tl__lock *lk = NULL;
	if (o.flags & TL_BACKUP_DEEP) {
		tl_buf done = TL_BUF_INIT;
		rc = tl__bk_repair(ctx, &done, !!(o.flags & TL_BACKUP_DRY_RUN));
		tl_buf_dispose(&done);
		if (rc) {
			free(path);
			tl__bk_name_dispose(&name);
			return rc;
		}
	}
	rc = tl__bk_manifest_load(&m, path);
	if (rc)
		tl__error_prefix("%s has no readable manifest to check it against", backup);
	if (rc == TL_OK)
		rc = tl__step(ctx, "backup.verify", m.database, "verifying %s%s", m.file,
		              (o.flags & TL_BACKUP_DEEP) ? " (deep: restore into a scratch database)"
		                                         : "");
	if (rc == TL_OK)
		rc = tl__bk_lock(&lk, ctx, m.database, o.lock_timeout_ms);
	tl_backup_check chk = {0, -1, -1};
	int checked = 0;
	if (rc == TL_OK && !(o.flags & TL_BACKUP_DRY_RUN)) {
		checked = 1;
		if (o.flags & TL_BACKUP_DEEP) {
			rc = deep_check(&chk, ctx, path, &name, &m, &o);
		} else {
			tl__bk_feed_result fr;
			rc = tl__bk_feed(&fr, ctx, NULL, path, &name, NULL, NULL, 0, m.sha256, "verify");
			chk.bytes = fr.bytes;
			if (rc == TL_OK && m.dump_bytes && fr.bytes != m.dump_bytes)
				rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
				                   "%s: %llu bytes decompressed, the manifest says %llu",
				                   m.file, (unsigned long long)fr.bytes,
				                   (unsigned long long)m.dump_bytes);
		}
	}
	/* Record the verdict; only a broken backup (TL_EIO) is "failed": an
	 * unreachable server says nothing about the file. */
	if (checked && (rc == TL_OK || rc == TL_EIO)) {
		tl__error_saved saved;
		tl__error_save(&saved);
		m.state = rc == TL_OK ? TL_BACKUP_VERIFIED : TL_BACKUP_FAILED;
		m.verified_at = (int64_t)time(NULL);
		int r2 = tl__bk_manifest_save(&m, path);
		if (rc)
			tl__error_restore(&saved);
		else
			rc = r2;
	}
	if (rc == TL_OK && out)
		*out = chk;
	tl__bk_unlock(lk);
	free(path);
	tl__bk_name_dispose(&name);
	tl__bk_manifest_dispose(&m);
	return rc;
}
