/* --dry-run for deploys: the plan as JSON, with nothing started or built. */
#include "deploy_int.h"
#include "towlion/app.h"
#include "towlion/pg.h"

#include <jansson.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>


static json_t *svc_json(const tl__svc *s)
{
	json_t *o = json_pack("{s:s, s:b}", "name", s->name, "routed", s->routed);
	if (s->build) {
		json_object_set_new(o, "build", json_pack("{s:s, s:s?, s:s?}", "context",
		                                          s->build_context, "dockerfile",
		                                          s->dockerfile, "target", s->target));
	} else {
		json_object_set_new(o, "image", json_string(s->image));
	}
	if (s->routed)
		json_object_set_new(o, "route", json_pack("{s:i, s:s, s:s}", "port", s->port, "path",
		                                          s->route_path ? s->route_path : "/*",
		                                          "health", s->health_path));
	json_t *keys = json_array();
	for (size_t i = 0; s->env && s->env[i]; i++) {
		const char *eq = strchr(s->env[i], '=');
		json_array_append_new(keys, json_stringn(s->env[i], eq ? (size_t)(eq - s->env[i])
		                                                       : strlen(s->env[i])));
	}
	json_object_set_new(o, "env_keys", keys);
	return o;
}

int tl_deploy_describe(tl_buf *json, tl_ctx *ctx, const char *app, const tl_deploy_options *o)
{
	TL__CHECK_ARG(json && ctx && o);
	TL__CHECK_VERSION(o, TL_DEPLOY_OPTIONS_VERSION, "tl_deploy_options");
	if ((o->path != NULL) == (o->git_url != NULL))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "give either a directory or a git URL to deploy from");
	tl__project p;
	tl_app *a = NULL;
	int rc = tl__app_project(&p, &a, ctx, app);
	if (rc)
		return rc;
	json_t *hosts = json_array();
	for (size_t i = 0; p.hosts && p.hosts[i]; i++)
		json_array_append_new(hosts, json_string(p.hosts[i]));
	json_t *doc = json_pack("{s:s, s:o, s:s}", "app", p.name, "hosts", hosts,
	                        "upstream_mode", tl__cfg(ctx, "TOWLION_UPSTREAM_MODE"));
	if (o->git_url) {
		json_object_set_new(doc, "source", json_pack("{s:s, s:s?, s:s}", "git", o->git_url,
		                                             "ref", o->git_ref, "checkout",
		                                             p.checkout_dir));
	} else {
		char *dir = realpath(o->path, NULL);
		tl__plan plan;
		rc = dir ? tl__plan_load(&plan, ctx, &p, dir)
		         : tl__error_os(0, errno, "cannot use %s as the source", o->path);
		if (rc == TL_OK) {
			json_t *svcs = json_array();
			for (size_t i = 0; i < plan.n; i++)
				json_array_append_new(svcs, svc_json(&plan.svcs[i]));
			const char *rcmd = p.release_command ? p.release_command : plan.release_command;
			json_object_set_new(doc, "source", json_pack("{s:s}", "path", dir));
			json_object_set_new(doc, "compose", json_string(plan.compose_path));
			json_object_set_new(doc, "services", svcs);
			json_object_set_new(doc, "release_command", rcmd ? json_string(rcmd) : json_null());
			tl__plan_dispose(&plan);
		}
		free(dir);
	}
	char *text = rc == TL_OK ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (rc == TL_OK)
		rc = text ? tl__buf_set(json, text, strlen(text)) : tl__error_oom();
	free(text);
	json_decref(doc);
	tl__project_dispose(&p);
	tl_app_free(a);
	return rc;
}
