/* One service of a compose file: every key of the supported subset, the
 * strict policy's refusals, and warnings for the rest. */
#include "reader.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
	tl__compose_reader *r;
	const char *name; /* service name */
	json_t *svc;
} service_reader;

#define LABEL_MAX 200

static const char *label(const service_reader *s, const char *key, char *buf)
{
	snprintf(buf, LABEL_MAX, "service %s: %s", s->name, key);
	return buf;
}

/* "service app: ports" for messages. Each use has its own buffer (a
 * compound literal lives as long as the calling block), so a label still
 * in use is never overwritten by the next one. */
#define W(s, key) label((s), (key), (char[LABEL_MAX]){0})

static int set(json_t *o, const char *k, json_t *v)
{
	if (!v)
		return tl__error_oom();
	return json_object_set_new(o, k, v) ? tl__error_oom() : TL_OK;
}

static int set_str(service_reader *s, const tl__compose_pair *p, const char *as)
{
	char *v = NULL;
	const char *what = W(s, p->key);
	int rc = tl__compose_str(s->r, p->val, what, &v);
	if (!rc) {
		json_t *j = json_string(v);
		rc = j ? set(s->svc, as, j) : tl__compose_fail(s->r, p->val, "%s is not UTF-8", what);
	}
	free(v);
	return rc;
}

/* An argv from a string (split like a shell) or a list. */
static int argv_of(service_reader *s, const tl__compose_pair *p, json_t **out)
{
	yaml_node_t *n = p->val;
	if (n->type == YAML_SCALAR_NODE) {
		char *v = NULL;
		int rc = tl__compose_str(s->r, n, W(s, p->key), &v);
		if (!rc)
			rc = tl__compose_locate(s->r, n, cp_shell_split(out, v));
		free(v);
		return rc;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return tl__compose_fail(s->r, n, "%s must be a string or a list", W(s, p->key));
	return tl__compose_str_list(s->r, n, W(s, p->key), out);
}

static int k_argv(service_reader *s, const tl__compose_pair *p)
{
	json_t *a = NULL;
	int rc = argv_of(s, p, &a);
	return rc ? rc : set(s->svc, p->key, a);
}

static int k_build(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	json_t *b = json_object();
	char *ctx = NULL;
	int rc = TL_OK;
	if (p->val->type == YAML_SCALAR_NODE) {
		rc = tl__compose_str(r, p->val, W(s, "build"), &ctx);
	} else {
		tl__compose_pair *q = NULL;
		size_t nq = 0;
		rc = tl__compose_pairs(r, p->val, W(s, "build"), &q, &nq);
		for (size_t i = 0; !rc && i < nq; i++) {
			const char *k = q[i].key;
			char *v = NULL;
			if (!strcmp(k, "context")) {
				free(ctx);
				ctx = NULL;
				rc = tl__compose_str(r, q[i].val, W(s, "build.context"), &ctx);
			} else if (!strcmp(k, "dockerfile") || !strcmp(k, "target")) {
				if (!(rc = tl__compose_str(r, q[i].val, W(s, "build value"), &v))) {
					if (!strcmp(k, "dockerfile") &&
					    (v[0] == '/' || !strcmp(v, "..") || strstr(v, "../")))
						rc = tl__compose_fail(r, q[i].val,
						             "service %s: build.dockerfile \"%s\" must be a path "
						             "inside the build context", s->name, v);
					else
						rc = set(b, k, json_string(v));
				}
			} else if (!strcmp(k, "args")) {
				json_t *args = NULL;
				if (!(rc = tl__compose_key_values(r, q[i].val, W(s, "build.args"), 1, &args))) {
					/* an arg without value takes the variable's value */
					const char *ak;
					json_t *av, *resolved = json_object();
					json_object_foreach(args, ak, av) {
						const char *val = json_is_null(av) ? tl__compose_var(ak, r) : json_string_value(av);
						if (val)
							json_object_set_new(resolved, ak, json_string(val));
					}
					json_decref(args);
					rc = set(b, "args", resolved);
				}
			} else if (!tl__str_startswith(k, "x-")) {
				tl__compose_warn(r, q[i].knode, "service %s: build: unknown or unsupported key \"%s\" "
				                       "(ignored)", s->name, k);
			}
			free(v);
		}
		free(q);
		if (!rc && !ctx)
			ctx = tl__strdup(".");
	}
	if (!rc) {
		char *abs = ctx ? tl__compose_abs_path(r, ctx) : NULL;
		if (!abs)
			rc = TL_ENOMEM;
		else if (r->policy == TL_COMPOSE_STRICT && !tl__compose_inside_app(r, abs))
			rc = tl__compose_fail(r, p->val,
			             "service %s: build context %s is outside the app directory %s, which "
			             "an untrusted compose file may not use", s->name, abs, r->app_dir);
		else
			rc = set(b, "context", json_string(abs));
		free(abs);
	}
	if (!rc && !json_object_get(b, "dockerfile"))
		rc = set(b, "dockerfile", json_string("Dockerfile"));
	free(ctx);
	if (rc) {
		json_decref(b);
		return rc;
	}
	return set(s->svc, "build", b);
}

static int k_environment(service_reader *s, const tl__compose_pair *p)
{
	json_t *m = NULL;
	int rc = tl__compose_key_values(s->r, p->val, W(s, "environment"), 1, &m);
	if (rc)
		return rc;
	json_t *env = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v) {
		/* KEY alone passes the variable through, and nothing when unset */
		const char *val = json_is_null(v) ? tl__compose_var(k, s->r) : json_string_value(v);
		if (val)
			json_object_set_new(env, k, json_string(val));
	}
	json_decref(m);
	return set(s->svc, "environment", env);
}

