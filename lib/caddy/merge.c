/*
 * Assembling the whole JSON config from per-site pieces.
 *
 * Each site file is adapted by Caddy on its own (with the global options)
 * once, and the result kept as a "record" of JSON text pieces: per server
 * (keyed by its listen addresses) the server's fields and its route
 * objects; the TLS automation policies; and the rest of the config. A
 * change then costs one small /adapt plus a JSON /load: the unchanged
 * sites are joined as text - never adapted from Caddyfile text again (the
 * slow part of `caddy reload`, see docs/benchmarks.md), never parsed or
 * printed as JSON.
 *
 * A record is a byte string of fields "<tag> <len>\n<bytes>\n" (no
 * escaping, so reading one is a scan):
 *   o  the config without servers and policies (JSON object)
 *   s  a server's listen addresses (JSON); the r and t that follow are its
 *   r  the server without its routes (JSON object)
 *   t  its routes, comma separated JSON objects without the brackets
 *   p  a TLS automation policy with subjects; c  one without (catch-all)
 *
 * Joining is sound because sites never share a hostname (the conflict
 * check) and hostnames are exact (no wildcards), so the order of the
 * sites' routes inside a server does not matter. Catch-all TLS policies
 * go after the specific ones, once each.
 */
#include "caddy_internal.h"

#include <stdlib.h>
#include <string.h>

#define ROUTES_MARK "@@towlion-routes-"
#define POLICIES_MARK "@@towlion-policies@@"

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s)
		tl__error_oom();
	return s;
}

int tl__caddy_field_put(tl_buf *b, char tag, const char *v, size_t len)
{
	int rc = tl__buf_printf(b, "%c %zu\n", tag, len);
	if (rc == TL_OK)
		rc = tl__buf_put(b, v, len);
	return rc ? rc : tl__buf_putc(b, '\n');
}

int tl__caddy_field_next(const char **p, const char *end, char *tag, const char **v,
                         size_t *len)
{
	const char *s = *p;
	if (s >= end)
		return TL_ENOTFOUND;
	const char *e = NULL, *nl = NULL;
	uint64_t n = 0;
	/* digits only (strtoull took " +5" and "-1" as 2^64-1), and only up
	 * to a newline inside [s, end): a cache cut after its digits was
	 * read past its end (found by fuzz_caddy) */
	if (end - s < 4 || s[1] != ' ' || !(nl = memchr(s + 2, '\n', (size_t)(end - s - 2))))
		goto corrupt;
	e = s + 2;
	if (!tl__parse_digits(&n, &e) || e != nl || n > (unsigned long long)(end - e - 1) ||
	    (size_t)(end - e - 1) - n < 1 || e[1 + n] != '\n')
		goto corrupt;
	*tag = s[0];
	*v = e + 1;
	*len = (size_t)n;
	*p = e + 2 + n;
	return TL_OK;
corrupt:
	return tl__error_set(TL_EIO, TL_ERRCLASS_CADDY, "corrupt adapted config record");
}

