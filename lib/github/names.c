/* Pure helpers of the GitHub client: repository names, markers, labels,
 * Link headers, API bases and error texts. No I/O; unit tested. */
#include "github_internal.h"

#include "core/url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MARKER_PREFIX "<!-- towlion:"
#define MARKER_SUFFIX " -->"
#define KEY_MAX 100

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int tl_github_validate_repo(const char *repo)
{
	if (!repo || !*repo)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "a GitHub repository is required, as owner/name");
	const char *slash = strchr(repo, '/');
	if (!slash || strchr(slash + 1, '/'))
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid GitHub repository \"%.200s\": give it as owner/name "
		                     "(exactly one '/')", repo);
	size_t ol = (size_t)(slash - repo), nl = strlen(slash + 1);
	bool ok = ol >= 1 && ol <= 39 && repo[0] != '-' && repo[ol - 1] != '-';
	for (size_t i = 0; ok && i < ol; i++)
		ok = is_alnum(repo[i]) || (repo[i] == '-' && repo[i + 1] != '-');
	if (!ok)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid GitHub owner in \"%.200s\": 1..39 letters, digits and "
		                     "single inner hyphens", repo);
	const char *n = slash + 1;
	ok = nl >= 1 && nl <= 100 && strcmp(n, ".") != 0 && strcmp(n, "..") != 0;
	for (size_t i = 0; ok && i < nl; i++)
		ok = is_alnum(n[i]) || n[i] == '.' || n[i] == '-' || n[i] == '_';
	if (!ok)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid GitHub repository name in \"%.200s\": 1..100 letters, "
		                     "digits, '.', '-' and '_', and not \".\" or \"..\"", repo);
	return TL_OK;
}

static int validate_key(const char *key)
{
	size_t len = key ? strlen(key) : 0;
	bool ok = len >= 1 && len <= KEY_MAX && key[len - 1] != '-' && !strstr(key, "--");
	for (size_t i = 0; ok && i < len; i++)
		ok = is_alnum(key[i]) || strchr("._:/-", key[i]) != NULL;
	if (!ok)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid marker key \"%.200s\": 1..%d characters of "
		                     "[A-Za-z0-9._:/-], without \"--\" and not ending in '-'",
		                     key ? key : "", KEY_MAX);
	return TL_OK;
}

int tl_github_marker(tl_buf *out, const char *key)
{
	TL__CHECK_ARG(out);
	int rc = validate_key(key);
	if (rc)
		return rc;
	tl_buf b = TL_BUF_INIT;
	if ((rc = tl__buf_printf(&b, MARKER_PREFIX "%s" MARKER_SUFFIX, key)) != TL_OK) {
		tl_buf_dispose(&b);
		return rc;
	}
	tl_buf_dispose(out);
	*out = b;
	return TL_OK;
}

int tl__github_marked_body(tl_buf *out, const char *key, const char *body)
{
	int rc = tl_github_marker(out, key);
	if (rc == TL_OK)
		rc = tl__buf_printf(out, "\n%s", body ? body : "");
	return rc;
}

bool tl__github_body_has_marker(const char *body, const char *marker)
{
	size_t ml = strlen(marker);
	if (!body || strncmp(body, marker, ml) != 0)
		return false;
	char c = body[ml];
	return c == '\0' || c == '\n' || c == '\r';
}

int tl__github_validate_label(const char *label)
{
	size_t len = label ? strlen(label) : 0;
	bool ok = len >= 1 && len <= 50;
	for (size_t i = 0; ok && i < len; i++)
		ok = label[i] != ',' && !iscntrl((unsigned char)label[i]);
	if (!ok)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_INPUT,
		                     "invalid GitHub label \"%.80s\": 1..50 characters, no ',' "
		                     "and no control characters", label ? label : "");
	return TL_OK;
}

/* ---- Link: <url>; rel="next", <url>; rel="last" ---------------------- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Does the parameter list [p, end) hold rel="... next ..."? */
static bool params_say_next(const char *p, const char *end)
{
	while (p < end) {
		p = skip_ws(p);
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *pe = semi ? semi : end;
		if ((size_t)(pe - p) > 4 && strncasecmp(p, "rel", 3) == 0) {
			const char *v = skip_ws(p + 3);
			if (v < pe && *v == '=') {
				v = skip_ws(v + 1);
				const char *ve = pe;
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				if (ve > v && *v == '"') {
					v++;
					if (ve > v && ve[-1] == '"')
						ve--;
				}
				/* rel may hold several space separated relations. */
				while (v < ve) {
					const char *w = v;
					while (w < ve && *w != ' ')
						w++;
					if (w - v == 4 && strncasecmp(v, "next", 4) == 0)
						return true;
					v = w < ve ? w + 1 : w;
				}
			}
		}
		p = semi ? semi + 1 : end;
	}
	return false;
}

