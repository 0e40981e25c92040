/* Internals of the GitHub client shared by lib/github/ (not API). */
#ifndef TL_GITHUB_INTERNAL_H
#define TL_GITHUB_INTERNAL_H

#include "core/core.h"
#include "towlion/github.h"
#include "towlion/validate.h"
#include "towlion/version.h"

#include <jansson.h>

/* GitHub's most items per page, and a bound on pages walked (a Link
 * header that loops must not keep us busy forever). */
#define GH_PER_PAGE_MAX 100u
#define GH_PAGES_MAX 200

struct tl_github {
	tl_ctx *ctx;
	char *api;      /* base URL, no trailing '/' */
	char *auth;     /* "Authorization: Bearer <token>" (secret) */
	char *token;    /* the token alone, to keep it out of messages (secret) */
	long timeout_ms;
	unsigned int per_page;
	void *share;    /* CURLSH*: one connection cache, so pages and calls
	                   reuse the connection (and TLS session) */
	char *self_login; /* the token's user, once known (self.c) */
	int64_t self_id;  /* its id; 0 when only the login is known */
};

struct tl_github_comment {
	int64_t id;
	char *url;
	char *body;
	int created;
};

struct tl_github_pr {
	uint32_t number;
	int state;
	char *head_sha, *head_ref, *base_ref, *title, *url;
};

struct tl_github_issue {
	uint32_t number;
	char *state, *title, *body, *url;
	int action;
};

/* ---- the token's own user (self.c) ---- */

/* Find out who the token is (GET /user, once; TOWLION_GITHUB_USER when
 * /user is refused to an installation token). */
int tl__github_self(tl_github *gh);
/* Is `item` (a comment or issue as GitHub answers it) written by the
 * token's user? false until tl__github_self() succeeded. */
bool tl__github_authored_by_self(const tl_github *gh, json_t *item);

/* ---- pure helpers (names.c) ---- */

/* The URL of the link with rel="next" in a Link header value:
 * TL_OK, or TL_ENOTFOUND (no error set) when there is none. */
int tl__github_link_next(tl_buf *out, const char *link);
/* May a URL that GitHub handed us (a Link) receive the token? Only when
 * it lies under the API base: same scheme, host, port and base path. */
bool tl__github_url_under_base(const char *url, const char *base);
/* The API base must be https, or http on a loopback host. */
int tl__github_check_base(const char *api);
/* Does `body` start with `marker` followed by a line end or its end? */
bool tl__github_body_has_marker(const char *body, const char *marker);
/* marker + "\n" + body into out (the marker of `key`). */
int tl__github_marked_body(tl_buf *out, const char *key, const char *body);
/* Label rule for the issues filter: 1..50 chars, no ',' or controls. */
int tl__github_validate_label(const char *label);
/* Error message text from GitHub's JSON error ("message" and the first
 * "errors[].message" or code/field); "" when none. */
int tl__github_error_text(tl_buf *out, const char *body, size_t len);
/* "2026-11-30 05:00:52 UTC, in 600 s" for a reset time (epoch seconds). */
int tl__github_reset_text(tl_buf *out, long long reset_epoch, long long now);

/* ---- requests (client.c) ---- */

typedef struct {
	long status;
	json_t *json;   /* the parsed answer (json null when empty), owned */
	tl_buf next;    /* Link rel="next" URL, "" when none */
} tl__github_answer;

/* One request to `path` (starting with '/', appended to the API base) or
 * to `url` (a full URL under the base, from a Link). `body` is borrowed.
 * A non-2xx answer becomes the mapped error, with `what` ("post a comment
 * on o/r#3") in the message. */
int tl__github_call(tl_github *gh, tl__github_answer *ans, const char *method, const char *path,
            const char *url, json_t *body, const char *what);
void tl__github_answer_dispose(tl__github_answer *ans);

/* Map a non-2xx answer to an error (exposed for unit tests): headers are
 * the raw response header lines (for rate limits). */
int tl__github_error(const tl_github *gh, long status, const char *headers, size_t hlen,
             const char *body, size_t blen, const char *what);

/* Strings from JSON ("" when absent), and a dup that sets ENOMEM. */
const char *tl__github_str(json_t *obj, const char *key);
char *tl__github_dup(json_t *obj, const char *key);

/* Arguments shared by every call. */
int tl__github_check_common(tl_github *gh, const char *repo);

/* Objects from JSON (comment.c, issue.c). */
int tl__github_comment_from_json(tl_github_comment **out, json_t *j, int created);
int tl__github_issue_from_json(tl_github_issue **out, json_t *j, int action);

#endif
