/* Keys of an app's env file, read-modify-write under a lock. */
#include "appenv.h"
#include "towlion/envfile.h"

#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#define APPENV_LOCK_TIMEOUT_MS 30000

static int lock_for(tl__lock **lock, tl_ctx *ctx, const char *path, bool create_dir)
{
	char *copy = tl__strdup(path);
	char *copy2 = tl__strdup(path);
	int rc = copy && copy2 ? TL_OK : TL_ENOMEM;
	const char *dir = copy ? dirname(copy) : NULL;
	const char *base = copy2 ? basename(copy2) : NULL;
	if (!rc && create_dir)
		rc = tl__mkdir_p(dir, 0700);
	if (!rc)
		rc = tl__lock_acquire(lock, ctx, dir, base, APPENV_LOCK_TIMEOUT_MS);
	free(copy);
	free(copy2);
	return rc;
}

int tl__appenv_set(tl_ctx *ctx, const char *path, const char *const *keys,
                   const char *const *values, size_t n)
{
	TL__CHECK_ARG(path && keys && values);
	tl__lock *lock = NULL;
	int rc = lock_for(&lock, ctx, path, true);
	if (rc)
		return rc;
	tl_envfile *env = NULL;
	rc = tl_envfile_open(&env, path, TL_ENVFILE_CREATE);
	bool changed = false;
	for (size_t i = 0; !rc && i < n; i++) {
		const char *old = tl_envfile_get(env, keys[i]);
		if (old && strcmp(old, values[i]) == 0)
			continue;
		rc = tl_envfile_set(env, keys[i], values[i]);
		changed = true;
	}
	if (!rc && changed)
		rc = tl_envfile_save(env, path, 0600);
	tl_envfile_free(env);
	tl__lock_release(lock);
	return rc;
}

int tl__appenv_unset(tl_ctx *ctx, const char *path, const char *const *keys, size_t n)
{
	TL__CHECK_ARG(path && keys);
	tl_envfile *env = NULL;
	int rc = tl_envfile_open(&env, path, 0);
	if (rc == TL_ENOTFOUND) {
		tl_error_clear();
		return TL_OK;
	}
	tl_envfile_free(env);
	if (rc)
		return rc;
	tl__lock *lock = NULL;
	if ((rc = lock_for(&lock, ctx, path, false)))
		return rc;
	rc = tl_envfile_open(&env, path, TL_ENVFILE_CREATE);
	bool changed = false;
	for (size_t i = 0; !rc && i < n; i++) {
		if (!tl_envfile_get(env, keys[i]))
			continue;
		rc = tl_envfile_unset(env, keys[i]);
		changed = true;
	}
	if (!rc && changed)
		rc = tl_envfile_save(env, path, 0600);
	tl_envfile_free(env);
	tl__lock_release(lock);
	return rc;
}

int tl__appenv_get(tl_buf *out, const char *path, const char *key)
{
	TL__CHECK_ARG(out && path && key);
	tl_envfile *env = NULL;
	int rc = tl_envfile_open(&env, path, 0);
	if (rc)
		return rc;
	const char *v = tl_envfile_get(env, key);
	if (!v)
		rc = tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_CONFIG, "%s has no %s", path, key);
	else
		rc = tl__buf_set(out, v, strlen(v));
	tl_envfile_free(env);
	return rc;
}
