/* The GitHub client: configuration, one request with GitHub's headers, and
 * the mapping of GitHub's answers to errors (rate limits included). */
#include "github_internal.h"
#include "towlion/validate.h"

#include "core/http.h"

#include <curl/curl.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_TIMEOUT_MS 30000L
/* Error answers are short JSON documents; more is not read into memory. */
#define ANSWER_MAX (32u << 20)

int tl_github_options_init(tl_github_options *opts, unsigned int version)
{
	tl_github_options def = TL_GITHUB_OPTIONS_INIT;
	return TL__OPTIONS_INIT(opts, version, def, TL_GITHUB_OPTIONS_VERSION, "tl_github_options");
}

void tl_github_free(tl_github *gh)
{
	if (!gh)
		return;
	if (gh->share)
		curl_share_cleanup(gh->share);
	free(gh->api);
	free(gh->self_login);
	tl__free_secret(gh->auth);
	tl__free_secret(gh->token);
	free(gh);
}

const char *tl_github_api(const tl_github *gh)
{
	return gh ? gh->api : "";
}

int tl_github_new(tl_github **out, tl_ctx *ctx, const tl_github_options *opts)
{
	TL__CHECK_ARG(out && ctx);
	TL__CHECK_VERSION(opts, TL_GITHUB_OPTIONS_VERSION, "tl_github_options");
	tl_github_options o = TL_GITHUB_OPTIONS_INIT;
	if (opts)
		o = *opts;
	const char *api = o.api ? o.api : tl_ctx_config_get(ctx, "TOWLION_GITHUB_API");
	const char *token = o.token ? o.token : tl_ctx_config_get(ctx, "TOWLION_GITHUB_TOKEN");
	if (o.per_page > GH_PER_PAGE_MAX)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "GitHub per_page is 1..%u, not %u", GH_PER_PAGE_MAX, o.per_page);
	int rc = tl__github_check_base(api);
	if (rc)
		return rc;
	if (!token || !*token)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "no GitHub token: set TOWLION_GITHUB_TOKEN (a token that may "
		                     "write issues, pull requests and deployments of the repository)");
	for (const char *p = token; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
			                     "TOWLION_GITHUB_TOKEN holds a space or control character");
	tl_github *gh = tl__calloc(1, sizeof(*gh));
	if (!gh)
		return TL_ENOMEM;
	gh->ctx = ctx;
	gh->api = tl__strdup(api);
	gh->token = tl__strdup(token);
	gh->auth = tl__sprintf("Authorization: Bearer %s", token);
	if (!gh->api || !gh->token || !gh->auth) {
		tl_github_free(gh);
		return TL_ENOMEM;
	}
	size_t al = strlen(gh->api);
	while (al > 0 && gh->api[al - 1] == '/')
		gh->api[--al] = '\0';
	/* A client is used by one thread at a time, so the share needs no
	 * lock callbacks. */
	CURLSH *sh = curl_share_init();
	if (!sh || curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) ||
	    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)) {
		if (sh)
			curl_share_cleanup(sh);
		tl_github_free(gh);
		return tl__error_set(TL_ENOMEM, TL_ERRCLASS_CURL, "cannot set up a curl share");
	}
	gh->share = sh;
	gh->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
	gh->per_page = o.per_page ? o.per_page : GH_PER_PAGE_MAX;
	*out = gh;
	return TL_OK;
}

/* ---- answers ------------------------------------------------------------ */

const char *tl__github_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

char *tl__github_dup(json_t *obj, const char *key)
{
	return tl__strdup(tl__github_str(obj, key));
}

int tl__github_check_common(tl_github *gh, const char *repo)
{
	TL__CHECK_ARG(gh);
	return tl_github_validate_repo(repo);
}

void tl__github_answer_dispose(tl__github_answer *ans)
{
	if (!ans)
		return;
	json_decref(ans->json);
	ans->json = NULL;
	tl_buf_dispose(&ans->next);
}

/* The token must never reach a message: GitHub does not echo it, but a
 * proxy's error page might. */
static void redact(tl_buf *b, const char *token)
{
	size_t tl = token ? strlen(token) : 0;
	char *hit;
	while (tl && b->ptr && (hit = strstr(b->ptr, token)) != NULL) {
		memset(hit, '*', tl);
		if (tl > 8)
			memcpy(hit, "[token]", 7);
	}
}

static long long header_ll(const tl__http_resp *r, const char *name, bool *found)
{
	tl_buf v = TL_BUF_INIT;
	long long n = 0;
	*found = false;
	if (tl__http_resp_header(&v, r, name) == TL_OK && v.size) {
		uint64_t u;
		*found = tl_parse_uint(&u, v.ptr, 0, INT64_MAX, name) == TL_OK;
		n = *found ? (long long)u : 0;
		tl_error_clear();
	}
	tl_buf_dispose(&v);
	return n;
}

