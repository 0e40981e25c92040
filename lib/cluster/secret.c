/*
 * Docker secrets over the Engine API (a swarm manager): the files the
 * Swarm deploy engine puts at /run/secrets in a service's tasks. Swarm
 * keeps them encrypted in its Raft log and hands each only to the nodes
 * that run a task using it; a secret's data cannot be read back through
 * the API, and it is immutable, so each value gets a secret of its own,
 * named by a digest of what it holds and for whom.
 */
#include "service.h"

#include <sodium.h>
#include <string.h>

int tl__swarm_secret_ensure(char **id, char name[64], tl_docker *d, const char *const *labels,
                            const char *scope, const char *value)
{
	*id = NULL;
	/* the name: "towlion-" and 40 hex digits of SHA-256(scope NUL value);
	 * the same value for the same use is the same secret */
	size_t sl = strlen(scope), vl = strlen(value);
	char *both = tl__malloc(sl + 1 + vl);
	if (!both)
		return TL_ENOMEM;
	memcpy(both, scope, sl + 1);
	memcpy(both + sl + 1, value, vl);
	char hex[65];
	tl__sha256_hex(hex, both, sl + 1 + vl);
	sodium_memzero(both, sl + 1 + vl);
	free(both);
	snprintf(name, 64, "towlion-%.40s", hex);

	size_t cap = sodium_base64_encoded_len(vl, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = tl__malloc(cap);
	if (!b64)
		return TL_ENOMEM;
	sodium_bin2base64(b64, cap, (const unsigned char *)value, vl,
	                  sodium_base64_VARIANT_ORIGINAL);
	json_t *lab = json_object();
	for (size_t i = 0; lab && labels && labels[i]; i++) {
		const char *eq = strchr(labels[i], '=');
		char *k = eq ? tl__strndup(labels[i], (size_t)(eq - labels[i])) : NULL;
		if (k)
			json_object_set_new(lab, k, json_string(eq + 1));
		free(k);
	}
	json_t *spec = json_pack("{s:s, s:s, s:o}", "Name", name, "Data", b64, "Labels", lab);
	sodium_memzero(b64, cap);
	free(b64);
	if (!spec)
		return TL_ENOMEM;
	json_t *res = NULL;
	int rc = tl__docker_call(d, "POST", "/secrets/create", spec, &res, 0,
	                         "create a Docker secret");
	/* the request body held the value */
	const char *data = json_string_value(json_object_get(spec, "Data"));
	if (data)
		sodium_memzero((void *)data, strlen(data));
	json_decref(spec);
	if (rc == TL_OK) {
		const char *got = json_string_value(json_object_get(res, "ID"));
		*id = got ? tl__strdup(got) : NULL;
		rc = *id ? TL_OK : tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                                 "Docker made secret %s without saying its ID", name);
	} else if (rc == TL_ECONFLICT) {
		/* made before (a rollback, a restart): the same digest, the same data */
		tl_error_clear();
		json_t *j = NULL;
		rc = tl__docker_inspect(&j, d, "secrets", "", "secret", name);
		const char *got = json_string_value(json_object_get(j, "ID"));
		if (rc == TL_OK)
			rc = got && (*id = tl__strdup(got)) ? TL_OK : TL_ENOMEM;
		json_decref(j);
	}
	json_decref(res);
	return rc;
}

/* The secret IDs the services of `services` (GET /services) use. */
static int in_use(char ***ids, const json_t *services)
{
	size_t i, k;
	json_t *s, *ref;
	int rc = TL_OK;
	json_array_foreach(services, i, s) {
		json_t *refs = json_object_get(
			json_object_get(json_object_get(json_object_get(s, "Spec"), "TaskTemplate"),
			                "ContainerSpec"),
			"Secrets");
		json_array_foreach(refs, k, ref) {
			const char *id = json_string_value(json_object_get(ref, "SecretID"));
			if (rc == TL_OK && id && !tl__strv_contains(*ids, id))
				rc = tl__strv_push(ids, id);
		}
	}
	return rc;
}

int tl__swarm_secrets_prune(tl_docker *d, const char *const *labels)
{
	json_t *services = NULL, *secrets = NULL;
	char **used = NULL;
	int rc = tl__swarm_service_list(&services, d, labels);
	if (rc == TL_OK)
		rc = in_use(&used, services);
	if (rc == TL_OK)
		rc = tl__docker_list(&secrets, d, "/secrets", labels, "list the Docker secrets");
	size_t i;
	json_t *s;
	json_array_foreach(secrets, i, s) {
		const char *id = json_string_value(json_object_get(s, "ID"));
		if (rc || !id || tl__strv_contains(used, id))
			continue;
		char *path = tl__sprintf("/secrets/%s", id);
		rc = path ? tl__docker_call(d, "DELETE", path, NULL, NULL, 0, "remove a Docker secret")
		          : TL_ENOMEM;
		/* gone meanwhile, or taken by a service made meanwhile: not ours to remove now */
		if (rc == TL_ENOTFOUND || rc == TL_ECONFLICT || rc == TL_ERROR) {
			tl_error_clear();
			rc = TL_OK;
		}
		free(path);
	}
	json_decref(services);
	json_decref(secrets);
	tl__strv_free(used);
	return rc;
}
