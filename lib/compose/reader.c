/* The compose reader: YAML (libyaml's document API, which keeps each
 * node's line) to a checked plan in JSON, then the public handle. */
#include "reader.h"

#include "towlion/validate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE (1u << 20) /* compose files are small; refuse huge input */
#define MAX_MERGE_DEPTH 16

unsigned long tl__compose_line(const yaml_node_t *n)
{
	return n ? (unsigned long)n->start_mark.line + 1 : 0;
}

int tl__compose_fail(tl__compose_reader *r, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE, "%s:%lu: %s", r->name, tl__compose_line(n),
	                     msg);
}

int tl__compose_locate(tl__compose_reader *r, const yaml_node_t *n, int rc)
{
	if (rc == TL_EINVALID)
		tl__error_prefix("%s:%lu", r->name, tl__compose_line(n));
	return rc;
}

void tl__compose_warn(tl__compose_reader *r, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* aliases can repeat a warning many times: keep the first ones */
	if (json_array_size(r->warnings) >= TL__COMPOSE_MAX_WARNINGS) {
		r->warnings_dropped++;
		return;
	}
	char *w = tl__sprintf("%s:%lu: %s", r->name, tl__compose_line(n), msg);
	if (w)
		json_array_append_new(r->warnings, json_string(w));
	free(w);
}

yaml_node_t *tl__compose_node(tl__compose_reader *r, int index)
{
	return yaml_document_get_node(&r->doc, index);
}

int tl__compose_is_null(const yaml_node_t *n)
{
	if (!n)
		return 1;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* What one tl__compose_pairs() call collects: the pairs, and an index of their
 * keys so that a mapping with many keys stays linear, not quadratic. */
typedef struct {
	tl__compose_pair *v;
	size_t n, cap;
	json_t *index; /* key -> position in v */
} pairs_acc;

/* Every key, value and list item the reader visits costs one unit of
 * r->work. Anchors, aliases and `<<` let a small file name the same nodes
 * many times over (a "billion laughs"); the budget stops that early with
 * a clear error instead of exponential time and memory. */
int tl__compose_charge(tl__compose_reader *r, const yaml_node_t *n, size_t units)
{
	r->work += units;
	if (r->work > TL__COMPOSE_MAX_WORK)
		return tl__compose_fail(r, n,
		               "anchors, aliases and merge keys (<<) expand this file to more "
		               "than %u keys and values (the limit); write the file out plainly",
		               TL__COMPOSE_MAX_WORK);
	return TL_OK;
}

static int add_pairs(tl__compose_reader *r, yaml_node_t *map, const char *what, pairs_acc *acc,
                     int explicit_only, int depth)
{
	if (depth > MAX_MERGE_DEPTH)
		return tl__compose_fail(r, map, "%s: merge keys (<<) nest deeper than %d levels (the limit)",
		               what, MAX_MERGE_DEPTH);
	if (map->type != YAML_MAPPING_NODE)
		return tl__compose_fail(r, map, "%s must be a mapping, not %s", what, type_name(map));
	/* explicit keys first, then what `<<` merges in, so explicit ones win */
	for (int pass = 0; pass < 2; pass++) {
		for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
		     p < map->data.mapping.pairs.top; p++) {
			yaml_node_t *k = tl__compose_node(r, p->key), *v = tl__compose_node(r, p->value);
			if (!k || !v)
				return tl__compose_fail(r, map, "%s: broken mapping", what);
			if (k->type != YAML_SCALAR_NODE)
				return tl__compose_fail(r, k, "%s: keys must be plain strings", what);
			const char *key = (const char *)k->data.scalar.value;
			int merge = !strcmp(key, "<<") && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			if (pass == 0 && !merge) {
				int rc = tl__compose_charge(r, k, 1);
				if (rc)
					return rc;
				json_t *seen = json_object_get(acc->index, key);
				if (seen) {
					if (!explicit_only)
						continue; /* merged in lower down: the outer key won */
					return tl__compose_fail(r, k, "%s: duplicate key \"%s\" (first at line %lu)",
					               what, key,
					               tl__compose_line(acc->v[json_integer_value(seen)].knode));
				}
				if (acc->n == acc->cap) {
					size_t nc = acc->cap ? acc->cap * 2 : 16;
					tl__compose_pair *nk = tl__realloc(acc->v, nc * sizeof(*nk));
					if (!nk)
						return TL_ENOMEM;
					acc->v = nk;
					acc->cap = nc;
				}
				if (json_object_set_new_nocheck(acc->index, key,
				                                json_integer((json_int_t)acc->n)))
					return tl__error_oom();
				acc->v[acc->n++] = (tl__compose_pair){key, k, v};
			} else if (pass == 1 && merge) {
				if (v->type == YAML_MAPPING_NODE) {
					int rc = add_pairs(r, v, what, acc, 0, depth + 1);
					if (rc)
						return rc;
				} else if (v->type == YAML_SEQUENCE_NODE) {
					for (yaml_node_item_t *it = v->data.sequence.items.start;
					     it < v->data.sequence.items.top; it++) {
						yaml_node_t *m = tl__compose_node(r, *it);
						if (!m || m->type != YAML_MAPPING_NODE)
							return tl__compose_fail(r, v, "%s: << merges mappings only", what);
						int rc = tl__compose_charge(r, m, 1);
						if (!rc)
							rc = add_pairs(r, m, what, acc, 0, depth + 1);
						if (rc)
							return rc;
					}
				} else {
					return tl__compose_fail(r, v, "%s: << merges mappings only", what);
				}
			}
		}
	}
	return TL_OK;
}

