/*
 * libtowlion - a Docker Swarm cluster under the platform (issue 19).
 *
 * The cluster verbs talk to the dockerd named by TOWLION_DOCKER_HOST over
 * its Engine API (/swarm, /nodes, /networks): no docker CLI. That engine is
 * the cluster's manager; the other nodes join it with a token.
 *
 * `tl_cluster_init` makes the engine a swarm manager (or finds it one
 * already), creates the platform's overlay network, which no tenant
 * joins, and starts the registry the nodes pull the apps' images from. Each tenant (an app, a preview) gets an overlay of its own when
 * its first service is placed on the cluster, named as on one server
 * (<TOWLION_NETWORK>-app-<project>). Overlays are created with Docker's
 * encrypted data plane (IPsec between nodes) where the kernel allows it;
 * where it does not, unencrypted, and the result says so.
 *
 * With TOWLION_ENGINE=swarm, deploys, rollbacks, status and destroy run
 * the app's services as Swarm services (docs/cluster.md, "Deploys").
 *
 * Join tokens are credentials: they come back only from
 * tl_cluster_join_token, never in events, errors or node lists.
 */
#ifndef TOWLION_CLUSTER_H
#define TOWLION_CLUSTER_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

/* ---- init ------------------------------------------------------------- */

typedef struct {
	unsigned int version;       /* TL_CLUSTER_INIT_OPTIONS_VERSION */
	/** The address other nodes reach this manager at ("10.0.0.1", an
	 * interface name "eth0", optionally ":port"); NULL or "": Docker's
	 * choice (it refuses when the engine has several addresses). */
	const char *advertise_addr;
	/** Version 2. 1: start no registry. By default init starts the
	 * registry the nodes pull from (the service towlion-registry, pinned
	 * to this manager, storage in TOWLION_REGISTRY_DIR, published on
	 * TOWLION_REGISTRY_PORT through the routing mesh); skip it when the
	 * cluster pulls from a registry of its own, or when every app's image
	 * is on every node already. */
	int no_registry;
} tl_cluster_init_options;

#define TL_CLUSTER_INIT_OPTIONS_VERSION 2
#define TL_CLUSTER_INIT_OPTIONS_INIT {TL_CLUSTER_INIT_OPTIONS_VERSION, NULL, 0}

TL_EXTERN(int) tl_cluster_init_options_init(tl_cluster_init_options *opts,
                                            unsigned int version);

/** What tl_cluster_init found and did, freed by tl_cluster_init_result_free. */
typedef struct tl_cluster_init_result tl_cluster_init_result;

/**
 * Make the engine a swarm manager (POST /swarm/init), then ensure the
 * platform's overlay network and (unless opts->no_registry) the registry
 * service, waiting until it runs. Idempotent: on an engine that is already
 * a manager nothing is initialised again (tl_cluster_init_result_already
 * says so), the network is only checked, and the registry keeps its
 * password, service and images; a run killed halfway is finished by the
 * next one. `opts` may be NULL.
 *
 * TL_ECONFLICT when the engine is a worker of a swarm (run it on a
 * manager), or its swarm is pending, locked or in error; or when a
 * network of the platform overlay's name exists and is not a swarm
 * overlay. Docker's refusals (no address to advertise...) come back as
 * TL_ERROR with Docker's message.
 */
TL_EXTERN(int) tl_cluster_init(tl_cluster_init_result **out, tl_ctx *ctx,
                               const tl_cluster_init_options *opts);
TL_EXTERN(void) tl_cluster_init_result_free(tl_cluster_init_result *r);

