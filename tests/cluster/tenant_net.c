/*
 * tests/cluster/run's way to the internal tl__cluster_tenant_net (the
 * deploy engine on Swarm will be its caller): ensure a tenant's overlay on
 * the engine at TOWLION_DOCKER_HOST and print "NAME encrypted|plain".
 *
 * Usage: cluster_tenant_net APP [PR]     exit 0, or 1 with the error
 */
#include "cluster/cluster_int.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: cluster_tenant_net APP [PR]\n");
		return 2;
	}
	tl_ctx *ctx = NULL;
	tl_docker *d = NULL;
	char *name = NULL;
	bool enc = false;
	int rc = tl_ctx_new(&ctx, NULL);
	if (rc == TL_OK)
		rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK)
		rc = tl__cluster_tenant_net(&name, &enc, ctx, d, argv[1],
		                            argc == 3 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0);
	if (rc == TL_OK)
		printf("%s %s\n", name, enc ? "encrypted" : "plain");
	else
		fprintf(stderr, "cluster_tenant_net: %s\n", tl_error_last()->message);
	free(name);
	tl_docker_free(d);
	tl_ctx_free(ctx);
	return rc == TL_OK ? 0 : 1;
}
