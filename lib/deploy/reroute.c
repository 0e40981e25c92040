/*
 * The route follows Swarm's tasks (TOWLION_ENGINE=swarm). A deploy routes
 * each web service to the tasks it started (one upstream per task, host
 * mode: runtime_swarm.c); when Swarm moves a task later (a node drained or
 * lost), the new task has another address and the old one answers no
 * more. tl_cluster_reroute reads where the serving release's web services
 * run now and, when that differs from the route, writes the route again
 * through the same code and the same kill-safe route change as a deploy
 * (tl__route_units, tl_caddy_route_set), under the app's lock. An app's
 * previews are Swarm services too, on the same nodes: each follows as an
 * item of its own, named as its project (APP-pr-N).
 */
#include "deploy_int.h"
#include "cluster/service.h"
#include "preview/preview_int.h"
#include "towlion/caddy.h"
#include "towlion/cluster.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a reroute waits for Swarm to run every replica of a service it
 * is moving (a new task pulls and starts), over all the apps of one call. */
#define SETTLE_MS 60000
#define POLL_MS 250
#define LOCK_MS 60000

typedef struct {
	char *app, *state, *detail, *upstreams, *previous;
} item;

/* Where a call looks: this manager's node id (its tasks are 127.0.0.1),
 * a node whose tasks are left out (NULL: none; a node about to be
 * drained) and when waiting for replicas ends. */
typedef struct {
	const char *self, *except;
	long deadline;
} scope;

struct tl_cluster_reroute_result {
	item *v;
	size_t n;
};

static const char *label_of(const json_t *service, const char *key)
{
	return json_string_value(
		json_object_get(json_object_get(json_object_get(service, "Spec"), "Labels"), key));
}

/* "a,b,c" of a list (NULL: none). */
static char *joined(const char *const *v, size_t n)
{
	tl_buf b = TL_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		tl__buf_printf(&b, "%s%s", i ? "," : "", v[i]);
	return b.ptr ? tl__buf_detach(&b) : tl__strdup("");
}

/* The upstreams of the running tasks of service `svc` (which publishes
 * `port`), once it runs as many as it wants or at `deadline`. */
static int task_upstreams(char ***out, tl_docker *d, const json_t *svc, int port,
                          const scope *sc)
{
	const char *name = json_string_value(json_object_get(json_object_get(svc, "Spec"), "Name"));
	json_int_t want = json_integer_value(json_object_get(
		json_object_get(json_object_get(json_object_get(svc, "Spec"), "Mode"), "Replicated"),
		"Replicas"));
	for (;;) {
		json_t *tasks = NULL;
		char **ups = NULL;
		int rc = tl__swarm_tasks(&tasks, d, name);
		for (size_t i = json_array_size(tasks); rc == TL_OK && sc->except && i-- > 0;) {
			const char *node = json_string_value(
				json_object_get(json_array_get(tasks, i), "NodeID"));
			if (node && !strcmp(node, sc->except))
				json_array_remove(tasks, i);
		}
		if (rc == TL_OK)
			rc = tl__swarm_task_upstreams(&ups, d, tasks, port, sc->self, false);
		json_decref(tasks);
		if (rc || (json_int_t)tl__strv_len(ups) >= want || tl__clock_ms() >= sc->deadline) {
			if (rc)
				tl__strv_free(ups);
			else
				*out = ups;
			return rc;
		}
		tl__strv_free(ups);
		tl__sleep_ms(POLL_MS);
	}
}

static bool same_set(char *const *a, const char *const *b, size_t nb)
{
	if (tl__strv_len(a) != nb)
		return false;
	for (size_t i = 0; i < nb; i++)
		if (!tl__strv_contains(a, b[i]))
			return false;
	return true;
}

static int set_item(item *it, const char *state, const char *detail)
{
	free(it->state);
	free(it->detail);
	it->state = tl__strdup(state);
	it->detail = tl__strdup(detail);
	return it->state && it->detail ? TL_OK : TL_ENOMEM;
}

