/* The GitHub client's pure parts: repository names, markers, labels, Link
 * headers, which URLs may receive the token, API bases, and how GitHub's
 * error answers (rate limits included) become errors. */
#include "tl_test.h"

#include "github/github_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void test_repo_names(void **state)
{
	const char *good[] = {"acme/web", "a/b", "Acme-Corp/web.site", "x/.github", "o/_x",
	                      "abcdefghijabcdefghijabcdefghijabcdefghi/r", "o/a-b_c.d",
	                      "0/0"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(good); i++)
		tl_assert_ok(tl_github_validate_repo(good[i]));
	const char *bad[] = {NULL, "", "acme", "/web", "acme/", "acme/web/x", "acme//web",
	                     "../web", "acme/..", "acme/.", "-acme/web", "acme-/web", "ac--me/web",
	                     "ac_me/web", "acme/we b", "acme/web?x", "acme/web#1", "acme/wé",
	                     "abcdefghijabcdefghijabcdefghijabcdefghij/r", "acme/web\n",
	                     "acme/%2e%2e"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(bad); i++) {
		tl_assert_rc(TL_EINVALID, tl_github_validate_repo(bad[i]));
		assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_INPUT);
	}
	char name[128];
	memset(name, 'n', sizeof(name));
	memcpy(name, "o/", 2);
	name[102] = '\0'; /* 100-character name */
	tl_assert_ok(tl_github_validate_repo(name));
	name[102] = 'n';
	name[103] = '\0';
	tl_assert_rc(TL_EINVALID, tl_github_validate_repo(name));
	tl_assert_error_contains("1..100");
}

static void test_markers(void **state)
{
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl_github_marker(&b, "preview:web"));
	assert_string_equal(b.ptr, "<!-- towlion:preview:web -->");
	tl_assert_ok(tl_github_marker(&b, "alert:disk:/data"));
	assert_string_equal(b.ptr, "<!-- towlion:alert:disk:/data -->");
	const char *bad[] = {NULL, "", "a--b", "a-", "a b", "a>b", "x -->", "é", "a\nb",
	                     "ends-with-dash-"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(bad); i++) {
		tl_assert_rc(TL_EINVALID, tl_github_marker(&b, bad[i]));
		/* The buffer keeps what it had. */
		assert_string_equal(b.ptr, "<!-- towlion:alert:disk:/data -->");
	}
	char key[102];
	memset(key, 'k', 100);
	key[100] = '\0';
	tl_assert_ok(tl_github_marker(&b, key));
	key[100] = 'k';
	key[101] = '\0';
	tl_assert_rc(TL_EINVALID, tl_github_marker(&b, key));

	tl_assert_ok(tl__github_marked_body(&b, "preview:web", "hello"));
	assert_string_equal(b.ptr, "<!-- towlion:preview:web -->\nhello");
	tl_buf_dispose(&b);

	const char *m = "<!-- towlion:preview:web -->";
	assert_true(tl__github_body_has_marker("<!-- towlion:preview:web -->\nbody", m));
	assert_true(tl__github_body_has_marker("<!-- towlion:preview:web -->\r\nbody", m));
	assert_true(tl__github_body_has_marker("<!-- towlion:preview:web -->", m));
	/* A longer key that starts the same is another marker. */
	assert_false(tl__github_body_has_marker("<!-- towlion:preview:web-pr-2 -->\nx", m));
	/* Quoted further down by someone else: not ours. */
	assert_false(tl__github_body_has_marker("> <!-- towlion:preview:web -->\nx", m));
	assert_false(tl__github_body_has_marker("<!-- towlion:preview:web -->x", m));
	assert_false(tl__github_body_has_marker(NULL, m));
}

static void test_labels(void **state)
{
	tl_assert_ok(tl__github_validate_label("towlion-alert"));
	tl_assert_ok(tl__github_validate_label("priority: high"));
	tl_assert_rc(TL_EINVALID, tl__github_validate_label(""));
	tl_assert_rc(TL_EINVALID, tl__github_validate_label("a,b"));
	tl_assert_rc(TL_EINVALID, tl__github_validate_label("a\tb"));
	tl_assert_rc(TL_EINVALID, tl__github_validate_label("123456789012345678901234567890123456789012345678901"));
}