/** 1 when the engine was a manager already (nothing was initialised). */
TL_EXTERN(int) tl_cluster_init_result_already(const tl_cluster_init_result *r);
/** This node's id in the swarm. */
TL_EXTERN(const char *) tl_cluster_init_result_node_id(const tl_cluster_init_result *r);
/** The platform's overlay network (<TOWLION_NETWORK>-platform). */
TL_EXTERN(const char *) tl_cluster_init_result_network(const tl_cluster_init_result *r);
/** 1 when that overlay's data plane is encrypted. */
TL_EXTERN(int) tl_cluster_init_result_encrypted(const tl_cluster_init_result *r);
/** Why it is not encrypted ("" when it is). */
TL_EXTERN(const char *) tl_cluster_init_result_warning(const tl_cluster_init_result *r);
/** The registry the nodes pull from ("127.0.0.1:5000"); "" when init ran
 * with no_registry. Its password stays in TOWLION_STATE_DIR/registry
 * (0600) and is never in a result. */
TL_EXTERN(const char *) tl_cluster_init_result_registry(const tl_cluster_init_result *r);
/** Where the registry keeps its images, on this manager ("" without one). */
TL_EXTERN(const char *) tl_cluster_init_result_registry_dir(const tl_cluster_init_result *r);
/** 1 when this run created the registry service (0: it was there, or none). */
TL_EXTERN(int) tl_cluster_init_result_registry_created(const tl_cluster_init_result *r);

/* ---- join tokens -------------------------------------------------------- */

/**
 * The token a node joins with as `role` ("worker" or "manager"), from
 * GET /swarm, into `token` (reset first). A secret: show it only when
 * asked. TL_EINVALID for another role; TL_ECONFLICT when the engine is
 * not a swarm manager.
 */
TL_EXTERN(int) tl_cluster_join_token(tl_buf *token, tl_ctx *ctx, const char *role);

/* ---- nodes -------------------------------------------------------------- */

typedef struct tl_cluster_node_list tl_cluster_node_list;
typedef struct tl_cluster_node tl_cluster_node;

/**
 * The swarm's nodes (GET /nodes), sorted by hostname, then id.
 * TL_ECONFLICT when the engine is not a swarm manager.
 */
TL_EXTERN(int) tl_cluster_nodes(tl_cluster_node_list **out, tl_ctx *ctx);
TL_EXTERN(void) tl_cluster_node_list_free(tl_cluster_node_list *l);
TL_EXTERN(size_t) tl_cluster_node_list_count(const tl_cluster_node_list *l);
/** The i-th node, owned by the list; NULL past the end. */
TL_EXTERN(const tl_cluster_node *) tl_cluster_node_list_at(const tl_cluster_node_list *l,
                                                           size_t i);

/* Getters return "" (never NULL) for what Docker did not say. */
TL_EXTERN(const char *) tl_cluster_node_id(const tl_cluster_node *n);
TL_EXTERN(const char *) tl_cluster_node_hostname(const tl_cluster_node *n);
/** "manager" or "worker". */
TL_EXTERN(const char *) tl_cluster_node_role(const tl_cluster_node *n);
/** "ready", "down", "unknown", "disconnected". */
TL_EXTERN(const char *) tl_cluster_node_state(const tl_cluster_node *n);
/** "active", "pause" or "drain". */
TL_EXTERN(const char *) tl_cluster_node_availability(const tl_cluster_node *n);
/** A manager's standing: "leader", "reachable", "unreachable"; "" for a worker. */
TL_EXTERN(const char *) tl_cluster_node_manager_status(const tl_cluster_node *n);
/** The node's address as the swarm sees it. */
TL_EXTERN(const char *) tl_cluster_node_address(const tl_cluster_node *n);
/** The node's labels (its spec's, the ones placement constraints use). */
TL_EXTERN(size_t) tl_cluster_node_label_count(const tl_cluster_node *n);
TL_EXTERN(const char *) tl_cluster_node_label_key(const tl_cluster_node *n, size_t i);
TL_EXTERN(const char *) tl_cluster_node_label_value(const tl_cluster_node *n, size_t i);

