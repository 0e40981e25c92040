/*
 * Settling a deploy, rollback or preview up that a killed process left in
 * flight (its record: lib/core/oplog.h); tl_deploy_repair also finishes a
 * destroy or a preview down (app_ops.c, lib/preview/preview.c).
 *
 * The engine writes the record under the project lock once it knows the
 * release, with the site file as it was before ("route_before"), and
 * removes it when it returns. The engine records a release as active right
 * after the route moved to it, so the history tells which side of the
 * switch the process died on:
 *  - the history's active release is the record's: the deploy is finished
 *    (the containers of every other release are removed, as the engine
 *    would have done);
 *  - otherwise it is undone: the route goes back to what it was (Caddy and
 *    the file, after any pending route change is settled), the release's
 *    containers go, and so do its images and plan unless an earlier deploy
 *    of it is in the history; a deploy is recorded as failed.
 * Either way the temporary files of killed atomic writes in the project's
 * state are swept.
 */
#include "caddy/caddy_internal.h"
#include "core/oplog.h"
#include "deploy_int.h"
#include "preview/preview_int.h"
#include "towlion/caddy.h"
#include "towlion/docker.h"

#include <dirent.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SITE_FILE_FMT "%s/sites/%s.caddy"

int tl__deploy_op_begin(tl_ctx *ctx, const tl__project *p, const char *kind,
                        const char *release)
{
	char *path = tl__sprintf(SITE_FILE_FMT, tl__cfg(ctx, "TOWLION_CADDY_DIR"), p->name);
	tl_buf before = TL_BUF_INIT;
	int rc = path ? tl__file_read(&before, path) : TL_ENOMEM;
	if (rc == TL_ENOTFOUND) { /* no route yet: undoing removes it */
		tl_error_clear();
		rc = TL_OK;
	}
	json_t *f = rc ? NULL
	               : json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "app", p->app, "pr",
	                           p->pr ? p->pr : "", "state_dir", p->state_dir, "release", release,
	                           "route_before", before.ptr ? before.ptr : "", "had_route",
	                           before.ptr != NULL);
	if (rc == TL_OK && !f)
		rc = tl__error_oom();
	if (rc == TL_OK)
		rc = tl__oplog_write(ctx, p->name, kind, "prepare", f);
	json_decref(f);
	tl_buf_dispose(&before);
	free(path);
	return rc;
}

/* Leftovers of atomic writes (NAME.tmp-PID-RND) in `dir`: under the
 * project lock nobody is writing there. */
static void sweep_tmp(tl_ctx *ctx, const char *dir)
{
	DIR *d = opendir(dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		if (!strstr(de->d_name, ".tmp-"))
			continue;
		char *p = tl__path_join(dir, de->d_name);
		if (p && unlink(p) == 0)
			tl__log(ctx, TL_LOG_INFO, "removed %s, left by a killed write", p);
		free(p);
	}
	if (d)
		closedir(d);
}

/* Remove the images labelled with `release` of the project. */
static void remove_release_images(tl__deploy_attempt *a, const char *release)
{
	char **filter = NULL;
	tl_docker_image_list *imgs = NULL;
	if (tl__label_filter(&filter, a->p, release) == TL_OK &&
	    tl_docker_image_list_by_label(&imgs, a->docker, (const char *const *)filter) == TL_OK)
		for (size_t i = 0; i < tl_docker_image_list_count(imgs); i++) {
			const tl_docker_image *img = tl_docker_image_list_at(imgs, i);
			for (size_t t = 0; t < tl_docker_image_tag_count(img); t++)
				if (tl_docker_image_remove(a->docker, tl_docker_image_tag_at(img, t), 0) ==
				    TL_OK)
					tl__log(a->ctx, TL_LOG_INFO, "removed image %s",
					        tl_docker_image_tag_at(img, t));
		}
	tl_error_clear(); /* an image in use stays, as in tl__prune_images */
	tl_docker_image_list_free(imgs);
	tl__strv_free(filter);
}

