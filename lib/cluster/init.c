/*
 * towlion cluster init: make the engine a swarm manager, give the platform
 * its overlay and start the registry the nodes pull from. Safe to run
 * again, and after a run killed halfway: a manager is left as it is, the
 * network and the registry are ensured (each step finds what an earlier
 * run made and keeps it).
 */
#include "cluster_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct tl_cluster_init_result {
	int already;
	int encrypted;
	char *node_id;
	char *network;
	char *warning;
	tl__registry registry; /* zero without one */
};

static const size_t init_sizes[] = {
	offsetof(tl_cluster_init_options, no_registry), /* version 1 */
	sizeof(tl_cluster_init_options),               /* version 2: no_registry */
};

int tl_cluster_init_options_init(tl_cluster_init_options *opts, unsigned int version)
{
	tl_cluster_init_options def = TL_CLUSTER_INIT_OPTIONS_INIT;
	return TL__OPTIONS_INIT_GROWN(opts, version, def, init_sizes, TL_CLUSTER_INIT_OPTIONS_VERSION,
	                              "tl_cluster_init_options");
}

/* POST /swarm/init (its answer, the node id as a bare JSON string, is read
 * back from /info by the caller). */
static int swarm_init(tl_docker *d, const char *advertise)
{
	json_t *body = json_pack("{s:s}", "ListenAddr", "0.0.0.0:2377");
	if (body && advertise && *advertise &&
	    json_object_set_new(body, "AdvertiseAddr", json_string(advertise))) {
		json_decref(body);
		body = NULL;
	}
	int rc = body ? tl__docker_call(d, "POST", "/swarm/init", body, NULL, 0,
	                                "initialise a swarm on the engine")
	              : TL_ENOMEM;
	json_decref(body);
	return rc;
}

static int init_with(tl_cluster_init_result *r, tl_ctx *ctx, tl_docker *d,
                     const tl_cluster_init_options *o)
{
	tl__swarm_state s;
	int rc = tl__swarm_state_read(&s, d);
	if (rc)
		return rc;
	if (!strcmp(s.state, "active") && s.manager) {
		r->already = 1;
		if ((rc = tl__log(ctx, TL_LOG_INFO, "the engine at %s is a swarm manager already",
		                  d->host)))
			return rc;
	} else if (strcmp(s.state, "inactive")) {
		/* a worker, or a swarm pending/locked/in error: not ours to change */
		return tl__swarm_require_manager(d, "initialise the cluster");
	} else {
		if ((rc = tl__step(ctx, "cluster.init", d->host, "initialising a swarm on %s",
		                   d->host)))
			return rc;
		if ((rc = swarm_init(d, o->advertise_addr)) || (rc = tl__swarm_state_read(&s, d)))
			return rc;
	}
	r->node_id = tl__strdup(s.node_id);
	r->network = tl__cluster_platform_network(ctx);
	if (!r->node_id || !r->network)
		return TL_ENOMEM;
	if ((rc = tl__step(ctx, "cluster.network", r->network, "ensuring the overlay network %s",
	                   r->network)))
		return rc;
	const char *labels[] = {"towlion.platform=1", "towlion.network=platform", NULL};
	bool enc = false;
	tl_buf why = TL_BUF_INIT;
	rc = tl__cluster_overlay_ensure(&enc, &why, ctx, d, r->network, labels);
	r->encrypted = enc;
	r->warning = tl__strdup(why.ptr ? why.ptr : "");
	tl_buf_dispose(&why);
	if (rc == TL_OK && !r->warning)
		rc = TL_ENOMEM;
	if (rc == TL_OK && !o->no_registry)
		rc = tl__cluster_registry_ensure(&r->registry, ctx, d, r->node_id);
	return rc;
}

int tl_cluster_init(tl_cluster_init_result **out, tl_ctx *ctx, const tl_cluster_init_options *opts)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	tl_cluster_init_options o = TL_CLUSTER_INIT_OPTIONS_INIT;
	int rc = TL__OPTIONS_UPGRADE(&o, opts, init_sizes, TL_CLUSTER_INIT_OPTIONS_VERSION,
	                             "tl_cluster_init_options");
	if (rc)
		return rc;
	tl_cluster_init_result *r = tl__calloc(1, sizeof(*r));
	if (!r)
		return TL_ENOMEM;
	tl_docker *d = NULL;
	rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK)
		rc = init_with(r, ctx, d, &o);
	tl_docker_free(d);
	if (rc) {
		tl_cluster_init_result_free(r);
		return rc;
	}
	*out = r;
	return TL_OK;
}

void tl_cluster_init_result_free(tl_cluster_init_result *r)
{
	if (!r)
		return;
	free(r->node_id);
	free(r->network);
	free(r->warning);
	tl__registry_dispose(&r->registry);
	free(r);
}

int tl_cluster_init_result_already(const tl_cluster_init_result *r)
{
	return r ? r->already : 0;
}

const char *tl_cluster_init_result_node_id(const tl_cluster_init_result *r)
{
	return r && r->node_id ? r->node_id : "";
}

const char *tl_cluster_init_result_network(const tl_cluster_init_result *r)
{
	return r && r->network ? r->network : "";
}

int tl_cluster_init_result_encrypted(const tl_cluster_init_result *r)
{
	return r ? r->encrypted : 0;
}

const char *tl_cluster_init_result_warning(const tl_cluster_init_result *r)
{
	return r && r->warning ? r->warning : "";
}

const char *tl_cluster_init_result_registry(const tl_cluster_init_result *r)
{
	return r && r->registry.address ? r->registry.address : "";
}

const char *tl_cluster_init_result_registry_dir(const tl_cluster_init_result *r)
{
	return r && r->registry.data_dir ? r->registry.data_dir : "";
}

int tl_cluster_init_result_registry_created(const tl_cluster_init_result *r)
{
	return r ? r->registry.created : 0;
}
