/*
 * tl_backup_restore: never into the live database. The backup goes into
 * a scratch database first; only when pg_restore succeeded, the stream
 * was intact (checksum, authentication, compression trailer) and the
 * table count matches the manifest, the scratch database is swapped in by
 * two renames in one transaction. The old database is kept, renamed.
 * pg_restore logs in as a throwaway role (tenant.c), never as the admin;
 * an intent record (intent.c) lets the next command repair a restore that
 * was killed halfway.
 */
#include "backup_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int only_word_chars(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

void tl__bk_drop_db(tl_ctx *ctx, PGconn *admin, const char *db)
{
	char *q = tl__bk_pg_ident(admin, db);
	if (!q)
		return;
	/* WITH (FORCE) ends sessions first (PostgreSQL 13+). */
	if (tl__bk_pg_execf(admin, "drop the scratch database",
	                    "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	                    q) != TL_OK)
		tl__log(ctx, TL_LOG_WARN, "could not drop %s: %s", db, tl_error_last()->message);
	free(q);
}

static int db_exists(int *out, PGconn *admin, const char *db)
{
	PGresult *r = NULL;
	const char *p[] = {db};
	int rc = tl__bk_pg_exec(&r, admin, "look up the database",
	                        "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1, p);
	if (rc == TL_OK) {
		*out = PQntuples(r) > 0;
		PQclear(r);
	}
	return rc;
}

/* The scratch and pre-restore names carry the second they were made in
 * (retention reads it back). A second restore within the same second
 * would collide with the first one's pre-restore copy: take the next
 * second whose names are both free. The database's backup lock is held,
 * so no other restore picks at the same time. */
static int pick_derived_names(char **scratch, char **pre, time_t *t, PGconn *admin,
                              const char *database)
{
	for (int tries = 0; tries < 3600; tries++, (*t)++) {
		*scratch = tl__bk_derived_db(database, "__restore_", *t);
		*pre = tl__bk_derived_db(database, "__pre_restore_", *t);
		if (!*scratch || !*pre)
			return tl_error_last()->code ? tl_error_last()->code : TL_ENOMEM;
		int scratch_taken = 1, pre_taken = 1;
		int rc = db_exists(&scratch_taken, admin, *scratch);
		if (rc == TL_OK)
			rc = db_exists(&pre_taken, admin, *pre);
		if (rc != TL_OK || (!scratch_taken && !pre_taken))
			return rc;
		free(*scratch);
		free(*pre);
		*scratch = *pre = NULL;
	}
	return tl__error_set(TL_EEXISTS, TL_ERRCLASS_BACKUP,
	                     "every pre-restore name of %s for the next hour is taken; "
	                     "drop old %s__pre_restore_* copies", database, database);
}

/* CREATE DATABASE scratch like `model` (encoding, collation) when it
 * exists, owned by `owner`. */
static int create_scratch(PGconn *admin, const char *scratch, const char *owner,
                          const char *model)
{
	PGresult *r = NULL;
	const char *p[] = {model ? model : ""};
	int rc = tl__bk_pg_exec(&r, admin, "read the database's encoding",
	                        "SELECT pg_catalog.pg_encoding_to_char(encoding), datcollate, "
	                        "datctype FROM pg_catalog.pg_database WHERE datname = $1",
	                        1, p);
	if (rc)
		return rc;
	char *qs = tl__bk_pg_ident(admin, scratch), *qo = tl__bk_pg_ident(admin, owner);
	char *enc = NULL, *col = NULL, *ctyp = NULL;
	if (PQntuples(r) == 1) {
		enc = PQescapeLiteral(admin, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)));
		col = PQescapeLiteral(admin, PQgetvalue(r, 0, 1), strlen(PQgetvalue(r, 0, 1)));
		ctyp = PQescapeLiteral(admin, PQgetvalue(r, 0, 2), strlen(PQgetvalue(r, 0, 2)));
	}
	if (!qs || !qo)
		rc = TL_ENOMEM;
	else if (enc && col && ctyp)
		rc = tl__bk_pg_execf(admin, "create the scratch database",
		                     "CREATE DATABASE %s OWNER %s TEMPLATE template0 ENCODING %s "
		                     "LC_COLLATE %s LC_CTYPE %s",
		                     qs, qo, enc, col, ctyp);
	else
		rc = tl__bk_pg_execf(admin, "create the scratch database",
		                     "CREATE DATABASE %s OWNER %s TEMPLATE template0", qs, qo);
	PQfreemem(enc);
	PQfreemem(col);
	PQfreemem(ctyp);
	free(qs);
	free(qo);
	PQclear(r);
	return rc;
}

int tl__bk_restore_scratch(tl_ctx *ctx, PGconn *admin, const char *kind, const char *scratch,
                           const char *owner, const char *login, const char *login_pw,
                           const char *path, const tl__bk_name *name,
                           const tl__bk_manifest *m, const tl__bk_opts *o)
{
	int as_owner = strcmp(owner, login) != 0;
	if (name->format == TL_BACKUP_FORMAT_SQL && !only_word_chars(owner))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                     "cannot restore a SQL backup as role \"%s\" (unusual name)", owner);
	int rc = tl__step(ctx, "backup.restore", scratch, "restoring %s into %s", m->file, scratch);
	if (rc == TL_OK)
		rc = create_scratch(admin, scratch, owner, m->database);
	if (rc)
		return rc;
	/* Nobody but the owner and the restore role may connect meanwhile. */
	char *qs = tl__bk_pg_ident(admin, scratch), *ql = tl__bk_pg_ident(admin, login);
	rc = qs && ql ? tl__bk_pg_execf(admin, "close the scratch database to PUBLIC",
	                                "REVOKE ALL ON DATABASE %s FROM PUBLIC", qs)
	              : TL_ENOMEM;
	if (rc == TL_OK && as_owner)
		rc = tl__bk_pg_execf(admin, "let the restore role connect",
		                     "GRANT CONNECT ON DATABASE %s TO %s",
		                     qs, ql);
	free(qs);
	free(ql);
	char pause[64];
	snprintf(pause, sizeof(pause), "%s:scratch", kind);
	if (rc == TL_OK)
		tl__test_pause_at(pause);
	tl__bk_client cl = {0};
	char *dbarg = NULL, *rolearg = NULL, *pgoptions = NULL;
	const char *prog = name->format == TL_BACKUP_FORMAT_SQL ? o->tools->psql : o->tools->restore;
	if (rc == TL_OK)
		rc = tl__bk_tools_client(&cl, o->tools, ctx, scratch, login, login_pw);
	if (rc == TL_OK) {
		dbarg = tl__sprintf("--dbname=%s", cl.conninfo);
		rolearg = tl__sprintf("--role=%s", owner);
		/* psql has no --role: the session starts as the owner instead. */
		pgoptions = tl__sprintf("PGOPTIONS=-c role=%s", owner);
		if (!dbarg || !rolearg || !pgoptions)
			rc = TL_ENOMEM;
	}
	if (rc == TL_OK) {
		/* Logged in as the throwaway role, never as the admin: the
		 * backup's code (CHECK, defaults, index expressions) runs with the
		 * owner's rights at most, and RESET ROLE falls back to a role with
		 * none. --no-owner + --role: every object is created by, so owned
		 * by, the owner, whoever owned it before. */
		const char *restore[] = {prog, "--no-password", "--exit-on-error", "--no-owner",
		                         as_owner ? rolearg : NULL, dbarg, NULL};
		if (!as_owner) {
			restore[4] = dbarg;
			restore[5] = NULL;
		}
		const char *psql[] = {prog, "--no-password", "--no-psqlrc", "--quiet",
		                      "--set=ON_ERROR_STOP=1", dbarg, NULL};
		const char *env_sql[] = {pgoptions, cl.pgpassword_env, NULL};
		const char *env_dump[] = {cl.pgpassword_env, NULL};
		const char *subject = name->format == TL_BACKUP_FORMAT_SQL ? "psql" : "pg_restore";
		rc = tl__bk_feed(NULL, ctx, o->tools, path, name,
		                 name->format == TL_BACKUP_FORMAT_SQL ? psql : restore,
		                 name->format == TL_BACKUP_FORMAT_SQL && as_owner ? env_sql : env_dump,
		                 o->timeout_ms, m->sha256, subject);
		if (rc)
			tl__error_prefix("restore of %s into %s", m->file, scratch);
	}
	free(dbarg);
	free(rolearg);
	free(pgoptions);
	tl__bk_client_dispose(&cl);
	snprintf(pause, sizeof(pause), "%s:restored", kind);
	if (rc == TL_OK)
		tl__test_pause_at(pause);
	/* The restored database must hold as many tables as were dumped. */
	if (rc == TL_OK && m->tables >= 0) {
		PGconn *sc = NULL;
		int64_t n = -1;
		rc = tl__bk_pg_open(&sc, ctx, scratch);
		if (rc == TL_OK)
			rc = tl__bk_pg_table_count(&n, sc);
		PQfinish(sc);
		if (rc == TL_OK && n != m->tables)
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
			                   "restore of %s: %lld tables restored, the backup has %lld",
			                   m->file, (long long)n, (long long)m->tables);
	}
	if (rc) {
		tl__error_saved saved;
		tl__error_save(&saved);
		tl__bk_drop_db(ctx, admin, scratch);
		tl__error_restore(&saved);
	}
	return rc;
}