/* The route back to what it was before the record's operation. */
static int route_back(tl_ctx *ctx, const tl__project *p, const json_t *rec, bool *changed)
{
	const char *before = tl__oplog_str(rec, "route_before");
	bool had = json_is_true(json_object_get(rec, "had_route"));
	char *path = tl__sprintf(SITE_FILE_FMT, tl__cfg(ctx, "TOWLION_CADDY_DIR"), p->name);
	tl_buf now = TL_BUF_INIT;
	int rc = path ? tl__file_read(&now, path) : TL_ENOMEM;
	bool has = rc == TL_OK;
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		rc = TL_OK;
	}
	*changed = false;
	if (rc == TL_OK && had && (!has || strcmp(now.ptr ? now.ptr : "", before))) {
		rc = tl__caddy_site_apply(ctx, p->name, before);
		*changed = true;
	} else if (rc == TL_OK && !had && has) {
		rc = tl_caddy_route_remove(NULL, ctx, p->name);
		*changed = true;
	}
	tl_buf_dispose(&now);
	free(path);
	return rc;
}

static bool in_history(const tl_release_list *hist, const char *id)
{
	for (size_t i = 0; i < tl_release_list_count(hist); i++)
		if (!strcmp(tl_release_list_at(hist, i)->id, id))
			return true;
	return false;
}

static int record_interrupted(const tl__project *p, const json_t *rec)
{
	char err[256];
	snprintf(err, sizeof(err), "interrupted (the process died at step %s); undone",
	         tl__oplog_str(rec, "step"));
	tl_release r = {(char *)tl__oplog_str(rec, "release"), TL_RELEASE_FAILED,
	                json_integer_value(json_object_get(rec, "started")), 0, "", "", "", err,
	                NULL, NULL, 0};
	return tl__history_record(p->state_dir, &r);
}

void tl__deploy_settled(tl_ctx *ctx, const char *project, const char *what)
{
	tl__step(ctx, "deploy.settle", project, "%s", what);
	tl__log(ctx, TL_LOG_WARN, "%s", what);
}

int tl__deploy_op_settle(tl_ctx *ctx, const tl__project *p, tl_docker *docker, tl_buf *done)
{
	json_t *rec = NULL;
	int rc = tl__oplog_read(&rec, ctx, p->name);
	if (rc == TL_ENOTFOUND)
		return TL_OK;
	if (rc)
		return rc;
	const char *kind = tl__oplog_str(rec, "kind"), *release = tl__oplog_str(rec, "release"),
	           *step = tl__oplog_str(rec, "step");
	tl__project proj = *p;
	tl__deploy_attempt a;
	memset(&a, 0, sizeof(a));
	a.ctx = ctx;
	a.p = &proj;
	a.docker = docker;
	a.release_id = (char *)release;
	tl_release_list *hist = NULL;
	tl_buf what = TL_BUF_INIT;
	if (!strcmp(kind, "destroy") || !strcmp(kind, "preview down")) {
		/* Finished by the repair only (tl_deploy_repair), which takes the
		 * lock the way they need it: never deployed over. */
		rc = tl__error_set(TL_ECONFLICT, TL_ERRCLASS_DEPLOY,
		                   "a %s of %s was interrupted and is not finished: run `towlion "
		                   "status` (tl_deploy_repair) to finish it",
		                   kind, p->name);
		goto out;
	}
	if (!*release || strchr(release, '/')) {
		rc = tl__oplog_malformed(ctx, p->name);
		goto out;
	}
	/* A route change of its own may be in flight too: settle it first. */
	if ((rc = tl_caddy_reconcile(NULL, ctx)) || (rc = tl__history_load(&hist, p->state_dir)))
		goto out;
	const tl_release *active = tl__history_active(hist);
	if (active && !strcmp(active->id, release)) {
		char *const keep[] = {(char *)release, NULL};
		rc = tl__remove_other_releases(&a, keep, NULL, 0);
		if (rc == TL_OK)
			rc = tl__buf_printf(&what, "%s of %s to %s (interrupted at step %s) finished: %s "
			                    "serves, the containers of other releases are removed",
			                    kind, p->name, release, step, release);
	} else {
		bool moved = false;
		rc = route_back(ctx, p, rec, &moved);
		char *const keep[] = {active ? active->id : NULL, NULL};
		if (rc == TL_OK)
			rc = tl__remove_other_releases(&a, keep, NULL, 0);
		if (rc == TL_OK && !in_history(hist, release)) {
			remove_release_images(&a, release);
			tl__plan_forget(p->state_dir, release);
			if (strcmp(kind, "rollback"))
				rc = record_interrupted(p, rec);
		}
		if (rc == TL_OK)
			rc = tl__buf_printf(&what, "%s of %s to %s (interrupted at step %s) undone: %s%s",
			                    kind, p->name, release, step,
			                    active ? active->id : "no release",
			                    moved ? " serves again, the route is back"
			                          : " keeps serving, its route was unchanged");
	}
	if (rc == TL_OK) {
		char *plans = tl__path_join(p->state_dir, "plans");
		sweep_tmp(ctx, p->state_dir);
		if (plans)
			sweep_tmp(ctx, plans);
		free(plans);
		tl__oplog_remove(ctx, p->name);
		tl__deploy_settled(ctx, p->name, what.ptr);
		if (done)
			tl__buf_printf(done, "%s%s", done->size ? "\n" : "", what.ptr);
	} else {
		tl__error_prefix("cannot settle the interrupted %s of %s", *kind ? kind : "deploy",
		                 p->name);
	}
out:
	tl_release_list_free(hist);
	tl_buf_dispose(&what);
	json_decref(rec);
	return rc;
}

