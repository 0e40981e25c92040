/*
 * libtowlion - env files (KEY=VALUE), the syntax of the platform's config
 * file and of apps' .env files.
 *
 * Syntax, as Docker Compose reads it (docs/compose.md lists the few
 * differences): one KEY=VALUE per line, the key of letters, digits and
 * _ . - [ ]; an optional `export ` prefix; `#` comments (whole line, or
 * " #" after an unquoted value); values unquoted (trimmed), 'single
 * quoted' (literal; a quote after a backslash does not end it) or "double
 * quoted" (escapes \a \b \f \n \r \t \v \" \\ \$ and \0NNN octal, may span
 * lines); empty values; CRLF line ends; a UTF-8 byte-order mark. A bare
 * `KEY` line is refused: towlion never passes its own environment on.
 * Variables are expanded only with TL_ENVFILE_INTERPOLATE (the files a
 * compose project reads); the platform's own files are literal. A key
 * given twice: the last one wins and a warning is recorded.
 *
 * Editing keeps comments, blank lines and the order of keys; saving is
 * atomic (temporary file, fsync, rename) with the given mode.
 */
#ifndef TOWLION_ENVFILE_H
#define TOWLION_ENVFILE_H

#include "towlion/common.h"

TL_BEGIN_DECL

typedef struct tl_envfile tl_envfile;

/** Flags for tl_envfile_open(). */
#define TL_ENVFILE_CREATE (1u << 0) /* a missing file opens as empty */
/* Expand ${VAR} in unquoted and double-quoted values as Docker Compose
 * does (docs/compose.md): from the options' lookup first, then from the
 * keys above in the same file. An unset variable is an empty string and a
 * warning. */
#define TL_ENVFILE_INTERPOLATE (1u << 1)

/** Variable lookup for interpolation: the value, or NULL when unset. */
typedef const char *(*tl_envfile_lookup)(const char *name, void *payload);

/** Options of tl_envfile_read() and tl_envfile_parse_with(). */
typedef struct {
	unsigned int version;     /* TL_ENVFILE_OPTIONS_VERSION */
	unsigned int flags;       /* TL_ENVFILE_* */
	tl_envfile_lookup lookup; /* variables from outside the file, or NULL */
	void *payload;            /* for lookup */
} tl_envfile_options;

#define TL_ENVFILE_OPTIONS_VERSION 1
#define TL_ENVFILE_OPTIONS_INIT {TL_ENVFILE_OPTIONS_VERSION, 0, NULL, NULL}

/** Initialise `opts` as TL_ENVFILE_OPTIONS_INIT for struct `version`. */
TL_EXTERN(int) tl_envfile_options_init(tl_envfile_options *opts, unsigned int version);

/** tl_envfile_open() with options; NULL options are the defaults. */
TL_EXTERN(int) tl_envfile_read(tl_envfile **out, const char *path,
                               const tl_envfile_options *opts);

/** tl_envfile_parse() with options; NULL options are the defaults. */
TL_EXTERN(int) tl_envfile_parse_with(tl_envfile **out, const char *data, size_t len,
                                     const char *name, const tl_envfile_options *opts);

/**
 * Read and parse the file at `path`. A syntax error is TL_EINVALID with
 * "path:line: ..." in the message; a missing file is TL_ENOTFOUND unless
 * TL_ENVFILE_CREATE is given.
 */
TL_EXTERN(int) tl_envfile_open(tl_envfile **out, const char *path, unsigned int flags);

/** Parse `len` bytes of `data`; `name` labels messages (may be NULL). */
TL_EXTERN(int) tl_envfile_parse(tl_envfile **out, const char *data, size_t len,
                                const char *name);

/** Free the file. NULL is fine. */
TL_EXTERN(void) tl_envfile_free(tl_envfile *env);

/** Value of `key`, or NULL when absent. Owned by `env`. */
TL_EXTERN(const char *) tl_envfile_get(const tl_envfile *env, const char *key);

/** Number of distinct keys. */
TL_EXTERN(size_t) tl_envfile_count(const tl_envfile *env);

/** The i-th distinct key in file order and its value (either may be NULL). */
TL_EXTERN(int) tl_envfile_at(const tl_envfile *env, size_t i, const char **key,
                             const char **value);

/** The line (1-based) where `key` is defined, or 0. */
TL_EXTERN(unsigned int) tl_envfile_line(const tl_envfile *env, const char *key);

/**
 * Set `key` (in place when present, appended otherwise). The key must
 * match [A-Za-z_][A-Za-z0-9_]* (narrower than what is read: a shell can
 * source what towlion writes); TL_EINVALID otherwise. Any value is
 * accepted and quoted as needed when saved.
 */
TL_EXTERN(int) tl_envfile_set(tl_envfile *env, const char *key, const char *value);

/** Remove `key`; TL_ENOTFOUND when absent. */
TL_EXTERN(int) tl_envfile_unset(tl_envfile *env, const char *key);

/** Render the file as text into `out`. */
TL_EXTERN(int) tl_envfile_render(tl_buf *out, const tl_envfile *env);

/**
 * Write the file atomically to `path` (NULL: the path it was opened from)
 * with permission bits `mode` (e.g. 0600), set before any content lands.
 */
TL_EXTERN(int) tl_envfile_save(tl_envfile *env, const char *path, unsigned int mode);

/** Number of warnings recorded while parsing, and the i-th one. */
TL_EXTERN(size_t) tl_envfile_warning_count(const tl_envfile *env);
TL_EXTERN(const char *) tl_envfile_warning(const tl_envfile *env, size_t i);

TL_END_DECL

#endif
