/*
 * libtowlion internals shared by every module (not API).
 *
 * Naming: tl__<thing>_<verb>. Functions that can fail return a tl_result
 * and, on failure, have already set the thread's last error.
 */
#ifndef TL_CORE_H
#define TL_CORE_H

#include "towlion/common.h"
#include "towlion/context.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#if defined(__GNUC__)
#define TL__PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TL__UNUSED __attribute__((unused))
#else
#define TL__PRINTF(a, b)
#define TL__UNUSED
#endif

#define TL__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Argument checks at the top of public functions. */
#define TL__CHECK_ARG(cond)                                                  \
	do {                                                                     \
		if (!(cond))                                                         \
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,             \
			                     "%s: invalid argument (%s)", __func__, #cond); \
	} while (0)

#include "options.h" /* versioned options structs: TL__CHECK_VERSION... */

/* ---- errors (error.c) ---- */

/* Set the thread's last error; returns `code` so callers can
 * `return tl__error_set(...)`. */
int tl__error_set(int code, int klass, const char *fmt, ...) TL__PRINTF(3, 4);
int tl__error_vset(int code, int klass, const char *fmt, va_list ap) TL__PRINTF(3, 0);
/* Same, with the upstream code (text and number). */
int tl__error_set_upstream(int code, int klass, const char *upstream,
                           long upstream_code, const char *fmt, ...)
	TL__PRINTF(5, 6);
/* An OS error: message + ": " + strerror(err), class OS, upstream errno. */
int tl__error_os(int code, int err, const char *fmt, ...) TL__PRINTF(3, 4);
/* Out of memory. */
int tl__error_oom(void);
/* Map an errno to the closest tl_result. */
int tl__errno_to_result(int err);
/* Prefix the current error message with "<prefix>: ". */
void tl__error_prefix(const char *fmt, ...) TL__PRINTF(1, 2);
/* The last error, copied whole: a tl_error's message and upstream point
 * into the thread's buffers, which the next error overwrites, so a plain
 * copy of it does not survive the cleanup it is kept across. */
typedef struct {
	int code, klass;
	long upstream_code;
	char message[1024];
	char upstream[64];
} tl__error_saved;
void tl__error_save(tl__error_saved *saved);
/* Make it the last error again; returns its code. */
int tl__error_restore(const tl__error_saved *saved);

/* ---- memory and strings (buf.c) ---- */

void *tl__malloc(size_t n);          /* sets TL_ENOMEM on failure */
void *tl__calloc(size_t n, size_t m);
void *tl__realloc(void *p, size_t n);
char *tl__strdup(const char *s);
char *tl__strndup(const char *s, size_t n);
char *tl__sprintf(const char *fmt, ...) TL__PRINTF(1, 2);
bool tl__str_startswith(const char *s, const char *prefix);
bool tl__str_endswith(const char *s, const char *suffix);
/* Overwrite a secret before freeing it. NULL is fine. */
void tl__free_secret(char *s);

int tl__buf_grow(tl_buf *b, size_t need);
int tl__buf_put(tl_buf *b, const void *data, size_t len);
int tl__buf_puts(tl_buf *b, const char *s);
int tl__buf_putc(tl_buf *b, char c);
int tl__buf_printf(tl_buf *b, const char *fmt, ...) TL__PRINTF(2, 3);
int tl__buf_vprintf(tl_buf *b, const char *fmt, va_list ap) TL__PRINTF(2, 0);
int tl__buf_set(tl_buf *b, const void *data, size_t len);
void tl__buf_clear(tl_buf *b);
/* Take ownership of the buffer's string (never NULL on success). */
char *tl__buf_detach(tl_buf *b);
/* Wipe and free a buffer that held a secret. */
void tl__buf_dispose_secret(tl_buf *b);

