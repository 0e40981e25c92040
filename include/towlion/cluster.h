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
 * no new ones come) or "active". `node` is an id, a unique id prefix or a
 * hostname; an ambiguous or unknown one is refused (TL_ECONFLICT,
 * TL_ENOTFOUND) with the nodes listed, and nothing changes. The node's
 * spec is read first and written back with only its availability changed,
 * at the version read (a concurrent change makes it TL_ECONFLICT).
 */
TL_EXTERN(int) tl_cluster_node_set_availability(tl_ctx *ctx, const char *node,
                                                const char *availability);

TL_END_DECL

#endif