/**
 * Set a node's availability to "drain" (its tasks move to other nodes and
 * no new ones come) or "active". Before a drain, with TOWLION_ENGINE=swarm,
 * the routes stop naming the node's tasks (an app with a task elsewhere)
 * and requests on their way there get 2 s. After a drain, the call waits until the
 * node runs no task of the apps' services (up to 120 s: TL_ETIMEOUT, the
 * node drained, saying what still runs; a node that is down is not waited
 * for); then, with TOWLION_ENGINE=swarm, every app's route follows its
 * tasks (tl_cluster_reroute; an app whose route could not follow makes it
 * TL_ERROR naming it, the node drained all the same). `node` is an id, a unique id prefix or a
 * hostname; an ambiguous or unknown one is refused (TL_ECONFLICT,
 * TL_ENOTFOUND) with the nodes listed, and nothing changes. The node's
 * spec is read first and written back with only its availability changed,
 * at the version read (a concurrent change makes it TL_ECONFLICT).
 */
TL_EXTERN(int) tl_cluster_node_set_availability(tl_ctx *ctx, const char *node,
                                                const char *availability);

/* ---- routes that follow Swarm's tasks ------------------------------------ */

/** What tl_cluster_reroute did, one item per app and one per preview
 * (named as its project, APP-pr-N, after its app's); freed by
 * tl_cluster_reroute_result_free. */
typedef struct tl_cluster_reroute_result tl_cluster_reroute_result;

/**
 * Make the route of `app` (NULL or "": every app) name the tasks its
 * serving release's web services run now (TOWLION_ENGINE=swarm): one
 * upstream per running task on a ready node, 127.0.0.1:PORT on this
 * manager, NODE_ADDR:PORT on the others. A task Swarm moved (a node
 * drained or lost) is added, a gone one removed; the route is written
 * only when that set differs, through the same route change as a deploy,
 * under the app's lock. A service whose replicas are not all running is
 * waited for (up to 60 s over the whole call) and then routed to the
 * tasks that run. The app's previews follow the same way, each under its
 * own lock. An app with no release, or whose release is not on the
 * swarm, is skipped; a service with no task that serves leaves its route
 * as it is ("failed" for that app). With every app, each is tried and its
 * failure is said in its item; a named app's failure is the call's error
 * (its previews' failures are always said in their items).
 * TL_EUNSUPPORTED when TOWLION_ENGINE is not swarm; TL_ENOTFOUND for an
 * unknown app; TL_ECONFLICT when the engine is not a swarm manager.
 */
TL_EXTERN(int) tl_cluster_reroute(tl_cluster_reroute_result **out, tl_ctx *ctx,
                                  const char *app);
TL_EXTERN(void) tl_cluster_reroute_result_free(tl_cluster_reroute_result *r);
TL_EXTERN(size_t) tl_cluster_reroute_result_count(const tl_cluster_reroute_result *r);
/** The i-th item's app (NULL past the end, as every getter). */
TL_EXTERN(const char *) tl_cluster_reroute_result_app(const tl_cluster_reroute_result *r,
                                                      size_t i);
/** "rerouted", "unchanged", "skipped" or "failed". */
TL_EXTERN(const char *) tl_cluster_reroute_result_state(const tl_cluster_reroute_result *r,
                                                        size_t i);
/** Why, in words ("no release serves", the error of a failed app). */
TL_EXTERN(const char *) tl_cluster_reroute_result_detail(const tl_cluster_reroute_result *r,
                                                         size_t i);
/** The upstreams of the tasks that serve now, "a:1,b:2" ("" when skipped). */
TL_EXTERN(const char *) tl_cluster_reroute_result_upstreams(const tl_cluster_reroute_result *r,
                                                            size_t i);
/** The route's upstreams before the call, "a:1,b:2". */
TL_EXTERN(const char *) tl_cluster_reroute_result_previous(const tl_cluster_reroute_result *r,
                                                           size_t i);

TL_END_DECL

#endif
