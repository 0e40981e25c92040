/* The parsed compose plan: the public handle and its getters, all thin
 * reads of the plan's JSON. */
#include "compose_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int cp_finish(tl_compose **out, json_t *plan)
{
	tl_compose *c = tl__calloc(1, sizeof(*c));
	if (!c)
		return TL_ENOMEM;
	c->plan = json_incref(plan);
	json_t *svcs = json_object_get(plan, "services");
	c->nsvc = json_array_size(svcs);
	c->svc = tl__calloc(c->nsvc ? c->nsvc : 1, sizeof(*c->svc));
	if (!c->svc) {
		tl_compose_free(c);
		return TL_ENOMEM;
	}
	for (size_t i = 0; i < c->nsvc; i++) {
		c->svc[i].j = json_array_get(svcs, i);
		c->svc[i].c = c;
	}
	int rc = cp_start_order(c);
	if (rc) {
		tl_compose_free(c);
		return rc;
	}
	json_t *order = json_array();
	for (size_t i = 0; i < c->nsvc; i++)
		json_array_append(order, json_object_get(c->svc[c->order[i]].j, "name"));
	json_object_set_new(plan, "start_order", order);
	/* x-towlion with its defaults filled in */
	json_t *xt = json_object_get(plan, "x-towlion");
	if (!json_object_get(xt, "web_service"))
		json_object_set_new(xt, "web_service", json_string("app"));
	if (!json_object_get(xt, "port"))
		json_object_set_new(xt, "port", json_integer(8000));
	if (!json_object_get(xt, "health_path"))
		json_object_set_new(xt, "health_path", json_string("/health"));
	*out = c;
	return TL_OK;
}

void tl_compose_free(tl_compose *c)
{
	if (!c)
		return;
	json_decref(c->plan);
	json_decref(c->vars);
	json_decref(c->dotenv);
	free(c->svc);
	free(c->order);
	free(c);
}

/* A copy of an env file's keys and values (NULL stays NULL). */
static int copy_vars(json_t **out, const tl_envfile *env)
{
	*out = NULL;
	if (!env)
		return TL_OK;
	if (!(*out = json_object()))
		return tl__error_oom();
	for (size_t i = 0; i < tl_envfile_count(env); i++) {
		const char *k, *v;
		tl_envfile_at(env, i, &k, &v);
		json_t *js = json_string(v);
		if (!js) /* not UTF-8: a variable nobody can look up */
			continue;
		if (json_object_set_new(*out, k, js))
			return tl__error_oom();
	}
	return TL_OK;
}

int cp_keep_vars(tl_compose *c, const tl_envfile *vars, const tl_envfile *dotenv,
                 int use_process_env)
{
	c->use_process_env = use_process_env;
	int rc = copy_vars(&c->vars, vars);
	return rc ? rc : copy_vars(&c->dotenv, dotenv);
}

/* The same order as the file's own interpolation (tl__compose_var). */
static const char *env_file_var(const char *name, void *p)
{
	const tl_compose *c = p;
	const char *v = json_string_value(json_object_get(c->vars, name));
	if (!v && c->use_process_env)
		v = getenv(name);
	return v ? v : json_string_value(json_object_get(c->dotenv, name));
}

typedef struct {
	const tl_compose *c;
	json_t *earlier; /* the keys of the service's env_files read before */
} env_file_scope;

/* Compose resolves an env_file's variables from the service's earlier
 * env_files first, then from the project's variables. */
static const char *env_file_scoped_var(const char *name, void *p)
{
	const env_file_scope *sc = p;
	const char *v = json_string_value(json_object_get(sc->earlier, name));
	return v ? v : env_file_var(name, (void *)sc->c);
}

/* Read env_file `i` in `sc`; a missing file with required: false reads
 * as empty, as Compose skips it. */