int tl__compose_pairs(tl__compose_reader *r, yaml_node_t *map, const char *what,
                      tl__compose_pair **out, size_t *n)
{
	pairs_acc acc = {NULL, 0, 0, json_object()};
	*out = NULL;
	*n = 0;
	int rc = acc.index ? add_pairs(r, map, what, &acc, 1, 0) : tl__error_oom();
	json_decref(acc.index);
	if (rc) {
		free(acc.v);
		return rc;
	}
	*out = acc.v;
	*n = acc.n;
	return TL_OK;
}

const char *tl__compose_var(const char *name, void *p)
{
	tl__compose_reader *r = p;
	const char *v = r->vars ? tl_envfile_get(r->vars, name) : NULL;
	if (!v && r->use_process_env)
		v = getenv(name);
	if (!v && r->env_file)
		v = tl_envfile_get(r->env_file, name);
	return v;
}

/* What a .env file's values may use besides its own keys: Compose takes
 * its process environment; towlion the caller's variables, and the
 * process environment only where the caller allows it. */
static const char *dotenv_var(const char *name, void *p)
{
	tl__compose_reader *r = p;
	const char *v = r->vars ? tl_envfile_get(r->vars, name) : NULL;
	return !v && r->use_process_env ? getenv(name) : v;
}

int tl__compose_str(tl__compose_reader *r, yaml_node_t *n, const char *what, char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return tl__compose_fail(r, n, "%s must be a string, not %s", what, type_name(n));
	const char *raw = (const char *)n->data.scalar.value;
	if (strlen(raw) != n->data.scalar.length)
		return tl__compose_fail(r, n, "%s contains a NUL byte", what);
	int rc = tl__compose_charge(r, n, 1);
	if (rc)
		return rc;
	tl_buf missing = TL_BUF_INIT, value = TL_BUF_INIT;
	rc = tl__interpolate(&value, raw, strlen(raw), tl__compose_var, r, &missing, 0);
	*out = rc ? NULL : tl__buf_detach(&value);
	if (!rc && !*out)
		rc = TL_ENOMEM;
	if (rc) {
		tl_buf_dispose(&value);
		tl_buf_dispose(&missing);
		tl__error_prefix("%s", what);
		return tl__compose_locate(r, n, rc);
	}
	/* aliases and variables can repeat text: bound what the whole file
	 * expands to, not just each value */
	r->text += strlen(*out);
	if (r->text > TL__COMPOSE_MAX_TEXT) {
		tl_buf_dispose(&missing);
		free(*out);
		*out = NULL;
		return tl__compose_fail(r, n,
		               "the values of this file expand to more than %u bytes (the limit) "
		               "through aliases and variables", TL__COMPOSE_MAX_TEXT);
	}
	if (missing.size)
		tl__compose_warn(r, n, "variable %s is not set; %s uses an empty string", missing.ptr, what);
	tl_buf_dispose(&missing);
	return TL_OK;
}

