/*
 * Login roles and the env files that hold their passwords.
 *
 * The password reaches the server only as a SCRAM verifier computed here
 * (PQencryptPasswordConn), so neither the statement log nor
 * pg_stat_activity ever sees it. The order of steps makes every crash
 * recoverable:
 *  - create: BEGIN; CREATE ROLE; write the env file; COMMIT. A crash
 *    before COMMIT leaves an env file whose password the next create
 *    reuses for the role it then creates.
 *  - rotate: BEGIN; ALTER ROLE; write the env file; COMMIT. A failed write
 *    rolls back (the old password keeps working); a failed COMMIT puts the
 *    old env file back.
 */
#include "pg_internal.h"
#include "core/url.h"
#include "towlion/envfile.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#define TL__PG_PASSWORD_LEN 32

void tl__pg_envstate_dispose(tl__pg_envstate *st)
{
	tl__free_secret(st->url);
	tl__free_secret(st->password);
	st->url = st->password = NULL;
}

int tl__pg_env_read(tl__pg_envstate *st, const char *path, const char *role)
{
	memset(st, 0, sizeof(*st));
	tl_envfile *env = NULL;
	int rc = tl_envfile_open(&env, path, TL_ENVFILE_CREATE);
	if (rc)
		return rc;
	const char *url = tl_envfile_get(env, "DATABASE_URL");
	if (url && !(st->url = tl__strdup(url)))
		rc = TL_ENOMEM;
	tl__url u;
	/* A URL for another user, or one that does not parse, holds no
	 * password of this role. */
	if (rc == TL_OK && url && tl__url_parse(&u, url, "DATABASE_URL") == TL_OK) {
		if (u.user && !strcmp(u.user, role) && u.password && *u.password &&
		    !(st->password = tl__strdup(u.password)))
			rc = TL_ENOMEM;
		tl__url_dispose(&u);
		tl_error_clear();
	}
	tl_envfile_free(env);
	if (rc)
		tl__pg_envstate_dispose(st);
	return rc;
}

/* Create the env file's directory and the app directory above it
 * (0700: they hold secrets). */
static int make_dirs(const char *path)
{
	char *copy = tl__strdup(path);
	if (!copy)
		return TL_ENOMEM;
	int rc = tl__mkdir_p(dirname(copy), 0700);
	free(copy);
	return rc;
}

int tl__pg_env_write(const char *path, const char *url)
{
	int rc = make_dirs(path);
	tl_envfile *env = NULL;
	if (rc == TL_OK)
		rc = tl_envfile_open(&env, path, TL_ENVFILE_CREATE);
	if (rc == TL_OK)
		rc = tl_envfile_set(env, "DATABASE_URL", url);
	if (rc == TL_OK)
		rc = tl_envfile_save(env, path, 0600);
	tl_envfile_free(env);
	if (rc)
		tl__error_prefix("cannot write DATABASE_URL to %s", path);
	return rc;
}

int tl__pg_env_unset(const char *path, int dry_run, int *removed)
{
	*removed = 0;
	tl_envfile *env = NULL;
	int rc = tl_envfile_open(&env, path, 0);
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		return TL_OK;
	}
	if (rc == TL_OK && tl_envfile_get(env, "DATABASE_URL")) {
		*removed = 1;
		if (!dry_run && (rc = tl_envfile_unset(env, "DATABASE_URL")) == TL_OK)
			rc = tl_envfile_save(env, path, 0600);
	}
	tl_envfile_free(env);
	return rc;
}

