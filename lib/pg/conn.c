/* Connections to the shared PostgreSQL, and PostgreSQL errors as
 * tl_result codes with the SQLSTATE as upstream code. */
#include "pg_internal.h"

#include <stdlib.h>
#include <string.h>

/* Key of the advisory locks of this module ('tlpg'); the app's name is
 * hashed into the second key. */
#define TL__PG_LOCK_CLASS "1953263719"

/* The tl_result for a SQLSTATE. */
static int code_for_sqlstate(const char *s)
{
	if (!s || strlen(s) != 5)
		return TL_ERROR;
	if (!strncmp(s, "28", 2) || !strcmp(s, "42501"))
		return TL_EAUTH; /* invalid authorization, insufficient privilege */
	if (!strncmp(s, "08", 2) || !strncmp(s, "57P", 3) || !strcmp(s, "53300"))
		return TL_EUNAVAILABLE; /* connection, shutdown, too many clients */
	if (!strcmp(s, "55P03"))
		return TL_ELOCKED; /* lock_not_available (lock_timeout) */
	if (!strcmp(s, "57014"))
		return TL_ETIMEOUT; /* query_canceled (statement_timeout) */
	if (!strcmp(s, "42P04") || !strcmp(s, "42710") || !strcmp(s, "42P06"))
		return TL_EEXISTS;
	if (!strcmp(s, "3D000") || !strcmp(s, "42704") || !strcmp(s, "3F000"))
		return TL_ENOTFOUND;
	if (!strcmp(s, "55006") || !strcmp(s, "2BP01"))
		return TL_ECONFLICT; /* object in use, dependent objects */
	if (!strncmp(s, "22", 2) || !strncmp(s, "42", 2))
		return TL_EINVALID;
	return TL_ERROR;
}

const char *tl__pg_sqlstate(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	return s ? s : "";
}

/* A libpq message on one line, without the trailing newline. */
static void one_line(char *dst, size_t len, const char *msg)
{
	snprintf(dst, len, "%s", msg && *msg ? msg : "(no message)");
	for (char *p = dst; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	size_t n = strlen(dst);
	while (n > 0 && dst[n - 1] == ' ')
		dst[--n] = '\0';
}

int tl__pg_fail(PGconn *conn, const PGresult *res, const char *fmt, ...)
{
	char what[512], msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	const char *state = tl__pg_sqlstate(res);
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!*state && (!conn || PQstatus(conn) == CONNECTION_BAD))
		state = "08006"; /* connection_failure */
	one_line(msg, sizeof(msg), primary ? primary : conn ? PQerrorMessage(conn) : NULL);
	int code = code_for_sqlstate(state);
	return tl__error_set_upstream(code, TL_ERRCLASS_PG, state, 0, "%s: %s (SQLSTATE %s)",
	                              what, msg, *state ? state : "none");
}

/* Connection failures carry no SQLSTATE in libpq: read the message,
 * which may quote pieces of the URL (and so of its password). */
static int connect_fail(PGconn *c, const char *where, const char *url)
{
	char msg[512];
	one_line(msg, sizeof(msg), c ? PQerrorMessage(c) : "out of memory");
	tl__scrub_password(msg, sizeof(msg), url);
	const char *state = "08001", *hint = "start PostgreSQL or fix the host and port in "
	                                     "TOWLION_PG_URL";
	int code = TL_EUNAVAILABLE;
	if (strstr(msg, "password authentication failed") || strstr(msg, "password is too") ||
	    strstr(msg, "no password supplied")) {
		state = "28P01", code = TL_EAUTH;
		hint = "check the user and password in TOWLION_PG_URL";
	} else if (strstr(msg, "pg_hba.conf") || (strstr(msg, "role \"") &&
	                                          strstr(msg, "does not exist"))) {
		state = "28000", code = TL_EAUTH;
		hint = "check the user in TOWLION_PG_URL and the server's pg_hba.conf";
	} else if (strstr(msg, "for connection option")) {
		/* e.g. a port that is not a number: the URL itself is wrong */
		state = "08001", code = TL_EINVALID;
		hint = "fix TOWLION_PG_URL";
	} else if (strstr(msg, "database \"") && strstr(msg, "does not exist")) {
		state = "3D000", code = TL_ENOTFOUND;
		hint = "check the database name";
	}
	return tl__error_set_upstream(code, TL_ERRCLASS_PG, state, 0,
	                              "cannot connect to PostgreSQL%s: %s; %s", where, msg, hint);
}

/* libpq prints NOTICEs on stderr by default; a library must not print,
 * so they become debug log events. */
