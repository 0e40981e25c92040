/*
 * An app at a glance: its active release, its containers with state and
 * health, its URL, and whether every routed container answers its health
 * path right now.
 */
#include "deploy_int.h"
#include "towlion/app.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"

#include <string.h>

#define STATUS_PROBE_MS 1500

typedef struct {
	tl_app_container pub;
	char *name, *service, *release, *state, *health, *upstream;
} container_item;

struct tl_app_status {
	char *release;
	int64_t since;
	char *url;
	int healthy;
	container_item *items;
	size_t n;
};

void tl_app_status_free(tl_app_status *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++) {
		container_item *c = &st->items[i];
		free(c->name);
		free(c->service);
		free(c->release);
		free(c->state);
		free(c->health);
		free(c->upstream);
	}
	free(st->items);
	free(st->release);
	free(st->url);
	free(st);
}

static char *dup0(const char *s)
{
	return tl__strdup(s ? s : "");
}

/* The upstream Caddy would use for a web container, per upstream mode. */
static char *upstream_of(tl_ctx *ctx, const tl_docker_container *c, int port)
{
	if (port <= 0)
		return tl__strdup("");
	if (!strcmp(tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"), "loopback")) {
		char p[16];
		snprintf(p, sizeof(p), "%d/tcp", port);
		int hp = tl_docker_container_host_port(c, p, NULL);
		return hp > 0 ? tl__sprintf("127.0.0.1:%d", hp) : tl__strdup("");
	}
	return tl__sprintf("%s:%d", tl_docker_container_name(c), port);
}

int tl_app_status_get(tl_app_status **out, tl_ctx *ctx, const char *app)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	tl_app *a = NULL;
	int rc = tl_app_open(&a, ctx, app);
	if (rc)
		return rc;
	tl_app_status *st = tl__calloc(1, sizeof(*st));
	tl_release_list *hist = NULL;
	tl__plan plan = {0};
	if (!st)
		rc = TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__history_load(&hist, tl_app_state_dir(a));
	const tl_release *active = rc == TL_OK ? tl__history_active(hist) : NULL;
	if (rc == TL_OK) {
		st->release = dup0(active ? active->id : "");
		st->since = active ? active->created : 0;
		/* TLS off serves plain HTTP on the configured port. */
		const char *tls = tl__cfg(ctx, "TOWLION_TLS");
		const char *port = tl__cfg(ctx, !strcmp(tls, "off") ? "TOWLION_HTTP_PORT"
		                                                    : "TOWLION_HTTPS_PORT");
		bool std = !strcmp(port, !strcmp(tls, "off") ? "80" : "443");
		st->url = active ? tl__sprintf("%s://%s%s%s", !strcmp(tls, "off") ? "http" : "https",
		                               tl_app_domain_at(a, 0), std ? "" : ":",
		                               std ? "" : port)
		                 : tl__strdup("");
		if (!st->release || !st->url)
			rc = TL_ENOMEM;
	}
	/* The routed port and health path of the active release's services. */
	if (rc == TL_OK && active && tl__plan_restore(&plan, tl_app_state_dir(a), active->id))
		tl_error_clear(); /* no saved plan: containers without health */
	tl_docker *d = NULL;
	tl_docker_container_list *l = NULL;
	char *filter[] = {rc == TL_OK ? tl__sprintf("towlion.project=%s", app) : NULL, NULL};
	if (rc == TL_OK)
		rc = filter[0] ? tl_docker_open(&d, ctx) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl_docker_container_list_by_label(&l, d, (const char *const *)filter, 1);
	size_t n = l ? tl_docker_container_list_count(l) : 0;
	if (rc == TL_OK && !(st->items = tl__calloc(n ? n : 1, sizeof(container_item))))
		rc = TL_ENOMEM;
	st->healthy = active != NULL;
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		const tl_docker_container *c = tl_docker_container_list_at(l, i);
		const char *svc = tl_docker_container_label(c, "towlion.service");
		const char *role = tl_docker_container_label(c, "towlion.role");
		const tl__svc *ps = NULL;
		for (size_t k = 0; svc && k < plan.n && !ps; k++)
			if (!strcmp(plan.svcs[k].name, svc))
				ps = &plan.svcs[k];
		bool web = role && !strcmp(role, "web") && ps && ps->routed;
		container_item *it = &st->items[st->n++];
		it->name = dup0(tl_docker_container_name(c));
		it->service = dup0(svc);
		it->release = dup0(tl_docker_container_label(c, "towlion.release"));
		it->state = dup0(tl_docker_container_state(c));
		it->upstream = web ? upstream_of(ctx, c, ps->port) : tl__strdup("");
		const char *health = tl_docker_container_health(c);
		/* Routed containers: ask the health path itself, as the deploy
		 * gate does; others: Docker's own healthcheck, if any. */
		if (web && tl_docker_container_running(c)) {
			tl_docker_container *full = NULL;
			char *probe = NULL;
			if (!strcmp(tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"), "loopback"))
				probe = tl__strdup(it->upstream ? it->upstream : "");
			else if (tl_docker_container_inspect(&full, d, it->name) == TL_OK)
				probe = tl__sprintf("%s:%d",
				                    tl_docker_container_ip(full, NULL), /* its one network */
				                    ps->port);
			tl_docker_container_free(full);
			int hrc = probe ? tl__health_wait(ctx, probe, ps->health_path, STATUS_PROBE_MS,
			                                  NULL, NULL)
			                : TL_ENOMEM;
			free(probe);
			if (hrc == TL_EUSER) {
				rc = hrc;
				break;
			}
			health = hrc == TL_OK ? "healthy" : "unhealthy";
			tl_error_clear();
		}
		if (web && strcmp(health, "healthy") != 0)
			st->healthy = 0;
		if (role && !strcmp(role, "worker") && !tl_docker_container_running(c))
			st->healthy = 0;
		it->health = dup0(health);
		if (!it->name || !it->service || !it->release || !it->state || !it->health ||
		    !it->upstream)
			rc = TL_ENOMEM;
		it->pub = (tl_app_container){it->name, it->service, it->release, it->state,
		                             it->health, it->upstream,
		                             tl_docker_container_created(c)};
	}
	tl_docker_container_list_free(l);
	tl_docker_free(d);
	free(filter[0]);
	tl__plan_dispose(&plan);
	tl_release_list_free(hist);
	tl_app_free(a);
	if (rc) {
		tl_app_status_free(st);
		return rc;
	}
	*out = st;
	return TL_OK;
}

const char *tl_app_status_release(const tl_app_status *st) { return st ? st->release : NULL; }
int64_t tl_app_status_since(const tl_app_status *st) { return st ? st->since : 0; }
const char *tl_app_status_url(const tl_app_status *st) { return st ? st->url : NULL; }
int tl_app_status_healthy(const tl_app_status *st) { return st ? st->healthy : 0; }
size_t tl_app_status_container_count(const tl_app_status *st) { return st ? st->n : 0; }
const tl_app_container *tl_app_status_container_at(const tl_app_status *st, size_t i)
{
	return (st && i < st->n) ? &st->items[i].pub : NULL;
}
