/*
 * An app's service logs on either engine (tl_app_logs): which unit holds
 * them is the engine's business (a container on one server, a Swarm
 * service on a cluster), what comes out is the same OUTPUT events.
 */
#include "deploy_int.h"
#include "runtime.h"
#include "docker/docker_int.h"
#include "towlion/validate.h"

#include <string.h>

/* On one server: the running container of the service, else the newest. */
static int find_container(char **id, tl_docker *d, const char *const *filters)
{
	tl_docker_container_list *l = NULL;
	int rc = tl_docker_container_list_by_label(&l, d, filters, 1);
	if (rc)
		return rc;
	const tl_docker_container *best = NULL;
	for (size_t i = 0; i < tl_docker_container_list_count(l); i++) {
		const tl_docker_container *k = tl_docker_container_list_at(l, i);
		int run = tl_docker_container_running(k), best_run = best && tl_docker_container_running(best);
		if (!best || (run && !best_run) ||
		    (run == best_run && tl_docker_container_created(k) > tl_docker_container_created(best)))
			best = k;
	}
	*id = best ? tl__strdup(tl_docker_container_id(best)) : NULL;
	rc = best && !*id ? TL_ENOMEM : TL_OK;
	tl_docker_container_list_free(l);
	return rc;
}

/* On a swarm: the newest service (the serving release's, or a release
 * being started); its logs are every task's, wherever they run. */
static int find_service(char **id, tl_docker *d, const char *const *filters)
{
	json_t *l = NULL;
	int rc = tl__docker_list(&l, d, "/services", filters, "list services");
	if (rc)
		return rc;
	const char *best = NULL, *best_at = "";
	size_t i;
	json_t *s;
	json_array_foreach(l, i, s) {
		/* RFC 3339 in UTC from one daemon: ordered as strings */
		const char *at = json_string_value(json_object_get(s, "CreatedAt"));
		if (!best || (at && strcmp(at, best_at) > 0)) {
			best = json_string_value(json_object_get(s, "ID"));
			best_at = at ? at : "";
		}
	}
	*id = best ? tl__strdup(best) : NULL;
	rc = best && !*id ? TL_ENOMEM : TL_OK;
	json_decref(l);
	return rc;
}

int tl_app_logs(tl_buf *unit, tl_ctx *ctx, const char *app, const char *service,
                const tl_docker_logs_options *opts)
{
	TL__CHECK_ARG(ctx);
	int rc = tl_validate_app_name(app);
	if (rc)
		return rc;
	if (!service)
		service = "app";
	if (!*service || strlen(service) > 63)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "app %s: give a compose service name (1 to 63 characters)", app);
	bool swarm = !strcmp(tl__runtime_for(ctx)->engine, "swarm");
	tl_docker *d = NULL;
	if ((rc = tl_docker_open(&d, ctx)))
		return rc;
	char *fa = tl__sprintf("towlion.app=%s", app);
	char *fs = tl__sprintf("towlion.service=%s", service);
	const char *filters[] = {fa, fs, NULL};
	char *id = NULL;
	if (!fa || !fs)
		rc = TL_ENOMEM;
	else
		rc = swarm ? find_service(&id, d, filters) : find_container(&id, d, filters);
	if (rc == TL_OK && !id)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DOCKER,
		                   "app %s has no %s for service %s (see 'towlion status %s')", app,
		                   swarm ? "swarm service" : "container", service, app);
	if (rc == TL_OK)
		rc = swarm ? tl_docker_service_logs(NULL, NULL, d, id, opts)
		           : tl_docker_container_logs(NULL, NULL, d, id, opts);
	if (unit && id && (rc == TL_OK || rc == TL_EUSER)) {
		int urc = tl__buf_set(unit, id, strlen(id));
		rc = urc ? urc : rc;
	}
	free(id);
	free(fa);
	free(fs);
	tl_docker_free(d);
	return rc;
}
