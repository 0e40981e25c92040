/*
 * Swarm services and their tasks over the Engine API: what the Swarm
 * deploy engine (lib/deploy/runtime_swarm.c) asks of the manager.
 */
#include "service.h"
#include "core/url.h"

#include <string.h>

int tl__swarm_service_create(tl_docker *d, json_t *spec, const char *registry_auth)
{
	const char *name = json_string_value(json_object_get(spec, "Name"));
	char *what = tl__sprintf("create the service %s", name ? name : "?");
	int rc = what ? tl__docker_call_auth(d, "POST", "/services/create", spec, NULL, 0, what,
	                                     registry_auth)
	              : TL_ENOMEM;
	free(what);
	return rc;
}

int tl__swarm_service_inspect(json_t **out, tl_docker *d, const char *name)
{
	int rc = tl__docker_check_ref(name, "service name");
	if (rc)
		return rc;
	json_t *j = NULL;
	if ((rc = tl__docker_inspect(&j, d, "services", "", "service", name)))
		return rc;
	/* inspect also matches id prefixes: only the exact name is this one */
	const char *n = json_string_value(json_object_get(json_object_get(j, "Spec"), "Name"));
	if (!n || strcmp(n, name)) {
		json_decref(j);
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_DOCKER, "no service %s", name);
	}
	*out = j;
	return TL_OK;
}

int tl__swarm_service_remove(tl_docker *d, const char *name)
{
	int rc = tl__docker_check_ref(name, "service name");
	char *path = rc ? NULL : tl__sprintf("/services/%s", name);
	char *what = rc ? NULL : tl__sprintf("remove the service %s", name);
	if (rc == TL_OK)
		rc = path && what ? tl__docker_call(d, "DELETE", path, NULL, NULL, 0, what)
		                  : TL_ENOMEM;
	free(path);
	free(what);
	return rc;
}

int tl__swarm_service_list(json_t **out, tl_docker *d, const char *const *labels)
{
	return tl__docker_list(out, d, "/services", labels, "list the services");
}

/* GET /tasks narrowed by one filter (`key`: [value]). */
static int tasks_by(json_t **out, tl_docker *d, const char *key, const char *value,
                    const char *what)
{
	json_t *f = json_pack("{s:[s]}", key, value);
	char *fs = f ? json_dumps(f, JSON_COMPACT) : NULL;
	json_decref(f);
	tl_buf enc = TL_BUF_INIT;
	char *path = fs && tl__url_encode(&enc, fs) == TL_OK
	                     ? tl__sprintf("/tasks?filters=%s", enc.ptr)
	                     : NULL;
	int rc = path ? tl__docker_call(d, "GET", path, NULL, out, 0, what) : TL_ENOMEM;
	free(fs);
	tl_buf_dispose(&enc);
	free(path);
	return rc;
}

int tl__swarm_tasks(json_t **out, tl_docker *d, const char *service)
{
	char *what = tl__sprintf("list the tasks of service %s", service);
	int rc = what ? tasks_by(out, d, "service", service, what) : TL_ENOMEM;
	free(what);
	return rc;
}

const char *tl__swarm_task_state(const json_t *task)
{
	const char *s = json_string_value(json_object_get(json_object_get(task, "Status"),
	                                                  "State"));
	return s ? s : "";
}

const char *tl__swarm_task_why(const json_t *task)
{
	const json_t *st = json_object_get(task, "Status");
	const char *err = json_string_value(json_object_get(st, "Err"));
	const char *msg = json_string_value(json_object_get(st, "Message"));
	return err && *err ? err : msg ? msg : "";
}

int tl__swarm_task_port(const json_t *task, int target)
{
	size_t k;
	json_t *p;
	json_array_foreach(json_object_get(json_object_get(json_object_get(task, "Status"),
	                                                   "PortStatus"),
	                                   "Ports"),
	                   k, p) {
		const char *proto = json_string_value(json_object_get(p, "Protocol"));
		json_int_t port = json_integer_value(json_object_get(p, "PublishedPort"));
		if (json_integer_value(json_object_get(p, "TargetPort")) == target &&
		    (!proto || !strcmp(proto, "tcp")) && port > 0 && port <= 65535)
			return (int)port; /* the first: IPv4's (see service.h) */
	}
	return 0;
}

