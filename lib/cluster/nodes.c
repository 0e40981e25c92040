/*
 * The swarm's nodes (GET /nodes) and their availability
 * (POST /nodes/{id}/update): drain moves a node's tasks elsewhere.
 */
#include "cluster_int.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a drain waits for Swarm to stop the node's tasks. */
#define DRAIN_WAIT_MS 120000
/* How long requests already sent to a node's tasks get before the node is
 * drained (the apps' default drain time, TL_APP_DRAIN_MS_DEFAULT). */
#define ROUTE_AWAY_DRAIN_MS 2000
#define POLL_MS 250

struct tl_cluster_node {
	json_t *j;              /* the node as Docker said it (a reference) */
	const char *id, *hostname, *role, *state, *availability, *manager_status, *address;
	const char **label_keys; /* sorted */
	size_t nlabels;
	long long version;       /* Version.Index, for an update */
};

struct tl_cluster_node_list {
	tl_cluster_node *nodes;
	size_t n;
};

static const char *str(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	return json_string_value(v) ? json_string_value(v) : "";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int node_read(tl_cluster_node *n, json_t *j)
{
	n->j = json_incref(j);
	n->id = str(j, "ID", NULL);
	n->hostname = str(json_object_get(j, "Description"), "Hostname", NULL);
	n->role = str(j, "Spec", "Role");
	n->availability = str(j, "Spec", "Availability");
	n->state = str(j, "Status", "State");
	n->address = str(j, "Status", "Addr");
	n->version = (long long)json_integer_value(json_object_get(json_object_get(j, "Version"),
	                                                             "Index"));
	const json_t *ms = json_object_get(j, "ManagerStatus");
	n->manager_status = !ms                                            ? ""
	                    : json_is_true(json_object_get(ms, "Leader")) ? "leader"
	                                                                   : str(ms, "Reachability", NULL);
	/* A manager's Status.Addr may be 0.0.0.0: its manager address is better. */
	if (ms && (!*n->address || !strcmp(n->address, "0.0.0.0")))
		n->address = str(ms, "Addr", NULL);
	json_t *labels = json_object_get(json_object_get(j, "Spec"), "Labels");
	n->nlabels = json_object_size(labels);
	if (n->nlabels && !(n->label_keys = tl__calloc(n->nlabels, sizeof(*n->label_keys))))
		return TL_ENOMEM;
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach(labels, k, v) n->label_keys[i++] = k;
	qsort(n->label_keys, n->nlabels, sizeof(*n->label_keys), cmp_str);
	return TL_OK;
}

static int cmp_node(const void *a, const void *b)
{
	const tl_cluster_node *x = a, *y = b;
	int c = strcmp(x->hostname, y->hostname);
	return c ? c : strcmp(x->id, y->id);
}

static int list_nodes(tl_cluster_node_list **out, tl_docker *d)
{
	int rc = tl__swarm_require_manager(d, "list the cluster's nodes");
	json_t *arr = NULL;
	if (rc == TL_OK)
		rc = tl__docker_call(d, "GET", "/nodes", NULL, &arr, 0, "list the swarm's nodes");
	if (rc)
		return rc;
	tl_cluster_node_list *l = tl__calloc(1, sizeof(*l));
	size_t n = json_array_size(arr);
	if (l && n && !(l->nodes = tl__calloc(n, sizeof(*l->nodes))))
		rc = TL_ENOMEM;
	else if (!l)
		rc = TL_ENOMEM;
	for (size_t i = 0; rc == TL_OK && i < n; i++, l->n++)
		rc = node_read(&l->nodes[i], json_array_get(arr, i));
	json_decref(arr);
	if (rc) {
		tl_cluster_node_list_free(l);
		return rc;
	}
	qsort(l->nodes, l->n, sizeof(*l->nodes), cmp_node);
	*out = l;
	return TL_OK;
}

int tl_cluster_nodes(tl_cluster_node_list **out, tl_ctx *ctx)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	tl_docker *d = NULL;
	int rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK)
		rc = list_nodes(out, d);
	tl_docker_free(d);
	return rc;
}

void tl_cluster_node_list_free(tl_cluster_node_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->nodes[i].label_keys);
		json_decref(l->nodes[i].j);
	}
	free(l->nodes);
	free(l);
}

size_t tl_cluster_node_list_count(const tl_cluster_node_list *l)
{
	return l ? l->n : 0;
}

const tl_cluster_node *tl_cluster_node_list_at(const tl_cluster_node_list *l, size_t i)
{
	return l && i < l->n ? &l->nodes[i] : NULL;
}