static int k_env_file(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	json_t *files = json_array(), *required = json_array();
	int rc = TL_OK;
	yaml_node_t *n = p->val;
	/* a string, a list of strings, or a list of {path, required} */
	json_t *paths = NULL;
	if (n->type == YAML_SEQUENCE_NODE) {
		paths = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     !rc && it < n->data.sequence.items.top; it++) {
			yaml_node_t *item = tl__compose_node(r, *it);
			char *v = NULL;
			int req = 1; /* Compose: a missing file is an error unless required: false */
			if (item->type == YAML_MAPPING_NODE) {
				tl__compose_pair *q = NULL;
				size_t nq = 0;
				rc = tl__compose_pairs(r, item, W(s, "env_file"), &q, &nq);
				for (size_t i = 0; !rc && i < nq; i++)
					if (!strcmp(q[i].key, "path"))
						rc = tl__compose_str(r, q[i].val, W(s, "env_file.path"), &v);
					else if (!strcmp(q[i].key, "required"))
						rc = tl__compose_bool(r, q[i].val, W(s, "env_file.required"), &req);
				free(q);
				if (!rc && !v)
					rc = tl__compose_fail(r, item, "service %s: env_file entry without path", s->name);
			} else {
				rc = tl__compose_str(r, item, W(s, "env_file"), &v);
			}
			if (!rc)
				json_array_append_new(paths, json_string(v));
			if (!rc)
				json_array_append_new(required, json_boolean(req));
			free(v);
		}
	} else {
		rc = tl__compose_str_list(r, n, W(s, "env_file"), &paths);
		for (size_t i = 0; !rc && i < json_array_size(paths); i++)
			json_array_append_new(required, json_true());
	}
	size_t i;
	json_t *e;
	json_array_foreach(paths, i, e) {
		if (rc)
			break;
		char *abs = tl__compose_abs_path(r, json_string_value(e));
		if (!abs)
			rc = TL_ENOMEM;
		else if (r->policy == TL_COMPOSE_STRICT && !tl__compose_inside_app(r, abs))
			rc = tl__compose_fail(r, n,
			             "service %s: env_file %s is outside the app directory %s, which an "
			             "untrusted compose file may not read", s->name, abs, r->app_dir);
		else
			json_array_append_new(files, json_string(abs));
		free(abs);
	}
	json_decref(paths);
	if (!rc)
		rc = set(s->svc, "env_file_required", required);
	else
		json_decref(required);
	if (rc) {
		json_decref(files);
		return rc;
	}
	return set(s->svc, "env_file", files);
}

static int k_ports(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	if (p->val->type != YAML_SEQUENCE_NODE)
		return tl__compose_fail(r, p->val, "service %s: ports must be a list", s->name);
	json_t *ports = json_array();
	int rc = TL_OK;
	for (yaml_node_item_t *it = p->val->data.sequence.items.start;
	     !rc && it < p->val->data.sequence.items.top; it++) {
		yaml_node_t *item = tl__compose_node(r, *it);
		if (item->type == YAML_SCALAR_NODE) {
			char *v = NULL;
			if (!(rc = tl__compose_str(r, item, W(s, "ports"), &v)))
				rc = tl__compose_locate(r, item, cp_ports_short(ports, v));
			free(v);
			continue;
		}
		tl__compose_pair *q = NULL;
		size_t nq = 0;
		long target = 0, published = 0;
		char *ip = NULL, *proto = NULL;
		rc = tl__compose_pairs(r, item, W(s, "ports"), &q, &nq);
		for (size_t i = 0; !rc && i < nq; i++) {
			const char *k = q[i].key;
			if (!strcmp(k, "target"))
				rc = tl__compose_int(r, q[i].val, W(s, "ports.target"), 1, 65535, &target);
			else if (!strcmp(k, "published"))
				rc = tl__compose_int(r, q[i].val, W(s, "ports.published"), 0, 65535, &published);
			else if (!strcmp(k, "host_ip"))
				rc = tl__compose_str(r, q[i].val, W(s, "ports.host_ip"), &ip);
			else if (!strcmp(k, "protocol"))
				rc = tl__compose_str(r, q[i].val, W(s, "ports.protocol"), &proto);
			else if (strcmp(k, "mode") && strcmp(k, "name") && strcmp(k, "app_protocol"))
				tl__compose_warn(r, q[i].knode, "service %s: ports: unknown key \"%s\" (ignored)",
				        s->name, k);
		}
		if (!rc && !target)
			rc = tl__compose_fail(r, item, "service %s: a port needs a target", s->name);
		if (!rc && proto && strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			rc = tl__compose_fail(r, item, "service %s: port protocol \"%s\" is not tcp or udp", s->name,
			             proto);
		if (!rc)
			json_array_append_new(ports, json_pack("{s:s, s:i, s:i, s:s}", "host_ip",
			                                       ip ? ip : "", "host_port", (int)published,
			                                       "container_port", (int)target, "protocol",
			                                       proto ? proto : "tcp"));
		free(ip);
		free(proto);
		free(q);
	}
	if (rc) {
		json_decref(ports);
		return rc;
	}
	return set(s->svc, "ports", ports);
}

static int k_expose(service_reader *s, const tl__compose_pair *p)
{
	json_t *a = NULL;
	int rc = tl__compose_str_list(s->r, p->val, W(s, "expose"), &a);
	if (rc)
		return rc;
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *v = json_string_value(e), *end = v;
		uint64_t port = 0;
		if (!tl__parse_digits(&port, &end) || port < 1 || port > 65535 ||
		    (*end && strcmp(end, "/tcp") && strcmp(end, "/udp"))) {
			int err = tl__compose_fail(s->r, p->val, "service %s: expose \"%s\" is not PORT[/PROTOCOL]",
			                 s->name, v);
			json_decref(a);
			return err;
		}
	}
	return set(s->svc, "expose", a);
}