/* A list setting (search_path...) as stored in pg_db_role_setting,
 * `a, "b c"`, as SQL: 'a', 'b c' (one literal per element, as pg_dump
 * does). Quoting the whole value would make it one element. */
static int list_setting(tl_buf *out, PGconn *c, const char *v)
{
	int rc = TL_OK;
	size_t n = 0;
	while (rc == TL_OK && *v) {
		while (*v == ' ' || *v == '\t')
			v++;
		tl_buf el = TL_BUF_INIT;
		if (*v == '"') {
			for (v++; *v && rc == TL_OK; v++) {
				if (*v == '"' && v[1] == '"')
					rc = tl__buf_putc(&el, *v++);
				else if (*v == '"') {
					v++;
					break;
				} else
					rc = tl__buf_putc(&el, *v);
			}
		} else {
			while (rc == TL_OK && *v && *v != ',' && *v != ' ' && *v != '\t')
				rc = tl__buf_putc(&el, *v++);
		}
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v == ',')
			v++;
		char *lit = rc == TL_OK ? PQescapeLiteral(c, el.ptr ? el.ptr : "", el.size) : NULL;
		if (rc == TL_OK && !lit)
			rc = TL_ENOMEM;
		if (rc == TL_OK)
			rc = tl__buf_printf(out, "%s%s", n++ ? ", " : "", lit);
		PQfreemem(lit);
		tl_buf_dispose(&el);
	}
	return rc;
}