/* NULL-terminated string vectors (strv.c); *v may start as NULL. */
int tl__strv_push(char ***v, const char *s);
int tl__strv_pushf(char ***v, const char *fmt, ...) TL__PRINTF(2, 3);
size_t tl__strv_len(char *const *v);
bool tl__strv_contains(char *const *v, const char *s);
void tl__strv_free(char **v);

/* ---- events (event.c) ---- */

/* Emit an event; returns TL_OK, or TL_EUSER (error set) when the callback
 * asked to cancel. Once cancelled, a context stays cancelled until
 * tl__ctx_reset_cancel(). ctx may be NULL (then nothing happens). */
int tl__log(tl_ctx *ctx, int level, const char *fmt, ...) TL__PRINTF(3, 4);
int tl__step(tl_ctx *ctx, const char *step, const char *subject, const char *fmt,
             ...) TL__PRINTF(4, 5);
int tl__progress(tl_ctx *ctx, const char *step, uint64_t done, uint64_t total);
int tl__output(tl_ctx *ctx, int level, const char *subject, const char *line);
/* TL_EUSER (error set) when the caller cancelled, TL_OK otherwise. */
int tl__cancelled(tl_ctx *ctx);
void tl__ctx_reset_cancel(tl_ctx *ctx);
/* The test hook of the fault suites (event.c, inert unless
 * TOWLION_TEST_PAUSE_AT and TOWLION_TEST_PAUSE_FILE are set): every step
 * event passes through it; a point that is no event (a step inside a
 * transaction of lib/backup) calls it directly. */
void tl__test_pause_at(const char *step);
/* Apps whose interrupted destroy this context's repair finished, and
 * whether that destroy purged their data: a destroy of one of them, asked
 * for next, has nothing left to do and succeeds (unless it asks for a
 * purge the finished one did not do). */
int tl__ctx_remember_destroyed(tl_ctx *ctx, const char *app, bool purged);
bool tl__ctx_destroyed(const tl_ctx *ctx, const char *app, bool *purged);

/* ---- strict numbers (parse.c; the public ones are in towlion/validate.h) ---- */

/* "512m", "1g", "4096" (bytes; k/m/g/t are powers of 1024) -> bytes, as
 * tl_parse_size() up to INT64_MAX. */
int tl__parse_size(int64_t *out, const char *text);
/* The strict grammar of parse.c for what the public parsers do not cover.
 * Leading ASCII digits at *p (no sign, no space), advancing *p; false on
 * none or on overflow. */
bool tl__parse_digits(uint64_t *out, const char **p);
/* Leading hex digits at *p (either case; no sign, no "0x", no space), at
 * most max_digits (and 16) of them, advancing *p; false on none or on a
 * longer run, *p then unmoved. */
bool tl__parse_hex_digits(uint64_t *out, const char **p, size_t max_digits);
/* A UTC time written in a fixed layout, the whole of s[0..n) (parse_time.c).
 * The layout is strftime's: %Y (4 digits), %y (2; 50-99 are 19xx, as
 * X.509's UTCTime), %m, %d, %H, %M, %S (2 digits each), %b ("Jan"), %a
 * ("Mon"), and %f, an optional fraction of a second (".123"); any other
 * byte stands for itself. Digits only (sscanf's "%2d" took " 7" and "-7"),
 * and a date that does not exist (31 February, hour 24) is refused rather
 * than normalised. False on anything else. */
bool tl__parse_utc(int64_t *out, const char *s, size_t n, const char *layout);
/* Digits, then optionally '.' and up to 9 digits, at *p (no sign, no
 * exponent, no hex, no inf/nan as strtod takes them); advances *p. */
bool tl__parse_decimal_prefix(double *out, const char **p);
/* A whole text of that grammar from min to max (cpus: "1.5"); the error
 * names `what` and quotes the text escaped. */
int tl__parse_decimal(double *out, const char *text, double min, double max, const char *what);
/* TL_EINVALID: 'invalid WHAT "VALUE": WHY', the value cut at 80 bytes and
 * its control bytes, quotes and backslashes escaped as \xNN. */
