/*
 * What the platform remembers of a preview, and the project it runs as.
 */
#include "preview_int.h"
#include "towlion/app.h"
#include "towlion/pg.h"
#include "towlion/validate.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

int tl__preview_state_dir(tl_buf *out, const tl_ctx *ctx, const char *app, uint32_t pr)
{
	tl__buf_clear(out);
	return tl__buf_printf(out, "%s/apps/%s/previews/pr-%u", tl__cfg(ctx, "TOWLION_STATE_DIR"),
	                      app, pr);
}

void tl_preview_free(tl_preview *p)
{
	if (!p)
		return;
	free(p->app);
	free(p->source);
	free(p->commit);
	free(p->release);
	free(p->url);
	free(p->repo);
	free(p->comment_url);
	free(p);
}

static char *field(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return tl__strdup(s ? s : "");
}

int tl__preview_load(tl_preview **out, const tl_ctx *ctx, const char *app, uint32_t pr)
{
	tl_buf dir = TL_BUF_INIT;
	int rc = tl__preview_state_dir(&dir, ctx, app, pr);
	char *path = rc ? NULL : tl__path_join(dir.ptr, "preview.json");
	tl_buf_dispose(&dir);
	if (!path)
		return TL_ENOMEM;
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j) {
		rc = access(path, F_OK) != 0
		         ? tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DEPLOY,
		                         "app %s has no preview for PR %u", app, pr)
		         : tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY, "%s:%d: %s", path,
		                         jerr.line, jerr.text);
		free(path);
		return rc;
	}
	/* Ours, but read strictly: the record is of this PR (an integer, not
	 * one that wraps to it) and its times are whole, non-negative. */
	json_t *jpr = json_object_get(j, "pr"), *jc = json_object_get(j, "created"),
	       *ju = json_object_get(j, "updated");
	if (!json_is_integer(jpr) || json_integer_value(jpr) != (json_int_t)pr ||
	    !json_is_integer(jc) || json_integer_value(jc) < 0 ||
	    (ju && (!json_is_integer(ju) || json_integer_value(ju) < 0))) {
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_DEPLOY,
		                   "%s: \"pr\" is not %u or \"created\"/\"updated\" is not a "
		                   "time; inspect the file (or remove the preview: `towlion preview "
		                   "down %s --pr %u`)",
		                   path, pr, app, pr);
		json_decref(j);
		free(path);
		return rc;
	}
	free(path);
	tl_preview *p = tl__calloc(1, sizeof(*p));
	if (p) {
		p->app = tl__strdup(app);
		p->pr = pr;
		p->source = field(j, "source");
		p->commit = field(j, "commit");
		p->release = field(j, "release");
		p->url = field(j, "url");
		p->repo = field(j, "repo");
		p->comment_url = field(j, "comment_url");
		p->created = (int64_t)json_integer_value(json_object_get(j, "created"));
		p->updated = (int64_t)json_integer_value(json_object_get(j, "updated"));
		p->healthy = -1;
	}
	json_decref(j);
	if (!p || !p->app || !p->source || !p->commit || !p->release || !p->url || !p->repo ||
	    !p->comment_url) {
		tl_preview_free(p);
		return tl__error_oom();
	}
	*out = p;
	return TL_OK;
}

int tl__preview_save(const tl_ctx *ctx, const tl_preview *p)
{
	tl_buf dir = TL_BUF_INIT;
	int rc = tl__preview_state_dir(&dir, ctx, p->app, p->pr);
	json_t *j = json_pack("{s:i, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "schema",
	                      1, "app", p->app, "pr", (json_int_t)p->pr, "source", p->source,
	                      "commit", p->commit, "release", p->release, "url", p->url, "repo",
	                      p->repo, "comment_url", p->comment_url, "created",
	                      (json_int_t)p->created, "updated", (json_int_t)p->updated);
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	char *path = rc ? NULL : tl__path_join(dir.ptr, "preview.json");
	if (rc == TL_OK)
		rc = (text && path) ? tl__mkdir_p(dir.ptr, 0700) : TL_ENOMEM;
	if (rc == TL_OK)
		rc = tl__file_write_atomic(path, text, strlen(text), 0600);
	json_decref(j);
	free(text);
	free(path);
	tl_buf_dispose(&dir);
	return rc;
}

