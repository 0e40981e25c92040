/* The pg module's internals (not API): connections, errors, reports. */
#ifndef TL_PG_INTERNAL_H
#define TL_PG_INTERNAL_H

#include "core/core.h"
#include "towlion/pg.h"

#include <libpq-fe.h>

struct tl_pg {
	tl_ctx *ctx;
	PGconn *conn; /* admin connection, to the database in TOWLION_PG_URL */
};

struct tl_pg_report {
	char *app, *database, *role, *schema, *env_path;
	int dry_run;
	char **actions; /* NULL-terminated (tl__strv_*) */
	size_t n;
};

/* ---- conn.c ---- */

/* Connect to TOWLION_PG_URL, to `dbname` instead of its database when
 * not NULL. Errors as tl_pg_connect(). */
int tl__pg_open(PGconn **out, tl_ctx *ctx, const char *dbname);
/* Set the last error from a failed result (or the connection when `res`
 * is NULL): the code follows the SQLSTATE, which becomes the upstream
 * code. `fmt` says what was being done. Returns the code. */
int tl__pg_fail(PGconn *conn, const PGresult *res, const char *fmt, ...) TL__PRINTF(3, 4);
/* Run one statement with text parameters; *out (may be NULL) gets the
 * result on success. `what` names the step for the error message. */
int tl__pg_run(PGresult **out, PGconn *conn, const char *what, const char *sql,
               int nparams, const char *const *params);
/* Run one DDL statement built from `fmt`, whose arguments are
 * identifiers already quoted with tl__pg_ident(). */
int tl__pg_ddl(PGconn *conn, const char *what, const char *fmt, ...) TL__PRINTF(3, 4);
/* A quoted identifier (PQescapeIdentifier), to free(). NULL + error. */
char *tl__pg_ident(PGconn *conn, const char *name);
/* A quoted literal (PQescapeLiteral), to free(). NULL + error. */
char *tl__pg_literal(PGconn *conn, const char *value);
/* The SQLSTATE of a failed result, or "". */
const char *tl__pg_sqlstate(const PGresult *res);
/* Take / release the advisory lock serialising operations on one app,
 * waiting at most timeout_ms (TL_ELOCKED after). */
int tl__pg_lock_app(PGconn *conn, const char *app, int timeout_ms);
void tl__pg_unlock_app(PGconn *conn, const char *app);

/* ---- names.c ---- */

/* `app` with '-' as '_' (the prefix of every name of the app). */
char *tl__pg_prefix(const char *app);

/* ---- report.c ---- */

tl_pg_report *tl__pg_report_new(const char *app, const char *database, const char *role,
                                const char *schema, const char *env_path, int dry_run);
/* Record an action and announce it as a step event. TL_EUSER when the
 * caller cancels (the action must then not be carried out). */
int tl__pg_report_add(tl_pg_report *r, tl_ctx *ctx, const char *fmt, ...) TL__PRINTF(3, 4);

/* ---- secret.c (login roles and their env files) ---- */

/* What the env file says about a role's password. */
typedef struct {
	char *url;      /* current DATABASE_URL, or NULL */
	char *password; /* its password when its user is the role, or NULL */
} tl__pg_envstate;

int tl__pg_env_read(tl__pg_envstate *st, const char *path, const char *role);
void tl__pg_envstate_dispose(tl__pg_envstate *st);
/* Set DATABASE_URL in the env file, creating its directories (0700). */
int tl__pg_env_write(const char *path, const char *url);
/* Remove DATABASE_URL; *removed tells whether it was there. Missing file
 * is fine. */
int tl__pg_env_unset(const char *path, int dry_run, int *removed);

/* Make sure login role `role` exists and its env file holds a working
 * DATABASE_URL for `database` (see tl_pg_app_create for the rules).
 * `inherit`: an app role must inherit pg_database_owner's rights (on
 * schema public) as its database's owner; a preview role inherits
 * nothing. */
int tl__pg_ensure_login_role(tl_pg *pg, tl_pg_report *r, const char *role,
                             const char *database, const char *env_path, int inherit);
/* Give `role` a new password and write its DATABASE_URL (rotate). */
int tl__pg_set_new_password(tl_pg *pg, tl_pg_report *r, const char *role,
                            const char *database, const char *env_path);
/* Terminate the sessions of `role`; *n gets how many. */
int tl__pg_terminate_role(PGconn *conn, const char *role, int *n);
/* In the app's database r->database, take every right on schema public
 * from PUBLIC; `owner` is the app's role (app.c). `db_is_new`: the
 * database is only planned (dry run). */
int tl__pg_lock_public_schema(tl_pg *pg, tl_pg_report *r, const char *owner, int db_is_new);
/* Whether a role exists. */
int tl__pg_role_exists(PGconn *conn, const char *role, int *exists);

#endif
