/*
 * libtowlion - common definitions: export macro, result codes, the last
 * error, string buffers and library initialisation.
 *
 * Every public header includes this one. It includes nothing but the C
 * standard library, so it compiles alone with -std=c99 -pedantic.
 */
#ifndef TOWLION_COMMON_H
#define TOWLION_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define TL_BEGIN_DECL extern "C" {
#define TL_END_DECL }
#else
#define TL_BEGIN_DECL
#define TL_END_DECL
#endif

/* Marks a function as part of the public API (exported from the .so). */
#if defined(__GNUC__) && __GNUC__ >= 4
#define TL_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define TL_EXTERN(type) extern type
#endif

TL_BEGIN_DECL

/**
 * Result codes. Fallible functions return TL_OK (0) or one of these
 * negative values. The numbers are part of the ABI and never change;
 * new codes are only ever appended.
 */
typedef enum {
	TL_OK = 0,
	TL_ERROR = -1,        /* generic failure; see tl_error_last() */
	TL_EINVALID = -2,     /* bad argument, name, config or input */
	TL_ENOTFOUND = -3,    /* the object does not exist */
	TL_EEXISTS = -4,      /* the object already exists */
	TL_ECONFLICT = -5,    /* it clashes with something else (name, host) */
	TL_EAUTH = -6,        /* authentication or permission refused */
	TL_ETIMEOUT = -7,     /* the operation ran past its timeout */
	TL_EUNAVAILABLE = -8, /* a service could not be reached */
	TL_EIO = -9,          /* reading or writing a file or stream failed */
	TL_ELOCKED = -10,     /* another operation holds the lock */
	TL_EUSER = -11,       /* cancelled by the caller's event callback */
	TL_ENOMEM = -12,      /* out of memory */
	TL_EUNHEALTHY = -13,  /* a new release did not become healthy */
	TL_EUNSUPPORTED = -14 /* the server or build cannot do this */
} tl_result;

/** Where an error came from; tells how to read `upstream`. */
typedef enum {
	TL_ERRCLASS_NONE = 0,
	TL_ERRCLASS_OS = 1,      /* upstream_code is an errno value */
	TL_ERRCLASS_CONFIG = 2,  /* configuration, env files */
	TL_ERRCLASS_INPUT = 3,   /* argument or name validation */
	TL_ERRCLASS_HTTP = 4,    /* upstream_code is an HTTP status */
	TL_ERRCLASS_DOCKER = 5,  /* upstream_code is an HTTP status */
	TL_ERRCLASS_COMPOSE = 6,
	TL_ERRCLASS_PG = 7,      /* upstream is the SQLSTATE */
	TL_ERRCLASS_CADDY = 8,   /* upstream_code is an HTTP status */
	TL_ERRCLASS_REDIS = 9,
	TL_ERRCLASS_S3 = 10,     /* upstream is the S3 error code */
	TL_ERRCLASS_SSH = 11,    /* upstream_code is a libssh2 code */
	TL_ERRCLASS_GITHUB = 12, /* upstream_code is an HTTP status */
	TL_ERRCLASS_PROCESS = 13, /* upstream_code is the exit status */
	TL_ERRCLASS_DEPLOY = 14,
	TL_ERRCLASS_BACKUP = 15,
	TL_ERRCLASS_LOCK = 16,
	TL_ERRCLASS_CURL = 17    /* upstream_code is a CURLcode */
} tl_error_class;

/**
 * The last error raised on the calling thread. Never NULL: when no error
 * happened, code is TL_OK and message is "no error".
 */
typedef struct {
	int code;            /* a tl_result */
	int klass;           /* a tl_error_class */
	const char *message; /* what failed, on what, and what to do */
	const char *upstream; /* upstream code as text ("404", "42501"), or "" */
	long upstream_code;  /* numeric upstream code, or 0 */
} tl_error;

/** Last error of this thread; valid until the next libtowlion call. */
TL_EXTERN(const tl_error *) tl_error_last(void);

/** Forget the last error of this thread. */
TL_EXTERN(void) tl_error_clear(void);

/** Static, human readable name of a result code ("not found"). */
TL_EXTERN(const char *) tl_strerror(int code);

/** Static name of an error class ("docker", "postgres"). */
TL_EXTERN(const char *) tl_errclass_name(int klass);

/**
 * A growable string owned by the caller. Start with TL_BUF_INIT, pass a
 * pointer to functions that return text, release with tl_buf_dispose().
 * `ptr` is always NUL terminated when `size` > 0 or after any call that
 * filled it.
 */
typedef struct {
	char *ptr;
	size_t size;  /* bytes used, excluding the terminating NUL */
	size_t asize; /* bytes allocated */
} tl_buf;

#define TL_BUF_INIT {NULL, 0, 0}

/** Free the buffer's memory and reset it to TL_BUF_INIT. NULL is fine. */
TL_EXTERN(void) tl_buf_dispose(tl_buf *buf);

/**
 * Initialise the library's global state (libcurl, libssh2). Reference
 * counted: each call must be paired with tl_shutdown(). Returns the new
 * count (> 0) or a negative tl_result.
 */
TL_EXTERN(int) tl_init(void);

/** Undo one tl_init(); returns the remaining count, or a negative code. */
TL_EXTERN(int) tl_shutdown(void);

TL_END_DECL

#endif
