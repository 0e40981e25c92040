/*
 * The tenant network: every project (an app, a preview) gets a Docker
 * network of its own, <TOWLION_NETWORK>-app-<project>. Its services find
 * each other there by compose name, as under compose, and nowhere else.
 *
 * Who else joins it, and how:
 * - Caddy (network upstream mode), without an alias: it reaches the
 *   project's containers by container name. It joins before the first
 *   route points there.
 * - The shared services when they run as platform containers (label
 *   towlion.platform=1 on TOWLION_NETWORK), under reserved aliases
 *   (postgres, redis, s3/storage/minio) that the compose reader refuses as
 *   service names. When they run on the host instead, the project's
 *   containers get those names as extra hosts pointing at the host gateway.
 *
 * Tenant networks cannot collide with the platform's own networks: those
 * are <prefix> and <prefix>-internal, and no project name yields
 * "internal" after "-app-".
 */
#include "deploy_int.h"

#include <string.h>

/* The names the shared services get on tenant networks (reserved: see
 * tl__compose_reserved_name), and which platform container (by its
 * towlion.service label) answers each group. */
static const char *const groups[][4] = {
	{"postgres", NULL},
	{"redis", NULL},
	{"s3", "storage", "minio", NULL},
};
#define NGROUPS TL__ARRAY_SIZE(groups)

static const struct {
	const char *service;
	size_t group;
} shared[] = {{"postgres", 0}, {"redis", 1}, {"s3", 2}, {"minio", 2}, {"storage", 2}};

static int group_of(const char *service)
{
	for (size_t i = 0; service && i < TL__ARRAY_SIZE(shared); i++)
		if (!strcmp(shared[i].service, service))
			return (int)shared[i].group;
	return -1;
}

char *tl__tenant_network(tl_ctx *ctx, const char *project)
{
	return tl__sprintf("%s-app-%s", tl__cfg(ctx, "TOWLION_NETWORK"), project);
}

/* Platform containers on the platform network (this platform's, not those
 * of another platform on the same daemon). */
static int platform_containers(tl_docker_container_list **out, tl_docker *d)
{
	const char *filter[] = {"towlion.platform=1", NULL};
	return tl_docker_container_list_by_label(out, d, filter, 0);
}

static int on_platform_network(tl_ctx *ctx, const tl_docker_container *c)
{
	return *tl_docker_container_ip(c, tl__cfg(ctx, "TOWLION_NETWORK")) != '\0';
}

int tl__tenant_net_platform(char ***extra_hosts, tl_ctx *ctx, tl_docker *d, const char *net,
                            const char *project, bool with_caddy)
{
	bool caddy = false, found[NGROUPS] = {false};
	tl_docker_container_list *cl = NULL;
	int rc = platform_containers(&cl, d);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(cl); i++) {
		const tl_docker_container *c = tl_docker_container_list_at(cl, i);
		const char *svc = tl_docker_container_label(c, "towlion.service");
		if (!svc || !on_platform_network(ctx, c))
			continue;
		const char *name = tl_docker_container_name(c);
		if (!strcmp(svc, "caddy") && with_caddy) {
			/* no alias: a tenant must not be able to take or find a name */
			rc = tl_docker_network_connect(d, net, name, NULL);
			caddy = true;
		} else if (group_of(svc) >= 0) {
			rc = tl_docker_network_connect(d, net, name, groups[group_of(svc)]);
			found[group_of(svc)] = true;
		}
		if (rc)
			tl__error_prefix("joining the platform's %s to the network of %s", svc,
			                 project);
	}
	tl_docker_container_list_free(cl);
	if (rc == TL_OK && with_caddy && !caddy)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
		                   "upstream mode is network, but no running Caddy container "
		                   "(labels towlion.platform=1, towlion.service=caddy) is on the "
		                   "network %s: start the platform (`towlion platform up`) or set "
		                   "TOWLION_UPSTREAM_MODE=loopback",
		                   tl__cfg(ctx, "TOWLION_NETWORK"));
	/* Services that run on the host: their reserved names point at it. */
	for (size_t g = 0; rc == TL_OK && g < NGROUPS; g++)
		for (size_t k = 0; rc == TL_OK && !found[g] && groups[g][k]; k++)
			rc = tl__strv_pushf(extra_hosts, "%s:host-gateway", groups[g][k]);
	return rc;
}

int tl__tenant_net_join(tl__tenant_net *out, tl_ctx *ctx, tl_docker *d, const tl__project *p)
{
	memset(out, 0, sizeof(*out));
	char *net = tl__tenant_network(ctx, p->name);
	if (!net)
		return TL_ENOMEM;
	char **labels = NULL;
	int rc = tl__strv_pushf(&labels, "towlion.app=%s", p->app);
	if (rc == TL_OK)
		rc = tl__strv_pushf(&labels, "towlion.project=%s", p->name);
	if (rc == TL_OK && p->pr)
		rc = tl__strv_pushf(&labels, "towlion.pr=%s", p->pr);
	if (rc == TL_OK)
		rc = tl__strv_push(&labels, "towlion.network=tenant");
	if (rc == TL_OK)
		rc = tl_docker_network_ensure(NULL, d, net, (const char *const *)labels);
	tl__strv_free(labels);
	if (rc == TL_OK)
		rc = tl__tenant_net_platform(&out->extra_hosts, ctx, d, net, p->name,
		                             !strcmp(tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"), "network"));
	if (rc) {
		tl__strv_free(out->extra_hosts);
		out->extra_hosts = NULL;
		free(net);
		return rc;
	}
	out->name = net;
	return TL_OK;
}

void tl__tenant_net_dispose(tl__tenant_net *n)
{
	if (!n)
		return;
	free(n->name);
	tl__strv_free(n->extra_hosts);
	memset(n, 0, sizeof(*n));
}

int tl__tenant_net_leave(tl_docker *d, const char *net)
{
	tl_docker_container_list *cl = NULL;
	int rc = platform_containers(&cl, d);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(cl); i++) {
		const tl_docker_container *c = tl_docker_container_list_at(cl, i);
		if (!*tl_docker_container_ip(c, net))
			continue;
		rc = tl_docker_network_disconnect(d, net, tl_docker_container_name(c), 1);
		if (rc == TL_ENOTFOUND) {
			tl_error_clear();
			rc = TL_OK;
		}
	}
	tl_docker_container_list_free(cl);
	return rc;
}

int tl__tenant_net_remove(tl_ctx *ctx, tl_docker *d, const char *project)
{
	char *net = tl__tenant_network(ctx, project);
	if (!net)
		return TL_ENOMEM;
	/* The platform's containers leave first; the project's are gone. */
	int rc = tl__tenant_net_leave(d, net);
	if (rc == TL_OK) {
		rc = tl_docker_network_remove(d, net);
		if (rc == TL_ENOTFOUND) {
			tl_error_clear();
			rc = TL_OK;
		} else if (rc == TL_ECONFLICT) {
			/* Something not ours is still attached (by hand): the project
			 * is gone all the same; say so rather than fail the destroy. */
			rc = tl__log(ctx, TL_LOG_WARN,
			             "the network %s still has containers that are not the "
			             "platform's; left in place (remove it with `docker network rm` "
			             "once they are gone)",
			             net);
		}
	}
	if (rc)
		tl__error_prefix("removing the network %s", net);
	free(net);
	return rc;
}
