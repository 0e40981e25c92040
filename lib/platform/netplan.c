/*
 * Which network each platform service joins, and which secrets of
 * platform.env it gets (docs/security.md, "Networks").
 *
 * - TOWLION_NETWORK ("towlion"): Caddy and the shared services that
 *   tenants use (postgres, redis, the object store). No tenant joins it:
 *   the deploy engine connects the shared services to each tenant's own
 *   network under reserved names, and Caddy too (without a name).
 * - <TOWLION_NETWORK>-internal: the collectors and dashboards (Loki,
 *   Promtail, Grafana, Prometheus, cAdvisor, node-exporter), internal
 *   (no route out); Caddy joins it to route Grafana. No tenant network
 *   is ever named so: those are <prefix>-app-<project>.
 *
 * Secrets: each service gets only the keys it needs, from a file of its
 * own written next to platform.env (0600).
 */
#include "platform_int.h"

#include <string.h>

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct {
	const char *service;
	unsigned networks;
	const char *const *env_keys; /* from platform.env; NULL: none */
} plan[] = {
	{"postgres", TL__PLAT_NET_EDGE, L("POSTGRES_PASSWORD")},
	{"redis", TL__PLAT_NET_EDGE, L("REDIS_PASSWORD")},
	{"s3", TL__PLAT_NET_EDGE, L("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")},
	{"minio", TL__PLAT_NET_EDGE, L("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")},
	{"storage", TL__PLAT_NET_EDGE, NULL},
	{"caddy", TL__PLAT_NET_EDGE | TL__PLAT_NET_INTERNAL, NULL},
	{"loki", TL__PLAT_NET_INTERNAL, NULL},
	{"promtail", TL__PLAT_NET_INTERNAL, NULL},
	{"grafana", TL__PLAT_NET_INTERNAL, L("GF_SECURITY_ADMIN_PASSWORD")},
	{"prometheus", TL__PLAT_NET_INTERNAL, NULL},
	{"cadvisor", TL__PLAT_NET_INTERNAL, NULL},
	{"node-exporter", TL__PLAT_NET_INTERNAL, NULL},
};

static int find(const char *service)
{
	for (size_t i = 0; i < TL__ARRAY_SIZE(plan); i++)
		if (!strcmp(plan[i].service, service))
			return (int)i;
	return -1;
}

unsigned tl__plat_networks(const char *service)
{
	int i = find(service);
	/* A service added to the table later and not listed here: the
	 * shared-service network (never the tenants'). */
	return i < 0 ? TL__PLAT_NET_EDGE : plan[i].networks;
}

int tl__plat_env_keys(const char *const **keys, const char *service)
{
	int i = find(service);
	if (i < 0)
		return TL_ENOTFOUND;
	*keys = plan[i].env_keys;
	return TL_OK;
}

char *tl__plat_internal_network(tl_ctx *ctx)
{
	return tl__sprintf("%s-internal", tl__cfg(ctx, "TOWLION_NETWORK"));
}

char *tl__plat_service_env(const tl__plat *p, const char *service)
{
	return tl__sprintf("%s/platform-env/%s.env", p->state, service);
}
