/*
 * The upgrade from the flat network: apps and previews that still run on
 * TOWLION_NETWORK (as every release did before tenant networks) move to
 * their own network live, without a failed request:
 *
 *   1. the project's network is made, Caddy and the shared services join;
 *   2. each container joins it too, with its compose name as alias;
 *   3. the route names each upstream as <container>.<network>:<port>,
 *      which Docker's DNS answers from that network only, so Caddy's next
 *      connections go there; in-flight requests finish on the old ones
 *      (Caddy swaps its configuration gracefully);
 *   4. after a drain, the containers leave the flat network.
 *
 * A kill -9 anywhere leaves a project on both networks or already moved;
 * running it again finishes the work (every step is idempotent).
 *
 * In the loopback upstream mode a container's published port changes
 * when it leaves the network that published it, so the route would point
 * at a dead port for a moment: those projects are left for a redeploy,
 * which moves them with the usual health-gated switch.
 */
#include "caddy/caddy_internal.h"
#include "deploy_int.h"
#include "platform/platform_int.h"
#include "towlion/platform.h"

#include <string.h>
#include <time.h>

#define MIGRATE_LOCK_MS (10 * 60 * 1000)
#define MIGRATE_DRAIN_MS 2000

typedef struct {
	char *project, *app, *pr;
	char **containers; /* on the flat network */
	char **aliases;    /* compose service of each ("" for none) */
} flat_project;

static void flat_dispose(flat_project *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].project);
		free(v[i].app);
		free(v[i].pr);
		tl__strv_free(v[i].containers);
		tl__strv_free(v[i].aliases);
	}
	free(v);
}

static int dup_or_null(char **out, const char *s)
{
	*out = s ? tl__strdup(s) : NULL;
	return s && !*out ? TL_ENOMEM : TL_OK;
}

/* Running project containers with an address on the flat network. */
static int find_flat(flat_project **out, size_t *n, tl_ctx *ctx, tl_docker *d)
{
	const char *flat = tl__cfg(ctx, "TOWLION_NETWORK");
	const char *filter[] = {"towlion.project", NULL};
	tl_docker_container_list *cl = NULL;
	flat_project *v = NULL;
	size_t nv = 0;
	int rc = tl_docker_container_list_by_label(&cl, d, filter, 0);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(cl); i++) {
		const tl_docker_container *c = tl_docker_container_list_at(cl, i);
		const char *proj = tl_docker_container_label(c, "towlion.project");
		const char *app = tl_docker_container_label(c, "towlion.app");
		const char *svc = tl_docker_container_label(c, "towlion.service");
		const char *role = tl_docker_container_label(c, "towlion.role");
		if (!proj || !app || !*tl_docker_container_ip(c, flat))
			continue;
		size_t k = 0;
		while (k < nv && strcmp(v[k].project, proj))
			k++;
		if (k == nv) {
			flat_project *g = tl__realloc(v, (nv + 1) * sizeof(*v));
			if (!g) {
				rc = TL_ENOMEM;
				break;
			}
			v = g;
			memset(&v[nv], 0, sizeof(v[nv]));
			nv++;
			if ((rc = dup_or_null(&v[k].project, proj)) ||
			    (rc = dup_or_null(&v[k].app, app)) ||
			    (rc = dup_or_null(&v[k].pr, tl_docker_container_label(c, "towlion.pr"))))
				break;
		}
		/* One-off release containers never had an alias. */
		bool aliased = svc && !(role && !strcmp(role, "release"));
		rc = tl__strv_push(&v[k].containers, tl_docker_container_name(c));
		if (rc == TL_OK)
			rc = tl__strv_push(&v[k].aliases, aliased ? svc : "");
	}
	tl_docker_container_list_free(cl);
	if (rc) {
		flat_dispose(v, nv);
		return rc;
	}
	*out = v;
	*n = nv;
	return TL_OK;
}

