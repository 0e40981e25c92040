/* Swarm services and tasks (service.c): the Engine API calls of the
 * Swarm deploy engine. Services are named and labelled by the caller. */
#ifndef TL_CLUSTER_SERVICE_H
#define TL_CLUSTER_SERVICE_H

#include "cluster_int.h"

/* POST /services/create with `spec` (borrowed, a ServiceSpec);
 * `registry_auth` (may be NULL) lets the nodes pull its image. */
int tl__swarm_service_create(tl_docker *d, json_t *spec, const char *registry_auth);
/* GET /services/{name}: the service of exactly that name (TL_ENOTFOUND). */
int tl__swarm_service_inspect(json_t **out, tl_docker *d, const char *name);
/* DELETE /services/{name}: its tasks stop (in the background). */
int tl__swarm_service_remove(tl_docker *d, const char *name);
/* GET /services narrowed by labels ("k=v"). */
int tl__swarm_service_list(json_t **out, tl_docker *d, const char *const *labels);
/* A Docker secret holding `value`, labelled `labels` ("k=v", NULL-
 * terminated), for `scope` (who uses it: "project/release/service/target"):
 * made once per scope and value (named "towlion-" and a digest of both;
 * one made before is reused), its ID in *id and its name in `name`
 * (lib/cluster/secret.c). */
int tl__swarm_secret_ensure(char **id, char name[64], tl_docker *d, const char *const *labels,
                            const char *scope, const char *value);
/* Remove the Docker secrets labelled `labels` that no service labelled
 * so uses (one a service still holds is left for the next call). */
int tl__swarm_secrets_prune(tl_docker *d, const char *const *labels);
/* GET /tasks?filters={"service":[name]}: every task of the service, the
 * ones that ended included (newest first is not promised). */
int tl__swarm_tasks(json_t **out, tl_docker *d, const char *service);
/* A task's Status.State ("running", "pending", "failed"...), and why it is
 * there (Status.Err, else Status.Message). Never NULL. */
const char *tl__swarm_task_state(const json_t *task);
const char *tl__swarm_task_why(const json_t *task);
/* The port a task publishes in host mode for `target` (TCP) on its node's
 * IPv4 addresses, 0 for none. Docker maps 0.0.0.0 and :: separately and
 * their ports differ when the first pick for one was taken (an outgoing
 * connection's ephemeral port, which shares Docker's range): PortStatus
 * lists both, with no address, the IPv4 one first; the manager and Caddy
 * dial IPv4. */
int tl__swarm_task_port(const json_t *task, int target);
/* Where the tasks among `tasks` (tl__swarm_tasks) that serve now answer
 * `target`, the port they publish in host mode, as the manager dials them:
 * "127.0.0.1:P" for the tasks of this manager (node `self`), "ADDR:P"
 * for the others. A task serves when it runs, is meant to (DesiredState
 * running: a drained node's task is not) and its node is ready (Swarm may
 * still call a task of a lost node running). With `starting`, a task on
 * this manager whose container runs and whose compose healthcheck has not
 * passed yet (Swarm's "starting", its port read from the container) counts
 * too: a deploy probes it itself, as on one server, rather than wait for
 * the healthcheck's first interval (30 s by default).
 * Appended to *out. */
int tl__swarm_task_upstreams(char ***out, tl_docker *d, const json_t *tasks, int target,
                             const char *self, bool starting);
/* How many tasks of towlion's services (labelled towlion.app) still run or
 * start on node `node_id`. */
int tl__swarm_node_app_tasks(size_t *n, tl_docker *d, const char *node_id);
/* The last `tail` lines of the service's tasks, stdout and stderr merged,
 * appended to `out`. */
int tl__swarm_service_logs(tl_buf *out, tl_docker *d, const char *name, int tail);

#endif
