/*
 * The platform's security headers (HSTS, nosniff, DENY framing, a
 * referrer policy, no Server header).
 *
 * They are one route at the head of every server, in front of the sites'
 * routes, not a handler inside every site: at 1000 sites the handler
 * copied into each site made the config twice as large and Caddy's load
 * of it 1.4x as slow (docs/benchmarks.md). The route matches every host
 * except those of the sites that opted out (`--no-security-headers`), and
 * since a site's own routes come after it, nothing a site or its app
 * does can take the headers off another site's responses.
 *
 * The route has two handlers, because one alone misses responses:
 *   - applied at once, to the response's header map before the sites'
 *     handlers run: it is there when Caddy answers an error itself (502
 *     from the proxy when the upstream is down, 413 of a body limit), a
 *     response no deferred handler sees; it also drops Caddy's own
 *     "Server";
 *   - deferred, applied when the response's header is written: it
 *     replaces what the upstream app sent under the same names (an app
 *     cannot weaken its HSTS or framing policy, nor hide them with a
 *     Connection header) and drops the upstream's "Server".
 * Sites written by an older libtowlion import the (security_headers)
 * snippet of the main Caddyfile in their own block; they carry no
 * security_headers=1 in their header line, so this route leaves them out
 * and their own handler keeps doing what it did.
 */
#include "caddy_internal.h"

#include <stdlib.h>

static const struct {
	const char *name, *value;
} platform_headers[] = {
	{"Strict-Transport-Security", "max-age=31536000"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
	{"Referrer-Policy", "strict-origin-when-cross-origin"},
};

#define NHEADERS (sizeof(platform_headers) / sizeof(platform_headers[0]))

int tl__caddy_security_snippet(tl_buf *b)
{
	int rc = tl__buf_puts(b, "(security_headers) {\n\theader {\n");
	for (size_t i = 0; rc == TL_OK && i < NHEADERS; i++)
		rc = tl__buf_printf(b, "\t\t%s \"%s\"\n", platform_headers[i].name,
		                    platform_headers[i].value);
	return rc ? rc : tl__buf_puts(b, "\t\t-Server\n\t}\n}\n");
}

/* One "headers" handler: set the platform's headers, drop "Server". */
static json_t *handler(bool deferred)
{
	json_t *set = json_object();
	for (size_t i = 0; set && i < NHEADERS; i++)
		if (json_object_set_new(set, platform_headers[i].name,
		                        json_pack("[s]", platform_headers[i].value))) {
			json_decref(set);
			set = NULL;
		}
	json_t *response = set ? json_pack("{s:o, s:[s]}", "set", set, "delete", "Server") : NULL;
	if (response && deferred && json_object_set_new(response, "deferred", json_true())) {
		json_decref(response);
		response = NULL;
	}
	return response ? json_pack("{s:s, s:o}", "handler", "headers", "response", response)
	                : NULL;
}

int tl__caddy_security_route(char **out, const char *const *optout, size_t n)
{
	*out = NULL;
	json_t *hosts = json_array();
	for (size_t i = 0; hosts && i < n; i++)
		if (json_array_append_new(hosts, json_string(optout[i]))) {
			json_decref(hosts);
			hosts = NULL;
		}
	json_t *route = hosts ? json_pack("{s:[o,o]}", "handle", handler(false), handler(true))
	                      : NULL;
	/* Caddy's "not" matcher takes a list of matcher sets. */
	if (route && n &&
	    json_object_set_new(route, "match", json_pack("[{s:[{s:O}]}]", "not", "host", hosts))) {
		json_decref(route);
		route = NULL;
	}
	if (route)
		*out = json_dumps(route, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(route);
	json_decref(hosts);
	return *out ? TL_OK : tl__error_oom();
}
