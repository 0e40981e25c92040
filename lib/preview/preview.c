/*
 * Previews up and down, list and gc. A preview is a project "<app>-pr-N"
 * run by the release engine under the strict compose policy, with its own
 * schema/role and Redis user, at its own host.
 */
#include "preview_int.h"
#include "towlion/validate.h"
#include "core/oplog.h"
#include "towlion/app.h"
#include "towlion/envfile.h"
#include "towlion/github.h"
#include "towlion/pg.h"
#include "towlion/redis.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int tl_preview_options_init(tl_preview_options *opts, unsigned int version)
{
	tl_preview_options def = TL_PREVIEW_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_PREVIEW_OPTIONS_VERSION, "tl_preview_options");
}

/* The app's own env file says which services it uses. */
static void app_uses(tl_ctx *ctx, const char *app, bool *db, bool *redis)
{
	tl_buf path = TL_BUF_INIT;
	tl_envfile *env = NULL;
	*db = *redis = false;
	if (tl_app_env_path(&path, ctx, app) == TL_OK &&
	    tl_envfile_open(&env, path.ptr, TL_ENVFILE_CREATE) == TL_OK) {
		*db = tl_envfile_get(env, "DATABASE_URL") != NULL;
		*redis = tl_envfile_get(env, "REDIS_URL") != NULL;
	}
	tl_envfile_free(env);
	tl_buf_dispose(&path);
	tl_error_clear();
}

/* Give the preview its own database schema and Redis user, as the app
 * has them; these write the preview's env file. */
static int provision(tl_ctx *ctx, const char *app, uint32_t pr)
{
	bool db, redis;
	app_uses(ctx, app, &db, &redis);
	int rc = TL_OK;
	if (db) {
		tl_pg *pg = NULL;
		rc = tl__step(ctx, "preview.database", app, "creating schema pr_%u and its role", pr);
		if (rc == TL_OK)
			rc = tl_pg_connect(&pg, ctx);
		if (rc == TL_OK)
			rc = tl_pg_preview_create(NULL, pg, app, pr, NULL);
		tl_pg_free(pg);
	}
	if (rc == TL_OK && redis) {
		tl_redis *r = NULL;
		rc = tl__step(ctx, "preview.redis", app, "creating the Redis user of PR %u", pr);
		if (rc == TL_OK)
			rc = tl_redis_connect(&r, ctx);
		if (rc == TL_OK)
			rc = tl_redis_create(NULL, r, app, pr, NULL);
		tl_redis_free(r);
	}
	return rc;
}

static size_t count_previews(tl_ctx *ctx, const char *app)
{
	tl_preview_list *l = NULL;
	size_t n = 0;
	if (tl__preview_list_load(&l, ctx, app, false) == TL_OK)
		n = tl_preview_list_count(l);
	tl_preview_list_free(l);
	tl_error_clear();
	return n;
}

