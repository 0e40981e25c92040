/*
 * From an app's compose file to the plan the engine runs: services in
 * start order, each with its image or build, its environment (env files,
 * then `environment:`), mounts and limits, and which ones Caddy routes.
 *
 * The platform's own process environment is never used to interpolate an
 * app's compose file: it holds the platform's secrets (TOWLION_PG_URL...).
 */
#include "deploy_int.h"
#include "towlion/compose.h"

#include <string.h>

void tl__plan_dispose(tl__plan *plan)
{
	for (size_t i = 0; plan && i < plan->n; i++) {
		tl__svc *s = &plan->svcs[i];
		free(s->name);
		free(s->image);
		free(s->build_context);
		free(s->dockerfile);
		free(s->target);
		tl__strv_free(s->build_args);
		tl__strv_free(s->command);
		tl__strv_free(s->entrypoint);
		tl__strv_free(s->env);
		tl__strv_free(s->labels);
		tl__strv_free(s->binds);
		tl__strv_free(s->tmpfs);
		tl__strv_free(s->extra_hosts);
		tl__strv_free(s->constraints);
		tl__strv_free(s->healthcheck);
		tl__svc_secrets_free(s);
		free(s->user);
		free(s->workdir);
		free(s->restart);
		free(s->stop_signal);
		free(s->route_path);
		free(s->health_path);
	}
	if (!plan)
		return;
	free(plan->svcs);
	free(plan->compose_path);
	free(plan->web_service);
	free(plan->release_command);
	free(plan->domain);
	memset(plan, 0, sizeof(*plan));
}

int tl__env_set(char ***env, const char *key, const char *value)
{
	size_t klen = strlen(key);
	for (size_t i = 0; *env && (*env)[i]; i++) {
		if (!strncmp((*env)[i], key, klen) && (*env)[i][klen] == '=') {
			char *e = tl__sprintf("%s=%s", key, value);
			if (!e)
				return TL_ENOMEM;
			tl__free_secret((*env)[i]);
			(*env)[i] = e;
			return TL_OK;
		}
	}
	return tl__strv_pushf(env, "%s=%s", key, value);
}

static char *dup_nonempty(const char *s)
{
	return (s && *s) ? tl__strdup(s) : NULL;
}

static int env_files(tl__svc *out, const tl_compose_service *s)
{
	for (size_t i = 0; i < tl_compose_service_env_file_count(s); i++) {
		tl_envfile *f = NULL;
		/* Read as Compose reads it: values interpolated, a missing file
		 * marked `required: false` empty. */
		int rc = tl_compose_service_env_file_read(s, i, &f);
		if (rc) {
			tl__error_prefix("service %s: env_file", out->name);
			return rc;
		}
		for (size_t k = 0; rc == TL_OK && k < tl_envfile_count(f); k++) {
			const char *key, *value;
			tl_envfile_at(f, k, &key, &value);
			rc = tl__env_set(&out->env, key, value);
		}
		tl_envfile_free(f);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < tl_compose_service_env_count(s); i++) {
		const char *key, *value;
		tl_compose_service_env_at(s, i, &key, &value);
		int rc = tl__env_set(&out->env, key, value ? value : "");
		if (rc)
			return rc;
	}
	return TL_OK;
}

static int mounts(tl__svc *out, const tl_compose_service *s, const tl__project *p,
                  tl_ctx *ctx)
{
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < tl_compose_service_volume_count(s); i++) {
		const char *type, *source, *target;
		int ro = 0;
		tl_compose_service_volume_at(s, i, &type, &source, &target, &ro);
		if (!strcmp(type, "bind"))
			rc = tl__strv_pushf(&out->binds, "%s:%s%s", source, target, ro ? ":ro" : "");
		else if (!strcmp(type, "volume") && *source)
			/* Named volumes belong to the project, as under compose. */
			rc = tl__strv_pushf(&out->binds, "%s_%s:%s%s", p->name, source, target,
			                    ro ? ":ro" : "");
		else if (!strcmp(type, "volume"))
			tl__log(ctx, TL_LOG_WARN,
			        "service %s: anonymous volume %s is not kept across releases; "
			        "name it to keep its data",
			        out->name, target);
		else if (!strcmp(type, "tmpfs"))
			rc = tl__strv_push(&out->tmpfs, target);
	}
	for (size_t i = 0; rc == TL_OK && i < tl_compose_service_tmpfs_count(s); i++)
		rc = tl__strv_push(&out->tmpfs, tl_compose_service_tmpfs_at(s, i));
	return rc;
}

