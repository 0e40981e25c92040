/*
 * A host path resolved one component at a time (openat with O_NOFOLLOW
 * from a directory we hold open), the way the kernel would resolve it but
 * under our rules: the userspace equivalent of openat2(RESOLVE_BENEATH),
 * which also hands back the canonical path it walked (not API).
 *
 * Why not realpath(): it resolves, but cannot refuse to leave a directory
 * part way, nor say which component was a link; and why not only openat2:
 * Docker takes a path string, not a file descriptor, so the caller needs
 * the canonical string (no symlink, ".", ".." or "//") to hand over and
 * to check again later.
 */
#ifndef TL_CORE_PATHWALK_H
#define TL_CORE_PATHWALK_H

#include <sys/types.h>

enum {
	/* Never leave `root`: an absolute symlink, or a ".." (in the path or
	 * in a link) that climbs above root, is refused. */
	TL__WALK_BENEATH = 1u << 0,
	/* Any symlink component (the last one too) is refused. */
	TL__WALK_NOFOLLOW = 1u << 1,
	/* Components that do not exist are kept as written (lexically
	 * cleaned); without it a missing component is TL_ENOTFOUND. */
	TL__WALK_MISSING_OK = 1u << 2,
};

/* Symlinks followed in one walk before it is called a loop (the kernel's
 * own limit). */
#define TL__WALK_MAX_LINKS 40

/*
 * Resolve `path` starting at `root`, an absolute directory the caller
 * trusts as it is (its own symlinks are resolved once, with realpath).
 * `path` is absolute and lies (lexically) under root, or is relative to
 * root. Without TL__WALK_BENEATH, `root` should be "/": an absolute
 * symlink restarts from "/".
 *
 * On success *out (malloc'd) is the canonical absolute path: no symlink
 * component, no ".", "..", or repeated "/", with the missing tail (under
 * TL__WALK_MISSING_OK) appended as written; `*mode` (may be NULL) gets the
 * st_mode of the last component, 0 when it does not exist.
 *
 * Failures name `path` and the component and say why: TL_EINVALID (an
 * escape, a refused symlink, a link loop, a non-directory in the middle,
 * too long), TL_ENOTFOUND (missing), TL_EIO/... (other OS errors).
 * Nothing is written to *out or *mode then.
 */
int tl__path_walk(char **out, mode_t *mode, const char *root, const char *path,
                  unsigned flags);

#endif
