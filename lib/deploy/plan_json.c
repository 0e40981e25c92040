/*
 * A plan saved with its release (<state dir>/plans/<release>.json, 0600),
 * so a rollback runs the services exactly as that release ran them, from
 * its kept images. Saved before the platform's values are merged in: a
 * rollback gets the platform's current ones (a rotated password, say).
 */
#include "deploy_int.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static json_t *strv_json(char *const *v)
{
	if (!v)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int strv_from(char ***out, json_t *a)
{
	if (!json_is_array(a))
		return TL_OK;
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		int rc = tl__strv_push(out, json_string_value(v) ? json_string_value(v) : "");
		if (rc)
			return rc;
	}
	/* An empty list stays a list (an empty command differs from none). */
	if (!*out && !(*out = tl__calloc(1, sizeof(char *))))
		return TL_ENOMEM;
	return TL_OK;
}

static json_t *str_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

static char *str_from(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? tl__strdup(s) : NULL;
}

int tl__plan_to_json(tl_buf *out, const tl__plan *plan)
{
	json_t *svcs = json_array();
	for (size_t i = 0; i < plan->n; i++) {
		const tl__svc *s = &plan->svcs[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(s->name));
		json_object_set_new(o, "image", str_json(s->image));
		json_object_set_new(o, "command", strv_json(s->command));
		json_object_set_new(o, "entrypoint", strv_json(s->entrypoint));
		json_object_set_new(o, "env", strv_json(s->env));
		json_object_set_new(o, "labels", strv_json(s->labels));
		json_object_set_new(o, "binds", strv_json(s->binds));
		json_object_set_new(o, "tmpfs", strv_json(s->tmpfs));
		json_object_set_new(o, "extra_hosts", strv_json(s->extra_hosts));
		json_object_set_new(o, "healthcheck", strv_json(s->healthcheck));
		json_object_set_new(o, "hc", json_pack("[I,I,I,i]", (json_int_t)s->hc_interval_ms,
		                                       (json_int_t)s->hc_timeout_ms,
		                                       (json_int_t)s->hc_start_ms, s->hc_retries));
		json_object_set_new(o, "user", str_json(s->user));
		json_object_set_new(o, "workdir", str_json(s->workdir));
		json_object_set_new(o, "restart", str_json(s->restart));
		json_object_set_new(o, "stop_signal", str_json(s->stop_signal));
		json_object_set_new(o, "init", json_integer(s->init));
		json_object_set_new(o, "read_only", json_integer(s->read_only));
		json_object_set_new(o, "stop_grace_s", json_integer(s->stop_grace_s));
		json_object_set_new(o, "cpus", json_real(s->cpus));
		json_object_set_new(o, "memory", json_integer(s->memory));
		json_object_set_new(o, "replicas", json_integer(s->replicas));
		json_object_set_new(o, "constraints", strv_json(s->constraints));
		json_object_set_new(o, "secrets", tl__svc_secrets_json(s));
		json_object_set_new(o, "routed", json_boolean(s->routed));
		json_object_set_new(o, "port", json_integer(s->port));
		json_object_set_new(o, "route_path", str_json(s->route_path));
		json_object_set_new(o, "health_path", str_json(s->health_path));
		json_array_append_new(svcs, o);
	}
	json_t *doc = json_pack("{s:i, s:o, s:o, s:o, s:o}", "schema", 1, "services", svcs,
	                        "compose", str_json(plan->compose_path), "release_command",
	                        str_json(plan->release_command), "web_service",
	                        str_json(plan->web_service));
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return tl__error_oom();
	int rc = tl__buf_set(out, text, strlen(text));
	tl__free_secret(text);
	return rc;
}

/* An integer of a saved plan within [min, max]; absent: `def`. A plan is
 * towlion's own file, but one edited by hand or damaged must not reach
 * Docker as a port of 70000 or a grace cut to an int's low bits. */
static int int_at(json_int_t *out, const json_t *v, json_int_t min, json_int_t max,
                  json_int_t def, const char *what, size_t i, const char *key)
{
	if (!v) {
		*out = def;
		return TL_OK;
	}
	json_int_t n = json_integer_value(v);
	if (!json_is_integer(v) || n < min || n > max)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                     "%s: service %zu: %s is not a whole number from %lld to %lld; "
		                     "deploy the release again instead",
		                     what, i, key, (long long)min, (long long)max);
	*out = n;
	return TL_OK;
}