#define GETTER(field)                                                                    \
	const char *tl_cluster_node_##field(const tl_cluster_node *n)                        \
	{                                                                                    \
		return n ? n->field : "";                                                        \
	}
GETTER(id)
GETTER(hostname)
GETTER(role)
GETTER(state)
GETTER(availability)
GETTER(manager_status)
GETTER(address)

size_t tl_cluster_node_label_count(const tl_cluster_node *n)
{
	return n ? n->nlabels : 0;
}

const char *tl_cluster_node_label_key(const tl_cluster_node *n, size_t i)
{
	return n && i < n->nlabels ? n->label_keys[i] : NULL;
}

const char *tl_cluster_node_label_value(const tl_cluster_node *n, size_t i)
{
	if (!n || i >= n->nlabels)
		return NULL;
	json_t *labels = json_object_get(json_object_get(n->j, "Spec"), "Labels");
	return str(labels, n->label_keys[i], NULL);
}

/* "hostname (id, role)" of every node, for a refusal. */
static char *describe(const tl_cluster_node_list *l)
{
	tl_buf b = TL_BUF_INIT;
	for (size_t i = 0; i < l->n; i++)
		tl__buf_printf(&b, "%s%s (%.12s, %s)", i ? ", " : "", l->nodes[i].hostname,
		               l->nodes[i].id, l->nodes[i].role);
	return b.ptr ? tl__buf_detach(&b) : tl__strdup("none");
}

/* The node `name` names: its exact id or hostname, else the one node whose
 * id starts with it. Ambiguity is refused, never guessed. */
static int resolve(const tl_cluster_node **out, const tl_cluster_node_list *l, const char *name)
{
	const tl_cluster_node *exact = NULL, *prefix = NULL;
	size_t nexact = 0, nprefix = 0;
	for (size_t i = 0; i < l->n; i++) {
		const tl_cluster_node *n = &l->nodes[i];
		if (!strcmp(n->id, name) || !strcmp(n->hostname, name)) {
			exact = n;
			nexact++;
		} else if (tl__str_startswith(n->id, name)) {
			prefix = n;
			nprefix++;
		}
	}
	if (nexact == 1 || (!nexact && nprefix == 1)) {
		*out = nexact ? exact : prefix;
		return TL_OK;
	}
	char *all = describe(l);
	int rc = tl__error_set(nexact + nprefix ? TL_ECONFLICT : TL_ENOTFOUND, TL_ERRCLASS_INPUT,
	                       "node \"%s\" %s: the nodes are %s; name one by its hostname or "
	                       "full id",
	                       name, nexact + nprefix ? "is ambiguous" : "is not in the swarm",
	                       all ? all : "?");
	free(all);
	return rc;
}

/* POST /nodes/{id}/update?version=N with the spec as read, only its
 * availability changed: labels and role stay as they are. */
static int update(tl_docker *d, const tl_cluster_node *n, const char *availability)
{
	json_t *spec = json_deep_copy(json_object_get(n->j, "Spec"));
	if (!spec || json_object_set_new(spec, "Availability", json_string(availability))) {
		json_decref(spec);
		return TL_ENOMEM;
	}
	char *path = tl__sprintf("/nodes/%s/update?version=%lld", n->id, n->version);
	char *what = tl__sprintf("set node %s (%s) to %s", n->hostname, n->id, availability);
	int rc = path && what ? tl__docker_call(d, "POST", path, spec, NULL, 0, what) : TL_ENOMEM;
	json_decref(spec);
	free(path);
	free(what);
	return rc;
}

/* After a drain: until node `n` runs no task of an app (a node that is
 * down cannot say, and is not waited for). */
static int wait_drained(tl_ctx *ctx, tl_docker *d, const tl_cluster_node *n)
{
	if (strcmp(n->state, "ready"))
		return tl__log(ctx, TL_LOG_WARN, "node %s is %s: its tasks are not waited for",
		               n->hostname, *n->state ? n->state : "unknown");
	long t0 = tl__clock_ms();
	for (;;) {
		size_t left = 0;
		int rc = tl__swarm_node_app_tasks(&left, d, n->id);
		if (rc || !left)
			return rc;
		if (tl__clock_ms() - t0 > DRAIN_WAIT_MS)
			return tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_DOCKER,
			                     "node %s is drained, but %zu task(s) of the apps still run "
			                     "on it after %d s (see `docker node ps %s`); the routes "
			                     "were not changed: run `towlion cluster reroute` once they "
			                     "have moved",
			                     n->hostname, left, DRAIN_WAIT_MS / 1000, n->hostname);
		tl__sleep_ms(POLL_MS);
	}
}

