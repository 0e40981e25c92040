/* An app's database and role: create, rotate the password, drop. */
#include "pg_internal.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>

/* Everything an operation on one app needs; set up by op_begin(). */
typedef struct {
	tl_pg *pg;
	const char *app;
	tl_pg_options opts;
	tl_buf database, role, env_path;
	tl_pg_report *report;
	char *qdb, *qrole; /* quoted identifiers */
	int locked;
} app_op;

static int op_begin(app_op *o, tl_pg *pg, const char *app, const tl_pg_options *opts)
{
	memset(o, 0, sizeof(*o));
	TL__CHECK_ARG(pg);
	TL__CHECK_VERSION(opts, TL_PG_OPTIONS_VERSION, "tl_pg_options");
	tl_pg_options d = TL_PG_OPTIONS_INIT;
	o->opts = opts ? *opts : d;
	TL__CHECK_ARG(o->opts.connection_limit >= 0);
	o->pg = pg;
	o->app = app;
	/* Validate before a single statement is sent. */
	int rc = tl_pg_app_names(&o->database, &o->role, app);
	if (rc == TL_OK)
		rc = tl_app_env_path(&o->env_path, pg->ctx, app);
	if (rc == TL_OK && !(o->report = tl__pg_report_new(app, o->database.ptr, o->role.ptr,
	                                                   NULL, o->env_path.ptr,
	                                                   !!(o->opts.flags & TL_PG_DRY_RUN))))
		rc = tl_error_last()->code;
	if (rc == TL_OK && (!(o->qdb = tl__pg_ident(pg->conn, o->database.ptr)) ||
	                    !(o->qrole = tl__pg_ident(pg->conn, o->role.ptr))))
		rc = tl_error_last()->code;
	if (rc == TL_OK && !o->report->dry_run) {
		rc = tl__pg_lock_app(pg->conn, app, o->opts.lock_timeout_ms);
		o->locked = rc == TL_OK;
	}
	return rc;
}

static int op_end(app_op *o, int rc, tl_pg_report **out)
{
	if (o->locked)
		tl__pg_unlock_app(o->pg->conn, o->app);
	if (rc == TL_OK && out) {
		*out = o->report;
		o->report = NULL;
	}
	tl_pg_report_free(o->report);
	tl_buf_dispose(&o->database);
	tl_buf_dispose(&o->role);
	tl_buf_dispose(&o->env_path);
	free(o->qdb);
	free(o->qrole);
	return rc;
}

/* The app database as it is: whether it exists, its owner, its limit and
 * whether PUBLIC still holds CONNECT or TEMPORARY on it. */
typedef struct {
	int exists, public_access, conn_limit;
	char owner[128];
} db_state;

static int read_db(db_state *s, PGconn *conn, const char *database)
{
	memset(s, 0, sizeof(*s));
	PGresult *res = NULL;
	const char *p[] = {database};
	int rc = tl__pg_run(&res, conn, "cannot look up the database",
	                    "SELECT pg_get_userbyid(datdba), datconnlimit, "
	                    "has_database_privilege('public', oid, 'CONNECT') OR "
	                    "has_database_privilege('public', oid, 'TEMPORARY') "
	                    "FROM pg_database WHERE datname = $1",
	                    1, p);
	if (rc == TL_OK && PQntuples(res) == 1) {
		s->exists = 1;
		snprintf(s->owner, sizeof(s->owner), "%s", PQgetvalue(res, 0, 0));
		s->conn_limit = atoi(PQgetvalue(res, 0, 1)); /* int4 column: PostgreSQL typed it */
		s->public_access = PQgetvalue(res, 0, 2)[0] == 't';
	}
	PQclear(res);
	return rc;
}

/*
 * Inside the app's database: PUBLIC loses all rights on schema public, so
 * preview roles cannot even look up the app's tables there (table rights
 * are owner-only already). The app's role keeps them as the database owner
 * (pg_database_owner owns public from PostgreSQL 15; before that, the
 * schema is given to the app role). Shared with preview.c.
 */
