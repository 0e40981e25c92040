/*
 * The GitHub client against the local stand-in of GitHub's REST API
 * (tests/harness/github-standin), which enforces the bearer token, pages
 * lists with Link headers and records every request it got: the tests
 * assert on what the client SENT as well as on what it returned.
 */
#include "tl_test.h"

#include "core/core.h"
#include "core/http.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *standin; /* admin base, TL_TEST_GITHUB_STANDIN */
static const char *token;   /* TOWLION_GITHUB_TOKEN */

/* ---- the stand-in's admin API ---------------------------------------- */

static json_t *admin(const char *method, const char *path, const char *body)
{
	char url[512];
	snprintf(url, sizeof(url), "%s%s", standin, path);
	tl__http_req req = {.method = method, .url = url, .body = body,
	                    .body_len = body ? strlen(body) : 0, .timeout_ms = 10000};
	tl__http_resp resp;
	tl_assert_ok(tl__http_do(NULL, &resp, &req));
	if (resp.status < 200 || resp.status > 299)
		fail_msg("%s %s: HTTP %ld %s", method, path, resp.status, resp.body.ptr);
	json_t *j = json_loadb(resp.body.ptr, resp.body.size, 0, NULL);
	assert_non_null(j);
	tl__http_resp_dispose(&resp);
	return j;
}