static int read_one(const tl_compose_service *s, size_t i, env_file_scope *sc, tl_envfile **out)
{
	tl_envfile_options o = TL_ENVFILE_OPTIONS_INIT;
	o.flags = TL_ENVFILE_INTERPOLATE;
	o.lookup = env_file_scoped_var;
	o.payload = sc;
	json_t *req = json_array_get(json_object_get(s->j, "env_file_required"), i);
	if (json_is_false(req))
		o.flags |= TL_ENVFILE_CREATE;
	return tl_envfile_read(out, tl_compose_service_env_file_at(s, i), &o);
}

int tl_compose_service_env_file_read(const tl_compose_service *s, size_t i, tl_envfile **out)
{
	TL__CHECK_ARG(s && out);
	if (i >= tl_compose_service_env_file_count(s))
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_INPUT, "service %s has no env_file %zu",
		                     tl_compose_service_name(s), i);
	env_file_scope sc = {s->c, json_object()};
	int rc = sc.earlier ? TL_OK : tl__error_oom();
	for (size_t k = 0; rc == TL_OK && k < i; k++) {
		tl_envfile *before = NULL;
		rc = read_one(s, k, &sc, &before);
		for (size_t e = 0; rc == TL_OK && e < tl_envfile_count(before); e++) {
			const char *key, *value;
			tl_envfile_at(before, e, &key, &value);
			json_t *js = json_string(value);
			if (js && json_object_set_new(sc.earlier, key, js))
				rc = tl__error_oom();
		}
		tl_envfile_free(before);
	}
	if (rc == TL_OK)
		rc = read_one(s, i, &sc, out);
	json_decref(sc.earlier);
	return rc;
}

size_t tl_compose_warning_count(const tl_compose *c)
{
	return c ? json_array_size(json_object_get(c->plan, "warnings")) : 0;
}

const char *tl_compose_warning_at(const tl_compose *c, size_t i)
{
	return c ? json_string_value(json_array_get(json_object_get(c->plan, "warnings"), i))
	         : NULL;
}

size_t tl_compose_service_count(const tl_compose *c)
{
	return c ? c->nsvc : 0;
}

const tl_compose_service *tl_compose_service_at(const tl_compose *c, size_t i)
{
	return c && i < c->nsvc ? &c->svc[i] : NULL;
}

const tl_compose_service *tl_compose_service_get(const tl_compose *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->nsvc; i++)
		if (!strcmp(tl_compose_service_name(&c->svc[i]), name))
			return &c->svc[i];
	return NULL;
}

const tl_compose_service *tl_compose_start_order_at(const tl_compose *c, size_t i)
{
	return c && i < c->nsvc ? &c->svc[c->order[i]] : NULL;
}

size_t tl_compose_volume_name_count(const tl_compose *c)
{
	return c ? json_array_size(json_object_get(c->plan, "volumes")) : 0;
}

const char *tl_compose_volume_name_at(const tl_compose *c, size_t i)
{
	return c ? json_string_value(json_array_get(json_object_get(c->plan, "volumes"), i)) : NULL;
}

size_t tl_compose_network_name_count(const tl_compose *c)
{
	return c ? json_array_size(json_object_get(c->plan, "networks")) : 0;
}

const char *tl_compose_network_name_at(const tl_compose *c, size_t i)
{
	return c ? json_string_value(json_array_get(json_object_get(c->plan, "networks"), i)) : NULL;
}

static const char *xt(const tl_compose *c, const char *key)
{
	return c ? json_string_value(json_object_get(json_object_get(c->plan, "x-towlion"), key))
	         : NULL;
}

const char *tl_compose_web_service(const tl_compose *c)
{
	return xt(c, "web_service");
}

int tl_compose_web_port(const tl_compose *c)
{
	return c ? (int)json_integer_value(json_object_get(json_object_get(c->plan, "x-towlion"),
	                                                   "port"))
	         : 0;
}

const char *tl_compose_health_path(const tl_compose *c)
{
	return xt(c, "health_path");
}

const char *tl_compose_release_command(const tl_compose *c)
{
	return xt(c, "release_command");
}

const char *tl_compose_domain(const tl_compose *c)
{
	return xt(c, "domain");
}

size_t tl_compose_route_count(const tl_compose *c)
{
	return c ? json_array_size(json_object_get(json_object_get(c->plan, "x-towlion"), "routes"))
	         : 0;
}

