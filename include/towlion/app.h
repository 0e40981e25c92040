/*
 * libtowlion - the app registry.
 *
 * An app is a name (a DNS label, see tl_validate_app_name), the domains it
 * answers on, and optional settings that override what its compose file's
 * `x-towlion:` block says. The registry is one JSON file per app,
 * <TOWLION_STATE_DIR>/apps/<app>/app.json, written atomically; the same
 * directory holds the app's env file and release history.
 */
#ifndef TOWLION_APP_H
#define TOWLION_APP_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

typedef struct tl_app tl_app;
typedef struct tl_app_list tl_app_list;

/** Default number of release images kept per app (1 to TL_APP_KEEP_IMAGES_MAX). */
#define TL_APP_KEEP_IMAGES_DEFAULT 5
#define TL_APP_KEEP_IMAGES_MAX 100
/** Default time old containers keep serving in-flight requests, in ms
 *  (0 to TL_APP_DRAIN_MS_MAX, 10 minutes). */
#define TL_APP_DRAIN_MS_DEFAULT 2000
#define TL_APP_DRAIN_MS_MAX 600000

typedef struct {
	unsigned int version;        /* TL_APP_OPTIONS_VERSION */
	const char *const *domains;  /* NULL-terminated; NULL or empty:
	                                "<app>.<TOWLION_DOMAIN>" */
	const char *web_service;     /* NULL: x-towlion, else "app" */
	int port;                    /* 0: x-towlion, else 8000 */
	const char *health_path;     /* NULL: x-towlion, else "/health" */
	const char *release_command; /* NULL: x-towlion, else none */
	int drain_ms;                /* < 0: TL_APP_DRAIN_MS_DEFAULT */
	int keep_images;             /* 0: TL_APP_KEEP_IMAGES_DEFAULT */
} tl_app_options;

#define TL_APP_OPTIONS_VERSION 1
#define TL_APP_OPTIONS_INIT {TL_APP_OPTIONS_VERSION, NULL, NULL, 0, NULL, NULL, -1, 0}

TL_EXTERN(int) tl_app_options_init(tl_app_options *opts, unsigned int version);

/**
 * Register a new app. The name and every domain are validated first.
 * TL_EEXISTS when the app exists; TL_ECONFLICT naming the other app when
 * a domain belongs to it; TL_EINVALID without domains and without
 * TOWLION_DOMAIN. `out` may be NULL.
 */
TL_EXTERN(int) tl_app_create(tl_app **out, tl_ctx *ctx, const char *name,
                             const tl_app_options *opts);

/** Read an app from the registry; TL_ENOTFOUND when it does not exist. */
TL_EXTERN(int) tl_app_open(tl_app **out, tl_ctx *ctx, const char *name);

/** Every registered app, sorted by name. */
TL_EXTERN(int) tl_app_list_load(tl_app_list **out, tl_ctx *ctx);
TL_EXTERN(size_t) tl_app_list_count(const tl_app_list *list);
/** The i-th app (owned by the list), NULL past the end. */
TL_EXTERN(const tl_app *) tl_app_list_at(const tl_app_list *list, size_t i);
TL_EXTERN(void) tl_app_list_free(tl_app_list *list);

TL_EXTERN(void) tl_app_free(tl_app *app);

TL_EXTERN(const char *) tl_app_name(const tl_app *app);
TL_EXTERN(size_t) tl_app_domain_count(const tl_app *app);
TL_EXTERN(const char *) tl_app_domain_at(const tl_app *app, size_t i);
/** Settings as registered; NULL / 0 when left to x-towlion or defaults. */
TL_EXTERN(const char *) tl_app_web_service(const tl_app *app);
TL_EXTERN(int) tl_app_port(const tl_app *app);
TL_EXTERN(const char *) tl_app_health_path(const tl_app *app);
TL_EXTERN(const char *) tl_app_release_command(const tl_app *app);
TL_EXTERN(int) tl_app_drain_ms(const tl_app *app);
TL_EXTERN(int) tl_app_keep_images(const tl_app *app);
/** Creation time, Unix seconds. */
TL_EXTERN(int64_t) tl_app_created(const tl_app *app);
/** The app's directory in the state dir (registry, env file, history). */
TL_EXTERN(const char *) tl_app_state_dir(const tl_app *app);

/** <TOWLION_STATE_DIR>/apps/<app>/app.env: the app's env file (DATABASE_URL,
 * REDIS_URL, S3 keys and the user's settings). Valid for any valid name,
 * registered or not. */
TL_EXTERN(int) tl_app_env_path(tl_buf *out, const tl_ctx *ctx, const char *app);

/** <TOWLION_STATE_DIR>/apps/<app>/previews/pr-<N>.env */
TL_EXTERN(int) tl_preview_env_path(tl_buf *out, const tl_ctx *ctx, const char *app,
                                   uint32_t pr);

/** Remove the app's registry entry and history (not its env file). The
 * deploy module's tl_app_destroy() is what users call: it removes the
 * containers, images and route first. */
TL_EXTERN(int) tl_app_unregister(tl_ctx *ctx, const char *name);

TL_END_DECL

#endif
