/*
 * The app-level verbs on top of the engine: deploy, rollback, history,
 * status and destroy of a registered app.
 */
#include "core/oplog.h"
#include "runtime.h"
#include "towlion/app.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"
#include "towlion/pg.h"
#include "towlion/redis.h"
#include "towlion/s3.h"
#include "towlion/validate.h"

#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int tl_deploy_options_init(tl_deploy_options *opts, unsigned int version)
{
	tl_deploy_options def = TL_DEPLOY_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_DEPLOY_OPTIONS_VERSION, "tl_deploy_options");
}

/* The size of each version of tl_rollback_options (options.h). */
const size_t tl__rollback_options_sizes[2] = {
	offsetof(tl_rollback_options, dry_run), /* 1 */
	sizeof(tl_rollback_options),            /* 2: dry_run */
};

int tl_rollback_options_init(tl_rollback_options *opts, unsigned int version)
{
	tl_rollback_options def = TL_ROLLBACK_OPTIONS_INIT;
	return TL__OPTIONS_INIT_GROWN(opts, version, def, tl__rollback_options_sizes,
	                              TL_ROLLBACK_OPTIONS_VERSION, "tl_rollback_options");
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
	TL__CHECK_VERSION(opts, TL_DEPLOY_OPTIONS_VERSION, "tl_deploy_options");
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
	TL__CHECK_ARG(ctx);
	/* The caller's fields over the defaults: a version-1 struct is never
	 * read past its end, and the fields below need no version test. */
	tl_rollback_options copy = TL_ROLLBACK_OPTIONS_INIT;
	int vrc = TL__OPTIONS_UPGRADE(&copy, opts, tl__rollback_options_sizes,
	                              TL_ROLLBACK_OPTIONS_VERSION, "tl_rollback_options");
	if (vrc)
		return vrc;
	opts = &copy;
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
		                         "app %s has no earlier release to roll back to (see "
		                         "`towlion releases %s`)",
		                         app, app);
	if (rc == TL_OK && target->status == TL_RELEASE_FAILED)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                   "release %s never served (it failed: %s)", target->id,
		                   target->error);
	if (rc == TL_OK) {
		tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
		o.health_timeout_ms = opts->health_timeout_ms;
		o.lock_timeout_ms = opts->lock_timeout_ms;
		o.requested_by = opts->requested_by;
		p.dry_run = opts->dry_run;
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
	const tl__runtime *rt = tl__runtime_for(ctx);
	if (rc == TL_OK)
		rc = tl__step(ctx, "destroy.containers", p->name, "removing the %s of %s",
		              strcmp(rt->engine, "swarm") ? "containers" : "services", p->name);
	if (rc == TL_OK)
		rc = rt->remove_units(ctx, d, p);
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
		rc = rt->remove_network(ctx, d, p->name);
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

/* ---- destroy ----------------------------------------------------------- */

/* Whether object storage has anything of the app's to remove. */
static bool s3_user_kept(tl_ctx *ctx)
{
	return *tl__cfg(ctx, "TOWLION_S3_ENDPOINT") &&
	       !strcmp(tl__cfg(ctx, "TOWLION_S3_ADMIN_API"), "iam");
}

static void note_down(tl_buf *down, const char *service)
{
	tl__buf_printf(down, "%s%s (%s)", down->size ? "; " : "", service,
	               tl_error_last()->message);
	tl_error_clear();
}

/* Every service destroy will talk to, asked before anything changes: a
 * destroy that stops halfway because PostgreSQL is down has already taken
 * the app off the air. TL_EUNAVAILABLE listing each one that is down. */
static int check_services(tl_ctx *ctx, const char *app, bool purge)
{
	tl_buf down = TL_BUF_INIT;
	tl_docker *d = NULL;
	if (tl_docker_open(&d, ctx) != TL_OK)
		note_down(&down, "Docker");
	tl_docker_free(d);
	tl_caddy_upstreams *u = NULL;
	if (tl_caddy_upstreams_get(&u, ctx) != TL_OK)
		note_down(&down, "Caddy");
	tl_caddy_upstreams_free(u);
	if (purge) {
		tl_pg *pg = NULL;
		if (tl_pg_connect(&pg, ctx) != TL_OK)
			note_down(&down, "PostgreSQL");
		tl_pg_free(pg);
		tl_redis *r = NULL;
		if (tl_redis_connect(&r, ctx) != TL_OK)
			note_down(&down, "Redis");
		tl_redis_free(r);
	}
	if ((purge && *tl__cfg(ctx, "TOWLION_S3_ENDPOINT")) || s3_user_kept(ctx)) {
		tl_s3 *s3 = NULL;
		tl_buf bucket = TL_BUF_INIT;
		int rc = tl_s3_new(&s3, ctx, NULL);
		if (rc == TL_OK)
			rc = tl_s3_app_bucket(&bucket, app);
		if (rc == TL_OK)
			rc = tl_s3_bucket_exists(s3, bucket.ptr);
		if (rc != TL_OK && rc != TL_ENOTFOUND)
			note_down(&down, "object storage");
		tl_buf_dispose(&bucket);
		tl_s3_free(s3);
	}
	int rc = TL_OK;
	if (down.size)
		rc = tl__error_set(TL_EUNAVAILABLE, TL_ERRCLASS_DEPLOY,
		                   "cannot destroy %s, nothing was changed: it needs %s, and %s "
		                   "unavailable: %s",
		                   app, purge ? "Docker, Caddy, PostgreSQL, Redis and object "
		                                      "storage"
		                                    : "Docker and Caddy",
		                   strchr(down.ptr, ';') ? "these are" : "this is", down.ptr);
	tl_buf_dispose(&down);
	return rc;
}

/* What a destroy has removed so far, for its report and its error: the
 * planned items in order, the first `done` of them removed. */
typedef struct {
	const char *item[10];
	size_t n, done;
} destroy_log;

static void destroy_plan(destroy_log *l, const char *what)
{
	if (l->n < sizeof(l->item) / sizeof(l->item[0]))
		l->item[l->n++] = what;
}

/* The in-flight record names the item being removed, so that a killed
 * destroy is reported with where it stopped. Best effort: the destroy
 * goes on without it (the record's kind is what finishes it). */
static void destroy_at(const destroy_log *l, tl_ctx *ctx, const char *app)
{
	if (l->done >= l->n)
		return;
	tl__error_saved saved;
	tl__error_save(&saved);
	if (tl__oplog_step(ctx, app, l->item[l->done]) != TL_OK)
		tl__log(ctx, TL_LOG_DEBUG, "%s: the destroy's record keeps its last step: %s", app,
		        tl_error_last()->message);
	tl__error_restore(&saved);
}

/* The next planned item is removed. */
static void destroy_done(destroy_log *l, tl_ctx *ctx, const char *app)
{
	if (l->done < l->n)
		tl__log(ctx, TL_LOG_DEBUG, "%s: removed the %s", app, l->item[l->done++]);
	destroy_at(l, ctx, app);
}

/* "a, b, c" of the items [from, to). */
static void destroy_list(tl_buf *out, const destroy_log *l, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		tl__buf_printf(out, "%s%s", i > from ? ", " : "", l->item[i]);
}

/* Remove the app's state directory (apps/APP: env file, plans, release
 * history, lock files) but its registry entry, app.json, which goes last.
 * The locks kept in it are taken first, so that an operation holding one
 * (a `redis create` writing app.env) finishes before its files go; they
 * are then removed while held (tl__lock_discard). */
static int remove_state_files(tl_ctx *ctx, const char *state_dir)
{
	tl__lock *redis_lk = NULL, *env_lk = NULL;
	int rc = tl__lock_acquire(&redis_lk, ctx, state_dir, "redis", 30000);
	if (rc == TL_OK)
		rc = tl__lock_acquire(&env_lk, ctx, state_dir, "app.env", 30000);
	DIR *dir = rc == TL_OK ? opendir(state_dir) : NULL;
	if (rc == TL_OK && !dir && errno != ENOENT)
		rc = tl__error_os(0, errno, "cannot read %s", state_dir);
	for (struct dirent *e; rc == TL_OK && dir && (e = readdir(dir));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "app.json") || !strcmp(e->d_name, "redis.lock") ||
		    !strcmp(e->d_name, "app.env.lock"))
			continue;
		char *path = tl__path_join(state_dir, e->d_name);
		rc = path ? tl__rm_rf(path, state_dir) : TL_ENOMEM;
		free(path);
	}
	if (dir)
		closedir(dir);
	if (rc == TL_OK) {
		tl__lock_discard(env_lk);
		tl__lock_discard(redis_lk);
	} else {
		tl__lock_release(env_lk);
		tl__lock_release(redis_lk);
	}
	return rc;
}