static void admin_do(const char *path, const char *fmt, ...) TL__PRINTF(2, 3);
static void admin_do(const char *path, const char *fmt, ...)
{
	char body[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	json_decref(admin("POST", path, body));
}

static json_t *recorded(void)
{
	return admin("GET", "/_standin/requests", NULL);
}

/* Recorded requests with this method whose path ends with `suffix`. */
static int count_requests(json_t *reqs, const char *method, const char *suffix)
{
	int n = 0;
	size_t i;
	json_t *r;
	json_array_foreach(reqs, i, r) {
		const char *m = json_string_value(json_object_get(r, "method"));
		const char *p = json_string_value(json_object_get(r, "path"));
		if (!strcmp(m, method) && tl__str_endswith(p, suffix))
			n++;
	}
	return n;
}

static int count_all(void)
{
	json_t *r = recorded();
	int n = (int)json_array_size(r);
	json_decref(r);
	return n;
}

/* The comments of o/r#number in the stand-in's state (a new array). */
static json_t *comments_of(const char *repo, int number)
{
	json_t *st = admin("GET", "/_standin/state", NULL);
	char key[128];
	snprintf(key, sizeof(key), "%s", repo);
	json_t *cs = json_object_get(json_object_get(st, key), "comments");
	json_t *out = json_array();
	const char *k;
	json_t *c;
	json_object_foreach(cs, k, c) {
		if (json_integer_value(json_object_get(c, "number")) == number)
			json_array_append(out, c);
	}
	json_decref(st);
	return out;
}

static json_t *repo_state(const char *repo)
{
	json_t *st = admin("GET", "/_standin/state", NULL);
	json_t *r = json_incref(json_object_get(st, repo));
	json_decref(st);
	assert_non_null(r);
	return r;
}

/* ---- fixtures -------------------------------------------------------- */

static int setup(void **state)
{
	json_decref(admin("POST", "/_standin/reset", "{}"));
	admin_do("/_standin/prs", "{\"repo\":\"acme/web\",\"number\":3,\"head_sha\":\"%s\","
	                          "\"head_ref\":\"feature-login\"}",
	         "3333333333333333333333333333333333333333");
	tl_ctx *ctx = tl_test_ctx(1);
	tl_github *gh = NULL;
	tl_assert_ok(tl_github_new(&gh, ctx, NULL));
	void **pair = calloc(2, sizeof(void *));
	pair[0] = ctx;
	pair[1] = gh;
	*state = pair;
	return 0;
}

static int teardown(void **state)
{
	void **pair = *state;
	tl_github_free(pair[1]);
	tl_ctx_free(pair[0]);
	free(pair);
	return 0;
}

#define GH(state) ((tl_github *)((void **)*(state))[1])
#define CTX(state) ((tl_ctx *)((void **)*(state))[0])

/* A client with other options on the same context. */
static tl_github *client(tl_ctx *ctx, const char *api, const char *tok, unsigned per_page)
{
	tl_github_options o = TL_GITHUB_OPTIONS_INIT;
	o.api = api;
	o.token = tok;
	o.per_page = per_page;
	tl_github *gh = NULL;
	tl_assert_ok(tl_github_new(&gh, ctx, &o));
	return gh;
}

/* ---- comments ---------------------------------------------------------- */

static void test_one_comment_per_pr(void **state)
{
	tl_github *gh = GH(state);
	tl_github_comment *c = NULL;
	tl_assert_ok(tl_github_comment_upsert(&c, gh, "acme/web", 3, "preview:web",
	                                      "Preview at http://pr-3.preview.web.example"));
	assert_int_equal(tl_github_comment_created(c), 1);
	int64_t id = tl_github_comment_id(c);
	assert_true(id > 0);
	assert_non_null(strstr(tl_github_comment_url(c), "#issuecomment-"));
	tl_github_comment_free(c);

	for (int i = 0; i < 2; i++) {
		char body[128];
		snprintf(body, sizeof(body), "Preview at http://pr-3.preview.web.example (update %d)", i);
		tl_assert_ok(tl_github_comment_upsert(&c, gh, "acme/web", 3, "preview:web", body));
		assert_int_equal(tl_github_comment_created(c), 0);
		assert_true(tl_github_comment_id(c) == id);
		assert_string_equal(tl_github_comment_body(c),
		                    i ? "<!-- towlion:preview:web -->\nPreview at "
		                        "http://pr-3.preview.web.example (update 1)"
		                      : "<!-- towlion:preview:web -->\nPreview at "
		                        "http://pr-3.preview.web.example (update 0)");
		tl_github_comment_free(c);
	}
	/* Exactly one POST, then PATCHes of that one comment. */
	json_t *reqs = recorded();
	assert_int_equal(count_requests(reqs, "POST", "/issues/3/comments"), 1);
	char patch_path[64];
	snprintf(patch_path, sizeof(patch_path), "/issues/comments/%lld", (long long)id);
	assert_int_equal(count_requests(reqs, "PATCH", patch_path), 2);
	assert_int_equal(count_requests(reqs, "PATCH", ""), 2);
	/* GitHub's headers on every request; the token only as a Bearer. */
	size_t i;
	json_t *r;
	json_array_foreach(reqs, i, r) {
		json_t *h = json_object_get(r, "headers");
		assert_string_equal(json_string_value(json_object_get(h, "Accept")),
		                    "application/vnd.github+json");
		assert_string_equal(json_string_value(json_object_get(h, "X-GitHub-Api-Version")),
		                    "2022-11-28");
		char ua[64];
		snprintf(ua, sizeof(ua), "libtowlion/%s", tl_version());
		assert_string_equal(json_string_value(json_object_get(h, "User-Agent")), ua);
		assert_string_equal(json_string_value(json_object_get(r, "auth_scheme")), "Bearer");
		assert_int_equal(json_integer_value(json_object_get(r, "status")) / 100, 2);
	}
	json_decref(reqs);
	json_t *cs = comments_of("acme/web", 3);
	assert_int_equal(json_array_size(cs), 1);
	json_decref(cs);

	/* Another key is another comment on the same PR. */
	tl_assert_ok(tl_github_comment_upsert(&c, gh, "acme/web", 3, "preview:api", "api"));
	assert_int_equal(tl_github_comment_created(c), 1);
	assert_true(tl_github_comment_id(c) != id);
	tl_github_comment_free(c);
	cs = comments_of("acme/web", 3);
	assert_int_equal(json_array_size(cs), 2);
	json_decref(cs);
	/* out may be NULL. */
	tl_assert_ok(tl_github_comment_upsert(NULL, gh, "acme/web", 3, "preview:api", "api 2"));
}

static void test_comment_pagination(void **state)
{
	/* The stand-in gives at most 2 per page, like a PR with hundreds of
	 * comments gives 100; the base is a GitHub Enterprise style /api/v3. */
	admin_do("/_standin/config", "{\"max_per_page\": 2}");
	for (int i = 0; i < 5; i++)
		admin_do("/_standin/comments",
		         "{\"repo\":\"acme/web\",\"number\":3,\"user\":\"alice\",\"body\":\"%s %d\"}",
		         /* look-alikes that must not match */
		         i == 1   ? "<!-- towlion:preview:web-pr-9 -->"
		         : i == 2 ? "quoting <!-- towlion:preview:web -->"
		                  : "lgtm",
		         i);
	char api[256];
	snprintf(api, sizeof(api), "%s/api/v3", getenv("TOWLION_GITHUB_API"));
	tl_github *gh = client(CTX(state), api, NULL, 0);
	tl_github_comment *c = NULL;
	tl_assert_ok(tl_github_comment_upsert(&c, gh, "acme/web", 3, "preview:web", "one"));
	assert_int_equal(tl_github_comment_created(c), 1); /* 3 pages read, none matched */
	int64_t id = tl_github_comment_id(c);
	tl_github_comment_free(c);
	json_t *reqs = recorded();
	assert_int_equal(count_requests(reqs, "GET", "/issues/3/comments"), 3);
	json_t *third = json_array_get(reqs, 3); /* after GET /user */
	assert_non_null(strstr(json_string_value(json_object_get(third, "query")), "page=3"));
	/* One connection for the pages and the POST (keep-alive). */
	json_int_t port = json_integer_value(json_object_get(json_array_get(reqs, 0), "client_port"));
	for (size_t k = 1; k < json_array_size(reqs); k++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(reqs, k),
		                                                    "client_port")),
		                 port);
	json_decref(reqs);

	/* More comments after ours: ours is now on page 3 of 5. */
	for (int i = 0; i < 4; i++)
		admin_do("/_standin/comments",
		         "{\"repo\":\"acme/web\",\"number\":3,\"user\":\"bob\",\"body\":\"nit %d\"}", i);
	tl_assert_ok(tl_github_comment_upsert(&c, gh, "acme/web", 3, "preview:web", "two"));
	assert_int_equal(tl_github_comment_created(c), 0);
	assert_true(tl_github_comment_id(c) == id);
	tl_github_comment_free(c);
	reqs = recorded();
	assert_int_equal(count_requests(reqs, "POST", "/issues/3/comments"), 1);
	assert_int_equal(count_requests(reqs, "PATCH", ""), 1);
	/* The find stopped at the page that held it: 3 + 3 GETs in all. */
	assert_int_equal(count_requests(reqs, "GET", "/issues/3/comments"), 6);
	json_decref(reqs);

	/* find reads it too; a PR without the comment is TL_ENOTFOUND. */
	tl_assert_ok(tl_github_comment_find(&c, gh, "acme/web", 3, "preview:web"));
	assert_true(tl_github_comment_id(c) == id);
	tl_github_comment_free(c);
	c = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_github_comment_find(&c, gh, "acme/web", 3, "preview:other"));
	assert_null(c);
	tl_github_free(gh);
}

