/*
 * libtowlion - tenancy in the shared Redis (hiredis).
 *
 * Every app gets an ACL user named like the app with a random 32-character
 * password, allowed only keys and pub/sub channels under its prefix
 * "<app>:" (Redis 7 also checks the commands a script runs), and every
 * command except those that see or change the whole server or other
 * tenants: the @dangerous and @admin ones (FLUSHALL, FLUSHDB, KEYS, CONFIG,
 * DEBUG, MONITOR, INFO, SWAPDB, CLIENT LIST|KILL, ACL ...), the
 * keyspace-wide SCAN, RANDOMKEY and DBSIZE, SELECT of a database other
 * than 0 and MOVE, PUBSUB, CLIENT TRACKING, scripting except EVAL/EVALSHA
 * (and _RO), SCRIPT LOAD|EXISTS (no FUNCTION, FCALL, SCRIPT FLUSH|KILL),
 * MEMORY except USAGE, WAIT/WAITAOF and replication:
 *
 *   ACL SETUSER <app> reset on ><password> ~<app>:* resetchannels &<app>:*
 *       +@all -@dangerous -@admin ... (lib/redis/acl.c)
 *
 * App names that map onto a user Redis or the platform owns are refused
 * with TL_EINVALID: "default", and the admin user of TOWLION_REDIS_URL.
 * A user that exists and is not an app's (keys not under its prefix, and
 * its password not in the app's env file) is never taken over or deleted:
 * TL_ECONFLICT.
 *
 * A preview (pull request N) gets the user "<app>-pr-N" with the prefix
 * "<app>-pr-N:". The app's env file (see tl_app_env_path() and
 * tl_preview_env_path() in pg.h; 0600, written atomically, other keys
 * kept) gets
 *
 *   REDIS_URL=redis://<user>:<password>@<TOWLION_REDIS_APP_HOST>/0
 *   REDIS_KEY_PREFIX=<prefix>      (Celery's global_keyprefix)
 *
 * Creating is idempotent: a second create keeps the password that is in
 * the env file and changes nothing when the user's rules are already
 * right. When the user exists but the env file lost its password, create
 * fails with TL_ECONFLICT; TL_REDIS_ROTATE then sets a new one.
 *
 * Dropping deletes the user (Redis disconnects its clients) and removes
 * the two keys from the env file; the data stays unless TL_REDIS_PURGE is
 * given, which also deletes every key under the prefix (SCAN + UNLINK).
 *
 * Create and drop of one app (and its previews) are serialised across
 * processes by a lock file in the app's state directory. ACL changes are
 * saved with ACL SAVE when the server keeps its users in an aclfile (the
 * platform's redis.conf has one); a server without one keeps them until
 * it restarts (a warning event says so).
 *
 * The admin connection (TOWLION_REDIS_URL, redis://[user:password@]host
 * [:port][/db]) needs the ACL and @dangerous commands (the default user or
 * an admin user). Redis 6 or later; the rules above are tested on Redis 7.
 */
#ifndef TOWLION_REDIS_H
#define TOWLION_REDIS_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

/** An admin connection to the shared Redis. */
typedef struct tl_redis tl_redis;

/**
 * Connect with TOWLION_REDIS_URL and authenticate. TL_EAUTH (upstream
 * "WRONGPASS") when the credentials are refused, TL_EUNAVAILABLE when the
 * server cannot be reached, TL_EUNSUPPORTED for rediss:// or a Redis
 * older than 6. `ctx` must outlive the handle.
 */
TL_EXTERN(int) tl_redis_connect(tl_redis **out, tl_ctx *ctx);

/** Close the connection. NULL is fine. */
TL_EXTERN(void) tl_redis_free(tl_redis *r);

/** The server's version ("7.0.15"), "" for NULL. */
TL_EXTERN(const char *) tl_redis_server_version(const tl_redis *r);

/* ---- names (pure) ---------------------------------------------------- */

/**
 * The ACL user and key prefix of app `app` (pr == 0) or of its preview
 * `pr`: "shop", "shop:" / "shop-pr-7", "shop-pr-7:". Either out may be
 * NULL. TL_EINVALID for a bad app name or PR number.
 */
TL_EXTERN(int) tl_redis_names(tl_buf *user, tl_buf *prefix, const char *app, uint32_t pr);

/**
 * redis://user:password@hostport/db with user and password
 * percent-encoded. `hostport` must pass tl_validate_hostport(); db 0..15.
 */
TL_EXTERN(int) tl_redis_url_build(tl_buf *out, const char *user, const char *password,
                                  const char *hostport, int db);

