/* Listing previews, and removing the stale ones (gc). */
#include "preview_int.h"
#include "towlion/github.h"
#include "towlion/validate.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tl_preview_list {
	tl_preview **items;
	size_t n, cap;
};

static int push(tl_preview_list *l, tl_preview *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		tl_preview **it = tl__realloc(l->items, cap * sizeof(*it));
		if (!it)
			return TL_ENOMEM;
		l->items = it;
		l->cap = cap;
	}
	l->items[l->n++] = p;
	return TL_OK;
}

/* Whether the preview serves, by what tl_app_status_get says of an app
 * (its containers inspected, its route as Caddy has it, its health path
 * asked): 1 or 0; -1 when that cannot be told (Docker unreachable). */
static int preview_health(tl_ctx *ctx, const tl_preview *pv)
{
	tl__project p;
	char *name = NULL;
	tl_app_status *st = NULL;
	int healthy = -1;
	if (tl__preview_project(&p, ctx, pv->app, pv->pr, &name) == TL_OK) {
		if (tl__project_status(&st, ctx, name, p.state_dir, p.hosts[0]) == TL_OK)
			healthy = tl_app_status_healthy(st) ? 1 : 0;
		tl_app_status_free(st);
		tl__project_dispose(&p);
		free(name);
	}
	tl_error_clear();
	return healthy;
}

/* Previews of one app from <STATE>/apps/<app>/previews/pr-N/, their
 * health checked when `check`. */
static int load_app(tl_preview_list *l, tl_ctx *ctx, const char *app, bool check)
{
	char *dir = tl__sprintf("%s/apps/%s/previews", tl__cfg(ctx, "TOWLION_STATE_DIR"), app);
	if (!dir)
		return TL_ENOMEM;
	DIR *d = opendir(dir);
	free(dir);
	if (!d)
		return TL_OK;
	int rc = TL_OK;
	for (struct dirent *e; rc == TL_OK && (e = readdir(d));) {
		uint32_t pr;
		if (strncmp(e->d_name, "pr-", 3) || tl_parse_pr(&pr, e->d_name + 3) != TL_OK)
			continue;
		tl_preview *p = NULL;
		int lrc = tl__preview_load(&p, ctx, app, pr);
		if (lrc == TL_ENOTFOUND)
			continue;
		if (lrc == TL_OK && check)
			p->healthy = preview_health(ctx, p);
		rc = lrc ? lrc : push(l, p);
		if (rc)
			tl_preview_free(p);
	}
	closedir(d);
	if (rc == TL_OK) /* a failure keeps its message (the record it names) */
		tl_error_clear();
	return rc;
}

static int cmp_preview(const void *a, const void *b)
{
	const tl_preview *x = *(tl_preview *const *)a, *y = *(tl_preview *const *)b;
	int c = strcmp(x->app, y->app);
	return c ? c : (x->pr > y->pr) - (x->pr < y->pr);
}

int tl_preview_list_load(tl_preview_list **out, tl_ctx *ctx, const char *app)
{
	return tl__preview_list_load(out, ctx, app, true);
}

int tl__preview_list_load(tl_preview_list **out, tl_ctx *ctx, const char *app, bool check)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	int rc = app ? tl_validate_app_name(app) : TL_OK;
	if (rc)
		return rc;
	tl_preview_list *l = tl__calloc(1, sizeof(*l));
	if (!l)
		return TL_ENOMEM;
	/* Each preview's health reads Docker's containers and Caddy's
	 * routes: once for the whole list. */
	tl__report_begin(ctx);
	if (app) {
		rc = load_app(l, ctx, app, check);
	} else {
		char *root = tl__path_join(tl__cfg(ctx, "TOWLION_STATE_DIR"), "apps");
		DIR *d = root ? opendir(root) : NULL;
		for (struct dirent *e; d && rc == TL_OK && (e = readdir(d));)
			if (e->d_name[0] != '.' && tl_validate_app_name(e->d_name) == TL_OK)
				rc = load_app(l, ctx, e->d_name, check);
		if (d)
			closedir(d);
		free(root);
		if (rc == TL_OK) /* no apps directory is no previews; a failure keeps its message */
			tl_error_clear();
	}
	tl__report_end(ctx);
	if (rc) {
		tl_preview_list_free(l);
		return rc;
	}
	if (l->n)
		qsort(l->items, l->n, sizeof(*l->items), cmp_preview);
	*out = l;
	return TL_OK;
}

