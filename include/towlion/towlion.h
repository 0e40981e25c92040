/*
 * libtowlion - the umbrella header: includes the whole public API.
 * See docs/ for guides and docs/abi.md for what stays stable.
 */
#ifndef TOWLION_H
#define TOWLION_H

#include "towlion/common.h"
#include "towlion/version.h"
#include "towlion/context.h"
#include "towlion/envfile.h"
#include "towlion/validate.h"
#include "towlion/platform.h"
#include "towlion/pg.h"
#include "towlion/app.h"
#include "towlion/deploy.h"
#include "towlion/preview.h"
#include "towlion/caddy.h"
#include "towlion/redis.h"
#include "towlion/s3.h"
#include "towlion/github.h"
#include "towlion/ssh.h"
#include "towlion/backup.h"
#include "towlion/docker.h"
#include "towlion/compose.h"
#include "towlion/appenv.h"
#include "towlion/server.h"
#include "towlion/status.h"
#include "towlion/cluster.h"

#endif