static int is_list_setting(const char *name)
{
	const char *lists[] = {"search_path", "temp_tablespaces", "local_preload_libraries",
	                       "session_preload_libraries", "shared_preload_libraries",
	                       "unix_socket_directories"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(lists); i++)
		if (!strcasecmp(name, lists[i]))
			return 1;
	return 0;
}

/* Connection limit, CONNECT/TEMP/CREATE grants and per-database
 * settings of `from` applied to `to` (they are keyed by the database's
 * oid, so a rename does not carry them over). */
static int copy_db_properties(PGconn *admin, const char *from, const char *to)
{
	const char *p[] = {from};
	PGresult *r = NULL;
	char *qt = tl__bk_pg_ident(admin, to);
	if (!qt)
		return TL_ENOMEM;
	int rc = tl__bk_pg_exec(&r, admin, "read the database's properties",
	                        "SELECT datconnlimit, datacl IS NULL FROM pg_catalog.pg_database "
	                        "WHERE datname = $1",
	                        1, p);
	int acl_default = 1;
	if (rc == TL_OK) {
		if (PQntuples(r) != 1)
			rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_PG, "database %s disappeared", from);
		else {
			acl_default = PQgetvalue(r, 0, 1)[0] == 't';
			/* datconnlimit, an int4 that PostgreSQL typed: atoi meets no junk */
			rc = tl__bk_pg_execf(admin, "set the connection limit",
			                     "ALTER DATABASE %s CONNECTION LIMIT %d", qt,
			                     atoi(PQgetvalue(r, 0, 0)));
		}
		PQclear(r);
	}
	/* The scratch database was closed to PUBLIC: a default ACL means
	 * PUBLIC's CONNECT and TEMPORARY are given back. */
	if (rc == TL_OK && acl_default)
		rc = tl__bk_pg_execf(admin, "give PUBLIC its default rights",
		                     "GRANT CONNECT, TEMPORARY ON DATABASE %s TO PUBLIC", qt);
	if (rc == TL_OK && !acl_default) {
		rc = tl__bk_pg_execf(admin, "reset the grants",
		                     "REVOKE ALL ON DATABASE %s FROM PUBLIC", qt);
		if (rc == TL_OK)
			rc = tl__bk_pg_exec(&r, admin, "read the grants",
			                    "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
			                    "ELSE quote_ident(g.rolname) END, a.privilege_type, "
			                    "a.is_grantable FROM pg_catalog.pg_database d, "
			                    "aclexplode(d.datacl) a "
			                    "LEFT JOIN pg_catalog.pg_roles g ON g.oid = a.grantee "
			                    "WHERE d.datname = $1",
			                    1, p);
		for (int i = 0; rc == TL_OK && i < PQntuples(r); i++) {
			const char *priv = PQgetvalue(r, i, 1);
			if (strcmp(priv, "CONNECT") && strcmp(priv, "TEMPORARY") && strcmp(priv, "CREATE"))
				continue;
			rc = tl__bk_pg_execf(admin, "copy a grant",
			                     "GRANT %s ON DATABASE %s TO %s%s", priv, qt,
			                     PQgetvalue(r, i, 0),
			                     PQgetvalue(r, i, 2)[0] == 't' ? " WITH GRANT OPTION" : "");
		}
		if (rc == TL_OK)
			PQclear(r);
	}
	if (rc == TL_OK)
		rc = tl__bk_pg_exec(&r, admin, "read the database's settings",
		                    "SELECT split_part(c, '=', 1), substr(c, strpos(c, '=') + 1) "
		                    "FROM pg_catalog.pg_db_role_setting s "
		                    "JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase, "
		                    "unnest(s.setconfig) c WHERE d.datname = $1 AND s.setrole = 0",
		                    1, p);
	for (int i = 0; rc == TL_OK && i < PQntuples(r); i++) {
		char *qn = tl__bk_pg_ident(admin, PQgetvalue(r, i, 0));
		tl_buf val = TL_BUF_INIT;
		if (is_list_setting(PQgetvalue(r, i, 0))) {
			rc = list_setting(&val, admin, PQgetvalue(r, i, 1));
		} else {
			char *lit = PQescapeLiteral(admin, PQgetvalue(r, i, 1), strlen(PQgetvalue(r, i, 1)));
			rc = lit ? tl__buf_puts(&val, lit) : TL_ENOMEM;
			PQfreemem(lit);
		}
		if (rc == TL_OK)
			rc = qn && val.ptr ? tl__bk_pg_execf(admin, "copy a setting",
			                                     "ALTER DATABASE %s SET %s = %s",
			                                     qt, qn, val.ptr)
			                   : TL_ENOMEM;
		free(qn);
		tl_buf_dispose(&val);
	}
	if (rc == TL_OK)
		PQclear(r);
	free(qt);
	return rc;
}