/* The service's numbers: each checked, then stored. */
static int numbers_from(tl__svc *s, const json_t *o, const char *what, size_t i)
{
	const json_t *hc = json_object_get(o, "hc");
	json_int_t init = 0, ro = 0, grace = -1, mem = 0, rep = -1, port = 0, hi = 0, ht = 0, hs = 0,
	           hr = 0;
	int rc;
	/* init -1: unset (tl__svc) */
	if ((rc = int_at(&init, json_object_get(o, "init"), -1, 1, 0, what, i, "init")) ||
	    (rc = int_at(&ro, json_object_get(o, "read_only"), 0, 1, 0, what, i, "read_only")) ||
	    (rc = int_at(&grace, json_object_get(o, "stop_grace_s"), -1, INT_MAX, -1, what, i,
	                 "stop_grace_s")) ||
	    (rc = int_at(&mem, json_object_get(o, "memory"), -1, INT64_MAX, 0, what, i,
	                 "memory")) ||
	    /* plans saved before replicas were read: one */
	    (rc = int_at(&rep, json_object_get(o, "replicas"), -1, INT_MAX, -1, what, i,
	                 "replicas")) ||
	    (rc = int_at(&port, json_object_get(o, "port"), 0, 65535, 0, what, i, "port")) ||
	    (rc = int_at(&hi, json_array_get(hc, 0), -1, LONG_MAX, 0, what, i, "hc[0]")) ||
	    (rc = int_at(&ht, json_array_get(hc, 1), -1, LONG_MAX, 0, what, i, "hc[1]")) ||
	    (rc = int_at(&hs, json_array_get(hc, 2), -1, LONG_MAX, 0, what, i, "hc[2]")) ||
	    (rc = int_at(&hr, json_array_get(hc, 3), -1, INT_MAX, 0, what, i, "hc[3]")))
		return rc;
	const json_t *cpus = json_object_get(o, "cpus");
	double c = json_number_value(cpus);
	if (cpus && (!json_is_number(cpus) || !(c >= 0 && c <= 1e6)))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                     "%s: service %zu: cpus is not a number from 0 to 1000000; "
		                     "deploy the release again instead",
		                     what, i);
	s->init = (int)init;
	s->read_only = (int)ro;
	s->stop_grace_s = (int)grace;
	s->cpus = c;
	s->memory = (int64_t)mem;
	s->replicas = (int)rep;
	s->port = (int)port;
	s->hc_interval_ms = (long)hi;
	s->hc_timeout_ms = (long)ht;
	s->hc_start_ms = (long)hs;
	s->hc_retries = (int)hr;
	return TL_OK;
}

int tl__plan_from_json(tl__plan *plan, const char *text, const char *what)
{
	memset(plan, 0, sizeof(*plan));
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	json_t *svcs = json_object_get(doc, "services");
	if (!json_is_array(svcs)) {
		json_decref(doc);
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY, "%s: not a saved plan", what);
	}
	int rc = TL_OK;
	plan->svcs = tl__calloc(json_array_size(svcs) + 1, sizeof(tl__svc));
	if (!plan->svcs)
		rc = TL_ENOMEM;
	for (size_t i = 0; rc == TL_OK && i < json_array_size(svcs); i++) {
		json_t *o = json_array_get(svcs, i);
		tl__svc *s = &plan->svcs[plan->n++];
		s->name = str_from(o, "name");
		s->image = str_from(o, "image");
		s->user = str_from(o, "user");
		s->workdir = str_from(o, "workdir");
		s->restart = str_from(o, "restart");
		s->stop_signal = str_from(o, "stop_signal");
		s->route_path = str_from(o, "route_path");
		s->health_path = str_from(o, "health_path");
		s->routed = json_is_true(json_object_get(o, "routed"));
		rc = numbers_from(s, o, what, i);
		if (rc == TL_OK && (!s->name || !s->image))
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
			                   "%s: service %zu has no name or image", what, i);
		if (rc == TL_OK)
			rc = strv_from(&s->command, json_object_get(o, "command"));
		if (rc == TL_OK)
			rc = strv_from(&s->entrypoint, json_object_get(o, "entrypoint"));
		if (rc == TL_OK)
			rc = strv_from(&s->env, json_object_get(o, "env"));
		if (rc == TL_OK)
			rc = strv_from(&s->labels, json_object_get(o, "labels"));
		if (rc == TL_OK)
			rc = strv_from(&s->binds, json_object_get(o, "binds"));
		if (rc == TL_OK)
			rc = strv_from(&s->tmpfs, json_object_get(o, "tmpfs"));
		if (rc == TL_OK)
			rc = strv_from(&s->extra_hosts, json_object_get(o, "extra_hosts"));
		if (rc == TL_OK)
			rc = strv_from(&s->constraints, json_object_get(o, "constraints"));
		if (rc == TL_OK)
			rc = strv_from(&s->healthcheck, json_object_get(o, "healthcheck"));
		if (rc == TL_OK)
			rc = tl__svc_secrets_from_json(s, json_object_get(o, "secrets"), what, i);
	}
	plan->compose_path = str_from(doc, "compose");
	plan->release_command = str_from(doc, "release_command");
	plan->web_service = str_from(doc, "web_service");
	json_decref(doc);
	if (rc)
		tl__plan_dispose(plan);
	return rc;
}

static char *plan_path(const char *state_dir, const char *release)
{
	char *file = tl__sprintf("plans/%s.json", release);
	char *path = file ? tl__path_join(state_dir, file) : NULL;
	free(file);
	return path;
}

int tl__plan_save(const char *state_dir, const char *release, const char *json)
{
	char *dir = tl__path_join(state_dir, "plans");
	char *path = plan_path(state_dir, release);
	int rc = (dir && path) ? tl__mkdir_p(dir, 0700) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, json, strlen(json), 0600);
	free(dir);
	free(path);
	return rc;
}

int tl__plan_restore(tl__plan *plan, const char *state_dir, const char *release)
{
	char *path = plan_path(state_dir, release);
	tl_buf text = TL_BUF_INIT;
	int rc = path ? tl__file_read(&text, path) : TL_ENOMEM;
	if (rc == TL_ENOTFOUND)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
		                   "release %s has no saved plan (%s); deploy it again instead",
		                   release, path);
	if (rc == TL_OK)
		rc = tl__plan_from_json(plan, text.ptr, path);
	tl__buf_dispose_secret(&text);
	free(path);
	return rc;
}

void tl__plan_forget(const char *state_dir, const char *release)
{
	char *path = plan_path(state_dir, release);
	if (path)
		unlink(path);
	free(path);
}