/* The address the manager reaches node `id` at (NULL: it is not ready). */
static int node_addr(char **out, tl_docker *d, const char *id, const char *self)
{
	*out = NULL;
	json_t *n = NULL;
	int rc = tl__docker_inspect(&n, d, "nodes", "", "node", id);
	if (rc)
		return rc;
	const json_t *st = json_object_get(n, "Status");
	const char *state = json_string_value(json_object_get(st, "State"));
	const char *addr = json_string_value(json_object_get(st, "Addr"));
	if (!state || strcmp(state, "ready")) {
		json_decref(n);
		return TL_OK;
	}
	if (!strcmp(id, self))
		addr = "127.0.0.1";
	/* another manager's Status.Addr may be 0.0.0.0: its manager address is better */
	const char *maddr = json_string_value(json_object_get(json_object_get(n, "ManagerStatus"),
	                                                      "Addr"));
	size_t len = addr ? strlen(addr) : 0;
	if ((!len || !strcmp(addr, "0.0.0.0")) && maddr && strrchr(maddr, ':')) {
		addr = maddr;
		len = (size_t)(strrchr(maddr, ':') - maddr);
	}
	if (!len || !strcmp(addr, "0.0.0.0"))
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_DOCKER, "node %s has no address", id);
	else if (!(*out = tl__strndup(addr, len)))
		rc = TL_ENOMEM;
	json_decref(n);
	return rc;
}

/* The IPv4 host port of a task container on this node (Swarm records a
 * task's ports only once it runs, and a task with a healthcheck "starts"
 * until the check passes), 0 when there is none. */
static int local_port(tl_docker *d, const json_t *task, int target)
{
	const char *id = json_string_value(json_object_get(
		json_object_get(json_object_get(task, "Status"), "ContainerStatus"), "ContainerID"));
	tl_docker_container *c = NULL;
	if (!id || !*id || tl_docker_container_inspect(&c, d, id) != TL_OK) {
		tl_error_clear();
		return 0;
	}
	char key[32];
	snprintf(key, sizeof(key), "%d/tcp", target);
	int port = tl_docker_container_host_port(c, key, NULL);
	tl_docker_container_free(c);
	return port > 0 ? port : 0;
}

int tl__swarm_task_upstreams(char ***out, tl_docker *d, const json_t *tasks, int target,
                             const char *self, bool starting)
{
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		const char *want = json_string_value(json_object_get(t, "DesiredState"));
		const char *node = json_string_value(json_object_get(t, "NodeID"));
		const char *state = tl__swarm_task_state(t);
		bool early = starting && !strcmp(state, "starting") && node && self &&
		             !strcmp(node, self);
		int port = tl__swarm_task_port(t, target);
		if (!port && early)
			port = local_port(d, t, target);
		if (!port || !node || !*node || !want || strcmp(want, "running") ||
		    (strcmp(state, "running") && !early))
			continue;
		char *host = NULL;
		int rc = node_addr(&host, d, node, self);
		if (rc == TL_OK && host)
			rc = tl__strv_pushf(out, "%s:%d", host, port);
		free(host);
		if (rc)
			return rc;
	}
	return TL_OK;
}

int tl__swarm_node_app_tasks(size_t *n, tl_docker *d, const char *node_id)
{
	json_t *tasks = NULL;
	int rc = tasks_by(&tasks, d, "node", node_id, "list the tasks of a node");
	if (rc)
		return rc;
	*n = 0;
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		const char *state = tl__swarm_task_state(t);
		const json_t *labels = json_object_get(
			json_object_get(json_object_get(json_object_get(t, "Spec"), "ContainerSpec"),
			                "Labels"),
			"towlion.app");
		*n += labels && (!strcmp(state, "running") || !strcmp(state, "starting"));
	}
	json_decref(tasks);
	return TL_OK;
}

/* ---- service logs ---------------------------------------------------- */

#define LOGS_MAX (256u << 10)

typedef struct {
	tl__docker_demux m;
	tl_buf *out;
} logs_state;

static int logs_emit(int stream, const char *data, size_t len, void *p)
{
	(void)stream;
	logs_state *s = p;
	if (s->out->size + len > LOGS_MAX)
		return TL_OK; /* a tail was asked for: more is noise */
	return tl__buf_put(s->out, data, len);
}

static int logs_sink(const char *data, size_t len, void *p)
{
	logs_state *s = p;
	return tl__docker_demux_feed(&s->m, data, len, logs_emit, s);
}

int tl__swarm_service_logs(tl_buf *out, tl_docker *d, const char *name, int tail)
{
	int rc = tl__docker_check_ref(name, "service name");
	if (rc)
		return rc;
	char *path = tl__sprintf("/services/%s/logs?stdout=1&stderr=1&tail=%d", name, tail);
	char *what = tl__sprintf("read the logs of service %s", name);
	logs_state s = {.out = out};
	tl__docker_demux_init(&s.m, 0); /* the platform never gives a service a TTY */
	tl_buf errbody = TL_BUF_INIT;
	long status = 0;
	if (path && what) {
		tl__docker_req r = {.path = path, .upload_len = -1, .sink = logs_sink,
		                    .sink_payload = &s, .timeout_ms = 30000, .what = what};
		rc = tl__docker_request(d, &r, &status, &errbody);
	} else {
		rc = TL_ENOMEM;
	}
	if (rc == TL_OK && status != 200)
		rc = tl__docker_error(status, errbody.ptr, errbody.size, what);
	tl_buf_dispose(&errbody);
	free(path);
	free(what);
	return rc;
}
