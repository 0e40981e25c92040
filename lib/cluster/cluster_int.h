/* Internals of the cluster module (not API): the engine's swarm state,
 * overlay networks, and what the doctor and the deploy ask of it. */
#ifndef TL_CLUSTER_INT_H
#define TL_CLUSTER_INT_H

#include "docker/docker_int.h"
#include "towlion/cluster.h"

#include <stdbool.h>

/* The engine's place in a swarm, from GET /info. */
typedef struct {
	char state[16];   /* Swarm.LocalNodeState: inactive, pending, active, error, locked */
	bool manager;     /* Swarm.ControlAvailable */
	char node_id[64]; /* Swarm.NodeID, "" outside a swarm */
	long nodes;       /* Swarm.Nodes (known to managers only) */
} tl__swarm_state;

int tl__swarm_state_read(tl__swarm_state *out, tl_docker *d);

/* TL_OK when the engine is an active swarm manager; TL_ECONFLICT saying
 * what it is instead and what to do, naming `what` ("list the nodes"). */
int tl__swarm_require_manager(tl_docker *d, const char *what);

/* An overlay network on the swarm: created when missing (attachable,
 * labelled, encrypted where the kernel allows), checked when present.
 * *encrypted says whether its data plane is encrypted; `why_not` (may be
 * NULL) gets the reason when it is not. TL_ECONFLICT when a network of
 * that name exists and is not a swarm-scoped overlay. */
int tl__cluster_overlay_ensure(bool *encrypted, tl_buf *why_not, tl_ctx *ctx, tl_docker *d,
                               const char *name, const char *const *labels);

/* Whether this machine's kernel can carry encrypted overlays (ipsec.c);
 * when not, `why` says what it lacks. */
bool tl__kernel_ipsec(tl_buf *why);

/* The platform's overlay: <TOWLION_NETWORK>-platform. */
char *tl__cluster_platform_network(tl_ctx *ctx);

/* tl_cluster_reroute with the tasks of node `except` left out (NULL:
 * none), waiting for no replica (lib/deploy/reroute.c): before a drain,
 * the routes stop naming the node's tasks while they still answer. An app
 * with no task elsewhere is a "failed" item, its route left as it is. */
int tl__cluster_reroute_except(tl_cluster_reroute_result **out, tl_ctx *ctx, const char *app,
                               const char *except);

/* The overlay of a tenant (an app, or its preview `pr` when not 0),
 * named as its bridge network on one server (<TOWLION_NETWORK>-app-<project>)
 * and labelled as it (towlion.app, towlion.project, towlion.pr,
 * towlion.network=tenant); created when needed. Only the tenant's own
 * services are ever attached to it: as on one server, a container joins
 * its project's network at create and no other, and separate overlays
 * are separate VXLAN segments that nothing routes between. The network's
 * name goes to *name (the caller frees it). */
int tl__cluster_tenant_net(char **name, bool *encrypted, tl_ctx *ctx, tl_docker *d,
                           const char *app, uint32_t pr);

/* ---- the registry the nodes pull from (registry.c, registry_auth.c) ---- */

#define TL__REGISTRY_SERVICE "towlion-registry"
#define TL__REGISTRY_RELAY "towlion-registry-relay"
#define TL__REGISTRY_USER "towlion"

/* The registry as configured: TOWLION_REGISTRY_PORT, _DIR, _IMAGE,
 * _RELAY_IMAGE. */
typedef struct {
	int port;
	char *address;  /* "127.0.0.1:PORT": what every node pulls from */
	char *data_dir; /* its storage, on the manager it is pinned to */
	char *image;
	char *relay_image; /* the relay's on the other nodes: busybox's nc */
	bool created;   /* this run created the service */
} tl__registry;

int tl__registry_config(tl__registry *out, tl_ctx *ctx);
void tl__registry_dispose(tl__registry *r);

/* The registry's password (into `password`, a secret) and the path of its
 * htpasswd file (into *htpasswd when not NULL; the caller frees it).
 * With `create`, a missing password is made (random, 0600, never
 * replacing one another run made first) and the htpasswd file written
 * when it does not hold that password's hash (*htpasswd_changed says so);
 * without, a missing password is TL_ENOTFOUND saying to run cluster init. */
int tl__registry_secrets(tl_buf *password, char **htpasswd, bool *htpasswd_changed,
                         tl_ctx *ctx, bool create);

/* The service towlion-registry, pinned to node `node_id` (this manager),
 * and its relay on the other nodes (registry.c says why): created when
 * missing, kept when present (the registry restarted when its htpasswd had
 * to be written again), then waited for until the registry's task runs. */
int tl__cluster_registry_ensure(tl__registry *out, tl_ctx *ctx, tl_docker *d,
                                const char *node_id);

/* Whether the registry has a running task; `why` (may be NULL) gets the
 * state of a task that should run and does not. */
int tl__registry_running(bool *running, tl_buf *why, tl_docker *d);

/* The registry's state in a few words, for the doctor's engine line
 * ("registry running at 127.0.0.1:5000"); *ok is false when its service
 * exists and has no running task. */
int tl__registry_status(tl_buf *line, bool *ok, tl_ctx *ctx, tl_docker *d);

/*
 * For the Swarm deploy engine: the reference every node pulls a locally
 * built image by, with the credentials to pull it.
 *
 * `local_image` ("towlion/shop-web:r12", on the manager's engine `d`) is
 * tagged 127.0.0.1:PORT/<name>:<tag> and pushed to the cluster's registry
 * (layers the registry holds already are not sent again, so a second call
 * for the same image costs one manifest). *ref gets
 * "127.0.0.1:PORT/<name>:<tag>@sha256:...": pinned by digest, so every
 * task of a service runs the same bytes whatever the tag does later.
 * *auth gets the X-Registry-Auth value to send with POST /services/create
 * (and /services/{id}/update): Swarm hands it to the nodes that pull. It
 * is a secret: never log it, never put it in a label or an environment.
 * The caller frees both. TL_ENOTFOUND when cluster init made no registry;
 * TL_EINVALID for an image id or digest (a registry stores names);
 * TL_EAUTH when the registry refused the credentials.
 */
int tl__cluster_image_ref(char **ref, char **auth, tl_ctx *ctx, tl_docker *d,
                          const char *local_image);

#endif
