/*
 * libtowlion - tenancy in the shared PostgreSQL (libpq).
 *
 * Every app gets a database `<app_>_db` (the app name with '-' as '_')
 * OWNED by a LOGIN role `<app_>_user`; PUBLIC can neither connect to it nor
 * use its `public` schema. Every preview (pull request N) gets, inside the
 * app's database, a schema `pr_N` owned by a role `<app_>_pr_N` whose
 * search_path is `pr_N`: it can create and use tables there and nothing
 * else (no rights on `public`, on other previews' schemas, or on other
 * databases).
 *
 * Passwords are 32 random characters. They reach the server only as SCRAM
 * verifiers, never as text in SQL. Each one lives in an env file in the
 * state directory (0600, written atomically, other keys kept) as
 * DATABASE_URL=postgresql://role:password@TOWLION_PG_APP_HOST/database:
 *   app:      <TOWLION_STATE_DIR>/apps/<app>/app.env
 *   preview:  <TOWLION_STATE_DIR>/apps/<app>/previews/pr-<N>.env
 *
 * Every operation is idempotent and reports what it did (or, with
 * TL_PG_DRY_RUN, what it would do) in a tl_pg_report. Operations on one
 * app are serialised by a PostgreSQL advisory lock, so two processes
 * creating the same app at once both succeed with one database and role.
 * (The caller's per-app file lock, if any, is the caller's business: this
 * module takes none.)
 *
 * The admin connection (TOWLION_PG_URL) must be a superuser.
 */
#ifndef TOWLION_PG_H
#define TOWLION_PG_H

#include "towlion/common.h"
#include "towlion/context.h"
/* tl_app_env_path() and tl_preview_env_path() were declared here before
 * they moved to the app header, where app-level paths belong; included so
 * that code written against this header keeps compiling (same symbols,
 * same version node). */
#include "towlion/app.h"

TL_BEGIN_DECL

/** An admin connection to the shared PostgreSQL. */
typedef struct tl_pg tl_pg;

/**
 * Connect with TOWLION_PG_URL. TL_EAUTH (SQLSTATE 28P01/28000 as upstream)
 * when the server refuses the credentials, TL_EUNAVAILABLE (08001) when it
 * cannot be reached. `ctx` must outlive the handle.
 */
TL_EXTERN(int) tl_pg_connect(tl_pg **out, tl_ctx *ctx);

/** Close the connection. NULL is fine. */
TL_EXTERN(void) tl_pg_free(tl_pg *pg);

/** The server's version as a number (150004 for 15.4), 0 for NULL. */
TL_EXTERN(int) tl_pg_server_version(const tl_pg *pg);

/* ---- names and URLs (pure, no connection) -------------------------- */

/**
 * The database and role names of app `app` ("my-app": "my_app_db",
 * "my_app_user"). Either out buffer may be NULL. TL_EINVALID for a name
 * tl_validate_app_name() refuses.
 */
TL_EXTERN(int) tl_pg_app_names(tl_buf *database, tl_buf *role, const char *app);

/** The schema and role of preview `pr` of `app` ("pr_7", "my_app_pr_7"). */
TL_EXTERN(int) tl_pg_preview_names(tl_buf *schema, tl_buf *role, const char *app,
                                   uint32_t pr);

/**
 * postgresql://user:password@hostport/database with user, password and
 * database percent-encoded. `hostport` must pass tl_validate_hostport().
 */
TL_EXTERN(int) tl_pg_url_build(tl_buf *out, const char *user, const char *password,
                               const char *hostport, const char *database);

/**
 * The DATABASE_URL of an app (pr == 0) or of one of its previews, read
 * from its env file: a secret. TL_ENOTFOUND when it was never written.
 */
TL_EXTERN(int) tl_pg_database_url(tl_buf *out, const tl_ctx *ctx, const char *app,
                                  uint32_t pr);

/* ---- reports --------------------------------------------------------- */

/**
 * What an operation did, or would do under TL_PG_DRY_RUN: the names it
 * works on and one line per change ("create role \"x_user\" ..."). An
 * operation that found everything in place reports no actions.
 */
typedef struct tl_pg_report tl_pg_report;

TL_EXTERN(const char *) tl_pg_report_app(const tl_pg_report *r);
TL_EXTERN(const char *) tl_pg_report_database(const tl_pg_report *r);
TL_EXTERN(const char *) tl_pg_report_role(const tl_pg_report *r);
/** The preview's schema, or NULL for an app. */
TL_EXTERN(const char *) tl_pg_report_schema(const tl_pg_report *r);
/** The env file holding the DATABASE_URL. */
TL_EXTERN(const char *) tl_pg_report_env_path(const tl_pg_report *r);
/** 1 when the report is a plan (TL_PG_DRY_RUN): nothing was changed. */
TL_EXTERN(int) tl_pg_report_dry_run(const tl_pg_report *r);
TL_EXTERN(size_t) tl_pg_report_action_count(const tl_pg_report *r);
/** The i-th action, or NULL past the end. Never holds a secret. */
TL_EXTERN(const char *) tl_pg_report_action(const tl_pg_report *r, size_t i);
TL_EXTERN(void) tl_pg_report_free(tl_pg_report *r);