static void test_comment_edit_delete(void **state)
{
	tl_github *gh = GH(state);
	tl_github_comment *c = NULL, *e = NULL;
	tl_assert_ok(tl_github_comment_create(&c, gh, "acme/web", 3, "plain"));
	tl_assert_ok(tl_github_comment_edit(&e, gh, "acme/web", tl_github_comment_id(c), "edited"));
	assert_string_equal(tl_github_comment_body(e), "edited");
	tl_assert_ok(tl_github_comment_delete(gh, "acme/web", tl_github_comment_id(c)));
	json_t *cs = comments_of("acme/web", 3);
	assert_int_equal(json_array_size(cs), 0);
	json_decref(cs);
	tl_assert_rc(TL_ENOTFOUND, tl_github_comment_delete(gh, "acme/web", tl_github_comment_id(c)));
	assert_int_equal(tl_error_last()->upstream_code, 404);
	tl_github_comment_free(c);
	tl_github_comment_free(e);
}

/* ---- pull requests ------------------------------------------------------ */

static void test_pr_state(void **state)
{
	tl_github *gh = GH(state);
	admin_do("/_standin/prs", "{\"repo\":\"acme/web\",\"number\":4,\"state\":\"closed\"}");
	admin_do("/_standin/prs", "{\"repo\":\"acme/web\",\"number\":5,\"state\":\"merged\","
	                          "\"base_ref\":\"release\"}");
	tl_github_pr *pr = NULL;
	tl_assert_ok(tl_github_pr_get(&pr, gh, "acme/web", 3));
	assert_int_equal(tl_github_pr_state_get(pr), TL_GITHUB_PR_OPEN);
	assert_string_equal(tl_github_pr_state_name(pr), "open");
	assert_string_equal(tl_github_pr_head_sha(pr), "3333333333333333333333333333333333333333");
	assert_string_equal(tl_github_pr_head_ref(pr), "feature-login");
	assert_string_equal(tl_github_pr_base_ref(pr), "main");
	assert_int_equal(tl_github_pr_number(pr), 3);
	assert_non_null(strstr(tl_github_pr_url(pr), "/pull/3"));
	tl_github_pr_free(pr);
	tl_assert_ok(tl_github_pr_get(&pr, gh, "acme/web", 4));
	assert_int_equal(tl_github_pr_state_get(pr), TL_GITHUB_PR_CLOSED);
	assert_string_equal(tl_github_pr_state_name(pr), "closed");
	tl_github_pr_free(pr);
	tl_assert_ok(tl_github_pr_get(&pr, gh, "acme/web", 5));
	assert_int_equal(tl_github_pr_state_get(pr), TL_GITHUB_PR_MERGED);
	assert_string_equal(tl_github_pr_base_ref(pr), "release");
	tl_github_pr_free(pr);
	pr = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_github_pr_get(&pr, gh, "acme/web", 99));
	assert_null(pr);
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_GITHUB);
	assert_int_equal(tl_error_last()->upstream_code, 404);
	assert_string_equal(tl_error_last()->upstream, "404");
	tl_assert_error_contains("acme/web#99");
}