int tl__compose_bool(tl__compose_reader *r, yaml_node_t *n, const char *what, int *out)
{
	char *s = NULL;
	int rc = tl__compose_str(r, n, what, &s);
	if (rc)
		return rc;
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		*out = 1;
	else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		*out = 0;
	else
		rc = tl__compose_fail(r, n, "%s must be true or false, not \"%s\"", what, s);
	free(s);
	return rc;
}

int tl__compose_int(tl__compose_reader *r, yaml_node_t *n, const char *what, long lo, long hi,
                    long *out)
{
	char *s = NULL;
	int rc = tl__compose_str(r, n, what, &s);
	if (rc)
		return rc;
	/* every caller's range is from 0 up: no sign */
	uint64_t v = 0;
	const char *end = s;
	if (!tl__parse_digits(&v, &end) || *end || lo < 0 || v < (uint64_t)lo || v > (uint64_t)hi)
		rc = tl__compose_fail(r, n, "%s must be a whole number from %ld to %ld, not \"%s\"", what, lo,
		             hi, s);
	else
		*out = (long)v;
	free(s);
	return rc;
}

int tl__compose_str_list(tl__compose_reader *r, yaml_node_t *n, const char *what, json_t **out)
{
	json_t *a = json_array();
	int rc = TL_OK;
	if (n->type == YAML_SCALAR_NODE) {
		char *s = NULL;
		if (!(rc = tl__compose_str(r, n, what, &s)))
			json_array_append_new(a, json_string(s));
		free(s);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     !rc && it < n->data.sequence.items.top; it++) {
			char *s = NULL;
			yaml_node_t *item = tl__compose_node(r, *it);
			if (!(rc = tl__compose_str(r, item, what, &s))) {
				json_t *js = json_string(s);
				if (!js)
					rc = tl__compose_fail(r, item, "%s is not valid UTF-8", what);
				json_array_append_new(a, js);
			}
			free(s);
		}
	} else {
		rc = tl__compose_fail(r, n, "%s must be a string or a list of strings, not %s", what,
		             type_name(n));
	}
	if (rc) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return TL_OK;
}

int tl__compose_key_values(tl__compose_reader *r, yaml_node_t *n, const char *what, int null_ok,
                           json_t **out)
{
	json_t *o = json_object();
	int rc = TL_OK;
	if (n->type == YAML_MAPPING_NODE) {
		tl__compose_pair *p = NULL;
		size_t np = 0;
		rc = tl__compose_pairs(r, n, what, &p, &np);
		for (size_t i = 0; !rc && i < np; i++) {
			if (!*p[i].key) {
				rc = tl__compose_fail(r, p[i].knode, "%s: empty key", what);
			} else if (tl__compose_is_null(p[i].val)) {
				if (null_ok)
					json_object_set_new(o, p[i].key, json_null());
				else
					json_object_set_new(o, p[i].key, json_string(""));
			} else {
				char *s = NULL;
				if (!(rc = tl__compose_str(r, p[i].val, what, &s)))
					json_object_set_new(o, p[i].key, json_string(s));
				free(s);
			}
		}
		free(p);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     !rc && it < n->data.sequence.items.top; it++) {
			yaml_node_t *item = tl__compose_node(r, *it);
			char *s = NULL;
			if ((rc = tl__compose_str(r, item, what, &s)))
				break;
			char *eq = strchr(s, '=');
			if (eq)
				*eq = '\0';
			if (!*s)
				rc = tl__compose_fail(r, item, "%s: entry \"%s\" has no key", what, eq ? eq + 1 : "");
			else if (eq)
				json_object_set_new(o, s, json_string(eq + 1));
			else
				json_object_set_new(o, s, null_ok ? json_null() : json_string(""));
			free(s);
		}
	} else {
		rc = tl__compose_fail(r, n, "%s must be a mapping or a list of KEY=VALUE, not %s", what,
		             type_name(n));
	}
	if (rc) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return TL_OK;
}