static int one_service(tl__svc *out, const tl_compose_service *s, const tl__project *p,
                       tl_ctx *ctx)
{
	memset(out, 0, sizeof(*out));
	out->init = tl_compose_service_init(s);
	out->read_only = tl_compose_service_read_only(s) == 1;
	long grace = tl_compose_service_stop_grace_ms(s);
	out->stop_grace_s = grace < 0 ? -1 : (int)((grace + 999) / 1000);
	out->cpus = tl_compose_service_cpus(s);
	out->memory = tl_compose_service_memory(s);
	out->replicas = tl_compose_service_replicas(s);
	for (size_t i = 0; i < tl_compose_service_constraint_count(s); i++)
		if (tl__strv_push(&out->constraints, tl_compose_service_constraint_at(s, i)))
			return TL_ENOMEM;
	if (!(out->name = tl__strdup(tl_compose_service_name(s))))
		return TL_ENOMEM;
	out->image = dup_nonempty(tl_compose_service_image(s));
	const char *ctxdir = tl_compose_service_build_context(s);
	out->build = ctxdir != NULL;
	if (out->build) {
		out->build_context = tl__strdup(ctxdir);
		out->dockerfile = dup_nonempty(tl_compose_service_build_dockerfile(s));
		out->target = dup_nonempty(tl_compose_service_build_target(s));
		if (!out->build_context)
			return TL_ENOMEM;
	} else if (!out->image) {
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "service %s has neither image nor build", out->name);
	}
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < tl_compose_service_build_arg_count(s); i++) {
		const char *k, *v;
		tl_compose_service_build_arg_at(s, i, &k, &v);
		rc = tl__strv_pushf(&out->build_args, "%s=%s", k, v ? v : "");
	}
	for (size_t i = 0; rc == TL_OK && i < tl_compose_service_command_count(s); i++)
		rc = tl__strv_push(&out->command, tl_compose_service_command_at(s, i));
	for (size_t i = 0; rc == TL_OK && i < tl_compose_service_entrypoint_count(s); i++)
		rc = tl__strv_push(&out->entrypoint, tl_compose_service_entrypoint_at(s, i));
	for (size_t i = 0; rc == TL_OK && i < tl_compose_service_label_count(s); i++) {
		const char *k, *v;
		tl_compose_service_label_at(s, i, &k, &v);
		rc = tl__strv_pushf(&out->labels, "%s=%s", k, v ? v : "");
	}
	for (size_t i = 0; rc == TL_OK && i < tl_compose_service_extra_host_count(s); i++)
		rc = tl__strv_push(&out->extra_hosts, tl_compose_service_extra_host_at(s, i));
	if (rc == TL_OK && tl_compose_service_healthcheck(s) == 1) {
		for (size_t i = 0; rc == TL_OK && i < tl_compose_service_healthcheck_test_count(s);
		     i++)
			rc = tl__strv_push(&out->healthcheck, tl_compose_service_healthcheck_test_at(s, i));
		out->hc_interval_ms = tl_compose_service_healthcheck_interval_ms(s);
		out->hc_timeout_ms = tl_compose_service_healthcheck_timeout_ms(s);
		out->hc_start_ms = tl_compose_service_healthcheck_start_period_ms(s);
		out->hc_retries = tl_compose_service_healthcheck_retries(s);
	}
	if (rc == TL_OK && tl_compose_service_port_count(s) > 0)
		tl__log(ctx, TL_LOG_INFO,
		        "service %s: ports are not published on the server; Caddy routes the "
		        "web service",
		        out->name);
	out->user = dup_nonempty(tl_compose_service_user(s));
	out->workdir = dup_nonempty(tl_compose_service_working_dir(s));
	out->restart = dup_nonempty(tl_compose_service_restart(s));
	out->stop_signal = dup_nonempty(tl_compose_service_stop_signal(s));
	if (rc == TL_OK)
		rc = env_files(out, s);
	if (rc == TL_OK)
		rc = mounts(out, s, p, ctx);
	if (rc == TL_OK)
		rc = tl__svc_secrets_from_compose(out, s);
	return rc;
}

/* x-towlion.routes: each route's service is routed at its path, health
 * gated on its own health path; "/" + "*" is the default route. */
