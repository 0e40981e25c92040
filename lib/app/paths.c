/*
 * Where an app's files live in the state dir: <TOWLION_STATE_DIR>/apps/<app>/
 * holds its registry entry, env file (app.env), previews' env files and
 * release history. Every module asks here rather than spelling the path.
 */
#include "core/core.h"
#include "towlion/app.h"
#include "towlion/validate.h"

#include <stdio.h>
#include <stdlib.h>

int tl__app_path(char **out, const tl_ctx *ctx, const char *app, const char *rest)
{
	const char *state = tl__cfg(ctx, "TOWLION_STATE_DIR");
	if (!*state)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG, "TOWLION_STATE_DIR is empty");
	char *p = rest ? tl__sprintf("%s/apps/%s/%s", state, app, rest)
	               : tl__sprintf("%s/apps/%s", state, app);
	if (!p)
		return TL_ENOMEM;
	*out = p;
	return TL_OK;
}

/* The same into a caller's buffer, replaced only on success. */
static int app_path_buf(tl_buf *out, const tl_ctx *ctx, const char *app, const char *rest)
{
	char *p = NULL;
	int rc = tl__app_path(&p, ctx, app, rest);
	if (rc)
		return rc;
	tl_buf b = TL_BUF_INIT;
	rc = tl__buf_puts(&b, p);
	free(p);
	if (rc) {
		tl_buf_dispose(&b);
		return rc;
	}
	tl_buf_dispose(out);
	*out = b;
	return TL_OK;
}

int tl_app_env_path(tl_buf *out, const tl_ctx *ctx, const char *app)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	int rc = tl_validate_app_name(app);
	return rc ? rc : app_path_buf(out, ctx, app, "app.env");
}

int tl_preview_env_path(tl_buf *out, const tl_ctx *ctx, const char *app, uint32_t pr)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	int rc = tl_validate_app_name(app);
	if (rc == TL_OK)
		rc = tl_validate_pr((long long)pr);
	if (rc)
		return rc;
	char rest[48];
	snprintf(rest, sizeof(rest), "previews/pr-%u.env", pr);
	return app_path_buf(out, ctx, app, rest);
}