/* What a killed destroy leaves once the registry entry is gone: the app's
 * lock file. A rerun removes it (holding it) and says so. */
static int finish_unregistered(tl_ctx *ctx, const char *app, const char *locks,
                               const char *lock_name)
{
	char *file = tl__sprintf("%s/%s.lock", locks, lock_name);
	int rc = file ? TL_OK : TL_ENOMEM;
	if (rc == TL_OK && access(file, F_OK) != 0)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_CONFIG, "no app named %s", app);
	tl__lock *lock = NULL;
	if (rc == TL_OK)
		rc = tl__lock_acquire(&lock, ctx, locks, lock_name, 60000);
	if (rc == TL_OK) {
		tl__lock_discard(lock);
		tl__log(ctx, TL_LOG_INFO,
		        "%s was already unregistered (an earlier destroy stopped before its end); "
		        "removed its lock file",
		        app);
	}
	free(file);
	return rc;
}

/*
 * The steps of a destroy, under the app's lock (held by the caller, with
 * the in-flight record written). The order makes a rerun, or the repair
 * of the next command, complete what a killed or failed run began: every
 * step tolerates finding its part already gone, and the registry entry
 * goes last but the record and the lock, so until the end the app is
 * still there to destroy again. On success the record and the lock file
 * are gone (*lock is NULL); on failure the caller releases *lock.
 */
