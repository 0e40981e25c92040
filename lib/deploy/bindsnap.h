/* A preview's bind sources, copied for each release into the platform's
 * own directory (lib/deploy/bindsnap.c; not API). */
#ifndef TL_DEPLOY_BINDSNAP_H
#define TL_DEPLOY_BINDSNAP_H

#include "deploy_int.h"

#include <sys/types.h>

/* Copy `src` (canonical, already checked: every component a real
 * directory) for this release into <state_dir>/binds/<release>/, opening
 * every component with O_NOFOLLOW, and give the copy's path in *out
 * (malloc'd); `mode` is the source's st_mode as the check saw it (a
 * directory, or a file, whose copy is <copy>/<its name>). The copy of the
 * same source is made once per release. Copies beyond the limits below
 * (for all the copies of a release together) are TL_EINVALID naming the
 * source. Copies of releases that have no
 * container left are removed on the way. */
int tl__bind_snapshot(char **out, const tl__deploy_attempt *a, const char *src, mode_t mode);

#define TL__BIND_SNAPSHOT_MAX_BYTES (512LL << 20)
#define TL__BIND_SNAPSHOT_MAX_FILES 50000L
#define TL__BIND_SNAPSHOT_MAX_DEPTH 64

#endif