int tl__pg_lock_public_schema(tl_pg *pg, tl_pg_report *r, const char *owner, int db_is_new)
{
	PGconn *conn = NULL;
	PGresult *res = NULL;
	int rc = TL_OK, open_rights = 1, foreign_owner = 0;
	char qrole[160];
	if (!(r->dry_run && db_is_new)) {
		if ((rc = tl__pg_open(&conn, pg->ctx, r->database)))
			return rc;
		char *q = tl__pg_ident(conn, owner);
		snprintf(qrole, sizeof(qrole), "%s", q ? q : "");
		free(q);
		const char *p[] = {owner};
		rc = tl__pg_run(&res, conn, "cannot inspect schema public",
		                "SELECT has_schema_privilege('public', n.oid, 'USAGE') OR "
		                "has_schema_privilege('public', n.oid, 'CREATE'), "
		                "pg_get_userbyid(n.nspowner) NOT IN ('pg_database_owner', $1) "
		                "FROM pg_namespace n WHERE nspname = 'public'",
		                1, p);
		if (rc == TL_OK && PQntuples(res) == 1) {
			open_rights = PQgetvalue(res, 0, 0)[0] == 't';
			foreign_owner = PQgetvalue(res, 0, 1)[0] == 't';
		} else if (rc == TL_OK) {
			open_rights = 0; /* no schema public: nothing to lock */
		}
		PQclear(res);
	}
	if (rc == TL_OK && foreign_owner &&
	    (rc = tl__pg_report_add(r, pg->ctx, "give schema public of %s to %s", r->database,
	                            owner)) == TL_OK &&
	    !r->dry_run)
		rc = tl__pg_ddl(conn, "cannot change the owner of schema public",
		         "ALTER SCHEMA public OWNER TO %s", qrole);
	if (rc == TL_OK && open_rights &&
	    (rc = tl__pg_report_add(r, pg->ctx, "revoke all on schema public of %s from PUBLIC",
	                            r->database)) == TL_OK &&
	    !r->dry_run)
		rc = tl__pg_run(NULL, conn, "cannot revoke PUBLIC's rights on schema public",
		                "REVOKE ALL ON SCHEMA public FROM PUBLIC", 0, NULL);
	PQfinish(conn);
	return rc;
}

static int create_database(app_op *o, const db_state *db)
{
	tl_pg_report *r = o->report;
	tl_ctx *ctx = o->pg->ctx;
	PGconn *conn = o->pg->conn;
	int want_limit = o->opts.connection_limit > 0 ? o->opts.connection_limit : -1;
	int created = 0, rc = TL_OK;
	if (!db->exists) {
		rc = tl__pg_report_add(r, ctx, "create database %s owned by %s", r->database,
		                       r->role);
		if (rc == TL_OK && !r->dry_run) {
			/* CREATE DATABASE runs outside any transaction and has no IF NOT
			 * EXISTS: a duplicate (created by someone not holding our lock)
			 * is accepted when it has the right owner. */
			rc = tl__pg_ddl(conn, "cannot create the database", "CREATE DATABASE %s OWNER %s",
			         o->qdb, o->qrole);
			if (rc == TL_EEXISTS) {
				db_state again;
				if ((rc = read_db(&again, conn, r->database)) == TL_OK &&
				    strcmp(again.owner, r->role))
					rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_PG,
					                   "database %s appeared meanwhile, owned by %s",
					                   r->database, again.owner);
			}
		}
		created = 1;
	}
	int have_limit = db->exists ? db->conn_limit : -1;
	if (rc == TL_OK && have_limit != want_limit) {
		rc = tl__pg_report_add(r, ctx, "set the connection limit of %s to %d", r->database,
		                       want_limit);
		if (rc == TL_OK && !r->dry_run)
			rc = tl__pg_ddl(conn, "cannot set the connection limit",
			         "ALTER DATABASE %s CONNECTION LIMIT %d", o->qdb, want_limit);
	}
	if (rc == TL_OK && (created || db->public_access)) {
		rc = tl__pg_report_add(r, ctx, "revoke all on database %s from PUBLIC", r->database);
		if (rc == TL_OK && !r->dry_run)
			rc = tl__pg_ddl(conn, "cannot revoke PUBLIC's rights on the database",
			         "REVOKE ALL ON DATABASE %s FROM PUBLIC", o->qdb);
	}
	if (rc == TL_OK)
		rc = tl__pg_lock_public_schema(o->pg, r, r->role, created);
	return rc;
}

