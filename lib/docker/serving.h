/*
 * Connections a container is serving (serving.c), for the deploy's drain.
 */
#ifndef TL_DOCKER_SERVING_H
#define TL_DOCKER_SERVING_H

#include "towlion/docker.h"

/* How many TCP connections `container` is serving now (established to a
 * port it listens on), or -1 when that cannot be told from this machine
 * (dockerd not local, the container not running, no /proc). Sets no error. */
int tl__docker_container_serving(tl_docker *d, const char *container);

/* The count from the text of /proc/net/tcp and tcp6 (one after the other):
 * established connections whose local port is a listening one. Pure. */
int tl__tcp_tables_serving(const char *tables);

#endif