/* End every session on `db` (new ones are already refused); waits until
 * they are gone, at most ~10 s. */
static int empty_database(PGconn *admin, const char *db)
{
	const char *p[] = {db};
	for (int i = 0; i < 100; i++) {
		PGresult *r = NULL;
		int rc = tl__bk_pg_exec(&r, admin, "end the database's sessions",
		                        "SELECT count(pg_catalog.pg_terminate_backend(pid)) "
		                        "FROM pg_catalog.pg_stat_activity "
		                        "WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
		                        1, p);
		if (rc)
			return rc;
		int left = atoi(PQgetvalue(r, 0, 0)); /* count(): PostgreSQL typed it */
		PQclear(r);
		if (left == 0)
			return TL_OK;
		tl__sleep_ms(100);
	}
	return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_BACKUP,
	                     "sessions on %s did not end within 10 s", db);
}

/* The swap: `cur` becomes `pre`, `scratch` becomes `cur`. */
static int swap_in(tl_ctx *ctx, PGconn *admin, tl__bk_intent *in, const char *cur,
                   const char *scratch, const char *pre)
{
	char *qc = tl__bk_pg_ident(admin, cur), *qs = tl__bk_pg_ident(admin, scratch),
	     *qp = tl__bk_pg_ident(admin, pre);
	int rc = qc && qs && qp ? TL_OK : TL_ENOMEM;
	if (rc == TL_OK)
		rc = copy_db_properties(admin, cur, scratch);
	if (rc == TL_OK)
		rc = tl__step(ctx, "backup.swap", cur, "swapping the restored copy in as %s", cur);
	/* From here a kill leaves a closed database: say so first. */
	if (rc == TL_OK)
		rc = tl__bk_intent_step(ctx, in, "swap");
	if (rc == TL_OK)
		rc = tl__bk_pg_execf(admin, "refuse new connections",
		                     "ALTER DATABASE %s ALLOW_CONNECTIONS false",
		                     qc);
	if (rc == TL_OK) {
		tl__test_pause_at("restore:closed");
		rc = empty_database(admin, cur);
		if (rc == TL_OK)
			rc = tl__bk_pg_exec(NULL, admin, "begin the swap", "BEGIN", 0, NULL);
		if (rc == TL_OK) {
			rc = tl__bk_pg_execf(admin, "rename the current database",
			                     "ALTER DATABASE %s RENAME TO %s",
			                     qc, qp);
			if (rc == TL_OK)
				rc = tl__bk_pg_execf(admin, "rename the restored database",
				                     "ALTER DATABASE %s RENAME TO %s", qs, qc);
			if (rc == TL_OK)
				rc = tl__bk_pg_exec(NULL, admin, "commit the swap", "COMMIT", 0, NULL);
			if (rc == TL_OK)
				tl__test_pause_at("restore:swapped");
			if (rc) {
				tl__error_saved saved;
				tl__error_save(&saved);
				PQclear(PQexec(admin, "ROLLBACK"));
				tl__error_restore(&saved);
			}
		}
		/* The database under the old name: connectable again either way
		 * (after the swap it is the kept copy, for inspection). */
		const char *reopen = rc == TL_OK ? qp : qc;
		tl__error_saved saved;
		tl__error_save(&saved);
		if (tl__bk_pg_execf(admin, "allow connections again",
		                    "ALTER DATABASE %s ALLOW_CONNECTIONS true",
		                    reopen) != TL_OK)
			tl__log(ctx, TL_LOG_ERROR, "could not re-allow connections to %s: %s; run ALTER "
			        "DATABASE %s ALLOW_CONNECTIONS true", reopen, tl_error_last()->message,
			        reopen);
		if (rc)
			tl__error_restore(&saved);
	}
	free(qc);
	free(qs);
	free(qp);
	return rc;
}