int tl__error_bad_input(const char *what, const char *value, const char *why);
/* The same message with another code and class: a bad value in a
 * service's answer (TL_EIO, TL_ERRCLASS_S3...), which is no user's input. */
int tl__error_bad_value(int code, int klass, const char *what, const char *value,
                        const char *why);

/* The file `platform init` writes in TOWLION_STATE_DIR, and (re)reading
 * it into a context: it fills the keys that neither the config file, the
 * environment nor tl_ctx_config_set() set. Missing is fine; a file others
 * may read or write is TL_EINVALID. */
#define TL__GENERATED_CONFIG_NAME "towlion.conf"
int tl__ctx_load_generated(tl_ctx *ctx);

/* Shorthand for a config value that is known to exist. */
const char *tl__cfg(const tl_ctx *ctx, const char *key);

/* ---- one read of Caddy's configuration per report (ctx.c, lib/caddy/admin.c) ----
 * A report over every app (metrics, doctor, alerts, the status of all
 * apps) asks where each app's site is routed. Between begin and end,
 * tl__caddy_get_config asks GET /config/ once and the same snapshot
 * answers each app (a route change still reads what Caddy runs now):
 * one request and one parse instead of one per app of a document that
 * grows with the number of sites (which made the report quadratic). A
 * /load through the context in between drops the snapshot. Scopes nest. */
void tl__caddy_snapshot_begin(tl_ctx *ctx);
void tl__caddy_snapshot_end(tl_ctx *ctx);
/* For lib/caddy: where the snapshot (a json_t *) lives, NULL outside a scope. */
void **tl__caddy_snapshot_slot(tl_ctx *ctx);

/* ---- one list of Docker's containers per report (ctx.c, lib/docker/snapshot.c) ----
 * The same for Docker: each app's status lists the app's containers.
 * Between begin and end, tl__docker_project_containers asks Docker once
 * for every container labelled towlion.project and answers each project
 * from that list (a connection, a /_ping and a list per app otherwise).
 * Any request through the context that is not a GET (create, start,
 * stop, remove...) drops the list: the next project asks again. Scopes
 * nest; outside one every call asks Docker. */
void tl__docker_snapshot_begin(tl_ctx *ctx);
void tl__docker_snapshot_end(tl_ctx *ctx);
/* For lib/docker: where the list (a json_t *) lives, NULL outside a scope. */
void **tl__docker_snapshot_slot(tl_ctx *ctx);
/* A change was sent to Docker: forget the list (inside a scope or not). */
void tl__docker_snapshot_drop(tl_ctx *ctx);
/* A report over every app: both snapshots (Caddy's config, Docker's list). */
void tl__report_begin(tl_ctx *ctx);
void tl__report_end(tl_ctx *ctx);
/* For lib/docker: count a request (and whether it is a list) to Docker. */
void tl__ctx_docker_count(tl_ctx *ctx, bool list);
/* How many requests, and container lists among them, this context sent to
 * Docker since it was made: a report's cost, measured. */
void tl__ctx_docker_counts(const tl_ctx *ctx, unsigned long *requests, unsigned long *lists);

/* ---- files (file.c) ---- */

/* Read a whole file; TL_ENOTFOUND when it does not exist. */
int tl__file_read(tl_buf *out, const char *path);
/* The same for a file a tenant controls: TL_EINVALID naming `what`, the
 * path and the limit when it holds more than `max` bytes. */
int tl__file_read_max(tl_buf *out, const char *path, size_t max, const char *what);
/* tl__file_read of `name` in the open directory `dirfd` (no path walk
 * per file when reading a directory's many files); `path` is for errors. */
int tl__file_read_at(tl_buf *out, int dirfd, const char *name, const char *path);
/* Mask the password of `url` (whole, percent-decoded, or in the pieces
 * libpq may have cut it into) in `msg`, a string of `cap` bytes. */