static void on_notice(void *ctx, const char *message)
{
	char line[512];
	one_line(line, sizeof(line), message);
	tl__log(ctx, TL_LOG_DEBUG, "postgres: %s", line);
}

int tl__pg_open(PGconn **out, tl_ctx *ctx, const char *dbname)
{
	const char *url = tl__cfg(ctx, "TOWLION_PG_URL");
	/* Check the URL first: libpq's parse errors may quote the password,
	 * so they are not repeated. */
	char *perr = NULL;
	PQconninfoOption *parsed = PQconninfoParse(url, &perr);
	PQfreemem(perr);
	if (!parsed)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_PG_URL is not a valid PostgreSQL connection URL "
		                     "(postgresql://user:password@host:port/database)");
	PQconninfoFree(parsed);
	/* The first dbname is expanded as a URL; a later one overrides it. */
	const char *keys[] = {"dbname", "connect_timeout", "application_name", "dbname", NULL};
	const char *vals[] = {url, "10", "towlion", dbname, NULL};
	if (!dbname)
		keys[3] = NULL;
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		char where[160] = "";
		if (dbname)
			snprintf(where, sizeof(where), " (database %s)", dbname);
		int rc = connect_fail(c, where, url);
		PQfinish(c);
		return rc;
	}
	PQsetNoticeProcessor(c, on_notice, ctx);
	*out = c;
	return TL_OK;
}

int tl_pg_connect(tl_pg **out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	PGconn *c = NULL;
	int rc = tl__pg_open(&c, ctx, NULL);
	if (rc)
		return rc;
	tl_pg *pg = tl__calloc(1, sizeof(*pg));
	if (!pg) {
		PQfinish(c);
		return TL_ENOMEM;
	}
	pg->ctx = ctx;
	pg->conn = c;
	*out = pg;
	return TL_OK;
}

void tl_pg_free(tl_pg *pg)
{
	if (!pg)
		return;
	PQfinish(pg->conn);
	free(pg);
}

int tl_pg_server_version(const tl_pg *pg)
{
	return pg ? PQserverVersion(pg->conn) : 0;
}

int tl__pg_run(PGresult **out, PGconn *conn, const char *what, const char *sql,
               int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int rc = tl__pg_fail(conn, res, "%s", what);
		PQclear(res);
		return rc;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return TL_OK;
}

int tl__pg_ddl(PGconn *conn, const char *what, const char *fmt, ...)
{
	tl_buf sql = TL_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int rc = tl__buf_vprintf(&sql, fmt, ap);
	va_end(ap);
	if (rc == TL_OK)
		rc = tl__pg_run(NULL, conn, what, sql.ptr, 0, NULL);
	tl_buf_dispose(&sql);
	return rc;
}

static char *escaped(PGconn *conn, const char *s, int ident)
{
	char *q = ident ? PQescapeIdentifier(conn, s, strlen(s))
	                : PQescapeLiteral(conn, s, strlen(s));
	if (!q) {
		tl__pg_fail(conn, NULL, "cannot quote a name");
		return NULL;
	}
	char *copy = tl__strdup(q);
	PQfreemem(q);
	return copy;
}

char *tl__pg_ident(PGconn *conn, const char *name) { return escaped(conn, name, 1); }
char *tl__pg_literal(PGconn *conn, const char *value) { return escaped(conn, value, 0); }

int tl__pg_lock_app(PGconn *conn, const char *app, int timeout_ms)
{
	char t[32];
	snprintf(t, sizeof(t), "%d", timeout_ms > 0 ? timeout_ms : 30000);
	/* One round trip (it was three: set, lock, reset): lock_timeout is set
	 * local to this statement's own transaction, so it ends with it; the
	 * OFFSET 0 subquery is evaluated before the lock is asked for. */
	const char *p[] = {t, app};
	int rc = tl__pg_run(NULL, conn, "cannot take the app's advisory lock",
	                    "SELECT pg_advisory_lock(" TL__PG_LOCK_CLASS ", hashtext($2)) "
	                    "FROM (SELECT set_config('lock_timeout', $1, true) OFFSET 0) s",
	                    2, p);
	if (rc == TL_ELOCKED)
		tl__error_prefix("another operation on app %s is still running after %s ms", app, t);
	return rc;
}

void tl__pg_unlock_app(PGconn *conn, const char *app)
{
	/* Errors are ignored: the lock dies with the session anyway. */
	const char *p[] = {app};
	PGresult *res = PQexecParams(conn,
	                             "SELECT pg_advisory_unlock(" TL__PG_LOCK_CLASS
	                             ", hashtext($1))",
	                             1, NULL, p, NULL, NULL, 0);
	PQclear(res);
}
