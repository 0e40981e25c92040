/*
 * Restart: the active release again, as a new release, so that settings
 * changed since it went live (towlion env set ... --restart) reach its
 * containers now. It is the rollback path of the engine pointed at the
 * active release (saved plan, kept images, health-gated switch) with a
 * new release id, so the old containers drain as after any deploy.
 */
#include "deploy_int.h"

#include <string.h>

int tl_restart(tl_release **out, tl_ctx *ctx, const char *app, const tl_rollback_options *opts)
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
	TL__CHECK_ARG(opts->release_id == NULL);
	tl__project p;
	tl_app *a = NULL;
	int rc = tl__app_project(&p, &a, ctx, app);
	if (rc)
		return rc;
	tl_release_list *hist = NULL;
	rc = tl__history_load(&hist, p.state_dir);
	const tl_release *active = rc == TL_OK ? tl__history_active(hist) : NULL;
	if (rc == TL_OK && !active)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
		                   "%s has no active release to restart: deploy it first (the "
		                   "settings take effect then)",
		                   app);
	if (rc == TL_OK) {
		tl_deploy_options o = TL_DEPLOY_OPTIONS_INIT;
		o.health_timeout_ms = opts->health_timeout_ms;
		o.lock_timeout_ms = opts->lock_timeout_ms;
		o.requested_by = opts->requested_by;
		p.restart = true;
		p.dry_run = opts->dry_run;
		tl__ctx_reset_cancel(ctx);
		rc = tl__deploy_project(out, ctx, &p, &o, active);
	}
	tl_release_list_free(hist);
	tl__project_dispose(&p);
	tl_app_free(a);
	return rc;
}