void tl__scrub_password(char *msg, size_t cap, const char *url);
/* Create a directory and its parents with `mode` (existing is fine). */
int tl__mkdir_p(const char *path, mode_t mode);
/* fsync a directory (after a rename into it). */
int tl__fsync_dir(const char *dir);
/* Remove `path` and everything under it, never following symlinks. For
 * safety `path` must lie strictly inside `root`; a missing path is fine. */
int tl__rm_rf(const char *path, const char *root);
/* Join two path parts with one '/'. */
char *tl__path_join(const char *a, const char *b);

/* A file that appears at `path` complete or not at all. */
typedef struct tl__atomic_file {
	int fd;
	char *path;
	char *tmp_path;
} tl__atomic_file;

/* Open a temporary file next to `path` with `mode` (set before any byte
 * is written). */
int tl__atomic_open(tl__atomic_file *af, const char *path, mode_t mode);
int tl__atomic_write(tl__atomic_file *af, const void *data, size_t len);
/* fsync, rename over `path`, fsync the directory. Always closes `af`. */
int tl__atomic_commit(tl__atomic_file *af);
/* Remove the temporary file. NULL-safe, idempotent. */
void tl__atomic_abort(tl__atomic_file *af);
/* The whole cycle for a buffer in memory. */
int tl__file_write_atomic(const char *path, const void *data, size_t len,
                          mode_t mode);

/* ---- time (clock.c) ---- */

/* Milliseconds on the monotonic clock: for durations and deadlines only
 * (its zero is arbitrary). The one clock every module uses. */
int64_t tl__clock_ms(void);

/* Sleep ms milliseconds (nothing for ms <= 0); a signal may end it early,
 * which every caller's loop tolerates by checking its deadline again. */
void tl__sleep_ms(int64_t ms);

/* ---- hex and digests (hex.c) ---- */

/* `len` bytes as lowercase hex; `out` holds 2 * len + 1 bytes. */
void tl__hex(char *out, const void *bin, size_t len);
/* SHA-256 of a memory block, as 64 hex digits. */
void tl__sha256_hex(char out[65], const void *data, size_t len);
/* SHA-256 of a stream, from OpenSSL's libcrypto (it uses the CPU's SHA
 * instructions: about 4x libsodium's portable code, bench/backup).
 * Errors set the last error and return its code; tl__sha256_hex_so_far
 * leaves `sha` usable for more updates. */
typedef struct tl__sha256 tl__sha256;
int tl__sha256_new(tl__sha256 **out);
int tl__sha256_update(tl__sha256 *sha, const void *data, size_t len);
int tl__sha256_hex_so_far(char out[65], const tl__sha256 *sha);
void tl__sha256_free(tl__sha256 *sha);

/* ---- secrets (secret.c) ---- */

/* `len` random characters from the URL-safe alphabet [A-Za-z0-9_-],
 * from getrandom(). `out` must hold len + 1 bytes. */
int tl__secret_generate(char *out, size_t len);

/* ---- the app registry (lib/app) ---- */

/* TL_OK when `name` is a registered app; TL_ENOTFOUND naming it, saying to
 * register it or to ask for a standalone `what` (`standalone_hint`: how,
 * e.g. "--standalone") otherwise. Tenancy (a database, Redis user, bucket)
 * for a name that is no app is a resource nothing removes. */
int tl__app_require_registered(tl_ctx *ctx, const char *name, const char *what,
                               const char *standalone_hint);
/* <TOWLION_STATE_DIR>/apps/<app>/<rest> (rest NULL: the directory itself),
 * malloc'd into *out. `app` is not checked: callers validate it first.
 * TL_EINVALID when TOWLION_STATE_DIR is empty. (lib/app/paths.c) */
int tl__app_path(char **out, const tl_ctx *ctx, const char *app, const char *rest);

/* ---- locks (lock.c) ---- */

typedef struct tl__lock tl__lock;

