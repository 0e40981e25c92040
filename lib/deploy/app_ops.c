/*
 * The app-level verbs on top of the engine: deploy, rollback, history,
 * status and destroy of a registered app.
 */
#include "deploy_int.h"
#include "towlion/app.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"
#include "towlion/pg.h"
#include "towlion/redis.h"
#include "towlion/s3.h"
#include "towlion/validate.h"

#include <string.h>
#include <time.h>

int tl_deploy_options_init(tl_deploy_options *opts, unsigned int version)
{
	TL__CHECK_ARG(opts);
	TL__CHECK_ARG(version == TL_DEPLOY_OPTIONS_VERSION);
	tl_deploy_options def = TL_DEPLOY_OPTIONS_INIT;
	*opts = def;
	return TL_OK;
}

int tl_rollback_options_init(tl_rollback_options *opts, unsigned int version)
{
	TL__CHECK_ARG(opts);
	TL__CHECK_ARG(version == TL_ROLLBACK_OPTIONS_VERSION);
	tl_rollback_options def = TL_ROLLBACK_OPTIONS_INIT;
	*opts = def;
	return TL_OK;
}

/* The project of a registered app, with its registry settings. */
int tl__app_project(tl__project *p, tl_app **app, tl_ctx *ctx, const char *name)
{
	memset(p, 0, sizeof(*p));
	int rc = tl_app_open(app, ctx, name);
	if (rc)
		return rc;
	const tl_app *a = *app;
	p->name = tl_app_name(a);
	p->app = tl_app_name(a);
	p->web_service = tl_app_web_service(a);
	p->port = tl_app_port(a);
	p->health_path = tl_app_health_path(a);
	p->release_command = tl_app_release_command(a);
	p->drain_ms = tl_app_drain_ms(a);
	p->keep_images = tl_app_keep_images(a);
	tl_buf env = TL_BUF_INIT;
	p->state_dir = tl__strdup(tl_app_state_dir(a));
	p->checkout_dir = tl__path_join(tl__cfg(ctx, "TOWLION_APPS_DIR"), name);
	rc = tl_app_env_path(&env, ctx, name);
	if (rc == TL_OK)
		p->env_path = tl__buf_detach(&env);
	for (size_t i = 0; rc == TL_OK && i < tl_app_domain_count(a); i++)
		rc = tl__strv_push(&p->hosts, tl_app_domain_at(a, i));
	if (rc == TL_OK && (!p->state_dir || !p->checkout_dir || !p->env_path))
		rc = TL_ENOMEM;
	tl_buf_dispose(&env);
	if (rc) {
		tl__project_dispose(p);
		tl_app_free(*app);
		*app = NULL;
	}
	return rc;
}

int tl_deploy(tl_release **out, tl_ctx *ctx, const char *app, const tl_deploy_options *opts)
{
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(opts);
	TL__CHECK_ARG(opts->version >= 1 && opts->version <= TL_DEPLOY_OPTIONS_VERSION);
	tl__project p;
	tl_app *a = NULL;
	int rc = tl__app_project(&p, &a, ctx, app);
	if (rc)
		return rc;
	tl__ctx_reset_cancel(ctx);
	rc = tl__deploy_project(out, ctx, &p, opts, NULL);
	tl__project_dispose(&p);
	tl_app_free(a);
	return rc;
}

