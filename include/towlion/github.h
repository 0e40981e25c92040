/*
 * libtowlion - a small GitHub REST API client: one comment per pull request
 * (found by a hidden marker and edited in place), pull request state,
 * deployments and their statuses, and issues found by a marker and a label
 * (one issue per alert, opened, updated and closed).
 *
 * Configuration (tl_ctx): TOWLION_GITHUB_TOKEN (sent as
 * "Authorization: Bearer"; it never appears in messages, logs or events)
 * and TOWLION_GITHUB_API (default https://api.github.com; GitHub
 * Enterprise is just another base, e.g. https://ghe.example/api/v3).
 * Plain http:// is accepted only for loopback hosts (local stand-ins), so
 * the token is never sent in clear text over a network.
 *
 * Repositories are "owner/name". Numbers of pull requests and issues are
 * 1 .. 2^31. Comment, issue and deployment ids are GitHub's (int64).
 *
 * Errors: class TL_ERRCLASS_GITHUB, upstream_code the HTTP status, and the
 * message carries GitHub's "message" (and the first "errors[].message").
 * 401 is TL_EAUTH; 403 is TL_EAUTH too unless it is a rate limit; a rate
 * limit (403 with X-RateLimit-Remaining: 0, or 429) is TL_EUNAVAILABLE and
 * its message gives the reset time (UTC, and seconds from now); 404 is
 * TL_ENOTFOUND (GitHub also answers 404 for a repository the token may not
 * see); 422 is TL_EINVALID; an unreachable API is TL_EUNAVAILABLE.
 */
#ifndef TOWLION_GITHUB_H
#define TOWLION_GITHUB_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

/** A client for one API base and one token. Not thread-safe. */
typedef struct tl_github tl_github;

typedef struct {
	unsigned int version;  /* TL_GITHUB_OPTIONS_VERSION */
	const char *api;       /* NULL: TOWLION_GITHUB_API */
	const char *token;     /* NULL: TOWLION_GITHUB_TOKEN */
	long timeout_ms;       /* per request; 0: 30000 */
	unsigned int per_page; /* page size for lists, 1..100; 0: 100 */
} tl_github_options;

#define TL_GITHUB_OPTIONS_VERSION 1
#define TL_GITHUB_OPTIONS_INIT {TL_GITHUB_OPTIONS_VERSION, NULL, NULL, 0, 0}

TL_EXTERN(int) tl_github_options_init(tl_github_options *opts, unsigned int version);

/**
 * A client from the context's configuration and `opts` (NULL: defaults).
 * No request is made. TL_EINVALID when the token is missing, or the API
 * base is not an https URL (or http on loopback). `ctx` must outlive it.
 */
TL_EXTERN(int) tl_github_new(tl_github **out, tl_ctx *ctx, const tl_github_options *opts);

/** Free the client; wipes the token. NULL is fine. */
TL_EXTERN(void) tl_github_free(tl_github *gh);

/** The API base in use, without a trailing '/'; "" for NULL. */
TL_EXTERN(const char *) tl_github_api(const tl_github *gh);

/* ---- names (pure) ---------------------------------------------------- */

/**
 * "owner/name": exactly one '/'; the owner is 1..39 letters, digits and
 * inner single hyphens (GitHub's user and organisation rule); the name is
 * 1..100 letters, digits, '.', '-' and '_', and not "." or "..".
 */
TL_EXTERN(int) tl_github_validate_repo(const char *repo);

/**
 * The hidden marker for `key`: "<!-- towlion:KEY -->". A key is 1..100
 * characters of [A-Za-z0-9._:/-], without "--" and not ending in '-' (so
 * it cannot end the HTML comment early); e.g. "preview:web" or
 * "alert:disk:/data".
 */
TL_EXTERN(int) tl_github_marker(tl_buf *out, const char *key);

/* ---- comments on pull requests and issues --------------------------- */

/** A comment, as GitHub answered. */
typedef struct tl_github_comment tl_github_comment;

TL_EXTERN(int64_t) tl_github_comment_id(const tl_github_comment *c);
/** The comment's page (html_url); "" when unknown or NULL. */
TL_EXTERN(const char *) tl_github_comment_url(const tl_github_comment *c);
TL_EXTERN(const char *) tl_github_comment_body(const tl_github_comment *c);
/** 1 when the last call created it, 0 when it found or edited it. */
TL_EXTERN(int) tl_github_comment_created(const tl_github_comment *c);
TL_EXTERN(void) tl_github_comment_free(tl_github_comment *c);

