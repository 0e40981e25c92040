/*
 * libtowlion - the platform at a glance (what `towlion status` prints).
 *
 * tl_status() joins, per registered app, what is (tl_app_status_get: the
 * live release, health, route and containers) with what the platform
 * keeps beside it: the app's database and its size, the newest backup of
 * that database, the number of its previews. Frontends print the result;
 * they join nothing themselves.
 *
 * The apps' own status must be read (an error there fails the call). The
 * other sources are best effort: one that does not answer leaves its
 * columns empty and says why in its tl_status_source row, so that an
 * unreachable PostgreSQL is never mistaken for an app without a database.
 */
#ifndef TOWLION_STATUS_H
#define TOWLION_STATUS_H

#include "towlion/common.h"
#include "towlion/context.h"
#include "towlion/deploy.h"

TL_BEGIN_DECL

/** The result of tl_status(), freed by tl_status_free(). */
typedef struct tl_status_report tl_status_report;

typedef struct {
	unsigned int version; /* TL_STATUS_OPTIONS_VERSION */
	const char *app;      /* NULL: every registered app; else only this one */
} tl_status_options;

#define TL_STATUS_OPTIONS_VERSION 1
#define TL_STATUS_OPTIONS_INIT {TL_STATUS_OPTIONS_VERSION, NULL}

TL_EXTERN(int) tl_status_options_init(tl_status_options *opts, unsigned int version);

/** What the platform keeps beside one app (tl_status_app_at). */
typedef struct {
	const char *app;
	const char *database;     /* its database, or "" (none, or PostgreSQL did not answer) */
	int64_t database_bytes;   /* -1 without a database */
	int database_connections; /* open connections to it now */
	const char *backup_file;  /* the newest backup of the database, or "" */
	int64_t backup_created;   /* Unix seconds; 0 without a backup */
	int64_t backup_bytes;
	int previews;             /* running previews of the app */
} tl_status_app;

/** A source status read beside the apps: "postgres" (databases), "backups",
 * "previews". */
typedef struct {
	const char *name;
	int answered;      /* 1: read; 0: its columns are empty, `error` says why */
	const char *error; /* "" when answered */
} tl_status_source;

/**
 * The platform at a glance: every registered app (or only `opts->app`;
 * the registry's TL_ENOTFOUND when it is not registered), in the
 * registry's order. `opts` may be NULL. Reads only: Docker, Caddy's admin
 * API, PostgreSQL, the backup directory, the preview registry.
 */
TL_EXTERN(int) tl_status(tl_status_report **out, tl_ctx *ctx, const tl_status_options *opts);
TL_EXTERN(void) tl_status_free(tl_status_report *report);

TL_EXTERN(size_t) tl_status_app_count(const tl_status_report *report);
TL_EXTERN(const tl_status_app *) tl_status_app_at(const tl_status_report *report, size_t i);
/** The app's own status (release, health, route, containers...: the
 * tl_app_status_* accessors), owned by the report. */
TL_EXTERN(const tl_app_status *) tl_status_app_state(const tl_status_report *report, size_t i);

TL_EXTERN(size_t) tl_status_source_count(const tl_status_report *report);
TL_EXTERN(const tl_status_source *) tl_status_source_at(const tl_status_report *report,
                                                        size_t i);

/**
 * The platform's verdict, a tl_app_health: TL_APP_HEALTH_BAD when an app
 * is not healthy; else TL_APP_HEALTH_UNKNOWN when Caddy's silence leaves
 * an app's health unknown; else TL_APP_HEALTH_OK when an app is deployed;
 * else TL_APP_HEALTH_NONE.
 */
TL_EXTERN(int) tl_status_health(const tl_status_report *report);
/** Why the verdict is not healthy: the reason of the first app that
 * decides it ("" when healthy or nothing is deployed). */
TL_EXTERN(const char *) tl_status_reason(const tl_status_report *report);

TL_END_DECL

#endif