/* ---- deployments ------------------------------------------------------- */

static void test_deployment_and_statuses(void **state)
{
	tl_github *gh = GH(state);
	tl_github_deployment_options d = TL_GITHUB_DEPLOYMENT_OPTIONS_INIT;
	d.ref = "3333333333333333333333333333333333333333";
	d.environment = "preview-pr-3";
	d.description = "preview of PR 3";
	d.transient = 1;
	d.production = 0;
	int64_t dep = 0;
	tl_assert_ok(tl_github_deployment_create(&dep, gh, "acme/web", &d));
	assert_true(dep > 0);
	const char *states[] = {"in_progress", "success"};
	int64_t sid = 0;
	for (int i = 0; i < 2; i++) {
		tl_github_status_options s = TL_GITHUB_STATUS_OPTIONS_INIT;
		s.state = states[i];
		s.environment_url = "https://pr-3.preview.web.example";
		s.log_url = "https://ci.example/run/1";
		s.description = i ? "healthy" : "deploying";
		tl_assert_ok(tl_github_deployment_status_create(&sid, gh, "acme/web", dep, &s));
		assert_true(sid > 0);
	}
	/* What GitHub got. */
	json_t *reqs = recorded();
	json_t *post = json_object_get(json_array_get(reqs, 0), "body");
	assert_string_equal(json_string_value(json_object_get(post, "ref")), d.ref);
	assert_string_equal(json_string_value(json_object_get(post, "environment")), "preview-pr-3");
	assert_string_equal(json_string_value(json_object_get(post, "description")),
	                    "preview of PR 3");
	assert_true(json_is_false(json_object_get(post, "auto_merge")));
	assert_true(json_is_array(json_object_get(post, "required_contexts")));
	assert_int_equal(json_array_size(json_object_get(post, "required_contexts")), 0);
	assert_true(json_is_true(json_object_get(post, "transient_environment")));
	assert_true(json_is_false(json_object_get(post, "production_environment")));
	json_decref(reqs);
	json_t *rs = repo_state("acme/web");
	char key[32];
	snprintf(key, sizeof(key), "%lld", (long long)dep);
	json_t *st = json_object_get(json_object_get(json_object_get(rs, "deployments"), key),
	                             "statuses");
	assert_int_equal(json_array_size(st), 2);
	json_t *last = json_array_get(st, 1);
	assert_string_equal(json_string_value(json_object_get(last, "state")), "success");
	assert_string_equal(json_string_value(json_object_get(last, "environment_url")),
	                    "https://pr-3.preview.web.example");
	assert_string_equal(json_string_value(json_object_get(last, "log_url")),
	                    "https://ci.example/run/1");
	assert_string_equal(json_string_value(json_object_get(last, "description")), "healthy");
	json_decref(rs);

	/* Refused before any request: a bad state, a non-http URL, a long
	 * description. */
	int before = count_all();
	tl_github_status_options s = TL_GITHUB_STATUS_OPTIONS_INIT;
	s.state = "done";
	tl_assert_rc(TL_EINVALID, tl_github_deployment_status_create(NULL, gh, "acme/web", dep, &s));
	s.state = "success";
	s.log_url = "javascript:alert(1)";
	tl_assert_rc(TL_EINVALID, tl_github_deployment_status_create(NULL, gh, "acme/web", dep, &s));
	assert_int_equal(count_all(), before);

	/* GitHub's own refusal (422) carries GitHub's message. */
	d.ref = "no-such-branch";
	dep = 0;
	tl_assert_rc(TL_EINVALID, tl_github_deployment_create(&dep, gh, "acme/web", &d));
	assert_true(dep == 0);
	tl_assert_error_contains("No ref found for: no-such-branch");
	assert_int_equal(tl_error_last()->upstream_code, 422);
	assert_int_equal(tl_error_last()->klass, TL_ERRCLASS_GITHUB);
	/* A status on a deployment that does not exist. */
	s.log_url = NULL;
	tl_assert_rc(TL_ENOTFOUND,
	             tl_github_deployment_status_create(NULL, gh, "acme/web", 987654, &s));
}

/* ---- issues (alerts) ---------------------------------------------------- */

static int count_issues(const char *repo, const char *state)
{
	json_t *rs = repo_state(repo);
	int n = 0;
	const char *k;
	json_t *it;
	json_object_foreach(json_object_get(rs, "items"), k, it) {
		if (!json_is_true(json_object_get(it, "is_pr")) &&
		    !strcmp(json_string_value(json_object_get(it, "state")), state))
			n++;
	}
	json_decref(rs);
	return n;
}