int tl_rollback(tl_release **out, tl_ctx *ctx, const char *app, const tl_rollback_options *opts)
{
	tl_rollback_options def = TL_ROLLBACK_OPTIONS_INIT;
	TL__CHECK_ARG(ctx);
	if (!opts)
		opts = &def;
	TL__CHECK_ARG(opts->version >= 1 && opts->version <= TL_ROLLBACK_OPTIONS_VERSION);
	tl__project p;
	tl_app *a = NULL;
	int rc = tl__app_project(&p, &a, ctx, app);
	if (rc)
		return rc;
	tl_release_list *hist = NULL;
	rc = tl__history_load(&hist, p.state_dir);
	const tl_release *target = NULL;
	bool past_active = false;
	for (size_t i = 0; rc == TL_OK && i < tl_release_list_count(hist) && !target; i++) {
		const tl_release *r = tl_release_list_at(hist, i);
		if (opts->release_id) {
			if (!strcmp(r->id, opts->release_id))
				target = r;
		} else if (r->status == TL_RELEASE_ACTIVE) {
			past_active = true;
		} else if (past_active && r->status == TL_RELEASE_SUPERSEDED) {
			target = r;
		}
	}
	if (rc == TL_OK && !target)
		rc = opts->release_id
		         ? tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
		                         "app %s has no release %s (see `towlion releases %s`)", app,
		                         opts->release_id, app)
		         : tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
		                         "app %s has no earlier release to roll back to", app);
	if (rc == TL_OK && target->status == TL_RELEASE_FAILED)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                   "release %s never served (it failed: %s)", target->id,
		                   target->error);
	if (rc == TL_OK) {
		tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
		o.health_timeout_ms = opts->health_timeout_ms;
		o.lock_timeout_ms = opts->lock_timeout_ms;
		o.requested_by = opts->requested_by;
		tl__ctx_reset_cancel(ctx);
		rc = tl__deploy_project(out, ctx, &p, &o, target);
	}
	tl_release_list_free(hist);
	tl__project_dispose(&p);
	tl_app_free(a);
	return rc;
}

int tl_release_list_load(tl_release_list **out, tl_ctx *ctx, const char *app)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	tl_app *a = NULL;
	int rc = tl_app_open(&a, ctx, app);
	if (rc == TL_OK)
		rc = tl__history_load(out, tl_app_state_dir(a));
	tl_app_free(a);
	return rc;
}

/* ---- teardown and destroy ---------------------------------------------- */

int tl__project_teardown(tl_ctx *ctx, const tl__project *p)
{
	tl_docker *d = NULL;
	int rc = tl_docker_open(&d, ctx);
	if (rc)
		return rc;
	/* The route first: nothing must send traffic to what goes next. */
	rc = tl__step(ctx, "destroy.route", p->name, "removing the route of %s", p->name);
	if (rc == TL_OK) {
		rc = tl_caddy_route_remove(NULL, ctx, p->name);
		if (rc == TL_ENOTFOUND)
			rc = TL_OK;
	}
	char *filter[] = {NULL, NULL};
	filter[0] = rc == TL_OK ? tl__sprintf("towlion.project=%s", p->name) : NULL;
	if (rc == TL_OK && !filter[0])
		rc = TL_ENOMEM;
	tl_docker_container_list *cl = NULL;
	if (rc == TL_OK)
		rc = tl__step(ctx, "destroy.containers", p->name, "removing the containers of %s",
		              p->name);
	if (rc == TL_OK)
		rc = tl_docker_container_list_by_label(&cl, d, (const char *const *)filter, 1);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(cl); i++) {
		const char *name = tl_docker_container_name(tl_docker_container_list_at(cl, i));
		tl_docker_container_stop(d, name, -1);
		rc = tl_docker_container_remove(d, name, TL_DOCKER_REMOVE_FORCE);
		if (rc == TL_ENOTFOUND)
			rc = TL_OK;
	}
	tl_docker_container_list_free(cl);
	tl_docker_image_list *il = NULL;
	if (rc == TL_OK)
		rc = tl_docker_image_list_by_label(&il, d, (const char *const *)filter);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_image_list_count(il); i++) {
		rc = tl_docker_image_remove(d, tl_docker_image_id(tl_docker_image_list_at(il, i)), 1);
		if (rc == TL_ENOTFOUND)
			rc = TL_OK;
	}
	tl_docker_image_list_free(il);
	free(filter[0]);
	/* Last, the project's network (its containers are gone). */
	if (rc == TL_OK)
		rc = tl__step(ctx, "destroy.network", p->name, "removing the network of %s", p->name);
	if (rc == TL_OK)
		rc = tl__tenant_net_remove(ctx, d, p->name);
	tl_docker_free(d);
	return rc;
}

