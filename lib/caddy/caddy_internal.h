/* The caddy module's internals: rendering, site headers, the admin API
 * and merging adapted JSON (not API). */
#ifndef TL_CADDY_INTERNAL_H
#define TL_CADDY_INTERNAL_H

#include "core/core.h"
#include "towlion/caddy.h"

#include <jansson.h>

/* The line of the main Caddyfile that pulls in the sites; the module
 * replaces it with the site files' text when it assembles the config. */
#define TL__CADDY_IMPORT_LINE "import sites/*.caddy"
#define TL__CADDY_HEADER "# towlion: "

/* A site file's header, parsed and validated. */
typedef struct {
	char *site;
	char **hosts;
	size_t nhosts;
	char **upstreams;
	size_t nupstreams;
	char *redirect_to; /* or NULL */
	bool security_headers; /* security_headers=1: the server-wide handler
	                          covers its hosts (security.c) */
} tl__caddy_header;

/* Parse the first line of a site file's text; `file` names it in errors
 * (TL_EINVALID). */
int tl__caddy_header_parse(tl__caddy_header *out, const char *text, const char *file);
void tl__caddy_header_dispose(tl__caddy_header *h);

/* Validate a site name (a DNS label: an app or preview name). */
int tl__caddy_validate_site(const char *site);

/* The admin address of TOWLION_CADDY_ADMIN as host:port, for the admin
 * global option. */
int tl__caddy_admin_listen(tl_buf *out, const char *admin_url);
/* The socket path of an admin URL unix:///abs/path (a pointer into it),
 * or NULL when it is not one. */
const char *tl__caddy_admin_socket(const char *admin_url);

/* Replace the site `name` with this file text (header included), in the
 * same transaction as tl_caddy_route_set() (table.c). */
int tl__caddy_site_apply(tl_ctx *ctx, const char *name, const char *text);

/* ---- admin API (admin.c) ---- */

/* POST /adapt a Caddyfile text; *out gets the "result" object. When Caddy
 * refuses: TL_EINVALID with its message, prefixed by `what`. Line numbers
 * in Caddy's message are shifted back by `line_offset` so that they point
 * into the file `what` names. */
int tl__caddy_adapt(json_t **out, tl_ctx *ctx, const char *text, size_t len,
                    const char *what, int line_offset);
/* POST /load a JSON config; TL_EINVALID with Caddy's message on refusal. */
int tl__caddy_load_json(tl_ctx *ctx, const char *json, size_t len);
/* GET a path of the admin API, parsed. */
int tl__caddy_get(json_t **out, tl_ctx *ctx, const char *path);
/* GET /config/, for a report: inside tl__caddy_snapshot_begin/end the
 * first answer serves every later call (a route change's own reads use
 * tl__caddy_get: they must see what Caddy runs now). */
int tl__caddy_get_config(json_t **out, tl_ctx *ctx);

/* ---- assembling (merge.c) ---- */

/* Record fields: "<tag> <len>\n<bytes>\n". next() returns TL_ENOTFOUND
 * at the end (no error set) and TL_EIO on a corrupt record. */
int tl__caddy_field_put(tl_buf *b, char tag, const char *v, size_t len);
int tl__caddy_field_next(const char **p, const char *end, char *tag, const char **v,
                         size_t *len);
/* ---- the cache of adapted sites (cache.c) ---- */

#define TL__CADDY_CACHE_MAGIC "towlion-caddy-cache 1\n"

/* What stat() said of a site file when it was read: a file whose stamp
 * still matches is taken from the cache without reading it (table.c has
 * the rule for when a stamp may be trusted at all). */
typedef struct {
	unsigned long long dev, ino, size;
	long long mtime_s, mtime_ns, ctime_s, ctime_ns;
} tl__caddy_stamp;

/* One site in the cache: pointers into the cache's text. */
typedef struct {
	const char *name, *source, *rec;
	size_t name_len, source_len, rec_len;
	bool has_stamp; /* an s field: the file's stamp when its text was read */
	tl__caddy_stamp stamp;
} tl__caddy_cached;

/* Read a cache's text made with the globals `globals`: their record
 * (*base) and the sites (*sites, sorted by name, to free()). TL_EIO when
 * it is torn, out of order, or made with other globals. */
int tl__caddy_cache_parse(const char *text, size_t len, const char *globals,
                          size_t globals_len, const char **base, size_t *base_len,
                          tl__caddy_cached **sites, size_t *nsites);
/* A stamp as the text of a cache's s field (its length), and back (false
 * when the text is not exactly what stamp_text writes). */
#define TL__CADDY_STAMP_MAX 160
size_t tl__caddy_stamp_text(char out[TL__CADDY_STAMP_MAX], const tl__caddy_stamp *s);
bool tl__caddy_stamp_parse(tl__caddy_stamp *s, const char *v, size_t len);
/* The cached site `name`, or NULL. */
const tl__caddy_cached *tl__caddy_cache_find(const tl__caddy_cached *sites, size_t n,
                                             const char *name);

/* Split one site's adapted config (a full config) into a record. */
int tl__caddy_split(tl_buf *out, const json_t *adapted);
/* Join records (the globals' first) into the whole JSON config;
 * `lead_route` (JSON text of one route, or NULL) goes first in every
 * server's routes. */
int tl__caddy_assemble(tl_buf *out, const char *const *recs, const size_t *lens, size_t n,
                       const char *lead_route);

/* ---- the security headers (security.c) ---- */

/* Append the (security_headers) snippet of the main Caddyfile. */
int tl__caddy_security_snippet(tl_buf *b);
/* The route that puts the security headers on every response of every
 * host but the `optout` ones, as compact JSON (*out to free()). */
int tl__caddy_security_route(char **out, const char *const *optout, size_t n);

#endif