static void test_issue_lifecycle(void **state)
{
	admin_do("/_standin/config", "{\"max_per_page\": 2}");
	tl_github *gh = GH(state);
	const char *L = "towlion-alert";
	/* Decoys: an unlabelled issue with the same marker, a labelled PR whose
	 * body has it (the issues list holds PRs), and labelled issues of
	 * other alerts, enough for several pages. */
	admin_do("/_standin/prs", "{\"repo\":\"acme/web\",\"number\":20,\"labels\":[\"%s\"],"
	                          "\"body\":\"<!-- towlion:alert:disk -->\\nnot an issue\"}", L);
	tl_assert_ok(tl_github_issue_create(NULL, gh, "acme/web", NULL, "alert:disk", "decoy",
	                                    "not labelled"));
	for (int i = 0; i < 3; i++) {
		char key[32];
		snprintf(key, sizeof(key), "alert:other-%d", i);
		tl_assert_ok(tl_github_issue_create(NULL, gh, "acme/web", L, key, "other", "x"));
	}
	tl_github_issue *i1 = NULL, *i2 = NULL, *i3 = NULL, *f = NULL;
	tl_assert_ok(tl_github_issue_upsert(&i1, gh, "acme/web", L, "alert:disk",
	                                    "Disk /data above 80%", "disk at 85%"));
	assert_int_equal(tl_github_issue_action(i1), TL_GITHUB_CREATED);
	assert_string_equal(tl_github_issue_state(i1), "open");
	assert_string_equal(tl_github_issue_body(i1), "<!-- towlion:alert:disk -->\ndisk at 85%");
	uint32_t n = tl_github_issue_number(i1);
	/* Three more decoy issues after it, so it is not on the first page. */
	for (int i = 3; i < 6; i++) {
		char key[32];
		snprintf(key, sizeof(key), "alert:other-%d", i);
		tl_assert_ok(tl_github_issue_create(NULL, gh, "acme/web", L, key, "other", "x"));
	}
	json_t *reqs = recorded();
	int posts = count_requests(reqs, "POST", "/issues");
	json_decref(reqs);

	/* The same alert again: found, nothing sent but reads. */
	tl_assert_ok(tl_github_issue_upsert(&i2, gh, "acme/web", L, "alert:disk",
	                                    "Disk /data above 80%", "disk at 85%"));
	assert_int_equal(tl_github_issue_action(i2), TL_GITHUB_UNCHANGED);
	assert_int_equal(tl_github_issue_number(i2), n);
	reqs = recorded();
	assert_int_equal(count_requests(reqs, "POST", "/issues"), posts);
	assert_int_equal(count_requests(reqs, "PATCH", ""), 0);
	/* Labels filter went to GitHub; pages followed. */
	json_t *last = json_array_get(reqs, json_array_size(reqs) - 1);
	assert_non_null(strstr(json_string_value(json_object_get(last, "query")),
	                       "labels=towlion-alert"));
	assert_non_null(strstr(json_string_value(json_object_get(last, "query")), "page="));
	json_decref(reqs);

	/* Changed: the same issue is edited. */
	tl_assert_ok(tl_github_issue_upsert(&i3, gh, "acme/web", L, "alert:disk",
	                                    "Disk /data above 80%", "disk at 91%"));
	assert_int_equal(tl_github_issue_action(i3), TL_GITHUB_UPDATED);
	assert_int_equal(tl_github_issue_number(i3), n);
	assert_string_equal(tl_github_issue_body(i3), "<!-- towlion:alert:disk -->\ndisk at 91%");
	tl_assert_ok(tl_github_issue_find(&f, gh, "acme/web", L, "alert:disk"));
	assert_int_equal(tl_github_issue_number(f), n);
	tl_github_issue_free(f);
	int open_before = count_issues("acme/web", "open");

	/* Cleared: closed with a comment; then no open issue is found and a
	 * second resolve changes nothing. */
	tl_github_issue *closed = NULL;
	tl_assert_ok(tl_github_issue_resolve(&closed, gh, "acme/web", L, "alert:disk",
	                                     "Cleared: disk at 60%"));
	assert_int_equal(tl_github_issue_action(closed), TL_GITHUB_CLOSED);
	assert_string_equal(tl_github_issue_state(closed), "closed");
	assert_int_equal(tl_github_issue_number(closed), n);
	tl_github_issue_free(closed);
	assert_int_equal(count_issues("acme/web", "open"), open_before - 1);
	json_t *cs = comments_of("acme/web", (int)n);
	assert_int_equal(json_array_size(cs), 1);
	json_decref(cs);
	f = NULL;
	tl_assert_rc(TL_ENOTFOUND, tl_github_issue_find(&f, gh, "acme/web", L, "alert:disk"));
	assert_null(f);
	reqs = recorded();
	int writes = (int)json_array_size(reqs) - count_requests(reqs, "GET", "");
	json_decref(reqs);
	tl_assert_rc(TL_ENOTFOUND,
	             tl_github_issue_resolve(NULL, gh, "acme/web", L, "alert:disk", "again"));
	reqs = recorded();
	assert_int_equal((int)json_array_size(reqs) - count_requests(reqs, "GET", ""), writes);
	assert_int_equal(count_requests(reqs, "PATCH", ""), 2); /* the update and the close */
	json_decref(reqs);

	/* It fires again: a new issue. */
	tl_github_issue *again = NULL;
	tl_assert_ok(tl_github_issue_upsert(&again, gh, "acme/web", L, "alert:disk",
	                                    "Disk /data above 80%", "disk at 95%"));
	assert_int_equal(tl_github_issue_action(again), TL_GITHUB_CREATED);
	assert_true(tl_github_issue_number(again) != n);
	tl_github_issue_free(again);
	tl_github_issue_free(i1);
	tl_github_issue_free(i2);
	tl_github_issue_free(i3);
}

