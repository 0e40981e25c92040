/*
 * PostgreSQL for the backup module: libpq connections (admin URL
 * TOWLION_PG_URL, or the same server with another database), errors, and
 * what pg_dump / pg_restore need to connect without the password ever
 * appearing on their command line.
 */
#include "backup_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int code_for_sqlstate(const char *st)
{
	if (!st || !*st)
		return TL_ERROR;
	if (!strcmp(st, "28P01") || !strcmp(st, "28000") || !strcmp(st, "42501"))
		return TL_EAUTH;
	if (!strncmp(st, "08", 2) || !strcmp(st, "57P03"))
		return TL_EUNAVAILABLE;
	if (!strcmp(st, "3D000") || !strcmp(st, "42P01") || !strcmp(st, "42704"))
		return TL_ENOTFOUND;
	if (!strcmp(st, "42P04") || !strcmp(st, "42710"))
		return TL_EEXISTS;
	if (!strcmp(st, "55006") || !strcmp(st, "55P03") || !strcmp(st, "40P01"))
		return TL_ECONFLICT;
	return TL_ERROR;
}

int tl__bk_pg_fail(PGconn *conn, const PGresult *res, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	if (!msg || !*msg)
		msg = conn ? PQerrorMessage(conn) : "no connection";
	char clean[1024];
	snprintf(clean, sizeof(clean), "%s", msg);
	for (size_t n = strlen(clean); n && (clean[n - 1] == '\n' || clean[n - 1] == ' ');)
		clean[--n] = '\0';
	int code = code_for_sqlstate(st);
	if (!st) {
		/* A connection failure carries no SQLSTATE: read the text. */
		if (strstr(clean, "authentication failed") || strstr(clean, "no password"))
			code = TL_EAUTH;
		else if (strstr(clean, "does not exist"))
			code = TL_ENOTFOUND;
		else if (!res)
			code = TL_EUNAVAILABLE;
	}
	return tl__error_set_upstream(code, TL_ERRCLASS_PG, st ? st : "", 0, "%s: %s", what,
	                              clean);
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int tl__bk_pg_open(PGconn **out, tl_ctx *ctx, const char *dbname)
{
	const char *url = tl__cfg(ctx, "TOWLION_PG_URL");
	const char *keys[] = {"dbname", "dbname", "connect_timeout", "application_name", NULL};
	const char *vals[] = {url, dbname, "10", "towlion-backup", NULL};
	if (!dbname) {
		keys[1] = "connect_timeout";
		vals[1] = "10";
		keys[2] = "application_name";
		vals[2] = "towlion-backup";
		keys[3] = NULL;
		vals[3] = NULL;
	}
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c)
		return tl__error_oom();
	if (PQstatus(c) != CONNECTION_OK) {
		int rc = tl__bk_pg_fail(c, NULL, "cannot connect to PostgreSQL%s%s (TOWLION_PG_URL)",
		                        dbname ? " database " : "", dbname ? dbname : "");
		PQfinish(c);
		return rc;
	}
	/* Quiet NOTICEs: the library never prints. */
	PQsetNoticeProcessor(c, quiet, NULL);
	*out = c;
	return TL_OK;
}

int tl__bk_pg_exec(PGresult **out, PGconn *conn, const char *what, const char *sql,
                   int nparams, const char *const *params)
{
	PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		int rc = tl__bk_pg_fail(conn, r, "%s", what);
		PQclear(r);
		return rc;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return TL_OK;
}

char *tl__bk_pg_ident(PGconn *conn, const char *name)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name));
	if (!q) {
		tl__bk_pg_fail(conn, NULL, "cannot quote identifier");
		return NULL;
	}
	char *copy = tl__strdup(q);
	PQfreemem(q);
	return copy;
}

int tl__bk_pg_table_count(int64_t *out, PGconn *conn)
{
	PGresult *r = NULL;
	int rc = tl__bk_pg_exec(&r, conn, "count the tables",
	                        "SELECT count(*) FROM pg_catalog.pg_class c "
	                        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	                        "WHERE c.relkind IN ('r', 'p') "
	                        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
	                        "AND n.nspname NOT LIKE 'pg\\_toast%' "
	                        "AND n.nspname NOT LIKE 'pg\\_temp\\_%'",
	                        0, NULL);
	if (rc)
		return rc;
	*out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return TL_OK;
}

/* Append key='value' with libpq's quoting (backslash and quote escaped). */
static int put_kv(tl_buf *b, const char *k, const char *v)
{
	int rc = b->size ? tl__buf_putc(b, ' ') : TL_OK;
	if (rc == TL_OK)
		rc = tl__buf_printf(b, "%s='", k);
	for (const char *p = v; rc == TL_OK && *p; p++) {
		if (*p == '\\' || *p == '\'')
			rc = tl__buf_putc(b, '\\');
		if (rc == TL_OK)
			rc = tl__buf_putc(b, *p);
	}
	return rc ? rc : tl__buf_putc(b, '\'');
}

int tl__bk_client_for(tl__bk_client *out, tl_ctx *ctx, const char *dbname)
{
	const char *url = tl__cfg(ctx, "TOWLION_PG_URL");
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &err);
	if (!opts) {
		int rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG, "TOWLION_PG_URL is invalid: %s",
		                       err ? err : "out of memory");
		PQfreemem(err);
		return rc;
	}
	tl_buf ci = TL_BUF_INIT;
	char *pw = NULL;
	int rc = TL_OK;
	for (PQconninfoOption *o = opts; rc == TL_OK && o->keyword; o++) {
		if (!o->val || !*o->val || !strcmp(o->keyword, "dbname"))
			continue;
		if (!strcmp(o->keyword, "password")) {
			pw = tl__sprintf("PGPASSWORD=%s", o->val);
			if (!pw)
				rc = TL_ENOMEM;
			continue;
		}
		rc = put_kv(&ci, o->keyword, o->val);
	}
	if (rc == TL_OK)
		rc = put_kv(&ci, "dbname", dbname);
	PQconninfoFree(opts);
	if (rc) {
		tl_buf_dispose(&ci);
		tl__free_secret(pw);
		return rc;
	}
	out->conninfo = tl__buf_detach(&ci);
	out->pgpassword_env = pw;
	return TL_OK;
}

void tl__bk_client_dispose(tl__bk_client *c)
{
	if (!c)
		return;
	free(c->conninfo);
	tl__free_secret(c->pgpassword_env);
	c->conninfo = c->pgpassword_env = NULL;
}

char *tl__bk_program(const char *bin_dir, int server_version, const char *prog)
{
	if (bin_dir && *bin_dir)
		return tl__path_join(bin_dir, prog);
	/* The client must be at least the server's major version. */
	char *p = tl__sprintf("/usr/lib/postgresql/%d/bin/%s", server_version / 10000, prog);
	if (p && access(p, X_OK) == 0)
		return p;
	free(p);
	return tl__strdup(prog);
}