/* The app's Redis user and its keys; a missing one is fine. */
static int purge_redis(tl_ctx *ctx, const char *app)
{
	int rc = tl__step(ctx, "destroy.redis", app, "removing the Redis user and keys of %s",
	                  app);
	tl_redis *r = NULL;
	if (rc == TL_OK)
		rc = tl_redis_connect(&r, ctx);
	tl_redis_options o = TL_REDIS_OPTIONS_INIT;
	o.flags = TL_REDIS_PURGE;
	if (rc == TL_OK)
		rc = tl_redis_drop(NULL, r, app, 0, &o);
	if (rc == TL_ENOTFOUND)
		rc = TL_OK;
	tl_redis_free(r);
	return rc;
}

/* The app's uploads bucket, objects and all; a missing one is fine. */
static int purge_bucket(tl_ctx *ctx, const char *app)
{
	int rc = tl__step(ctx, "destroy.bucket", app, "removing the bucket of %s", app);
	tl_s3 *s3 = NULL;
	tl_buf bucket = TL_BUF_INIT;
	if (rc == TL_OK)
		rc = tl_s3_new(&s3, ctx, NULL);
	if (rc == TL_OK)
		rc = tl_s3_app_bucket(&bucket, app);
	if (rc == TL_OK)
		rc = tl_s3_bucket_purge(s3, bucket.ptr);
	if (rc == TL_ENOTFOUND)
		rc = TL_OK;
	tl_buf_dispose(&bucket);
	tl_s3_free(s3);
	return rc;
}

/* The app's own object-storage user and its keys (the bucket stays unless
 * purged): a destroyed app's keys must not outlive it. No user is fine. */
static int drop_s3_user(tl_ctx *ctx, const char *app)
{
	int rc = tl__step(ctx, "destroy.s3-user", app,
	                  "removing the object storage user and keys of %s", app);
	tl_s3 *s3 = NULL;
	if (rc == TL_OK)
		rc = tl_s3_new(&s3, ctx, NULL);
	if (rc == TL_OK)
		rc = tl_s3_app_drop(s3, app, 0);
	if (rc == TL_ENOTFOUND)
		rc = TL_OK;
	tl_s3_free(s3);
	return rc;
}

int tl_app_destroy(tl_ctx *ctx, const char *app, const tl_destroy_options *opts)
{
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(opts);
	TL__CHECK_ARG(opts->version >= 1 && opts->version <= TL_DESTROY_OPTIONS_VERSION);
	int rc = tl_validate_app_name(app);
	if (rc)
		return rc;
	if (!opts->confirm)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "destroying %s cannot be undone: confirm it (--yes)", app);
	tl__project p;
	tl_app *a = NULL;
	if ((rc = tl__app_project(&p, &a, ctx, app)))
		return rc;
	tl__lock *lock = NULL;
	char *locks = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	char *lock_name = tl__sprintf("app-%s", app);
	long lt = opts->lock_timeout_ms ? opts->lock_timeout_ms : 60000;
	rc = (locks && lock_name) ? tl__lock_acquire(&lock, ctx, locks, lock_name, (int)lt)
	                          : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__project_teardown(ctx, &p);
	if (rc == TL_OK && opts->purge) {
		tl_pg *pg = NULL;
		rc = tl__step(ctx, "destroy.database", app, "dropping the database of %s", app);
		if (rc == TL_OK)
			rc = tl_pg_connect(&pg, ctx);
		tl_pg_options po = TL_PG_OPTIONS_INIT;
		po.flags = TL_PG_CONFIRM;
		if (rc == TL_OK)
			rc = tl_pg_app_drop(NULL, pg, app, &po);
		if (rc == TL_ENOTFOUND)
			rc = TL_OK;
		tl_pg_free(pg);
	}
	if (rc == TL_OK && opts->purge)
		rc = purge_redis(ctx, app);
	if (rc == TL_OK && *tl__cfg(ctx, "TOWLION_S3_ENDPOINT") &&
	    !strcmp(tl__cfg(ctx, "TOWLION_S3_ADMIN_API"), "iam"))
		rc = drop_s3_user(ctx, app);
	if (rc == TL_OK && opts->purge && *tl__cfg(ctx, "TOWLION_S3_ENDPOINT"))
		rc = purge_bucket(ctx, app);
	if (rc == TL_OK)
		rc = tl_app_unregister(ctx, app);
	tl__lock_release(lock);
	free(locks);
	free(lock_name);
	tl__project_dispose(&p);
	tl_app_free(a);
	return rc;
}
