/*
 * libtowlion - releases: build, migrate, health-gated switch, rollback.
 *
 * A deploy turns an app's source into a running, routed release without
 * dropping a request, and can never leave the app broken:
 *
 *  1. take the app's lock (waits, or TL_ELOCKED naming the holder);
 *  2. read the compose file and the app's env; merge the app's settings
 *     (appenv.h) and then the platform's values (DATABASE_URL, REDIS_URL,
 *     S3_*, APP_DOMAIN) into the containers' env;
 *  3. build the images, tagged with the release id and labelled;
 *  4. run the release command (migrations) in a one-off container: a
 *     failure stops here, nothing else changed;
 *  5. start the new routed containers next to the old ones;
 *  6. wait until each answers its health path (2xx, and {"status":"ok"}
 *     when JSON): a failure removes them, the old release keeps serving,
 *     and TL_EUNHEALTHY carries the container's last log lines;
 *  7. switch the route to the new containers in one step, let the old ones
 *     drain, stop and remove them;
 *  8. recreate the other services (workers) on the new images;
 *  9. record the release and prune images beyond the app's keep count.
 *
 * Each step is reported as a TL_EVENT_STEP event ("deploy.build", ...);
 * secrets never reach events. A deploy killed halfway is cleaned up by the
 * next one: it converges to one healthy routed release, no orphans.
 */
#ifndef TOWLION_DEPLOY_H
#define TOWLION_DEPLOY_H

#include "towlion/common.h"
#include "towlion/context.h"
#include "towlion/docker.h"

TL_BEGIN_DECL

/** A recorded release of an app. */
typedef struct tl_release tl_release;
typedef struct tl_release_list tl_release_list;

typedef enum {
	TL_RELEASE_ACTIVE = 0,     /* serving now */
	TL_RELEASE_SUPERSEDED = 1, /* served before; its images may be kept */
	TL_RELEASE_FAILED = 2      /* never served (build, migration, health) */
} tl_release_state;

typedef struct {
	unsigned int version;     /* TL_DEPLOY_OPTIONS_VERSION */
	const char *path;         /* deploy this directory as it is, or */
	const char *git_url;      /* clone/fetch this repository and */
	const char *git_ref;      /* check out this ref or commit */
	const char *release_id;   /* NULL: <UTC time>-<commit> */
	long health_timeout_ms;   /* 0: 60 s */
	long lock_timeout_ms;     /* 0: 10 min; < 0: do not wait */
	const char *requested_by; /* recorded in the history ("cli", "ci") */
} tl_deploy_options;

#define TL_DEPLOY_OPTIONS_VERSION 1
#define TL_DEPLOY_OPTIONS_INIT {TL_DEPLOY_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0, NULL}

TL_EXTERN(int) tl_deploy_options_init(tl_deploy_options *opts, unsigned int version);

/**
 * Deploy a registered app. `out` (may be NULL) receives the new release.
 * TL_EUNHEALTHY: the new release never became healthy (the old one still
 * serves); TL_ELOCKED: another operation holds the app; TL_ENOTFOUND: no
 * such app or no compose file; TL_EINVALID: a bad compose file or option.
 */
TL_EXTERN(int) tl_deploy(tl_release **out, tl_ctx *ctx, const char *app,
                         const tl_deploy_options *opts);

/**
 * What tl_deploy() would do, as a JSON document, changing nothing (for
 * --dry-run): the hosts, the compose file, each service with its image or
 * build, whether it is routed (port, path, health path), and the release
 * command. Environment values are left out. A git source is not fetched:
 * the document names the URL and ref instead of the services.
 */
TL_EXTERN(int) tl_deploy_describe(tl_buf *json, tl_ctx *ctx, const char *app,
                                  const tl_deploy_options *opts);

typedef struct {
	unsigned int version;   /* TL_ROLLBACK_OPTIONS_VERSION */
	const char *release_id; /* NULL: the release before the active one */
	long health_timeout_ms; /* 0: 60 s */
	long lock_timeout_ms;   /* 0: 10 min */
	const char *requested_by;
	/* version 2: */
	int dry_run; /* decide and check as the real call, change nothing */
} tl_rollback_options;

#define TL_ROLLBACK_OPTIONS_VERSION 2
#define TL_ROLLBACK_OPTIONS_INIT {TL_ROLLBACK_OPTIONS_VERSION, NULL, 0, 0, NULL, 0}

TL_EXTERN(int) tl_rollback_options_init(tl_rollback_options *opts, unsigned int version);

/**
 * Put an earlier release back, from its kept images, through the same
 * health-gated switch (the release command is not run again; database
 * migrations are not reverted). TL_ENOTFOUND when the release or its
 * images are gone; TL_EINVALID when it never served or serves already.
 *
 * With `dry_run` (version 2), the same code path chooses the release and
 * checks it (its saved plan, its kept images, what serves now) and stops
 * before the app's lock: nothing changes, `out` gets the release that would
 * come back, and a refusal is the one the real call would give now. (A
 * rollback that a killed operation left in flight is settled by the real
 * call first; the dry run does not settle it.)
 */