static void link_is(const char *header, const char *want)
{
	tl_buf b = TL_BUF_INIT;
	int rc = tl__github_link_next(&b, header);
	if (want) {
		tl_assert_ok(rc);
		assert_string_equal(b.ptr, want);
	} else {
		assert_int_equal(rc, TL_ENOTFOUND);
	}
	tl_buf_dispose(&b);
}

static void test_link_header(void **state)
{
	/* GitHub's own shape. */
	link_is("<https://api.github.com/repositories/1/issues/3/comments?per_page=100&page=2>; "
	        "rel=\"next\", <https://api.github.com/repositories/1/issues/3/comments?"
	        "per_page=100&page=5>; rel=\"last\"",
	        "https://api.github.com/repositories/1/issues/3/comments?per_page=100&page=2");
	/* next in second place, after prev and first. */
	link_is("<https://h/x?page=1>; rel=\"first\", <https://h/x?page=2>; rel=\"prev\", "
	        "<https://h/x?page=4>; rel=\"next\"",
	        "https://h/x?page=4");
	/* The last page: no next. */
	link_is("<https://h/x?page=1>; rel=\"first\", <https://h/x?page=3>; rel=\"prev\"", NULL);
	/* Unquoted, upper case, extra spaces and parameters, several relations. */
	link_is("<https://h/x?page=2>;REL=NEXT", "https://h/x?page=2");
	link_is("  <https://h/x?page=2> ; title=\"n\" ; rel = \"prefetch next\"",
	        "https://h/x?page=2");
	/* "nextpage" is not "next". */
	link_is("<https://h/x?page=2>; rel=\"nextpage\"", NULL);
	/* Empty, missing and malformed headers. */
	link_is("", NULL);
	link_is(NULL, NULL);
	link_is("https://h/x; rel=\"next\"", NULL);
	link_is("<https://h/x; rel=\"next\"", NULL);
}

static void test_url_under_base(void **state)
{
	const char *gh = "https://api.github.com";
	assert_true(tl__github_url_under_base("https://api.github.com/repositories/1/issues?page=2", gh));
	assert_true(tl__github_url_under_base("https://API.GitHub.com/x", gh));
	assert_false(tl__github_url_under_base("https://api.github.com.evil.example/x", gh));
	assert_false(tl__github_url_under_base("https://evil.example/https://api.github.com/x", gh));
	assert_false(tl__github_url_under_base("http://api.github.com/x", gh));
	assert_false(tl__github_url_under_base("https://api.github.com:444/x", gh));
	assert_false(tl__github_url_under_base("https://api.github.com@evil.example/x", gh));
	const char *ghe = "https://ghe.example/api/v3";
	assert_true(tl__github_url_under_base("https://ghe.example/api/v3/repos/a/b/issues?page=2", ghe));
	assert_false(tl__github_url_under_base("https://ghe.example/api/v30/x", ghe));
	assert_false(tl__github_url_under_base("https://ghe.example/other", ghe));
	assert_false(tl__github_url_under_base("https://ghe.example/api/v3/../../x", ghe));
	assert_false(tl__github_url_under_base(NULL, ghe));
}

static void test_api_base(void **state)
{
	tl_assert_ok(tl__github_check_base("https://api.github.com"));
	tl_assert_ok(tl__github_check_base("https://ghe.example/api/v3"));
	tl_assert_ok(tl__github_check_base("http://127.0.0.1:8080"));
	tl_assert_ok(tl__github_check_base("http://localhost:8080/api/v3"));
	tl_assert_rc(TL_EINVALID, tl__github_check_base("http://api.github.com"));
	tl_assert_error_contains("https://");
	tl_assert_rc(TL_EINVALID, tl__github_check_base("ftp://x"));
	tl_assert_rc(TL_EINVALID, tl__github_check_base(""));
	tl_assert_rc(TL_EINVALID, tl__github_check_base("https://u:secret@ghe.example"));
	assert_null(strstr(tl_error_last()->message, "secret"));
	tl_assert_rc(TL_EINVALID, tl__github_check_base("https://ghe.example/api/v3?x=1"));
	tl_assert_rc(TL_EINVALID, tl__github_check_base("not a url"));
}