/* ---- top level ---- */

static int read_named(tl__compose_reader *r, yaml_node_t *n, const char *what, json_t *into)
{
	tl__compose_pair *p = NULL;
	size_t np = 0;
	int rc = tl__compose_pairs(r, n, what, &p, &np);
	for (size_t i = 0; !rc && i < np; i++) {
		if (tl__str_startswith(p[i].key, "x-"))
			continue;
		json_object_set_new(into, p[i].key, json_true());
		if (tl__compose_is_null(p[i].val))
			continue;
		tl__compose_pair *q = NULL;
		size_t nq = 0;
		char ctx[160];
		snprintf(ctx, sizeof(ctx), "%s.%s", what, p[i].key);
		if ((rc = tl__compose_pairs(r, p[i].val, ctx, &q, &nq)))
			break;
		for (size_t k = 0; !rc && k < nq; k++) {
			const char *key = q[k].key;
			if (!strcmp(key, "driver_opts") && r->policy == TL_COMPOSE_STRICT)
				rc = tl__compose_fail(r, q[k].knode,
				             "%s: driver_opts are not allowed in an untrusted compose file "
				             "(they can bind host paths)", ctx);
			else if (!strcmp(key, "external") || !strcmp(key, "name") ||
			         !strcmp(key, "labels") || !strcmp(key, "driver") ||
			         !strcmp(key, "driver_opts") || !strcmp(key, "internal") ||
			         !strcmp(key, "attachable") || tl__str_startswith(key, "x-"))
				continue;
			else
				tl__compose_warn(r, q[k].knode, "%s: unknown or unsupported key \"%s\" (ignored)", ctx,
				        key);
		}
		free(q);
	}
	free(p);
	return rc;
}

/* x-towlion.routes: path routes to several services, e.g. "/api/" + "*"
 * to the backend and everything else to the frontend (see
 * examples/apps/fullstack). A route whose path is "/" + "*" (or that has
 * no path) is the site's default route. */
static int read_routes(tl__compose_reader *r, yaml_node_t *n, json_t *xt)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return tl__compose_fail(r, n, "x-towlion.routes must be a list of {path, service, port}");
	json_t *routes = json_array();
	int rc = TL_OK;
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     !rc && it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = tl__compose_node(r, *it);
		tl__compose_pair *p = NULL;
		size_t np = 0;
		if (!item || (rc = tl__compose_pairs(r, item, "x-towlion.routes item", &p, &np)))
			break;
		json_t *route = json_pack("{s:s, s:i, s:s}", "path", "/*", "port", 8000,
		                          "health_path", "/health");
		for (size_t i = 0; !rc && i < np; i++) {
			const char *k = p[i].key;
			char *v = NULL;
			if (!strcmp(k, "port")) {
				long port;
				if (!(rc = tl__compose_int(r, p[i].val, "x-towlion.routes port", 1, 65535, &port)))
					json_object_set_new(route, "port", json_integer(port));
			} else if (!strcmp(k, "path") || !strcmp(k, "service") ||
			           !strcmp(k, "health_path")) {
				if ((rc = tl__compose_str(r, p[i].val, "x-towlion.routes value", &v)))
					break;
				if (strcmp(k, "service") && (v[0] != '/' || strpbrk(v, " \t{}\"'\\")))
					rc = tl__compose_fail(r, p[i].val,
					             "x-towlion.routes %s must start with / and hold no spaces, "
					             "quotes or braces, not \"%s\"", k, v);
				else if (!*v)
					rc = tl__compose_fail(r, p[i].val, "x-towlion.routes %s is empty", k);
				else
					json_object_set_new(route, k, json_string(v));
			} else {
				tl__compose_warn(r, p[i].knode, "x-towlion.routes: unknown key \"%s\" (ignored)", k);
			}
			free(v);
		}
		if (!rc && !json_object_get(route, "service"))
			rc = tl__compose_fail(r, item, "x-towlion.routes item has no service");
		for (size_t k = 0; !rc && k < json_array_size(routes); k++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(routes, k), "path")),
			            json_string_value(json_object_get(route, "path"))))
				rc = tl__compose_fail(r, item, "x-towlion.routes: path %s is routed twice",
				             json_string_value(json_object_get(route, "path")));
		if (rc)
			json_decref(route);
		else
			json_array_append_new(routes, route);
		free(p);
	}
	if (rc)
		json_decref(routes);
	else
		json_object_set_new(xt, "routes", routes);
	return rc;
}