int tl_deploy_repair(tl_buf *done, tl_ctx *ctx)
{
	TL__CHECK_ARG(ctx);
	char **names = NULL;
	tl_buf d = TL_BUF_INIT;
	int rc = tl__oplog_list(&names, ctx);
	if (rc == TL_OK)
		rc = tl_caddy_reconcile(&d, ctx);
	tl_docker *docker = NULL;
	if (rc == TL_OK && names)
		rc = tl_docker_open(&docker, ctx);
	char *locks = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "locks");
	if (!locks && rc == TL_OK)
		rc = TL_ENOMEM;
	int first = rc;
	for (size_t i = 0; rc == TL_OK && names && names[i]; i++) {
		json_t *rec = NULL;
		tl__lock *lk = NULL;
		char *lock_name = tl__sprintf("app-%s", names[i]);
		int r = lock_name ? tl__lock_acquire(&lk, ctx, locks, lock_name, 0) : TL_ENOMEM;
		if (r == TL_ELOCKED) { /* alive: it settles its own record */
			tl__log(ctx, TL_LOG_INFO, "an operation on %s is in progress", names[i]);
			tl_error_clear();
			free(lock_name);
			continue;
		}
		const char *kind = NULL;
		if (r == TL_OK && (r = tl__oplog_read(&rec, ctx, names[i])) == TL_OK)
			kind = tl__oplog_str(rec, "kind");
		/* A destroy or preview down is finished, never undone: under the
		 * lock taken here (their own code would wait for it forever). */
		if (kind && !strcmp(kind, "destroy")) {
			r = tl__app_destroy_finish(ctx, names[i], rec, &lk, &d);
		} else if (kind && !strcmp(kind, "preview down")) {
			r = tl__preview_down_finish(ctx, names[i], rec, &lk, &d);
		} else if (kind) {
			tl__project p;
			memset(&p, 0, sizeof(p));
			const char *pr = tl__oplog_str(rec, "pr");
			p.name = names[i];
			p.app = tl__oplog_str(rec, "app");
			p.pr = *pr ? pr : NULL;
			p.state_dir = (char *)tl__oplog_str(rec, "state_dir");
			r = *p.app && *p.state_dir
			        ? tl__deploy_op_settle(ctx, &p, docker, &d)
			        : tl__oplog_malformed(ctx, names[i]);
		} else if (r == TL_ENOTFOUND) {
			/* Settled meanwhile, by another command: taking the lock made
			 * its file again, which must not outlive a destroyed project
			 * (removing it while held is safe: lib/core/lock.c). */
			r = TL_OK;
			tl_error_clear();
			tl__lock_discard(lk);
			lk = NULL;
		}
		if (r && !first)
			first = r;
		json_decref(rec);
		tl__lock_release(lk);
		free(lock_name);
	}
	if (first == TL_OK && done)
		first = tl__buf_set(done, d.ptr ? d.ptr : "", d.size);
	tl_buf_dispose(&d);
	tl_docker_free(docker);
	tl__strv_free(names);
	free(locks);
	return first;
}
