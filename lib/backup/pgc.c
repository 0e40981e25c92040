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

/* The tl_result for a failure without SQLSTATE (a connection), read
 * from libpq's text. */
static int code_for_text(const char *clean, int have_res)
{
	if (strstr(clean, "authentication failed") || strstr(clean, "no password"))
		return TL_EAUTH;
	if (strstr(clean, "does not exist"))
		return TL_ENOTFOUND;
	return have_res ? TL_ERROR : TL_EUNAVAILABLE;
}

static void trim(char *s)
{
	for (size_t n = strlen(s); n && (s[n - 1] == '\n' || s[n - 1] == ' ');)
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
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
	trim(clean);
	int code = st ? code_for_sqlstate(st) : code_for_text(clean, res != NULL);
	return tl__error_set_upstream(code, TL_ERRCLASS_PG, st ? st : "", 0, "%s: %s", what,
	                              clean);
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* libpq's own words about a bad URL may quote the password: they are
 * never repeated. */
static int check_url(const char *url, char **options)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &err);
	if (err)
		tl__free_secret(err); /* PQfreemem would do; this also wipes it */
	if (!opts)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_PG_URL is not a valid PostgreSQL URL "
		                     "(postgresql://user:password@host:port/database; percent-encode "
		                     "'@', '/', ':' and '%%' in the password); libpq's message is not "
		                     "shown because it may quote the password");
	*options = NULL;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "options") && o->val && *o->val)
			*options = tl__strdup(o->val);
	PQconninfoFree(opts);
	return TL_OK;
}

int tl__bk_pg_open(PGconn **out, tl_ctx *ctx, const char *dbname)
{
	return tl__bk_pg_open_as(out, ctx, dbname, NULL, NULL);
}

int tl__bk_pg_open_as(PGconn **out, tl_ctx *ctx, const char *dbname, const char *user,
                      const char *password)
{
	const char *url = tl__cfg(ctx, "TOWLION_PG_URL");
	char *url_options = NULL;
	int rc = check_url(url, &url_options);
	if (rc)
		return rc;
	/* Every connection of this module pins search_path to pg_catalog: a
	 * tenant owns its database and may ALTER DATABASE ... SET
	 * search_path to put its own count() or = before pg_catalog's. */
	char *options = tl__sprintf("%s%s-c search_path=pg_catalog", url_options ? url_options : "",
	                            url_options ? " " : "");
	free(url_options);
	if (!options)
		return TL_ENOMEM;
	const char *keys[8], *vals[8];
	int n = 0;
	keys[n] = "dbname", vals[n++] = url; /* expanded as a URL; later keys win */
	if (dbname)
		keys[n] = "dbname", vals[n++] = dbname;
	if (user) {
		keys[n] = "user", vals[n++] = user;
		keys[n] = "password", vals[n++] = password ? password : "";
	}
	keys[n] = "connect_timeout", vals[n++] = "10";
	keys[n] = "application_name", vals[n++] = "towlion-backup";
	keys[n] = "options", vals[n++] = options;
	keys[n] = NULL, vals[n] = NULL;
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	free(options);
	if (!c)
		return tl__error_oom();
	if (PQstatus(c) != CONNECTION_OK) {
		char clean[1024];
		snprintf(clean, sizeof(clean), "%s", PQerrorMessage(c));
		trim(clean);
		tl__scrub_password(clean, sizeof(clean), url);
		rc = tl__error_set_upstream(code_for_text(clean, 0), TL_ERRCLASS_PG, "", 0,
		                            "cannot connect to PostgreSQL%s%s%s%s (TOWLION_PG_URL): %s",
		                            dbname ? " database " : "", dbname ? dbname : "",
		                            user ? " as " : "", user ? user : "", clean);
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
	*out = strtoll(PQgetvalue(r, 0, 0), NULL, 10); /* a bigint PostgreSQL typed */
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
	return tl__bk_client_as(out, ctx, dbname, NULL, NULL);
}

int tl__bk_client_as(tl__bk_client *out, tl_ctx *ctx, const char *dbname, const char *user,
                     const char *password)
{
	return tl__bk_client_at(out, ctx, dbname, user, password, NULL, NULL);
}

/* Options that name the server's address, or files on this host: left
 * out when the client runs elsewhere (in the server's container). */
static int local_only(const char *k)
{
	static const char *const keys[] = {"host",    "hostaddr",    "port",   "passfile",
	                                   "service", "sslcert",     "sslkey", "sslrootcert",
	                                   "sslcrl",  "sslcrldir",   NULL};
	for (const char *const *p = keys; *p; p++)
		if (!strcmp(k, *p))
			return 1;
	return 0;
}

int tl__bk_client_at(tl__bk_client *out, tl_ctx *ctx, const char *dbname, const char *user,
                     const char *password, const char *host, const char *port)
{
	const char *url = tl__cfg(ctx, "TOWLION_PG_URL");
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &err);
	if (err)
		tl__free_secret(err);
	if (!opts)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_PG_URL is not a valid PostgreSQL URL; libpq's message is "
		                     "not shown because it may quote the password");
	tl_buf ci = TL_BUF_INIT;
	char *pw = NULL;
	int rc = TL_OK;
	for (PQconninfoOption *o = opts; rc == TL_OK && o->keyword; o++) {
		if (!o->val || !*o->val || !strcmp(o->keyword, "dbname"))
			continue;
		/* Another role: the admin's name and password stay behind. */
		if (user && (!strcmp(o->keyword, "user") || !strcmp(o->keyword, "password")))
			continue;
		if (host && local_only(o->keyword))
			continue;
		if (!strcmp(o->keyword, "password")) {
			pw = tl__sprintf("PGPASSWORD=%s", o->val);
			if (!pw)
				rc = TL_ENOMEM;
			continue;
		}
		rc = put_kv(&ci, o->keyword, o->val);
	}
	if (rc == TL_OK && host)
		rc = put_kv(&ci, "host", host);
	if (rc == TL_OK && host && port)
		rc = put_kv(&ci, "port", port);
	if (rc == TL_OK && user) {
		rc = put_kv(&ci, "user", user);
		if (rc == TL_OK && password && !(pw = tl__sprintf("PGPASSWORD=%s", password)))
			rc = TL_ENOMEM;
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

int tl__bk_pg_execf(PGconn *c, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tl_buf sql = TL_BUF_INIT;
	int rc = tl__buf_vprintf(&sql, fmt, ap);
	va_end(ap);
	if (rc == TL_OK)
		rc = tl__bk_pg_exec(NULL, c, what, sql.ptr, 0, NULL);
	tl_buf_dispose(&sql);
	return rc;
}