/* The owner for a restore of `db`: its owner; for a missing database the
 * role `<x>_user` of `<x>_db` when it exists. Never the admin: a restore
 * runs the backup's code as the owner. */
static int pick_owner(char **out, PGconn *admin, const char *db)
{
	const char *p[] = {db};
	PGresult *r = NULL;
	int rc = tl__bk_pg_exec(&r, admin, "find the database's owner",
	                        "SELECT COALESCE((SELECT o.rolname FROM pg_catalog.pg_database d "
	                        "JOIN pg_catalog.pg_roles o ON o.oid = d.datdba "
	                        "WHERE d.datname = $1), "
	                        "(SELECT rolname FROM pg_catalog.pg_roles WHERE $1 LIKE '%\\_db' "
	                        "AND rolname = left($1, -3) || '_user'), '')",
	                        1, p);
	if (rc)
		return rc;
	char *v = tl__strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!v)
		return TL_ENOMEM;
	if (!*v) {
		free(v);
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_BACKUP,
		                     "%s does not exist and there is no <app>_user role to own it: "
		                     "create the app first (towlion db create); nothing was changed",
		                     db);
	}
	*out = v;
	return TL_OK;
}

/* After pg_restore, in the scratch database: nothing may stay with the
 * throwaway role, and the previews' schemas go back to their roles. */
