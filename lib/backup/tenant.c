/*
 * Restoring a tenant's dump without platform rights.
 *
 * A dump holds the tenant's code: functions called by CHECK constraints,
 * generated columns, index expressions and defaults run while pg_restore
 * loads it. A superuser session that merely SET ROLEs to the app's role is
 * not enough (the code can RESET ROLE), so pg_restore logs in as a
 * throwaway role instead: LOGIN, NOSUPERUSER, NOCREATEDB, NOCREATEROLE,
 * NOINHERIT (INHERIT for a verify role, a member of nothing), a random password (sent to the server only as a SCRAM
 * verifier), valid for a day, CONNECT on the scratch database and nothing
 * else; for a restore it is a member of the app's role (so pg_restore
 * --role makes the app's role own everything), for a deep verify it owns
 * the scratch database itself. It is named like the scratch database and
 * dropped with it.
 */
#include "backup_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int tl__bk_owner_check(PGconn *admin, const char *database, const char *owner)
{
	const char *p[] = {owner};
	PGresult *r = NULL;
	int rc = tl__bk_pg_exec(&r, admin, "look up the owner",
	                        "SELECT rolsuper OR rolcreaterole OR rolbypassrls OR rolreplication "
	                        "FROM pg_catalog.pg_roles WHERE rolname = $1",
	                        1, p);
	if (rc)
		return rc;
	int n = PQntuples(r);
	int privileged = n == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (n != 1)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_BACKUP,
		                     "no role to own %s: create the app's role first (towlion db "
		                     "create), nothing was changed",
		                     database);
	if (privileged)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_BACKUP,
		                     "%s is owned by %s, a role with platform rights (superuser, "
		                     "CREATEROLE, BYPASSRLS or REPLICATION); a restore runs the "
		                     "backup's code as the owner, so it is refused: give the database "
		                     "to its app's role first (ALTER DATABASE ... OWNER TO ...); nothing "
		                     "was changed",
		                     database, owner);
	return TL_OK;
}

int tl__bk_restorer_create(char password[TL__BK_PW_LEN + 1], PGconn *admin, const char *name,
                           const char *member_of)
{
	int rc = tl__secret_generate(password, TL__BK_PW_LEN);
	if (rc)
		return rc;
	char *verifier = PQencryptPasswordConn(admin, password, name, "scram-sha-256");
	if (!verifier)
		return tl__bk_pg_fail(admin, NULL, "cannot hash the restore role's password");
	char *lit = PQescapeLiteral(admin, verifier, strlen(verifier));
	PQfreemem(verifier);
	char *q = tl__bk_pg_ident(admin, name);
	char until[64];
	time_t t = time(NULL) + 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(until, sizeof(until), "'%Y-%m-%d %H:%M:%S+00'", &tm);
	/* NOINHERIT when it is a member of the app's role: the app's rights
	 * only after SET ROLE, never as itself. A verify role is a member of
	 * nothing, but must inherit pg_database_owner's rights (CREATE on
	 * schema public) as its scratch database's owner. */
	char *sql = lit && q ? tl__sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
	                                   "%s NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 4 "
	                                   "VALID UNTIL %s PASSWORD %s",
	                                   q, member_of ? "NOINHERIT" : "INHERIT", until, lit)
	                     : NULL;
	rc = sql ? tl__bk_pg_exec(NULL, admin, "create the restore role", sql, 0, NULL) : TL_ENOMEM;
	if (rc == TL_OK && member_of) {
		char *qm = tl__bk_pg_ident(admin, member_of);
		rc = qm ? tl__bk_pg_execf(admin, "make the restore role a member of the owner",
		                          "GRANT %s TO %s",
		                          qm, q)
		        : TL_ENOMEM;
		free(qm);
	}
	if (lit)
		tl__free_secret(sql);
	else
		free(sql);
	PQfreemem(lit);
	free(q);
	return rc;
}

int tl__bk_role_exists(int *out, PGconn *admin, const char *role)
{
	const char *p[] = {role};
	PGresult *r = NULL;
	int rc = tl__bk_pg_exec(&r, admin, "look up a role",
	                        "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", 1, p);
	if (rc == TL_OK) {
		*out = PQntuples(r) > 0;
		PQclear(r);
	}
	return rc;
}