/* The apps' routes follow their tasks (TOWLION_ENGINE=swarm), with the
 * tasks of node `except` left out (NULL: none), each change logged.
 * *moved: a route changed. An app whose route could not follow is the
 * call's error; with `except` only a warning: its route keeps the node's
 * tasks until they move (nothing else can answer its requests). */
static int reroute_all(tl_ctx *ctx, const tl_cluster_node *n, const char *except, bool *moved)
{
	tl_cluster_reroute_result *r = NULL;
	int rc = tl__cluster_reroute_except(&r, ctx, NULL, except);
	for (size_t i = 0; rc == TL_OK && i < tl_cluster_reroute_result_count(r); i++) {
		const char *state = tl_cluster_reroute_result_state(r, i);
		const char *app = tl_cluster_reroute_result_app(r, i);
		if (!strcmp(state, "failed") && except)
			rc = tl__log(ctx, TL_LOG_WARN,
			             "the route of %s keeps node %s's tasks until they move: %s", app,
			             n->hostname, tl_cluster_reroute_result_detail(r, i));
		else if (!strcmp(state, "failed"))
			rc = tl__error_set(TL_ERROR, TL_ERRCLASS_DOCKER,
			                   "node %s changed, but the route of %s could not follow its "
			                   "tasks: %s",
			                   n->hostname, app, tl_cluster_reroute_result_detail(r, i));
		else if (!strcmp(state, "rerouted")) {
			*moved = true;
			rc = tl__log(ctx, TL_LOG_INFO, "route of %s: %s (was %s)%s", app,
			             tl_cluster_reroute_result_upstreams(r, i),
			             tl_cluster_reroute_result_previous(r, i),
			             except ? ", before the drain" : "");
		}
	}
	tl_cluster_reroute_result_free(r);
	return rc;
}

/* Before a drain (node ready): the routes stop naming the node's tasks
 * while they still answer, and the requests on their way there get the
 * apps' usual drain time. Then Swarm stops them, and the reroute after
 * the drain only adds the tasks it started: no Caddy config load happens
 * while a request waits to retry a dead upstream (a load ends that wait
 * with a 502). */
static int route_away(tl_ctx *ctx, const tl_cluster_node *n)
{
	if (strcmp(tl__cfg(ctx, "TOWLION_ENGINE"), "swarm") || strcmp(n->state, "ready"))
		return TL_OK;
	bool moved = false;
	int rc = reroute_all(ctx, n, n->id, &moved);
	if (rc == TL_OK && moved)
		tl__sleep_ms(ROUTE_AWAY_DRAIN_MS);
	return rc;
}

/* After a change: the routes follow the tasks Swarm moved. */
static int follow(tl_ctx *ctx, const tl_cluster_node *n)
{
	bool moved = false;
	return strcmp(tl__cfg(ctx, "TOWLION_ENGINE"), "swarm") ? TL_OK
	                                                       : reroute_all(ctx, n, NULL, &moved);
}

int tl_cluster_node_set_availability(tl_ctx *ctx, const char *node, const char *availability)
{
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(node);
	TL__CHECK_ARG(availability);
	if (strcmp(availability, "drain") && strcmp(availability, "active"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "node availability \"%s\": must be drain or active", availability);
	if (!*node)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "node name is empty");
	tl_docker *d = NULL;
	tl_cluster_node_list *l = NULL;
	const tl_cluster_node *n = NULL;
	int rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK)
		rc = list_nodes(&l, d);
	if (rc == TL_OK)
		rc = resolve(&n, l, node);
	if (rc == TL_OK && strcmp(n->availability, availability) && !strcmp(availability, "drain"))
		rc = route_away(ctx, n);
	if (rc == TL_OK && strcmp(n->availability, availability)) {
		rc = tl__step(ctx, "cluster.availability", n->hostname, "setting node %s to %s",
		              n->hostname, availability);
		if (rc == TL_OK)
			rc = update(d, n, availability);
	} else if (rc == TL_OK) {
		rc = tl__log(ctx, TL_LOG_INFO, "node %s is %s already", n->hostname, availability);
	}
	/* Swarm moves the tasks in the background: the routes follow once
	 * the node runs none (a drain), or at once (activate moves nothing,
	 * and a route left behind by an earlier change is fixed). */
	if (rc == TL_OK && !strcmp(availability, "drain"))
		rc = wait_drained(ctx, d, n);
	if (rc == TL_OK)
		rc = follow(ctx, n);
	tl_cluster_node_list_free(l);
	tl_docker_free(d);
	return rc;
}