int tl__github_link_next(tl_buf *out, const char *link)
{
	const char *p = link ? link : "";
	for (;;) {
		p = skip_ws(p);
		while (*p == ',')
			p = skip_ws(p + 1);
		if (*p != '<')
			return TL_ENOTFOUND;
		const char *us = p + 1, *ue = strchr(us, '>');
		if (!ue)
			return TL_ENOTFOUND;
		/* Parameters run to the next ',' that starts another link (URLs
		 * are inside <>, and GitHub's parameters hold no commas). */
		const char *ps = ue + 1, *pe = strchr(ps, ',');
		if (!pe)
			pe = ps + strlen(ps);
		if (params_say_next(ps, pe))
			return tl__buf_set(out, us, (size_t)(ue - us));
		p = pe;
	}
}

/* ---- bases ------------------------------------------------------------ */

bool tl__github_url_under_base(const char *url, const char *base)
{
	/* scheme://authority compared case-insensitively, the path exactly;
	 * the base must be followed by '/', '?' or the end. */
	const char *sep = strstr(base, "://");
	if (!sep || !url)
		return false;
	const char *auth_end = strchr(sep + 3, '/');
	size_t origin_len = auth_end ? (size_t)(auth_end - base) : strlen(base);
	size_t base_len = strlen(base);
	if (strlen(url) < base_len || strncasecmp(url, base, origin_len) != 0 ||
	    strncmp(url + origin_len, base + origin_len, base_len - origin_len) != 0)
		return false;
	char c = url[base_len];
	if (c != '\0' && c != '/' && c != '?')
		return false;
	/* No dot segments that would climb out of the base. */
	return strstr(url + base_len, "/../") == NULL && strstr(url + base_len, "/./") == NULL &&
	       !tl__str_endswith(url, "/..");
}

int tl__github_check_base(const char *api)
{
	if (!api || !*api)
		return tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                     "TOWLION_GITHUB_API is empty: set it to the REST API base, "
		                     "e.g. https://api.github.com");
	tl__url u;
	int rc = tl__url_parse(&u, api, "TOWLION_GITHUB_API");
	if (rc)
		return rc;
	bool loopback = !strcmp(u.host, "127.0.0.1") || !strcmp(u.host, "::1") ||
	                !strcasecmp(u.host, "localhost");
	if (u.user || u.password)
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_GITHUB_API may not hold credentials: put the token in "
		                   "TOWLION_GITHUB_TOKEN");
	else if (strcmp(u.scheme, "https") != 0 && !(strcmp(u.scheme, "http") == 0 && loopback))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_GITHUB_API must be an https:// URL (plain http only on "
		                   "loopback, so the token never crosses a network in clear), "
		                   "not \"%.200s\"", api);
	else if (strchr(api, '?') || strchr(api, '#'))
		rc = tl__error_set(TL_EINVALID, TL_ERRCLASS_CONFIG,
		                   "TOWLION_GITHUB_API is a base URL without '?' or '#': \"%.200s\"",
		                   api);
	tl__url_dispose(&u);
	return rc;
}

/* ---- error texts -------------------------------------------------------- */

int tl__github_error_text(tl_buf *out, const char *body, size_t len)
{
	tl__buf_clear(out);
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *m = json_is_object(j) ? json_string_value(json_object_get(j, "message")) : NULL;
	int rc = TL_OK;
	if (m)
		rc = tl__buf_printf(out, "%.500s", m);
	json_t *e = json_is_object(j) ? json_array_get(json_object_get(j, "errors"), 0) : NULL;
	if (rc == TL_OK && e) {
		const char *em = json_is_string(e) ? json_string_value(e)
		                                   : json_string_value(json_object_get(e, "message"));
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *field = json_string_value(json_object_get(e, "field"));
		if (em)
			rc = tl__buf_printf(out, "%s%.500s", out->size ? ": " : "", em);
		else if (code)
			rc = tl__buf_printf(out, "%s%s%s%.100s", out->size ? ": " : "", code,
			                    field ? " " : "", field ? field : "");
	}
	if (rc == TL_OK && !out->size && body && len && !j) {
		/* Not JSON (a proxy's page): a short excerpt, one line. */
		rc = tl__buf_printf(out, "%.*s", (int)(len > 200 ? 200 : len), body);
		for (size_t i = 0; rc == TL_OK && i < out->size; i++)
			if (iscntrl((unsigned char)out->ptr[i]))
				out->ptr[i] = ' ';
	}
	json_decref(j);
	return rc;
}

int tl__github_reset_text(tl_buf *out, long long reset_epoch, long long now)
{
	time_t t = (time_t)reset_epoch;
	struct tm tm;
	char when[64];
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(when, sizeof(when), "epoch %lld", reset_epoch);
	long long in = reset_epoch - now;
	return tl__buf_printf(out, "resets at %s, in %lld s", when, in > 0 ? in : 0);
}