int tl_compose_route_at(const tl_compose *c, size_t i, const char **path, const char **service,
                        int *port, const char **health_path)
{
	TL__CHECK_ARG(c);
	json_t *r = json_array_get(json_object_get(json_object_get(c->plan, "x-towlion"), "routes"), i);
	if (!r)
		return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_COMPOSE, "no route %zu", i);
	if (path)
		*path = json_string_value(json_object_get(r, "path"));
	if (service)
		*service = json_string_value(json_object_get(r, "service"));
	if (port)
		*port = (int)json_integer_value(json_object_get(r, "port"));
	if (health_path)
		*health_path = json_string_value(json_object_get(r, "health_path"));
	return TL_OK;
}

/* Environment values may be secrets: the JSON shows them only when the
 * name does not look like one and the value carries no credentials. */
static int looks_secret(const char *key, const char *value)
{
	static const char *const words[] = {"PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL",
	                                    "PRIVATE", "AUTH", "SALT"};
	char up[128];
	size_t i = 0;
	for (; key[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)key[i]);
	up[i] = '\0';
	for (size_t w = 0; w < TL__ARRAY_SIZE(words); w++)
		if (strstr(up, words[w]))
			return 1;
	const char *scheme = strstr(value, "://");
	return scheme && strchr(scheme, '@');
}

int tl_compose_to_json(tl_buf *out, const tl_compose *c)
{
	TL__CHECK_ARG(out && c);
	json_t *copy = json_deep_copy(c->plan);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(copy, "services"), i, s) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(s, "environment"), k, v) {
			if (looks_secret(k, json_string_value(v)))
				json_string_set(v, "***");
		}
		json_object_foreach(json_object_get(json_object_get(s, "build"), "args"), k, v) {
			if (looks_secret(k, json_string_value(v)))
				json_string_set(v, "***");
		}
	}
	char *text = copy ? json_dumps(copy, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(copy);
	if (!text)
		return tl__error_oom();
	int rc = tl__buf_set(out, text, strlen(text));
	free(text);
	return rc;
}

/* ---- service getters ---- */

static json_t *F(const tl_compose_service *s, const char *k)
{
	return s ? json_object_get(s->j, k) : NULL;
}

static const char *S(json_t *v)
{
	const char *s = json_string_value(v);
	return s ? s : "";
}

/* The i-th pair of an object (objects keep their insertion order). */
static int pair_at(json_t *obj, size_t i, const char **key, const char **value)
{
	void *it = json_object_iter(obj);
	for (size_t k = 0; it && k < i; k++)
		it = json_object_iter_next(obj, it);
	if (!it)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "index %zu is out of range", i);
	if (key)
		*key = json_object_iter_key(it);
	if (value)
		*value = S(json_object_iter_value(it));
	return TL_OK;
}

const char *tl_compose_service_name(const tl_compose_service *s)
{
	return S(F(s, "name"));
}

const char *tl_compose_service_image(const tl_compose_service *s)
{
	return S(F(s, "image"));
}

const char *tl_compose_service_build_context(const tl_compose_service *s)
{
	return json_string_value(json_object_get(F(s, "build"), "context"));
}

const char *tl_compose_service_build_dockerfile(const tl_compose_service *s)
{
	return S(json_object_get(F(s, "build"), "dockerfile"));
}

const char *tl_compose_service_build_target(const tl_compose_service *s)
{
	return S(json_object_get(F(s, "build"), "target"));
}

size_t tl_compose_service_build_arg_count(const tl_compose_service *s)
{
	return json_object_size(json_object_get(F(s, "build"), "args"));
}

int tl_compose_service_build_arg_at(const tl_compose_service *s, size_t i, const char **key,
                                    const char **value)
{
	TL__CHECK_ARG(s);
	return pair_at(json_object_get(F(s, "build"), "args"), i, key, value);
}

