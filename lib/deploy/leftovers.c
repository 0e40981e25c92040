/*
 * Removing what killed operations left: the app's containers of releases
 * that do not serve. The same convergence a deploy starts with
 * (converge.c), without deploying anything, for `towlion status --fix`.
 */
#include "deploy_int.h"
#include "towlion/app.h"
#include "towlion/docker.h"

#include <string.h>

#define LEFTOVERS_LOCK_DEFAULT_MS 10000

/* The names of the project's containers whose release is not in `keep`. */
static int names_outside(tl_buf *out, tl__deploy_attempt *a, char *const *keep)
{
	char **filter = NULL;
	tl_docker_container_list *l = NULL;
	int rc = tl__label_filter(&filter, a->p, NULL);
	if (rc == TL_OK)
		rc = tl_docker_container_list_by_label(&l, a->docker, (const char *const *)filter, 1);
	for (size_t i = 0; rc == TL_OK && i < tl_docker_container_list_count(l); i++) {
		const tl_docker_container *c = tl_docker_container_list_at(l, i);
		const char *rel = tl_docker_container_label(c, "towlion.release");
		if (!rel || !tl__strv_contains(keep, rel))
			rc = tl__buf_printf(out, "%s\n", tl_docker_container_name(c));
	}
	tl_docker_container_list_free(l);
	tl__strv_free(filter);
	return rc;
}

int tl_app_leftovers_remove(tl_buf *removed, tl_ctx *ctx, const char *app, long lock_timeout_ms)
{
	TL__CHECK_ARG(ctx);
	tl__project p;
	tl_app *reg = NULL;
	int rc = tl__app_project(&p, &reg, ctx, app);
	if (rc)
		return rc;
	tl__deploy_attempt a = {0};
	a.ctx = ctx;
	a.p = &p;
	tl__lock *lock = NULL;
	char **serving = NULL;
	tl_buf names = TL_BUF_INIT;
	long lt = lock_timeout_ms ? lock_timeout_ms : LEFTOVERS_LOCK_DEFAULT_MS;
	rc = tl__lock_project(&lock, ctx, p.name, lt < 0 ? 0 : (int)lt);
	if (rc == TL_OK)
		rc = tl_docker_open(&a.docker, ctx);
	/* The active release's plan tells the loopback ports the route uses. */
	tl_release_list *hist = NULL;
	if (rc == TL_OK)
		rc = tl__history_load(&hist, p.state_dir);
	const tl_release *active = hist ? tl__history_active(hist) : NULL;
	if (rc == TL_OK && active && tl__plan_restore(&a.plan, p.state_dir, active->id))
		tl_error_clear();
	if (rc == TL_OK)
		rc = tl__serving_releases(&serving, &a);
	if (rc == TL_OK)
		rc = names_outside(&names, &a, serving);
	if (rc == TL_OK && names.size) {
		tl__step(ctx, "status.fix", p.name, "removing the leftovers of %s", p.name);
		rc = tl__remove_other_releases(&a, serving, NULL, 0);
	}
	if (rc == TL_OK && removed)
		rc = tl__buf_set(removed, names.ptr ? names.ptr : "", names.size);
	tl_buf_dispose(&names);
	tl_release_list_free(hist);
	tl__strv_free(serving);
	tl__plan_dispose(&a.plan);
	tl_docker_free(a.docker);
	tl__lock_release(lock);
	tl__project_dispose(&p);
	tl_app_free(reg);
	return rc;
}