int tl__bk_disown(PGconn *db, const char *role, const char *owner)
{
	char *qr = tl__bk_pg_ident(db, role), *qo = tl__bk_pg_ident(db, owner);
	int rc = qr && qo ? TL_OK : TL_ENOMEM;
	/* Whatever the tenant's code created after RESET ROLE belongs to the
	 * throwaway role: give it to the owner, and take back its grants. */
	if (rc == TL_OK)
		rc = tl__bk_pg_execf(db, "hand the restore role's objects to the owner",
		                     "REASSIGN OWNED BY %s TO %s",
		                     qr, qo);
	if (rc == TL_OK)
		rc = tl__bk_pg_execf(db, "revoke the restore role's rights",
		                     "DROP OWNED BY %s", qr);
	free(qr);
	free(qo);
	return rc;
}

int tl__bk_restorer_drop(tl_ctx *ctx, PGconn *admin, const char *role)
{
	const char *p[] = {role};
	int rc = tl__bk_pg_exec(NULL, admin, "end the restore role's sessions",
	                        "SELECT pg_catalog.pg_terminate_backend(pid) "
	                        "FROM pg_catalog.pg_stat_activity WHERE usename = $1",
	                        1, p);
	char *q = rc == TL_OK ? tl__bk_pg_ident(admin, role) : NULL;
	if (rc == TL_OK)
		rc = q ? tl__bk_pg_execf(admin, "drop the restore role",
		                         "DROP ROLE IF EXISTS %s", q)
		       : TL_ENOMEM;
	free(q);
	if (rc)
		tl__log(ctx, TL_LOG_WARN, "could not drop the restore role %s: %s", role,
		        tl_error_last()->message);
	return rc;
}

/* Every object in schema pr_N, and the schema, as ALTER ... OWNER TO the
 * preview's role `<x>_pr_N` (x: the database's name without "_db") when
 * that role exists. Identifiers come quoted from format('%I') and the
 * reg* types (search_path is pg_catalog, so they are qualified). */
static const char preview_objects_sql[] =
	"WITH r AS (SELECT s.oid AS nsp, s.nspname, ro.rolname "
	"  FROM pg_catalog.pg_namespace s JOIN pg_catalog.pg_roles ro "
	"  ON ro.rolname = $1 || '_' || s.nspname AND NOT ro.rolsuper "
	"  WHERE s.nspname ~ '^pr_[1-9][0-9]{0,9}$') "
	"SELECT format('ALTER SCHEMA %I OWNER TO %I', r.nspname, r.rolname) FROM r "
	"UNION ALL SELECT format('ALTER %s %s OWNER TO %I', CASE c.relkind WHEN 'v' THEN 'VIEW' "
	"  WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' "
	"  ELSE 'TABLE' END, c.oid::pg_catalog.regclass, r.rolname) "
	"  FROM r JOIN pg_catalog.pg_class c ON c.relnamespace = r.nsp "
	"  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT (c.relkind = 'S' AND EXISTS ("
	"    SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
	"    AND d.objid = c.oid AND d.deptype IN ('a', 'i'))) "
	"UNION ALL SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::pg_catalog.regprocedure, "
	"  r.rolname) FROM r JOIN pg_catalog.pg_proc p ON p.pronamespace = r.nsp "
	"  WHERE p.prokind IN ('f', 'p', 'w') "
	"UNION ALL SELECT format('ALTER %s %s OWNER TO %I', CASE t.typtype WHEN 'd' THEN 'DOMAIN' "
	"  ELSE 'TYPE' END, t.oid::pg_catalog.regtype, r.rolname) "
	"  FROM r JOIN pg_catalog.pg_type t ON t.typnamespace = r.nsp "
	"  WHERE t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND EXISTS ("
	"    SELECT 1 FROM pg_catalog.pg_class k WHERE k.oid = t.typrelid AND k.relkind = 'c'))";

int tl__bk_preview_owners(tl_ctx *ctx, PGconn *db, const char *database, int *moved)
{
	*moved = 0;
	if (!tl__str_endswith(database, "_db") || strlen(database) <= 3)
		return TL_OK;
	char *prefix = tl__strndup(database, strlen(database) - 3);
	if (!prefix)
		return TL_ENOMEM;
	const char *p[] = {prefix};
	PGresult *r = NULL;
	int rc = tl__bk_pg_exec(&r, db, "list the previews' objects", preview_objects_sql, 1, p);
	free(prefix);
	for (int i = 0; rc == TL_OK && i < PQntuples(r); i++) {
		rc = tl__bk_pg_exec(NULL, db, "give a preview's object back to its role",
		                    PQgetvalue(r, i, 0), 0, NULL);
		if (rc == TL_OK && tl__str_startswith(PQgetvalue(r, i, 0), "ALTER SCHEMA"))
			(*moved)++;
	}
	if (rc == TL_OK && *moved)
		tl__log(ctx, TL_LOG_INFO, "%d preview schema(s) given back to their preview roles",
		        *moved);
	PQclear(r);
	return rc;
}