static int destroy_steps(tl_ctx *ctx, const char *app, const char *state_dir, bool purge,
                         tl__lock **lock, tl_buf *removed)
{
	tl__project p;
	memset(&p, 0, sizeof(p));
	p.name = app; /* all the teardown needs */
	p.app = app;
	destroy_log l = {{NULL}, 0, 0};
	bool s3_user = s3_user_kept(ctx);
	bool bucket = purge && *tl__cfg(ctx, "TOWLION_S3_ENDPOINT");
	destroy_plan(&l, "route, containers, images and network");
	if (s3_user)
		destroy_plan(&l, "object storage user");
	if (purge)
		destroy_plan(&l, "database and role");
	if (purge)
		destroy_plan(&l, "Redis user and keys");
	if (bucket)
		destroy_plan(&l, "bucket");
	destroy_plan(&l, "state files");
	destroy_plan(&l, "registry entry");
	destroy_plan(&l, "lock file");
	destroy_at(&l, ctx, app);

	int rc = tl__project_teardown(ctx, &p);
	if (rc == TL_OK)
		destroy_done(&l, ctx, app);
	if (rc == TL_OK && s3_user && (rc = drop_s3_user(ctx, app)) == TL_OK)
		destroy_done(&l, ctx, app);
	if (rc == TL_OK && purge) {
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
		if (rc == TL_OK)
			destroy_done(&l, ctx, app);
	}
	if (rc == TL_OK && purge && (rc = purge_redis(ctx, app)) == TL_OK)
		destroy_done(&l, ctx, app);
	if (rc == TL_OK && bucket && (rc = purge_bucket(ctx, app)) == TL_OK)
		destroy_done(&l, ctx, app);
	if (rc == TL_OK)
		rc = tl__step(ctx, "destroy.files", app, "removing the state files of %s", app);
	if (rc == TL_OK && (rc = remove_state_files(ctx, state_dir)) == TL_OK)
		destroy_done(&l, ctx, app);
	if (rc == TL_OK)
		rc = tl__step(ctx, "destroy.registry", app, "unregistering %s", app);
	if (rc == TL_OK) {
		rc = tl_app_unregister(ctx, app);
		if (rc == TL_ENOTFOUND) { /* a killed run got that far */
			tl_error_clear();
			rc = TL_OK;
		}
		/* The directory itself, which unregistering removes only when it
		 * was registered, and the state-file locks above may have made
		 * again after a concurrent finish; a file in it stays. */
		if (rc == TL_OK && rmdir(state_dir) != 0 && errno != ENOENT && errno != ENOTEMPTY)
			rc = tl__error_os(0, errno, "cannot remove %s", state_dir);
		if (rc == TL_OK)
			destroy_done(&l, ctx, app);
	}
	if (rc == TL_OK) {
		/* The record goes while the lock is held (a new app of the same
		 * name may take the lock the moment it is discarded); a kill
		 * between the two leaves only the lock file, which a rerun of
		 * the destroy removes (finish_unregistered). */
		tl__oplog_remove(ctx, app);
		tl__lock_discard(*lock);
		*lock = NULL;
		destroy_done(&l, ctx, app);
		destroy_list(removed, &l, 0, l.done);
	} else if (l.done) {
		/* What is gone and what is not, and that a rerun finishes it. */
		tl_buf gone = TL_BUF_INIT, left = TL_BUF_INIT;
		destroy_list(&gone, &l, 0, l.done);
		destroy_list(&left, &l, l.done, l.n);
		tl__error_prefix("destroying %s stopped; removed its %s; not removed: its %s "
		                 "(run the destroy again, or any command, to finish)",
		                 app, gone.ptr ? gone.ptr : "", left.ptr ? left.ptr : "");
		tl_buf_dispose(&gone);
		tl_buf_dispose(&left);
	}
	return rc;
}

