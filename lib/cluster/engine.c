/* TOWLION_ENGINE: which engine runs the apps. Only docker deploys yet. */
#include "cluster_int.h"

#include <string.h>

int tl__cluster_deploy_supported(tl_ctx *ctx)
{
	if (strcmp(tl__cfg(ctx, "TOWLION_ENGINE"), "swarm"))
		return TL_OK;
	return tl__error_set(TL_EUNSUPPORTED, TL_ERRCLASS_DEPLOY,
	                     "TOWLION_ENGINE=swarm: the Swarm deploy engine is not built yet "
	                     "(the cluster verbs are; see docs/cluster.md): set "
	                     "TOWLION_ENGINE=docker to deploy on this server's engine");
}