static int read_towlion(tl__compose_reader *r, yaml_node_t *n, json_t *xt)
{
	tl__compose_pair *p = NULL;
	size_t np = 0;
	int rc = tl__compose_pairs(r, n, "x-towlion", &p, &np);
	for (size_t i = 0; !rc && i < np; i++) {
		const char *k = p[i].key;
		char *s = NULL;
		if (!strcmp(k, "port")) {
			long v;
			if (!(rc = tl__compose_int(r, p[i].val, "x-towlion.port", 1, 65535, &v)))
				json_object_set_new(xt, "port", json_integer(v));
		} else if (!strcmp(k, "web_service") || !strcmp(k, "service") ||
		           !strcmp(k, "health_path") || !strcmp(k, "release_command") ||
		           !strcmp(k, "domain")) {
			if ((rc = tl__compose_str(r, p[i].val, "x-towlion value", &s)))
				break;
			const char *key = !strcmp(k, "service") ? "web_service" : k;
			if (!strcmp(k, "health_path") && s[0] != '/')
				rc = tl__compose_fail(r, p[i].val, "x-towlion.health_path must start with /, not \"%s\"",
				             s);
			else if (!strcmp(k, "domain") && tl_validate_domain(s) != TL_OK)
				rc = tl__compose_locate(r, p[i].val, TL_EINVALID);
			else if (!*s)
				rc = tl__compose_fail(r, p[i].val, "x-towlion.%s is empty", k);
			else
				json_object_set_new(xt, key, json_string(s));
		} else if (!strcmp(k, "routes")) {
			rc = read_routes(r, p[i].val, xt);
		} else {
			tl__compose_warn(r, p[i].knode, "x-towlion: unknown key \"%s\" (ignored)", k);
		}
		free(s);
	}
	free(p);
	return rc;
}

static int valid_service_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		         (i > 0 && (ch == '-' || ch == '_' || ch == '.'));
		if (!ok)
			return 0;
	}
	return 1;
}

/* Cross-service checks once every service is read. */
static int check_links(tl__compose_reader *r, json_t *services, tl__compose_pair *sp, size_t nsp)
{
	size_t i;
	json_t *s;
	json_array_foreach(services, i, s) {
		size_t k;
		json_t *dep;
		json_array_foreach(json_object_get(s, "depends_on"), k, dep) {
			const char *name = json_string_value(json_object_get(dep, "service"));
			int found = 0;
			for (size_t m = 0; m < nsp && !found; m++)
				found = !strcmp(sp[m].key, name);
			if (!found)
				return tl__compose_fail(r, sp[i].val,
				               "service \"%s\" depends on \"%s\", which is not a service in "
				               "this file", sp[i].key, name);
		}
	}
	return TL_OK;
}