/* The Docker socket, wherever it is mounted from. */
static int is_docker_socket(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strcmp(base, "docker.sock") || !strcmp(base, "containerd.sock") ||
	       !strcmp(path, "/var/run") || !strcmp(path, "/run");
}

/* STRICT, once the bind is known to stay in the app directory: read-only
 * (nothing of a preview may write its own checkout: a writer there could
 * plant the symlink that turns a later container's bind into the host's
 * "/"; data belongs in named volumes), and a directory or a file. */
static int strict_bind(tl__compose_reader *r, yaml_node_t *at, const char *svc, const char *abs,
                       const char *canon, int ro)
{
	if (!ro)
		return tl__compose_fail(r, at, "service %s: bind mount of %s is read-write, and an untrusted "
		                      "compose file may bind host paths read-only only: add \":ro\" "
		                      "(or read_only: true), or keep the data in a named volume",
		               svc, abs);
	struct stat st;
	if (lstat(canon, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return tl__compose_fail(r, at, "service %s: bind mount of %s is neither a directory nor a "
		                      "regular file, which is all an untrusted compose file may bind",
		               svc, abs);
	return TL_OK;
}

static int add_mount(service_reader *s, yaml_node_t *at, json_t *vols, const char *type,
                     const char *src,
                     const char *target, int ro)
{
	tl__compose_reader *r = s->r;
	if (!target || target[0] != '/')
		return tl__compose_fail(r, at, "service %s: mount target \"%s\" must be an absolute path",
		               s->name, target ? target : "");
	char *abs = NULL;
	if (!strcmp(type, "bind")) {
		if (r->policy == TL_COMPOSE_STRICT && src[0] == '~')
			return tl__compose_fail(r, at, "service %s: bind mount of %s (the home directory) is not "
			                      "allowed in an untrusted compose file", s->name, src);
		abs = tl__compose_abs_path(r, src);
		if (!abs)
			return TL_ENOMEM;
		char *canon = NULL;
		int rc = TL_OK;
		if (r->policy == TL_COMPOSE_STRICT &&
		    (is_docker_socket(abs) || is_docker_socket(target)))
			rc = tl__compose_fail(r, at, "service %s: mounting the Docker socket (%s) is not "
			                    "allowed in an untrusted compose file: it would give "
			                    "root on the server", s->name, abs);
		else if ((rc = tl__compose_canonical(r, abs, &canon)) == TL_ENOMEM)
			;
		else if (rc)
			rc = tl__compose_fail(r, at, "service %s: bind mount of %s is outside the app directory "
			                    "%s, which an untrusted compose file may not use (%s)",
			             s->name, abs, r->app_dir, tl_error_last()->message);
		else if (strchr(canon, ':') || strchr(target, ':'))
			/* the plan carries a bind as "source:target[:ro]" */
			rc = tl__compose_fail(r, at, "service %s: bind mount of %s on %s has a ':' in a path, "
			                    "which a bind cannot carry: rename it", s->name, canon, target);
		else if (r->policy == TL_COMPOSE_STRICT)
			rc = strict_bind(r, at, s->name, abs, canon, ro);
		else if (is_docker_socket(canon))
			tl__compose_warn(r, at, "service %s mounts the Docker socket %s: that gives it root on the "
			               "server", s->name, canon);
		free(abs);
		abs = canon;
		if (rc) {
			free(abs);
			return rc;
		}
		src = abs;
	} else if (!strcmp(type, "volume") && src && *src && !json_object_get(r->volumes, src)) {
		return tl__compose_fail(r, at, "service %s uses volume \"%s\", which is not declared under "
		                      "the top-level volumes:", s->name, src);
	}
	json_t *m = json_pack("{s:s, s:s, s:s, s:b}", "type", type, "source", src ? src : "",
	                      "target", target, "read_only", ro);
	free(abs);
	if (!m)
		return tl__compose_fail(r, at, "service %s: mount paths must be UTF-8", s->name);
	json_array_append_new(vols, m);
	return TL_OK;
}

static int volume_short(service_reader *s, yaml_node_t *item, json_t *vols, const char *spec)
{
	char *copy = tl__strdup(spec);
	if (!copy)
		return TL_ENOMEM;
	char *parts[4] = {0};
	int n = 0;
	for (char *tok = copy, *next; tok && n < 4; tok = next) {
		next = strchr(tok, ':');
		if (next)
			*next++ = '\0';
		parts[n++] = tok;
	}
	int rc = TL_OK, ro = 0;
	if (n > 3 || (n >= 2 && !*parts[0])) {
		rc = tl__compose_fail(s->r, item, "service %s: volume \"%s\" is not [SOURCE:]TARGET[:MODE]",
		             s->name, spec);
	} else if (n == 1) {
		rc = add_mount(s, item, vols, "volume", "", parts[0], 0);
	} else {
		if (n == 3) {
			char *save = NULL;
			for (char *o = strtok_r(parts[2], ",", &save); o && !rc;
			     o = strtok_r(NULL, ",", &save)) {
				if (!strcmp(o, "ro"))
					ro = 1;
				else if (strcmp(o, "rw") && strcmp(o, "z") && strcmp(o, "Z") &&
				         strcmp(o, "nocopy") && strcmp(o, "cached") && strcmp(o, "delegated") &&
				         strcmp(o, "consistent"))
					rc = tl__compose_fail(s->r, item, "service %s: volume mode \"%s\" is not ro or rw",
					             s->name, o);
			}
		}
		const char *src = parts[0];
		const char *type = (src[0] == '/' || src[0] == '.' || src[0] == '~') ? "bind" : "volume";
		if (!rc)
			rc = add_mount(s, item, vols, type, src, parts[1], ro);
	}
	free(copy);
	return rc;
}

static int k_volumes(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	if (p->val->type != YAML_SEQUENCE_NODE)
		return tl__compose_fail(r, p->val, "service %s: volumes must be a list", s->name);
	json_t *vols = json_array();
	int rc = TL_OK;
	for (yaml_node_item_t *it = p->val->data.sequence.items.start;
	     !rc && it < p->val->data.sequence.items.top; it++) {
		yaml_node_t *item = tl__compose_node(r, *it);
		if (item->type == YAML_SCALAR_NODE) {
			char *v = NULL;
			if (!(rc = tl__compose_str(r, item, W(s, "volumes"), &v)))
				rc = volume_short(s, item, vols, v);
			free(v);
			continue;
		}
		tl__compose_pair *q = NULL;
		size_t nq = 0;
		char *type = NULL, *src = NULL, *target = NULL;
		int ro = 0;
		rc = tl__compose_pairs(r, item, W(s, "volumes"), &q, &nq);
		for (size_t i = 0; !rc && i < nq; i++) {
			const char *k = q[i].key;
			if (!strcmp(k, "type"))
				rc = tl__compose_str(r, q[i].val, W(s, "volumes.type"), &type);
			else if (!strcmp(k, "source"))
				rc = tl__compose_str(r, q[i].val, W(s, "volumes.source"), &src);
			else if (!strcmp(k, "target"))
				rc = tl__compose_str(r, q[i].val, W(s, "volumes.target"), &target);
			else if (!strcmp(k, "read_only"))
				rc = tl__compose_bool(r, q[i].val, W(s, "volumes.read_only"), &ro);
			else if (strcmp(k, "bind") && strcmp(k, "volume") && strcmp(k, "tmpfs") &&
			         strcmp(k, "consistency"))
				tl__compose_warn(r, q[i].knode, "service %s: volumes: unknown key \"%s\" (ignored)",
				        s->name, k);
		}
		if (!rc && type && strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs"))
			rc = tl__compose_fail(r, item, "service %s: volume type \"%s\" is not bind, volume or tmpfs",
			             s->name, type);
		if (!rc && type && !strcmp(type, "bind") && (!src || !*src))
			rc = tl__compose_fail(r, item, "service %s: a bind mount needs a source", s->name);
		if (!rc)
			rc = add_mount(s, item, vols, type ? type : "volume", src ? src : "", target, ro);
		free(type);
		free(src);
		free(target);
		free(q);
	}
	if (rc) {
		json_decref(vols);
		return rc;
	}
	return set(s->svc, "volumes", vols);
}

static int k_tmpfs(service_reader *s, const tl__compose_pair *p)
{
	json_t *a = NULL;
	int rc = tl__compose_str_list(s->r, p->val, W(s, "tmpfs"), &a);
	if (rc)
		return rc;
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		if (json_string_value(e)[0] != '/') {
			int err = tl__compose_fail(s->r, p->val, "service %s: tmpfs \"%s\" must be an absolute path",
			                 s->name, json_string_value(e));
			json_decref(a);
			return err;
		}
	}
	return set(s->svc, "tmpfs", a);
}

static int k_depends_on(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	json_t *deps = json_array();
	int rc = TL_OK;
	if (p->val->type == YAML_SEQUENCE_NODE) {
		json_t *names = NULL;
		rc = tl__compose_str_list(r, p->val, W(s, "depends_on"), &names);
		size_t i;
		json_t *n;
		json_array_foreach(names, i, n) json_array_append_new(
			deps, json_pack("{s:O, s:s}", "service", n, "condition", "service_started"));
		json_decref(names);
	} else {
		tl__compose_pair *q = NULL;
		size_t nq = 0;
		rc = tl__compose_pairs(r, p->val, W(s, "depends_on"), &q, &nq);
		for (size_t i = 0; !rc && i < nq; i++) {
			char *cond = NULL;
			if (!tl__compose_is_null(q[i].val)) {
				tl__compose_pair *c = NULL;
				size_t nc = 0;
				rc = tl__compose_pairs(r, q[i].val, W(s, "depends_on entry"), &c, &nc);
				for (size_t k = 0; !rc && k < nc; k++) {
					if (!strcmp(c[k].key, "condition"))
						rc = tl__compose_str(r, c[k].val, W(s, "depends_on.condition"), &cond);
					else if (strcmp(c[k].key, "restart") && strcmp(c[k].key, "required"))
						tl__compose_warn(r, c[k].knode, "service %s: depends_on: unknown key \"%s\" "
						                       "(ignored)", s->name, c[k].key);
				}
				free(c);
			}
			if (!rc && cond && strcmp(cond, "service_started") && strcmp(cond, "service_healthy") &&
			    strcmp(cond, "service_completed_successfully"))
				rc = tl__compose_fail(r, q[i].val,
				             "service %s: depends_on condition \"%s\" is not service_started, "
				             "service_healthy or service_completed_successfully", s->name, cond);
			if (!rc)
				json_array_append_new(deps, json_pack("{s:s, s:s}", "service", q[i].key,
				                                      "condition", cond ? cond : "service_started"));
			free(cond);
		}
		free(q);
	}
	size_t i;
	json_t *d;
	json_array_foreach(deps, i, d) {
		if (!rc && !strcmp(json_string_value(json_object_get(d, "service")), s->name))
			rc = tl__compose_fail(r, p->val, "service %s depends on itself", s->name);
	}
	if (rc) {
		json_decref(deps);
		return rc;
	}
	return set(s->svc, "depends_on", deps);
}

static int k_healthcheck(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	tl__compose_pair *q = NULL;
	size_t nq = 0;
	json_t *hc = json_object();
	int rc = tl__compose_pairs(r, p->val, W(s, "healthcheck"), &q, &nq);
	for (size_t i = 0; !rc && i < nq; i++) {
		const char *k = q[i].key;
		if (!strcmp(k, "test")) {
			json_t *t = NULL;
			if (q[i].val->type == YAML_SCALAR_NODE) {
				char *v = NULL;
				if (!(rc = tl__compose_str(r, q[i].val, W(s, "healthcheck.test"), &v)))
					t = json_pack("[s, s]", "CMD-SHELL", v);
				free(v);
			} else if (!(rc = tl__compose_str_list(r, q[i].val, W(s, "healthcheck.test"), &t))) {
				const char *first = json_string_value(json_array_get(t, 0));
				if (!first || (strcmp(first, "CMD") && strcmp(first, "CMD-SHELL") &&
				               strcmp(first, "NONE")))
					rc = tl__compose_fail(r, q[i].val, "service %s: a healthcheck test list starts with "
					                          "CMD, CMD-SHELL or NONE", s->name);
				else if (strcmp(first, "NONE") && json_array_size(t) < 2)
					rc = tl__compose_fail(r, q[i].val, "service %s: healthcheck test %s has no command",
					             s->name, first);
				else if (!strcmp(first, "NONE"))
					json_object_set_new(hc, "disabled", json_true());
			}
			if (!rc)
				rc = set(hc, "test", t);
			else
				json_decref(t);
		} else if (!strcmp(k, "interval") || !strcmp(k, "timeout") ||
		           !strcmp(k, "start_period") || !strcmp(k, "start_interval")) {
			char *v = NULL;
			long ms = 0;
			if (!(rc = tl__compose_str(r, q[i].val, W(s, "healthcheck duration"), &v)))
				rc = tl__compose_locate(r, q[i].val, cp_duration_ms(&ms, v));
			free(v);
			char key[40];
			snprintf(key, sizeof(key), "%s_ms", k);
			if (!rc)
				rc = set(hc, key, json_integer(ms));
		} else if (!strcmp(k, "retries")) {
			long n = 0;
			if (!(rc = tl__compose_int(r, q[i].val, W(s, "healthcheck.retries"), 0, 1000, &n)))
				rc = set(hc, "retries", json_integer(n));
		} else if (!strcmp(k, "disable")) {
			int b = 0;
			if (!(rc = tl__compose_bool(r, q[i].val, W(s, "healthcheck.disable"), &b)) && b)
				rc = set(hc, "disabled", json_true());
		} else {
			tl__compose_warn(r, q[i].knode, "service %s: healthcheck: unknown key \"%s\" (ignored)",
			        s->name, k);
		}
	}
	free(q);
	if (!rc && !json_object_get(hc, "test") && !json_object_get(hc, "disabled"))
		rc = tl__compose_fail(r, p->val, "service %s: healthcheck needs a test (or disable: true)",
		             s->name);
	if (rc) {
		json_decref(hc);
		return rc;
	}
	return set(s->svc, "healthcheck", hc);
}

static int k_labels(service_reader *s, const tl__compose_pair *p)
{
	json_t *m = NULL;
	int rc = tl__compose_key_values(s->r, p->val, W(s, "labels"), 0, &m);
	if (rc)
		return rc;
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v) {
		if (tl__str_startswith(k, "towlion.")) {
			rc = tl__compose_fail(s->r, p->val, "service %s: label \"%s\": the towlion.* labels are "
			                           "the platform's own", s->name, k);
			json_decref(m);
			return rc;
		}
	}
	return set(s->svc, "labels", m);
}

static int k_restart(service_reader *s, const tl__compose_pair *p)
{
	char *v = NULL;
	int rc = tl__compose_str(s->r, p->val, W(s, "restart"), &v);
	if (rc)
		return rc;
	int ok = !strcmp(v, "no") || !strcmp(v, "always") || !strcmp(v, "unless-stopped") ||
	         !strcmp(v, "on-failure");
	if (!ok && tl__str_startswith(v, "on-failure:")) {
		uint64_t n;
		ok = tl_parse_uint(&n, v + 11, 0, 999999, "restart count") == TL_OK;
		tl_error_clear();
	}
	rc = ok ? set(s->svc, "restart", json_string(v))
	        : tl__compose_fail(s->r, p->val, "service %s: restart \"%s\" is not no, always, "
	                                "on-failure[:N] or unless-stopped", s->name, v);
	free(v);
	return rc;
}

static int k_bool(service_reader *s, const tl__compose_pair *p)
{
	int b = 0;
	int rc = tl__compose_bool(s->r, p->val, W(s, p->key), &b);
	return rc ? rc : set(s->svc, p->key, json_boolean(b));
}

static int k_stop_grace(service_reader *s, const tl__compose_pair *p)
{
	char *v = NULL;
	long ms = 0;
	int rc = tl__compose_str(s->r, p->val, W(s, "stop_grace_period"), &v);
	if (!rc)
		rc = tl__compose_locate(s->r, p->val, cp_duration_ms(&ms, v));
	free(v);
	return rc ? rc : set(s->svc, "stop_grace_period_ms", json_integer(ms));
}

static int cpus_of(service_reader *s, yaml_node_t *n, double *out)
{
	char *v = NULL;
	int rc = tl__compose_str(s->r, n, W(s, "cpus"), &v);
	if (rc)
		return rc;
	double d = 0;
	if (tl__parse_decimal(&d, v, 0, 1024, "cpus") || !(d > 0))
		rc = tl__compose_fail(s->r, n, "service %s: cpus \"%s\" is not a number of CPUs like 0.5",
		             s->name, v);
	else
		*out = d;
	free(v);
	return rc;
}

static int memory_of(service_reader *s, yaml_node_t *n, int64_t *out)
{
	char *v = NULL;
	int rc = tl__compose_str(s->r, n, W(s, "memory"), &v);
	if (!rc)
		rc = tl__compose_locate(s->r, n, cp_bytes(out, v));
	free(v);
	return rc;
}

static int k_cpus(service_reader *s, const tl__compose_pair *p)
{
	double d = 0;
	int rc = cpus_of(s, p->val, &d);
	if (rc || json_object_get(s->svc, "cpus_from_deploy"))
		return rc;
	return set(s->svc, "cpus", json_real(d));
}

static int k_mem_limit(service_reader *s, const tl__compose_pair *p)
{
	int64_t b = 0;
	int rc = memory_of(s, p->val, &b);
	if (rc || json_object_get(s->svc, "memory_from_deploy"))
		return rc;
	return set(s->svc, "memory", json_integer((json_int_t)b));
}

/* deploy.replicas: how many tasks of the service a swarm runs (the
 * single-server engine runs one and says so). Bounded: a typo of 10000
 * must not ask the cluster for ten thousand tasks. */
#define REPLICAS_MAX 100

static int replicas_of(service_reader *s, yaml_node_t *n)
{
	long l = 0;
	int rc = tl__compose_int(s->r, n, W(s, "deploy.replicas"), 0, REPLICAS_MAX, &l);
	return rc ? rc : set(s->svc, "replicas", json_integer(l));
}

/* deploy.placement: constraints (a list of strings, "node.role==manager"),
 * handed to Swarm as they are; its other keys are not used. */
static int placement_of(service_reader *s, yaml_node_t *n)
{
	tl__compose_reader *r = s->r;
	tl__compose_pair *q = NULL;
	size_t nq = 0;
	int rc = tl__compose_pairs(r, n, W(s, "deploy.placement"), &q, &nq);
	for (size_t i = 0; !rc && i < nq; i++) {
		if (strcmp(q[i].key, "constraints")) {
			tl__compose_warn(r, q[i].knode, "service %s: deploy.placement: unsupported key "
			                 "\"%s\" (ignored)", s->name, q[i].key);
			continue;
		}
		json_t *l = NULL;
		if (q[i].val->type != YAML_SEQUENCE_NODE)
			rc = tl__compose_fail(r, q[i].val, "service %s: deploy.placement.constraints "
			                      "must be a list of strings", s->name);
		else
			rc = tl__compose_str_list(r, q[i].val, W(s, "deploy.placement.constraints"), &l);
		if (!rc)
			rc = set(s->svc, "constraints", l);
	}
	free(q);
	return rc;
}

static int k_deploy(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	tl__compose_pair *q = NULL;
	size_t nq = 0;
	int rc = tl__compose_pairs(r, p->val, W(s, "deploy"), &q, &nq);
	for (size_t i = 0; !rc && i < nq; i++) {
		if (!strcmp(q[i].key, "replicas")) {
			rc = replicas_of(s, q[i].val);
			continue;
		}
		if (!strcmp(q[i].key, "placement")) {
			rc = placement_of(s, q[i].val);
			continue;
		}
		if (strcmp(q[i].key, "resources")) {
			tl__compose_warn(r, q[i].knode, "service %s: deploy: unsupported key \"%s\" (ignored)",
			        s->name, q[i].key);
			continue;
		}
		tl__compose_pair *res = NULL;
		size_t nr = 0;
		rc = tl__compose_pairs(r, q[i].val, W(s, "deploy.resources"), &res, &nr);
		for (size_t k = 0; !rc && k < nr; k++) {
			if (strcmp(res[k].key, "limits")) {
				tl__compose_warn(r, res[k].knode, "service %s: deploy.resources: unsupported key \"%s\" "
				                         "(ignored)", s->name, res[k].key);
				continue;
			}
			tl__compose_pair *lim = NULL;
			size_t nl = 0;
			rc = tl__compose_pairs(r, res[k].val, W(s, "deploy.resources.limits"), &lim, &nl);
			for (size_t m = 0; !rc && m < nl; m++) {
				if (!strcmp(lim[m].key, "cpus")) {
					double d = 0;
					if (!(rc = cpus_of(s, lim[m].val, &d))) {
						json_object_set_new(s->svc, "cpus", json_real(d));
						json_object_set_new(s->svc, "cpus_from_deploy", json_true());
					}
				} else if (!strcmp(lim[m].key, "memory")) {
					int64_t b = 0;
					if (!(rc = memory_of(s, lim[m].val, &b))) {
						json_object_set_new(s->svc, "memory", json_integer((json_int_t)b));
						json_object_set_new(s->svc, "memory_from_deploy", json_true());
					}
				} else {
					tl__compose_warn(r, lim[m].knode, "service %s: deploy.resources.limits: "
					                         "unsupported key \"%s\" (ignored)", s->name,
					        lim[m].key);
				}
			}
			free(lim);
		}
		free(res);
	}
	free(q);
	return rc;
}

static int k_extra_hosts(service_reader *s, const tl__compose_pair *p)
{
	json_t *a = NULL;
	int rc;
	if (p->val->type == YAML_MAPPING_NODE) {
		json_t *m = NULL;
		if ((rc = tl__compose_key_values(s->r, p->val, W(s, "extra_hosts"), 0, &m)))
			return rc;
		a = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(m, k, v) {
			char *e = tl__sprintf("%s:%s", k, json_string_value(v));
			json_array_append_new(a, json_string(e ? e : ""));
			free(e);
		}
		json_decref(m);
	} else if ((rc = tl__compose_str_list(s->r, p->val, W(s, "extra_hosts"), &a))) {
		return rc;
	}
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) {
		const char *v = json_string_value(e);
		const char *c = strchr(v, ':');
		if (!c || c == v || !c[1]) {
			int err = tl__compose_fail(s->r, p->val, "service %s: extra_hosts entry \"%s\" is not HOST:IP",
			                 s->name, v);
			json_decref(a);
			return err;
		}
	}
	return set(s->svc, "extra_hosts", a);
}