static int err(const char *token, long status, const char *headers, const char *body)
{
	tl_github gh = {.token = (char *)token};
	return tl__github_error(&gh, status, headers, headers ? strlen(headers) : 0, body,
	                body ? strlen(body) : 0, "read pull request acme/web#3");
}

static void test_error_mapping(void **state)
{
	const char *tok = "ghs_abcdefghijklmnop";
	tl_assert_rc(TL_EAUTH, err(tok, 401, NULL, "{\"message\":\"Bad credentials\"}"));
	tl_assert_error_contains("cannot read pull request acme/web#3");
	tl_assert_error_contains("Bad credentials");
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_GITHUB);
	assert_int_equal(tl_error_last()->upstream_code, 401);
	assert_string_equal(tl_error_last()->upstream, "401");
	tl_assert_rc(TL_ENOTFOUND, err(tok, 404, NULL, "{\"message\":\"Not Found\"}"));
	tl_assert_rc(TL_EINVALID,
	             err(tok, 422, NULL,
	                 "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Issue\","
	                 "\"code\":\"custom\",\"field\":\"body\",\"message\":\"body is too long\"},"
	                 "{\"message\":\"second\"}]}"));
	tl_assert_error_contains("Validation Failed: body is too long");
	assert_null(strstr(tl_error_last()->message, "second"));
	/* errors[] without a message: code and field. */
	tl_assert_rc(TL_EINVALID,
	             err(tok, 422, NULL,
	                 "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Issue\","
	                 "\"code\":\"missing_field\",\"field\":\"title\"}]}"));
	tl_assert_error_contains("Validation Failed: missing_field title");
	tl_assert_rc(TL_ECONFLICT, err(tok, 409, NULL, "{\"message\":\"Conflict\"}"));
	tl_assert_rc(TL_EUNAVAILABLE, err(tok, 502, NULL, "<html>Bad gateway</html>"));
	tl_assert_error_contains("<html>Bad gateway</html>");
	tl_assert_rc(TL_ERROR, err(tok, 418, NULL, NULL));
	tl_assert_error_contains("(no message)");
	/* A plain 403 is a permission problem, not a rate limit. */
	tl_assert_rc(TL_EAUTH, err(tok, 403, "HTTP/1.1 403 Forbidden\r\nX-RateLimit-Remaining: 12\r\n",
	                           "{\"message\":\"Resource not accessible by integration\"}"));
	tl_assert_error_contains("Resource not accessible by integration");

	/* Primary rate limit: the reset time in UTC and seconds from now. */
	long long reset = (long long)time(NULL) + 300;
	char hdr[256], when[64];
	snprintf(hdr, sizeof(hdr),
	         "HTTP/1.1 403 Forbidden\r\nx-ratelimit-remaining: 0\r\nX-RateLimit-Reset: %lld\r\n\r\n",
	         reset);
	time_t t = (time_t)reset;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "resets at %Y-%m-%d %H:%M:%S UTC", &tm);
	tl_assert_rc(TL_EUNAVAILABLE,
	             err(tok, 403, hdr, "{\"message\":\"API rate limit exceeded for user ID 1.\"}"));
	tl_assert_error_contains("rate limit exceeded (HTTP 403)");
	tl_assert_error_contains(when);
	tl_assert_error_contains("API rate limit exceeded for user ID 1.");
	const char *in = strstr(tl_error_last()->message, ", in ");
	assert_non_null(in);
	long secs = strtol(in + 5, NULL, 10);
	assert_true(secs >= 298 && secs <= 300);
	/* 429 with Retry-After; 403 with Retry-After (secondary limit). */
	tl_assert_rc(TL_EUNAVAILABLE, err(tok, 429, "HTTP/2 429\r\nretry-after: 60\r\n", "{}"));
	tl_assert_error_contains(", in 60 s");
	tl_assert_rc(TL_EUNAVAILABLE, err(tok, 403, "HTTP/2 403\r\nRetry-After: 5\r\n", "{}"));
	tl_assert_error_contains(", in 5 s");
	tl_assert_rc(TL_EUNAVAILABLE, err(tok, 429, NULL, NULL));
	tl_assert_error_contains("reset time unknown");

	/* The token never reaches a message, even when an answer echoes it. */
	tl_assert_rc(TL_EAUTH, err(tok, 401, NULL, "{\"message\":\"bad token ghs_abcdefghijklmnop\"}"));
	assert_null(strstr(tl_error_last()->message, tok));
	tl_assert_error_contains("[token]");
	tl_assert_rc(TL_EUNAVAILABLE, err(tok, 503, NULL, "proxy: Bearer ghs_abcdefghijklmnop"));
	assert_null(strstr(tl_error_last()->message, tok));
}

