/*
 * libtowlion - routes: every app and preview reached through Caddy by its
 * own hostnames.
 *
 * The routing table is a directory of files, TOWLION_CADDY_DIR:
 *
 *   Caddyfile            global options, the (security_headers) snippet,
 *                        and the import of every sites/NAME.caddy
 *   sites/<site>.caddy   one site per app or preview ("shop",
 *                        "shop-pr-3", "storage"), starting with a
 *                        machine-readable header line
 *                        `# towlion: v=1 site=... hosts=... upstreams=...`
 *   adapted/<site>.json  Caddy's own JSON for that site (a cache)
 *
 * A change is a transaction under one lock ("routes" in
 * TOWLION_STATE_DIR/locks): the new site is rendered, Caddy adapts it, the
 * whole configuration as it would be after the change is sent to Caddy's
 * admin API (POST /load, with the global options), and only when Caddy
 * accepts it does the file move into place (atomically). When Caddy
 * refuses, nothing on disk changes, the live configuration is untouched
 * and the caller gets TL_EINVALID with Caddy's message.
 *
 * Hostnames are RFC 1123 domain names with at least two labels
 * (tl_validate_domain); upstreams are host:port (tl_validate_hostport).
 * Both are checked before anything is sent. A hostname already routed by
 * another site is TL_ECONFLICT naming that site.
 */
#ifndef TOWLION_CADDY_H
#define TOWLION_CADDY_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

/** TLS of a route. */
typedef enum {
	TL_CADDY_TLS_CONFIG = 0,   /* as TOWLION_TLS says */
	TL_CADDY_TLS_AUTO = 1,     /* Caddy's automatic HTTPS (ACME) */
	TL_CADDY_TLS_INTERNAL = 2, /* certificates from Caddy's local CA */
	TL_CADDY_TLS_OFF = 3       /* plain HTTP on TOWLION_HTTP_PORT */
} tl_caddy_tls;

/** Most upstreams, hosts and path routes in one route. */
#define TL_CADDY_MAX_HOSTS 32
#define TL_CADDY_MAX_UPSTREAMS 32
#define TL_CADDY_MAX_PATHS 16

/**
 * A path route inside a site: requests whose path matches `path` (a Caddy
 * path matcher such as "/api/" followed by a star) go to these upstreams. Path routes are
 * tried in order, before the site's default upstreams.
 */
typedef struct {
	const char *path;                /* starts with '/'; may end in '*' */
	const char *const *upstreams;    /* host:port */
	size_t nupstreams;
	const char *health_uri;          /* active health checks, or NULL */
} tl_caddy_path;

/** One site: hostnames to upstreams, or a redirect. */
typedef struct {
	unsigned int version;          /* TL_CADDY_ROUTE_VERSION */
	const char *site;              /* file name: an app or preview name */
	const char *const *hosts;      /* hostnames the site answers */
	size_t nhosts;
	const char *const *upstreams;  /* default upstreams (host:port) */
	size_t nupstreams;
	const char *health_uri;        /* "/health": active health checks */
	unsigned int health_interval_s; /* 0: 10 s */
	const tl_caddy_path *paths;    /* path routes, tried first; may be NULL */
	size_t npaths;
	int tls;                       /* a tl_caddy_tls */
	uint64_t max_body_bytes;       /* request body limit; 0: none */
	int security_headers;          /* non-zero: HSTS, nosniff, ... (default) */
	const char *redirect_to;       /* instead of upstreams: redirect every
	                                  host permanently to https://<this>{uri} */
} tl_caddy_route;

#define TL_CADDY_ROUTE_VERSION 1
#define TL_CADDY_ROUTE_INIT                                                   \
	{TL_CADDY_ROUTE_VERSION, NULL, NULL, 0, NULL, 0, NULL, 0, NULL, 0,        \
	 TL_CADDY_TLS_CONFIG, 0, 1, NULL}

/** Initialise `route` to the defaults (same as TL_CADDY_ROUTE_INIT). */
TL_EXTERN(int) tl_caddy_route_init(tl_caddy_route *route, unsigned int version);

/** Options of the main Caddyfile. */
typedef struct {
	unsigned int version;     /* TL_CADDY_MAIN_OPTIONS_VERSION */
	const char *default_bind; /* listen only on this address ("127.0.0.1");
	                             NULL: every interface */
} tl_caddy_main_options;

#define TL_CADDY_MAIN_OPTIONS_VERSION 1
#define TL_CADDY_MAIN_OPTIONS_INIT {TL_CADDY_MAIN_OPTIONS_VERSION, NULL}

TL_EXTERN(int) tl_caddy_main_options_init(tl_caddy_main_options *opts,
                                          unsigned int version);

/**
 * Render the main Caddyfile from the configuration: admin address
 * (TOWLION_CADDY_ADMIN), ACME e-mail (TOWLION_ACME_EMAIL), ports
 * (TOWLION_HTTP_PORT/HTTPS_PORT), the (security_headers) snippet and
 * the import of every sites/NAME.caddy. `opts` may be NULL.
 */