/* ---- errors --------------------------------------------------------------- */

static int collect_events(const tl_event *ev, void *payload)
{
	tl_buf *b = payload;
	tl__buf_printf(b, "%s\n", ev->message ? ev->message : "");
	return 0;
}

static void test_bad_token(void **state)
{
	tl_ctx *ctx = CTX(state);
	tl_buf events = TL_BUF_INIT;
	tl_ctx_set_event_cb(ctx, collect_events, &events);
	const char *wrong = "ghs_WRONGwrongWRONGwrong0123456789";
	tl_github *gh = client(ctx, NULL, wrong, 0);
	tl_github_comment *c = NULL;
	tl_assert_rc(TL_EAUTH, tl_github_comment_upsert(&c, gh, "acme/web", 3, "preview:web", "x"));
	assert_null(c);
	const tl_error *e = tl_error_last();
	assert_int_equal(e->klass, TL_ERRCLASS_GITHUB);
	assert_int_equal(e->upstream_code, 401);
	tl_assert_error_contains("Bad credentials");
	tl_assert_error_contains("TOWLION_GITHUB_TOKEN");
	assert_null(strstr(e->message, wrong));
	assert_null(strstr(e->message, "WRONG"));
	tl_github_free(gh);
	/* The good token is in no event or message of a working client either. */
	gh = client(ctx, NULL, NULL, 0);
	tl_assert_ok(tl_github_comment_upsert(NULL, gh, "acme/web", 3, "preview:web", "x"));
	tl_assert_rc(TL_ENOTFOUND, tl_github_pr_get(&(tl_github_pr *){NULL}, gh, "acme/web", 77));
	assert_null(strstr(tl_error_last()->message, token));
	tl_github_free(gh);
	tl_ctx_set_event_cb(ctx, NULL, NULL);
	assert_true(events.size > 0); /* debug events were emitted ... */
	assert_null(strstr(events.ptr, token)); /* ... without the token */
	assert_null(strstr(events.ptr, wrong));
	tl_buf_dispose(&events);
	/* Nothing was written with the bad token. */
	json_t *cs = comments_of("acme/web", 3);
	assert_int_equal(json_array_size(cs), 1);
	json_decref(cs);
}

static void test_rate_limit(void **state)
{
	tl_github *gh = GH(state);
	admin_do("/_standin/ratelimit", "{\"count\": 1, \"kind\": \"primary\", \"reset_in\": 600}");
	tl_github_pr *pr = NULL;
	tl_assert_rc(TL_EUNAVAILABLE, tl_github_pr_get(&pr, gh, "acme/web", 3));
	assert_null(pr);
	assert_int_equal(tl_error_last()->upstream_code, 403);
	tl_assert_error_contains("rate limit exceeded");
	tl_assert_error_contains("resets at ");
	tl_assert_error_contains(" UTC, in ");
	tl_assert_error_contains("API rate limit exceeded for installation");
	/* "in 600 s" give or take the second boundary. */
	const char *in = strstr(tl_error_last()->message, ", in ");
	long secs = strtol(in + 5, NULL, 10);
	assert_true(secs >= 595 && secs <= 600);
	/* The limit lifted: the next call works. */
	tl_assert_ok(tl_github_pr_get(&pr, gh, "acme/web", 3));
	tl_github_pr_free(pr);

	/* A secondary limit: 429 with Retry-After. */
	admin_do("/_standin/ratelimit", "{\"count\": 1, \"kind\": \"secondary\", \"reset_in\": 30}");
	tl_assert_rc(TL_EUNAVAILABLE,
	             tl_github_comment_upsert(NULL, gh, "acme/web", 3, "preview:web", "x"));
	assert_int_equal(tl_error_last()->upstream_code, 429);
	tl_assert_error_contains("secondary rate limit");
	in = strstr(tl_error_last()->message, ", in ");
	assert_non_null(in);
	secs = strtol(in + 5, NULL, 10);
	assert_true(secs >= 29 && secs <= 30);
}