int tl_pg_app_create(tl_pg_report **out, tl_pg *pg, const char *app,
                     const tl_pg_options *opts)
{
	app_op o;
	if (opts && pg && (opts->flags & TL_PG_REGISTERED_ONLY)) {
		int rc = tl__app_require_registered(pg->ctx, app, "database", "--standalone");
		if (rc)
			return rc;
	}
	int rc = op_begin(&o, pg, app, opts);
	db_state db;
	if (rc == TL_OK)
		rc = read_db(&db, pg->conn, o.database.ptr);
	/* Never adopt a database someone else owns. */
	if (rc == TL_OK && db.exists && strcmp(db.owner, o.role.ptr))
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_PG,
		                   "database %s already exists and is owned by %s, not %s; "
		                   "refusing to take it over (rename or drop it first)",
		                   o.database.ptr, db.owner, o.role.ptr);
	if (rc == TL_OK)
		rc = tl__pg_ensure_login_role(pg, o.report, o.role.ptr, o.database.ptr,
		                              o.env_path.ptr, 1);
	if (rc == TL_OK)
		rc = create_database(&o, &db);
	return op_end(&o, rc, out);
}

int tl_pg_app_rotate(tl_pg_report **out, tl_pg *pg, const char *app,
                     const tl_pg_options *opts)
{
	app_op o;
	int rc = op_begin(&o, pg, app, opts);
	if (rc == TL_OK)
		rc = tl__pg_set_new_password(pg, o.report, o.role.ptr, o.database.ptr,
		                             o.env_path.ptr);
	return op_end(&o, rc, out);
}

/* Drop a role after ending its sessions; report it as `label`. */
static int drop_role(app_op *o, const char *role)
{
	int exists = 0, n = 0;
	int rc = tl__pg_role_exists(o->pg->conn, role, &exists);
	if (rc || !exists)
		return rc;
	rc = tl__pg_report_add(o->report, o->pg->ctx, "drop role %s", role);
	if (rc == TL_OK && !o->report->dry_run)
		rc = tl__pg_terminate_role(o->pg->conn, role, &n);
	char *q = rc == TL_OK && !o->report->dry_run ? tl__pg_ident(o->pg->conn, role) : NULL;
	if (q)
		rc = tl__pg_ddl(o->pg->conn, "cannot drop the role", "DROP ROLE IF EXISTS %s", q);
	free(q);
	return rc;
}

static int unset_env(app_op *o, const char *path)
{
	int removed = 0;
	int rc = tl__pg_env_unset(path, 1, &removed);
	if (rc == TL_OK && removed &&
	    (rc = tl__pg_report_add(o->report, o->pg->ctx, "remove DATABASE_URL from %s",
	                            path)) == TL_OK &&
	    !o->report->dry_run)
		rc = tl__pg_env_unset(path, 0, &removed);
	return rc;
}

