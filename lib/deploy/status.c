/*
 * An app at a glance, from what is, not from what was recorded: the
 * active release from the history, then every container of the app as
 * Docker lists it (one list call, or one per report: docker/snapshot.h), the route as Caddy has it live (its
 * admin API, not the site file), and each routed container's health path
 * asked right now.
 *
 * Containers of other releases are leftovers (a killed deploy's, or a
 * deploy in progress when the app's lock is held): listed apart, never
 * counted for or against the app's health. tl_app_leftovers_remove()
 * (leftovers.c) removes them.
 */
#include "deploy_int.h"
#include "cluster/service.h"
#include "caddy/caddy_internal.h"
#include "docker/snapshot.h"
#include "towlion/app.h"
#include "towlion/docker.h"

#include <strings.h>
#include <string.h>

/* A routed container gets this long to answer its health path, twice
 * (a loaded server answers slowly, not never): paid in full only by a
 * container that does not answer. */
#define STATUS_PROBE_MS 4000
#define STATUS_PROBE_TRIES 2

typedef struct {
	tl_app_container pub;
	char *name, *service, *release, *state, *health, *upstream, *node, *task_state;
} container_item;

typedef struct {
	container_item *v;
	size_t n;
} container_set;

struct tl_app_status {
	char *release;
	int64_t since;
	char *url;
	int healthy;
	int health; /* a tl_app_health */
	container_set active, leftovers;
	int route;
	char **route_upstreams; /* as Caddy has them */
	char *reason;           /* why not healthy, or "" */
	char *operation;        /* who holds the app's lock, or "" */
};

static void set_dispose(container_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		container_item *c = &s->v[i];
		free(c->name);
		free(c->service);
		free(c->release);
		free(c->state);
		free(c->health);
		free(c->upstream);
		free(c->node);
		free(c->task_state);
	}
	free(s->v);
}

void tl_app_status_free(tl_app_status *st)
{
	if (!st)
		return;
	set_dispose(&st->active);
	set_dispose(&st->leftovers);
	tl__strv_free(st->route_upstreams);
	free(st->release);
	free(st->url);
	free(st->reason);
	free(st->operation);
	free(st);
}

static char *dup0(const char *s)
{
	return tl__strdup(s ? s : "");
}

static bool loopback_mode(tl_ctx *ctx)
{
	return !strcmp(tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"), "loopback");
}

/* The upstream Caddy would use for a web container, per upstream mode. */
static char *upstream_of(tl_ctx *ctx, const tl_docker_container *c, int port)
{
	if (port <= 0)
		return tl__strdup("");
	if (loopback_mode(ctx)) {
		char p[16];
		snprintf(p, sizeof(p), "%d/tcp", port);
		int hp = tl_docker_container_host_port(c, p, NULL);
		return hp > 0 ? tl__sprintf("127.0.0.1:%d", hp) : tl__strdup("");
	}
	return tl__sprintf("%s:%d", tl_docker_container_name(c), port);
}

/* Does Caddy's dial address reach this container? Its upstream exactly,
 * or name.<network>:port (the form the flat-network migration routes by). */
static bool dial_reaches(const char *dial, const container_item *c)
{
	if (!*c->upstream)
		return false;
	if (!strcmp(dial, c->upstream))
		return true;
	size_t nl = strlen(c->name);
	const char *port = strrchr(c->upstream, ':');
	const char *dport = strrchr(dial, ':');
	return port && dport && !strcmp(port, dport) && !strncmp(dial, c->name, nl) &&
	       dial[nl] == '.';
}

/* ---- the route as Caddy has it -------------------------------------- */

static bool has_host(const json_t *route, const char *host)
{
	size_t i, k;
	json_t *m, *h;
	json_array_foreach(json_object_get(route, "match"), i, m)
		json_array_foreach(json_object_get(m, "host"), k, h)
			if (json_is_string(h) && !strcasecmp(json_string_value(h), host))
				return true;
	return false;
}

/* Every reverse_proxy dial address under a handler tree. */
static int collect_dials(char ***out, const json_t *j)
{
	int rc = TL_OK;
	if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
			if (rc == TL_OK)
				rc = collect_dials(out, v);
		return rc;
	}
	if (!json_is_object(j))
		return TL_OK;
	const char *handler = json_string_value(json_object_get(j, "handler"));
	if (handler && !strcmp(handler, "reverse_proxy")) {
		size_t i;
		json_t *u;
		json_array_foreach(json_object_get(j, "upstreams"), i, u) {
			const char *d = json_string_value(json_object_get(u, "dial"));
			if (rc == TL_OK && d && !tl__strv_contains(*out, d))
				rc = tl__strv_push(out, d);
		}
		return rc;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)j, k, v)
		if (rc == TL_OK && (json_is_array(v) || json_is_object(v)))
			rc = collect_dials(out, v);
	return rc;
}

