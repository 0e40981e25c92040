/*
 * Converging a project: removing containers of releases that do not serve,
 * finding what serves (history and route), pruning old images.
 */
#include "runtime.h"
#include "docker/serving.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"

#include <string.h>
#include <time.h>

/* Caddy's new configuration takes no new request to the old containers,
 * but it does not wait for those its old one is still proxying: a request
 * slower than the drain time would be cut by the stop. After the drain
 * time, wait while an old container still serves a connection, up to
 * DRAIN_IDLE_MAX_MS (long-lived connections, a websocket, would hold it
 * for ever; past that the stop's SIGTERM and grace are the app's to
 * honour). A container whose connections cannot be told (dockerd on
 * another machine) is left to the drain time alone. */
#define DRAIN_IDLE_MAX_MS 30000
#define DRAIN_POLL_MS 50

static bool is_old(const tl_docker_container *c, char *const *keep)
{
	const char *rel = tl_docker_container_label(c, "towlion.release");
	return !rel || !tl__strv_contains(keep, rel);
}

static void wait_until_idle(tl__deploy_attempt *a, const tl_docker_container_list *l,
                            char *const *keep)
{
	long t0 = tl__clock_ms();
	int open = 0, quiet = 0;
	/* Two quiet looks in a row: a request the old configuration accepted
	 * a moment ago may be between Caddy's accept and its dial. */
	while (quiet < 2) {
		open = 0;
		for (size_t i = 0; i < tl_docker_container_list_count(l); i++) {
			const tl_docker_container *c = tl_docker_container_list_at(l, i);
			if (!is_old(c, keep))
				continue;
			int n = tl__docker_container_serving(a->docker, tl_docker_container_id(c));
			if (n > 0)
				open += n;
		}
		quiet = open ? 0 : quiet + 1;
		if (quiet >= 2 || tl__clock_ms() - t0 >= DRAIN_IDLE_MAX_MS)
			break;
		tl__sleep_ms(DRAIN_POLL_MS);
	}
	long waited = tl__clock_ms() - t0;
	if (open)
		tl__log(a->ctx, TL_LOG_WARN, "%s: %d connection(s) to the old release still open "
		        "after %ld ms more; stopping it (the app gets SIGTERM and its stop grace)",
		        a->p->name, open, waited);
	else if (waited > 2 * DRAIN_POLL_MS + 100)
		tl__log(a->ctx, TL_LOG_INFO, "%s: waited %ld ms more for the old release's open "
		        "requests", a->p->name, waited);
}

/* Stop and remove the project's containers (of `role`, or all) whose
 * release is not in `keep`, after letting them drain for `drain_ms`. */
int tl__docker_remove_other_releases(tl__deploy_attempt *a, char *const *keep,
                                     const char *role, int drain_ms)
{
	char **filter = NULL;
	int rc = tl__label_filter(&filter, a->p, NULL);
	if (rc == TL_OK && role)
		rc = tl__strv_pushf(&filter, "towlion.role=%s", role);
	tl_docker_container_list *l = NULL;
	if (rc == TL_OK)
		rc = tl_docker_container_list_by_label(&l, a->docker, (const char *const *)filter, 1);
	tl__strv_free(filter);
	if (rc)
		return rc;
	size_t old = 0;
	for (size_t i = 0; i < tl_docker_container_list_count(l); i++)
		if (is_old(tl_docker_container_list_at(l, i), keep))
			old++;
	if (old && drain_ms > 0) {
		tl__step(a->ctx, "deploy.drain", a->p->name, "draining %zu old container(s) for %d ms",
		         old, drain_ms);
		tl__sleep_ms(drain_ms);
		wait_until_idle(a, l, keep);
	}
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(l); i++) {
		const tl_docker_container *c = tl_docker_container_list_at(l, i);
		const char *rel = tl_docker_container_label(c, "towlion.release");
		if (rel && tl__strv_contains(keep, rel))
			continue;
		const char *name = tl_docker_container_name(c);
		tl__log(a->ctx, TL_LOG_INFO, "removing %s (release %s)", name, rel ? rel : "?");
		tl_docker_container_stop(a->docker, name, -1);
		rc = tl_docker_container_remove(a->docker, name, TL_DOCKER_REMOVE_FORCE);
		if (rc == TL_ENOTFOUND)
			rc = TL_OK;
	}
	tl_docker_container_list_free(l);
	return rc;
}