static int apply_routes(tl__plan *plan, const tl_compose *c, const char *file)
{
	size_t nr = tl_compose_route_count(c);
	bool have_default = nr == 0;
	for (size_t i = 0; i < nr; i++) {
		const char *path, *service, *health;
		int port;
		tl_compose_route_at(c, i, &path, &service, &port, &health);
		tl__svc *svc = NULL;
		for (size_t k = 0; k < plan->n && !svc; k++)
			if (!strcmp(plan->svcs[k].name, service))
				svc = &plan->svcs[k];
		if (!svc)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
			                     "%s: x-towlion.routes routes %s to service %s, which does not "
			                     "run by default (it has a profile)",
			                     file, path, service);
		if (svc->routed)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
			                     "%s: service %s carries two routes; give each service one path",
			                     file, service);
		svc->routed = true;
		svc->port = port;
		bool is_default = !strcmp(path, "/*") || !strcmp(path, "/");
		have_default = have_default || is_default;
		if ((!is_default && !(svc->route_path = tl__strdup(path))) ||
		    !(svc->health_path = tl__strdup(health)))
			return TL_ENOMEM;
	}
	if (!have_default)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "%s: x-towlion.routes has no default route: route \"/*\" to the "
		                     "service that answers everything else",
		                     file);
	return TL_OK;
}

int tl__plan_load(tl__plan *plan, tl_ctx *ctx, const tl__project *p, const char *dir)
{
	memset(plan, 0, sizeof(*plan));
	tl_buf path = TL_BUF_INIT;
	int rc = tl_compose_find(&path, dir);
	if (rc)
		return rc;
	/* The platform's values (DATABASE_URL...) may be interpolated. */
	tl_envfile *vars = NULL;
	rc = tl_envfile_open(&vars, p->env_path, TL_ENVFILE_CREATE);
	tl_compose_options o = TL_COMPOSE_OPTIONS_INIT;
	o.policy = p->strict ? TL_COMPOSE_STRICT : TL_COMPOSE_TRUSTED;
	o.app_dir = dir;
	o.vars = vars;
	o.flags = TL_COMPOSE_NO_PROCESS_ENV;
	tl_compose *c = NULL;
	if (rc == TL_OK)
		rc = tl_compose_load(&c, path.ptr, &o);
	for (size_t i = 0; rc == TL_OK && i < tl_compose_warning_count(c); i++)
		rc = tl__log(ctx, TL_LOG_WARN, "%s", tl_compose_warning_at(c, i));
	const char *web = p->web_service ? p->web_service : c ? tl_compose_web_service(c) : NULL;
	if (rc == TL_OK && !tl_compose_service_get(c, web))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                   "%s has no service \"%s\" to route: name the web service in "
		                   "x-towlion (web:) or with `towlion app create --service`",
		                   path.ptr, web);
	size_t n = c ? tl_compose_service_count(c) : 0;
	if (rc == TL_OK && !(plan->svcs = tl__calloc(n ? n : 1, sizeof(tl__svc))))
		rc = TL_ENOMEM;
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		const tl_compose_service *s = tl_compose_start_order_at(c, i);
		/* Services behind a profile run only when it is enabled; a
		 * release runs the default set. */
		if (tl_compose_service_profile_count(s) > 0)
			continue;
		tl__svc *svc = &plan->svcs[plan->n++];
		rc = one_service(svc, s, p, ctx);
		if (rc == TL_OK && !strcmp(svc->name, web) && tl_compose_route_count(c) == 0) {
			svc->routed = true;
			svc->port = p->port ? p->port : tl_compose_web_port(c);
			const char *hp = p->health_path ? p->health_path : tl_compose_health_path(c);
			if (!(svc->health_path = tl__strdup(hp)))
				rc = TL_ENOMEM;
		}
	}
	if (rc == TL_OK)
		rc = apply_routes(plan, c, path.ptr);
	if (rc == TL_OK && !(plan->web_service = tl__strdup(web)))
		rc = TL_ENOMEM;
	if (rc == TL_OK) {
		plan->compose_path = tl__buf_detach(&path);
		plan->release_command = dup_nonempty(tl_compose_release_command(c));
		plan->domain = dup_nonempty(tl_compose_domain(c));
		if (!plan->compose_path)
			rc = TL_ENOMEM;
	}
	tl_compose_free(c);
	tl_envfile_free(vars);
	tl_buf_dispose(&path);
	if (rc)
		tl__plan_dispose(plan);
	return rc;
}