/* The routed units of release `rel` of project `p` as they run now. */
static int units_now(tl__started_container **run, size_t *nrun, tl_docker *d,
                     const tl__project *p, const tl__plan *plan, const char *rel,
                     const scope *sc)
{
	char **filter = NULL;
	json_t *svcs = NULL;
	int rc = tl__label_filter(&filter, p, rel);
	if (rc == TL_OK)
		rc = tl__strv_push(&filter, "towlion.role=web");
	if (rc == TL_OK)
		rc = tl__swarm_service_list(&svcs, d, (const char *const *)filter);
	tl__strv_free(filter);
	if (rc == TL_OK && !json_array_size(svcs))
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
		                   "release %s of %s has no service on the swarm (deployed with "
		                   "TOWLION_ENGINE=docker?)",
		                   rel, p->name);
	if (rc == TL_OK && !(*run = tl__calloc(plan->n ? plan->n : 1, sizeof(**run))))
		rc = TL_ENOMEM;
	for (size_t i = 0; rc == TL_OK && i < plan->n; i++) {
		const tl__svc *svc = &plan->svcs[i];
		if (!svc->routed)
			continue;
		const json_t *found = NULL;
		size_t k;
		json_t *s;
		json_array_foreach(svcs, k, s) {
			const char *name = label_of(s, "towlion.service");
			if (name && !strcmp(name, svc->name))
				found = s;
		}
		tl__started_container *st = &(*run)[(*nrun)++];
		st->svc = svc;
		if (found)
			rc = task_upstreams(&st->upstreams, d, found, svc->port, sc);
		if (rc == TL_OK && !st->upstreams)
			rc = tl__error_set(TL_EUNAVAILABLE, TL_ERRCLASS_DEPLOY,
			                   "service %s of release %s runs no task that serves: the "
			                   "route is left as it is (see `towlion status %s`)",
			                   svc->name, rel, p->name);
	}
	json_decref(svcs);
	return rc;
}

static void units_free(tl__started_container *run, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tl__strv_free(run[i].upstreams);
	free(run);
}

/* One project (an app or a preview), under its lock: the route follows
 * its serving release's tasks. */
static int reroute_project(item *it, tl_ctx *ctx, tl_docker *d, const scope *sc,
                           tl__project *pp)
{
	tl__project p = *pp;
	tl__lock *lock = NULL;
	tl_release_list *hist = NULL;
	tl__plan plan = {0};
	tl__started_container *run = NULL;
	size_t nrun = 0;
	tl_caddy_sites *sites = NULL;
	const tl_caddy_site *site = NULL;
	char **now = NULL;
	bool same = false;
	int rc;
	if ((rc = tl__lock_project(&lock, ctx, p.name, LOCK_MS)) == TL_OK)
		rc = tl__deploy_op_settle(ctx, &p, d, NULL); /* a killed deploy first */
	if (rc == TL_OK)
		rc = tl__history_load(&hist, p.state_dir);
	const tl_release *active = rc == TL_OK ? tl__history_active(hist) : NULL;
	if (rc == TL_OK && !active) {
		rc = set_item(it, "skipped", "no release serves");
		goto out;
	}
	if (rc == TL_OK)
		rc = tl__plan_restore(&plan, p.state_dir, active->id);
	if (rc == TL_OK)
		rc = units_now(&run, &nrun, d, &p, &plan, active->id, sc);
	if (rc == TL_ENOTFOUND) { /* not on the swarm: nothing of Swarm's to follow */
		rc = set_item(it, "skipped", tl_error_last()->message);
		tl_error_clear();
		goto out;
	}
	if (rc == TL_OK)
		rc = tl_caddy_list(&sites, ctx);
	for (size_t i = 0; rc == TL_OK && i < tl_caddy_sites_count(sites); i++)
		if (!strcmp(tl_caddy_sites_at(sites, i)->site, p.name))
			site = tl_caddy_sites_at(sites, i);
	for (size_t i = 0; rc == TL_OK && i < nrun; i++)
		for (size_t k = 0; rc == TL_OK && run[i].upstreams[k]; k++)
			if (!tl__strv_contains(now, run[i].upstreams[k]))
				rc = tl__strv_push(&now, run[i].upstreams[k]);
	if (rc == TL_OK && !(it->upstreams = joined((const char *const *)now, tl__strv_len(now))))
		rc = TL_ENOMEM;
	if (rc == TL_OK && !(it->previous = site ? joined(site->upstreams, site->nupstreams)
	                                         : tl__strdup("")))
		rc = TL_ENOMEM;
	same = site && same_set(now, site->upstreams, site->nupstreams);
	if (rc == TL_OK && same) {
		rc = set_item(it, "unchanged", "the route names every task that serves");
	} else if (rc == TL_OK) {
		rc = tl__step(ctx, "cluster.reroute", p.name, "routing %s to %s (was %s)", p.name,
		              it->upstreams, *it->previous ? it->previous : "no route");
		if (rc == TL_OK)
			rc = tl__route_units(ctx, &p, &plan, run, nrun);
		if (rc == TL_OK)
			rc = set_item(it, "rerouted", "the route follows the tasks Swarm runs now");
	}
out:
	tl__strv_free(now);
	tl_caddy_sites_free(sites);
	units_free(run, nrun);
	tl__plan_dispose(&plan);
	tl_release_list_free(hist);
	tl__lock_release(lock);
	return rc;
}

