/* Internals of the release engine (lib/deploy). */
#ifndef TL_DEPLOY_INT_H
#define TL_DEPLOY_INT_H

#include "core/core.h"
#include "core/oplog.h"
#include "towlion/app.h"
#include "towlion/appenv.h"
#include "towlion/compose.h"
#include "towlion/envfile.h"
#include "towlion/deploy.h"
#include "towlion/docker.h"

#include <stdlib.h>

struct tl_release {
	char *id;
	int status;
	int64_t created;
	int64_t duration_ms;
	char *source, *commit, *requested_by, *error;
	char **svc, **img; /* service -> image, nsvc of each */
	size_t nsvc;
};

/* history.c */
int tl__release_add_service(tl_release *r, const char *service, const char *image);
int tl__release_copy(tl_release **out, const tl_release *r);
int tl__history_record(const char *state_dir, const tl_release *r);
int tl__history_load(tl_release_list **out, const char *state_dir);
const tl_release *tl__history_active(const tl_release_list *l);

/* source.c: check out `ref` of `url` into `dest`; `commit` gets the sha. */
int tl__source_git(tl_buf *commit, tl_ctx *ctx, const char *dest, const char *url,
                   const char *ref);
/* The HEAD commit of a directory that is a git checkout; TL_ENOTFOUND
 * (error cleared) otherwise. */
int tl__source_commit_of(tl_buf *commit, tl_ctx *ctx, const char *dir);

/* health.c: poll http://<hostport><path> until healthy or timeout_ms.
 * `alive` (may be NULL) tells whether the container still runs. */
typedef int (*tl__container_alive_fn)(void *payload);
int tl__health_wait(tl_ctx *ctx, const char *hostport, const char *path, long timeout_ms,
                    const tl__container_alive_fn alive, void *alive_payload);
/* One probe, bounded by timeout_ms (for status, which asks a running
 * release rather than waiting for a new one): TL_OK, or TL_EUNHEALTHY
 * with why as the error message. */
int tl__health_once(tl_ctx *ctx, const char *hostport, const char *path, long timeout_ms);

/* ---- the plan: what to run, from the compose file (plan.c) ---- */

/* A file at /run/secrets/<target> holding the app's value of `env_key`
 * (compose secrets:, secrets.c). The value is looked up at each deploy and
 * never saved; NULL when not given (a preview, a production-only key). */
typedef struct {
	char *target;
	char *env_key;
	int uid, gid, mode;
	char *value;
} tl__svc_secret;

typedef struct {
	char *name;            /* compose service name */
	char *image;           /* image to run (built images: set by build) */
	bool build;            /* has a build section */
	char *build_context;   /* absolute directory */
	char *dockerfile;      /* relative to the context, or NULL */
	char *target;          /* build target, or NULL */
	char **build_args;     /* "K=V", NULL-terminated */
	char **command;        /* argv or NULL */
	char **entrypoint;     /* argv or NULL */
	char **env;            /* "K=V": compose env, then the platform's */
	char **labels;         /* "K=V" from the compose file */
	char **binds;          /* "source:target[:ro]", sources absolute */
	char **tmpfs;          /* "target[:options]" */
	char **extra_hosts;    /* "host:ip" */
	char **healthcheck;    /* Docker test form, or NULL */
	long hc_interval_ms, hc_timeout_ms, hc_start_ms;
	int hc_retries;
	char *user, *workdir, *restart, *stop_signal;
	int init;              /* -1: unset (we default to 1) */
	int read_only;
	int stop_grace_s;      /* -1: unset */
	double cpus;
	int64_t memory;
	int replicas;          /* deploy.replicas; -1: unset (one) */
	char **constraints;    /* deploy.placement.constraints (swarm), or NULL */
	tl__svc_secret *secrets; /* compose secrets:, nsecrets of them */
	size_t nsecrets;
	/* routing (from x-towlion, or the web service defaults) */
	bool routed;
	int port;              /* container port Caddy reaches */
	char *route_path;      /* e.g. "/api/" + "*"; NULL: the default route */
	char *health_path;
} tl__svc;

typedef struct {
	tl__svc *svcs;         /* in start order (depends_on) */
	size_t n;
	char *compose_path;
	char *web_service;     /* runs the release command */
	char *release_command; /* from x-towlion, or NULL */
	char *domain;          /* from x-towlion, or NULL */
} tl__plan;