int tl_destroy_options_init(tl_destroy_options *opts, unsigned int version)
{
	tl_destroy_options def = TL_DESTROY_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_DESTROY_OPTIONS_VERSION, "tl_destroy_options");
}

/* Whether this destroy purges: when it was asked to, or when a killed
 * destroy --purge of `app` is in flight (its record left, no repair could
 * finish it yet: a service was down), which it then says. */
static bool purges(tl_ctx *ctx, const char *app, bool asked)
{
	json_t *rec = NULL;
	bool purge = false;
	if (asked)
		return true;
	if (tl__oplog_read(&rec, ctx, app) == TL_OK)
		purge = !strcmp(tl__oplog_str(rec, "kind"), "destroy") &&
		        json_is_true(json_object_get(rec, "purge"));
	tl_error_clear();
	json_decref(rec);
	if (purge)
		tl__log(ctx, TL_LOG_WARN,
		        "an interrupted destroy --purge of %s is in flight: finishing it, its data "
		        "included",
		        app);
	return purge;
}

/*
 * A destroy of `app` (state in `state_dir`): the services it needs
 * checked, the app's lock taken, its in-flight record written, its steps
 * run. A destroy is forward only: while a killed destroy --purge is in
 * flight, this one purges too, whatever it was asked, since the data was
 * asked to go and part of it may be gone already.
 */
static int destroy_locked(tl_ctx *ctx, const char *app, const char *state_dir, bool purge,
                          const char *locks, const char *lock_name, long lock_ms)
{
	purge = purges(ctx, app, purge);
	tl__lock *lock = NULL;
	int rc = check_services(ctx, app, purge);
	if (rc == TL_OK)
		rc = tl__lock_acquire(&lock, ctx, locks, lock_name, (int)lock_ms);
	/* again under the lock: one may have been left while this one waited */
	if (rc == TL_OK)
		purge = purges(ctx, app, purge);
	/* From here on the destroy is in flight: a kill leaves the record,
	 * and the next command finishes it (tl__app_destroy_finish). */
	json_t *f = rc ? NULL
	               : json_pack("{s:s, s:s, s:b}", "app", app, "state_dir", state_dir, "purge",
	                           purge);
	if (rc == TL_OK && !f)
		rc = tl__error_oom();
	if (rc == TL_OK)
		rc = tl__oplog_write(ctx, app, "destroy", "start", f);
	json_decref(f);
	tl_buf removed = TL_BUF_INIT;
	if (rc == TL_OK)
		rc = destroy_steps(ctx, app, state_dir, purge, &lock, &removed);
	if (rc == TL_OK)
		tl__log(ctx, TL_LOG_INFO, "destroyed %s: removed its %s", app, removed.ptr);
	tl__lock_release(lock);
	tl_buf_dispose(&removed);
	return rc;
}