/* The upstreams Caddy sends `host` to, live. TL_ENOTFOUND (no error set)
 * when no route of Caddy's matches the host; Caddy's own error when its
 * admin API does not answer. */
static int live_route(char ***dials, tl_ctx *ctx, const char *host)
{
	/* The whole config: a path into it answers 400 while Caddy has no
	 * http app at all (no site), which is "no route", not "unknown". */
	json_t *config = NULL;
	int rc = tl__caddy_get_config(&config, ctx); /* once per report */
	if (rc)
		return rc;
	json_t *servers = json_object_get(json_object_get(json_object_get(config, "apps"), "http"),
	                                  "servers");
	bool found = false;
	const char *k;
	json_t *srv;
	json_object_foreach(servers, k, srv) {
		size_t i;
		json_t *route;
		json_array_foreach(json_object_get(srv, "routes"), i, route) {
			if (rc == TL_OK && has_host(route, host)) {
				found = true;
				rc = collect_dials(dials, json_object_get(route, "handle"));
			}
		}
	}
	json_decref(config);
	return rc ? rc : found ? TL_OK : TL_ENOTFOUND;
}

/* ---- building the status ---------------------------------------------- */

static int because(tl_buf *why, const char *fmt, ...) TL__PRINTF(2, 3);
static int because(tl_buf *why, const char *fmt, ...)
{
	int rc = why->size ? tl__buf_puts(why, "; ") : TL_OK;
	va_list ap;
	va_start(ap, fmt);
	if (rc == TL_OK)
		rc = tl__buf_vprintf(why, fmt, ap);
	va_end(ap);
	return rc;
}

static container_item *set_add(container_set *s, const tl_docker_container *c,
                               const char *upstream, const char *health)
{
	container_item *it = &s->v[s->n++];
	it->name = dup0(tl_docker_container_name(c));
	it->service = dup0(tl_docker_container_label(c, "towlion.service"));
	it->release = dup0(tl_docker_container_label(c, "towlion.release"));
	it->state = dup0(tl_docker_container_state(c));
	it->health = dup0(health);
	it->upstream = dup0(upstream);
	it->node = dup0("");
	it->task_state = dup0("");
	it->pub = (tl_app_container){it->name, it->service, it->release, it->state, it->health,
	                             it->upstream, tl_docker_container_created(c), it->node,
	                             it->task_state};
	if (!it->name || !it->service || !it->release || !it->state || !it->health ||
	    !it->upstream || !it->node || !it->task_state)
		return NULL;
	return it;
}

/* A routed container of the active release: ask its health path, as the
 * deploy gate does; `why` gets the answer when it is not healthy.
 * TL_EUSER (cancelled) is the only error. */
static int probe(tl_ctx *ctx, const tl_docker_container *c, const tl__svc *svc,
                 const char *upstream, const char **health, tl_buf *why)
{
	char *at = loopback_mode(ctx)
	                   ? tl__strdup(upstream)
	                   : tl__sprintf("%s:%d", tl_docker_container_ip(c, NULL), svc->port);
	if (!at)
		return TL_ENOMEM;
	int rc = TL_EUNHEALTHY;
	for (int i = 0; i < STATUS_PROBE_TRIES && rc == TL_EUNHEALTHY; i++)
		rc = tl__health_once(ctx, at, svc->health_path, STATUS_PROBE_MS);
	free(at);
	if (rc == TL_EUSER || rc == TL_ENOMEM)
		return rc;
	*health = rc == TL_OK ? "healthy" : "unhealthy";
	if (rc != TL_OK && tl__buf_puts(why, tl_error_last()->message))
		return TL_ENOMEM;
	tl_error_clear();
	return TL_OK;
}