#define LIST_GETTERS(fn, field)                                                            \
	size_t tl_compose_service_##fn##_count(const tl_compose_service *s)                    \
	{                                                                                      \
		return json_array_size(F(s, field));                                               \
	}                                                                                      \
	const char *tl_compose_service_##fn##_at(const tl_compose_service *s, size_t i)        \
	{                                                                                      \
		return json_string_value(json_array_get(F(s, field), i));                          \
	}

LIST_GETTERS(command, "command")
LIST_GETTERS(entrypoint, "entrypoint")
LIST_GETTERS(env_file, "env_file")
LIST_GETTERS(expose, "expose")
LIST_GETTERS(tmpfs, "tmpfs")
LIST_GETTERS(extra_host, "extra_hosts")
LIST_GETTERS(profile, "profiles")

size_t tl_compose_service_env_count(const tl_compose_service *s)
{
	return json_object_size(F(s, "environment"));
}

int tl_compose_service_env_at(const tl_compose_service *s, size_t i, const char **key,
                              const char **value)
{
	TL__CHECK_ARG(s);
	return pair_at(F(s, "environment"), i, key, value);
}

size_t tl_compose_service_label_count(const tl_compose_service *s)
{
	return json_object_size(F(s, "labels"));
}

int tl_compose_service_label_at(const tl_compose_service *s, size_t i, const char **key,
                                const char **value)
{
	TL__CHECK_ARG(s);
	return pair_at(F(s, "labels"), i, key, value);
}

size_t tl_compose_service_port_count(const tl_compose_service *s)
{
	return json_array_size(F(s, "ports"));
}

int tl_compose_service_port_at(const tl_compose_service *s, size_t i, const char **host_ip,
                               int *host_port, int *container_port, const char **protocol)
{
	TL__CHECK_ARG(s);
	json_t *p = json_array_get(F(s, "ports"), i);
	if (!p)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "port %zu is out of range", i);
	if (host_ip)
		*host_ip = S(json_object_get(p, "host_ip"));
	if (host_port)
		*host_port = (int)json_integer_value(json_object_get(p, "host_port"));
	if (container_port)
		*container_port = (int)json_integer_value(json_object_get(p, "container_port"));
	if (protocol)
		*protocol = S(json_object_get(p, "protocol"));
	return TL_OK;
}

size_t tl_compose_service_volume_count(const tl_compose_service *s)
{
	return json_array_size(F(s, "volumes"));
}

int tl_compose_service_volume_at(const tl_compose_service *s, size_t i, const char **type,
                                 const char **source, const char **target, int *read_only)
{
	TL__CHECK_ARG(s);
	json_t *v = json_array_get(F(s, "volumes"), i);
	if (!v)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "volume %zu is out of range", i);
	if (type)
		*type = S(json_object_get(v, "type"));
	if (source)
		*source = S(json_object_get(v, "source"));
	if (target)
		*target = S(json_object_get(v, "target"));
	if (read_only)
		*read_only = json_is_true(json_object_get(v, "read_only"));
	return TL_OK;
}

size_t tl_compose_service_secret_count(const tl_compose_service *s)
{
	return json_array_size(F(s, "secrets"));
}

int tl_compose_service_secret_at(const tl_compose_service *s, size_t i, const char **source,
                                 const char **target, const char **env_key, int *uid, int *gid,
                                 int *mode)
{
	TL__CHECK_ARG(s);
	json_t *v = json_array_get(F(s, "secrets"), i);
	if (!v)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "secret %zu is out of range", i);
	if (source)
		*source = S(json_object_get(v, "source"));
	if (target)
		*target = S(json_object_get(v, "target"));
	if (env_key)
		*env_key = S(json_object_get(v, "environment"));
	if (uid)
		*uid = (int)json_integer_value(json_object_get(v, "uid"));
	if (gid)
		*gid = (int)json_integer_value(json_object_get(v, "gid"));
	if (mode)
		*mode = (int)json_integer_value(json_object_get(v, "mode"));
	return TL_OK;
}

size_t tl_compose_service_depends_count(const tl_compose_service *s)
{
	return json_array_size(F(s, "depends_on"));
}

