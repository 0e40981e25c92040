/*
 * The route of a project from its routed units: what a deploy switches to
 * (engine.c) and what `cluster reroute` writes again when Swarm moved a
 * unit's tasks (reroute.c).
 */
#include "deploy_int.h"
#include "towlion/caddy.h"

#include <string.h>

const tl__svc *tl__plan_default_svc(const tl__plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->svcs[i].routed && !plan->svcs[i].route_path)
			return &plan->svcs[i];
	return NULL;
}

int tl__route_units(tl_ctx *ctx, const tl__project *p, const tl__plan *plan,
                    const tl__started_container *run, size_t nrun)
{
	tl_caddy_route r = TL_CADDY_ROUTE_INIT;
	tl_caddy_path paths[TL_CADDY_MAX_PATHS];
	const char *ups[TL_CADDY_MAX_PATHS + 1][TL_CADDY_MAX_UPSTREAMS];
	size_t nups[TL_CADDY_MAX_PATHS + 1] = {0};
	size_t npaths = 0;
	const tl__svc *web = tl__plan_default_svc(plan);
	r.site = p->name;
	r.hosts = (const char *const *)p->hosts;
	r.nhosts = tl__strv_len(p->hosts);
	r.health_uri = web ? web->health_path : NULL;
	for (size_t i = 0; i < nrun; i++) {
		const tl__started_container *st = &run[i];
		if (!st->svc->routed)
			continue;
		size_t slot = 0; /* 0: default route; k+1: path k */
		if (st->svc->route_path) {
			size_t k = 0;
			while (k < npaths && strcmp(paths[k].path, st->svc->route_path))
				k++;
			if (k == npaths) {
				if (npaths == TL_CADDY_MAX_PATHS)
					return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
					                     "too many path routes (at most %d)",
					                     TL_CADDY_MAX_PATHS);
				paths[npaths] = (tl_caddy_path){st->svc->route_path, NULL, 0,
				                                st->svc->health_path};
				npaths++;
			}
			slot = k + 1;
		}
		for (size_t k = 0; st->upstreams && st->upstreams[k]; k++)
			if (nups[slot] < TL_CADDY_MAX_UPSTREAMS)
				ups[slot][nups[slot]++] = st->upstreams[k];
	}
	for (size_t k = 0; k < npaths; k++) {
		paths[k].upstreams = ups[k + 1];
		paths[k].nupstreams = nups[k + 1];
	}
	r.upstreams = ups[0];
	r.nupstreams = nups[0];
	r.paths = npaths ? paths : NULL;
	r.npaths = npaths;
	return tl_caddy_route_set(ctx, &r);
}
