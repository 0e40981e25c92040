/*
 * Rendering Caddyfile text: the main Caddyfile and one site file per
 * route, each name validated first. Every value that reaches the text has
 * passed a validator that allows no whitespace, braces, quotes or
 * newlines, so nothing a caller passes can inject Caddyfile syntax.
 */
#include "caddy_internal.h"
#include "core/url.h"
#include "towlion/validate.h"

#include <stdlib.h>
#include <string.h>

int tl_caddy_route_init(tl_caddy_route *route, unsigned int version)
{
	tl_caddy_route def = TL_CADDY_ROUTE_INIT;
	return TL__OPTIONS_INIT(route, version, def, TL_CADDY_ROUTE_VERSION, "tl_caddy_route");
}

int tl_caddy_main_options_init(tl_caddy_main_options *opts, unsigned int version)
{
	tl_caddy_main_options def = TL_CADDY_MAIN_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_CADDY_MAIN_OPTIONS_VERSION, "tl_caddy_main_options");
}

static int bad(const char *what, const char *value, const char *why)
{
	return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "invalid %s \"%s\": %s", what,
	                     value ? value : "(null)", why);
}

int tl__caddy_validate_site(const char *s)
{
	if (!s || !*s)
		return bad("site name", s, "it is empty");
	size_t n = strlen(s);
	if (n > 63)
		return bad("site name", s, "it is longer than 63 characters");
	if (s[0] < 'a' || s[0] > 'z')
		return bad("site name", s, "it must start with a lowercase letter");
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return bad("site name", s,
			           "only lowercase letters, digits and '-' are allowed");
	}
	if (s[n - 1] == '-' || strstr(s, "--"))
		return bad("site name", s, "it may not end in '-' or contain \"--\"");
	return TL_OK;
}

/* A URI path for a matcher or a health check: '/' then a conservative
 * set of characters; a matcher may end in '*'. */
static int validate_path(const char *what, const char *p, bool matcher)
{
	if (!p || p[0] != '/')
		return bad(what, p, "it must start with '/'");
	size_t n = strlen(p);
	if (n > 256)
		return bad(what, p, "it is longer than 256 characters");
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || strchr("/-._~%", c);
		if (matcher && c == '*' && i == n - 1)
			ok = true;
		if (!ok)
			return bad(what, p,
			           matcher ? "only letters, digits, '/-._~%' and a final '*' are "
			                     "allowed"
			                   : "only letters, digits and '/-._~%' are allowed");
	}
	return TL_OK;
}

static int validate_upstreams(const char *const *ups, size_t n, const char *site)
{
	if (n > TL_CADDY_MAX_UPSTREAMS)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "site %s: too many upstreams (%zu, at most %d)", site, n,
		                     TL_CADDY_MAX_UPSTREAMS);
	if (n && !ups)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "site %s: upstream list is NULL", site);
	for (size_t i = 0; i < n; i++) {
		if (tl_validate_hostport(ups[i])) {
			tl__error_prefix("site %s: upstream", site);
			return TL_EINVALID;
		}
	}
	return TL_OK;
}

/* The TLS mode in effect for a route. */
static int tls_mode(int *out, tl_ctx *ctx, int route_tls)
{
	if (route_tls > TL_CADDY_TLS_CONFIG && route_tls <= TL_CADDY_TLS_OFF) {
		*out = route_tls;
		return TL_OK;
	}
	if (route_tls != TL_CADDY_TLS_CONFIG)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT, "invalid TLS mode %d",
		                     route_tls);
	const char *v = tl__cfg(ctx, "TOWLION_TLS");
	if (!strcmp(v, "auto"))
		*out = TL_CADDY_TLS_AUTO;
	else if (!strcmp(v, "internal"))
		*out = TL_CADDY_TLS_INTERNAL;
	else if (!strcmp(v, "off"))
		*out = TL_CADDY_TLS_OFF;
	else
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_TLS is \"%s\"; use auto, internal or off", v);
	return TL_OK;
}

static int port_value(long *out, tl_ctx *ctx, const char *key)
{
	uint64_t p;
	int rc = tl_parse_uint(&p, tl__cfg(ctx, key), 1, 65535, key);
	if (rc == TL_OK)
		*out = (long)p;
	return rc;
}