/* Split one site's adapted config (a full config) into a record. */
int tl__caddy_split(tl_buf *out, const json_t *adapted)
{
	json_t *c = json_deep_copy(adapted);
	tl_buf b = TL_BUF_INIT;
	int rc = c ? TL_OK : tl__error_oom();
	json_t *apps = json_object_get(c, "apps");
	json_t *http = json_object_get(apps, "http");
	const char *name;
	json_t *srv;
	json_object_foreach(json_object_get(http, "servers"), name, srv) {
		if (rc)
			break;
		json_t *routes = json_object_get(srv, "routes");
		json_t *listen = json_object_get(srv, "listen");
		char *rt = dump(routes ? routes : json_array());
		char *ls = dump(listen ? listen : json_null());
		json_object_del(srv, "routes");
		char *rest = dump(srv);
		if (!rt || !ls || !rest) {
			rc = TL_ENOMEM;
		} else {
			size_t rl = strlen(rt);
			/* "[a,b]" -> "a,b" */
			if ((rc = tl__caddy_field_put(&b, 's', ls, strlen(ls))) == TL_OK &&
			    (rc = tl__caddy_field_put(&b, 'r', rest, strlen(rest))) == TL_OK)
				rc = tl__caddy_field_put(&b, 't', rt + 1, rl >= 2 ? rl - 2 : 0);
		}
		free(rt);
		free(ls);
		free(rest);
	}
	if (http)
		json_object_del(http, "servers");
	json_t *automation = json_object_get(json_object_get(apps, "tls"), "automation");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(automation, "policies"), i, p) {
		char *s = rc ? NULL : dump(p);
		if (!s) {
			rc = rc ? rc : TL_ENOMEM;
			break;
		}
		rc = tl__caddy_field_put(&b, json_object_get(p, "subjects") ? 'p' : 'c', s,
		                         strlen(s));
		free(s);
	}
	if (automation)
		json_object_del(automation, "policies");
	if (rc == TL_OK) {
		char *other = dump(c);
		rc = other ? tl__caddy_field_put(&b, 'o', other, strlen(other)) : TL_ENOMEM;
		free(other);
	}
	json_decref(c);
	if (rc) {
		tl_buf_dispose(&b);
		return rc;
	}
	tl_buf_dispose(out);
	*out = b;
	return TL_OK;
}

static int merge_value(json_t *dst, const char *key, json_t *v);

static int merge_object(json_t *dst, json_t *src)
{
	const char *key;
	json_t *v;
	json_object_foreach(src, key, v) {
		int rc = merge_value(dst, key, v);
		if (rc)
			return rc;
	}
	return TL_OK;
}

/* Objects merge recursively, arrays by union, and for scalars the first
 * one set wins (every site was adapted with the same global options). */
static int merge_value(json_t *dst, const char *key, json_t *v)
{
	json_t *d = json_object_get(dst, key);
	if (!d)
		return json_object_set(dst, key, v) ? tl__error_oom() : TL_OK;
	if (json_is_object(d) && json_is_object(v))
		return merge_object(d, v);
	if (json_is_array(d) && json_is_array(v)) {
		size_t i, k;
		json_t *a, *b;
		json_array_foreach(v, i, a) {
			bool dup = false;
			json_array_foreach(d, k, b) if (json_equal(a, b)) dup = true;
			if (!dup && json_array_append(d, a))
				return tl__error_oom();
		}
	}
	return TL_OK;
}

static int merge_text(json_t *dst, const char *text, size_t len)
{
	json_t *j = json_loadb(text, len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return tl__error_set(TL_EIO, TL_ERRCLASS_CADDY, "corrupt adapted config piece");
	}
	int rc = merge_object(dst, j);
	json_decref(j);
	return rc;
}

/* Byte strings (not NUL terminated). */
typedef struct {
	const char *p;
	size_t len;
} span;

typedef struct {
	span *v;
	size_t n, cap;
} spans;

static int spans_push(spans *s, const char *p, size_t len)
{
	if (s->n == s->cap) {
		span *nv = tl__realloc(s->v, (s->cap = s->cap ? s->cap * 2 : 16) * sizeof(*nv));
		if (!nv)
			return TL_ENOMEM;
		s->v = nv;
	}
	s->v[s->n++] = (span){p, len};
	return TL_OK;
}

/* Add unless present; *added says which. */
static int spans_add(spans *s, const char *p, size_t len, bool *added)
{
	*added = false;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].len == len && !memcmp(s->v[i].p, p, len))
			return TL_OK;
	*added = true;
	return spans_push(s, p, len);
}

typedef struct {
	span listen;
	json_t *obj;  /* the server without routes */
	spans rests;  /* distinct "r" pieces already merged */
	spans routes; /* route pieces, joined in order */
} server_acc;

static int ensure(json_t *parent, const char *key, json_t **out)
{
	json_t *v = json_object_get(parent, key);
	if (!v && json_object_set_new(parent, key, v = json_object()))
		return tl__error_oom();
	*out = v;
	return TL_OK;
}

