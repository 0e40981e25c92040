/* Containers: the create spec (built up as the Engine API's JSON body)
 * and the lifecycle calls. */
#include "docker_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tl_docker_container_spec {
	char *name;
	json_t *body; /* the /containers/create request */
	char *network;
	json_t *aliases;
};

/* The object at body.key, created when missing. */
static json_t *obj(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);
	if (!o) {
		o = json_object();
		if (json_object_set_new(parent, key, o))
			return NULL;
	}
	return o;
}

static json_t *arr(json_t *parent, const char *key)
{
	json_t *a = json_object_get(parent, key);
	if (!a) {
		a = json_array();
		if (json_object_set_new(parent, key, a))
			return NULL;
	}
	return a;
}

static json_t *host_config(tl_docker_container_spec *s)
{
	return obj(s->body, "HostConfig");
}

/* A JSON string, or NULL (error set) when `v` is not UTF-8. */
static json_t *jstr(const char *v, const char *what)
{
	json_t *j = json_string(v);
	if (!j)
		tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "%s is not valid UTF-8", what);
	return j;
}

static int put(json_t *parent, const char *key, json_t *v)
{
	if (!parent || !v) {
		json_decref(v);
		return tl_error_last()->code == TL_EINVALID ? TL_EINVALID : tl__error_oom();
	}
	return json_object_set_new(parent, key, v) ? tl__error_oom() : TL_OK;
}

static int append(json_t *a, json_t *v)
{
	if (!a || !v) {
		json_decref(v);
		return tl_error_last()->code == TL_EINVALID ? TL_EINVALID : tl__error_oom();
	}
	return json_array_append_new(a, v) ? tl__error_oom() : TL_OK;
}

static json_t *argv_json(const char *const *argv, const char *what)
{
	json_t *a = json_array();
	for (const char *const *p = argv; a && p && *p; p++) {
		json_t *s = jstr(*p, what);
		if (!s || json_array_append_new(a, s)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int tl_docker_container_spec_new(tl_docker_container_spec **out, const char *image)
{
	TL__CHECK_ARG(out);
	int rc = tl__docker_check_ref(image, "image name");
	if (rc)
		return rc;
	tl_docker_container_spec *s = tl__calloc(1, sizeof(*s));
	if (!s)
		return TL_ENOMEM;
	s->body = json_pack("{s:s, s:{}}", "Image", image, "Labels");
	if (!s->body) {
		free(s);
		return tl__error_oom();
	}
	*out = s;
	return TL_OK;
}

void tl_docker_container_spec_free(tl_docker_container_spec *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->network);
	json_decref(s->body);
	json_decref(s->aliases);
	free(s);
}

int tl_docker_container_spec_set_name(tl_docker_container_spec *s, const char *name)
{
	TL__CHECK_ARG(s);
	if (name) {
		int rc = tl__docker_check_ref(name, "container name");
		if (rc)
			return rc;
		if (strchr(name, '/') || strchr(name, ':') || strchr(name, '@'))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "container name \"%s\" may only use [a-zA-Z0-9_.-]", name);
	}
	char *n = name ? tl__strdup(name) : NULL;
	if (name && !n)
		return TL_ENOMEM;
	free(s->name);
	s->name = n;
	return TL_OK;
}

int tl_docker_container_spec_set_cmd(tl_docker_container_spec *s, const char *const *argv)
{
	TL__CHECK_ARG(s && argv);
	return put(s->body, "Cmd", argv_json(argv, "command"));
}

int tl_docker_container_spec_set_entrypoint(tl_docker_container_spec *s,
                                            const char *const *argv)
{
	TL__CHECK_ARG(s && argv);
	return put(s->body, "Entrypoint", argv_json(argv, "entrypoint"));
}

int tl_docker_container_spec_add_env(tl_docker_container_spec *s, const char *key,
                                     const char *value)
{
	TL__CHECK_ARG(s && key && *key && value && !strchr(key, '='));
	char *kv = tl__sprintf("%s=%s", key, value);
	if (!kv)
		return TL_ENOMEM;
	json_t *j = jstr(kv, "environment value");
	tl__free_secret(kv); /* env values are often secrets */
	return append(arr(s->body, "Env"), j);
}

int tl_docker_container_spec_add_label(tl_docker_container_spec *s, const char *key,
                                       const char *value)
{
	TL__CHECK_ARG(s && key && *key && value);
	return put(obj(s->body, "Labels"), key, jstr(value, "label value"));
}

int tl_docker_container_spec_add_port(tl_docker_container_spec *s, int container_port,
                                      const char *proto, const char *host_ip, int host_port)
{
	TL__CHECK_ARG(s && container_port > 0 && container_port < 65536 && host_port >= 0 &&
	              host_port < 65536);
	if (!proto)
		proto = "tcp";
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "protocol \"%s\" is not tcp, udp or sctp", proto);
	char key[32], hp[8];
	snprintf(key, sizeof(key), "%d/%s", container_port, proto);
	snprintf(hp, sizeof(hp), "%d", host_port);
	int rc = put(obj(s->body, "ExposedPorts"), key, json_object());
	if (rc)
		return rc;
	json_t *binding = json_pack("{s:s, s:s}", "HostIp", host_ip ? host_ip : "", "HostPort",
	                            host_port ? hp : "");
	return append(arr(obj(host_config(s), "PortBindings"), key), binding);
}

