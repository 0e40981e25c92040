/* Setting and removing keys of an app's env file (internal).
 *
 * The file (and its parent directories, 0700) is created when missing,
 * other keys and comments are kept, and it is saved atomically with mode
 * 0600. Writers that use these functions are serialised by a lock file
 * next to the env file ("<name>.lock"), so two modules adding their keys
 * at once do not lose each other's. */
#ifndef TL_CORE_APPENV_H
#define TL_CORE_APPENV_H

#include "core.h"

/* Set keys[i] = values[i] for the `n` pairs. */
int tl__appenv_set(tl_ctx *ctx, const char *path, const char *const *keys,
                   const char *const *values, size_t n);
/* Remove the `n` keys (absent keys are fine; a missing file is fine). */
int tl__appenv_unset(tl_ctx *ctx, const char *path, const char *const *keys, size_t n);
/* Value of `key` in the file (a copy), TL_ENOTFOUND when the file or the
 * key is absent. */
int tl__appenv_get(tl_buf *out, const char *path, const char *key);

#endif