int tl_pg_app_drop(tl_pg_report **out, tl_pg *pg, const char *app, const tl_pg_options *opts)
{
	if (pg && tl_validate_app_name(app) == TL_OK &&
	    !(opts && (opts->flags & TL_PG_CONFIRM)))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "refusing to drop the database of app %s without confirmation "
		                     "(TL_PG_CONFIRM, or --yes): it deletes all its data",
		                     app);
	app_op o;
	int rc = op_begin(&o, pg, app, opts);
	db_state db;
	PGresult *prs = NULL;
	if (rc == TL_OK)
		rc = read_db(&db, pg->conn, o.database.ptr);
	if (rc == TL_OK && db.exists && strcmp(db.owner, o.role.ptr))
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_PG,
		                   "database %s is owned by %s, not %s: it is not this app's; "
		                   "not dropping it",
		                   o.database.ptr, db.owner, o.role.ptr);
	/* A database the role owns elsewhere (a restore --into target, say)
	 * would stop DROP ROLE halfway: refuse before dropping anything. */
	PGresult *others = NULL;
	char *own_prefix = rc == TL_OK ? tl__sprintf("%s__", o.database.ptr) : NULL;
	if (rc == TL_OK && !own_prefix)
		rc = TL_ENOMEM;
	if (rc == TL_OK) {
		const char *p[] = {o.role.ptr, o.database.ptr, own_prefix};
		rc = tl__pg_run(&others, pg->conn, "cannot list the role's databases",
		                "SELECT string_agg(d.datname, ', ' ORDER BY d.datname) FROM pg_database d "
		                "JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1 AND "
		                "d.datname <> $2 AND left(d.datname, length($3)) <> $3",
		                3, p);
	}
	if (rc == TL_OK && others && !PQgetisnull(others, 0, 0))
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_PG,
		                   "role %s also owns database(s) %s; drop them or give them another "
		                   "owner (ALTER DATABASE ... OWNER TO ...) first; nothing was dropped",
		                   o.role.ptr, PQgetvalue(others, 0, 0));
	PQclear(others);
	free(own_prefix);
	if (rc == TL_OK && db.exists) {
		rc = tl__pg_report_add(o.report, pg->ctx, "drop database %s (ending its sessions)",
		                       o.database.ptr);
		if (rc == TL_OK && !o.report->dry_run)
			rc = tl__pg_ddl(pg->conn, "cannot drop the database",
			         "DROP DATABASE IF EXISTS %s WITH (FORCE)", o.qdb);
	}
	/* Copies the backup module keeps beside the database after a restore
	 * (<db>__pre_restore_<ts>, a scratch <db>__restore_<ts>) belong to the
	 * app too; while they exist its role cannot be dropped. */
	PGresult *copies = NULL;
	char *copy_prefix = tl__sprintf("%s__", o.database.ptr);
	if (rc == TL_OK && !copy_prefix)
		rc = TL_ENOMEM;
	if (rc == TL_OK) {
		const char *p[] = {o.role.ptr, copy_prefix};
		rc = tl__pg_run(&copies, pg->conn, "cannot list the database's copies",
		                "SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
		                "WHERE r.rolname = $1 AND left(d.datname, length($2)) = $2 ORDER BY 1",
		                2, p);
	}
	for (int i = 0; rc == TL_OK && copies && i < PQntuples(copies); i++) {
		const char *name = PQgetvalue(copies, i, 0);
		rc = tl__pg_report_add(o.report, pg->ctx, "drop database %s (a copy kept by a restore)",
		                       name);
		char *q = rc == TL_OK && !o.report->dry_run ? tl__pg_ident(pg->conn, name) : NULL;
		if (q)
			rc = tl__pg_ddl(pg->conn, "cannot drop the database",
			                "DROP DATABASE IF EXISTS %s WITH (FORCE)", q);
		free(q);
	}
	PQclear(copies);
	free(copy_prefix);
	/* The previews' roles: <prefix>_pr_<N>. The prefix is [a-z0-9_], so
	 * it is safe inside the pattern. */
	char *prefix = tl__pg_prefix(app);
	char *pattern = prefix ? tl__sprintf("^%s_pr_([0-9]+)$", prefix) : NULL;
	if (rc == TL_OK && !pattern)
		rc = TL_ENOMEM;
	if (rc == TL_OK) {
		const char *p[] = {pattern};
		rc = tl__pg_run(&prs, pg->conn, "cannot list the previews' roles",
		                "SELECT rolname, (regexp_match(rolname, $1))[1] FROM pg_roles "
		                "WHERE rolname ~ $1 ORDER BY 1",
		                1, p);
	}
	for (int i = 0; rc == TL_OK && prs && i < PQntuples(prs); i++) {
		rc = drop_role(&o, PQgetvalue(prs, i, 0));
		uint32_t pr = 0;
		tl_buf path = TL_BUF_INIT;
		if (rc == TL_OK && tl_parse_pr(&pr, PQgetvalue(prs, i, 1)) == TL_OK &&
		    (rc = tl_preview_env_path(&path, pg->ctx, app, pr)) == TL_OK)
			rc = unset_env(&o, path.ptr);
		tl_buf_dispose(&path);
	}
	if (rc == TL_OK)
		rc = drop_role(&o, o.role.ptr);
	if (rc == TL_OK)
		rc = unset_env(&o, o.env_path.ptr);
	PQclear(prs);
	free(pattern);
	free(prefix);
	return op_end(&o, rc, out);
}
