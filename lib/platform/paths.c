/* Options and the platform's paths, rebased under --root for a trial run. */
#include "platform_int.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>

int tl_platform_options_init(tl_platform_options *opts, unsigned int version)
{
	tl_platform_options def = TL_PLATFORM_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_PLATFORM_OPTIONS_VERSION, "tl_platform_options");
}

/* `path` under `root` ("/data" under "/tmp/x" is "/tmp/x/data"). */
static char *rebase(const char *root, const char *path)
{
	if (!*root)
		return tl__strdup(path);
	while (*path == '/')
		path++;
	return tl__path_join(root, path);
}

int tl__plat_open(tl__plat *p, tl_ctx *ctx, const tl_platform_options *opts)
{
	memset(p, 0, sizeof(*p));
	TL__CHECK_ARG(ctx);
	TL__CHECK_VERSION(opts, TL_PLATFORM_OPTIONS_VERSION, "tl_platform_options");
	tl_platform_options o = TL_PLATFORM_OPTIONS_INIT;
	if (opts)
		o = *opts;
	p->flags = o.flags;
	p->root = o.root ? o.root : "";
	p->standalone_app = o.standalone_app;
	p->images = o.images;
	p->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 120000;
	if (*p->root && p->root[0] != '/')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "the root \"%s\" is not an absolute path", p->root);
	if (p->standalone_app && tl_validate_app_name(p->standalone_app))
		return tl_error_last()->code;
	int rc = tl__plat_images_check(p->images);
	if (rc)
		return rc;
	const char *keys[] = {"TOWLION_DATA_DIR", "TOWLION_APPS_DIR", "TOWLION_STATE_DIR",
	                      "TOWLION_CADDY_DIR", "TOWLION_BACKUP_DIR"};
	char **dst[] = {&p->data, &p->apps, &p->state, &p->caddy, &p->backup};
	for (size_t i = 0; i < TL__ARRAY_SIZE(keys); i++) {
		const char *v = tl__cfg(ctx, keys[i]);
		if (v[0] != '/') {
			tl__plat_dispose(p);
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                     "%s must be an absolute path, not \"%s\"", keys[i], v);
		}
		if (!(*dst[i] = rebase(p->root, v))) {
			tl__plat_dispose(p);
			return TL_ENOMEM;
		}
	}
	if (!(p->env_file = tl__path_join(p->state, "platform.env"))) {
		tl__plat_dispose(p);
		return TL_ENOMEM;
	}
	return TL_OK;
}

void tl__plat_dispose(tl__plat *p)
{
	free(p->data);
	free(p->apps);
	free(p->state);
	free(p->caddy);
	free(p->backup);
	free(p->env_file);
	memset(p, 0, sizeof(*p));
}

char *tl__plat_data(const tl__plat *p, const char *rel)
{
	return rel[0] == '/' ? tl__strdup(rel) : tl__path_join(p->data, rel);
}
