/* Names of databases, roles and schemas; DATABASE_URLs; where the env
 * files live. Pure functions: no connection. */
#include "pg_internal.h"
#include "core/url.h"
#include "towlion/envfile.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>

char *tl__pg_prefix(const char *app)
{
	char *p = tl__strdup(app);
	for (char *s = p; s && *s; s++)
		if (*s == '-')
			*s = '_';
	return p;
}

/* Fill `out` (if not NULL) with "<prefix><suffix>". */
static int put_name(tl_buf *out, const char *prefix, const char *suffix)
{
	if (!out)
		return TL_OK;
	tl__buf_clear(out);
	return tl__buf_printf(out, "%s%s", prefix, suffix);
}

int tl_pg_app_names(tl_buf *database, tl_buf *role, const char *app)
{
	int rc = tl_validate_app_name(app);
	if (rc)
		return rc;
	char *p = tl__pg_prefix(app);
	if (!p)
		return TL_ENOMEM;
	rc = put_name(database, p, "_db");
	if (rc == TL_OK)
		rc = put_name(role, p, "_user");
	free(p);
	return rc;
}

int tl_pg_preview_names(tl_buf *schema, tl_buf *role, const char *app, uint32_t pr)
{
	int rc = tl_validate_app_name(app);
	if (rc == TL_OK)
		rc = tl_validate_pr((long long)pr);
	if (rc)
		return rc;
	char *p = tl__pg_prefix(app);
	if (!p)
		return TL_ENOMEM;
	char suffix[32];
	snprintf(suffix, sizeof(suffix), "_pr_%u", pr);
	rc = put_name(schema, "", suffix + 1);
	if (rc == TL_OK)
		rc = put_name(role, p, suffix);
	free(p);
	return rc;
}

int tl_pg_url_build(tl_buf *out, const char *user, const char *password,
                    const char *hostport, const char *database)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(user && *user);
	TL__CHECK_ARG(password);
	TL__CHECK_ARG(hostport);
	TL__CHECK_ARG(database && *database);
	if (tl_validate_hostport(hostport) != TL_OK) {
		tl__error_prefix("TOWLION_PG_APP_HOST");
		return TL_EINVALID;
	}
	tl_buf b = TL_BUF_INIT;
	int rc = tl__url_put_userinfo(&b, "postgresql", user, password);
	if (rc == TL_OK)
		rc = tl__buf_printf(&b, "%s/", hostport);
	if (rc == TL_OK)
		rc = tl__url_encode(&b, database);
	if (rc) {
		tl__buf_dispose_secret(&b);
		return rc;
	}
	tl__buf_dispose_secret(out);
	*out = b;
	return TL_OK;
}

int tl_pg_database_url(tl_buf *out, const tl_ctx *ctx, const char *app, uint32_t pr)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	tl_buf path = TL_BUF_INIT;
	int rc = pr ? tl_preview_env_path(&path, ctx, app, pr) : tl_app_env_path(&path, ctx, app);
	tl_envfile *env = NULL;
	if (rc == TL_OK)
		rc = tl_envfile_open(&env, path.ptr, TL_ENVFILE_CREATE);
	const char *url = rc == TL_OK ? tl_envfile_get(env, "DATABASE_URL") : NULL;
	if (rc == TL_OK && !url)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_PG,
		                   "%s has no DATABASE_URL: provision it first (towlion db %s %s%s)",
		                   path.ptr, pr ? "schema create" : "create", app,
		                   pr ? " --pr N" : "");
	if (rc == TL_OK) {
		tl_buf b = TL_BUF_INIT;
		if ((rc = tl__buf_puts(&b, url)) == TL_OK) {
			tl__buf_dispose_secret(out);
			*out = b;
		}
	}
	tl_envfile_free(env);
	tl_buf_dispose(&path);
	return rc;
}

/* ---- reports ---- */

tl_pg_report *tl__pg_report_new(const char *app, const char *database, const char *role,
                                const char *schema, const char *env_path, int dry_run)
{
	tl_pg_report *r = tl__calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->app = tl__strdup(app);
	r->database = tl__strdup(database);
	r->role = tl__strdup(role);
	r->schema = schema ? tl__strdup(schema) : NULL;
	r->env_path = tl__strdup(env_path);
	r->dry_run = dry_run;
	if (!r->app || !r->database || !r->role || (schema && !r->schema) || !r->env_path) {
		tl_pg_report_free(r);
		tl__error_oom();
		return NULL;
	}
	return r;
}

int tl__pg_report_add(tl_pg_report *r, tl_ctx *ctx, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	int rc = tl__strv_push(&r->actions, line);
	if (rc)
		return rc;
	r->n++;
	return tl__step(ctx, "pg", r->app, "%s%s", r->dry_run ? "would " : "", line);
}

const char *tl_pg_report_app(const tl_pg_report *r) { return r ? r->app : NULL; }
const char *tl_pg_report_database(const tl_pg_report *r) { return r ? r->database : NULL; }
const char *tl_pg_report_role(const tl_pg_report *r) { return r ? r->role : NULL; }
const char *tl_pg_report_schema(const tl_pg_report *r) { return r ? r->schema : NULL; }
const char *tl_pg_report_env_path(const tl_pg_report *r) { return r ? r->env_path : NULL; }
int tl_pg_report_dry_run(const tl_pg_report *r) { return r ? r->dry_run : 0; }
size_t tl_pg_report_action_count(const tl_pg_report *r) { return r ? r->n : 0; }

const char *tl_pg_report_action(const tl_pg_report *r, size_t i)
{
	return r && i < r->n ? r->actions[i] : NULL;
}

void tl_pg_report_free(tl_pg_report *r)
{
	if (!r)
		return;
	tl__strv_free(r->actions);
	free(r->app);
	free(r->database);
	free(r->role);
	free(r->schema);
	free(r->env_path);
	free(r);
}

int tl_pg_options_init(tl_pg_options *opts, unsigned int version)
{
	tl_pg_options def = TL_PG_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_PG_OPTIONS_VERSION, "tl_pg_options");
}