int tl_preview_up(tl_preview **out, tl_ctx *ctx, const char *app, uint32_t pr,
                  const tl_preview_options *opts)
{
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(opts);
	TL__CHECK_VERSION(opts, TL_PREVIEW_OPTIONS_VERSION, "tl_preview_options");
	if ((opts->path != NULL) == (opts->git_url != NULL))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "give either a directory or a git URL and ref for the preview");
	if (opts->git_url && !opts->git_ref)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "a git URL needs a ref, e.g. refs/pull/%u/head", pr);
	int rc = opts->repo ? tl_github_validate_repo(opts->repo) : TL_OK;
	tl_app *registered = NULL;
	if (rc == TL_OK)
		rc = tl_app_open(&registered, ctx, app);
	tl_app_free(registered);
	if (rc)
		return rc;
	tl__project p;
	char *name = NULL;
	if ((rc = tl__preview_project(&p, ctx, app, pr, &name)))
		return rc;
	tl__ctx_reset_cancel(ctx);
	tl_preview *prev = NULL;
	bool exists = tl__preview_load(&prev, ctx, app, pr) == TL_OK;
	tl_error_clear();
	uint64_t max = 0;
	rc = tl_parse_uint(&max, tl__cfg(ctx, "TOWLION_PREVIEW_MAX"), 0, 100000,
	                   "TOWLION_PREVIEW_MAX");
	if (rc == TL_OK && !exists && count_previews(ctx, app) >= max)
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DEPLOY,
		                   "app %s has %ld previews already (TOWLION_PREVIEW_MAX); remove one "
		                   "with `towlion preview down %s --pr N` or `towlion preview gc`",
		                   app, (long)max, app);
	/* The PR's code first, and its compose file checked under the strict
	 * policy, before anything is created for it. */
	tl_buf commit = TL_BUF_INIT;
	char *dir = NULL;
	if (rc == TL_OK && opts->git_url) {
		rc = tl__mkdir_p(tl__cfg(ctx, "TOWLION_APPS_DIR"), 0755);
		if (rc == TL_OK)
			rc = tl__source_git(&commit, ctx, p.checkout_dir, opts->git_url, opts->git_ref);
		if (rc == TL_OK && !(dir = tl__strdup(p.checkout_dir)))
			rc = TL_ENOMEM;
	} else if (rc == TL_OK) {
		if (!(dir = realpath(opts->path, NULL)))
			rc = tl__error_os(0, errno, "cannot use %s as the preview's source", opts->path);
		else if (tl__source_commit_of(&commit, ctx, dir) != TL_OK)
			tl__buf_clear(&commit);
	}
	tl__plan check;
	if (rc == TL_OK)
		rc = tl__step(ctx, "preview.check", name, "checking the compose file (strict policy)");
	if (rc == TL_OK && (rc = tl__plan_load(&check, ctx, &p, dir)) == TL_OK)
		tl__plan_dispose(&check);
	if (rc && rc != TL_ECONFLICT && !exists && opts->git_url) {
		/* A new preview that was refused leaves nothing behind. */
		tl__error_saved saved;
		tl__error_save(&saved);
		tl__rm_rf(p.checkout_dir, tl__cfg(ctx, "TOWLION_APPS_DIR"));
		tl__error_set_upstream(rc, saved.klass, saved.upstream, saved.upstream_code, "%s",
		                       saved.message);
	}

	/* Remember it before creating anything, so down and gc find it. */
	tl_preview *pv = prev;
	if (rc == TL_OK && !pv) {
		pv = tl__calloc(1, sizeof(*pv));
		if (pv) {
			pv->app = tl__strdup(app);
			pv->pr = pr;
			pv->created = (int64_t)time(NULL);
			pv->comment_url = tl__strdup("");
			pv->release = tl__strdup("");
		}
		if (!pv || !pv->app || !pv->comment_url || !pv->release)
			rc = tl__error_oom();
	}
	if (rc == TL_OK) {
		/* pv may be prev itself (an update): keep the repository we
		 * comment on unless the caller names another. */
		char *repo = opts->repo ? tl__strdup(opts->repo)
		             : tl__strdup(prev && prev->repo ? prev->repo : "");
		free(pv->source);
		free(pv->url);
		free(pv->repo);
		free(pv->commit);
		pv->repo = repo;
		pv->source = opts->git_url ? tl__sprintf("git:%s#%s", opts->git_url, opts->git_ref)
		                           : tl__sprintf("path:%s", dir);
		pv->url = tl__sprintf("%s://%s", strcmp(tl__cfg(ctx, "TOWLION_TLS"), "off") ? "https"
		                                                                           : "http",
		                      p.hosts[0]);
		pv->commit = tl__strdup(commit.ptr ? commit.ptr : "");
		pv->updated = (int64_t)time(NULL);
		rc = (pv->source && pv->url && pv->repo && pv->commit) ? tl__preview_save(ctx, pv)
		                                                       : tl__error_oom();
	}
	if (rc == TL_OK)
		rc = provision(ctx, app, pr);
	tl_release *rel = NULL;
	if (rc == TL_OK) {
		tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
		o.path = dir;
		o.health_timeout_ms = opts->health_timeout_ms;
		o.lock_timeout_ms = opts->lock_timeout_ms;
		o.requested_by = "preview";
		rc = tl__deploy_project(&rel, ctx, &p, &o, NULL);
	}
	if (rc == TL_OK) {
		free(pv->release);
		pv->release = tl__strdup(tl_release_id(rel));
		tl__preview_comment(ctx, pv, false);
		rc = pv->release ? tl__preview_save(ctx, pv) : tl__error_oom();
	}
	if (rc == TL_OK)
		tl__step(ctx, "preview.done", name, "preview live at %s", pv->url);
	tl_release_free(rel);
	free(dir);
	tl_buf_dispose(&commit);
	tl__project_dispose(&p);
	free(name);
	if (rc == TL_OK && out) {
		pv->healthy = 1;
		*out = pv;
	} else {
		tl_preview_free(pv);
	}
	return rc;
}

/*
 * The steps of a preview down, under the project's lock (held by the
 * caller, with the in-flight record written): each tolerates its part
 * being gone already, so a rerun or the next command's repair completes
 * a killed one. On success the record and the lock file are gone (*lock
 * is NULL); on failure the caller releases *lock.
 */