static int k_networks(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	json_t *nets = json_array();
	int rc = TL_OK;
	if (p->val->type == YAML_SEQUENCE_NODE) {
		json_t *names = NULL;
		rc = tl__compose_str_list(r, p->val, W(s, "networks"), &names);
		size_t i;
		json_t *n;
		json_array_foreach(names, i, n) json_array_append_new(
			nets, json_pack("{s:O, s:[]}", "name", n, "aliases"));
		json_decref(names);
	} else {
		tl__compose_pair *q = NULL;
		size_t nq = 0;
		rc = tl__compose_pairs(r, p->val, W(s, "networks"), &q, &nq);
		for (size_t i = 0; !rc && i < nq; i++) {
			json_t *aliases = json_array();
			if (!tl__compose_is_null(q[i].val)) {
				tl__compose_pair *c = NULL;
				size_t nc = 0;
				rc = tl__compose_pairs(r, q[i].val, W(s, "networks entry"), &c, &nc);
				for (size_t k = 0; !rc && k < nc; k++) {
					if (!strcmp(c[k].key, "aliases")) {
						json_decref(aliases);
						aliases = NULL;
						rc = tl__compose_str_list(r, c[k].val, W(s, "networks.aliases"), &aliases);
					} else {
						tl__compose_warn(r, c[k].knode, "service %s: networks: unsupported key \"%s\" "
						                       "(ignored)", s->name, c[k].key);
					}
				}
				free(c);
			}
			if (!rc)
				json_array_append_new(nets, json_pack("{s:s, s:o}", "name", q[i].key, "aliases",
				                                      aliases));
			else
				json_decref(aliases);
		}
		free(q);
	}
	size_t i;
	json_t *n;
	json_array_foreach(nets, i, n) {
		const char *name = json_string_value(json_object_get(n, "name"));
		if (!rc && strcmp(name, "default") && !json_object_get(r->networks, name))
			rc = tl__compose_fail(r, p->val, "service %s uses network \"%s\", which is not declared "
			                        "under the top-level networks:", s->name, name);
	}
	if (rc) {
		json_decref(nets);
		return rc;
	}
	return set(s->svc, "networks", nets);
}