static void test_not_found_and_invalid(void **state)
{
	tl_github *gh = GH(state);
	tl_assert_rc(TL_ENOTFOUND,
	             tl_github_comment_upsert(NULL, gh, "acme/nope", 3, "preview:web", "x"));
	assert_int_equal(tl_error_last()->upstream_code, 404);
	tl_assert_error_contains("acme/nope");
	tl_assert_rc(TL_ENOTFOUND, tl_github_issue_upsert(NULL, gh, "nobody/nothing", "l",
	                                                  "alert:x", "t", "b"));
	/* A PR number that does not exist: no comment is posted anywhere. */
	tl_assert_rc(TL_ENOTFOUND,
	             tl_github_comment_upsert(NULL, gh, "acme/web", 42, "preview:web", "x"));
	/* 422 from GitHub: a body over 65536 characters, with its message. */
	size_t big = 70000;
	char *body = malloc(big + 1);
	memset(body, 'x', big);
	body[big] = '\0';
	tl_assert_rc(TL_EINVALID,
	             tl_github_comment_upsert(NULL, gh, "acme/web", 3, "preview:web", body));
	free(body);
	assert_int_equal(tl_error_last()->upstream_code, 422);
	tl_assert_error_contains("Validation Failed");
	tl_assert_error_contains("body is too long (maximum is 65536 characters)");
	json_t *cs = comments_of("acme/web", 3);
	assert_int_equal(json_array_size(cs), 0);
	json_decref(cs);
}

static void test_bad_input_sends_nothing(void **state)
{
	tl_github *gh = GH(state);
	const char *repos[] = {"acme", "acme/web/x", "../web", "acme/..", "acme/.", "-acme/web",
	                       "acme/we b", "", "acme/web?x=1", "ac--me/web"};
	for (size_t i = 0; i < TL__ARRAY_SIZE(repos); i++) {
		tl_assert_rc(TL_EINVALID,
		             tl_github_comment_upsert(NULL, gh, repos[i], 3, "preview:web", "x"));
		tl_assert_rc(TL_EINVALID, tl_github_pr_get(&(tl_github_pr *){NULL}, gh, repos[i], 3));
	}
	tl_assert_rc(TL_EINVALID, tl_github_comment_upsert(NULL, gh, "acme/web", 0, "k", "x"));
	tl_assert_rc(TL_EINVALID, tl_github_comment_upsert(NULL, gh, "acme/web", 3, "a--b", "x"));
	tl_assert_rc(TL_EINVALID, tl_github_comment_upsert(NULL, gh, "acme/web", 3, "a -->", "x"));
	tl_assert_rc(TL_EINVALID,
	             tl_github_issue_upsert(NULL, gh, "acme/web", "a,b", "alert:x", "t", "b"));
	tl_assert_rc(TL_EINVALID,
	             tl_github_issue_upsert(NULL, gh, "acme/web", "l", "alert:x", "two\nlines", "b"));
	tl_github_deployment_options d = TL_GITHUB_DEPLOYMENT_OPTIONS_INIT;
	int64_t id = 0;
	tl_assert_rc(TL_EINVALID, tl_github_deployment_create(&id, gh, "acme/web", &d));
	assert_int_equal(count_all(), 0);
}