static const tl__svc *plan_svc(const tl__plan *plan, const char *name)
{
	for (size_t k = 0; name && k < plan->n; k++)
		if (!strcmp(plan->svcs[k].name, name))
			return &plan->svcs[k];
	return NULL;
}

/* Sort the app's containers into the active release's and leftovers,
 * probing the active routed ones; say in `why` what is wrong. */
static int sort_containers(tl_app_status *st, tl_ctx *ctx, const tl_docker_container_list *l,
                           const tl__plan *plan, tl_buf *why)
{
	size_t n = tl_docker_container_list_count(l);
	if (!(st->active.v = tl__calloc(n + 1, sizeof(container_item))) ||
	    !(st->leftovers.v = tl__calloc(n + 1, sizeof(container_item))))
		return TL_ENOMEM;
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		const tl_docker_container *c = tl_docker_container_list_at(l, i);
		const char *rel = tl_docker_container_label(c, "towlion.release");
		const char *role = tl_docker_container_label(c, "towlion.role");
		/* A release command's container is no part of what serves: one
		 * left by a killed deploy, or a swarm job's task container that
		 * Swarm removes a moment after the job (it showed the release
		 * as "exited", unhealthy, right after a deploy), is a leftover. */
		if (!*st->release || !rel || strcmp(rel, st->release) ||
		    (role && !strcmp(role, "release"))) {
			if (!set_add(&st->leftovers, c, "", tl_docker_container_health(c)))
				rc = TL_ENOMEM;
			continue;
		}
		const tl__svc *svc = plan_svc(plan, tl_docker_container_label(c, "towlion.service"));
		bool web = role && !strcmp(role, "web") && svc && svc->routed;
		bool running = tl_docker_container_running(c);
		char *up = web ? upstream_of(ctx, c, svc->port) : tl__strdup("");
		const char *health = tl_docker_container_health(c);
		tl_buf answer = TL_BUF_INIT;
		if (!up)
			rc = TL_ENOMEM;
		if (rc == TL_OK && web && running)
			rc = probe(ctx, c, svc, up, &health, &answer);
		container_item *it = rc == TL_OK ? set_add(&st->active, c, up, health) : NULL;
		free(up);
		if (rc == TL_OK && !it)
			rc = TL_ENOMEM;
		if (rc == TL_OK && !running)
			rc = because(why, "container %s is %s", it->name, it->state);
		else if (rc == TL_OK && !strcmp(health, "unhealthy"))
			rc = answer.size ? because(why, "container %s is unhealthy (%s)", it->name,
			                           answer.ptr)
			                 : because(why, "container %s is unhealthy (Docker's healthcheck)",
			                           it->name);
		tl_buf_dispose(&answer);
	}
	/* Every service of the release must have a running container; with
	 * no saved plan, at least one container must. */
	for (size_t k = 0; rc == TL_OK && *st->release && k < plan->n; k++) {
		size_t have = 0;
		for (size_t i = 0; i < st->active.n; i++)
			have += !strcmp(st->active.v[i].service, plan->svcs[k].name) &&
			        !strcmp(st->active.v[i].state, "running");
		if (!have)
			rc = because(why, "no running container of service %s (release %s)",
			             plan->svcs[k].name, st->release);
	}
	if (rc == TL_OK && *st->release && !plan->n) {
		size_t have = 0;
		for (size_t i = 0; i < st->active.n; i++)
			have += !strcmp(st->active.v[i].state, "running");
		if (!have)
			rc = because(why, "no running container of release %s", st->release);
	}
	return rc;
}

/* Where Caddy reaches a task that publishes a port ("" for none, or a
 * task that does not serve: tl__swarm_task_upstreams). */
static char *task_upstream(tl_docker *d, const json_t *t, const char *self)
{
	const json_t *p0 = json_array_get(
		json_object_get(json_object_get(json_object_get(t, "Status"), "PortStatus"), "Ports"),
		0);
	json_t *one = p0 ? json_pack("[O]", t) : NULL;
	char **ups = NULL;
	if (one && tl__swarm_task_upstreams(&ups, d, one,
	                                    (int)json_integer_value(json_object_get(p0, "TargetPort")),
	                                    self, true) != TL_OK)
		tl_error_clear();
	json_decref(one);
	char *u = dup0(ups && ups[0] ? ups[0] : "");
	tl__strv_free(ups);
	return u;
}

