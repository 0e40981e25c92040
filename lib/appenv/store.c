/*
 * An app's settings on disk: one env file (the .env syntax, read and
 * written by towlion/envfile.h) in the app's state directory, mode 0600,
 * replaced atomically. The production-only keys are listed, space
 * separated, under TL__APPENV_PROD_KEY in the same file, so a change of
 * values and flags is one rename: a kill leaves the old file or the new.
 *
 * Writers hold the app's lock (locks/app-<app>, the one deploys and
 * destroy take); readers (a deploy, a preview) read whichever file is
 * there, whole.
 */
#include "appenv_int.h"
#include "towlion/app.h"
#include "towlion/envfile.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>

#define APPENV_LOCK_TIMEOUT_DEFAULT_MS 60000

struct tl_appenv {
	char **keys;
	char **values;
	bool *prod;
	size_t n;
};

int tl_appenv_options_init(tl_appenv_options *opts, unsigned int version)
{
	tl_appenv_options def = TL_APPENV_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_APPENV_OPTIONS_VERSION, "tl_appenv_options");
}

/* The settings file of a registered app. */
static int settings_path(char **out, tl_ctx *ctx, const char *app)
{
	tl_app *a = NULL;
	int rc = tl_validate_app_name(app);
	if (rc == TL_OK)
		rc = tl_app_open(&a, ctx, app);
	if (rc == TL_OK && !(*out = tl__path_join(tl_app_state_dir(a), TL__APPENV_FILE)))
		rc = TL_ENOMEM;
	tl_app_free(a);
	return rc;
}

/* Is `key` in the space-separated list `list`? */
static bool listed(const char *list, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = list ? list : ""; *p;) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, key, n))
			return true;
		p += len + (end ? 1 : 0);
	}
	return false;
}

/* The settings in the env file `env`, meta keys left out. */
static int from_envfile(tl_appenv **out, const tl_envfile *env)
{
	tl_appenv *s = tl__calloc(1, sizeof(*s));
	size_t cap = tl_envfile_count(env) + 1;
	if (!s || !(s->keys = tl__calloc(cap, sizeof(char *))) ||
	    !(s->values = tl__calloc(cap, sizeof(char *))) || !(s->prod = tl__calloc(cap, 1))) {
		tl_appenv_free(s);
		return TL_ENOMEM;
	}
	const char *prod = tl_envfile_get(env, TL__APPENV_PROD_KEY);
	for (size_t i = 0; i < tl_envfile_count(env); i++) {
		const char *k = NULL, *v = NULL;
		tl_envfile_at(env, i, &k, &v);
		if (!k || tl__str_startswith(k, "TOWLION_"))
			continue;
		s->keys[s->n] = tl__strdup(k);
		s->values[s->n] = tl__strdup(v ? v : "");
		s->prod[s->n] = listed(prod, k);
		if (!s->keys[s->n] || !s->values[s->n]) {
			s->n++;
			tl_appenv_free(s);
			return TL_ENOMEM;
		}
		s->n++;
	}
	*out = s;
	return TL_OK;
}

static int open_file(tl_envfile **env, const char *path)
{
	int rc = tl_envfile_open(env, path, TL_ENVFILE_CREATE);
	if (rc && rc != TL_ENOMEM)
		tl__error_prefix("the settings file is damaged (fix or remove it)");
	return rc;
}

int tl_appenv_load(tl_appenv **out, tl_ctx *ctx, const char *app)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(ctx);
	char *path = NULL;
	int rc = settings_path(&path, ctx, app);
	tl_envfile *env = NULL;
	if (rc == TL_OK)
		rc = open_file(&env, path);
	if (rc == TL_OK)
		rc = from_envfile(out, env);
	tl_envfile_free(env);
	free(path);
	return rc;
}

void tl_appenv_free(tl_appenv *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->keys[i]);
		tl__free_secret(s->values[i]);
	}
	free(s->keys);
	free(s->values);
	free(s->prod);
	free(s);
}

size_t tl_appenv_count(const tl_appenv *s) { return s ? s->n : 0; }

