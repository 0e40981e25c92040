/* The doctor's engine line (doctor_check.h). */
#include "cluster_int.h"
#include "doctor_check.h"

#include <string.h>

void tl__cluster_check_engine(tl_ctx *ctx, tl__outcome *o)
{
	if (strcmp(tl__cfg(ctx, "TOWLION_ENGINE"), "swarm")) {
		tl__say(o, TL_CHECK_OK, "", "engine docker (this server's dockerd)");
		return;
	}
	tl_docker *d = NULL;
	tl__swarm_state s;
	tl_buf reg = TL_BUF_INIT;
	bool reg_ok = true;
	int rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK && (rc = tl__swarm_state_read(&s, d)) == TL_OK)
		rc = tl__swarm_require_manager(d, "run apps with TOWLION_ENGINE=swarm");
	if (rc == TL_OK)
		rc = tl__registry_status(&reg, &reg_ok, ctx, d);
	tl_docker_free(d);
	if (rc == TL_ECONFLICT)
		tl__say(o, TL_CHECK_FAIL,
		        "run `towlion cluster init` on this server (or point TOWLION_DOCKER_HOST at "
		        "the cluster's manager)",
		        "engine swarm, but %s", tl_error_last()->message);
	else if (rc)
		tl__say(o, TL_CHECK_FAIL, "see the docker check", "engine swarm: %s",
		        tl_error_last()->message);
	else
		tl__say(o, reg_ok ? TL_CHECK_OK : TL_CHECK_FAIL,
		        reg_ok ? "" : "see `docker service ps towlion-registry --no-trunc`, then "
		                      "`towlion cluster init` again",
		        "engine swarm: this node is a manager, %ld node%s in the cluster; %s", s.nodes,
		        s.nodes == 1 ? "" : "s", reg.ptr);
	tl_buf_dispose(&reg);
}
