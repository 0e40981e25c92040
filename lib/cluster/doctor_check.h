/* The doctor's engine check (lib/cluster/doctor_check.c), declared apart
 * from cluster_int.h because its outcome type is the platform module's. */
#ifndef TL_CLUSTER_DOCTOR_CHECK_H
#define TL_CLUSTER_DOCTOR_CHECK_H

#include "platform/platform_int.h"

/* One line: TOWLION_ENGINE, and with swarm this node's role and the
 * cluster's node count. Swarm on an engine that is not a swarm manager
 * fails, with `towlion cluster init` as the fix. */
void tl__cluster_check_engine(tl_ctx *ctx, tl__outcome *o);

#endif