TL_EXTERN(int) tl_caddy_render_main(tl_buf *out, tl_ctx *ctx,
                                    const tl_caddy_main_options *opts);

/**
 * Write the main Caddyfile into TOWLION_CADDY_DIR (atomically) and create
 * sites/. Does not talk to Caddy; tl_caddy_reload() applies it.
 */
TL_EXTERN(int) tl_caddy_write_main(tl_ctx *ctx, const tl_caddy_main_options *opts);

/**
 * Render a site file (what tl_caddy_route_set() would write), after
 * validating every name in it. Talks to nobody (for --dry-run).
 */
TL_EXTERN(int) tl_caddy_render_site(tl_buf *out, tl_ctx *ctx, const tl_caddy_route *route);

/**
 * Add a site, or replace it whole (a blue/green switch is one call with
 * the new upstreams: Caddy swaps its configuration gracefully, in-flight
 * requests finish). Writes the main Caddyfile with defaults when missing.
 * TL_EINVALID: a bad name or Caddy refused (nothing changed);
 * TL_ECONFLICT: a host belongs to another site; TL_ELOCKED: another
 * change held the lock too long; TL_EUNAVAILABLE: Caddy unreachable.
 */
TL_EXTERN(int) tl_caddy_route_set(tl_ctx *ctx, const tl_caddy_route *route);

/**
 * Remove the site `name`, or the site that routes hostname `name` (a
 * whole site goes, with all its hosts). TL_ENOTFOUND when there is none.
 * Writes `removed`, when not NULL, with the site's name.
 */
TL_EXTERN(int) tl_caddy_route_remove(tl_buf *removed, tl_ctx *ctx, const char *name);

/** Re-apply the state on disk (e.g. after Caddy restarted). Settles an
 * interrupted change first, as tl_caddy_reconcile() does. */
TL_EXTERN(int) tl_caddy_reload(tl_ctx *ctx);

/**
 * Settle the route changes a killed process left in flight. A change
 * writes the site's pending file (sites/NAME.caddy.pending) before Caddy
 * loads it and makes it the site file after: a pending change that Caddy
 * runs is finished (the file follows), any other is undone (Caddy gets
 * the files). Every route change does this first; a caller that only
 * reads may call it to make Caddy and the files agree. `done` (may be
 * NULL) receives one line per settled change ("" when none): "route NAME:
 * interrupted change finished|undone". Only a directory read when nothing
 * is pending. TL_EUNAVAILABLE when a change is pending and Caddy is down.
 */
TL_EXTERN(int) tl_caddy_reconcile(tl_buf *done, tl_ctx *ctx);

/**
 * Validate the state on disk with Caddy's adapter without applying it.
 * TL_EINVALID naming every site file that is broken (hand edited) or whose
 * header is missing or wrong; TL_OK when Caddy accepts all of it.
 */
TL_EXTERN(int) tl_caddy_check(tl_ctx *ctx);

/** A site as listed from the files. Strings owned by the list. */
typedef struct {
	const char *site;
	const char *path;               /* the site file */
	const char *const *hosts;
	size_t nhosts;
	const char *const *upstreams;   /* every upstream, path routes included */
	size_t nupstreams;
	const char *redirect_to;        /* or NULL */
} tl_caddy_site;

typedef struct tl_caddy_sites tl_caddy_sites;

/** List the sites, sorted by name. TL_EINVALID naming a file whose
 * header is missing or malformed. */
TL_EXTERN(int) tl_caddy_list(tl_caddy_sites **out, tl_ctx *ctx);
TL_EXTERN(size_t) tl_caddy_sites_count(const tl_caddy_sites *sites);
/** The i-th site, or NULL past the end. */
TL_EXTERN(const tl_caddy_site *) tl_caddy_sites_at(const tl_caddy_sites *sites, size_t i);
TL_EXTERN(void) tl_caddy_sites_free(tl_caddy_sites *sites);

/** An upstream as Caddy sees it (GET /reverse_proxy/upstreams). */
typedef struct {
	const char *address;  /* "127.0.0.1:8000" */
	int healthy;          /* 1 unless Caddy counts failures against it */
	int64_t num_requests; /* requests in flight */
	int64_t fails;        /* recent failures */
} tl_caddy_upstream;

typedef struct tl_caddy_upstreams tl_caddy_upstreams;

TL_EXTERN(int) tl_caddy_upstreams_get(tl_caddy_upstreams **out, tl_ctx *ctx);
TL_EXTERN(size_t) tl_caddy_upstreams_count(const tl_caddy_upstreams *u);
TL_EXTERN(const tl_caddy_upstream *) tl_caddy_upstreams_at(const tl_caddy_upstreams *u,
                                                          size_t i);
TL_EXTERN(void) tl_caddy_upstreams_free(tl_caddy_upstreams *u);

TL_END_DECL

#endif