/* What assembling gathers from the records: the merged "o" pieces, one
 * accumulator per server (by listen address), and the distinct TLS
 * policies of specific hosts and of catch-alls. */
typedef struct {
	json_t *root;
	spans others, specific, catchall;
	server_acc *srv;
	size_t nsrv, capsrv;
	const char *lead_route; /* first in every server, or NULL */
} assembly;

static void assembly_dispose(assembly *as)
{
	free(as->others.v);
	free(as->specific.v);
	free(as->catchall.v);
	for (size_t i = 0; i < as->nsrv; i++) {
		json_decref(as->srv[i].obj);
		free(as->srv[i].rests.v);
		free(as->srv[i].routes.v);
	}
	free(as->srv);
	json_decref(as->root);
}

/* The server listening at `listen` (an "s" field), added when new. */
static int server_for(server_acc **out, assembly *as, const char *listen, size_t len)
{
	size_t k = 0;
	while (k < as->nsrv &&
	       !(as->srv[k].listen.len == len && !memcmp(as->srv[k].listen.p, listen, len)))
		k++;
	if (k == as->nsrv) {
		if (as->nsrv == as->capsrv) {
			size_t cap = as->capsrv ? as->capsrv * 2 : 4;
			server_acc *nv = tl__realloc(as->srv, cap * sizeof(*nv));
			if (!nv)
				return TL_ENOMEM;
			as->srv = nv;
			as->capsrv = cap;
		}
		memset(&as->srv[k], 0, sizeof(as->srv[k]));
		as->srv[k].listen = (span){listen, len};
		as->nsrv++;
		if (!(as->srv[k].obj = json_object()))
			return tl__error_oom();
	}
	*out = &as->srv[k];
	return TL_OK;
}

/* One site's record: its fields go where their tag says ("r" and "t"
 * belong to the server named by the "s" before them). */
static int gather_record(assembly *as, const char *rec, size_t rec_len)
{
	const char *p = rec, *end = rec + rec_len, *v = NULL;
	size_t len = 0;
	char tag = 0;
	server_acc *cur = NULL;
	bool added;
	int rc;
	while ((rc = tl__caddy_field_next(&p, end, &tag, &v, &len)) == TL_OK) {
		switch (tag) {
		case 'o':
			if ((rc = spans_add(&as->others, v, len, &added)) == TL_OK && added)
				rc = merge_text(as->root, v, len);
			break;
		case 's':
			rc = server_for(&cur, as, v, len);
			break;
		case 'r':
		case 't':
			if (!cur)
				rc = tl__error_set(TL_EIO, TL_ERRCLASS_CADDY,
				                   "corrupt adapted config record (no server)");
			else if (tag == 't')
				rc = len ? spans_push(&cur->routes, v, len) : TL_OK;
			else if ((rc = spans_add(&cur->rests, v, len, &added)) == TL_OK && added)
				rc = merge_text(cur->obj, v, len);
			break;
		case 'p':
			rc = spans_add(&as->specific, v, len, &added);
			break;
		case 'c':
			rc = spans_add(&as->catchall, v, len, &added);
			break;
		default:
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_CADDY,
			                   "corrupt adapted config record (tag %c)", tag);
		}
		if (rc)
			return rc;
	}
	return rc == TL_ENOTFOUND ? TL_OK : rc;
}

/* The merged config as compact JSON, with a mark (a string) where each
 * server's routes and the TLS policies go. */
