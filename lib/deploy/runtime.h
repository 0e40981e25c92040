/*
 * What a deploy asks of the engine that runs its containers: one ops table
 * per engine, picked once per attempt from TOWLION_ENGINE, so that the
 * release engine (engine.c) never asks which engine it runs on.
 *
 * A "unit" is what one start makes: a container on one server
 * (runtime_docker.c), a service of N tasks on a swarm (runtime_swarm.c).
 * Units carry the labels towlion.app, towlion.project, towlion.release,
 * towlion.service, towlion.role (web, worker, release) and towlion.pr,
 * whatever the engine: what serves and what goes is read from them.
 */
#ifndef TL_DEPLOY_RUNTIME_H
#define TL_DEPLOY_RUNTIME_H

#include "deploy_int.h"
#include "towlion/caddy.h"

struct tl__runtime {
	const char *engine; /* "docker", "swarm" */
	/* The project's own network (a->net), with what the platform puts on
	 * it, before the first unit. */
	int (*join)(tl__deploy_attempt *a);
	/* Start the unit st->name of st->svc for this release in `role`; for
	 * routed services, st->upstream (Caddy) and st->probe (the health
	 * probe from here) say where it answers. */
	int (*start)(tl__deploy_attempt *a, tl__started_container *st, const char *role);
	/* Whether the unit still runs (or may yet): 0 ends a health wait. */
	int (*alive)(tl__deploy_attempt *a, const char *unit);
	/* Remove a unit this attempt started (gone already: fine). */
	void (*remove)(tl__deploy_attempt *a, const char *unit);
	/* Run `cmd` once in the image of `svc` as unit `name`, wait for it,
	 * remove it; a non-zero exit is an error carrying its last log lines. */
	int (*run_once)(tl__deploy_attempt *a, const tl__svc *svc, const char *name,
	                const char *cmd, long timeout_ms);
	/* Replace the last error with `what`, the error and why the unit
	 * failed (its last log lines; on a swarm, the scheduler's reason). */
	void (*fail_with_logs)(tl__deploy_attempt *a, const char *unit, int code,
	                       const char *what);
	/* Stop and remove the project's units (of `role`, or all) whose
	 * release is not in `keep`, after draining them for `drain_ms`. */
	int (*remove_others)(tl__deploy_attempt *a, char *const *keep, const char *role,
	                     int drain_ms);
	/* Add to *keep the releases of the units the route of `site` points
	 * at (tl__serving_releases reads the history and the route). */
	int (*routed)(char ***keep, tl__deploy_attempt *a, const tl_caddy_site *site);
	/* destroy: every unit of the project, then its network. */
	int (*remove_units)(tl_ctx *ctx, tl_docker *d, const tl__project *p);
	int (*remove_network)(tl_ctx *ctx, tl_docker *d, const char *project);
	/* Remove the secrets (files, Docker secrets) no unit of the project
	 * uses any more; best effort (a warning). */
	void (*prune_secrets)(tl__deploy_attempt *a);
};

extern const tl__runtime tl__runtime_docker;
extern const tl__runtime tl__runtime_swarm;

/* The engine TOWLION_ENGINE names. */
const tl__runtime *tl__runtime_for(tl_ctx *ctx);
/* The attempt's engine (picked when it was set up, or now). */
const tl__runtime *tl__runtime_of(tl__deploy_attempt *a);

/* The single-server engine's parts (converge.c, spec.c), also used where
 * only local containers exist. */
int tl__docker_remove_other_releases(tl__deploy_attempt *a, char *const *keep,
                                     const char *role, int drain_ms);
int tl__docker_routed_releases(char ***keep, tl__deploy_attempt *a,
                               const tl_caddy_site *site);
void tl__docker_fail_with_logs(tl__deploy_attempt *a, const char *container, int code,
                               const char *what);

/* Replace the last error with "what: error; last log lines: tail",
 * the tail bounded so the message stays readable. */
void tl__fail_with_tail(const char *tail, int code, const char *what);

#endif