/* The site file names each container as <container>.<network>:port. */
static int repoint_route(tl_ctx *ctx, const flat_project *fp, const char *net)
{
	char *sites = tl__path_join(tl__cfg(ctx, "TOWLION_CADDY_DIR"), "sites");
	char *file = sites ? tl__sprintf("%s/%s.caddy", sites, fp->project) : NULL;
	free(sites);
	if (!file)
		return TL_ENOMEM;
	tl_buf text = TL_BUF_INIT;
	int rc = tl__file_read(&text, file);
	free(file);
	if (rc == TL_ENOTFOUND) { /* not routed: nothing to repoint */
		tl_error_clear();
		return TL_OK;
	}
	for (size_t i = 0; rc == TL_OK && fp->containers[i]; i++) {
		char *from = tl__sprintf("%s:", fp->containers[i]);
		char *to = tl__sprintf("%s.%s:", fp->containers[i], net);
		tl_buf next = TL_BUF_INIT;
		const char *s = text.ptr ? text.ptr : "";
		rc = from && to ? TL_OK : TL_ENOMEM;
		for (const char *hit; rc == TL_OK && (hit = strstr(s, from));) {
			/* a whole name only: not the tail of a longer one */
			bool whole = hit == text.ptr || !(hit[-1] == '-' || hit[-1] == '.' ||
			                                  (hit[-1] >= 'a' && hit[-1] <= 'z') ||
			                                  (hit[-1] >= '0' && hit[-1] <= '9'));
			tl__buf_put(&next, s, (size_t)(hit - s));
			rc = tl__buf_puts(&next, whole ? to : from);
			s = hit + strlen(from);
		}
		if (rc == TL_OK)
			rc = tl__buf_puts(&next, s);
		if (rc == TL_OK) {
			tl_buf_dispose(&text);
			text = next;
		} else {
			tl_buf_dispose(&next);
		}
		free(from);
		free(to);
	}
	if (rc == TL_OK)
		rc = tl__caddy_site_apply(ctx, fp->project, text.ptr);
	tl_buf_dispose(&text);
	return rc;
}

static int migrate_one(tl_platform_report *r, tl_ctx *ctx, tl_docker *d,
                       const flat_project *fp, bool dry)
{
	const char *flat = tl__cfg(ctx, "TOWLION_NETWORK");
	size_t n = tl__strv_len(fp->containers);
	if (dry)
		return tl__plat_step(r, "network", fp->project, 1,
		                     "would move %zu container%s from %s to %s-app-%s", n,
		                     n == 1 ? "" : "s", flat, flat, fp->project);
	tl__lock *lock = NULL;
	int rc = tl__lock_project(&lock, ctx, fp->project, MIGRATE_LOCK_MS);
	tl__project p = {.name = fp->project, .app = fp->app, .pr = fp->pr};
	tl__tenant_net net = {0};
	if (rc == TL_OK)
		rc = tl__step(ctx, "network.migrate", fp->project, "moving %s to its own network",
		              fp->project);
	if (rc == TL_OK)
		rc = tl__tenant_net_join(&net, ctx, d, &p);
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		const char *alias[] = {fp->aliases[i], NULL};
		rc = tl_docker_network_connect(d, net.name, fp->containers[i],
		                               *fp->aliases[i] ? alias : NULL);
	}
	if (rc == TL_OK && !strcmp(tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"), "network")) {
		rc = repoint_route(ctx, fp, net.name);
		/* Requests already on their way over the old network finish. */
		if (rc == TL_OK)
			tl__sleep_ms(MIGRATE_DRAIN_MS);
	}
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		rc = tl_docker_network_disconnect(d, flat, fp->containers[i], 0);
		if (rc == TL_ENOTFOUND) /* gone meanwhile (a restart policy, a kill) */
			rc = TL_OK;
	}
	if (rc == TL_OK)
		rc = tl__plat_step(r, "network", fp->project, 1, "moved %zu container%s to %s", n,
		                   n == 1 ? "" : "s", net.name);
	if (rc)
		tl__error_prefix("moving %s off the network %s (run it again to finish)",
		                 fp->project, flat);
	tl__tenant_net_dispose(&net);
	tl__lock_release(lock);
	return rc;
}

/* Is any running platform container (the shared services, and Caddy when
 * it joins tenant networks) missing from the network NET? */
static bool platform_missing(const tl_docker_container_list *pl, const char *net, bool caddy)
{
	for (size_t i = 0; i < tl_docker_container_list_count(pl); i++) {
		const tl_docker_container *c = tl_docker_container_list_at(pl, i);
		const char *svc = tl_docker_container_label(c, "towlion.service");
		bool joins = svc && ((caddy && !strcmp(svc, "caddy")) || !strcmp(svc, "postgres") ||
		                     !strcmp(svc, "redis") || !strcmp(svc, "s3"));
		if (joins && !*tl_docker_container_ip(c, net))
			return true;
	}
	return false;
}

