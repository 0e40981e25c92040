/* Log rotation of the containers towlion creates (not API). */
#ifndef TL_DOCKER_LOGROTATE_H
#define TL_DOCKER_LOGROTATE_H

#include "core/core.h"
#include "towlion/docker.h"

/* TOWLION_LOG_MAX_SIZE ("10m") and TOWLION_LOG_MAX_FILE ("3"), checked:
 * TL_EINVALID with the key named when either is malformed. *max_size is
 * "0" when rotation is off (the daemon's own logging is left alone). */
int tl__log_rotation(const char **max_size, const char **max_file, tl_ctx *ctx);

/* HostConfig.LogConfig of `s`: json-file with those limits (nothing when
 * rotation is off). */
int tl__docker_spec_rotate_logs(tl_docker_container_spec *s, tl_ctx *ctx);

#endif