/* The releases of the containers the route of `site` points at (a deploy
 * killed between the switch and its record leaves the route ahead of the
 * history). */
int tl__docker_routed_releases(char ***keep, tl__deploy_attempt *a, const tl_caddy_site *site)
{
	int rc = TL_OK;
	char **filter = NULL;
	tl_docker_container_list *l = NULL;
	if ((rc = tl__label_filter(&filter, a->p, NULL)) == TL_OK)
		rc = tl_docker_container_list_by_label(&l, a->docker, (const char *const *)filter, 1);
	for (size_t i = 0; rc == TL_OK && l && i < tl_docker_container_list_count(l); i++) {
		const tl_docker_container *c = tl_docker_container_list_at(l, i);
		const char *rel = tl_docker_container_label(c, "towlion.release");
		if (!rel || tl__strv_contains(*keep, rel))
			continue;
		for (size_t u = 0; u < site->nupstreams; u++) {
			const char *up = site->upstreams[u];
			const char *colon = strrchr(up, ':');
			bool match;
			if (!strcmp(tl__cfg(a->ctx, "TOWLION_UPSTREAM_MODE"), "loopback")) {
				char port[16];
				snprintf(port, sizeof(port), "%s/tcp", colon ? colon + 1 : "");
				int hp = 0;
				for (size_t s2 = 0; s2 < a->plan.n && !hp; s2++) {
					snprintf(port, sizeof(port), "%d/tcp", a->plan.svcs[s2].port);
					hp = tl_docker_container_host_port(c, port, NULL);
					char want[32];
					snprintf(want, sizeof(want), "127.0.0.1:%d", hp);
					if (hp && strcmp(want, up))
						hp = 0;
				}
				match = hp != 0;
			} else {
				/* name:port, or name.<network>:port (the form the
				 * flat-network migration routes by) */
				const char *name = tl_docker_container_name(c);
				size_t nl = strlen(name);
				match = colon && nl <= (size_t)(colon - up) && !strncmp(up, name, nl) &&
				        (up[nl] == ':' || up[nl] == '.');
			}
			if (match) {
				rc = tl__strv_push(keep, rel);
				break;
			}
		}
	}
	tl_docker_container_list_free(l);
	tl__strv_free(filter);
	return rc;
}

/* Keep the images of the newest keep_images releases that served. */
void tl__prune_images(tl__deploy_attempt *a)
{
	tl_release_list *hist = NULL;
	if (tl__history_load(&hist, a->p->state_dir) != TL_OK) {
		tl_error_clear();
		return;
	}
	char **keep = NULL, **keep_tags = NULL;
	int kept = 0;
	for (size_t i = 0; i < tl_release_list_count(hist) && kept < a->p->keep_images; i++) {
		const tl_release *r = tl_release_list_at(hist, i);
		if (r->status == TL_RELEASE_FAILED)
			continue;
		tl__strv_push(&keep, r->id);
		/* A restart runs the images of the release it restarted (labelled
		 * with that one's id): kept while the restart is. */
		for (size_t s = 0; s < r->nsvc; s++)
			tl__strv_push(&keep_tags, r->img[s]);
		kept++;
	}
	tl_release_list_free(hist);
	char **filter = NULL;
	tl__label_filter(&filter, a->p, NULL);
	tl_docker_image_list *imgs = NULL;
	if (tl_docker_image_list_by_label(&imgs, a->docker, (const char *const *)filter) ==
	    TL_OK) {
		for (size_t i = 0; i < tl_docker_image_list_count(imgs); i++) {
			const tl_docker_image *img = tl_docker_image_list_at(imgs, i);
			const char *rel = tl_docker_image_label(img, "towlion.release");
			if (!rel || tl__strv_contains(keep, rel) || !strcmp(rel, a->release_id))
				continue;
			/* Each tag goes; the image itself goes with its last tag. */
			for (size_t t = 0; t < tl_docker_image_tag_count(img); t++)
				if (!tl__strv_contains(keep_tags, tl_docker_image_tag_at(img, t)) &&
				    tl_docker_image_remove(a->docker, tl_docker_image_tag_at(img, t), 0) ==
				        TL_OK)
					tl__log(a->ctx, TL_LOG_INFO, "pruned image %s",
					        tl_docker_image_tag_at(img, t));
		}
	}
	tl_error_clear(); /* an image still in use stays: not a failure */
	tl_docker_image_list_free(imgs);
	tl__strv_free(filter);
	tl__strv_free(keep);
	tl__strv_free(keep_tags);
}