int tl__caddy_admin_listen(tl_buf *out, const char *admin_url)
{
	const char *sock = tl__caddy_admin_socket(admin_url);
	if (sock) /* Caddy's network address form: unix//path */
		return tl__buf_printf(out, "unix/%s", sock);
	tl__url u;
	if (tl__url_parse(&u, admin_url, "TOWLION_CADDY_ADMIN"))
		return TL_EINVALID;
	int rc = TL_OK;
	if (strcmp(u.scheme, "http") || !u.port || (*u.path && strcmp(u.path, "/")))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_CADDY_ADMIN is \"%s\"; it must be http://host:port "
		                   "or unix:///path/to/admin.sock",
		                   admin_url);
	else if (strchr(u.host, ':'))
		rc = tl__buf_printf(out, "[%s]:%d", u.host, u.port);
	else
		rc = tl__buf_printf(out, "%s:%d", u.host, u.port);
	tl__url_dispose(&u);
	return rc;
}

static int validate_email(const char *e)
{
	const char *at = strchr(e, '@');
	if (!at || at == e || !at[1])
		return bad("TOWLION_ACME_EMAIL", e, "it is not an e-mail address");
	for (const char *p = e; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("{}\"'`\\#", *p))
			return bad("TOWLION_ACME_EMAIL", e, "it contains a forbidden character");
	return TL_OK;
}

int tl_caddy_render_main(tl_buf *out, tl_ctx *ctx, const tl_caddy_main_options *opts)
{
	TL__CHECK_ARG(out && ctx);
	TL__CHECK_VERSION(opts, TL_CADDY_MAIN_OPTIONS_VERSION, "tl_caddy_main_options");
	const char *bind = opts ? opts->default_bind : NULL;
	tl_buf admin = TL_BUF_INIT, b = TL_BUF_INIT;
	long http, https;
	int tls = 0, rc;
	const char *email = tl__cfg(ctx, "TOWLION_ACME_EMAIL");
	/* Caddy in a container binds its admin API on the container's own
	 * address (TOWLION_CADDY_ADMIN_LISTEN, e.g. 0.0.0.0:2019) while the
	 * platform reaches it through a port published on the host's loopback. */
	const char *listen = tl__cfg(ctx, "TOWLION_CADDY_ADMIN_LISTEN");
	if (*listen)
		rc = tl__buf_puts(&admin, listen);
	else
		rc = tl__caddy_admin_listen(&admin, tl__cfg(ctx, "TOWLION_CADDY_ADMIN"));
	if (rc ||
	    (rc = port_value(&http, ctx, "TOWLION_HTTP_PORT")) ||
	    (rc = port_value(&https, ctx, "TOWLION_HTTPS_PORT")) ||
	    (rc = tls_mode(&tls, ctx, TL_CADDY_TLS_CONFIG)) ||
	    (*email && (rc = validate_email(email))))
		goto out;
	if (bind && strcmp(bind, "127.0.0.1") && strcmp(bind, "::1") &&
	    tl_validate_domain(bind)) {
		/* an IPv4 address passes as host:port's host */
		char *hp = tl__sprintf("%s:1", bind);
		rc = hp ? tl_validate_hostport(hp) : TL_ENOMEM;
		free(hp);
		if (rc) {
			rc = bad("default bind address", bind, "it is not an address or hostname");
			goto out;
		}
	}
	tl__buf_puts(&b, "# Main Caddyfile, written by libtowlion. Sites live in sites/,\n"
	                 "# one file each; change them with `towlion route`.\n{\n");
	tl__buf_printf(&b, "\tadmin %s\n", admin.ptr);
	if (*email)
		tl__buf_printf(&b, "\temail %s\n", email);
	tl__buf_printf(&b, "\thttp_port %ld\n\thttps_port %ld\n", http, https);
	if (bind)
		tl__buf_printf(&b, "\tdefault_bind %s\n", bind);
	/* The server never needs to trust its own local CA, and installing
	 * it would change the machine's trust store. */
	tl__buf_puts(&b, "\tskip_install_trust\n");
	/* Plain HTTP platform: never answer a plain request with a redirect
	 * to an HTTPS port nobody configured. */
	if (tls == TL_CADDY_TLS_OFF)
		tl__buf_puts(&b, "\tauto_https disable_redirects\n");
	/* The snippet serves site files written before the headers became
	 * one server-wide route (security.c); new ones do not import it. */
	tl__buf_puts(&b, "}\n\n");
	if ((rc = tl__caddy_security_snippet(&b)) ||
	    (rc = tl__buf_puts(&b, "\n" TL__CADDY_IMPORT_LINE "\n")))
		goto out;
	if (!b.ptr) {
		rc = tl__error_oom();
		goto out;
	}
	tl_buf_dispose(out);
	*out = b;
	b = (tl_buf)TL_BUF_INIT;
out:
	tl_buf_dispose(&b);
	tl_buf_dispose(&admin);
	return rc;
}