static int add_mount(tl_docker_container_spec *s, const char *type, const char *source,
                     const char *target, int read_only)
{
	TL__CHECK_ARG(s && source && *source && target && target[0] == '/');
	json_t *m = json_pack("{s:s, s:s, s:s, s:b}", "Type", type, "Source", source, "Target",
	                      target, "ReadOnly", read_only != 0);
	if (!m)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "mount paths must be valid UTF-8");
	return append(arr(host_config(s), "Mounts"), m);
}

int tl_docker_container_spec_add_bind(tl_docker_container_spec *s, const char *source,
                                      const char *target, int read_only)
{
	TL__CHECK_ARG(s && source);
	if (source[0] != '/')
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "bind mount source \"%s\" must be an absolute path", source);
	return add_mount(s, "bind", source, target, read_only);
}

int tl_docker_container_spec_add_volume(tl_docker_container_spec *s, const char *volume,
                                        const char *target, int read_only)
{
	TL__CHECK_ARG(s);
	int rc = tl__docker_check_ref(volume, "volume name");
	if (rc)
		return rc;
	return add_mount(s, "volume", volume, target, read_only);
}

int tl_docker_container_spec_add_tmpfs(tl_docker_container_spec *s, const char *target,
                                       const char *options)
{
	TL__CHECK_ARG(s && target && target[0] == '/');
	return put(obj(host_config(s), "Tmpfs"), target, jstr(options ? options : "", "tmpfs"));
}

int tl_docker_container_spec_set_network(tl_docker_container_spec *s, const char *network)
{
	TL__CHECK_ARG(s);
	int rc = tl__docker_check_ref(network, "network name");
	if (rc)
		return rc;
	char *n = tl__strdup(network);
	if (!n)
		return TL_ENOMEM;
	free(s->network);
	s->network = n;
	return TL_OK;
}

int tl_docker_container_spec_add_alias(tl_docker_container_spec *s, const char *alias)
{
	TL__CHECK_ARG(s);
	int rc = tl__docker_check_ref(alias, "network alias");
	if (rc)
		return rc;
	if (!s->aliases && !(s->aliases = json_array()))
		return tl__error_oom();
	return append(s->aliases, json_string(alias));
}

