/*
 * Secrets: the compose file's top-level `secrets:` and a service's
 * `secrets:` list, the files a service reads at /run/secrets/TARGET.
 *
 * A secret's value is one of the app's environment values, named by
 * `environment: KEY` (Compose's syntax): a `towlion env` setting or a
 * platform value such as DATABASE_URL, resolved at each deploy, never
 * written into the plan. A secret `file:` in the repository is refused:
 * a secret committed next to the code is no secret, and a preview of a
 * stranger's branch would read it (put the value in `towlion env set`
 * instead). `external`, `name` and `content` are not supported.
 *
 * The target is a file name under /run/secrets (not a path): both
 * engines put the file there (a read-only bind on one server, a Docker
 * secret on a swarm).
 */
#include "reader.h"

#include <string.h>

#define MODE_DEFAULT 0444
#define ID_MAX 2147483647L

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* A secret's name or target: 1-64 of [A-Za-z0-9._-], not "." or "..". */
static bool good_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

static bool env_key(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

/* One top-level secret: {environment: KEY} and nothing else it cannot keep. */
static int declare_one(tl__compose_reader *r, const tl__compose_pair *p)
{
	char what[128];
	snprintf(what, sizeof(what), "secrets.%s", p->key);
	if (!good_name(p->key))
		return tl__compose_fail(r, p->knode,
		                        "secret name \"%s\" must be 1-64 letters, digits, '.', '-' "
		                        "or '_'", p->key);
	if (tl__compose_is_null(p->val))
		return tl__compose_fail(r, p->knode, "%s: say where its value comes from "
		                        "(environment: KEY)", what);
	tl__compose_pair *q = NULL;
	size_t nq = 0;
	int rc = tl__compose_pairs(r, p->val, what, &q, &nq);
	char *key = NULL;
	for (size_t k = 0; !rc && k < nq; k++) {
		const char *kk = q[k].key;
		if (!strcmp(kk, "environment")) {
			rc = tl__compose_str(r, q[k].val, what, &key);
			if (!rc && !env_key(key))
				rc = tl__compose_fail(r, q[k].val, "%s: environment \"%s\" is not a variable "
				                      "name", what, key);
		} else if (!strcmp(kk, "file")) {
			rc = tl__compose_fail(r, q[k].knode,
			                      "%s: a secret from a file in the repository is not "
			                      "supported: set its value with `towlion env set APP KEY=...` "
			                      "and write `environment: KEY`", what);
		} else if (tl__str_startswith(kk, "x-")) {
			continue;
		} else {
			rc = tl__compose_fail(r, q[k].knode,
			                      "%s: \"%s\" is not supported (a secret is `environment: "
			                      "KEY`, one of the app's values)", what, kk);
		}
	}
	free(q);
	if (!rc && !key)
		rc = tl__compose_fail(r, p->knode, "%s: say where its value comes from "
		                      "(environment: KEY)", what);
	if (!rc && json_object_set_new(r->secrets, p->key, json_string(key)))
		rc = tl__error_oom();
	free(key);
	return rc;
}

int tl__compose_secrets_declare(tl__compose_reader *r, yaml_node_t *n)
{
	tl__compose_pair *p = NULL;
	size_t np = 0;
	int rc = tl__compose_pairs(r, n, "secrets", &p, &np);
	for (size_t i = 0; !rc && i < np; i++)
		if (!tl__str_startswith(p[i].key, "x-"))
			rc = declare_one(r, &p[i]);
	free(p);
	return rc;
}

/* A file mode as Compose writes it: octal with a leading 0 (0440, as
 * YAML 1.1 reads it) or 0o, else decimal; 0 to 0777. */
static int mode_of(tl__compose_reader *r, yaml_node_t *n, const char *what, long *out)
{
	char *s = NULL;
	int rc = tl__compose_str(r, n, what, &s);
	if (rc)
		return rc;
	const char *p = s;
	int base = 10;
	if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		p += 2, base = 8;
	else if (p[0] == '0' && p[1])
		p += 1, base = 8;
	long v = 0;
	bool ok = *p != '\0';
	for (; ok && *p; p++) {
		int d = *p - '0';
		ok = d >= 0 && d < base && (v = v * base + d) <= 0777;
	}
	if (!ok)
		rc = tl__compose_fail(r, n, "%s must be a file mode from 0 to 0777 (octal: 0440), "
		                      "not \"%s\"", what, s);
	else
		*out = v;
	free(s);
	return rc;
}

/* The long syntax: {source, target, uid, gid, mode}. */
static int long_form(tl__compose_reader *r, const char *svc, yaml_node_t *item, json_t *o)
{
	char what[160];
	snprintf(what, sizeof(what), "service %s: secrets", svc);
	tl__compose_pair *q = NULL;
	size_t nq = 0;
	int rc = tl__compose_pairs(r, item, what, &q, &nq);
	for (size_t k = 0; !rc && k < nq; k++) {
		const char *kk = q[k].key;
		char *s = NULL;
		long v = 0;
		if (!strcmp(kk, "source") || !strcmp(kk, "target")) {
			if (!(rc = tl__compose_str(r, q[k].val, what, &s)) &&
			    json_object_set_new(o, kk, json_string(s)))
				rc = tl__error_oom();
		} else if (!strcmp(kk, "uid") || !strcmp(kk, "gid")) {
			if (!(rc = tl__compose_int(r, q[k].val, what, 0, ID_MAX, &v)) &&
			    json_object_set_new(o, kk, json_integer(v)))
				rc = tl__error_oom();
		} else if (!strcmp(kk, "mode")) {
			if (!(rc = mode_of(r, q[k].val, what, &v)) &&
			    json_object_set_new(o, kk, json_integer(v)))
				rc = tl__error_oom();
		} else if (!tl__str_startswith(kk, "x-")) {
			rc = tl__compose_fail(r, q[k].knode, "%s: \"%s\" is not a key of a secret "
			                      "(source, target, uid, gid, mode)", what, kk);
		}
		free(s);
	}
	free(q);
	if (!rc && !json_object_get(o, "source"))
		rc = tl__compose_fail(r, item, "%s: an entry without a source", what);
	return rc;
}

int tl__compose_service_secrets(tl__compose_reader *r, const char *svc, yaml_node_t *n,
                                json_t **out)
{
	char what[160];
	snprintf(what, sizeof(what), "service %s: secrets", svc);
	if (n->type != YAML_SEQUENCE_NODE)
		return tl__compose_fail(r, n, "%s must be a list", what);
	json_t *list = json_array();
	int rc = list ? TL_OK : tl__error_oom();
	for (yaml_node_item_t *it = n->data.sequence.items.start;
	     !rc && it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = tl__compose_node(r, *it);
		json_t *o = json_object();
		if (!o || json_array_append_new(list, o)) {
			rc = tl__error_oom();
			break;
		}
		if (item->type == YAML_MAPPING_NODE) {
			rc = long_form(r, svc, item, o);
		} else {
			char *s = NULL;
			if (!(rc = tl__compose_str(r, item, what, &s)) &&
			    json_object_set_new(o, "source", json_string(s)))
				rc = tl__error_oom();
			free(s);
		}
		if (rc)
			break;
		const char *source = json_string_value(json_object_get(o, "source"));
		json_t *key = json_object_get(r->secrets, source);
		if (!key) {
			rc = tl__compose_fail(r, item, "%s: \"%s\" is not a secret of this file (declare "
			                      "it under the top-level secrets:)", what, source);
			break;
		}
		if (!json_object_get(o, "target"))
			json_object_set_new(o, "target", json_string(source));
		const char *target = json_string_value(json_object_get(o, "target"));
		if (!good_name(target)) {
			rc = tl__compose_fail(r, item, "%s: target \"%s\" must be a file name under "
			                      "/run/secrets (1-64 letters, digits, '.', '-' or '_')",
			                      what, target);
			break;
		}
		for (size_t k = 0; k + 1 < json_array_size(list); k++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(list, k), "target")),
			            target))
				rc = tl__compose_fail(r, item, "%s: two secrets at /run/secrets/%s", what,
				                      target);
		json_object_set(o, "environment", key);
		if (!json_object_get(o, "uid"))
			json_object_set_new(o, "uid", json_integer(0));
		if (!json_object_get(o, "gid"))
			json_object_set_new(o, "gid", json_integer(0));
		if (!json_object_get(o, "mode"))
			json_object_set_new(o, "mode", json_integer(MODE_DEFAULT));
	}
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return TL_OK;
}