TL_EXTERN(int) tl_rollback(tl_release **out, tl_ctx *ctx, const char *app,
                           const tl_rollback_options *opts);

/** The app's release history, newest first. */
/**
 * Settle what killed processes left in flight: route changes (as
 * tl_caddy_reconcile()) and deploys, rollbacks and preview ups whose
 * project lock is free. Each is finished (the release had been recorded
 * as serving) or undone (the route goes back, the release's containers,
 * images and plan go), and said so in an event, a warning and one line of
 * `done` (may be NULL; "" when nothing was in flight). An operation still
 * running is left alone. Only directory reads when nothing is in flight.
 */
TL_EXTERN(int) tl_deploy_repair(tl_buf *done, tl_ctx *ctx);

TL_EXTERN(int) tl_release_list_load(tl_release_list **out, tl_ctx *ctx, const char *app);
TL_EXTERN(size_t) tl_release_list_count(const tl_release_list *list);
TL_EXTERN(const tl_release *) tl_release_list_at(const tl_release_list *list, size_t i);
TL_EXTERN(void) tl_release_list_free(tl_release_list *list);

TL_EXTERN(void) tl_release_free(tl_release *release);
TL_EXTERN(const char *) tl_release_id(const tl_release *r);
TL_EXTERN(int) tl_release_status(const tl_release *r); /* a tl_release_state */
/** "active", "superseded", "failed". */
TL_EXTERN(const char *) tl_release_status_name(int status);
/** When the deploy started, Unix seconds. */
TL_EXTERN(int64_t) tl_release_created(const tl_release *r);
/** Source: "path:/srv/x", "git:URL#ref", or for a rollback "rollback:" and the
 * source of the release it brought back. */
TL_EXTERN(const char *) tl_release_source(const tl_release *r);
TL_EXTERN(const char *) tl_release_commit(const tl_release *r);
TL_EXTERN(const char *) tl_release_requested_by(const tl_release *r);
/** Why it failed, or "". */
TL_EXTERN(const char *) tl_release_error(const tl_release *r);
/** The image of each service of the release. */
TL_EXTERN(size_t) tl_release_service_count(const tl_release *r);
TL_EXTERN(const char *) tl_release_service_at(const tl_release *r, size_t i,
                                              const char **image);
/** Duration of the deploy in ms (0 when unknown). */
TL_EXTERN(int64_t) tl_release_duration_ms(const tl_release *r);

typedef struct {
	unsigned int version; /* TL_DESTROY_OPTIONS_VERSION */
	int confirm;          /* must be non-zero: destroying is not undoable */
	int purge;            /* also drop the database, Redis user and bucket */
	long lock_timeout_ms;
} tl_destroy_options;

#define TL_DESTROY_OPTIONS_VERSION 1
#define TL_DESTROY_OPTIONS_INIT {TL_DESTROY_OPTIONS_VERSION, 0, 0, 0}

/** Since 0.2 (symbol version TOWLION_0.2). */
TL_EXTERN(int) tl_destroy_options_init(tl_destroy_options *opts, unsigned int version);

/**
 * Remove an app: its route, containers and images, its object storage
 * user and keys (when TOWLION_S3_ADMIN_API is iam), then its registry
 * entry; with `purge` also its database and role, Redis user and bucket.
 * TL_EINVALID without `confirm`.
 */
TL_EXTERN(int) tl_app_destroy(tl_ctx *ctx, const char *app, const tl_destroy_options *opts);

/** An app at a glance (tl_app_status_get). */
typedef struct tl_app_status tl_app_status;

typedef struct {
	const char *name;    /* container name */
	const char *service; /* compose service */
	const char *release;
	const char *state;   /* "running", "exited", ... */
	const char *health;  /* "healthy", "unhealthy", "starting", or "" */
	const char *upstream; /* host:port Caddy uses, or "" */
	int64_t created;
	/* TOWLION_ENGINE=swarm: the Swarm task's node (hostname) and state
	 * ("running", "pending"...); "" on one server. */
	const char *node;
	const char *task_state;
} tl_app_container;

TL_EXTERN(int) tl_app_status_get(tl_app_status **out, tl_ctx *ctx, const char *app);
TL_EXTERN(void) tl_app_status_free(tl_app_status *st);
/** The active release id, or "" before the first deploy. */
TL_EXTERN(const char *) tl_app_status_release(const tl_app_status *st);
/** When the active release went live, Unix seconds (0: never). */
TL_EXTERN(int64_t) tl_app_status_since(const tl_app_status *st);
/** "https://shop.example.com", or "" without a route. */
TL_EXTERN(const char *) tl_app_status_url(const tl_app_status *st);
/** 1 when every routed container answers its health path. */
TL_EXTERN(int) tl_app_status_healthy(const tl_app_status *st);
TL_EXTERN(size_t) tl_app_status_container_count(const tl_app_status *st);
TL_EXTERN(const tl_app_container *) tl_app_status_container_at(const tl_app_status *st,
                                                               size_t i);

/* ---- what status found beyond the active release's containers -------- */