int tl__preview_project(tl__project *p, tl_ctx *ctx, const char *app, uint32_t pr,
                        char **name_out)
{
	memset(p, 0, sizeof(*p));
	int rc = tl_validate_app_name(app);
	if (rc == TL_OK)
		rc = tl_validate_pr(pr);
	if (rc)
		return rc;
	const char *domain = tl__cfg(ctx, "TOWLION_PREVIEW_DOMAIN");
	if (!*domain)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "previews need a domain: set TOWLION_PREVIEW_DOMAIN (or "
		                     "TOWLION_DOMAIN)");
	char *name = tl__sprintf("%s-pr-%u", app, pr);
	tl_buf dir = TL_BUF_INIT, env = TL_BUF_INIT;
	if (!name)
		return TL_ENOMEM;
	p->name = name;
	p->app = app;
	*name_out = name;
	rc = tl__strv_pushf(&p->hosts, "pr-%u.preview.%s.%s", pr, app, domain);
	if (rc == TL_OK)
		rc = tl_validate_domain(p->hosts[0]);
	if (rc == TL_OK)
		rc = tl__preview_state_dir(&dir, ctx, app, pr);
	if (rc == TL_OK)
		rc = tl_preview_env_path(&env, ctx, app, pr);
	if (rc == TL_OK) {
		p->state_dir = tl__buf_detach(&dir);
		p->env_path = tl__buf_detach(&env);
		p->checkout_dir = tl__path_join(tl__cfg(ctx, "TOWLION_APPS_DIR"), name);
		if (!p->state_dir || !p->env_path || !p->checkout_dir)
			rc = TL_ENOMEM;
	}
	/* The app's settings apply to its previews; the app may be gone. */
	tl_app *a = NULL;
	p->drain_ms = 0;
	p->keep_images = 1;
	p->strict = true;
	if (rc == TL_OK && tl_app_open(&a, ctx, app) == TL_OK) {
		p->registry = a; /* the strings below live in it */
		p->web_service = tl_app_web_service(a);
		p->port = tl_app_port(a);
		p->health_path = tl_app_health_path(a);
		p->release_command = tl_app_release_command(a);
		p->drain_ms = tl_app_drain_ms(a) < 1000 ? tl_app_drain_ms(a) : 1000;
	}
	tl_error_clear();
	double cpus = 0;
	int64_t mem = 0;
	if (rc == TL_OK)
		rc = tl__parse_decimal(&cpus, tl__cfg(ctx, "TOWLION_PREVIEW_CPUS"), 0, 1024,
		                       "TOWLION_PREVIEW_CPUS");
	if (rc == TL_OK && (rc = tl__parse_size(&mem, tl__cfg(ctx, "TOWLION_PREVIEW_MEMORY"))))
		tl__error_prefix("TOWLION_PREVIEW_MEMORY");
	if (rc == TL_OK) {
		p->cpus = cpus;
		p->memory = mem;
	}
	tl_buf_dispose(&dir);
	tl_buf_dispose(&env);
	if (rc) {
		free(name);
		*name_out = NULL;
		p->name = NULL;
		tl__project_dispose(p);
	}
	return rc;
}

const char *tl_preview_app(const tl_preview *p) { return p ? p->app : NULL; }
uint32_t tl_preview_pr(const tl_preview *p) { return p ? p->pr : 0; }
const char *tl_preview_source(const tl_preview *p) { return p ? p->source : NULL; }
const char *tl_preview_commit(const tl_preview *p) { return p ? p->commit : NULL; }
const char *tl_preview_release(const tl_preview *p) { return p ? p->release : NULL; }
const char *tl_preview_url(const tl_preview *p) { return p ? p->url : NULL; }
const char *tl_preview_repo(const tl_preview *p) { return p ? p->repo : NULL; }
const char *tl_preview_comment_url(const tl_preview *p) { return p ? p->comment_url : NULL; }
int64_t tl_preview_created(const tl_preview *p) { return p ? p->created : 0; }
int64_t tl_preview_updated(const tl_preview *p) { return p ? p->updated : 0; }
int tl_preview_healthy(const tl_preview *p) { return p ? p->healthy : -1; }
