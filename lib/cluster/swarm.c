/* The engine's place in a swarm (GET /info), and the one refusal every
 * cluster verb shares when the engine is not a manager. */
#include "cluster_int.h"

#include <stdio.h>
#include <string.h>

int tl__swarm_state_read(tl__swarm_state *out, tl_docker *d)
{
	json_t *info = NULL;
	int rc = tl__docker_call(d, "GET", "/info", NULL, &info, 0, "read the engine's swarm state");
	if (rc)
		return rc;
	json_t *sw = json_object_get(info, "Swarm");
	const char *state = json_string_value(json_object_get(sw, "LocalNodeState"));
	const char *id = json_string_value(json_object_get(sw, "NodeID"));
	memset(out, 0, sizeof(*out));
	snprintf(out->state, sizeof(out->state), "%s", state && *state ? state : "inactive");
	snprintf(out->node_id, sizeof(out->node_id), "%s", id ? id : "");
	out->manager = json_is_true(json_object_get(sw, "ControlAvailable"));
	out->nodes = (long)json_integer_value(json_object_get(sw, "Nodes"));
	json_decref(info);
	return TL_OK;
}

int tl__swarm_require_manager(tl_docker *d, const char *what)
{
	tl__swarm_state s;
	int rc = tl__swarm_state_read(&s, d);
	if (rc)
		return rc;
	if (!strcmp(s.state, "active") && s.manager)
		return TL_OK;
	if (!strcmp(s.state, "inactive"))
		return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DOCKER,
		                     "cannot %s: the engine at %s is not in a swarm: run "
		                     "`towlion cluster init` first",
		                     what, d->host);
	if (!strcmp(s.state, "active"))
		return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DOCKER,
		                     "cannot %s: the engine at %s is a worker of a swarm, not a "
		                     "manager: point TOWLION_DOCKER_HOST at a manager",
		                     what, d->host);
	return tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DOCKER,
	                     "cannot %s: the engine at %s is in swarm state \"%s\": see "
	                     "`docker info` on it (a locked swarm needs `docker swarm unlock`)",
	                     what, d->host, s.state);
}