/**
 * Create or edit THE comment of `key` on pull request (or issue) `number`:
 * the issue's comments are read page by page (Link rel="next") looking for
 * one whose body starts with the marker of `key`; that one is edited
 * (PATCH), otherwise a new comment is posted. The body sent is the marker,
 * a newline, then `body`. *out (may be NULL) receives the comment.
 */
TL_EXTERN(int) tl_github_comment_upsert(tl_github_comment **out, tl_github *gh,
                                        const char *repo, uint32_t number,
                                        const char *key, const char *body);

/** The comment of `key` on `number`; TL_ENOTFOUND when there is none. */
TL_EXTERN(int) tl_github_comment_find(tl_github_comment **out, tl_github *gh,
                                      const char *repo, uint32_t number, const char *key);

/** Post a plain comment (no marker). */
TL_EXTERN(int) tl_github_comment_create(tl_github_comment **out, tl_github *gh,
                                        const char *repo, uint32_t number,
                                        const char *body);

/** Replace the body of comment `id` with `body` as given. */
TL_EXTERN(int) tl_github_comment_edit(tl_github_comment **out, tl_github *gh,
                                      const char *repo, int64_t id, const char *body);

/** Delete comment `id`; TL_ENOTFOUND when it does not exist. */
TL_EXTERN(int) tl_github_comment_delete(tl_github *gh, const char *repo, int64_t id);

/* ---- pull requests --------------------------------------------------- */

typedef enum {
	TL_GITHUB_PR_OPEN = 0,
	TL_GITHUB_PR_CLOSED = 1, /* closed without merging */
	TL_GITHUB_PR_MERGED = 2
} tl_github_pr_state;

typedef struct tl_github_pr tl_github_pr;

/** Read pull request `number`; TL_ENOTFOUND when it does not exist. */
TL_EXTERN(int) tl_github_pr_get(tl_github_pr **out, tl_github *gh, const char *repo,
                                uint32_t number);
TL_EXTERN(uint32_t) tl_github_pr_number(const tl_github_pr *pr);
/** A tl_github_pr_state (-1 for NULL). */
TL_EXTERN(int) tl_github_pr_state_get(const tl_github_pr *pr);
/** "open", "closed" or "merged" ("" for NULL). */
TL_EXTERN(const char *) tl_github_pr_state_name(const tl_github_pr *pr);
TL_EXTERN(const char *) tl_github_pr_head_sha(const tl_github_pr *pr);
TL_EXTERN(const char *) tl_github_pr_head_ref(const tl_github_pr *pr);
TL_EXTERN(const char *) tl_github_pr_base_ref(const tl_github_pr *pr);
TL_EXTERN(const char *) tl_github_pr_title(const tl_github_pr *pr);
TL_EXTERN(const char *) tl_github_pr_url(const tl_github_pr *pr);
TL_EXTERN(void) tl_github_pr_free(tl_github_pr *pr);

/* ---- deployments ----------------------------------------------------- */

typedef struct {
	unsigned int version;    /* TL_GITHUB_DEPLOYMENT_OPTIONS_VERSION */
	const char *ref;         /* branch, tag or sha (required) */
	const char *environment; /* NULL: "production" */
	const char *description; /* NULL: none */
	int transient;           /* 1: the environment goes away (previews) */
	int production;          /* -1: GitHub's default; 0 or 1 */
} tl_github_deployment_options;

#define TL_GITHUB_DEPLOYMENT_OPTIONS_VERSION 1
#define TL_GITHUB_DEPLOYMENT_OPTIONS_INIT \
	{TL_GITHUB_DEPLOYMENT_OPTIONS_VERSION, NULL, NULL, NULL, 0, -1}

TL_EXTERN(int) tl_github_deployment_options_init(tl_github_deployment_options *opts,
                                                 unsigned int version);

/**
 * Create a deployment of `opts->ref` with auto_merge=false and no
 * required status contexts (the caller has already tested the commit).
 * *id receives its id. TL_EINVALID (GitHub's message) for an unknown ref.
 */
TL_EXTERN(int) tl_github_deployment_create(int64_t *id, tl_github *gh, const char *repo,
                                           const tl_github_deployment_options *opts);