/* ---- operations ------------------------------------------------------ */

/** Flags for tl_pg_options.flags. */
#define TL_PG_DRY_RUN (1u << 0) /* inspect and plan, change nothing */
#define TL_PG_CONFIRM (1u << 1) /* required by tl_pg_app_drop() */
/* tl_pg_app_create(): refuse (TL_ENOTFOUND) a name that is no registered
 * app (tl_app_create). Frontends set it unless the user asks for a
 * standalone database: a database for no app is one that `app destroy`
 * never removes. */
#define TL_PG_REGISTERED_ONLY (1u << 2)

typedef struct {
	unsigned int version;  /* TL_PG_OPTIONS_VERSION */
	unsigned int flags;    /* TL_PG_* */
	int connection_limit;  /* app database: > 0 at most this many
	                          connections, 0 no limit (the default) */
	int lock_timeout_ms;   /* wait for another operation on the same app
	                          at most this long, then TL_ELOCKED;
	                          0: 30000 */
} tl_pg_options;

#define TL_PG_OPTIONS_VERSION 1
#define TL_PG_OPTIONS_INIT {TL_PG_OPTIONS_VERSION, 0, 0, 0}

TL_EXTERN(int) tl_pg_options_init(tl_pg_options *opts, unsigned int version);

/**
 * Provision app `app`: role, database owned by it, PUBLIC locked out, the
 * DATABASE_URL in the app's env file. When everything exists it changes
 * nothing (the password stays). When the role exists but the env file has
 * lost its password, fails with TL_ECONFLICT: rotate the password.
 * `out` may be NULL; `opts` may be NULL for the defaults.
 */
TL_EXTERN(int) tl_pg_app_create(tl_pg_report **out, tl_pg *pg, const char *app,
                                const tl_pg_options *opts);

/**
 * Give the app's role a new password, and write the new DATABASE_URL in
 * the same step: the ALTER ROLE commits only after the env file was
 * replaced, so a failed write leaves the old password working.
 * TL_ENOTFOUND when the role does not exist.
 */
TL_EXTERN(int) tl_pg_app_rotate(tl_pg_report **out, tl_pg *pg, const char *app,
                                const tl_pg_options *opts);

/**
 * Drop the app's database (its connections are terminated first), its
 * previews' roles and its role, and remove DATABASE_URL from the env
 * files. Refuses with TL_EINVALID unless opts->flags has TL_PG_CONFIRM.
 * Dropping what does not exist is TL_OK with no actions.
 */
TL_EXTERN(int) tl_pg_app_drop(tl_pg_report **out, tl_pg *pg, const char *app,
                              const tl_pg_options *opts);

/**
 * Provision preview `pr` of `app` inside the app's database (which must
 * exist: TL_ENOTFOUND otherwise). Idempotent like tl_pg_app_create().
 */
TL_EXTERN(int) tl_pg_preview_create(tl_pg_report **out, tl_pg *pg, const char *app,
                                    uint32_t pr, const tl_pg_options *opts);

/** Drop the preview's schema (cascade) and role; idempotent. */
TL_EXTERN(int) tl_pg_preview_drop(tl_pg_report **out, tl_pg *pg, const char *app,
                                  uint32_t pr, const tl_pg_options *opts);

/* ---- listing --------------------------------------------------------- */

/** One app database. Strings are owned by the list. */
typedef struct {
	const char *app;       /* the app name derived from the database */
	const char *database;
	const char *owner;
	int64_t size_bytes;
	int connections;       /* open backends on the database */
	int connection_limit;  /* -1: none */
	int previews;          /* preview roles of the app */
} tl_pg_db_info;

typedef struct tl_pg_db_list tl_pg_db_list;

/** The databases this module manages (`<x>_db` owned by `<x>_user`). */
TL_EXTERN(int) tl_pg_list(tl_pg_db_list **out, tl_pg *pg);
TL_EXTERN(size_t) tl_pg_db_list_count(const tl_pg_db_list *list);
/** The i-th database, or NULL past the end. */
TL_EXTERN(const tl_pg_db_info *) tl_pg_db_list_at(const tl_pg_db_list *list, size_t i);
TL_EXTERN(void) tl_pg_db_list_free(tl_pg_db_list *list);

TL_END_DECL

#endif
