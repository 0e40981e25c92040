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

#endif