/* Take the lock `name` (a file `<dir>/<name>.lock`), waiting up to
 * `timeout_ms` (0: do not wait, <0: forever). When it stays held:
 * TL_ELOCKED naming the holder (pid, command, since). Cancellable through
 * ctx (may be NULL). The kernel frees the lock if the process dies. */
int tl__lock_acquire(tl__lock **out, tl_ctx *ctx, const char *dir,
                     const char *name, int timeout_ms);
/* Release and free. NULL is fine. */
void tl__lock_release(tl__lock *lock);
/* Remove the lock file, then release and free (for a lock whose subject is
 * gone: a destroyed app, a database that does not exist). Safe against
 * waiters: see lock.c. NULL is fine. */
void tl__lock_discard(tl__lock *lock);
/* Describe the current holder of a lock, if any ("pid 12 (towlion deploy)
 * since ..."); TL_ENOTFOUND when nobody holds it. */
int tl__lock_holder(tl_buf *out, const char *dir, const char *name);
/* The same two for the lock of one project (an app, or a preview
 * "<app>-pr-N"): "app-<project>" in TOWLION_STATE_DIR/locks, the lock every
 * operation that changes the project takes. */
int tl__lock_project(tl__lock **out, tl_ctx *ctx, const char *project, int timeout_ms);
int tl__lock_project_holder(tl_buf *out, const tl_ctx *ctx, const char *project);

/* ---- processes (spawn.c) ---- */

typedef enum {
	TL__STDIO_NULL = 0,    /* /dev/null */
	TL__STDIO_INHERIT = 1, /* the parent's */
	TL__STDIO_BUFFER = 2,  /* stdin: from `in`; stdout/err: into buffers */
	TL__STDIO_FILE = 3,    /* a file path */
	TL__STDIO_FD = 4,      /* a descriptor given by the caller */
	TL__STDIO_EVENTS = 5   /* stdout/err: each line as an OUTPUT event */
} tl__stdio_mode;

typedef struct {
	const char *const *argv; /* argv[0] is looked up in PATH if no '/' */
	const char *const *env;  /* extra NAME=value entries, or NULL */
	bool clean_env;          /* start from an empty environment */
	const char *cwd;         /* NULL: inherit */
	int stdin_mode;
	const void *in;          /* BUFFER stdin data */
	size_t in_len;
	const char *in_path;     /* FILE stdin */
	int in_fd;               /* FD stdin */
	int stdout_mode;
	const char *out_path;    /* FILE stdout (created 0600, truncated) */
	int out_fd;              /* FD stdout */
	int stderr_mode;
	const char *err_path;
	int err_fd;
	int timeout_ms;          /* <= 0: none; on expiry the process group is
	                            sent SIGTERM, then SIGKILL after 2 s */
	const char *subject;     /* for OUTPUT events */
} tl__spawn_opts;

typedef struct {
	int exited;      /* 1 if it exited normally */
	int exit_status; /* exit code when exited */
	int signal;      /* terminating signal otherwise */
	int timed_out;   /* 1 if killed for the timeout */
	tl_buf out;      /* captured stdout (BUFFER mode) */
	tl_buf err;      /* captured stderr (BUFFER mode) */
} tl__spawn_result;

/* Run a program with an argv, never through a shell, in a new process
 * group, and wait for it. TL_OK means it ran (look at the result for how
 * it ended); a failure to start is TL_ENOTFOUND/TL_EIO; a timeout is
 * TL_ETIMEOUT; cancellation through ctx kills the group and is TL_EUSER.
 * The caller disposes res->out and res->err. */
int tl__spawn(tl__spawn_result *res, tl_ctx *ctx, const tl__spawn_opts *opts);
void tl__spawn_result_dispose(tl__spawn_result *res);
/* "exit status 3" / "killed by signal 9" */
const char *tl__spawn_describe(const tl__spawn_result *res, char *buf, size_t len);

#endif