/** The app's route as Caddy has it live (tl_app_status_route). */
typedef enum {
	TL_APP_ROUTE_NONE = 0,      /* not deployed: no route expected */
	TL_APP_ROUTE_OK = 1,        /* every upstream is a container of the active release */
	TL_APP_ROUTE_MISSING = 2,   /* Caddy routes nothing for the app's host */
	TL_APP_ROUTE_ELSEWHERE = 3, /* an upstream is not a container of the active release */
	TL_APP_ROUTE_UNKNOWN = 4    /* Caddy's admin API did not answer */
} tl_app_route_state;

/** The verdict of tl_app_status_health(). */
typedef enum {
	TL_APP_HEALTH_NONE = 0,   /* never deployed: nothing to judge */
	TL_APP_HEALTH_OK = 1,     /* tl_app_status_healthy() */
	TL_APP_HEALTH_BAD = 2,    /* not healthy: tl_app_status_reason() says why */
	TL_APP_HEALTH_UNKNOWN = 3 /* the containers are fine but Caddy did not answer:
	                             whether the app is reached is unknown */
} tl_app_health;

/** A tl_app_health: unlike tl_app_status_healthy(), tells an app that is
 * not healthy from one whose health Caddy's silence leaves unknown. */
TL_EXTERN(int) tl_app_status_health(const tl_app_status *st);
/** "none", "healthy", "unhealthy", "unknown". */
TL_EXTERN(const char *) tl_app_health_name(int health);

/** A tl_app_route_state. An app is healthy only with TL_APP_ROUTE_OK. */
TL_EXTERN(int) tl_app_status_route(const tl_app_status *st);
/** "none", "ok", "missing", "elsewhere", "unknown". */
TL_EXTERN(const char *) tl_app_route_state_name(int state);
/** The upstreams (dial addresses) Caddy sends the app's first host to. */
TL_EXTERN(size_t) tl_app_status_route_upstream_count(const tl_app_status *st);
TL_EXTERN(const char *) tl_app_status_route_upstream_at(const tl_app_status *st, size_t i);
/** Why the app is not healthy ("container shop-app-x1y2 is exited; Caddy
 * has no route for shop.example.com"), or "" when it is (or was never
 * deployed). */
TL_EXTERN(const char *) tl_app_status_reason(const tl_app_status *st);
/** Who holds the app's lock now ("pid 12 (towlion deploy) since ..."), or
 * "": with an operation in progress, its new containers show as leftovers
 * until it switches. */
TL_EXTERN(const char *) tl_app_status_operation(const tl_app_status *st);
/**
 * Leftovers: the app's containers of releases that are not the active one
 * (what a killed deploy or release command left, running or stopped).
 * They count neither for nor against the app's health; the containers of
 * tl_app_status_container_at() are the active release's only.
 */
TL_EXTERN(size_t) tl_app_status_leftover_count(const tl_app_status *st);
TL_EXTERN(const tl_app_container *) tl_app_status_leftover_at(const tl_app_status *st,
                                                              size_t i);

/**
 * Remove the app's leftovers: under the app's lock (waiting up to
 * `lock_timeout_ms`; 0: 10 s, < 0: do not wait; TL_ELOCKED naming the
 * holder), every container of a release that does not serve (neither the
 * active one nor one Caddy's route points at) is stopped and removed, as
 * the next deploy would. `removed` (may be NULL) gets their names, one a
 * line.
 */
TL_EXTERN(int) tl_app_leftovers_remove(tl_buf *removed, tl_ctx *ctx, const char *app,
                                       long lock_timeout_ms);

/**
 * Run the active release again as a new release, so that its containers
 * get the environment of now (the app's settings, `towlion env`, and the
 * platform's values): the saved plan and kept images of the active
 * release, new containers next to the old ones, the same health-gated
 * switch and drain as a deploy (the release command is not run). The new
 * release is recorded with source "restart:<source of the active one>".
 * `opts->release_id` must be NULL; `opts` may be NULL. TL_ENOTFOUND: no
 * such app, nothing deployed yet, or its images were pruned. With
 * `opts->dry_run`, checks as tl_rollback() does and changes nothing; `out`
 * gets the release it would run again.
 */
TL_EXTERN(int) tl_restart(tl_release **out, tl_ctx *ctx, const char *app,
                          const tl_rollback_options *opts);

/**
 * The logs of APP's compose service `service` ("app" when NULL) on the
 * engine TOWLION_ENGINE names: on one server its running container (else
 * the newest one), on a swarm its newest Swarm service, every task's lines
 * wherever they run. Lines arrive as OUTPUT events, as from
 * tl_docker_container_logs with NULL buffers (stderr's at TL_LOG_WARN);
 * with `follow` it returns TL_EUSER when cancelled or stopped. `unit`
 * (may be NULL) gets the container's or service's id.
 * TL_ENOTFOUND when the app has no such service.
 */
TL_EXTERN(int) tl_app_logs(tl_buf *unit, tl_ctx *ctx, const char *app, const char *service,
                           const tl_docker_logs_options *opts);

TL_END_DECL

#endif
