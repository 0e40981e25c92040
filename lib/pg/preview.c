/*
 * A preview's schema and role inside its app's database.
 *
 * What keeps a preview away from production data: the app's tables are
 * owner-only (PostgreSQL's default table rights), PUBLIC has no right on
 * schema public (revoked at app provisioning, checked again here), and the
 * preview role is NOINHERIT and a member of nothing. Its own schema pr_N is
 * owned by it, and its search_path points there, so migrations create
 * their tables in pr_N without knowing about it.
 */
#include "pg_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	tl_pg *pg;
	const char *app;
	tl_buf database, app_role, schema, role, env_path;
	char *qschema, *qrole;
	tl_pg_report *report;
	int locked, db_exists;
	PGconn *appdb; /* admin connection to the app's database */
} preview_op;

static int op_begin(preview_op *o, tl_pg *pg, const char *app, uint32_t pr,
                    const tl_pg_options *opts)
{
	memset(o, 0, sizeof(*o));
	TL__CHECK_ARG(pg);
	TL__CHECK_VERSION(opts, TL_PG_OPTIONS_VERSION, "tl_pg_options");
	o->pg = pg;
	o->app = app;
	/* Validate before a single statement is sent. */
	int rc = tl_pg_app_names(&o->database, &o->app_role, app);
	if (rc == TL_OK)
		rc = tl_pg_preview_names(&o->schema, &o->role, app, pr);
	if (rc == TL_OK)
		rc = tl_preview_env_path(&o->env_path, pg->ctx, app, pr);
	int dry = opts && (opts->flags & TL_PG_DRY_RUN);
	if (rc == TL_OK && !(o->report = tl__pg_report_new(app, o->database.ptr, o->role.ptr,
	                                                   o->schema.ptr, o->env_path.ptr, dry)))
		rc = tl_error_last()->code;
	if (rc == TL_OK && (!(o->qschema = tl__pg_ident(pg->conn, o->schema.ptr)) ||
	                    !(o->qrole = tl__pg_ident(pg->conn, o->role.ptr))))
		rc = tl_error_last()->code;
	if (rc == TL_OK && !dry) {
		rc = tl__pg_lock_app(pg->conn, app, opts ? opts->lock_timeout_ms : 0);
		o->locked = rc == TL_OK;
	}
	PGresult *res = NULL;
	const char *p[] = {o->database.ptr};
	if (rc == TL_OK)
		rc = tl__pg_run(&res, pg->conn, "cannot look up the app's database",
		                "SELECT 1 FROM pg_database WHERE datname = $1", 1, p);
	if (rc == TL_OK && (o->db_exists = PQntuples(res) > 0))
		rc = tl__pg_open(&o->appdb, pg->ctx, o->database.ptr);
	PQclear(res);
	return rc;
}

static int op_end(preview_op *o, int rc, tl_pg_report **out)
{
	PQfinish(o->appdb);
	if (o->locked)
		tl__pg_unlock_app(o->pg->conn, o->app);
	if (rc == TL_OK && out) {
		*out = o->report;
		o->report = NULL;
	}
	tl_pg_report_free(o->report);
	tl_buf_dispose(&o->database);
	tl_buf_dispose(&o->app_role);
	tl_buf_dispose(&o->schema);
	tl_buf_dispose(&o->role);
	tl_buf_dispose(&o->env_path);
	free(o->qschema);
	free(o->qrole);
	return rc;
}