const char *tl_appenv_key_at(const tl_appenv *s, size_t i)
{
	return s && i < s->n ? s->keys[i] : NULL;
}

const char *tl_appenv_value_at(const tl_appenv *s, size_t i)
{
	return s && i < s->n ? s->values[i] : NULL;
}

int tl_appenv_production_only_at(const tl_appenv *s, size_t i)
{
	return s && i < s->n && s->prod[i];
}

int tl_appenv_render(tl_buf *out, const tl_appenv *s)
{
	TL__CHECK_ARG(out);
	TL__CHECK_ARG(s);
	tl_envfile *env = NULL;
	int rc = tl_envfile_parse(&env, "", 0, "settings");
	for (size_t i = 0; rc == TL_OK && i < s->n; i++)
		rc = tl_envfile_set(env, s->keys[i], s->values[i]);
	tl_buf text = TL_BUF_INIT;
	if (rc == TL_OK)
		rc = tl_envfile_render(&text, env);
	if (rc == TL_OK) {
		tl__buf_dispose_secret(out);
		*out = text;
	} else {
		tl__buf_dispose_secret(&text);
	}
	tl_envfile_free(env);
	return rc;
}

/* ---- changing the file ------------------------------------------------ */

/* The production-only list after the change, in the file's key order. */
static int update_prod_list(tl_envfile *env, const char *const *keys, size_t n, int mark)
{
	const char *old = tl_envfile_get(env, TL__APPENV_PROD_KEY);
	tl_buf list = TL_BUF_INIT;
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < tl_envfile_count(env); i++) {
		const char *k = NULL;
		tl_envfile_at(env, i, &k, NULL);
		if (!k || tl__str_startswith(k, "TOWLION_"))
			continue;
		bool changed = false;
		for (size_t j = 0; j < n && !changed; j++)
			changed = !strcmp(keys[j], k);
		bool prod = changed ? mark > 0 : listed(old, k);
		if (prod)
			rc = tl__buf_printf(&list, "%s%s", list.size ? " " : "", k);
	}
	if (rc == TL_OK && list.size)
		rc = tl_envfile_set(env, TL__APPENV_PROD_KEY, list.ptr);
	else if (rc == TL_OK && old)
		rc = tl_envfile_unset(env, TL__APPENV_PROD_KEY);
	tl_buf_dispose(&list);
	return rc;
}

typedef int (*apply_fn)(tl_envfile *env, const char *const *keys, const char *const *values,
                        size_t n, void *payload);

/*
 * Read, change and save the settings of `app` under its lock; `apply`
 * changes the file in memory (it may refuse: nothing is written). The
 * keys were checked by the caller, before the lock.
 */
static int change(tl_ctx *ctx, const char *app, const tl_appenv_options *o, apply_fn apply,
                  const char *const *keys, const char *const *values, size_t n, void *payload)
{
	char *path = NULL;
	int rc = settings_path(&path, ctx, app);
	long lt = o->lock_timeout_ms ? o->lock_timeout_ms : APPENV_LOCK_TIMEOUT_DEFAULT_MS;
	tl__lock *lock = NULL;
	bool dry = (o->flags & TL_APPENV_DRY_RUN) != 0;
	/* A dry run checks without the lock: taking it writes the holder
	 * into the lock file, and a dry run writes nothing. */
	if (rc == TL_OK && !dry)
		rc = tl__lock_project(&lock, ctx, app, lt < 0 ? 0 : (int)lt);
	tl_envfile *env = NULL;
	if (rc == TL_OK)
		rc = open_file(&env, path);
	if (rc == TL_OK)
		rc = apply(env, keys, values, n, payload);
	size_t count = 0;
	for (size_t i = 0; env && i < tl_envfile_count(env); i++) {
		const char *k = NULL;
		tl_envfile_at(env, i, &k, NULL);
		count += k && !tl__str_startswith(k, "TOWLION_");
	}
	if (rc == TL_OK && count > TL_APPENV_COUNT_MAX)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                   "%s would have %zu settings; an app has at most %d", app, count,
		                   TL_APPENV_COUNT_MAX);
	if (rc == TL_OK && !dry)
		rc = tl_envfile_save(env, path, 0600);
	tl_envfile_free(env);
	tl__lock_release(lock);
	free(path);
	return rc;
}