/* TOWLION_ENGINE=swarm: each task's node and state on the containers
 * that run them here (a task container is named <service>.<slot>.<task
 * id>); the tasks on other nodes, which have no container here, are
 * added as items of their own, named as their container is. */
static int swarm_tasks(tl_app_status *st, tl_ctx *ctx, const char *project)
{
	tl_docker *d = NULL;
	tl__swarm_state self = {0};
	int rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK)
		rc = tl__swarm_state_read(&self, d);
	char *filter[] = {rc ? NULL : tl__sprintf("towlion.project=%s", project), NULL};
	json_t *svcs = NULL;
	if (rc == TL_OK)
		rc = filter[0] ? tl__swarm_service_list(&svcs, d, (const char *const *)filter)
		               : TL_ENOMEM;
	size_t i;
	json_t *sv;
	json_array_foreach(svcs, i, sv) {
		json_t *spec = json_object_get(sv, "Spec");
		const char *sname = json_string_value(json_object_get(spec, "Name"));
		json_t *labels = json_object_get(spec, "Labels");
		const char *rel = json_string_value(json_object_get(labels, "towlion.release"));
		const char *svc = json_string_value(json_object_get(labels, "towlion.service"));
		json_t *tasks = NULL;
		if (rc || !sname || !rel || !svc || (rc = tl__swarm_tasks(&tasks, d, sname)))
			continue;
		size_t k;
		json_t *t;
		json_array_foreach(tasks, k, t) {
			const char *want = json_string_value(json_object_get(t, "DesiredState"));
			const char *id = json_string_value(json_object_get(t, "ID"));
			const char *node = json_string_value(json_object_get(t, "NodeID"));
			if (rc || !id || !want || strcmp(want, "running"))
				continue;
			char *cname = tl__sprintf("%s.%lld.%s", sname,
			                          (long long)json_integer_value(json_object_get(t, "Slot")),
			                          id);
			char *host = NULL;
			json_t *n = NULL;
			if (node && *node && tl__docker_inspect(&n, d, "nodes", "", "node", node) == TL_OK)
				host = dup0(json_string_value(json_object_get(
					json_object_get(n, "Description"), "Hostname")));
			else
				tl_error_clear();
			json_decref(n);
			if (!host)
				host = dup0(node);
			container_set *set = *st->release && !strcmp(rel, st->release) ? &st->active
			                                                                : &st->leftovers;
			container_item *it = NULL;
			for (size_t c = 0; cname && c < set->n && !it; c++)
				if (!strcmp(set->v[c].name, cname))
					it = &set->v[c];
			if (!it && cname && host) {
				container_item *grown = tl__realloc(set->v, (set->n + 2) * sizeof(*grown));
				if (grown) {
					set->v = grown;
					it = &set->v[set->n++];
					memset(it, 0, sizeof(*it));
					it->name = dup0(cname);
					it->service = dup0(svc);
					it->release = dup0(rel);
					it->state = dup0("");
					it->health = dup0("");
					it->upstream = task_upstream(d, t, self.node_id);
				}
			}
			if (it) {
				free(it->node);
				free(it->task_state);
				it->node = dup0(host);
				it->task_state = dup0(tl__swarm_task_state(t));
				it->pub = (tl_app_container){it->name, it->service, it->release, it->state,
				                             it->health, it->upstream, it->pub.created,
				                             it->node, it->task_state};
			}
			if (!it || !it->name || !it->service || !it->release || !it->state ||
			    !it->health || !it->upstream || !it->node || !it->task_state)
				rc = TL_ENOMEM;
			free(cname);
			free(host);
		}
		json_decref(tasks);
	}
	json_decref(svcs);
	free(filter[0]);
	tl_docker_free(d);
	return rc;
}

