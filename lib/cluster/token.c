/* Join tokens (GET /swarm). They are credentials: they go to the caller's
 * buffer and nowhere else (no event, no error message). */
#include "cluster_int.h"

#include <string.h>

int tl_cluster_join_token(tl_buf *token, tl_ctx *ctx, const char *role)
{
	TL__CHECK_ARG(token);
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(role);
	const char *key = !strcmp(role, "worker")  ? "Worker"
	                  : !strcmp(role, "manager") ? "Manager"
	                                             : NULL;
	if (!key)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "join token role \"%s\": must be worker or manager", role);
	tl_docker *d = NULL;
	json_t *sw = NULL;
	int rc = tl_docker_open(&d, ctx);
	if (rc == TL_OK)
		rc = tl__swarm_require_manager(d, "read the join token");
	if (rc == TL_OK)
		rc = tl__docker_call(d, "GET", "/swarm", NULL, &sw, 0, "inspect the swarm");
	const char *t = json_string_value(json_object_get(json_object_get(sw, "JoinTokens"), key));
	if (rc == TL_OK && (!t || !*t))
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_DOCKER,
		                   "the swarm's answer has no %s join token", role);
	if (rc == TL_OK) {
		tl__buf_clear(token);
		rc = tl__buf_puts(token, t);
	}
	json_decref(sw);
	tl_docker_free(d);
	return rc;
}