/*
 * Platform containers join tenant networks when a project deploys; a
 * platform container made again (`platform down && platform up`, a new
 * image) is on none of them, so Caddy could not reach any app (503) and
 * no app its database by name. Every project that runs on its own network
 * gets Caddy and the shared services back (idempotent: a connected one is
 * left as it is).
 */
static int rejoin_tenants(tl_platform_report *r, tl_ctx *ctx, tl_docker *d, bool dry)
{
	const char *project_filter[] = {"towlion.project", NULL};
	const char *platform_filter[] = {"towlion.platform=1", NULL};
	tl_docker_container_list *cl = NULL, *pl = NULL;
	char **done = NULL;
	bool caddy = !strcmp(tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"), "network");
	int rc = tl_docker_container_list_by_label(&cl, d, project_filter, 0);
	if (rc == TL_OK)
		rc = tl_docker_container_list_by_label(&pl, d, platform_filter, 0);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(cl); i++) {
		const tl_docker_container *c = tl_docker_container_list_at(cl, i);
		const char *proj = tl_docker_container_label(c, "towlion.project");
		const char *app = tl_docker_container_label(c, "towlion.app");
		char *net = proj && app ? tl__tenant_network(ctx, proj) : NULL;
		bool seen = false;
		for (size_t k = 0; proj && done && done[k] && !seen; k++)
			seen = !strcmp(done[k], proj);
		if (!net || seen || !*tl_docker_container_ip(c, net) || !platform_missing(pl, net, caddy)) {
			free(net);
			if (proj && app && !net)
				rc = TL_ENOMEM;
			continue;
		}
		rc = tl__strv_push(&done, proj);
		tl__project p = {.name = proj, .app = app, .pr = tl_docker_container_label(c, "towlion.pr")};
		tl__tenant_net tn = {0};
		if (rc == TL_OK && !dry && (rc = tl__tenant_net_join(&tn, ctx, d, &p)))
			tl__error_prefix("joining the platform's containers to the network %s", net);
		tl__tenant_net_dispose(&tn);
		if (rc == TL_OK)
			rc = tl__plat_step(r, "network", proj, 1, "%splatform containers joined %s",
			                   dry ? "would have the " : "", net);
		free(net);
	}
	tl__strv_free(done);
	tl_docker_container_list_free(pl);
	tl_docker_container_list_free(cl);
	return rc;
}

int tl_platform_migrate_networks(tl_platform_report **out, tl_ctx *ctx,
                                 const tl_platform_options *opts)
{
	TL__CHECK_ARG(ctx);
	TL__CHECK_VERSION(opts, TL_PLATFORM_OPTIONS_VERSION, "tl_platform_options");
	bool dry = opts && (opts->flags & TL_PLATFORM_DRY_RUN);
	tl_platform_report *r = tl__plat_report_new();
	tl_docker *d = NULL;
	flat_project *v = NULL;
	size_t nv = 0;
	int rc = r ? tl_docker_open(&d, ctx) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = find_flat(&v, &nv, ctx, d);
	bool loopback = !strcmp(tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"), "loopback");
	for (size_t i = 0; rc == TL_OK && i < nv; i++) {
		if (loopback)
			rc = tl__plat_step(r, "network", v[i].project, 0,
			                   "left on %s: in the loopback upstream mode its published "
			                   "port would change; redeploy it to move it",
			                   tl__cfg(ctx, "TOWLION_NETWORK"));
		else
			rc = migrate_one(r, ctx, d, &v[i], dry);
	}
	if (rc == TL_OK && nv == 0)
		rc = tl__plat_step(r, "network", tl__cfg(ctx, "TOWLION_NETWORK"), 0,
		                   "no app or preview left on the flat network");
	if (rc == TL_OK)
		rc = rejoin_tenants(r, ctx, d, dry);
	flat_dispose(v, nv);
	tl_docker_free(d);
	if (rc || !out)
		tl_platform_report_free(r);
	else
		*out = r;
	return rc;
}