/* The project a release belongs to: an app, or a preview of one. */
typedef struct {
	const char *name;          /* "shop" or "shop-pr-7": containers, site */
	const char *app;           /* "shop" (label towlion.app) */
	const char *pr;            /* "7", or NULL */
	char *state_dir;           /* history lives here */
	char *checkout_dir;        /* TOWLION_APPS_DIR/<name> (git sources) */
	char *env_path;            /* platform env file (DATABASE_URL...) */
	char **hosts;              /* hostnames to route, NULL-terminated */
	/* settings: registry > x-towlion > defaults */
	const char *web_service;
	int port;
	const char *health_path;
	const char *release_command;
	int drain_ms;
	int keep_images;
	bool strict;               /* untrusted compose file (previews) */
	double cpus;               /* limits for every container; 0: none */
	int64_t memory;
	tl_app *registry;          /* owned: where the settings above point */
	bool restart;              /* with `from`: run it again as a new release (restart.c) */
	bool dry_run;              /* with `from`: check as the real call, change nothing */
} tl__project;

/* plan.c: read the compose file under `dir` into a plan for `p`. */
int tl__plan_load(tl__plan *plan, tl_ctx *ctx, const tl__project *p, const char *dir);
void tl__plan_dispose(tl__plan *plan);

/* app_ops.c: the project of a registered app (registry settings). */
int tl__app_project(tl__project *p, tl_app **app, tl_ctx *ctx, const char *name);

/* Set KEY=value in an env vector, replacing an earlier KEY. */
int tl__env_set(char ***env, const char *key, const char *value);

/* plan_json.c: plans saved with their release, for rollbacks. */
int tl__plan_to_json(tl_buf *out, const tl__plan *plan);
int tl__plan_from_json(tl__plan *plan, const char *text, const char *what);
int tl__plan_save(const char *state_dir, const char *release, const char *json);
int tl__plan_restore(tl__plan *plan, const char *state_dir, const char *release);
void tl__plan_forget(const char *state_dir, const char *release);

/* engine.c: the engine, shared by apps and previews. With `from` (a
 * rollback), no source, build or release command: the saved plan of that
 * release runs from its kept images. */
int tl__deploy_project(tl_release **out, tl_ctx *ctx, tl__project *p,
                       const tl_deploy_options *o, const tl_release *from);
/* Remove every container and image of a project and its route. */
int tl__project_teardown(tl_ctx *ctx, const tl__project *p);
void tl__project_dispose(tl__project *p);

/* ---- a service's secrets (secrets.c) ---- */

void tl__svc_secrets_free(tl__svc *s);
int tl__svc_secrets_from_compose(tl__svc *out, const tl_compose_service *s);
json_t *tl__svc_secrets_json(const tl__svc *s);
int tl__svc_secrets_from_json(tl__svc *s, const json_t *a, const char *what, size_t svc);
/* Whether `key` is the source of one of the service's secrets. */
bool tl__svc_secret_key(const tl__svc *s, const char *key);
/* Look up each secret's value: the platform's values (`env`, APP_DOMAIN)
 * first, then the app's settings; a preview (not `production`) leaves a
 * production-only one out with a warning; a key with no value is
 * TL_ENOTFOUND naming it. */
int tl__svc_secrets_resolve(tl_ctx *ctx, tl__svc *s, const tl_appenv *settings,
                            const tl_envfile *env, const char *app_domain, bool production);
/* One server: write the service's given secrets under
 * <state>/secrets/<release>/<service>/ (*dir: that directory, NULL when
 * none is given), each with its owner and mode. */
int tl__secret_files_write(char **dir, const tl__project *p, const char *release,
                           const tl__svc *s);
/* Remove <state>/secrets/<release> of every release not in `live`. */
int tl__secret_files_prune(const tl__project *p, char *const *live);

/* ---- the tenant network of a project (tenant_net.c) ---- */

typedef struct {
	char *name;         /* <TOWLION_NETWORK>-app-<project> */
	char **extra_hosts; /* "postgres:host-gateway"...: shared services on the host */
} tl__tenant_net;

/* The name of a project's network (NULL on ENOMEM). */
char *tl__tenant_network(tl_ctx *ctx, const char *project);
/* Make sure the project's network exists; connect Caddy (required in the
 * network upstream mode) and the shared services' containers to it. */
int tl__tenant_net_join(tl__tenant_net *out, tl_ctx *ctx, tl_docker *d, const tl__project *p);
void tl__tenant_net_dispose(tl__tenant_net *n);
/* Connect the shared services' platform containers to the project's
 * network `net` (a bridge, or a swarm's attachable overlay) under their
 * reserved names, and Caddy without a name when `with_caddy` (required
 * then); for each shared service not run as a platform container, its
 * names as "NAME:host-gateway" appended to *extra_hosts. */