int tl__pg_role_exists(PGconn *conn, const char *role, int *exists)
{
	PGresult *res = NULL;
	const char *p[] = {role};
	int rc = tl__pg_run(&res, conn, "cannot look up the role",
	                    "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, p);
	if (rc == TL_OK)
		*exists = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

int tl__pg_terminate_role(PGconn *conn, const char *role, int *n)
{
	PGresult *res = NULL;
	const char *p[] = {role};
	int rc = tl__pg_run(&res, conn, "cannot terminate the role's sessions",
	                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	                    "WHERE usename = $1 AND pid <> pg_backend_pid()",
	                    1, p);
	if (rc == TL_OK) /* count(): PostgreSQL typed it, so atoi meets no junk */
		*n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

static void rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}

/* "<verb> ROLE <ident> ... PASSWORD '<SCRAM verifier>'" for a fresh
 * password; the plain password never enters the statement. */
static int role_password_sql(char **out, PGconn *conn, const char *verb, const char *role,
                             const char *attrs, const char *password)
{
	char *verifier = PQencryptPasswordConn(conn, password, role, "scram-sha-256");
	if (!verifier)
		return tl__pg_fail(conn, NULL, "cannot compute the SCRAM verifier for %s", role);
	char *id = tl__pg_ident(conn, role);
	char *lit = id ? tl__pg_literal(conn, verifier) : NULL;
	PQfreemem(verifier);
	int rc = TL_OK;
	if (!id || !lit)
		rc = tl_error_last()->code ? tl_error_last()->code : TL_ENOMEM;
	else if (!(*out = tl__sprintf("%s ROLE %s %s PASSWORD %s", verb, id, attrs, lit)))
		rc = TL_ENOMEM;
	free(id);
	free(lit);
	return rc;
}

static int desired_url(tl_buf *out, tl_pg *pg, const char *role, const char *password,
                       const char *database)
{
	return tl_pg_url_build(out, role, password, tl__cfg(pg->ctx, "TOWLION_PG_APP_HOST"),
	                       database);
}

/* Write the URL into the env file when it differs from what is there. */
static int sync_env(tl_pg *pg, tl_pg_report *r, const tl__pg_envstate *st, const char *url,
                    const char *env_path)
{
	if (st->url && !strcmp(st->url, url))
		return TL_OK;
	int rc = tl__pg_report_add(r, pg->ctx, "write DATABASE_URL to %s", env_path);
	if (rc == TL_OK && !r->dry_run)
		rc = tl__pg_env_write(env_path, url);
	return rc;
}

int tl__pg_ensure_login_role(tl_pg *pg, tl_pg_report *r, const char *role,
                             const char *database, const char *env_path, int inherit)
{
	int exists = 0, retried = 0, rc;
	tl__pg_envstate st;
	tl_buf url = TL_BUF_INIT;
	char pw[TL__PG_PASSWORD_LEN + 1] = "";
	char *sql = NULL;
again:
	sql = NULL;
	rc = tl__pg_role_exists(pg->conn, role, &exists);
	if (rc == TL_OK)
		rc = tl__pg_env_read(&st, env_path, role);
	if (rc)
		return rc;
	if (exists) {
		if (!st.password)
			rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_PG,
			                   "role %s exists but %s holds no DATABASE_URL with its "
			                   "password (the file was lost or edited); set a new password "
			                   "with 'towlion db rotate %s' (it writes the file), then run "
			                   "this again",
			                   role, env_path, r->app);
		else if ((rc = desired_url(&url, pg, role, st.password, database)) == TL_OK)
			rc = sync_env(pg, r, &st, url.ptr, env_path);
		goto out;
	}
	/* The role is missing. A password left in the env file (by a create
	 * that died before COMMIT) is reused, so that file stays right. */
	if (st.password)
		snprintf(pw, sizeof(pw), "%s", st.password);
	else if ((rc = tl__secret_generate(pw, TL__PG_PASSWORD_LEN)))
		goto out;
	rc = tl__pg_report_add(r, pg->ctx, "create login role %s with %s", role,
	                       st.password ? "the password kept in the env file"
	                                   : "a new random password");
	if (rc == TL_OK)
		rc = desired_url(&url, pg, role, pw, database);
	if (rc || r->dry_run) {
		if (rc == TL_OK)
			rc = sync_env(pg, r, &st, url.ptr, env_path);
		goto out;
	}
	rc = role_password_sql(&sql, pg->conn, "CREATE", role,
	                       inherit ? "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
	                                 "NOREPLICATION NOBYPASSRLS INHERIT"
	                               : "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
	                                 "NOREPLICATION NOBYPASSRLS NOINHERIT",
	                       pw);
	if (rc == TL_OK)
		rc = tl__pg_run(NULL, pg->conn, "cannot start a transaction", "BEGIN", 0, NULL);
	if (rc)
		goto out;
	rc = tl__pg_run(NULL, pg->conn, "cannot create the role", sql, 0, NULL);
	if (rc == TL_OK)
		rc = sync_env(pg, r, &st, url.ptr, env_path);
	if (rc) {
		rollback(pg->conn);
		/* duplicate_object: someone outside this module's lock created it
		 * meanwhile; look again, as an existing role. */
		if (rc == TL_EEXISTS && !retried) {
			retried = 1;
			tl__free_secret(sql);
			tl__buf_dispose_secret(&url);
			tl__pg_envstate_dispose(&st);
			r->n--;
			free(r->actions[r->n]);
			r->actions[r->n] = NULL; /* still a NULL-terminated vector */
			goto again;
		}
		goto out;
	}
	rc = tl__pg_run(NULL, pg->conn, "cannot commit the new role", "COMMIT", 0, NULL);
out:
	tl__free_secret(sql);
	tl__buf_dispose_secret(&url);
	tl__pg_envstate_dispose(&st);
	volatile char *v = pw;
	for (size_t i = 0; i < sizeof(pw); i++)
		v[i] = 0;
	return rc;
}

int tl__pg_set_new_password(tl_pg *pg, tl_pg_report *r, const char *role,
                            const char *database, const char *env_path)
{
	int exists = 0;
	int rc = tl__pg_role_exists(pg->conn, role, &exists);
	if (rc)
		return rc;
	if (!exists)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_PG,
		                     "role %s does not exist: create it first (towlion db create %s)",
		                     role, r->app);
	tl__pg_envstate st;
	if ((rc = tl__pg_env_read(&st, env_path, role)))
		return rc;
	tl_buf url = TL_BUF_INIT;
	char pw[TL__PG_PASSWORD_LEN + 1] = "";
	char *sql = NULL;
	rc = tl__pg_report_add(r, pg->ctx, "set a new random password for role %s", role);
	if (rc == TL_OK)
		rc = tl__pg_report_add(r, pg->ctx, "write DATABASE_URL to %s", env_path);
	if (rc || r->dry_run)
		goto out;
	rc = tl__secret_generate(pw, TL__PG_PASSWORD_LEN);
	if (rc == TL_OK)
		rc = desired_url(&url, pg, role, pw, database);
	if (rc == TL_OK)
		rc = role_password_sql(&sql, pg->conn, "ALTER", role, "", pw);
	if (rc == TL_OK)
		rc = tl__pg_run(NULL, pg->conn, "cannot start a transaction", "BEGIN", 0, NULL);
	if (rc)
		goto out;
	rc = tl__pg_run(NULL, pg->conn, "cannot set the new password", sql, 0, NULL);
	if (rc == TL_OK && (rc = tl__pg_env_write(env_path, url.ptr)) != TL_OK)
		tl__error_prefix("the password was not changed");
	if (rc) {
		rollback(pg->conn);
		goto out;
	}
	rc = tl__pg_run(NULL, pg->conn, "cannot commit the new password", "COMMIT", 0, NULL);
	if (rc) {
		/* The server kept the old password: put the old URL back. */
		char msg[512], state[16];
		snprintf(msg, sizeof(msg), "%s", tl_error_last()->message);
		snprintf(state, sizeof(state), "%s", tl_error_last()->upstream);
		int rrc;
		if (st.url) {
			rrc = tl__pg_env_write(env_path, st.url);
		} else {
			int removed;
			rrc = tl__pg_env_unset(env_path, 0, &removed);
		}
		tl__error_set_upstream(rc, TL_ERRCLASS_PG, state, 0, "%s; %s", msg,
		                       rrc == TL_OK ? "the old password still works and the env "
		                                      "file was restored"
		                                    : "the old password still works but the env "
		                                      "file now holds the new one: rotate again");
	}
out:
	tl__free_secret(sql);
	tl__buf_dispose_secret(&url);
	tl__pg_envstate_dispose(&st);
	volatile char *v = pw;
	for (size_t i = 0; i < sizeof(pw); i++)
		v[i] = 0;
	return rc;
}
