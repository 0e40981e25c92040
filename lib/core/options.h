/*
 * Versioned options structs (internal; the promise is in docs/abi.md).
 *
 * Every public options struct starts with `unsigned int version`, and
 * fields are only ever appended. A program built against an older header
 * passes an older version and a smaller struct, so the library accepts
 * every version from 1 to the one it knows (as libgit2's
 * GIT_ERROR_CHECK_VERSION does), never writes past the caller's version
 * and never reads a field the caller's version did not have.
 *
 * A struct's versions are described by the size it had in each of them:
 *
 *     static const size_t exec_sizes[] = {
 *         offsetof(tl_docker_exec_options, stdin_fd),  // version 1
 *         sizeof(tl_docker_exec_options),              // version 2
 *     };
 *
 * and the init and upgrade macros fail to compile when that list and the
 * struct's _VERSION constant disagree, so a version raised without its
 * size (or a size without its version) is caught by the build.
 *
 * While a struct has had only version 1, its readers check it with
 * TL__CHECK_VERSION and may copy it whole. Raising its _VERSION makes
 * every one of those sites fail to compile: each then reads the caller's
 * struct through TL__OPTIONS_UPGRADE into a current copy (as
 * tl_docker_exec does), which never reads past the caller's version.
 */
#ifndef TL_CORE_OPTIONS_H
#define TL_CORE_OPTIONS_H

#include <stddef.h>

/* 0 when `cond` holds at compile time; fails to compile with `why`
 * otherwise (a static assertion usable inside an expression). */
#define TL__STATIC_ZERO(cond, why)                                                      \
	(0 * (unsigned int)sizeof(struct {                                                  \
		 _Static_assert(cond, why);                                                     \
		 int unused;                                                                    \
	 }))

/* Set TL_EINVALID naming the struct and the versions this library knows,
 * unless `opts` is NULL or its version is 1..current. In `function`'s name. */
int tl__options_check(const void *opts, unsigned int current, const char *name,
                      const char *function);

/* Return the error from a public function when `opts` (may be NULL: callers
 * that need options check that themselves) has a version this library does
 * not know. Only for a struct that has had one version: after this check
 * every field may be read and the struct copied whole. Once its _VERSION
 * constant moves, every such site fails to compile, and is to read the
 * caller's struct through TL__OPTIONS_UPGRADE instead (which checks too). */
#define TL__CHECK_VERSION(opts, current, name)                                          \
	do {                                                                                \
		_Static_assert((current) == 1, name " grew: read it through "                   \
		                                    "TL__OPTIONS_UPGRADE (options.h)");         \
		int tl__version_rc = tl__options_check(opts, current, name, __func__);          \
		if (tl__version_rc)                                                             \
			return tl__version_rc;                                                      \
	} while (0)

/* Write `defaults` into `out` as version `version` of the struct had it:
 * only that version's size (sizes[version - 1]) is written, and the
 * version field says `version`. sizes[] has one entry per version,
 * 1..current. */
int tl__options_init(void *out, unsigned int version, const void *defaults,
                     const size_t *sizes, unsigned int current, const char *name,
                     const char *function);

/* The body of a tl_x_options_init() of a struct that has only had
 * version 1. Once its _VERSION constant moves this no longer compiles:
 * list the sizes and use TL__OPTIONS_INIT_GROWN. */
#define TL__OPTIONS_INIT(out, version, defaults, current, name)                         \
	tl__options_init(out, version, &(defaults), (const size_t[]){sizeof(defaults)},     \
	                 (current) + TL__STATIC_ZERO((current) == 1, name " grew: list its " \
	                                           "sizes, TL__OPTIONS_INIT_GROWN"),        \
	                 name, __func__)

/* 0, once the compiler saw that `sizes` lists one size per version. */
#define TL__SIZES_MATCH(sizes, current, name)                                           \
	TL__STATIC_ZERO(sizeof(sizes) / sizeof((sizes)[0]) == (current),                    \
	                name ": one size per version")

/* The same for a struct that grew: `sizes` is its static size list. */
#define TL__OPTIONS_INIT_GROWN(out, version, defaults, sizes, current, name)             \
	tl__options_init(out, version, &(defaults), sizes,                                  \
	                 (current) + TL__SIZES_MATCH(sizes, current, name), name, __func__)

/* Make `copy` (the current struct, holding its defaults) what the caller
 * meant by `opts`: the fields its version had are copied over the
 * defaults, the later ones keep them, and the version becomes current, so
 * the library reads every field of `copy` without looking at versions.
 * NULL `opts` leaves the defaults. For a struct that grew. */
int tl__options_upgrade(void *copy, const void *opts, const size_t *sizes,
                        unsigned int current, const char *name, const char *function);

#define TL__OPTIONS_UPGRADE(copy, opts, sizes, current, name)                           \
	tl__options_upgrade(copy, opts, sizes, (current) + TL__SIZES_MATCH(sizes, current, name), \
	                    name, __func__)

#endif