int tl_app_destroy(tl_ctx *ctx, const char *app, const tl_destroy_options *opts)
{
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(opts);
	TL__CHECK_VERSION(opts, TL_DESTROY_OPTIONS_VERSION, "tl_destroy_options");
	int rc = tl_validate_app_name(app);
	if (rc)
		return rc;
	if (!opts->confirm)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "destroying %s cannot be undone: confirm it (--yes)", app);
	char *locks = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	char *lock_name = tl__sprintf("app-%s", app);
	if (!locks || !lock_name) {
		free(locks);
		free(lock_name);
		return TL_ENOMEM;
	}
	long lt = opts->lock_timeout_ms ? opts->lock_timeout_ms : 60000;
	tl__project p;
	tl_app *a = NULL;
	bool purged = false;
	rc = tl__app_project(&p, &a, ctx, app);
	if (rc == TL_ENOTFOUND && tl__ctx_destroyed(ctx, app, &purged)) {
		/* This context's repair has just finished a destroy of it; one
		 * without --purge kept the data this one asks to drop. */
		tl_error_clear();
		rc = TL_OK;
		char *state_dir = NULL;
		if (opts->purge && !purged && (rc = tl__app_path(&state_dir, ctx, app, NULL)) == TL_OK)
			rc = destroy_locked(ctx, app, state_dir, true, locks, lock_name, lt);
		free(state_dir);
	} else if (rc == TL_ENOTFOUND) {
		tl_buf why = TL_BUF_INIT;
		tl__buf_puts(&why, tl_error_last()->message);
		rc = finish_unregistered(ctx, app, locks, lock_name);
		if (rc == TL_ENOTFOUND && why.ptr)
			tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_CONFIG, "%s", why.ptr);
		tl_buf_dispose(&why);
	} else if (rc == TL_OK) {
		rc = destroy_locked(ctx, app, p.state_dir, opts->purge, locks, lock_name, lt);
		tl__project_dispose(&p);
		tl_app_free(a);
	}
	free(locks);
	free(lock_name);
	return rc;
}

int tl__app_destroy_finish(tl_ctx *ctx, const char *project, const json_t *rec,
                           tl__lock **lock, tl_buf *done)
{
	const char *app = tl__oplog_str(rec, "app");
	bool purge = json_is_true(json_object_get(rec, "purge"));
	if (strcmp(app, project) || tl_validate_app_name(app) != TL_OK)
		return tl__oplog_malformed(ctx, project);
	/* The state directory from the name, not from the file. */
	char *state_dir = NULL;
	tl_buf removed = TL_BUF_INIT;
	int rc = tl__app_path(&state_dir, ctx, app, NULL);
	if (rc == TL_OK)
		rc = check_services(ctx, app, purge);
	if (rc == TL_OK)
		rc = destroy_steps(ctx, app, state_dir, purge, lock, &removed);
	if (rc == TL_OK)
		rc = tl__ctx_remember_destroyed(ctx, app, purge);
	if (rc == TL_OK) {
		/* the step: the item it was removing ("start": killed before
		 * the first, or a record of an older version) */
		const char *step = tl__oplog_str(rec, "step");
		bool started = *step && strcmp(step, "start");
		tl_buf what = TL_BUF_INIT;
		tl__buf_printf(&what,
		               "finished an interrupted destroy%s of %s (killed %s%s): removed its %s",
		               purge ? " --purge" : "", app,
		               started ? "while removing its " : "at its start", started ? step : "",
		               removed.ptr);
		tl__deploy_settled(ctx, app, what.ptr);
		tl_buf_dispose(&what);
		tl__buf_printf(done, "%sfinished an interrupted destroy of %s", done->size ? "\n" : "",
		               app);
	} else {
		tl__error_prefix("cannot finish the interrupted destroy of %s", app);
	}
	tl_buf_dispose(&removed);
	free(state_dir);
	return rc;
}
