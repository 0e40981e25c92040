/* Talking to Caddy's admin API: /adapt, /load and reads. */
#include "caddy_internal.h"
#include "core/http.h"

#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#define ADMIN_TIMEOUT_MS 60000

const char *tl__caddy_admin_socket(const char *admin_url)
{
	if (admin_url && !strncmp(admin_url, "unix:///", 8) && admin_url[8])
		return admin_url + 7;
	return NULL;
}

static int call(tl_ctx *ctx, tl__http_resp *resp, const char *method, const char *path,
                const char *ctype, const char *body, size_t len)
{
	const char *base = tl__cfg(ctx, "TOWLION_CADDY_ADMIN");
	/* unix:///path/admin.sock: the admin API on a unix socket in a
	 * directory only the host sees, so nothing on a Docker network can
	 * reach it (docs/security.md, "Networks"). */
	const char *sock = tl__caddy_admin_socket(base);
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	char *url = sock ? tl__sprintf("http://localhost%s", path)
	                 : tl__sprintf("%.*s%s", (int)bl, base, path);
	char *ct = ctype ? tl__sprintf("Content-Type: %s", ctype) : NULL;
	if (!url || (ctype && !ct)) {
		free(url);
		free(ct);
		return TL_ENOMEM;
	}
	/* must-revalidate: apply even when Caddy thinks nothing changed (after
	 * a restart its live config may differ from what it remembers).
	 * On a unix socket Caddy 2.6 allows only an empty Host header ("Host;"
	 * makes libcurl send one); TCP keeps libcurl's own. */
	const char *hdrs[] = {ct ? ct : "Accept: application/json",
	                      "Cache-Control: must-revalidate", sock ? "Host;" : NULL, NULL};
	tl__http_req req = {.method = method, .url = url, .unix_socket = sock, .headers = hdrs,
	                    .body = body, .body_len = len, .timeout_ms = ADMIN_TIMEOUT_MS,
	                    .service = "Caddy admin API", .klass = TL_ERRCLASS_CADDY};
	int rc = tl__http_do(ctx, resp, &req);
	/* Caddy refuses connections for a moment while it swaps its admin
	 * listener during a load, and may drop a connection it was answering
	 * on (seen under load: "Failure when receiving data from the peer").
	 * Every request made here is idempotent (a read, an adapt, or a /load
	 * of the whole configuration), so trying again is safe. */
	for (int i = 0; (rc == TL_EUNAVAILABLE || rc == TL_EIO) && i < 5; i++) {
		tl__sleep_ms(100);
		rc = tl__http_do(ctx, resp, &req);
	}
	free(url);
	free(ct);
	return rc;
}

/* Caddy's error message from a JSON error body, or the raw body. */
static char *error_text(const tl__http_resp *resp)
{
	json_t *j = json_loadb(resp->body.ptr ? resp->body.ptr : "", resp->body.size, 0, NULL);
	const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
	char *s = e ? tl__strdup(e)
	            : tl__strndup(resp->body.ptr ? resp->body.ptr : "", resp->body.size);
	json_decref(j);
	if (s) {
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
			s[--n] = '\0';
	}
	return s;
}

/* Caddy names the text it adapted "Caddyfile:N: ..." or "Caddyfile:N -
 * ..."; point N into `what`. */
static char *shift_lines(const char *msg, const char *what, int offset)
{
	tl_buf b = TL_BUF_INIT;
	const char *p = msg;
	for (const char *m; (m = strstr(p, "Caddyfile:"));) {
		const char *end = m + 10;
		uint64_t n = 0;
		if (!tl__parse_digits(&n, &end) || n > LONG_MAX || (*end != ':' && *end != ' ')) {
			tl__buf_put(&b, p, (size_t)(m + 10 - p));
			p = m + 10;
			continue;
		}
		long line = (long)n;
		tl__buf_put(&b, p, (size_t)(m - p));
		if (offset >= 0 && line > offset)
			tl__buf_printf(&b, "%s:%ld", what, line - offset);
		else
			tl__buf_printf(&b, "Caddyfile:%ld", line);
		p = end;
	}
	tl__buf_puts(&b, p);
	return tl__buf_detach(&b);
}

