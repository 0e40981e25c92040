/*
 * The platform at a glance: every app's status (lib/deploy/status.c) joined
 * with its database, newest backup and previews. This join used to live in
 * the CLI; it is here so that every frontend shows the same thing.
 */
#include "caddy/caddy_internal.h"
#include "core/core.h"
#include "deploy/deploy_int.h"
#include "pg/list.h"
#include "towlion/app.h"
#include "towlion/backup.h"
#include "towlion/pg.h"
#include "towlion/preview.h"
#include "towlion/status.h"

#include <string.h>

/* The sources read beside the apps, in the order of their rows. */
enum { SOURCE_POSTGRES, SOURCE_BACKUPS, SOURCE_PREVIEWS, SOURCE_COUNT };
static const char *const source_names[SOURCE_COUNT] = {"postgres", "backups", "previews"};

struct tl_status_report {
	tl_status_app *apps;
	tl_app_status **states; /* one per app */
	size_t napps;
	char **names;           /* the apps' names, owned (apps[i].app points here) */
	tl_status_source sources[SOURCE_COUNT];
	char *errors[SOURCE_COUNT]; /* owned messages (sources[i].error points here) */
	int health;             /* a tl_app_health */
	const char *reason;     /* borrowed from the deciding app's status */
};

/* What the apps are joined with; each list may be NULL (not answered). */
typedef struct {
	tl_pg_db_list *dbs;
	tl_backup_list *backups;
	tl_preview_list *previews;
} sources;

int tl_status_options_init(tl_status_options *opts, unsigned int version)
{
	tl_status_options def = TL_STATUS_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_STATUS_OPTIONS_VERSION, "tl_status_options");
}

/* Record whether source `i` answered (rc), keeping the error's message;
 * the error itself is cleared: a silent source does not fail status. */
static int source_result(tl_status_report *r, int i, int rc)
{
	r->sources[i].name = source_names[i];
	r->sources[i].answered = rc == TL_OK;
	r->sources[i].error = "";
	if (rc == TL_OK)
		return TL_OK;
	if (rc == TL_ENOMEM)
		return rc;
	if (!(r->errors[i] = tl__strdup(tl_error_last()->message)))
		return TL_ENOMEM;
	r->sources[i].error = r->errors[i];
	tl_error_clear();
	return TL_OK;
}

/* The sources of every app, or of `app` alone: a report on one app reads
 * its own database's size, backups and previews, not the server's. */
static int sources_load(sources *s, tl_status_report *r, tl_ctx *ctx, const char *app)
{
	tl_pg *pg = NULL;
	tl_buf database = TL_BUF_INIT;
	int rc = app ? tl_pg_app_names(&database, NULL, app) : TL_OK;
	if (rc)
		return rc;
	rc = tl_pg_connect(&pg, ctx);
	if (rc == TL_OK)
		rc = app ? tl__pg_list_app(&s->dbs, pg, app) : tl_pg_list(&s->dbs, pg);
	tl_pg_free(pg);
	rc = source_result(r, SOURCE_POSTGRES, rc);
	tl_backup_options bo = TL_BACKUP_OPTIONS_INIT;
	const char *only[] = {database.ptr};
	if (app) {
		bo.databases = only;
		bo.ndatabases = 1;
	}
	if (rc == TL_OK)
		rc = source_result(r, SOURCE_BACKUPS, tl_backup_list_get(&s->backups, ctx, &bo));
	if (rc == TL_OK)
		rc = source_result(r, SOURCE_PREVIEWS, tl_preview_list_load(&s->previews, ctx, app));
	tl_buf_dispose(&database);
	return rc;
}

static void sources_dispose(sources *s)
{
	tl_pg_db_list_free(s->dbs);
	tl_backup_list_free(s->backups);
	tl_preview_list_free(s->previews);
}

/* The app's row from the sources: its database (by the registry's app
 * name), the newest backup of that database, its previews. */
static void join_row(tl_status_app *row, const sources *s, const char *app)
{
	memset(row, 0, sizeof(*row));
	row->app = app;
	row->database = "";
	row->database_bytes = -1;
	row->backup_file = "";
	for (size_t i = 0; i < tl_pg_db_list_count(s->dbs) && !*row->database; i++) {
		const tl_pg_db_info *db = tl_pg_db_list_at(s->dbs, i);
		if (!strcmp(db->app, app)) {
			row->database = db->database;
			row->database_bytes = db->size_bytes;
			row->database_connections = db->connections;
		}
	}
	/* The backup list is newest first. */
	for (size_t i = 0; *row->database && i < tl_backup_list_count(s->backups); i++) {
		const tl_backup_info *b = tl_backup_list_at(s->backups, i);
		if (!strcmp(b->database, row->database)) {
			row->backup_file = b->file;
			row->backup_created = b->created;
			row->backup_bytes = b->size;
			break;
		}
	}
	for (size_t i = 0; i < tl_preview_list_count(s->previews); i++)
		row->previews += !strcmp(tl_preview_app(tl_preview_list_at(s->previews, i)), app);
}