/* ---- reports ---------------------------------------------------------- */

/**
 * What create or drop did (or would do under TL_REDIS_DRY_RUN): one line
 * per change; none when everything was already in place. Never holds a
 * secret.
 */
typedef struct tl_redis_report tl_redis_report;

TL_EXTERN(const char *) tl_redis_report_user(const tl_redis_report *r);
TL_EXTERN(const char *) tl_redis_report_prefix(const tl_redis_report *r);
TL_EXTERN(const char *) tl_redis_report_env_path(const tl_redis_report *r);
/** 1 when the report is a plan: nothing was changed. */
TL_EXTERN(int) tl_redis_report_dry_run(const tl_redis_report *r);
/** Keys deleted by a purge (0 otherwise). */
TL_EXTERN(uint64_t) tl_redis_report_keys_deleted(const tl_redis_report *r);
TL_EXTERN(size_t) tl_redis_report_action_count(const tl_redis_report *r);
/** The i-th action, or NULL past the end. */
TL_EXTERN(const char *) tl_redis_report_action(const tl_redis_report *r, size_t i);
TL_EXTERN(void) tl_redis_report_free(tl_redis_report *r);

/* ---- operations ------------------------------------------------------- */

/** Flags for tl_redis_options.flags. */
#define TL_REDIS_DRY_RUN (1u << 0) /* inspect and plan, change nothing */
#define TL_REDIS_ROTATE (1u << 1)  /* create: set a new password */
#define TL_REDIS_PURGE (1u << 2)   /* drop: also delete the keys */
/* create: refuse (TL_ENOTFOUND) an app name that is no registered app;
 * frontends set it unless the user asks for a standalone user. */
#define TL_REDIS_REGISTERED_ONLY (1u << 3)

typedef struct {
	unsigned int version; /* TL_REDIS_OPTIONS_VERSION */
	unsigned int flags;   /* TL_REDIS_* */
} tl_redis_options;

#define TL_REDIS_OPTIONS_VERSION 1
#define TL_REDIS_OPTIONS_INIT {TL_REDIS_OPTIONS_VERSION, 0}

TL_EXTERN(int) tl_redis_options_init(tl_redis_options *opts, unsigned int version);

/**
 * Provision the user of app `app` (pr == 0) or of its preview `pr`, and
 * write REDIS_URL and REDIS_KEY_PREFIX into the env file. `out` and
 * `opts` may be NULL.
 */
TL_EXTERN(int) tl_redis_create(tl_redis_report **out, tl_redis *r, const char *app,
                               uint32_t pr, const tl_redis_options *opts);

/** Drop the user (and with TL_REDIS_PURGE its keys); idempotent. */
TL_EXTERN(int) tl_redis_drop(tl_redis_report **out, tl_redis *r, const char *app,
                             uint32_t pr, const tl_redis_options *opts);

/* ---- stats -------------------------------------------------------------- */

/**
 * Server figures and the app's: its keys, its connected clients and the
 * length of each of its Celery queues (the keys of type list under its
 * prefix, named without the prefix).
 */
typedef struct tl_redis_stats tl_redis_stats;

TL_EXTERN(int) tl_redis_stats_get(tl_redis_stats **out, tl_redis *r, const char *app,
                                  uint32_t pr);
/** used_memory of the server, in bytes. */
TL_EXTERN(uint64_t) tl_redis_stats_used_memory(const tl_redis_stats *s);
/** connected_clients of the server. */
TL_EXTERN(uint64_t) tl_redis_stats_connected_clients(const tl_redis_stats *s);
/** Clients authenticated as the app's user. */
TL_EXTERN(uint64_t) tl_redis_stats_app_clients(const tl_redis_stats *s);
/** Keys under the app's prefix. */
TL_EXTERN(uint64_t) tl_redis_stats_app_keys(const tl_redis_stats *s);
/** 1 when the app's ACL user exists. */
TL_EXTERN(int) tl_redis_stats_user_exists(const tl_redis_stats *s);
/** Queues, sorted by name. */
TL_EXTERN(size_t) tl_redis_stats_queue_count(const tl_redis_stats *s);
/** Name of the i-th queue (key without the prefix), NULL past the end. */
TL_EXTERN(const char *) tl_redis_stats_queue_name(const tl_redis_stats *s, size_t i);
TL_EXTERN(uint64_t) tl_redis_stats_queue_length(const tl_redis_stats *s, size_t i);
TL_EXTERN(void) tl_redis_stats_free(tl_redis_stats *s);

TL_END_DECL

#endif