static int settle_scratch(tl_ctx *ctx, const char *scratch, const char *database,
                          const char *role, const char *owner)
{
	PGconn *c = NULL;
	int moved = 0;
	int rc = tl__bk_pg_open(&c, ctx, scratch);
	if (rc == TL_OK)
		rc = tl__bk_disown(c, role, owner);
	if (rc == TL_OK)
		rc = tl__bk_preview_owners(ctx, c, database, &moved);
	PQfinish(c);
	return rc;
}

int tl_backup_restore(tl_buf *previous, tl_ctx *ctx, const char *database,
                      const char *backup, const tl_backup_options *opts)
{
	TL__CHECK_ARG(ctx && database && backup);
	tl__bk_opts o;
	int rc = tl__bk_opts_read(&o, opts);
	if (rc == TL_OK)
		rc = tl__bk_validate_db(database);
	if (rc)
		return rc;
	if (!(o.flags & (TL_BACKUP_CONFIRM | TL_BACKUP_DRY_RUN)))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "restoring replaces database %s: confirm it (TL_BACKUP_CONFIRM, "
		                     "--yes)",
		                     database);
	char *path = NULL;
	tl__bk_name name = {0};
	tl__bk_manifest m = {0};
	if ((rc = tl__bk_resolve(&path, &name, ctx, backup)))
		return rc;
	rc = tl__bk_manifest_load(&m, path);
	if (rc)
		tl__error_prefix("%s has no readable manifest, so it cannot be checked; refusing it",
		                 backup);
	else if (strcmp(m.database, database) != 0)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                   "%s is a backup of %s, not of %s", m.file, m.database, database);
	else if (m.state == TL_BACKUP_FAILED)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_BACKUP,
		                   "%s failed verification; refusing to restore it", m.file);
	/* What an earlier, killed restore left comes first. */
	if (rc == TL_OK) {
		tl_buf done = TL_BUF_INIT;
		rc = tl__bk_repair(ctx, &done, !!(o.flags & TL_BACKUP_DRY_RUN));
		tl_buf_dispose(&done);
	}
	tl__lock *lk = NULL;
	PGconn *admin = NULL;
	char *owner = NULL, *scratch = NULL, *pre = NULL;
	char pw[TL__BK_PW_LEN + 1] = "";
	int exists = 0, into_exists = 0, recorded = 0;
	tl__bk_intent in = {0};
	if (rc == TL_OK)
		rc = tl__bk_lock(&lk, ctx, database, o.lock_timeout_ms);
	if (rc == TL_OK)
		rc = tl__bk_pg_open(&admin, ctx, NULL);
	if (rc == TL_OK)
		rc = db_exists(&exists, admin, database);
	if (rc == TL_OK && o.into) {
		rc = db_exists(&into_exists, admin, o.into);
		if (rc == TL_OK && into_exists)
			rc = tl__error_set(TL_EEXISTS, TL_ERRCLASS_BACKUP,
			                   "database %s already exists; --into needs a new name", o.into);
	}
	if (rc == TL_OK && PQdb(admin) && !strcmp(PQdb(admin), database))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                   "TOWLION_PG_URL connects to %s itself; point it at another "
		                   "database (postgres) to restore %s",
		                   database, database);
	if (rc == TL_OK)
		rc = pick_owner(&owner, admin, database);
	if (rc == TL_OK)
		rc = tl__bk_owner_check(admin, database, owner);
	/* Before any intent record, role or scratch database: tools of the
	 * server's major, or a refusal that changed nothing. */
	tl__bk_tools tools = {0};
	if (rc == TL_OK)
		rc = tl__bk_tools_pick(&tools, ctx, admin, o.pg_bin_dir);
	o.tools = &tools;
	time_t now = time(NULL);
	if (rc == TL_OK)
		rc = pick_derived_names(&scratch, &pre, &now, admin, database);
	if (rc == TL_OK && (o.flags & TL_BACKUP_DRY_RUN)) {
		tl__log(ctx, TL_LOG_INFO, "would restore %s into %s (as owner %s, logged in as a "
		        "throwaway role), check it, then %s", m.file,
		        scratch, owner,
		        o.into ? "rename it to the new database"
		        : exists ? "swap it in, keeping the current database as the pre-restore copy"
		                 : "name it (the database does not exist now)");
		if (previous)
			tl__buf_set(previous, o.into || !exists ? "" : pre, o.into || !exists ? 0 : strlen(pre));
		goto done;
	}
	const char *target = o.into ? o.into : database;
	if (rc == TL_OK) {
		in = (tl__bk_intent){"restore", database, target, scratch, scratch, owner,
		                     o.into || !exists ? NULL : pre, "scratch", (int64_t)now};
		rc = tl__bk_intent_save(ctx, &in);
		recorded = rc == TL_OK;
	}
	/* The throwaway role is named like the scratch database. */
	if (rc == TL_OK)
		rc = tl__bk_restorer_create(pw, admin, scratch, owner);
	if (rc == TL_OK) {
		rc = tl__bk_restore_scratch(ctx, admin, "restore", scratch, owner, scratch, pw, path,
		                            &name, &m, &o);
		if (rc == TL_OK) {
			rc = settle_scratch(ctx, scratch, database, scratch, owner);
			if (rc) {
				tl__error_saved se;
				tl__error_save(&se);
				tl__bk_drop_db(ctx, admin, scratch);
				tl__error_restore(&se);
			}
		}
		if (rc)
			tl__error_prefix("%s is unchanged", database);
	}
	if (rc == TL_OK) {
		if (o.into || !exists) {
			char *qs = tl__bk_pg_ident(admin, scratch), *qt = tl__bk_pg_ident(admin, target);
			rc = qs && qt ? tl__bk_pg_execf(admin, "name the restored database",
			                                "ALTER DATABASE %s RENAME TO %s", qs, qt)
			              : TL_ENOMEM;
			free(qs);
			free(qt);
		} else {
			rc = swap_in(ctx, admin, &in, database, scratch, pre);
		}
		if (rc) {
			tl__error_saved se;
			tl__error_save(&se);
			tl__bk_drop_db(ctx, admin, scratch);
			tl__error_set_upstream(se.code, se.klass, se.upstream, se.upstream_code,
			                       "restore of %s failed, %s is unchanged: %s", database,
			                       database, se.message);
		} else {
			tl__log(ctx, TL_LOG_INFO, "restored %s from %s%s%s", target, m.file,
			        !o.into && exists ? "; the previous database is kept as " : "",
			        !o.into && exists ? pre : "");
			if (previous) {
				const char *kept = !o.into && exists ? pre : "";
				rc = tl__buf_set(previous, kept, strlen(kept));
			}
		}
	}
	/* The throwaway role goes in every case; the record only once all is
	 * clean (else the next command repairs). */
	if (recorded) {
		tl__error_saved se;
		tl__error_save(&se);
		int exists_role = 1;
		int clean = tl__bk_role_exists(&exists_role, admin, scratch) == TL_OK &&
		            (!exists_role || tl__bk_restorer_drop(ctx, admin, scratch) == TL_OK);
		int sexists = 1;
		clean = clean && db_exists(&sexists, admin, scratch) == TL_OK && !sexists;
		if (clean)
			tl__bk_intent_remove(ctx, database);
		else
			tl__log(ctx, TL_LOG_WARN, "the restore of %s left %s behind; the next backup "
			        "command (or towlion doctor) removes it", database, scratch);
		if (rc)
			tl__error_restore(&se);
		else
			tl_error_clear();
	}
done:
	sodium_memzero(pw, sizeof(pw));
	tl__bk_tools_dispose(&tools);
	PQfinish(admin);
	tl__bk_unlock(lk);
	free(owner);
	free(scratch);
	free(pre);
	free(path);
	tl__bk_name_dispose(&name);
	tl__bk_manifest_dispose(&m);
	return rc;
}