int tl_compose_service_depends_at(const tl_compose_service *s, size_t i, const char **service,
                                  const char **condition)
{
	TL__CHECK_ARG(s);
	json_t *d = json_array_get(F(s, "depends_on"), i);
	if (!d)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "dependency %zu is out of range",
		                     i);
	if (service)
		*service = S(json_object_get(d, "service"));
	if (condition)
		*condition = S(json_object_get(d, "condition"));
	return TL_OK;
}

int tl_compose_service_healthcheck(const tl_compose_service *s)
{
	json_t *hc = F(s, "healthcheck");
	if (!hc)
		return 0;
	return json_is_true(json_object_get(hc, "disabled")) ? -1 : 1;
}

size_t tl_compose_service_healthcheck_test_count(const tl_compose_service *s)
{
	return json_array_size(json_object_get(F(s, "healthcheck"), "test"));
}

const char *tl_compose_service_healthcheck_test_at(const tl_compose_service *s, size_t i)
{
	return json_string_value(json_array_get(json_object_get(F(s, "healthcheck"), "test"), i));
}

static long hc_num(const tl_compose_service *s, const char *k)
{
	return (long)json_integer_value(json_object_get(F(s, "healthcheck"), k));
}

long tl_compose_service_healthcheck_interval_ms(const tl_compose_service *s)
{
	return hc_num(s, "interval_ms");
}

long tl_compose_service_healthcheck_timeout_ms(const tl_compose_service *s)
{
	return hc_num(s, "timeout_ms");
}

long tl_compose_service_healthcheck_start_period_ms(const tl_compose_service *s)
{
	return hc_num(s, "start_period_ms");
}

int tl_compose_service_healthcheck_retries(const tl_compose_service *s)
{
	return (int)hc_num(s, "retries");
}

const char *tl_compose_service_restart(const tl_compose_service *s)
{
	return S(F(s, "restart"));
}

static int tri(json_t *v)
{
	return v ? json_is_true(v) : -1;
}

int tl_compose_service_init(const tl_compose_service *s)
{
	return tri(F(s, "init"));
}

int tl_compose_service_read_only(const tl_compose_service *s)
{
	return tri(F(s, "read_only"));
}

const char *tl_compose_service_user(const tl_compose_service *s)
{
	return S(F(s, "user"));
}

const char *tl_compose_service_working_dir(const tl_compose_service *s)
{
	return S(F(s, "working_dir"));
}

long tl_compose_service_stop_grace_ms(const tl_compose_service *s)
{
	json_t *v = F(s, "stop_grace_period_ms");
	return v ? (long)json_integer_value(v) : -1;
}

const char *tl_compose_service_stop_signal(const tl_compose_service *s)
{
	return S(F(s, "stop_signal"));
}

double tl_compose_service_cpus(const tl_compose_service *s)
{
	return json_number_value(F(s, "cpus"));
}

int64_t tl_compose_service_memory(const tl_compose_service *s)
{
	return (int64_t)json_integer_value(F(s, "memory"));
}

int tl_compose_service_replicas(const tl_compose_service *s)
{
	json_t *v = F(s, "replicas");
	return v ? (int)json_integer_value(v) : -1;
}

size_t tl_compose_service_constraint_count(const tl_compose_service *s)
{
	return json_array_size(F(s, "constraints"));
}

const char *tl_compose_service_constraint_at(const tl_compose_service *s, size_t i)
{
	return S(json_array_get(F(s, "constraints"), i));
}

size_t tl_compose_service_network_count(const tl_compose_service *s)
{
	return json_array_size(F(s, "networks"));
}

const char *tl_compose_service_network_at(const tl_compose_service *s, size_t i)
{
	return json_string_value(json_object_get(json_array_get(F(s, "networks"), i), "name"));
}

size_t tl_compose_service_network_alias_count(const tl_compose_service *s, size_t i)
{
	return json_array_size(json_object_get(json_array_get(F(s, "networks"), i), "aliases"));
}

const char *tl_compose_service_network_alias_at(const tl_compose_service *s, size_t i, size_t j)
{
	return json_string_value(
		json_array_get(json_object_get(json_array_get(F(s, "networks"), i), "aliases"), j));
}