static int k_secrets(service_reader *s, const tl__compose_pair *p)
{
	json_t *a = NULL;
	int rc = tl__compose_service_secrets(s->r, s->name, p->val, &a);
	return rc ? rc : set(s->svc, "secrets", a);
}

static int k_list(service_reader *s, const tl__compose_pair *p)
{
	json_t *a = NULL;
	int rc = tl__compose_str_list(s->r, p->val, W(s, p->key), &a);
	return rc ? rc : set(s->svc, p->key, a);
}

static int k_str(service_reader *s, const tl__compose_pair *p)
{
	return set_str(s, p, p->key);
}

/* Keys that reach into the host. STRICT refuses them; a trusted file gets
 * a warning, because towlion does not carry them out. */
static int k_host_access(service_reader *s, const tl__compose_pair *p)
{
	tl__compose_reader *r = s->r;
	const char *k = p->key;
	if (!strcmp(k, "privileged")) {
		int b = 0;
		int rc = tl__compose_bool(r, p->val, W(s, k), &b);
		if (rc || !b)
			return rc;
	}
	if (!strcmp(k, "network_mode") || !strcmp(k, "pid") || !strcmp(k, "ipc") ||
	    !strcmp(k, "uts")) {
		char *v = NULL;
		int rc = tl__compose_str(r, p->val, W(s, k), &v);
		int harmless = !rc && (!strcmp(v, "bridge") || !strcmp(v, "none") || !strcmp(v, "private") ||
		                       !strcmp(v, "shareable") || !strcmp(v, "default"));
		if (!rc && !harmless && r->policy == TL_COMPOSE_STRICT)
			rc = tl__compose_fail(r, p->knode, "service %s: %s: %s is not allowed in an untrusted "
			                          "compose file (it shares a namespace with the %s)",
			             s->name, k, v, tl__str_startswith(v, "host") ? "server" : "other container");
		free(v);
		if (rc || harmless || r->policy == TL_COMPOSE_STRICT)
			return rc;
		tl__compose_warn(r, p->knode, "service %s: %s is not supported by towlion (ignored)", s->name, k);
		return TL_OK;
	}
	if (r->policy == TL_COMPOSE_STRICT) {
		static const struct {
			const char *key, *why;
		} why[] = {
			{"privileged", "privileged mode gives the container root on the server"},
			{"cap_add", "added capabilities weaken the container's isolation"},
			{"devices", "host devices give the container direct access to the server"},
			{"security_opt", "security options can turn off the container's confinement"},
			{"userns_mode", "the user namespace mode can map the container's root to the server's"},
			{"volumes_from", "it mounts other containers' volumes"},
			{"cgroup_parent", "it moves the container out of Docker's resource control"},
			{"sysctls", "kernel parameters are the server's business"},
			{"device_cgroup_rules", "host devices give the container direct access to the server"},
		};
		for (size_t i = 0; i < TL__ARRAY_SIZE(why); i++)
			if (!strcmp(why[i].key, k))
				return tl__compose_fail(r, p->knode, "service %s: %s is not allowed in an untrusted "
				                            "compose file: %s", s->name, k, why[i].why);
	}
	tl__compose_warn(r, p->knode, "service %s: %s is not supported by towlion (ignored)", s->name, k);
	return TL_OK;
}