static int reroute_app(item *it, tl_ctx *ctx, tl_docker *d, const scope *sc,
                       const char *app)
{
	tl__project p;
	tl_app *a = NULL;
	int rc = tl__app_project(&p, &a, ctx, app);
	if (rc == TL_OK)
		rc = reroute_project(it, ctx, d, sc, &p);
	tl__project_dispose(&p);
	tl_app_free(a);
	return rc;
}

static int reroute_preview(item *it, tl_ctx *ctx, tl_docker *d, const scope *sc,
                           const char *app, uint32_t pr)
{
	tl__project p;
	char *name = NULL;
	int rc = tl__preview_project(&p, ctx, app, pr, &name);
	if (rc == TL_OK && !(it->app = tl__strdup(name)))
		rc = TL_ENOMEM;
	if (rc == TL_OK)
		rc = reroute_project(it, ctx, d, sc, &p);
	tl__project_dispose(&p);
	free(name);
	return rc;
}

/* A new item at the end of r (zeroed). */
static item *next_item(tl_cluster_reroute_result *r)
{
	item *v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	r->v = v;
	memset(&v[r->n], 0, sizeof(*v));
	return &v[r->n++];
}

/* An item's failure, said in it (never the call's: the others are
 * tried); out of memory and a cancel stay the call's. */
static int said_in_item(item *it, int rc)
{
	if (rc && rc != TL_ENOMEM && rc != TL_EUSER) {
		rc = set_item(it, "failed", tl_error_last()->message);
		tl_error_clear();
	}
	if (rc == TL_OK && (!it->upstreams || !it->previous)) {
		free(it->upstreams);
		free(it->previous);
		it->upstreams = tl__strdup("");
		it->previous = tl__strdup("");
		if (!it->upstreams || !it->previous)
			rc = TL_ENOMEM;
	}
	return rc;
}

