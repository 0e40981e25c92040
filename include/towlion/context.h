/*
 * libtowlion - the context: configuration and the event channel.
 *
 * A tl_ctx holds the configuration (defaults, then the config file, then
 * TOWLION_* environment variables, then values set with
 * tl_ctx_config_set()) and the event callback through which long
 * operations report log lines, steps and progress, and through which the
 * caller may cancel them. A context is not thread-safe: use one per thread.
 */
#ifndef TOWLION_CONTEXT_H
#define TOWLION_CONTEXT_H

#include "towlion/common.h"

TL_BEGIN_DECL

typedef struct tl_ctx tl_ctx;

/** What an event reports. */
typedef enum {
	TL_EVENT_LOG = 0,      /* a log line: level + message */
	TL_EVENT_STEP = 1,     /* a named step of an operation starts */
	TL_EVENT_PROGRESS = 2, /* done/total units (bytes unless said) */
	TL_EVENT_OUTPUT = 3    /* a line of output of a build or command */
} tl_event_type;

typedef enum {
	TL_LOG_DEBUG = 0,
	TL_LOG_INFO = 1,
	TL_LOG_WARN = 2,
	TL_LOG_ERROR = 3
} tl_log_level;

/**
 * An event. Pointers are valid only during the callback. Secrets never
 * appear in events.
 */
typedef struct {
	unsigned int version; /* TL_EVENT_VERSION */
	int type;             /* a tl_event_type */
	int level;            /* a tl_log_level (LOG and OUTPUT events) */
	const char *message;  /* log line, output line, or step description */
	const char *step;     /* machine-readable step name, or NULL */
	uint64_t done;        /* PROGRESS: units done */
	uint64_t total;       /* PROGRESS: units in all, 0 if unknown */
	const char *subject;  /* what it is about (app, database...), or NULL */
} tl_event;

#define TL_EVENT_VERSION 1

/**
 * Event callback. Return 0 to go on; any other value cancels the running
 * operation, which then stops at the next safe point and returns TL_EUSER.
 */
typedef int (*tl_event_cb)(const tl_event *event, void *payload);

/** Flags for tl_ctx_options.flags. */
#define TL_CTX_NO_ENV (1u << 0)        /* ignore TOWLION_* env variables */
#define TL_CTX_NO_CONFIG_FILE (1u << 1) /* read no config file at all */

typedef struct {
	unsigned int version;    /* TL_CTX_OPTIONS_VERSION */
	const char *config_path; /* NULL: /etc/towlion/towlion.conf, which
	                            may be absent; a path given here must
	                            exist */
	unsigned int flags;      /* TL_CTX_* */
	tl_event_cb event_cb;    /* may be NULL */
	void *event_payload;
} tl_ctx_options;

#define TL_CTX_OPTIONS_VERSION 1
#define TL_CTX_OPTIONS_INIT {TL_CTX_OPTIONS_VERSION, NULL, 0, NULL, NULL}

/** Initialise `opts` to the defaults (same as TL_CTX_OPTIONS_INIT). */
TL_EXTERN(int) tl_ctx_options_init(tl_ctx_options *opts, unsigned int version);

/** The default config file path. */
#define TL_CONFIG_DEFAULT_PATH "/etc/towlion/towlion.conf"

/**
 * Create a context. `opts` may be NULL for the defaults. Fails with
 * TL_EINVALID (naming file:line) on a malformed config file or an unknown
 * key, TL_ENOTFOUND when an explicitly given file does not exist.
 * Calls tl_init(); tl_ctx_free() calls tl_shutdown().
 */
TL_EXTERN(int) tl_ctx_new(tl_ctx **out, const tl_ctx_options *opts);

/** Free a context. NULL is fine. */
TL_EXTERN(void) tl_ctx_free(tl_ctx *ctx);

/**
 * The value of a configuration key (e.g. "TOWLION_DATA_DIR"), after
 * defaults and derivations; "" for a key that is unset and has no
 * default; NULL for an unknown key. Owned by the context, valid until the
 * key is set again or the context is freed.
 */
TL_EXTERN(const char *) tl_ctx_config_get(const tl_ctx *ctx, const char *key);

/**
 * Set a configuration key for this context (wins over file and env).
 * Keys whose default derives from it (e.g. TOWLION_STATE_DIR from
 * TOWLION_DATA_DIR) follow unless they were set themselves.
 * TL_EINVALID for an unknown key or a value with a newline.
 */
TL_EXTERN(int) tl_ctx_config_set(tl_ctx *ctx, const char *key, const char *value);

/** Where a configuration value came from. */
typedef enum {
	TL_CONFIG_FROM_DEFAULT = 0,
	TL_CONFIG_FROM_FILE = 1,
	TL_CONFIG_FROM_ENV = 2,
	TL_CONFIG_FROM_API = 3,
	/* TOWLION_STATE_DIR/towlion.conf, written by `towlion platform init`:
	 * below the config file and the environment, above the defaults. */
	TL_CONFIG_FROM_STATE = 4
} tl_config_source;

/**
 * The number of known configuration keys, and the i-th key's name,
 * description, current value and source (any out pointer may be NULL).
 * Secret keys report their value as "(set)" unless `reveal` is non-zero.
 */
TL_EXTERN(size_t) tl_config_key_count(void);
TL_EXTERN(int) tl_ctx_config_at(const tl_ctx *ctx, size_t i, int reveal,
                                const char **key, const char **value,
                                const char **description, int *source);

/** The config file that was read, or NULL when none was. */
TL_EXTERN(const char *) tl_ctx_config_path(const tl_ctx *ctx);

/**
 * Once the callback cancels, the context stays cancelled, so every step of
 * the running operation stops. Deploys and previews start afresh by
 * themselves; call this before reusing a context for anything else.
 */
TL_EXTERN(void) tl_ctx_clear_cancel(tl_ctx *ctx);

/** Replace the event callback (NULL removes it). */
TL_EXTERN(void) tl_ctx_set_event_cb(tl_ctx *ctx, tl_event_cb cb, void *payload);

TL_END_DECL

#endif