int tl_docker_container_spec_set_restart(tl_docker_container_spec *s, const char *policy,
                                         int max_retries)
{
	TL__CHECK_ARG(s && policy && max_retries >= 0);
	if (strcmp(policy, "no") && strcmp(policy, "always") && strcmp(policy, "unless-stopped") &&
	    strcmp(policy, "on-failure"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "restart policy \"%s\" is not no, always, unless-stopped or "
		                     "on-failure", policy);
	return put(host_config(s), "RestartPolicy",
	           json_pack("{s:s, s:i}", "Name", strcmp(policy, "no") ? policy : "",
	                     "MaximumRetryCount", max_retries));
}

int tl_docker_container_spec_set_init(tl_docker_container_spec *s, int init)
{
	TL__CHECK_ARG(s);
	return put(host_config(s), "Init", json_boolean(init));
}

int tl_docker_container_spec_set_read_only(tl_docker_container_spec *s, int read_only)
{
	TL__CHECK_ARG(s);
	return put(host_config(s), "ReadonlyRootfs", json_boolean(read_only));
}

int tl_docker_container_spec_set_user(tl_docker_container_spec *s, const char *user)
{
	TL__CHECK_ARG(s && user);
	return put(s->body, "User", jstr(user, "user"));
}

int tl_docker_container_spec_set_workdir(tl_docker_container_spec *s, const char *dir)
{
	TL__CHECK_ARG(s && dir && dir[0] == '/');
	return put(s->body, "WorkingDir", jstr(dir, "working directory"));
}

int tl_docker_container_spec_set_tty(tl_docker_container_spec *s, int tty)
{
	TL__CHECK_ARG(s);
	return put(s->body, "Tty", json_boolean(tty));
}

int tl_docker_container_spec_set_healthcheck(tl_docker_container_spec *s,
                                             const char *const *test, long interval_ms,
                                             long timeout_ms, int retries,
                                             long start_period_ms)
{
	TL__CHECK_ARG(s && test && test[0] && interval_ms >= 0 && timeout_ms >= 0 &&
	              retries >= 0 && start_period_ms >= 0);
	if (strcmp(test[0], "CMD") && strcmp(test[0], "CMD-SHELL") && strcmp(test[0], "NONE"))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "a healthcheck test starts with CMD, CMD-SHELL or NONE, not "
		                     "\"%s\"", test[0]);
	json_t *hc = json_object();
	int rc = put(hc, "Test", argv_json(test, "healthcheck"));
	/* the API counts in nanoseconds */
	if (!rc && interval_ms)
		rc = put(hc, "Interval", json_integer((json_int_t)interval_ms * 1000000));
	if (!rc && timeout_ms)
		rc = put(hc, "Timeout", json_integer((json_int_t)timeout_ms * 1000000));
	if (!rc && start_period_ms)
		rc = put(hc, "StartPeriod", json_integer((json_int_t)start_period_ms * 1000000));
	if (!rc && retries)
		rc = put(hc, "Retries", json_integer(retries));
	if (rc) {
		json_decref(hc);
		return rc;
	}
	return put(s->body, "Healthcheck", hc);
}

int tl_docker_container_spec_set_cpus(tl_docker_container_spec *s, double cpus)
{
	TL__CHECK_ARG(s && cpus >= 0 && cpus <= 1024 && !isnan(cpus));
	return put(host_config(s), "NanoCpus", json_integer((json_int_t)(cpus * 1e9 + 0.5)));
}

int tl_docker_container_spec_set_memory(tl_docker_container_spec *s, int64_t bytes)
{
	TL__CHECK_ARG(s && bytes >= 0);
	if (bytes && bytes < 6 * 1024 * 1024)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "memory limit %lld bytes is below Docker's minimum of 6 MiB",
		                     (long long)bytes);
	return put(host_config(s), "Memory", json_integer((json_int_t)bytes));
}

int tl_docker_container_spec_add_extra_host(tl_docker_container_spec *s,
                                            const char *host_colon_ip)
{
	TL__CHECK_ARG(s && host_colon_ip && strchr(host_colon_ip, ':'));
	return append(arr(host_config(s), "ExtraHosts"), jstr(host_colon_ip, "extra host"));
}

int tl_docker_container_spec_set_stop(tl_docker_container_spec *s, const char *signal,
                                      int timeout_s)
{
	TL__CHECK_ARG(s && timeout_s >= 0);
	int rc = TL_OK;
	if (signal)
		rc = put(s->body, "StopSignal", jstr(signal, "stop signal"));
	if (!rc)
		rc = put(s->body, "StopTimeout", json_integer(timeout_s));
	return rc;
}

int tl_docker_container_spec_set_log(tl_docker_container_spec *s, const char *driver,
                                     const char *const *options)
{
	TL__CHECK_ARG(s && driver && *driver);
	json_t *lc = json_object(), *opts = json_object();
	int rc = put(lc, "Type", jstr(driver, "logging driver"));
	for (size_t i = 0; rc == TL_OK && options && options[i]; i++) {
		const char *eq = strchr(options[i], '=');
		if (!eq || eq == options[i]) {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                   "logging option \"%s\" is not key=value", options[i]);
			break;
		}
		char *k = tl__strndup(options[i], (size_t)(eq - options[i]));
		rc = k ? put(opts, k, jstr(eq + 1, "logging option")) : TL_ENOMEM;
		free(k);
	}
	if (rc == TL_OK) {
		rc = put(lc, "Config", opts);
		opts = NULL;
	}
	json_decref(opts);
	if (rc) {
		json_decref(lc);
		return rc;
	}
	return put(host_config(s), "LogConfig", lc);
}