/* The previews of `app`, each an item. */
static int reroute_previews(tl_cluster_reroute_result *r, tl_ctx *ctx, tl_docker *d,
                            const scope *sc, const char *app)
{
	tl_preview_list *pl = NULL;
	int rc = tl__preview_list_load(&pl, ctx, app, false);
	if (rc && rc != TL_ENOMEM) { /* a damaged record: said, the other apps go on */
		item *it = next_item(r);
		rc = it && (it->app = tl__sprintf("%s-pr-*", app)) ? said_in_item(it, rc) : TL_ENOMEM;
		tl_preview_list_free(pl);
		return rc;
	}
	for (size_t i = 0; rc == TL_OK && i < tl_preview_list_count(pl); i++) {
		item *it = next_item(r);
		if (!it) {
			rc = TL_ENOMEM;
			break;
		}
		uint32_t pr = tl_preview_pr(tl_preview_list_at(pl, i));
		int prc = reroute_preview(it, ctx, d, sc, app, pr);
		if (!it->app && !(it->app = tl__sprintf("%s-pr-%u", app, pr)))
			prc = TL_ENOMEM;
		rc = said_in_item(it, prc);
	}
	tl_preview_list_free(pl);
	return rc;
}

void tl_cluster_reroute_result_free(tl_cluster_reroute_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].app);
		free(r->v[i].state);
		free(r->v[i].detail);
		free(r->v[i].upstreams);
		free(r->v[i].previous);
	}
	free(r->v);
	free(r);
}

int tl_cluster_reroute(tl_cluster_reroute_result **out, tl_ctx *ctx, const char *app)
{
	return tl__cluster_reroute_except(out, ctx, app, NULL);
}

int tl__cluster_reroute_except(tl_cluster_reroute_result **out, tl_ctx *ctx, const char *app,
                               const char *except)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	if (strcmp(tl__cfg(ctx, "TOWLION_ENGINE"), "swarm"))
		return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_INPUT,
		                     "routes follow Swarm's tasks with TOWLION_ENGINE=swarm only (it "
		                     "is %s): nothing to reroute",
		                     tl__cfg(ctx, "TOWLION_ENGINE"));
	tl_app_list *apps = NULL;
	tl_docker *d = NULL;
	tl__swarm_state self;
	tl_cluster_reroute_result *r = tl__calloc(1, sizeof(*r));
	int rc = r ? TL_OK : TL_ENOMEM;
	if (rc == TL_OK && app && *app)
		rc = tl_validate_app_name(app);
	if (rc == TL_OK && !(app && *app))
		rc = tl_app_list_load(&apps, ctx);
	size_t n = app && *app ? 1 : tl_app_list_count(apps);
	if (rc == TL_OK)
		rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK)
		rc = tl__swarm_require_manager(d, "reroute the apps");
	if (rc == TL_OK)
		rc = tl__swarm_state_read(&self, d);
	/* leaving a node out starts nothing: no replica to wait for */
	scope sc = {self.node_id, except, tl__clock_ms() + (except ? 0 : SETTLE_MS)};
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		item *it = next_item(r);
		const char *name = app && *app ? app : tl_app_name(tl_app_list_at(apps, i));
		if (!it || !(it->app = tl__strdup(name)))
			rc = TL_ENOMEM;
		int arc = rc ? rc : reroute_app(it, ctx, d, &sc, name);
		/* Every app is tried: one that fails is said in its item. A named
		 * app's failure is the call's. */
		if (arc && app && *app)
			rc = arc;
		else
			rc = it ? said_in_item(it, arc) : arc;
		if (rc == TL_OK)
			rc = reroute_previews(r, ctx, d, &sc, name);
	}
	tl_docker_free(d);
	tl_app_list_free(apps);
	if (rc) {
		tl_cluster_reroute_result_free(r);
		return rc;
	}
	*out = r;
	return TL_OK;
}

size_t tl_cluster_reroute_result_count(const tl_cluster_reroute_result *r)
{
	return r ? r->n : 0;
}

#define GETTER(field)                                                                      \
	const char *tl_cluster_reroute_result_##field(const tl_cluster_reroute_result *r,      \
	                                              size_t i)                                \
	{                                                                                      \
		return r && i < r->n ? r->v[i].field : NULL;                                       \
	}
GETTER(app)
GETTER(state)
GETTER(detail)
GETTER(upstreams)
GETTER(previous)