typedef int (*handler)(service_reader *, const tl__compose_pair *);
static const struct {
	const char *key;
	handler fn;
} keys[] = {
	{"image", k_str},
	{"build", k_build},
	{"command", k_argv},
	{"entrypoint", k_argv},
	{"environment", k_environment},
	{"env_file", k_env_file},
	{"ports", k_ports},
	{"expose", k_expose},
	{"volumes", k_volumes},
	{"tmpfs", k_tmpfs},
	{"depends_on", k_depends_on},
	{"healthcheck", k_healthcheck},
	{"labels", k_labels},
	{"restart", k_restart},
	{"init", k_bool},
	{"read_only", k_bool},
	{"user", k_str},
	{"working_dir", k_str},
	{"stop_grace_period", k_stop_grace},
	{"stop_signal", k_str},
	{"extra_hosts", k_extra_hosts},
	{"deploy", k_deploy},
	{"mem_limit", k_mem_limit},
	{"cpus", k_cpus},
	{"networks", k_networks},
	{"secrets", k_secrets},
	{"profiles", k_list},
	{"privileged", k_host_access},
	{"cap_add", k_host_access},
	{"devices", k_host_access},
	{"pid", k_host_access},
	{"ipc", k_host_access},
	{"uts", k_host_access},
	{"network_mode", k_host_access},
	{"security_opt", k_host_access},
	{"userns_mode", k_host_access},
	{"volumes_from", k_host_access},
	{"cgroup_parent", k_host_access},
	{"sysctls", k_host_access},
	{"device_cgroup_rules", k_host_access},
};