/* The owner of schema pr_N in the app's database ("" when absent). */
static int schema_owner(preview_op *o, char *owner, size_t len)
{
	owner[0] = '\0';
	if (!o->appdb)
		return TL_OK;
	PGresult *res = NULL;
	const char *p[] = {o->schema.ptr};
	int rc = tl__pg_run(&res, o->appdb, "cannot look up the preview's schema",
	                    "SELECT pg_get_userbyid(nspowner) FROM pg_namespace "
	                    "WHERE nspname = $1",
	                    1, p);
	if (rc == TL_OK && PQntuples(res) == 1)
		snprintf(owner, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* One boolean query about the role on the admin connection. */
static int ask(tl_pg *pg, int *answer, const char *sql, const char *a, const char *b)
{
	PGresult *res = NULL;
	const char *p[] = {a, b};
	int rc = tl__pg_run(&res, pg->conn, "cannot inspect the preview's role", sql, 2, p);
	if (rc == TL_OK)
		*answer = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return rc;
}

int tl_pg_preview_create(tl_pg_report **out, tl_pg *pg, const char *app, uint32_t pr,
                         const tl_pg_options *opts)
{
	preview_op o;
	int rc = op_begin(&o, pg, app, pr, opts);
	tl_pg_report *r = o.report;
	if (rc == TL_OK && !o.db_exists)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_PG,
		                   "app %s has no database %s: create it first (towlion db create %s)",
		                   app, o.database.ptr, app);
	char owner[128] = "";
	if (rc == TL_OK)
		rc = schema_owner(&o, owner, sizeof(owner));
	/* A pr_N that the preview role does not own is someone's data. */
	if (rc == TL_OK && owner[0] && strcmp(owner, o.role.ptr))
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_PG,
		                   "schema %s in %s exists and is owned by %s, not %s; refusing "
		                   "to hand it to a preview",
		                   o.schema.ptr, o.database.ptr, owner, o.role.ptr);
	if (rc == TL_OK)
		rc = tl__pg_ensure_login_role(pg, r, o.role.ptr, o.database.ptr, o.env_path.ptr, 0);
	int exists = 0, ok = 0;
	if (rc == TL_OK)
		rc = tl__pg_role_exists(pg->conn, o.role.ptr, &exists);
	char *qdb = rc == TL_OK ? tl__pg_ident(pg->conn, o.database.ptr) : NULL;
	if (rc == TL_OK && !qdb)
		rc = tl_error_last()->code;
	/* CONNECT on the app's database (PUBLIC has none). */
	if (rc == TL_OK && exists)
		rc = ask(pg, &ok, "SELECT has_database_privilege($1, $2, 'CONNECT')", o.role.ptr,
		         o.database.ptr);
	if (rc == TL_OK && !ok &&
	    (rc = tl__pg_report_add(r, pg->ctx, "grant connect on database %s to %s",
	                            o.database.ptr, o.role.ptr)) == TL_OK &&
	    !r->dry_run)
		rc = tl__pg_ddl(pg->conn, "cannot grant CONNECT", "GRANT CONNECT ON DATABASE %s TO %s",
		                qdb, o.qrole);
	/* search_path = pr_N, as stored in pg_db_role_setting. */
	char *setting = tl__sprintf("search_path=%s", o.schema.ptr);
	ok = 0;
	if (rc == TL_OK && !setting)
		rc = TL_ENOMEM;
	if (rc == TL_OK && exists)
		rc = ask(pg, &ok,
		         "SELECT $2 = ANY(coalesce(rolconfig, '{}')) FROM pg_roles WHERE rolname = $1",
		         o.role.ptr, setting);
	if (rc == TL_OK && !ok &&
	    (rc = tl__pg_report_add(r, pg->ctx, "set search_path of %s to %s", o.role.ptr,
	                            o.schema.ptr)) == TL_OK &&
	    !r->dry_run)
		rc = tl__pg_ddl(pg->conn, "cannot set the search_path",
		                "ALTER ROLE %s SET search_path TO %s", o.qrole, o.qschema);
	free(setting);
	free(qdb);
	if (rc == TL_OK && !owner[0] &&
	    (rc = tl__pg_report_add(r, pg->ctx, "create schema %s in %s owned by %s",
	                            o.schema.ptr, o.database.ptr, o.role.ptr)) == TL_OK &&
	    !r->dry_run)
		rc = tl__pg_ddl(o.appdb, "cannot create the schema",
		                "CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION %s", o.qschema, o.qrole);
	/* The app's schema public must stay closed to PUBLIC: check again. */
	if (rc == TL_OK)
		rc = tl__pg_lock_public_schema(pg, r, o.app_role.ptr, 0);
	return op_end(&o, rc, out);
}

int tl_pg_preview_drop(tl_pg_report **out, tl_pg *pg, const char *app, uint32_t pr,
                       const tl_pg_options *opts)
{
	preview_op o;
	int rc = op_begin(&o, pg, app, pr, opts);
	tl_pg_report *r = o.report;
	char owner[128] = "";
	int exists = 0, n = 0;
	if (rc == TL_OK)
		rc = schema_owner(&o, owner, sizeof(owner));
	if (rc == TL_OK)
		rc = tl__pg_role_exists(pg->conn, o.role.ptr, &exists);
	/* End its sessions first: they may hold locks on the schema's tables. */
	if (rc == TL_OK && exists && !r->dry_run)
		rc = tl__pg_terminate_role(pg->conn, o.role.ptr, &n);
	if (rc == TL_OK && owner[0] && strcmp(owner, o.role.ptr))
		tl__log(pg->ctx, TL_LOG_WARN,
		        "schema %s in %s is owned by %s, not by the preview: left alone",
		        o.schema.ptr, o.database.ptr, owner);
	else if (rc == TL_OK && owner[0] &&
	         (rc = tl__pg_report_add(r, pg->ctx, "drop schema %s in %s with everything in it",
	                                 o.schema.ptr, o.database.ptr)) == TL_OK &&
	         !r->dry_run)
		rc = tl__pg_ddl(o.appdb, "cannot drop the schema", "DROP SCHEMA IF EXISTS %s CASCADE",
		                o.qschema);
	if (rc == TL_OK && exists &&
	    (rc = tl__pg_report_add(r, pg->ctx, "drop role %s", o.role.ptr)) == TL_OK &&
	    !r->dry_run) {
		/* DROP OWNED also revokes its CONNECT on the database. */
		if (o.appdb)
			rc = tl__pg_ddl(o.appdb, "cannot drop what the preview role owns",
			                "DROP OWNED BY %s", o.qrole);
		if (rc == TL_OK)
			rc = tl__pg_ddl(pg->conn, "cannot drop the role", "DROP ROLE IF EXISTS %s",
			                o.qrole);
	}
	int removed = 0;
	if (rc == TL_OK)
		rc = tl__pg_env_unset(o.env_path.ptr, 1, &removed);
	if (rc == TL_OK && removed &&
	    (rc = tl__pg_report_add(r, pg->ctx, "remove DATABASE_URL from %s", o.env_path.ptr)) ==
	        TL_OK &&
	    !r->dry_run)
		rc = tl__pg_env_unset(o.env_path.ptr, 0, &removed);
	return op_end(&o, rc, out);
}