/* Compare the route Caddy has with the active routed containers. */
static int check_route(tl_app_status *st, tl_ctx *ctx, const char *host, tl_buf *why)
{
	int rc = live_route(&st->route_upstreams, ctx, host);
	if (rc == TL_ENOTFOUND) {
		st->route = TL_APP_ROUTE_MISSING;
		return because(why, "Caddy has no route for %s", host);
	}
	if (rc == TL_ENOMEM || rc == TL_EUSER)
		return rc;
	if (rc) {
		st->route = TL_APP_ROUTE_UNKNOWN;
		rc = because(why, "route unknown: %s", tl_error_last()->message);
		tl_error_clear();
		return rc;
	}
	st->route = tl__strv_len(st->route_upstreams) ? TL_APP_ROUTE_OK : TL_APP_ROUTE_ELSEWHERE;
	if (st->route == TL_APP_ROUTE_ELSEWHERE)
		return because(why, "Caddy routes %s to no upstream", host);
	/* On a swarm, a task that serves and is not in the route (Swarm moved
	 * it there) is as wrong as a route to a gone task: `cluster reroute`. */
	for (size_t i = 0; i < st->active.n; i++) {
		const container_item *it = &st->active.v[i];
		if (strcmp(it->task_state, "running") || !*it->upstream)
			continue;
		bool routed = false;
		for (size_t u = 0; st->route_upstreams[u] && !routed; u++)
			routed = dial_reaches(st->route_upstreams[u], it);
		if (!routed) {
			st->route = TL_APP_ROUTE_ELSEWHERE;
			rc = because(why, "Caddy does not route %s to task %s at %s (run `towlion "
			             "cluster reroute`)", host, it->name, it->upstream);
			if (rc)
				return rc;
		}
	}
	for (size_t u = 0; st->route_upstreams[u]; u++) {
		bool ours = false;
		for (size_t i = 0; i < st->active.n && !ours; i++)
			ours = dial_reaches(st->route_upstreams[u], &st->active.v[i]);
		if (!ours) {
			st->route = TL_APP_ROUTE_ELSEWHERE;
			rc = because(why, "Caddy routes %s to %s, not to a container of release %s",
			             host, st->route_upstreams[u], st->release);
			if (rc)
				return rc;
		}
	}
	return TL_OK;
}

/* The status of a project (an app, or a preview "<app>-pr-N"): its
 * history and plans in `state_dir`, its site at `host`. */
static int fill(tl_app_status *st, tl_ctx *ctx, const char *app, const char *state_dir,
                const char *host)
{
	tl_release_list *hist = NULL;
	int rc = tl__history_load(&hist, state_dir);
	if (rc)
		return rc;
	const tl_release *active = tl__history_active(hist);
	st->release = dup0(active ? active->id : "");
	st->since = active ? active->created : 0;
	/* TLS off serves plain HTTP on the configured port. */
	const char *tls = tl__cfg(ctx, "TOWLION_TLS");
	bool off = !strcmp(tls, "off");
	const char *port = tl__cfg(ctx, off ? "TOWLION_HTTP_PORT" : "TOWLION_HTTPS_PORT");
	bool std = !strcmp(port, off ? "80" : "443");
	st->url = active ? tl__sprintf("%s://%s%s%s", off ? "http" : "https", host,
	                               std ? "" : ":", std ? "" : port)
	                 : tl__strdup("");
	tl_release_list_free(hist);
	if (!st->release || !st->url)
		return TL_ENOMEM;

	/* A deploy (or another operation) in progress holds the app's lock:
	 * its new containers show among the leftovers until it switches, so
	 * say who runs it. */
	tl_buf holder = TL_BUF_INIT;
	if (tl__lock_project_holder(&holder, ctx, app) != TL_OK)
		tl_error_clear();
	st->operation = dup0(holder.ptr);
	tl_buf_dispose(&holder);
	if (!st->operation)
		return TL_ENOMEM;

	/* The routed port and health path of the active release's services. */
	tl__plan plan = {0};
	if (*st->release && tl__plan_restore(&plan, state_dir, st->release))
		tl_error_clear(); /* no saved plan: no health paths to ask */
	tl_docker_container_list *l = NULL;
	rc = tl__docker_project_containers(&l, ctx, app); /* once per report */
	tl_buf why = TL_BUF_INIT;
	if (rc == TL_OK)
		rc = sort_containers(st, ctx, l, &plan, &why);
	if (rc == TL_OK && !strcmp(tl__cfg(ctx, "TOWLION_ENGINE"), "swarm"))
		rc = swarm_tasks(st, ctx, app);
	st->route = TL_APP_ROUTE_NONE;
	bool containers_fine = why.size == 0;
	if (rc == TL_OK && *st->release)
		rc = check_route(st, ctx, host, &why);
	if (rc == TL_OK && !st->route_upstreams &&
	    !(st->route_upstreams = tl__calloc(1, sizeof(char *))))
		rc = TL_ENOMEM;
	st->healthy = rc == TL_OK && *st->release && why.size == 0;
	/* Caddy's silence alone does not make a serving app unhealthy: its
	 * health is unknown then. */
	st->health = !*st->release ? TL_APP_HEALTH_NONE
	             : st->healthy ? TL_APP_HEALTH_OK
	             : containers_fine && st->route == TL_APP_ROUTE_UNKNOWN ? TL_APP_HEALTH_UNKNOWN
	                                                                  : TL_APP_HEALTH_BAD;
	if (rc == TL_OK && !(st->reason = dup0(why.ptr)))
		rc = TL_ENOMEM;
	tl_buf_dispose(&why);
	tl_docker_container_list_free(l);
	tl__plan_dispose(&plan);
	return rc;
}

