/*
 * The engine of an attempt (runtime.h), and what the release engine asks
 * of it without knowing which one it is.
 */
#include "runtime.h"

#include <string.h>

const tl__runtime *tl__runtime_for(tl_ctx *ctx)
{
	return strcmp(tl__cfg(ctx, "TOWLION_ENGINE"), "swarm") ? &tl__runtime_docker
	                                                      : &tl__runtime_swarm;
}

const tl__runtime *tl__runtime_of(tl__deploy_attempt *a)
{
	if (!a->rt)
		a->rt = tl__runtime_for(a->ctx);
	return a->rt;
}

void tl__fail_with_logs(tl__deploy_attempt *a, const char *unit, int code, const char *what)
{
	tl__runtime_of(a)->fail_with_logs(a, unit, code, what);
}

int tl__remove_other_releases(tl__deploy_attempt *a, char *const *keep, const char *role,
                              int drain_ms)
{
	return tl__runtime_of(a)->remove_others(a, keep, role, drain_ms);
}

/* The releases serving now: the history's active one, and that of every
 * unit the route points at (a deploy killed between the switch and its
 * record leaves the route ahead of the history). */
int tl__serving_releases(char ***keep, tl__deploy_attempt *a)
{
	tl_release_list *hist = NULL;
	int rc = tl__history_load(&hist, a->p->state_dir);
	if (rc)
		return rc;
	const tl_release *r = tl__history_active(hist);
	if (r)
		rc = tl__strv_push(keep, r->id);
	tl_release_list_free(hist);
	tl_caddy_sites *sites = NULL;
	if (rc == TL_OK && tl_caddy_list(&sites, a->ctx) != TL_OK) {
		tl_error_clear(); /* no readable routing table: the history decides */
		return rc;
	}
	const tl_caddy_site *site = NULL;
	for (size_t i = 0; sites && i < tl_caddy_sites_count(sites); i++)
		if (!strcmp(tl_caddy_sites_at(sites, i)->site, a->p->name))
			site = tl_caddy_sites_at(sites, i);
	if (rc == TL_OK && site)
		rc = tl__runtime_of(a)->routed(keep, a, site);
	tl_caddy_sites_free(sites);
	return rc;
}