/* The full request body, with the network part added. */
static json_t *request_body(const tl_docker_container_spec *s)
{
	json_t *b = json_deep_copy(s->body);
	if (b && s->network) {
		json_t *ep = json_object();
		if (s->aliases)
			json_object_set(ep, "Aliases", s->aliases);
		json_object_set_new(obj(b, "HostConfig"), "NetworkMode", json_string(s->network));
		json_t *nc = json_pack("{s:{s:o}}", "EndpointsConfig", s->network, ep);
		json_object_set_new(b, "NetworkingConfig", nc);
	}
	return b;
}

int tl_docker_container_spec_json(tl_buf *out, const tl_docker_container_spec *s)
{
	TL__CHECK_ARG(out && s);
	json_t *b = request_body(s);
	json_t *env = json_object_get(b, "Env");
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) { /* values may be secrets: show only names */
		const char *kv = json_string_value(v);
		const char *eq = strchr(kv, '=');
		char *masked = tl__sprintf("%.*s=***", (int)(eq - kv), kv);
		json_array_set_new(env, i, json_string(masked ? masked : "***"));
		free(masked);
	}
	char *text = b ? json_dumps(b, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(b);
	if (!text)
		return tl__error_oom();
	int rc = tl__buf_set(out, text, strlen(text));
	free(text);
	return rc;
}

/* ---- lifecycle ---- */

int tl_docker_container_create(tl_buf *id, tl_docker *d, const tl_docker_container_spec *spec)
{
	TL__CHECK_ARG(d && spec);
	tl_buf path = TL_BUF_INIT;
	int rc = tl__buf_puts(&path, "/containers/create");
	if (!rc && spec->name)
		rc = tl__buf_printf(&path, "?name=%s", spec->name);
	json_t *body = request_body(spec);
	const char *image = json_string_value(json_object_get(spec->body, "Image"));
	char *what = spec->name ? tl__sprintf("create container %s from %s", spec->name, image)
	                        : tl__sprintf("create a container from %s", image);
	json_t *ans = NULL;
	if (!rc)
		rc = body && what ? tl__docker_call(d, "POST", path.ptr, body, &ans, 0, what) : TL_ENOMEM;
	json_decref(body);
	free(what);
	tl_buf_dispose(&path);
	if (rc)
		return rc;
	const char *cid = json_string_value(json_object_get(ans, "Id"));
	if (!cid)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER, "Docker created a container but "
		                                               "answered no id");
	else if (id)
		rc = tl__buf_set(id, cid, strlen(cid));
	json_decref(ans);
	return rc;
}

/* POST /containers/{id}/<verb>[query], with `ok` (e.g. 304) also fine. */
static int simple(tl_docker *d, const char *method, const char *container, const char *verb,
                  const char *query, long ok, const char *desc, long timeout_ms)
{
	TL__CHECK_ARG(d);
	int rc = tl__docker_check_ref(container, "container name");
	if (rc)
		return rc;
	char *path = tl__sprintf("/containers/%s%s%s%s", container, verb[0] ? "/" : "", verb,
	                         query ? query : "");
	char *what = tl__sprintf("%s container %s", desc, container);
	if (!path || !what) {
		free(path);
		free(what);
		return TL_ENOMEM;
	}
	tl__docker_req r = {.method = method, .path = path, .upload_len = -1, .timeout_ms = timeout_ms,
	            .what = what};
	tl_buf body = TL_BUF_INIT;
	long status = 0;
	rc = tl__docker_request(d, &r, &status, &body);
	if (!rc && (status < 200 || status > 299) && status != ok)
		rc = tl__docker_error(status, body.ptr, body.size, what);
	tl_buf_dispose(&body);
	free(path);
	free(what);
	return rc;
}

int tl_docker_container_start(tl_docker *d, const char *container)
{
	return simple(d, "POST", container, "start", NULL, 304, "start", 60000);
}

static long stop_budget(int timeout_s)
{
	return ((long)(timeout_s < 0 ? 300 : timeout_s) + 30) * 1000;
}

int tl_docker_container_stop(tl_docker *d, const char *container, int timeout_s)
{
	char q[32] = "";
	if (timeout_s >= 0)
		snprintf(q, sizeof(q), "?t=%d", timeout_s);
	return simple(d, "POST", container, "stop", q, 304, "stop", stop_budget(timeout_s));
}