static int read_document(tl__compose_reader *r, json_t *plan)
{
	yaml_node_t *root = yaml_document_get_root_node(&r->doc);
	if (!root)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "%s: the file is empty: it needs a services: section", r->name);
	tl__compose_pair *top = NULL;
	size_t nt = 0;
	int rc = tl__compose_pairs(r, root, "the top level", &top, &nt);
	if (rc)
		return rc;
	yaml_node_t *services = NULL, *services_key = NULL;
	json_t *xt = json_object();
	json_object_set_new(plan, "x-towlion", xt);
	/* declarations first: services refer to them */
	for (size_t i = 0; !rc && i < nt; i++) {
		const char *k = top[i].key;
		if (!strcmp(k, "services")) {
			services = top[i].val;
			services_key = top[i].knode;
		} else if (!strcmp(k, "volumes")) {
			if (!tl__compose_is_null(top[i].val))
				rc = read_named(r, top[i].val, "volumes", r->volumes);
		} else if (!strcmp(k, "networks")) {
			if (!tl__compose_is_null(top[i].val))
				rc = read_named(r, top[i].val, "networks", r->networks);
		} else if (!strcmp(k, "secrets")) {
			if (!tl__compose_is_null(top[i].val))
				rc = tl__compose_secrets_declare(r, top[i].val);
		} else if (!strcmp(k, "x-towlion")) {
			rc = read_towlion(r, top[i].val, xt);
		} else if (!strcmp(k, "version") || !strcmp(k, "name")) {
			char *s = NULL;
			rc = tl__compose_str(r, top[i].val, k, &s);
			if (!rc && !strcmp(k, "name"))
				json_object_set_new(plan, "name", json_string(s));
			free(s);
		} else if (!tl__str_startswith(k, "x-")) {
			tl__compose_warn(r, top[i].knode, "unknown or unsupported top-level key \"%s\" (ignored)",
			        k);
		}
	}
	if (!rc && (!services || tl__compose_is_null(services)))
		rc = services_key ? tl__compose_fail(r, services_key, "services: is empty")
		                  : tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                                  "%s: no services: section", r->name);
	tl__compose_pair *sp = NULL;
	size_t nsp = 0;
	if (!rc)
		rc = tl__compose_pairs(r, services, "services", &sp, &nsp);
	json_t *arr = json_array();
	json_object_set_new(plan, "services", arr);
	for (size_t i = 0; !rc && i < nsp; i++) {
		if (tl__str_startswith(sp[i].key, "x-"))
			continue;
		if (!valid_service_name(sp[i].key)) {
			rc = tl__compose_fail(r, sp[i].knode,
			             "service name \"%s\" must be 1-63 letters, digits, '-', '_' or '.', "
			             "starting with a letter or digit", sp[i].key);
			break;
		}
		if ((rc = tl__compose_check_reserved(r, sp[i].knode, sp[i].key)))
			break;
		json_t *svc = NULL;
		rc = tl__compose_service(r, sp[i].key, sp[i].knode, sp[i].val, &svc);
		if (!rc)
			json_array_append_new(arr, svc);
	}
	/* drop x- entries from sp so indices match the services array */
	size_t w = 0;
	for (size_t i = 0; sp && i < nsp; i++)
		if (!tl__str_startswith(sp[i].key, "x-"))
			sp[w++] = sp[i];
	nsp = w;
	if (!rc && nsp == 0)
		rc = tl__compose_fail(r, services, "services: has no service");
	if (!rc)
		rc = check_links(r, arr, sp, nsp);
	json_t *routes = json_object_get(xt, "routes");
	for (size_t k = 0; !rc && k < json_array_size(routes); k++) {
		const char *svc = json_string_value(json_object_get(json_array_get(routes, k), "service"));
		int found = 0;
		for (size_t i = 0; i < nsp && !found; i++)
			found = !strcmp(sp[i].key, svc);
		if (!found)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
			                   "%s: x-towlion.routes names service \"%s\", which is not in "
			                   "this file",
			                   r->name, svc);
	}
	const char *web = json_string_value(json_object_get(xt, "web_service"));
	if (!rc && web) {
		int found = 0;
		for (size_t i = 0; i < nsp && !found; i++)
			found = !strcmp(sp[i].key, web);
		if (!found)
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
			                   "%s: x-towlion.web_service \"%s\" is not a service in this file",
			                   r->name, web);
	}
	free(sp);
	free(top);
	return rc;
}

/* ---- public ---- */

int tl_compose_options_init(tl_compose_options *o, unsigned int version)
{
	tl_compose_options def = TL_COMPOSE_OPTIONS_INIT;
	return TL__OPTIONS_INIT(o, version, def, TL_COMPOSE_OPTIONS_VERSION, "tl_compose_options");
}