static void put_list(tl_buf *b, const char *key, const char *const *v, size_t n)
{
	tl__buf_printf(b, " %s=", key);
	for (size_t i = 0; i < n; i++)
		tl__buf_printf(b, "%s%s", i ? "," : "", v[i]);
}

static bool seen_before(const char *const *v, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (!strcmp(v[k], v[i]))
			return true;
	return false;
}

/*
 * With several upstreams (a swarm service's tasks), one may go away between
 * two health checks (a drained or lost node): Caddy picks upstreams at
 * random and, with no retries, a dial to the gone one is a 502. So a
 * multi-upstream proxy retries for a few seconds on another upstream
 * (lb_try_duration, lb_try_interval): a retry only ever happens where the
 * request would have failed. No passive health (fail_duration): one
 * failure would leave an upstream out for its whole duration, and with
 * both of a pair out every request is a 503 (the likely cause of a loss
 * integration.cluster_deploy showed under load); the active health
 * check drops a dead
 * upstream within health_interval. Caddy 2.6 retries a
 * failed dial for every method (no request was sent); a request that was
 * sent and then failed (the task died while answering) is retried only
 * when it is a GET (no retry_match is set: other methods may not be
 * idempotent), and a response the upstream gave is never retried.
 */
static void put_proxy(tl_buf *b, const char *indent, const char *const *ups, size_t n,
                      const char *health, unsigned int interval)
{
	tl__buf_printf(b, "%sreverse_proxy", indent);
	for (size_t i = 0; i < n; i++)
		tl__buf_printf(b, " %s", ups[i]);
	bool retry = n > 1, check = health && *health;
	if (!retry && !check) {
		tl__buf_puts(b, "\n");
		return;
	}
	tl__buf_puts(b, " {\n");
	if (retry)
		tl__buf_printf(b, "%s\tlb_try_duration 5s\n%s\tlb_try_interval 250ms\n", indent,
		               indent);
	if (check)
		tl__buf_printf(b, "%s\thealth_uri %s\n%s\thealth_interval %us\n", indent, health,
		               indent, interval ? interval : 10);
	tl__buf_printf(b, "%s}\n", indent);
}

static int validate_route(tl_ctx *ctx, const tl_caddy_route *r, int *tls)
{
	int rc;
	if ((rc = tl__caddy_validate_site(r->site)))
		return rc;
	if (!r->nhosts || !r->hosts)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "site %s: give at least one hostname", r->site);
	if (r->nhosts > TL_CADDY_MAX_HOSTS)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "site %s: too many hostnames (%zu, at most %d)", r->site,
		                     r->nhosts, TL_CADDY_MAX_HOSTS);
	for (size_t i = 0; i < r->nhosts; i++) {
		if (tl_validate_domain(r->hosts[i])) {
			tl__error_prefix("site %s: hostname", r->site);
			return TL_EINVALID;
		}
		if (seen_before(r->hosts, i))
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "site %s: hostname %s is listed twice", r->site,
			                     r->hosts[i]);
	}
	if (r->redirect_to) {
		if (r->nupstreams || r->npaths)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "site %s: a redirect route has no upstreams", r->site);
		if (tl_validate_domain(r->redirect_to)) {
			tl__error_prefix("site %s: redirect target", r->site);
			return TL_EINVALID;
		}
	} else if (!r->nupstreams) {
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "site %s: give at least one upstream (host:port)", r->site);
	}
	if ((rc = validate_upstreams(r->upstreams, r->nupstreams, r->site)))
		return rc;
	if (r->health_uri && (rc = validate_path("health URI", r->health_uri, false)))
		return rc;
	if (r->npaths > TL_CADDY_MAX_PATHS || (r->npaths && !r->paths))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "site %s: path routes: at most %d, and not NULL", r->site,
		                     TL_CADDY_MAX_PATHS);
	for (size_t i = 0; i < r->npaths; i++) {
		const tl_caddy_path *p = &r->paths[i];
		if ((rc = validate_path("path", p->path, true)) ||
		    (p->health_uri && (rc = validate_path("health URI", p->health_uri, false))))
			return rc;
		if (!p->nupstreams)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
			                     "site %s: path %s has no upstreams", r->site, p->path);
		if ((rc = validate_upstreams(p->upstreams, p->nupstreams, r->site)))
			return rc;
	}
	if (r->health_interval_s > 86400)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "site %s: health interval %u s is over a day", r->site,
		                     r->health_interval_s);
	return tls_mode(tls, ctx, r->tls);
}