int tl_app_status_get(tl_app_status **out, tl_ctx *ctx, const char *app)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	tl_app *a = NULL;
	int rc = tl_app_open(&a, ctx, app);
	if (rc)
		return rc;
	rc = tl__project_status(out, ctx, tl_app_name(a), tl_app_state_dir(a),
	                        tl_app_domain_at(a, 0));
	tl_app_free(a);
	return rc;
}

int tl__project_status(tl_app_status **out, tl_ctx *ctx, const char *project,
                       const char *state_dir, const char *host)
{
	tl_app_status *st = tl__calloc(1, sizeof(*st));
	int rc = st ? fill(st, ctx, project, state_dir, host) : TL_ENOMEM;
	if (rc) {
		tl_app_status_free(st);
		return rc;
	}
	*out = st;
	return TL_OK;
}

const char *tl_app_status_release(const tl_app_status *st) { return st ? st->release : NULL; }
int64_t tl_app_status_since(const tl_app_status *st) { return st ? st->since : 0; }
const char *tl_app_status_url(const tl_app_status *st) { return st ? st->url : NULL; }
int tl_app_status_healthy(const tl_app_status *st) { return st ? st->healthy : 0; }
size_t tl_app_status_container_count(const tl_app_status *st) { return st ? st->active.n : 0; }
const tl_app_container *tl_app_status_container_at(const tl_app_status *st, size_t i)
{
	return (st && i < st->active.n) ? &st->active.v[i].pub : NULL;
}

const char *tl_app_status_reason(const tl_app_status *st) { return st ? st->reason : NULL; }
const char *tl_app_status_operation(const tl_app_status *st)
{
	return st ? st->operation : NULL;
}
int tl_app_status_route(const tl_app_status *st) { return st ? st->route : TL_APP_ROUTE_NONE; }
size_t tl_app_status_route_upstream_count(const tl_app_status *st)
{
	return st ? tl__strv_len(st->route_upstreams) : 0;
}
const char *tl_app_status_route_upstream_at(const tl_app_status *st, size_t i)
{
	return i < tl_app_status_route_upstream_count(st) ? st->route_upstreams[i] : NULL;
}
size_t tl_app_status_leftover_count(const tl_app_status *st)
{
	return st ? st->leftovers.n : 0;
}
const tl_app_container *tl_app_status_leftover_at(const tl_app_status *st, size_t i)
{
	return (st && i < st->leftovers.n) ? &st->leftovers.v[i].pub : NULL;
}

int tl_app_status_health(const tl_app_status *st)
{
	return st ? st->health : TL_APP_HEALTH_NONE;
}

const char *tl_app_health_name(int health)
{
	switch (health) {
	case TL_APP_HEALTH_NONE: return "none";
	case TL_APP_HEALTH_OK: return "healthy";
	case TL_APP_HEALTH_BAD: return "unhealthy";
	case TL_APP_HEALTH_UNKNOWN: return "unknown";
	default: return "invalid";
	}
}

const char *tl_app_route_state_name(int state)
{
	switch (state) {
	case TL_APP_ROUTE_NONE: return "none";
	case TL_APP_ROUTE_OK: return "ok";
	case TL_APP_ROUTE_MISSING: return "missing";
	case TL_APP_ROUTE_ELSEWHERE: return "elsewhere";
	case TL_APP_ROUTE_UNKNOWN: return "unknown";
	default: return "invalid";
	}
}
