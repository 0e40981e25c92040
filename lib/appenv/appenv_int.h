/* The settings module's internals (lib/appenv). */
#ifndef TL_APPENV_INT_H
#define TL_APPENV_INT_H

#include "core/core.h"
#include "towlion/appenv.h"

/* The file in an app's state directory, and the key in it that lists the
 * production-only keys (TOWLION_ is refused for settings, so it cannot
 * collide with one). */
#define TL__APPENV_FILE "settings.env"
#define TL__APPENV_PROD_KEY "TOWLION_PRODUCTION_ONLY"

#endif