static void test_reset_text(void **state)
{
	tl_buf b = TL_BUF_INIT;
	tl_assert_ok(tl__github_reset_text(&b, 1796014852, 1796014252));
	assert_string_equal(b.ptr, "resets at 2026-11-30 05:00:52 UTC, in 600 s");
	tl__buf_clear(&b);
	tl_assert_ok(tl__github_reset_text(&b, 1000, 2000)); /* already past */
	assert_non_null(strstr(b.ptr, ", in 0 s"));
	tl_buf_dispose(&b);
}

static void test_options(void **state)
{
	tl_github_options o;
	tl_assert_ok(tl_github_options_init(&o, TL_GITHUB_OPTIONS_VERSION));
	assert_null(o.api);
	assert_int_equal(o.per_page, 0);
	tl_assert_rc(TL_EINVALID, tl_github_options_init(&o, 99));
	tl_github_deployment_options d;
	tl_assert_ok(tl_github_deployment_options_init(&d, TL_GITHUB_DEPLOYMENT_OPTIONS_VERSION));
	assert_int_equal(d.production, -1);
	tl_github_status_options s;
	tl_assert_ok(tl_github_status_options_init(&s, TL_GITHUB_STATUS_OPTIONS_VERSION));
	assert_null(s.state);
	/* Free functions and accessors accept NULL. */
	tl_github_free(NULL);
	tl_github_comment_free(NULL);
	tl_github_pr_free(NULL);
	tl_github_issue_free(NULL);
	assert_string_equal(tl_github_api(NULL), "");
	assert_string_equal(tl_github_comment_url(NULL), "");
	assert_string_equal(tl_github_pr_state_name(NULL), "");
	assert_int_equal(tl_github_issue_action(NULL), -1);
	/* No token: a clear error naming the variable, from the context. */
	tl_ctx *ctx = tl_test_ctx(0);
	tl_github *gh = NULL;
	tl_assert_rc(TL_EINVALID, tl_github_new(&gh, ctx, NULL));
	tl_assert_error_contains("TOWLION_GITHUB_TOKEN");
	assert_null(gh);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_GITHUB_TOKEN", "ghs_x"));
	tl_assert_ok(tl_github_new(&gh, ctx, NULL));
	assert_string_equal(tl_github_api(gh), "https://api.github.com");
	tl_github_free(gh);
	tl_assert_ok(tl_ctx_config_set(ctx, "TOWLION_GITHUB_TOKEN", "ghs_x y"));
	tl_assert_rc(TL_EINVALID, tl_github_new(&gh, ctx, NULL));
	assert_null(strstr(tl_error_last()->message, "ghs_x"));
	tl_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repo_names),   cmocka_unit_test(test_markers),
		cmocka_unit_test(test_labels),       cmocka_unit_test(test_link_header),
		cmocka_unit_test(test_url_under_base), cmocka_unit_test(test_api_base),
		cmocka_unit_test(test_error_mapping), cmocka_unit_test(test_reset_text),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests_name("github unit", tests, NULL, NULL);
}