int tl__tenant_net_platform(char ***extra_hosts, tl_ctx *ctx, tl_docker *d, const char *net,
                            const char *project, bool with_caddy);
/* Disconnect the platform's containers from `net` (those not on it: fine). */
int tl__tenant_net_leave(tl_docker *d, const char *net);
/* Disconnect the platform's containers and remove the network (gone
 * already: fine). The project's own containers must be gone first. */
int tl__tenant_net_remove(tl_ctx *ctx, tl_docker *d, const char *project);

/* ---- the engine's working state (engine.c, spec.c, converge.c) ---- */

/* One unit (runtime.h) this attempt started. */

typedef struct {
	const tl__svc *svc;
	char *name;
	char **upstreams; /* what Caddy uses: one per task (one container: one) */
	char **probes;    /* where we check health from here, in the same order */
} tl__started_container;

typedef struct {
	tl_ctx *ctx;
	tl__project *p;
	tl_docker *docker;
	tl__plan plan;
	char *release_id;
	char *src_dir;
	tl_buf commit;
	tl__started_container *run;
	size_t nrun;
	tl_release *rel;
	long health_timeout_ms;
	tl_buf plan_json; /* the plan as built, before the platform's env */
	tl__tenant_net net; /* the project's own network */
	const struct tl__runtime *rt; /* the engine (runtime.h); NULL: from TOWLION_ENGINE */
} tl__deploy_attempt;

typedef struct tl__runtime tl__runtime;

#define LOG_TAIL_LINES 15

int tl__label_filter(char ***out, const tl__project *p, const char *release);
/* route.c: the service of the default route (routed, no path of its own). */
const tl__svc *tl__plan_default_svc(const tl__plan *plan);
/* route.c: route the project's hosts to the upstreams of its routed units
 * (`run`): the default route, and a path route per route_path of `plan`;
 * one route change (tl_caddy_route_set) moves them all. */
int tl__route_units(tl_ctx *ctx, const tl__project *p, const tl__plan *plan,
                    const tl__started_container *run, size_t nrun);
/* The limits a service's containers get: the app's and the compose
 * file's, the lower of the two where both are set (0: none). */
void tl__svc_limits(double *cpus, int64_t *mem, const tl__project *p, const tl__svc *svc);
int tl__build_spec(tl_docker_container_spec **out, const tl__deploy_attempt *a, const tl__svc *svc,
                   const char *name, const char *role);
/* runtime.c: through the attempt's engine (runtime.h). */
void tl__fail_with_logs(tl__deploy_attempt *a, const char *unit, int code, const char *what);
/* app_ops.c: the size of each version of tl_rollback_options, for its
 * init and its readers (tl_rollback, tl_restart). */
extern const size_t tl__rollback_options_sizes[2];
int tl__remove_other_releases(tl__deploy_attempt *a, char *const *keep, const char *role,
                              int drain_ms);
int tl__serving_releases(char ***keep, tl__deploy_attempt *a);
void tl__prune_images(tl__deploy_attempt *a);

/* recover.c: the in-flight record of a deploy, rollback or preview up
 * (kind), written under the project lock before anything changes; and
 * settling one a dead process left (finish or undo, told through an event,
 * a warning and a line in `done`, which may be NULL). */
int tl__deploy_op_begin(tl_ctx *ctx, const tl__project *p, const char *kind,
                        const char *release);
int tl__deploy_op_settle(tl_ctx *ctx, const tl__project *p, tl_docker *docker, tl_buf *done);
/* status.c: the status of a project from what is (its containers as
 * Docker has them, its route as Caddy has it, its health path asked now),
 * its history and plans in `state_dir`, its site at `host`. What
 * tl_app_status_get says of an app, for a preview, and metrics. */
int tl__project_status(tl_app_status **out, tl_ctx *ctx, const char *project,
                       const char *state_dir, const char *host);
/* app_ops.c: finish the destroy a killed process left in flight (record
 * `rec` of `project`), under the app lock *lock held by the caller: on
 * success the lock file is gone too (*lock NULL), and a line is appended
 * to `done`. */
int tl__app_destroy_finish(tl_ctx *ctx, const char *project, const json_t *rec,
                           tl__lock **lock, tl_buf *done);
/* recover.c: say that an operation in flight on `project` was settled
 * (`what`: finished or undone, and how), the same way for every kind: a
 * step event (deploy.settle) and a warning. */
void tl__deploy_settled(tl_ctx *ctx, const char *project, const char *what);

#endif