static int skeleton(char **out, assembly *as)
{
	json_t *apps = NULL, *http = NULL, *servers, *tls = NULL, *automation = NULL;
	int rc = TL_OK;
	if (as->nsrv && !(rc = ensure(as->root, "apps", &apps)) &&
	    !(rc = ensure(apps, "http", &http))) {
		servers = json_object();
		if (!servers || json_object_set_new(http, "servers", servers))
			rc = tl__error_oom();
		for (size_t k = 0; k < as->nsrv && rc == TL_OK; k++) {
			char name[32], mark[64];
			snprintf(name, sizeof(name), "srv%zu", k);
			snprintf(mark, sizeof(mark), ROUTES_MARK "%zu@@", k);
			if (json_object_set_new(as->srv[k].obj, "routes", json_string(mark)) ||
			    json_object_set(servers, name, as->srv[k].obj))
				rc = tl__error_oom();
		}
	}
	bool policies = as->specific.n || as->catchall.n;
	if (rc == TL_OK && policies && !(rc = ensure(as->root, "apps", &apps)) &&
	    !(rc = ensure(apps, "tls", &tls)) && !(rc = ensure(tls, "automation", &automation)) &&
	    json_object_set_new(automation, "policies", json_string(POLICIES_MARK)))
		rc = tl__error_oom();
	if (rc == TL_OK && !(*out = json_dumps(as->root, JSON_COMPACT)))
		rc = tl__error_oom();
	/* Every mark must be one of ours: a piece holding the text (Caddy
	 * copies hostnames, paths and headers into the config) would have
	 * its value replaced by routes, or cut a mark short. */
	size_t marks = 0;
	for (const char *m = *out; rc == TL_OK && (m = strstr(m, "\"@@towlion-")); m++)
		marks++;
	if (rc == TL_OK && marks != as->nsrv + policies)
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_CADDY,
		                   "an adapted site config holds the text \"@@towlion-\", which "
		                   "assembling the config reserves; rename what carries it");
	return rc;
}

static void put_joined(tl_buf *b, const span *v, size_t n, bool first)
{
	for (size_t i = 0; i < n; i++) {
		if (i || !first)
			tl__buf_putc(b, ',');
		tl__buf_put(b, v[i].p, v[i].len);
	}
}

/* The skeleton with each mark replaced by the array it stands for. */
static int fill_marks(tl_buf *b, const assembly *as, const char *skel)
{
	for (const char *p = skel;;) {
		const char *m = strstr(p, "\"@@towlion-");
		if (!m)
			return tl__buf_puts(b, p);
		tl__buf_put(b, p, (size_t)(m - p));
		tl__buf_putc(b, '[');
		if (!strncmp(m + 1, POLICIES_MARK, strlen(POLICIES_MARK))) {
			put_joined(b, as->specific.v, as->specific.n, true);
			put_joined(b, as->catchall.v, as->catchall.n, as->specific.n == 0);
			p = m + 2 + strlen(POLICIES_MARK);
		} else {
			/* our own mark (counted by skeleton()), still read as
			 * strictly: a bad one is no index */
			const char *q = m + 1;
			uint64_t k = UINT64_MAX;
			if (strncmp(q, ROUTES_MARK, strlen(ROUTES_MARK)) ||
			    (q += strlen(ROUTES_MARK), !tl__parse_digits(&k, &q)) || strncmp(q, "@@", 2))
				k = UINT64_MAX;
			if (k < as->nsrv) {
				if (as->lead_route)
					tl__buf_puts(b, as->lead_route);
				put_joined(b, as->srv[k].routes.v, as->srv[k].routes.n,
				           !as->lead_route);
			}
			p = strchr(m + 1, '"') + 1;
		}
		int rc = tl__buf_putc(b, ']');
		if (rc)
			return rc;
	}
}

int tl__caddy_assemble(tl_buf *out, const char *const *recs, const size_t *lens, size_t n,
                       const char *lead_route)
{
	assembly as = {.lead_route = lead_route};
	char *skel = NULL;
	tl_buf b = TL_BUF_INIT;
	int rc = (as.root = json_object()) ? TL_OK : tl__error_oom();
	for (size_t r = 0; rc == TL_OK && r < n; r++)
		rc = gather_record(&as, recs[r], lens[r]);
	if (rc == TL_OK)
		rc = skeleton(&skel, &as);
	if (rc == TL_OK)
		rc = fill_marks(&b, &as, skel);
	if (rc == TL_OK) {
		tl_buf_dispose(out);
		*out = b;
	} else {
		tl_buf_dispose(&b);
	}
	free(skel);
	assembly_dispose(&as);
	return rc;
}