static int down_steps(tl_ctx *ctx, tl__project *p, const char *app, uint32_t pr, bool found,
                      tl__lock **lock)
{
	tl_preview *pv = NULL;
	tl__preview_load(&pv, ctx, app, pr);
	tl_error_clear();
	/* Containers, images and route go whether or not we remember them. */
	int rc = tl__project_teardown(ctx, p);
	bool db, redis;
	app_uses(ctx, app, &db, &redis);
	tl_envfile *env = NULL;
	if (tl_envfile_open(&env, p->env_path, 0) == TL_OK) {
		db = db || tl_envfile_get(env, "DATABASE_URL");
		redis = redis || tl_envfile_get(env, "REDIS_URL");
	}
	tl_envfile_free(env);
	tl_error_clear();
	if (rc == TL_OK && db) {
		tl_pg *pg = NULL;
		rc = tl__step(ctx, "preview.database", p->name, "dropping schema pr_%u and its role",
		              pr);
		if (rc == TL_OK)
			rc = tl_pg_connect(&pg, ctx);
		if (rc == TL_OK)
			rc = tl_pg_preview_drop(NULL, pg, app, pr, NULL);
		if (rc == TL_ENOTFOUND) /* the app's database is gone already */
			rc = TL_OK;
		tl_pg_free(pg);
	}
	if (rc == TL_OK && redis) {
		tl_redis *r = NULL;
		tl_redis_options ro = TL_REDIS_OPTIONS_INIT;
		ro.flags = TL_REDIS_PURGE;
		rc = tl__step(ctx, "preview.redis", p->name, "removing the Redis user and keys");
		if (rc == TL_OK)
			rc = tl_redis_connect(&r, ctx);
		if (rc == TL_OK)
			rc = tl_redis_drop(NULL, r, app, pr, &ro);
		tl_redis_free(r);
	}
	if (rc == TL_OK)
		rc = tl__rm_rf(p->checkout_dir, tl__cfg(ctx, "TOWLION_APPS_DIR"));
	if (rc == TL_OK && unlink(p->env_path) != 0 && errno != ENOENT)
		rc = tl__error_os(0, errno, "cannot remove %s", p->env_path);
	if (rc == TL_OK)
		rc = tl__rm_rf(p->state_dir, tl__cfg(ctx, "TOWLION_STATE_DIR"));
	if (rc == TL_OK && pv)
		tl__preview_comment(ctx, pv, true);
	if (rc == TL_OK)
		tl__step(ctx, "preview.done", p->name, found ? "preview %s removed"
		                                             : "there was no preview %s", p->name);
	/* A preview that is gone leaves no record and no lock file (lib/core/
	 * lock.c says why removing it under the lock is safe). */
	if (rc == TL_OK) {
		tl__oplog_remove(ctx, p->name);
		tl__lock_discard(*lock);
		*lock = NULL;
	}
	tl_preview_free(pv);
	return rc;
}

int tl_preview_down(int *existed, tl_ctx *ctx, const char *app, uint32_t pr,
                    const tl_preview_options *opts)
{
	TL__CHECK_ARG(ctx);
	TL__CHECK_VERSION(opts, TL_PREVIEW_OPTIONS_VERSION, "tl_preview_options");
	tl__project p;
	char *name = NULL;
	int rc = tl__preview_project(&p, ctx, app, pr, &name);
	if (rc)
		return rc;
	tl_preview *pv = NULL;
	bool found = tl__preview_load(&pv, ctx, app, pr) == TL_OK;
	tl_preview_free(pv);
	tl_error_clear();
	struct stat st;
	found = found || stat(p.checkout_dir, &st) == 0 || stat(p.env_path, &st) == 0;
	tl__lock *lock = NULL;
	long lt = opts && opts->lock_timeout_ms ? opts->lock_timeout_ms : 10 * 60 * 1000;
	rc = tl__lock_project(&lock, ctx, name, (int)lt);
	/* From here on the down is in flight: a kill leaves the record, and
	 * the next command finishes it (tl__preview_down_finish). */
	json_t *f = rc ? NULL : json_pack("{s:s, s:I}", "app", app, "pr", (json_int_t)pr);
	if (rc == TL_OK && !f)
		rc = tl__error_oom();
	if (rc == TL_OK)
		rc = tl__oplog_write(ctx, name, "preview down", "start", f);
	json_decref(f);
	if (rc == TL_OK)
		rc = down_steps(ctx, &p, app, pr, found, &lock);
	if (rc == TL_OK && existed)
		*existed = found;
	tl__lock_release(lock);
	tl__project_dispose(&p);
	free(name);
	return rc;
}

int tl__preview_down_finish(tl_ctx *ctx, const char *project, const json_t *rec,
                            tl__lock **lock, tl_buf *done)
{
	const char *app = tl__oplog_str(rec, "app");
	json_int_t n = json_integer_value(json_object_get(rec, "pr"));
	uint32_t pr = n > 0 && n <= INT32_MAX ? (uint32_t)n : 0;
	tl__project p;
	char *name = NULL;
	int rc = tl__preview_project(&p, ctx, app, pr, &name);
	if (rc == TL_OK && strcmp(name, project)) { /* not this project's record */
		tl__project_dispose(&p);
		free(name);
		rc = TL_EINVALID;
	}
	if (rc)
		return tl__oplog_malformed(ctx, project);
	rc = down_steps(ctx, &p, app, pr, true, lock);
	if (rc == TL_OK) {
		tl_buf what = TL_BUF_INIT;
		tl__buf_printf(&what,
		               "finished an interrupted preview down of %s (killed at step %s): its "
		               "containers, route, schema, Redis user and files are removed",
		               project, tl__oplog_str(rec, "step"));
		tl__deploy_settled(ctx, project, what.ptr);
		tl_buf_dispose(&what);
		tl__buf_printf(done, "%sfinished an interrupted preview down of %s",
		               done->size ? "\n" : "", project);
	} else {
		tl__error_prefix("cannot finish the interrupted preview down of %s", project);
	}
	tl__project_dispose(&p);
	free(name);
	return rc;
}