static int apply_set(tl_envfile *env, const char *const *keys, const char *const *values,
                     size_t n, void *payload)
{
	const tl_appenv_options *o = payload;
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < n; i++)
		rc = tl_envfile_set(env, keys[i], values[i]);
	if (rc == TL_OK)
		rc = update_prod_list(env, keys, n, (o->flags & TL_APPENV_PRODUCTION_ONLY) ? 1 : -1);
	return rc;
}

static int apply_unset(tl_envfile *env, const char *const *keys, const char *const *values,
                       size_t n, void *payload)
{
	tl_ctx *ctx = payload;
	(void)values;
	int rc = TL_OK;
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		if (tl_envfile_get(env, keys[i]))
			rc = tl_envfile_unset(env, keys[i]);
		else
			rc = tl__log(ctx, TL_LOG_INFO, "%s was not set", keys[i]);
	}
	if (rc == TL_OK)
		rc = update_prod_list(env, keys, n, 0);
	return rc;
}

static int check_keys(const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!keys[i])
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "key %zu is NULL", i + 1);
		int rc = tl_appenv_check_key(keys[i]);
		if (rc) {
			if (n > 1)
				tl__error_prefix("key %zu of %zu", i + 1, n);
			return rc;
		}
	}
	return TL_OK;
}

int tl_appenv_set(tl_ctx *ctx, const char *app, const char *const *keys,
                  const char *const *values, size_t n, const tl_appenv_options *opts)
{
	tl_appenv_options def = TL_APPENV_OPTIONS_INIT;
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(app);
	TL__CHECK_ARG(n == 0 || (keys && values));
	if (!opts)
		opts = &def;
	TL__CHECK_VERSION(opts, TL_APPENV_OPTIONS_VERSION, "tl_appenv_options");
	if (n == 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "no KEY=VALUE to set");
	int rc = check_keys(keys, n);
	for (size_t i = 0; rc == TL_OK && i < n; i++) {
		size_t len = values[i] ? strlen(values[i]) : 0;
		if (!values[i])
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "%s has no value", keys[i]);
		else if (len > TL_APPENV_VALUE_MAX)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                   "the value of %s is %zu bytes; a value is at most %d "
			                   "(put larger data in the app's bucket)",
			                   keys[i], len, TL_APPENV_VALUE_MAX);
	}
	if (rc == TL_OK)
		rc = change(ctx, app, opts, apply_set, keys, values, n, (void *)opts);
	/* Written: a cancel from the callback changes nothing now. */
	if (rc == TL_OK && !(opts->flags & TL_APPENV_DRY_RUN))
		(void)tl__step(ctx, "env.set", app, "%s: set %zu key(s)%s; they take effect on the next "
		              "deploy or restart", app, n,
		              (opts->flags & TL_APPENV_PRODUCTION_ONLY) ? " (production-only)" : "");
	return rc;
}

int tl_appenv_unset(tl_ctx *ctx, const char *app, const char *const *keys, size_t n,
                    const tl_appenv_options *opts)
{
	tl_appenv_options def = TL_APPENV_OPTIONS_INIT;
	TL__CHECK_ARG(ctx);
	TL__CHECK_ARG(app);
	TL__CHECK_ARG(n == 0 || keys);
	if (!opts)
		opts = &def;
	TL__CHECK_VERSION(opts, TL_APPENV_OPTIONS_VERSION, "tl_appenv_options");
	if (n == 0)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "no KEY to unset");
	int rc = check_keys(keys, n);
	if (rc == TL_OK)
		rc = change(ctx, app, opts, apply_unset, keys, NULL, n, ctx);
	if (rc == TL_OK && !(opts->flags & TL_APPENV_DRY_RUN))
		(void)tl__step(ctx, "env.unset", app, "%s: unset %zu key(s); this takes effect on the "
		              "next deploy or restart", app, n);
	return rc;
}