size_t tl_preview_list_count(const tl_preview_list *l) { return l ? l->n : 0; }
const tl_preview *tl_preview_list_at(const tl_preview_list *l, size_t i)
{
	return (l && i < l->n) ? l->items[i] : NULL;
}
void tl_preview_list_free(tl_preview_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		tl_preview_free(l->items[i]);
	free(l->items);
	free(l);
}

/* Is the preview's PR closed or merged? 1 yes, 0 no or unknown. */
static int pr_closed(tl_ctx *ctx, tl_github *gh, const tl_preview *p)
{
	tl_github_pr *pr = NULL;
	int rc = tl_github_pr_get(&pr, gh, p->repo, p->pr);
	if (rc) {
		tl__log(ctx, TL_LOG_WARN, "keeping %s-pr-%u: cannot read %s#%u: %s", p->app, p->pr,
		        p->repo, p->pr, tl_error_last()->message);
		tl_error_clear();
		return 0;
	}
	int closed = tl_github_pr_state_get(pr) != TL_GITHUB_PR_OPEN;
	tl_github_pr_free(pr);
	return closed;
}

int tl_preview_gc_options_init(tl_preview_gc_options *opts, unsigned int version)
{
	tl_preview_gc_options def = TL_PREVIEW_GC_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_PREVIEW_GC_OPTIONS_VERSION,
	                        "tl_preview_gc_options");
}

int tl_preview_gc(tl_buf *removed, tl_ctx *ctx, const tl_preview_gc_options *opts)
{
	tl_preview_gc_options def = TL_PREVIEW_GC_OPTIONS_INIT;
	TL__CHECK_ARG(ctx);
	if (!opts)
		opts = &def;
	TL__CHECK_VERSION(opts, TL_PREVIEW_GC_OPTIONS_VERSION, "tl_preview_gc_options");
	TL__CHECK_ARG(opts->older_than_days >= 0);
	tl_preview_list *l = NULL;
	int rc = tl__preview_list_load(&l, ctx, NULL, false);
	if (rc)
		return rc;
	tl_github *gh = NULL;
	if (opts->check_github && *tl__cfg(ctx, "TOWLION_GITHUB_TOKEN") &&
	    tl_github_new(&gh, ctx, NULL) != TL_OK) {
		tl__log(ctx, TL_LOG_WARN, "not asking GitHub: %s", tl_error_last()->message);
		tl_error_clear();
	}
	int64_t cutoff = (int64_t)time(NULL) - (int64_t)opts->older_than_days * 86400;
	if (removed)
		tl__buf_clear(removed);
	for (size_t i = 0; rc == TL_OK && i < l->n; i++) {
		const tl_preview *p = l->items[i];
		const char *why = NULL;
		if (opts->older_than_days > 0 && p->updated < cutoff)
			why = "not updated for too long";
		else if (gh && *p->repo && pr_closed(ctx, gh, p))
			why = "its pull request is closed";
		if (!why)
			continue;
		rc = tl__step(ctx, "preview.gc", p->app, "%s %s-pr-%u: %s",
		              opts->dry_run ? "would remove" : "removing", p->app, p->pr, why);
		if (rc == TL_OK && !opts->dry_run) {
			tl_preview_options o = TL_PREVIEW_OPTIONS_INIT;
			rc = tl_preview_down(NULL, ctx, p->app, p->pr, &o);
		}
		if (rc == TL_OK && removed)
			rc = tl__buf_printf(removed, "%s-pr-%u\n", p->app, p->pr);
	}
	tl_github_free(gh);
	tl_preview_list_free(l);
	return rc;
}
