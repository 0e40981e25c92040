/*
 * libtowlion - an app's own configuration and secrets (`towlion env`).
 *
 * An app's settings are KEY=VALUE pairs its containers get in their
 * environment: EMAIL_API_KEY, SENTRY_DSN and the like. They are stored per
 * app in its state directory (`<TOWLION_STATE_DIR>/apps/<app>/settings.env`,
 * mode 0600, written atomically: a process killed halfway leaves the old
 * file or the new one), changed under the app's lock (the one deploys
 * take), and only for a registered app.
 *
 * A change takes effect on the next deploy, or at once through
 * tl_restart() (deploy.h), which runs the active release again with the
 * values of now through the usual health-gated switch.
 *
 * Precedence in a container's environment, strongest first:
 *   1. the platform's keys (DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX,
 *      S3_*, APP_DOMAIN);
 *   2. these settings;
 *   3. the compose file's `environment:` and `env_file:`.
 * A preview gets the app's settings except those set production-only.
 *
 * Keys follow the rules for environment variable names that shells and
 * Docker accept: [A-Za-z_][A-Za-z0-9_]*, at most TL_APPENV_KEY_MAX bytes.
 * The platform's keys, and every key under the prefixes the platform
 * owns (REDIS_, S3_, TOWLION_), cannot be set or unset. Values are any
 * bytes but NUL (newlines, quotes, `$` and UTF-8 included), at most
 * TL_APPENV_VALUE_MAX bytes.
 *
 * Every call checks all its pairs before it changes anything: one bad key
 * and nothing is written. Values never reach events, logs or error
 * messages; errors name keys only.
 */
#ifndef TOWLION_APPENV_H
#define TOWLION_APPENV_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

#define TL_APPENV_KEY_MAX 255
#define TL_APPENV_VALUE_MAX 65536
#define TL_APPENV_COUNT_MAX 1000

/** Flags of tl_appenv_options. */
#define TL_APPENV_PRODUCTION_ONLY (1u << 0) /* set: previews do not get these keys */
#define TL_APPENV_DRY_RUN (1u << 1)         /* check everything, write nothing */

#define TL_APPENV_OPTIONS_VERSION 1
typedef struct {
	unsigned int version;
	unsigned int flags;   /* TL_APPENV_* */
	long lock_timeout_ms; /* waiting for the app's lock; 0: 60 s */
} tl_appenv_options;
#define TL_APPENV_OPTIONS_INIT {TL_APPENV_OPTIONS_VERSION, 0, 0}
TL_EXTERN(int) tl_appenv_options_init(tl_appenv_options *opts, unsigned int version);

/**
 * Check `key` as a settings key: TL_EINVALID with the rule it breaks (or
 * that the platform owns it) in the message, TL_OK otherwise.
 */
TL_EXTERN(int) tl_appenv_check_key(const char *key);

/**
 * Set keys[i] = values[i] for the `n` pairs of `app` (a key given twice:
 * the last one wins). With TL_APPENV_PRODUCTION_ONLY the keys are marked
 * production-only; without it, they are not (setting a key again without
 * the flag makes previews get it). `opts` may be NULL. TL_ENOTFOUND: no
 * such app; TL_ELOCKED: a deploy holds the app.
 */
TL_EXTERN(int) tl_appenv_set(tl_ctx *ctx, const char *app, const char *const *keys,
                             const char *const *values, size_t n,
                             const tl_appenv_options *opts);

/**
 * Remove the `n` keys of `app`. A key that is not set is fine (an info
 * event says so), so a rerun of a script succeeds. `opts` may be NULL.
 */
TL_EXTERN(int) tl_appenv_unset(tl_ctx *ctx, const char *app, const char *const *keys,
                               size_t n, const tl_appenv_options *opts);

/** An app's settings as read at one moment. */
typedef struct tl_appenv tl_appenv;

/** Read the settings of `app` (none yet: an empty list). */
TL_EXTERN(int) tl_appenv_load(tl_appenv **out, tl_ctx *ctx, const char *app);
TL_EXTERN(void) tl_appenv_free(tl_appenv *env);
/** Number of keys, in the order they were first set. */
TL_EXTERN(size_t) tl_appenv_count(const tl_appenv *env);
TL_EXTERN(const char *) tl_appenv_key_at(const tl_appenv *env, size_t i);
/** The value of the i-th key (a secret: print it only when asked to). */
TL_EXTERN(const char *) tl_appenv_value_at(const tl_appenv *env, size_t i);
/** 1 when the i-th key is production-only, else 0. */
TL_EXTERN(int) tl_appenv_production_only_at(const tl_appenv *env, size_t i);

/**
 * Render settings as .env text (KEY=VALUE lines, quoted as needed) that
 * `towlion env set --from-file` reads back unchanged.
 */
TL_EXTERN(int) tl_appenv_render(tl_buf *out, const tl_appenv *env);

TL_END_DECL

#endif
