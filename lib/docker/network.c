/* Networks: ensure (idempotent), connect with aliases, disconnect, remove. */
#include "docker_int.h"

#include <stdlib.h>
#include <string.h>

/* GET /networks/{name} also matches id prefixes: only an exact name or id
 * counts as the network. */
int tl__docker_network_find(json_t **out, tl_docker *d, const char *name, bool or_id,
                            const char *scope)
{
	json_t *j = NULL;
	*out = NULL;
	char *suffix = scope ? tl__sprintf("?scope=%s", scope) : NULL;
	if (scope && !suffix)
		return TL_ENOMEM;
	int rc = tl__docker_inspect(&j, d, "networks", suffix ? suffix : "", "network", name);
	free(suffix);
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		return TL_OK;
	}
	if (rc)
		return rc;
	/* dockerd also answers a unique prefix of a name or id: only an exact
	 * match is this network */
	const char *n = json_string_value(json_object_get(j, "Name"));
	const char *id = json_string_value(json_object_get(j, "Id"));
	if ((n && !strcmp(n, name)) || (or_id && id && !strcmp(id, name)))
		*out = j;
	else
		json_decref(j);
	return TL_OK;
}

static int ensure(int *created, tl_docker *d, const char *name, const char *const *labels,
                  int internal)
{
	TL__CHECK_ARG(d);
	int rc = tl__docker_check_ref(name, "network name");
	if (rc)
		return rc;
	json_t *found = NULL;
	if ((rc = tl__docker_network_find(&found, d, name, true, NULL)))
		return rc;
	if (found) {
		json_decref(found);
		if (created)
			*created = 0;
		return TL_OK;
	}
	json_t *lab = json_object();
	for (const char *const *l = labels; lab && l && *l; l++) {
		const char *eq = strchr(*l, '=');
		char *k = eq ? tl__strndup(*l, (size_t)(eq - *l)) : tl__strdup(*l);
		if (k)
			json_object_set_new(lab, k, json_string(eq ? eq + 1 : ""));
		free(k);
	}
	json_t *body = json_pack("{s:s, s:b, s:s, s:o, s:b}", "Name", name, "CheckDuplicate", 1,
	                         "Driver", "bridge", "Labels", lab, "Internal", internal != 0);
	char *what = tl__sprintf("create network %s", name);
	rc = body && what ? tl__docker_call(d, "POST", "/networks/create", body, NULL, 0, what)
	                  : TL_ENOMEM;
	json_decref(body);
	free(what);
	int made = rc == TL_OK;
	if (rc == TL_ECONFLICT) { /* somebody created it meanwhile: that is fine */
		tl_error_clear();
		rc = TL_OK;
	}
	if (!rc && created)
		*created = made;
	return rc;
}

int tl_docker_network_ensure(int *created, tl_docker *d, const char *name,
                             const char *const *labels)
{
	return ensure(created, d, name, labels, 0);
}

int tl_docker_network_ensure_internal(int *created, tl_docker *d, const char *name,
                                      const char *const *labels)
{
	return ensure(created, d, name, labels, 1);
}

static int in_network(int *yes, tl_docker *d, const char *network, const char *container)
{
	tl_docker_container *c = NULL;
	int rc = tl_docker_container_inspect(&c, d, container);
	if (rc)
		return rc;
	json_t *nets = json_object_get(json_object_get(c->j, "NetworkSettings"), "Networks");
	*yes = json_object_get(nets, network) != NULL;
	tl_docker_container_free(c);
	return TL_OK;
}

int tl_docker_network_connect(tl_docker *d, const char *network, const char *container,
                              const char *const *aliases)
{
	TL__CHECK_ARG(d);
	int rc = tl__docker_check_ref(network, "network name");
	if (!rc)
		rc = tl__docker_check_ref(container, "container name");
	int yes = 0;
	if (!rc)
		rc = in_network(&yes, d, network, container);
	if (rc || yes)
		return rc;
	json_t *al = json_array();
	for (const char *const *a = aliases; al && a && *a; a++) {
		if ((rc = tl__docker_check_ref(*a, "network alias"))) {
			json_decref(al);
			return rc;
		}
		json_array_append_new(al, json_string(*a));
	}
	json_t *body = json_pack("{s:s, s:{s:o}}", "Container", container, "EndpointConfig",
	                         "Aliases", al);
	char *path = tl__sprintf("/networks/%s/connect", network);
	char *what = tl__sprintf("connect container %s to network %s", container, network);
	rc = body && path && what ? tl__docker_call(d, "POST", path, body, NULL, 0, what) : TL_ENOMEM;
	json_decref(body);
	free(path);
	free(what);
	return rc;
}

int tl_docker_network_disconnect(tl_docker *d, const char *network, const char *container,
                                 int force)
{
	TL__CHECK_ARG(d);
	int rc = tl__docker_check_ref(network, "network name");
	if (!rc)
		rc = tl__docker_check_ref(container, "container name");
	if (rc)
		return rc;
	json_t *body = json_pack("{s:s, s:b}", "Container", container, "Force", force != 0);
	char *path = tl__sprintf("/networks/%s/disconnect", network);
	char *what = tl__sprintf("disconnect container %s from network %s", container, network);
	rc = body && path && what ? tl__docker_call(d, "POST", path, body, NULL, 0, what) : TL_ENOMEM;
	json_decref(body);
	free(path);
	free(what);
	return rc;
}

int tl_docker_network_remove(tl_docker *d, const char *network)
{
	TL__CHECK_ARG(d);
	int rc = tl__docker_check_ref(network, "network name");
	if (rc)
		return rc;
	char *path = tl__sprintf("/networks/%s", network);
	char *what = tl__sprintf("remove network %s", network);
	rc = path && what ? tl__docker_call(d, "DELETE", path, NULL, NULL, 0, what) : TL_ENOMEM;
	/* Docker answers 403 while containers still use it: that is a conflict. */
	if (rc == TL_EAUTH && tl_error_last()->upstream_code == 403)
		rc = tl__error_set_upstream(TL_ECONFLICT, TL_ERRCLASS_DOCKER, "403", 403, "%s",
		                            tl_error_last()->message);
	free(path);
	free(what);
	return rc;
}