int tl_compose_find(tl_buf *path, const char *app_dir)
{
	TL__CHECK_ARG(path && app_dir);
	static const char *const names[] = {
		"deploy/docker-compose.yml", "deploy/docker-compose.yaml", "docker-compose.yml",
		"docker-compose.yaml", "compose.yaml", "compose.yml"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(names); i++) {
		char *p = tl__path_join(app_dir, names[i]);
		if (!p)
			return TL_ENOMEM;
		struct stat st;
		int found = stat(p, &st) == 0 && S_ISREG(st.st_mode);
		int rc = found ? tl__buf_set(path, p, strlen(p)) : TL_OK;
		free(p);
		if (found || rc)
			return rc;
	}
	return tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_COMPOSE,
	                     "no compose file in %s: looked for deploy/docker-compose.yml, "
	                     "docker-compose.yml and compose.yaml", app_dir);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return tl__strdup(".");
	if (slash == path)
		return tl__strdup("/");
	return tl__strndup(path, (size_t)(slash - path));
}

static char *absolute(const char *p)
{
	if (p[0] == '/')
		return tl__strdup(p);
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	return !strcmp(p, ".") ? tl__strdup(cwd) : tl__path_join(cwd, p);
}

int tl_compose_parse(tl_compose **out, const char *data, size_t len, const char *name,
                     const char *base_dir, const tl_compose_options *opts)
{
	TL__CHECK_ARG(out && (data || !len));
	tl_compose_options def = TL_COMPOSE_OPTIONS_INIT;
	const tl_compose_options *o = opts ? opts : &def;
	TL__CHECK_VERSION(o, TL_COMPOSE_OPTIONS_VERSION, "tl_compose_options");
	TL__CHECK_ARG((o->policy == TL_COMPOSE_TRUSTED || o->policy == TL_COMPOSE_STRICT));
	if (!name)
		name = "compose file";
	if (len > MAX_FILE)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "%s: %zu bytes is too big for a compose file (limit %u)", name,
		                     len, MAX_FILE);
	tl__compose_reader r = {0};
	r.name = name;
	r.policy = o->policy;
	r.vars = o->vars;
	r.use_process_env = !(o->flags & TL_COMPOSE_NO_PROCESS_ENV);
	r.warnings = json_array();
	r.volumes = json_object();
	r.secrets = json_object();
	r.networks = json_object();
	r.base_dir = absolute(base_dir ? base_dir : ".");
	int rc = r.base_dir ? TL_OK : tl__error_os(TL_EIO, errno, "cannot find the directory");
	if (!rc) {
		char *app = absolute(o->app_dir ? o->app_dir : r.base_dir);
		r.app_dir = app ? realpath(app, NULL) : NULL;
		if (!r.app_dir && o->policy == TL_COMPOSE_STRICT)
			rc = tl__error_os(TL_EINVALID, errno, "app directory %s", app ? app : "?");
		else if (!r.app_dir)
			r.app_dir = app ? tl__strdup(app) : NULL;
		free(app);
	}
	/* the env file for interpolation */
	if (!rc && !(o->flags & TL_COMPOSE_NO_ENV_FILE)) {
		char *ef = o->env_file ? absolute(o->env_file) : tl__path_join(r.base_dir, ".env");
		tl_envfile_options eo = TL_ENVFILE_OPTIONS_INIT;
		eo.flags = TL_ENVFILE_INTERPOLATE;
		eo.lookup = dotenv_var;
		eo.payload = &r;
		/* a tenant's checkout may hold a .env that links to another
		 * tenant's settings or the platform's: STRICT reads one only
		 * inside the app directory (a file the caller names is its own) */
		if (ef && !o->env_file && r.policy == TL_COMPOSE_STRICT && !tl__compose_inside_app(&r, ef))
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
			                   "%s leads outside the app directory %s, which an untrusted "
			                   "compose file may not read", ef, r.app_dir);
		else
			rc = ef ? tl_envfile_read(&r.env_file, ef, &eo) : TL_ENOMEM;
		if (rc == TL_ENOTFOUND && !o->env_file) {
			tl_error_clear();
			rc = TL_OK;
		}
		for (size_t i = 0; !rc && i < tl_envfile_warning_count(r.env_file); i++)
			json_array_append_new(r.warnings, json_string(tl_envfile_warning(r.env_file, i)));
		free(ef);
	}
	json_t *plan = json_object();
	if (!rc) {
		yaml_parser_t p;
		yaml_parser_initialize(&p);
		yaml_parser_set_input_string(&p, (const unsigned char *)(data ? data : ""), len);
		if (!yaml_parser_load(&p, &r.doc)) {
			rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE, "%s:%lu: YAML: %s%s%s",
			                   name, (unsigned long)p.problem_mark.line + 1,
			                   p.problem ? p.problem : "syntax error",
			                   p.context ? " " : "", p.context ? p.context : "");
			yaml_parser_delete(&p);
		} else {
			/* more than one document is not a compose file */
			yaml_document_t extra;
			int more = 0;
			if (yaml_parser_load(&p, &extra)) {
				more = yaml_document_get_root_node(&extra) != NULL;
				yaml_document_delete(&extra);
			}
			yaml_parser_delete(&p);
			if (more)
				rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
				                   "%s: holds more than one YAML document", name);
			if (!rc) {
				json_object_set_new(plan, "file", json_string(name));
				json_object_set_new(plan, "policy", json_string(o->policy == TL_COMPOSE_STRICT
				                                                    ? "strict"
				                                                    : "trusted"));
				rc = read_document(&r, plan);
			}
			yaml_document_delete(&r.doc);
		}
	}
	if (!rc) {
		json_t *vols = json_array(), *nets = json_array();
		const char *k;
		json_t *v;
		json_object_foreach(r.volumes, k, v) json_array_append_new(vols, json_string(k));
		json_object_foreach(r.networks, k, v) json_array_append_new(nets, json_string(k));
		json_object_set_new(plan, "volumes", vols);
		json_object_set_new(plan, "networks", nets);
		if (json_object_size(r.secrets))
			json_object_set(plan, "secrets", r.secrets);
		if (r.warnings_dropped) {
			char *w = tl__sprintf("%s: %zu more warnings not shown (the first %u are)",
			                      name, r.warnings_dropped, TL__COMPOSE_MAX_WARNINGS);
			if (w)
				json_array_append_new(r.warnings, json_string(w));
			free(w);
		}
		json_object_set(plan, "warnings", r.warnings);
		rc = cp_finish(out, plan);
		if (!rc && (rc = cp_keep_vars(*out, r.vars, r.env_file, r.use_process_env))) {
			tl_compose_free(*out);
			*out = NULL;
		}
	}
	json_decref(plan);
	json_decref(r.warnings);
	json_decref(r.volumes);
	json_decref(r.networks);
	json_decref(r.secrets);
	tl_envfile_free(r.env_file);
	free(r.base_dir);
	free(r.app_dir);
	return rc;
}

int tl_compose_load(tl_compose **out, const char *path, const tl_compose_options *opts)
{
	TL__CHECK_ARG(out && path);
	tl_buf text = TL_BUF_INIT;
	struct stat st;
	if (stat(path, &st) == 0 && st.st_size > (off_t)MAX_FILE)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_COMPOSE,
		                     "%s: too big for a compose file (%lld bytes, limit %u)", path,
		                     (long long)st.st_size, MAX_FILE);
	/* stat can say 0 for a device or a pipe: the read has its own cap */
	int rc = tl__file_read_max(&text, path, MAX_FILE, "compose file");
	if (rc) {
		if (rc == TL_ENOTFOUND)
			tl__error_set(TL_ENOTFOUND, TL_ERRCLASS_COMPOSE, "compose file %s does not exist",
			              path);
		return rc;
	}
	char *dir = dir_of(path);
	rc = dir ? tl_compose_parse(out, text.ptr, text.size, path, dir, opts) : TL_ENOMEM;
	free(dir);
	tl_buf_dispose(&text);
	return rc;
}
