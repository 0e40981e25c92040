/* A project's containers, read once per report (snapshot.c; not API). */
#ifndef TL_DOCKER_SNAPSHOT_H
#define TL_DOCKER_SNAPSHOT_H

#include "core/core.h"
#include "towlion/docker.h"

/* Every container labelled towlion.project=`project`, in any state, as
 * Docker lists them: inside a report scope (tl__docker_snapshot_begin)
 * from the scope's one list of all projects' containers, else from a list
 * of Docker's own. Docker's error when it cannot be asked. */
int tl__docker_project_containers(tl_docker_container_list **out, tl_ctx *ctx,
                                  const char *project);

#endif