int tl__caddy_adapt(json_t **out, tl_ctx *ctx, const char *text, size_t len,
                    const char *what, int line_offset)
{
	tl__http_resp resp;
	int rc = call(ctx, &resp, "POST", "/adapt", "text/caddyfile", text, len);
	if (rc)
		return rc;
	if (resp.status != 200) {
		char *e = error_text(&resp);
		char *shifted = e ? shift_lines(e, what, line_offset) : NULL;
		rc = tl__error_set_upstream(TL_EINVALID, TL_ERRCLASS_CADDY, "", resp.status,
		                            "Caddy refused %s (HTTP %ld): %s", what, resp.status,
		                            shifted ? shifted : "(no message)");
		free(e);
		free(shifted);
		tl__http_resp_dispose(&resp);
		return rc;
	}
	json_error_t err;
	json_t *j = json_loadb(resp.body.ptr, resp.body.size, 0, &err);
	json_t *result = j ? json_object_get(j, "result") : NULL;
	if (!json_is_object(result)) {
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_CADDY,
		                   "Caddy's /adapt answer for %s has no result object", what);
	} else {
		json_t *warnings = json_object_get(j, "warnings");
		size_t i;
		json_t *w;
		json_array_foreach(warnings, i, w) {
			const char *m = json_string_value(json_object_get(w, "message"));
			/* The text assembled here is never read by a person. */
			if (m && strstr(m, "is not formatted"))
				continue;
			tl__log(ctx, TL_LOG_WARN, "Caddy warns about %s: %s", what, m ? m : "?");
		}
		*out = json_incref(result);
	}
	json_decref(j);
	tl__http_resp_dispose(&resp);
	return rc;
}

int tl__caddy_load_json(tl_ctx *ctx, const char *json, size_t len)
{
	void **snap = tl__caddy_snapshot_slot(ctx);
	if (snap) { /* a snapshot no longer */
		json_decref(*snap);
		*snap = NULL;
	}
	tl__http_resp resp;
	int rc = call(ctx, &resp, "POST", "/load", "application/json", json, len);
	if (rc)
		return rc;
	if (resp.status != 200) {
		char *e = error_text(&resp);
		rc = tl__error_set_upstream(TL_EINVALID, TL_ERRCLASS_CADDY, "", resp.status,
		                            "Caddy refused the new configuration (HTTP %ld), the "
		                            "live one is unchanged: %s",
		                            resp.status, e ? e : "(no message)");
		free(e);
	}
	tl__http_resp_dispose(&resp);
	return rc;
}

static int get(json_t **out, tl_ctx *ctx, const char *path);

int tl__caddy_get(json_t **out, tl_ctx *ctx, const char *path)
{
	return get(out, ctx, path);
}

int tl__caddy_get_config(json_t **out, tl_ctx *ctx)
{
	void **snap = tl__caddy_snapshot_slot(ctx);
	if (!snap)
		return get(out, ctx, "/config/");
	if (!*snap) {
		json_t *j = NULL;
		int rc = get(&j, ctx, "/config/");
		if (rc) /* not kept: the next app asks again */
			return rc;
		*snap = j;
	}
	*out = json_incref(*snap);
	return TL_OK;
}

static int get(json_t **out, tl_ctx *ctx, const char *path)
{
	tl__http_resp resp;
	int rc = call(ctx, &resp, "GET", path, NULL, NULL, 0);
	if (rc)
		return rc;
	json_t *j = NULL;
	if (resp.status != 200)
		rc = tl__error_set_upstream(TL_EIO, TL_ERRCLASS_CADDY, "", resp.status,
		                            "Caddy admin API answered HTTP %ld to GET %s",
		                            resp.status, path);
	else if (!(j = json_loadb(resp.body.ptr ? resp.body.ptr : "", resp.body.size,
	                          JSON_DECODE_ANY, NULL)))
		rc = tl__error_set(TL_EIO, TL_ERRCLASS_CADDY,
		                   "Caddy admin API answered GET %s with invalid JSON", path);
	else
		*out = j;
	tl__http_resp_dispose(&resp);
	return rc;
}
