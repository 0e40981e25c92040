/* Deployments and deployment statuses. */
#include "github_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_states[] = {"error",   "failure", "inactive", "in_progress",
                                            "queued",  "pending", "success"};

int tl_github_deployment_options_init(tl_github_deployment_options *opts, unsigned int version)
{
	tl_github_deployment_options def = TL_GITHUB_DEPLOYMENT_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_GITHUB_DEPLOYMENT_OPTIONS_VERSION, "tl_github_deployment_options");
}

int tl_github_status_options_init(tl_github_status_options *opts, unsigned int version)
{
	tl_github_status_options def = TL_GITHUB_STATUS_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_GITHUB_STATUS_OPTIONS_VERSION, "tl_github_status_options");
}

/* A short single-line text: 1..max bytes, no control characters. */
static int check_text(const char *what, const char *s, size_t max, bool required)
{
	if (!s)
		return required ? tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "%s is required", what)
		                : TL_OK;
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= max;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
	if (!ok)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid %s \"%.80s\": 1..%zu characters on one line", what, s, max);
	return TL_OK;
}

static int check_url(const char *what, const char *s)
{
	int rc = check_text(what, s, 2048, false);
	if (rc == TL_OK && s && !tl__str_startswith(s, "https://") &&
	    !tl__str_startswith(s, "http://"))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                   "%s must be an http:// or https:// URL, not \"%.80s\"", what, s);
	return rc;
}

static int64_t id_of(json_t *j)
{
	json_int_t id = json_integer_value(json_object_get(j, "id"));
	return id > 0 ? (int64_t)id : 0;
}

int tl_github_deployment_create(int64_t *id, tl_github *gh, const char *repo,
                                const tl_github_deployment_options *opts)
{
	TL__CHECK_ARG(id && opts);
	TL__CHECK_VERSION(opts, TL_GITHUB_DEPLOYMENT_OPTIONS_VERSION, "tl_github_deployment_options");
	int rc = tl__github_check_common(gh, repo);
	const char *env = opts->environment ? opts->environment : "production";
	if (rc == TL_OK)
		rc = check_text("deployment ref", opts->ref, 255, true);
	if (rc == TL_OK)
		rc = check_text("deployment environment", env, 255, true);
	if (rc == TL_OK)
		rc = check_text("deployment description", opts->description, 1024, false);
	if (rc)
		return rc;
	/* auto_merge=false: deploy exactly this ref, never a merge GitHub made;
	 * required_contexts=[]: the caller already decided the commit is good. */
	json_t *body = json_pack("{s:s, s:s, s:b, s:[], s:b}", "ref", opts->ref, "environment", env,
	                         "auto_merge", 0, "required_contexts", "transient_environment",
	                         opts->transient ? 1 : 0);
	if (body && opts->description)
		json_object_set_new(body, "description", json_string(opts->description));
	if (body && opts->production >= 0)
		json_object_set_new(body, "production_environment", json_boolean(opts->production));
	char *path = tl__sprintf("/repos/%s/deployments", repo);
	char *what = tl__sprintf("create a deployment of %s to %s on %s", opts->ref, env, repo);
	tl__github_answer a = {0};
	rc = body && path && what ? tl__github_call(gh, &a, "POST", path, NULL, body, what)
	                          : tl__error_oom();
	int64_t got = rc ? 0 : id_of(a.json);
	if (rc == TL_OK && !got)
		/* 202 means GitHub merged the default branch in first, which
		 * auto_merge=false forbids; anything without an id is not a
		 * deployment. */
		rc = tl__error_set_upstream(TL_EIO, TL_ERRCLASS_GITHUB, "", a.status,
		                            "cannot %s: GitHub answered HTTP %ld without a deployment "
		                            "(%s)", what, a.status, tl__github_str(a.json, "message"));
	if (rc == TL_OK) {
		tl__log(gh->ctx, TL_LOG_INFO, "created deployment %lld of %s to %s on %s",
		        (long long)got, opts->ref, env, repo);
		*id = got;
	}
	tl__github_answer_dispose(&a);
	json_decref(body);
	free(path);
	free(what);
	return rc;
}

int tl_github_deployment_status_create(int64_t *id, tl_github *gh, const char *repo,
                                       int64_t deployment_id,
                                       const tl_github_status_options *opts)
{
	TL__CHECK_ARG(opts);
	TL__CHECK_VERSION(opts, TL_GITHUB_STATUS_OPTIONS_VERSION, "tl_github_status_options");
	TL__CHECK_ARG(deployment_id > 0);
	int rc = tl__github_check_common(gh, repo);
	if (rc)
		return rc;
	bool known = false;
	for (size_t i = 0; opts->state && i < TL__ARRAY_SIZE(status_states); i++)
		known = known || !strcmp(opts->state, status_states[i]);
	if (!known)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid deployment status \"%.40s\": error, failure, inactive, "
		                     "in_progress, queued, pending or success",
		                     opts->state ? opts->state : "");
	if ((rc = check_url("environment_url", opts->environment_url)) ||
	    (rc = check_url("log_url", opts->log_url)) ||
	    (rc = check_text("status description", opts->description, 140, false)) ||
	    (rc = check_text("status environment", opts->environment, 255, false)))
		return rc;
	json_t *body = json_pack("{s:s}", "state", opts->state);
	const char *keys[] = {"environment_url", "log_url", "description", "environment"};
	const char *vals[] = {opts->environment_url, opts->log_url, opts->description,
	                      opts->environment};
	for (size_t i = 0; body && i < TL__ARRAY_SIZE(keys); i++)
		if (vals[i])
			json_object_set_new(body, keys[i], json_string(vals[i]));
	char *path = tl__sprintf("/repos/%s/deployments/%lld/statuses", repo,
	                         (long long)deployment_id);
	char *what = tl__sprintf("set deployment %lld on %s to %s", (long long)deployment_id, repo,
	                         opts->state);
	tl__github_answer a = {0};
	rc = body && path && what ? tl__github_call(gh, &a, "POST", path, NULL, body, what)
	                          : tl__error_oom();
	if (rc == TL_OK) {
		tl__log(gh->ctx, TL_LOG_INFO, "deployment %lld on %s: %s", (long long)deployment_id,
		        repo, opts->state);
		if (id)
			*id = id_of(a.json);
	}
	tl__github_answer_dispose(&a);
	json_decref(body);
	free(path);
	free(what);
	return rc;
}