int tl__compose_service(tl__compose_reader *r, const char *name, yaml_node_t *knode,
                        yaml_node_t *val, json_t **out)
{
	service_reader s = {r, name, json_pack("{s:s}", "name", name)};
	if (!s.svc)
		return tl__error_oom();
	if (tl__compose_is_null(val)) {
		json_decref(s.svc);
		return tl__compose_fail(r, knode, "service %s is empty: it needs an image or a build", name);
	}
	tl__compose_pair *p = NULL;
	size_t np = 0;
	char what[128];
	snprintf(what, sizeof(what), "service %s", name);
	int rc = tl__compose_pairs(r, val, what, &p, &np);
	/* deploy limits win over mem_limit/cpus whatever their order */
	for (size_t i = 0; !rc && i < np; i++)
		if (!strcmp(p[i].key, "deploy"))
			rc = k_deploy(&s, &p[i]);
	for (size_t i = 0; !rc && i < np; i++) {
		const char *k = p[i].key;
		if (!strcmp(k, "deploy") || tl__str_startswith(k, "x-"))
			continue;
		size_t j = 0;
		while (j < TL__ARRAY_SIZE(keys) && strcmp(keys[j].key, k))
			j++;
		if (j < TL__ARRAY_SIZE(keys))
			rc = keys[j].fn(&s, &p[i]);
		else
			tl__compose_warn(r, p[i].knode, "service %s: unknown or unsupported key \"%s\" (ignored)",
			        name, k);
	}
	free(p);
	json_object_del(s.svc, "cpus_from_deploy");
	json_object_del(s.svc, "memory_from_deploy");
	if (!rc && !json_object_get(s.svc, "image") && !json_object_get(s.svc, "build"))
		rc = tl__compose_fail(r, knode, "service %s has neither image nor build", name);
	if (rc) {
		json_decref(s.svc);
		return rc;
	}
	*out = s.svc;
	return TL_OK;
}