int tl__github_error(const tl_github *gh, long status, const char *headers, size_t hlen,
             const char *body, size_t blen, const char *what)
{
	tl__http_resp r;
	memset(&r, 0, sizeof(r));
	r.headers.ptr = (char *)headers;
	r.headers.size = headers ? hlen : 0;
	tl_buf said = TL_BUF_INIT, extra = TL_BUF_INIT;
	char up[16];
	snprintf(up, sizeof(up), "%ld", status);
	if (tl__github_error_text(&said, body, blen) != TL_OK)
		tl__buf_clear(&said);
	redact(&said, gh ? gh->token : NULL);
	const char *msg = said.size ? said.ptr : "(no message)";

	bool has_rem, has_reset, has_retry;
	long long remaining = header_ll(&r, "X-RateLimit-Remaining", &has_rem);
	long long reset = header_ll(&r, "X-RateLimit-Reset", &has_reset);
	long long retry = header_ll(&r, "Retry-After", &has_retry);
	long long now = (long long)time(NULL);
	int rc;
	if (status == 429 || (status == 403 && ((has_rem && remaining == 0) || has_retry))) {
		/* A primary limit says when the window resets; a secondary one
		 * says how long to wait. */
		if (has_reset && !(has_retry && status == 429))
			tl__github_reset_text(&extra, reset, now);
		else if (has_retry)
			tl__github_reset_text(&extra, now + retry, now);
		else
			tl__buf_puts(&extra, "reset time unknown; wait a minute");
		rc = tl__error_set_upstream(TL_EUNAVAILABLE, TL_ERRCLASS_GITHUB, up, status,
		                            "cannot %s: GitHub rate limit exceeded (HTTP %ld): %s; "
		                            "GitHub said: %s",
		                            what, status, extra.size ? extra.ptr : "", msg);
	} else if (status == 401) {
		rc = tl__error_set_upstream(TL_EAUTH, TL_ERRCLASS_GITHUB, up, status,
		                            "cannot %s: GitHub refused the token (HTTP 401: %s); check "
		                            "TOWLION_GITHUB_TOKEN", what, msg);
	} else if (status == 403) {
		rc = tl__error_set_upstream(TL_EAUTH, TL_ERRCLASS_GITHUB, up, status,
		                            "cannot %s: GitHub forbids it (HTTP 403: %s); the token "
		                            "lacks a permission", what, msg);
	} else if (status == 404) {
		rc = tl__error_set_upstream(TL_ENOTFOUND, TL_ERRCLASS_GITHUB, up, status,
		                            "cannot %s: not found on GitHub (HTTP 404: %s); does it "
		                            "exist, and may the token see the repository?", what, msg);
	} else {
		int code = status == 422 || status == 400 ? TL_EINVALID
		           : status == 409                 ? TL_ECONFLICT
		           : status >= 500                 ? TL_EUNAVAILABLE
		                                           : TL_ERROR;
		rc = tl__error_set_upstream(code, TL_ERRCLASS_GITHUB, up, status,
		                            "cannot %s: GitHub said: %s (HTTP %ld)", what, msg, status);
	}
	tl_buf_dispose(&said);
	tl_buf_dispose(&extra);
	return rc;
}

/* ---- one request ------------------------------------------------------- */

int tl__github_call(tl_github *gh, tl__github_answer *ans, const char *method, const char *path,
            const char *url, json_t *body, const char *what)
{
	memset(ans, 0, sizeof(*ans));
	tl_buf full = TL_BUF_INIT;
	int rc;
	if (url) {
		/* A Link from GitHub: it gets the token only under our base. */
		if (!tl__github_url_under_base(url, gh->api))
			return tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
			                     "cannot %s: GitHub's next page link leads outside %s; "
			                     "not following it", what, gh->api);
		rc = tl__buf_puts(&full, url);
	} else {
		rc = tl__buf_printf(&full, "%s%s", gh->api, path);
	}
	char *text = NULL;
	if (rc == TL_OK && body && !(text = json_dumps(body, JSON_COMPACT)))
		rc = tl__error_oom();
	if (rc) {
		tl_buf_dispose(&full);
		return rc;
	}
	char ua[64];
	snprintf(ua, sizeof(ua), "User-Agent: libtowlion/%s", tl_version());
	const char *headers[] = {"Accept: application/vnd.github+json",
	                         "X-GitHub-Api-Version: 2022-11-28", ua, gh->auth,
	                         text ? "Content-Type: application/json" : NULL, NULL};
	tl__http_req req = {.method = method, .url = full.ptr, .headers = headers, .body = text,
	                    .body_len = text ? strlen(text) : 0, .timeout_ms = gh->timeout_ms,
	                    .service = "the GitHub API", .klass = TL_ERRCLASS_GITHUB,
	                    .capture_headers = 1, .share = gh->share};
	tl__http_resp resp;
	rc = tl__http_do(gh->ctx, &resp, &req);
	free(text);
	if (rc == TL_OK) {
		tl__log(gh->ctx, TL_LOG_DEBUG, "GitHub %s %s: HTTP %ld",
		        method ? method : "GET", full.ptr, resp.status);
		ans->status = resp.status;
		if (resp.status < 200 || resp.status > 299) {
			rc = tl__github_error(gh, resp.status, resp.headers.ptr, resp.headers.size,
			              resp.body.ptr, resp.body.size, what);
		} else if (resp.body.size > ANSWER_MAX) {
			rc = tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
			                   "cannot %s: GitHub's answer is too large (%zu bytes)", what,
			                   resp.body.size);
		} else if (resp.body.size) {
			json_error_t je;
			ans->json = json_loadb(resp.body.ptr, resp.body.size, 0, &je);
			if (!ans->json)
				rc = tl__error_set(TL_EIO, TL_ERRCLASS_GITHUB,
				                   "cannot %s: GitHub answered invalid JSON: %s", what,
				                   je.text);
		} else {
			ans->json = json_null();
		}
		tl_buf link = TL_BUF_INIT;
		if (rc == TL_OK && tl__http_resp_header(&link, &resp, "Link") == TL_OK &&
		    tl__github_link_next(&ans->next, link.ptr) != TL_OK)
			tl__buf_clear(&ans->next);
		tl_buf_dispose(&link);
	} else {
		/* A transport error names the URL, never the token. */
		tl__error_prefix("cannot %s", what);
	}
	tl__http_resp_dispose(&resp);
	tl_buf_dispose(&full);
	if (rc)
		tl__github_answer_dispose(ans);
	return rc;
}
