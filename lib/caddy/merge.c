/*
 * Merging per-site adapted configs into one. Each site file is adapted by
 * Caddy on its own (with the global options) and the result cached; a
 * change then costs one small /adapt plus a JSON /load, instead of
 * adapting every site's Caddyfile text again (the slow part of `caddy
 * reload`, see docs/benchmarks.md).
 *
 * Merging is sound because sites never share a hostname (the conflict
 * check) and hostnames are exact (no wildcards), so the order of the
 * sites' routes inside a server does not matter.
 */
#include "caddy_internal.h"

#include <string.h>

static int merge_value(json_t *dst, const char *key, json_t *src);

/* Append to `dst` the items of `src` it does not hold yet. Routes are
 * always appended: two sites never have equal routes. */
static int merge_array(json_t *dst, json_t *src, bool always)
{
	size_t i, k;
	json_t *v, *w;
	json_array_foreach(src, i, v) {
		bool dup = false;
		if (!always)
			json_array_foreach(dst, k, w) if (json_equal(v, w)) dup = true;
		if (!dup && json_array_append_new(dst, json_deep_copy(v)))
			return tl__error_oom();
	}
	return TL_OK;
}

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

/* Merge src[key] into dst[key]: objects recursively, arrays by union,
 * scalars: the first one set wins (they come from the same globals). */
static int merge_value(json_t *dst, const char *key, json_t *v)
{
	json_t *d = json_object_get(dst, key);
	if (!d)
		return json_object_set_new(dst, key, json_deep_copy(v)) ? tl__error_oom() : TL_OK;
	if (json_is_object(d) && json_is_object(v))
		return merge_object(d, v);
	if (json_is_array(d) && json_is_array(v))
		return merge_array(d, v, !strcmp(key, "routes"));
	return TL_OK;
}

/* Servers are keyed by their listen addresses, not by the srvN names the
 * adapter made up for each site. */
static int merge_servers(json_t *dst_http, json_t *src_servers)
{
	json_t *dst = json_object_get(dst_http, "servers");
	if (!dst) {
		dst = json_object();
		if (!dst || json_object_set_new(dst_http, "servers", dst))
			return tl__error_oom();
	}
	const char *name;
	json_t *srv;
	json_object_foreach(src_servers, name, srv) {
		json_t *listen = json_object_get(srv, "listen");
		const char *dname;
		json_t *dsrv, *match = NULL;
		json_object_foreach(dst, dname, dsrv) {
			if (json_equal(json_object_get(dsrv, "listen"), listen))
				match = dsrv;
		}
		int rc;
		if (match) {
			if ((rc = merge_object(match, srv)))
				return rc;
			continue;
		}
		char fresh[32];
		snprintf(fresh, sizeof(fresh), "srv%zu", json_object_size(dst));
		if (json_object_set_new(dst, fresh, json_deep_copy(srv)))
			return tl__error_oom();
	}
	return TL_OK;
}

int tl__caddy_merge(json_t *dst, const json_t *src_c)
{
	json_t *src = (json_t *)src_c; /* jansson's iterators are not const */
	const char *key;
	json_t *v;
	json_object_foreach(src, key, v) {
		int rc;
		if (strcmp(key, "apps")) {
			if ((rc = merge_value(dst, key, v)))
				return rc;
			continue;
		}
		json_t *dapps = json_object_get(dst, "apps");
		if (!dapps) {
			dapps = json_object();
			if (!dapps || json_object_set_new(dst, "apps", dapps))
				return tl__error_oom();
		}
		const char *app;
		json_t *a;
		json_object_foreach(v, app, a) {
			if (strcmp(app, "http")) {
				if ((rc = merge_value(dapps, app, a)))
					return rc;
				continue;
			}
			json_t *dhttp = json_object_get(dapps, "http");
			if (!dhttp) {
				dhttp = json_object();
				if (!dhttp || json_object_set_new(dapps, "http", dhttp))
					return tl__error_oom();
			}
			const char *hk;
			json_t *hv;
			json_object_foreach(a, hk, hv) {
				rc = strcmp(hk, "servers") ? merge_value(dhttp, hk, hv)
				                           : merge_servers(dhttp, hv);
				if (rc)
					return rc;
			}
		}
	}
	return TL_OK;
}

/* Stable partition: items for which `specific` holds come first. */
static void catch_all_last(json_t *arr, const char *specific_key)
{
	if (!json_is_array(arr))
		return;
	json_t *tail = json_array();
	size_t i = 0;
	while (i < json_array_size(arr)) {
		json_t *p = json_array_get(arr, i);
		if (json_object_get(p, specific_key)) {
			i++;
			continue;
		}
		json_array_append(tail, p);
		json_array_remove(arr, i);
	}
	json_array_extend(arr, tail);
	json_decref(tail);
}

void tl__caddy_merge_finish(json_t *dst)
{
	json_t *apps = json_object_get(dst, "apps");
	json_t *auto_ = json_object_get(json_object_get(json_object_get(apps, "tls"),
	                                                "automation"),
	                                "policies");
	catch_all_last(auto_, "subjects");
	const char *name;
	json_t *srv;
	json_object_foreach(json_object_get(json_object_get(apps, "http"), "servers"), name, srv)
		catch_all_last(json_object_get(srv, "tls_connection_policies"), "match");
}