int tl_docker_container_kill(tl_docker *d, const char *container, const char *signal)
{
	if (signal && tl__docker_check_ref(signal, "signal"))
		return TL_EINVALID;
	char q[48];
	snprintf(q, sizeof(q), "?signal=%s", signal ? signal : "SIGKILL");
	return simple(d, "POST", container, "kill", q, 0, "kill", 60000);
}

int tl_docker_container_restart(tl_docker *d, const char *container, int timeout_s)
{
	char q[32] = "";
	if (timeout_s >= 0)
		snprintf(q, sizeof(q), "?t=%d", timeout_s);
	return simple(d, "POST", container, "restart", q, 0, "restart", stop_budget(timeout_s));
}

int tl_docker_container_rename(tl_docker *d, const char *container, const char *new_name)
{
	if (!new_name || tl__docker_check_ref(new_name, "container name"))
		return new_name ? TL_EINVALID
		                : tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "no new name");
	char *q = tl__sprintf("?name=%s", new_name);
	int rc = q ? simple(d, "POST", container, "rename", q, 0, "rename", 60000) : TL_ENOMEM;
	free(q);
	return rc;
}

int tl_docker_container_remove(tl_docker *d, const char *container, unsigned int flags)
{
	char q[32];
	snprintf(q, sizeof(q), "?force=%d&v=%d", (flags & TL_DOCKER_REMOVE_FORCE) ? 1 : 0,
	         (flags & TL_DOCKER_REMOVE_VOLUMES) ? 1 : 0);
	return simple(d, "DELETE", container, "", q, 0, "remove", 120000);
}

int tl_docker_container_inspect(tl_docker_container **out, tl_docker *d,
                                const char *container)
{
	TL__CHECK_ARG(out && d);
	int rc = tl__docker_check_ref(container, "container name");
	if (rc)
		return rc;
	json_t *j = NULL;
	if ((rc = tl__docker_inspect(&j, d, "containers", "/json", "container", container)))
		return rc;
	tl_docker_container *c = tl__docker_container_wrap(j);
	json_decref(j);
	if (!c)
		return TL_ENOMEM;
	*out = c;
	return TL_OK;
}

int tl_docker_container_list_by_label(tl_docker_container_list **out, tl_docker *d,
                                      const char *const *label_filters, int all)
{
	TL__CHECK_ARG(out && d);
	json_t *j = NULL;
	int rc = tl__docker_list(&j, d, all ? "/containers/json?all=1" : "/containers/json",
	                 label_filters, "list containers");
	if (!rc)
		rc = tl__docker_container_list_new(out, j);
	json_decref(j);
	return rc;
}

int tl_docker_container_wait(int *exit_code, tl_docker *d, const char *container,
                             long timeout_ms)
{
	TL__CHECK_ARG(d && timeout_ms >= 0);
	int rc = tl__docker_check_ref(container, "container name");
	if (rc)
		return rc;
	char *path = tl__sprintf("/containers/%s/wait?condition=not-running", container);
	char *what = tl__sprintf("wait for container %s", container);
	if (!path || !what) {
		free(path);
		free(what);
		return TL_ENOMEM;
	}
	tl__docker_req r = {.method = "POST", .path = path, .upload_len = -1, .timeout_ms = timeout_ms,
	            .what = what};
	tl_buf body = TL_BUF_INIT;
	long status = 0;
	rc = tl__docker_request(d, &r, &status, &body);
	if (rc == TL_ETIMEOUT)
		rc = tl__error_set(TL_ETIMEOUT, TL_ERRCLASS_DOCKER,
		                   "container %s was still running after %ld ms", container,
		                   timeout_ms);
	if (!rc && status != 200)
		rc = tl__docker_error(status, body.ptr, body.size, what);
	json_t *j = rc ? NULL : json_loadb(body.ptr, body.size, 0, NULL);
	json_t *sc = json_object_get(j, "StatusCode");
	const char *err = json_string_value(json_object_get(json_object_get(j, "Error"),
	                                                    "Message"));
	if (!rc && err && *err)
		rc = tl__error_set(TL_ERROR, TL_ERRCLASS_DOCKER, "waiting for %s: %s", container,
		                   err);
	else if (!rc && !json_is_integer(sc))
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_DOCKER,
		                   "waiting for %s: Docker answered no exit code", container);
	if (!rc && exit_code)
		*exit_code = (int)json_integer_value(sc);
	json_decref(j);
	tl_buf_dispose(&body);
	free(path);
	free(what);
	return rc;
}
