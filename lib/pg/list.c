/* The app databases on the server, with size and open connections. */
#include "list.h"
#include "pg_internal.h"

#include <stdlib.h>
#include <string.h>

struct tl_pg_db_list {
	tl_pg_db_info *items;
	size_t n;
	PGresult *res; /* owns the strings */
};

/* `database` NULL: every app database; else only that one (a report on
 * one app: pg_database_size() walks each database's files, so asking for
 * every database costs what the server holds, not what was asked). */
static int list_dbs(tl_pg_db_list **out, tl_pg *pg, const char *database)
{
	PGresult *res = NULL;
	const char *params[] = {database};
	/* Only databases that look like ours: <p>_db owned by <p>_user. */
	int rc = tl__pg_run(
		&res, pg->conn, "cannot list the databases",
		"SELECT d.datname, r.rolname, pg_database_size(d.oid), "
		"  (SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid), "
		"  d.datconnlimit, "
		"  (SELECT count(*) FROM pg_roles p WHERE p.rolname ~ "
		"     ('^' || left(d.datname, -3) || '_pr_[0-9]+$')), "
		"  replace(left(d.datname, -3), '_', '-') "
		"FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba "
		"WHERE d.datname ~ '^[a-z][a-z0-9_]*_db$' "
		"  AND r.rolname = left(d.datname, -3) || '_user' "
		"  AND ($1::text IS NULL OR d.datname = $1) "
		"ORDER BY d.datname",
		1, params);
	if (rc)
		return rc;
	tl_pg_db_list *l = tl__calloc(1, sizeof(*l));
	size_t n = (size_t)PQntuples(res);
	if (l && n && !(l->items = tl__calloc(n, sizeof(*l->items)))) {
		free(l);
		l = NULL;
	}
	if (!l) {
		PQclear(res);
		return TL_ENOMEM;
	}
	l->res = res;
	l->n = n;
	for (size_t i = 0; i < n; i++) {
		int row = (int)i;
		tl_pg_db_info *d = &l->items[i];
		d->database = PQgetvalue(res, row, 0);
		d->owner = PQgetvalue(res, row, 1);
		/* bigint and int columns of our own query: PostgreSQL typed them */
		d->size_bytes = strtoll(PQgetvalue(res, row, 2), NULL, 10);
		d->connections = atoi(PQgetvalue(res, row, 3));
		d->connection_limit = atoi(PQgetvalue(res, row, 4));
		d->previews = atoi(PQgetvalue(res, row, 5));
		d->app = PQgetvalue(res, row, 6);
	}
	*out = l;
	return TL_OK;
}

int tl_pg_list(tl_pg_db_list **out, tl_pg *pg)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(pg);
	return list_dbs(out, pg, NULL);
}

int tl__pg_list_app(tl_pg_db_list **out, tl_pg *pg, const char *app)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(pg);
	tl_buf database = TL_BUF_INIT;
	int rc = tl_pg_app_names(&database, NULL, app);
	if (rc == TL_OK)
		rc = list_dbs(out, pg, database.ptr);
	tl_buf_dispose(&database);
	return rc;
}

size_t tl_pg_db_list_count(const tl_pg_db_list *list)
{
	return list ? list->n : 0;
}

const tl_pg_db_info *tl_pg_db_list_at(const tl_pg_db_list *list, size_t i)
{
	return list && i < list->n ? &list->items[i] : NULL;
}

void tl_pg_db_list_free(tl_pg_db_list *list)
{
	if (!list)
		return;
	PQclear(list->res);
	free(list->items);
	free(list);
}