/* The row points into the source lists; the report outlives them, so
 * the strings it shows are copied into the report's own storage. */
static int own_row(tl_status_report *r, tl_status_app *row)
{
	const char **fields[] = {&row->database, &row->backup_file};
	for (size_t i = 0; i < TL__ARRAY_SIZE(fields); i++) {
		if (!**fields[i])
			continue;
		if (tl__strv_push(&r->names, *fields[i]))
			return TL_ENOMEM;
		*fields[i] = r->names[tl__strv_len(r->names) - 1];
	}
	return TL_OK;
}

/* The platform's verdict: one unhealthy app decides it; Caddy's silence
 * only when no app is unhealthy. */
static void judge(tl_status_report *r)
{
	static const int rank[] = {[TL_APP_HEALTH_NONE] = 0, [TL_APP_HEALTH_OK] = 1,
	                           [TL_APP_HEALTH_UNKNOWN] = 2, [TL_APP_HEALTH_BAD] = 3};
	r->health = TL_APP_HEALTH_NONE;
	r->reason = "";
	for (size_t i = 0; i < r->napps; i++) {
		int h = tl_app_status_health(r->states[i]);
		if (h < 0 || h > TL_APP_HEALTH_UNKNOWN || rank[h] <= rank[r->health])
			continue;
		r->health = h;
		r->reason = h == TL_APP_HEALTH_OK ? "" : tl_app_status_reason(r->states[i]);
	}
}

static int add_app(tl_status_report *r, tl_ctx *ctx, const sources *s, const tl_app *a)
{
	tl_app_status *st = NULL;
	int rc = tl__project_status(&st, ctx, tl_app_name(a), tl_app_state_dir(a),
	                            tl_app_domain_at(a, 0));
	if (rc)
		return rc;
	r->states[r->napps] = st;
	if (tl__strv_push(&r->names, tl_app_name(a)))
		return TL_ENOMEM;
	tl_status_app *row = &r->apps[r->napps++];
	join_row(row, s, r->names[tl__strv_len(r->names) - 1]);
	return own_row(r, row);
}

int tl_status(tl_status_report **out, tl_ctx *ctx, const tl_status_options *opts)
{
	tl_status_options def = TL_STATUS_OPTIONS_INIT;
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	if (!opts)
		opts = &def;
	TL__CHECK_VERSION(opts, TL_STATUS_OPTIONS_VERSION, "tl_status_options");
	tl_app_list *list = NULL;
	tl_app *one = NULL;
	/* One app: the registry's own message when it is not registered. */
	int rc = opts->app ? tl_app_open(&one, ctx, opts->app) : tl_app_list_load(&list, ctx);
	if (rc)
		return rc;
	size_t n = one ? 1 : tl_app_list_count(list);
	tl_status_report *r = tl__calloc(1, sizeof(*r));
	sources s = {0};
	if (r && !(r->apps = tl__calloc(n ? n : 1, sizeof(*r->apps))))
		rc = TL_ENOMEM;
	else if (r && !(r->states = tl__calloc(n ? n : 1, sizeof(*r->states))))
		rc = TL_ENOMEM;
	else if (!r)
		rc = TL_ENOMEM;
	/* Caddy's configuration and Docker's containers read once for the
	 * whole report, not once per app or preview (each one's status reads
	 * them). */
	tl__report_begin(ctx);
	if (rc == TL_OK)
		rc = sources_load(&s, r, ctx, opts->app);
	for (size_t i = 0; rc == TL_OK && i < n; i++)
		rc = add_app(r, ctx, &s, one ? one : tl_app_list_at(list, i));
	tl__report_end(ctx);
	sources_dispose(&s);
	tl_app_list_free(list);
	tl_app_free(one);
	if (rc) {
		tl_status_free(r);
		return rc;
	}
	judge(r);
	*out = r;
	return TL_OK;
}

void tl_status_free(tl_status_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->napps; i++)
		tl_app_status_free(r->states[i]);
	for (size_t i = 0; i < SOURCE_COUNT; i++)
		free(r->errors[i]);
	tl__strv_free(r->names);
	free(r->states);
	free(r->apps);
	free(r);
}

size_t tl_status_app_count(const tl_status_report *r) { return r ? r->napps : 0; }

const tl_status_app *tl_status_app_at(const tl_status_report *r, size_t i)
{
	return r && i < r->napps ? &r->apps[i] : NULL;
}

const tl_app_status *tl_status_app_state(const tl_status_report *r, size_t i)
{
	return r && i < r->napps ? r->states[i] : NULL;
}

size_t tl_status_source_count(const tl_status_report *r) { return r ? SOURCE_COUNT : 0; }

const tl_status_source *tl_status_source_at(const tl_status_report *r, size_t i)
{
	return r && i < SOURCE_COUNT ? &r->sources[i] : NULL;
}

int tl_status_health(const tl_status_report *r) { return r ? r->health : TL_APP_HEALTH_NONE; }

const char *tl_status_reason(const tl_status_report *r) { return r ? r->reason : ""; }
