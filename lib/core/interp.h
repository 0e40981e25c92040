/* Variable interpolation as Docker Compose does it (internal): the one
 * engine behind compose files and the values of .env and env_file files. */
#ifndef TL_CORE_INTERP_H
#define TL_CORE_INTERP_H

#include "core.h"

/* Variable lookup: the value, or NULL when unset. */
typedef const char *(*tl__interp_lookup)(const char *name, void *payload);

/* Messages never quote the input: env-file values can be secrets (the
 * caller names file:line instead). */
#define TL__INTERP_QUIET (1u << 0)

/*
 * Append `in` (`len` bytes) to `out` with variables replaced, following the
 * compose-spec rules (compose-go's template package is the reference):
 *   $$ is a literal $; a $ that starts no name or ${ stays as written;
 *   $NAME ${NAME}; ${NAME:-d} ${NAME-d} (default when unset/empty, unset);
 *   ${NAME:+r} ${NAME+r} (replacement when set and non-empty, set);
 *   ${NAME:?e} ${NAME?e} (error e when unset/empty, unset).
 * The argument after the operator may hold ${...} and balanced braces
 * (${JSON:-{"a":1}}); like Compose it is expanded whether used or not.
 * `missing` (may be NULL) gets the name of the first variable that was
 * unset where its value was used (the caller warns). Bad syntax and a
 * required variable unset are TL_EINVALID without location.
 */
int tl__interpolate(tl_buf *out, const char *in, size_t len, tl__interp_lookup lookup,
                    void *payload, tl_buf *missing, unsigned flags);

#endif