int tl_caddy_render_site(tl_buf *out, tl_ctx *ctx, const tl_caddy_route *r)
{
	TL__CHECK_ARG(out && ctx && r);
	TL__CHECK_VERSION(r, TL_CADDY_ROUTE_VERSION, "tl_caddy_route");
	int tls = 0, rc;
	long http_port = 0;
	if ((rc = validate_route(ctx, r, &tls)) ||
	    (tls == TL_CADDY_TLS_OFF && (rc = port_value(&http_port, ctx, "TOWLION_HTTP_PORT"))))
		return rc;
	tl_buf b = TL_BUF_INIT;
	/* The header: what list and the conflict check read. */
	tl__buf_printf(&b, TL__CADDY_HEADER "v=1 site=%s", r->site);
	put_list(&b, "hosts", r->hosts, r->nhosts);
	if (r->redirect_to) {
		tl__buf_printf(&b, " redirect=%s", r->redirect_to);
	} else {
		tl__buf_puts(&b, " upstreams=");
		const char *all[TL_CADDY_MAX_UPSTREAMS * (TL_CADDY_MAX_PATHS + 1)];
		size_t n = 0;
		for (size_t i = 0; i < r->npaths; i++)
			for (size_t k = 0; k < r->paths[i].nupstreams; k++)
				all[n++] = r->paths[i].upstreams[k];
		for (size_t k = 0; k < r->nupstreams; k++)
			all[n++] = r->upstreams[k];
		for (size_t i = 0, first = 1; i < n; i++)
			if (!seen_before(all, i)) {
				tl__buf_printf(&b, "%s%s", first ? "" : ",", all[i]);
				first = 0;
			}
	}
	if (r->security_headers)
		tl__buf_puts(&b, " security_headers=1");
	tl__buf_puts(&b, "\n# Written by libtowlion: change it with `towlion route`.\n");
	for (size_t i = 0; i < r->nhosts; i++) {
		if (tls == TL_CADDY_TLS_OFF)
			tl__buf_printf(&b, "%shttp://%s:%ld", i ? ", " : "", r->hosts[i], http_port);
		else
			tl__buf_printf(&b, "%s%s", i ? ", " : "", r->hosts[i]);
	}
	tl__buf_puts(&b, " {\n");
	if (tls == TL_CADDY_TLS_INTERNAL)
		tl__buf_puts(&b, "\ttls internal\n");
	if (r->max_body_bytes)
		tl__buf_printf(&b, "\trequest_body {\n\t\tmax_size %llu\n\t}\n",
		               (unsigned long long)r->max_body_bytes);
	if (r->redirect_to) {
		tl__buf_printf(&b, "\tredir https://%s{uri} permanent\n", r->redirect_to);
	} else if (!r->npaths) {
		put_proxy(&b, "\t", r->upstreams, r->nupstreams, r->health_uri,
		          r->health_interval_s);
	} else {
		for (size_t i = 0; i < r->npaths; i++) {
			const tl_caddy_path *p = &r->paths[i];
			tl__buf_printf(&b, "\thandle %s {\n", p->path);
			put_proxy(&b, "\t\t", p->upstreams, p->nupstreams, p->health_uri,
			          r->health_interval_s);
			tl__buf_puts(&b, "\t}\n");
		}
		tl__buf_puts(&b, "\thandle {\n");
		put_proxy(&b, "\t\t", r->upstreams, r->nupstreams, r->health_uri,
		          r->health_interval_s);
		tl__buf_puts(&b, "\t}\n");
	}
	tl__buf_puts(&b, "}\n");
	if (!b.ptr)
		return tl__error_oom();
	tl_buf_dispose(out);
	*out = b;
	return TL_OK;
}