static void test_config_and_unreachable(void **state)
{
	tl_ctx *ctx = CTX(state);
	tl_github_options o = TL_GITHUB_OPTIONS_INIT;
	tl_github *gh = NULL;
	o.api = "http://api.github.example";
	tl_assert_rc(TL_EINVALID, tl_github_new(&gh, ctx, &o));
	tl_assert_error_contains("https://");
	o.api = "https://user:pw@ghe.example/api/v3";
	tl_assert_rc(TL_EINVALID, tl_github_new(&gh, ctx, &o));
	o.api = NULL;
	o.token = "";
	tl_assert_rc(TL_EINVALID, tl_github_new(&gh, ctx, &o));
	tl_assert_error_contains("TOWLION_GITHUB_TOKEN");
	o.token = NULL;
	o.per_page = 101;
	tl_assert_rc(TL_EINVALID, tl_github_new(&gh, ctx, &o));
	assert_null(gh);
	/* A trailing '/' on the base is fine. */
	char api[256];
	snprintf(api, sizeof(api), "%s/", getenv("TOWLION_GITHUB_API"));
	gh = client(ctx, api, NULL, 0);
	assert_string_equal(tl_github_api(gh), getenv("TOWLION_GITHUB_API"));
	tl_github_pr *pr = NULL;
	tl_assert_ok(tl_github_pr_get(&pr, gh, "acme/web", 3));
	tl_github_pr_free(pr);
	tl_github_free(gh);
	/* Nothing listens: TL_EUNAVAILABLE, and the token is not in it. */
	gh = client(ctx, "http://127.0.0.1:1", NULL, 0);
	tl_assert_rc(TL_EUNAVAILABLE,
	             tl_github_comment_upsert(NULL, gh, "acme/web", 3, "preview:web", "x"));
	tl_assert_error_contains("127.0.0.1:1");
	assert_null(strstr(tl_error_last()->message, token));
	tl_github_free(gh);
}

/* ---- the CLI ----------------------------------------------------------- */

/* Run the towlion command; returns its exit status, stdout in *out. */
static int run_cli(tl_buf *out, const char *const *args)
{
	const char *argv[16] = {TL_TEST_BINARY_DIR "/towlion"};
	size_t n = 1;
	for (; args[n - 1]; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	tl__spawn_opts o = {.argv = argv, .stdout_mode = TL__STDIO_BUFFER,
	                    .stderr_mode = TL__STDIO_BUFFER, .timeout_ms = 30000};
	tl__spawn_result r;
	memset(&r, 0, sizeof(r));
	tl_assert_ok(tl__spawn(&r, NULL, &o));
	assert_true(r.exited);
	tl__buf_set(out, r.out.ptr ? r.out.ptr : "", r.out.size);
	if (r.err.size)
		assert_null(strstr(r.err.ptr, token));
	tl__spawn_result_dispose(&r);
	return r.exit_status;
}

static void test_cli(void **state)
{
	tl_buf out = TL_BUF_INIT;
	/* --dry-run reads, says what it would do, and writes nothing. */
	const char *dry[] = {"--dry-run", "--json", "github", "comment", "acme/web", "--pr", "3",
	                     "--key", "deploy", "--body", "deployed abc", NULL};
	assert_int_equal(run_cli(&out, dry), 0);
	json_t *j = json_loads(out.ptr, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "action")), "create");
	assert_true(json_is_true(json_object_get(j, "dry_run")));
	json_decref(j);
	json_t *reqs = recorded();
	assert_int_equal(count_requests(reqs, "GET", ""), (int)json_array_size(reqs));
	json_decref(reqs);
	json_t *cs = comments_of("acme/web", 3);
	assert_int_equal(json_array_size(cs), 0);
	json_decref(cs);
	/* For real, twice: one comment, edited. */
	const char *real[] = {"--json", "github", "comment", "acme/web", "--pr", "3",
	                      "--key", "deploy", "--body", "deployed abc", NULL};
	assert_int_equal(run_cli(&out, real), 0);
	real[9] = "deployed def";
	assert_int_equal(run_cli(&out, real), 0);
	j = json_loads(out.ptr, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "action")), "edited");
	json_decref(j);
	cs = comments_of("acme/web", 3);
	assert_int_equal(json_array_size(cs), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(cs, 0), "body")),
	                    "<!-- towlion:deploy -->\ndeployed def");
	json_decref(cs);
	/* PR state as JSON; exit codes: 3 not found, 2 usage, 7 auth. */
	const char *pr[] = {"--json", "github", "pr", "acme/web", "3", NULL};
	assert_int_equal(run_cli(&out, pr), 0);
	j = json_loads(out.ptr, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "open");
	assert_string_equal(json_string_value(json_object_get(j, "head_ref")), "feature-login");
	json_decref(j);
	const char *missing[] = {"github", "pr", "acme/web", "99", NULL};
	assert_int_equal(run_cli(&out, missing), 3);
	const char *usage[] = {"github", "comment", "acme/web", "--pr", "3", NULL};
	assert_int_equal(run_cli(&out, usage), 2);
	tl_buf_dispose(&out);
}

int main(void)
{
	standin = TL_TEST_REQUIRE("TL_TEST_GITHUB_STANDIN");
	token = getenv("TOWLION_GITHUB_TOKEN");
	if (!standin || !token)
		return 0;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_comment_per_pr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comment_pagination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comment_edit_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pr_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deployment_and_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issue_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found_and_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_sends_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_and_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
	};
	return cmocka_run_group_tests_name("github", tests, NULL, NULL);
}