typedef struct {
	unsigned int version;        /* TL_GITHUB_STATUS_OPTIONS_VERSION */
	const char *state;           /* error, failure, inactive, in_progress,
	                                queued, pending or success (required) */
	const char *environment_url; /* where it runs (http/https), or NULL */
	const char *log_url;         /* where its log is (http/https), or NULL */
	const char *description;     /* at most 140 characters, or NULL */
	const char *environment;     /* NULL: the deployment's */
} tl_github_status_options;

#define TL_GITHUB_STATUS_OPTIONS_VERSION 1
#define TL_GITHUB_STATUS_OPTIONS_INIT {TL_GITHUB_STATUS_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL}

TL_EXTERN(int) tl_github_status_options_init(tl_github_status_options *opts,
                                             unsigned int version);

/** Add a status to deployment `deployment_id`; *id (may be NULL)
 * receives the status id. */
TL_EXTERN(int) tl_github_deployment_status_create(int64_t *id, tl_github *gh,
                                                  const char *repo, int64_t deployment_id,
                                                  const tl_github_status_options *opts);

/* ---- issues (one per alert) ------------------------------------------ */

typedef struct tl_github_issue tl_github_issue;

/** What the last call did to the issue it returned. */
typedef enum {
	TL_GITHUB_FOUND = 0,     /* read only */
	TL_GITHUB_CREATED = 1,
	TL_GITHUB_UPDATED = 2,
	TL_GITHUB_UNCHANGED = 3, /* an upsert found it already as asked */
	TL_GITHUB_CLOSED = 4
} tl_github_action;

TL_EXTERN(uint32_t) tl_github_issue_number(const tl_github_issue *i);
/** "open" or "closed" ("" for NULL). */
TL_EXTERN(const char *) tl_github_issue_state(const tl_github_issue *i);
TL_EXTERN(const char *) tl_github_issue_title(const tl_github_issue *i);
TL_EXTERN(const char *) tl_github_issue_body(const tl_github_issue *i);
TL_EXTERN(const char *) tl_github_issue_url(const tl_github_issue *i);
/** A tl_github_action (-1 for NULL). */
TL_EXTERN(int) tl_github_issue_action(const tl_github_issue *i);
TL_EXTERN(void) tl_github_issue_free(tl_github_issue *i);

/**
 * The OPEN issue labelled `label` (may be NULL: any) whose body starts
 * with the marker of `key`, looked for page by page (pull requests are
 * skipped). TL_ENOTFOUND when there is none.
 */
TL_EXTERN(int) tl_github_issue_find(tl_github_issue **out, tl_github *gh, const char *repo,
                                    const char *label, const char *key);

/** Open an issue whose body is the marker of `key`, a newline and
 * `body`, labelled `label` (may be NULL). */
TL_EXTERN(int) tl_github_issue_create(tl_github_issue **out, tl_github *gh,
                                      const char *repo, const char *label, const char *key,
                                      const char *title, const char *body);

/** Set the title (NULL: keep) and the body (NULL: keep; else the marker of
 * `key`, a newline and `body`) of issue `number`. */
TL_EXTERN(int) tl_github_issue_update(tl_github_issue **out, tl_github *gh,
                                      const char *repo, uint32_t number, const char *key,
                                      const char *title, const char *body);

/**
 * One open issue per `key`: find it (as tl_github_issue_find); when found,
 * update its title and body unless they are already as asked
 * (TL_GITHUB_UPDATED or TL_GITHUB_UNCHANGED), otherwise create it
 * (TL_GITHUB_CREATED).
 */
TL_EXTERN(int) tl_github_issue_upsert(tl_github_issue **out, tl_github *gh,
                                      const char *repo, const char *label, const char *key,
                                      const char *title, const char *body);

/** Close issue `number` (state_reason "completed"), first adding
 * `comment` when it is not NULL. */
TL_EXTERN(int) tl_github_issue_close(tl_github_issue **out, tl_github *gh,
                                     const char *repo, uint32_t number,
                                     const char *comment);

/**
 * Close the open issue of `key` (as tl_github_issue_find), with an optional
 * comment. *out is the closed issue; TL_ENOTFOUND when none is open (the
 * alert was already cleared: nothing changes).
 */
TL_EXTERN(int) tl_github_issue_resolve(tl_github_issue **out, tl_github *gh,
                                       const char *repo, const char *label,
                                       const char *key, const char *comment);

TL_END_DECL

#endif
