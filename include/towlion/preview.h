/*
 * libtowlion - preview environments for pull requests.
 *
 * Every pull request of an app can get its own running copy at
 * pr-N.preview.<app>.<TOWLION_PREVIEW_DOMAIN>, isolated from production:
 *
 *  - its compose file is read under the STRICT policy (no privileged
 *    mode, host namespaces, devices, capabilities, Docker socket or mounts
 *    outside its checkout), since a PR's code is untrusted;
 *  - it gets its own PostgreSQL schema and role (when the app has a
 *    database) and its own Redis user and key prefix "<app>-pr-N:" (when
 *    the app uses Redis) — never the app's or the superuser's credentials;
 *    previews get no object storage credentials;
 *  - its containers run with the CPU and memory limits of
 *    TOWLION_PREVIEW_CPUS / TOWLION_PREVIEW_MEMORY;
 *  - it is released through the same health-gated engine as the app, as
 *    project "<app>-pr-N", and routed at its own host.
 *
 * With a repository ("owner/name") and TOWLION_GITHUB_TOKEN, the PR gets
 * ONE comment with the preview's URL, edited in place on every update and
 * when the preview is removed.
 */
#ifndef TOWLION_PREVIEW_H
#define TOWLION_PREVIEW_H

#include "towlion/common.h"
#include "towlion/context.h"

TL_BEGIN_DECL

typedef struct tl_preview tl_preview;
typedef struct tl_preview_list tl_preview_list;

typedef struct {
	unsigned int version;   /* TL_PREVIEW_OPTIONS_VERSION */
	const char *path;       /* the PR's code in a directory, or */
	const char *git_url;    /* a repository and */
	const char *git_ref;    /* "refs/pull/N/head", a branch or a commit */
	const char *repo;       /* "owner/name" for the PR comment, or NULL */
	long health_timeout_ms; /* 0: 60 s */
	long lock_timeout_ms;   /* 0: 10 min */
} tl_preview_options;

#define TL_PREVIEW_OPTIONS_VERSION 1
#define TL_PREVIEW_OPTIONS_INIT {TL_PREVIEW_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0, 0}

TL_EXTERN(int) tl_preview_options_init(tl_preview_options *opts, unsigned int version);

/**
 * Create or update the preview of PR `pr` of app `app`. A first preview
 * beyond TOWLION_PREVIEW_MAX for the app is TL_ECONFLICT (nothing is
 * created). A compose file the strict policy refuses is TL_EINVALID
 * before anything runs. `out` (may be NULL) receives the preview.
 */
TL_EXTERN(int) tl_preview_up(tl_preview **out, tl_ctx *ctx, const char *app, uint32_t pr,
                             const tl_preview_options *opts);

/**
 * Remove the preview: route, containers, images, schema and role, Redis
 * user and keys, checkout, env file and state; the PR comment (with a
 * repository) says it was removed. Removing a preview that does not exist
 * succeeds; `existed` (may be NULL) says whether it did.
 */
TL_EXTERN(int) tl_preview_down(int *existed, tl_ctx *ctx, const char *app, uint32_t pr,
                               const tl_preview_options *opts);

/** The previews of `app` (NULL: of every app), by app then PR number. */
TL_EXTERN(int) tl_preview_list_load(tl_preview_list **out, tl_ctx *ctx, const char *app);
TL_EXTERN(size_t) tl_preview_list_count(const tl_preview_list *l);
TL_EXTERN(const tl_preview *) tl_preview_list_at(const tl_preview_list *l, size_t i);
TL_EXTERN(void) tl_preview_list_free(tl_preview_list *l);

TL_EXTERN(void) tl_preview_free(tl_preview *p);
TL_EXTERN(const char *) tl_preview_app(const tl_preview *p);
TL_EXTERN(uint32_t) tl_preview_pr(const tl_preview *p);
/** The source it runs: "git:URL#REF" or "path:DIR". */
TL_EXTERN(const char *) tl_preview_source(const tl_preview *p);
TL_EXTERN(const char *) tl_preview_commit(const tl_preview *p);
TL_EXTERN(const char *) tl_preview_release(const tl_preview *p);
TL_EXTERN(const char *) tl_preview_url(const tl_preview *p);
TL_EXTERN(const char *) tl_preview_repo(const tl_preview *p);
/** First up, and last update, Unix seconds. */
TL_EXTERN(int64_t) tl_preview_created(const tl_preview *p);
TL_EXTERN(int64_t) tl_preview_updated(const tl_preview *p);
/** Health as checked when listed: 1 healthy, 0 not, -1 not checked. */
TL_EXTERN(int) tl_preview_healthy(const tl_preview *p);
/** The PR comment's page, or "". */
TL_EXTERN(const char *) tl_preview_comment_url(const tl_preview *p);

typedef struct {
	unsigned int version; /* TL_PREVIEW_GC_OPTIONS_VERSION */
	int older_than_days;  /* remove previews not updated for this long;
	                         0: only closed PRs */
	int check_github;     /* ask GitHub for each preview with a repository
	                         and remove those whose PR is closed or merged */
	int dry_run;          /* only say what would go */
} tl_preview_gc_options;

#define TL_PREVIEW_GC_OPTIONS_VERSION 1
#define TL_PREVIEW_GC_OPTIONS_INIT {TL_PREVIEW_GC_OPTIONS_VERSION, 0, 1, 0}

/** Since 0.2 (symbol version TOWLION_0.2). */
TL_EXTERN(int) tl_preview_gc_options_init(tl_preview_gc_options *opts, unsigned int version);

/**
 * Remove stale previews. `removed` (may be NULL) receives the names
 * ("shop-pr-7") one per line. A preview whose PR state cannot be read is
 * kept (and reported as a warning event).
 */
TL_EXTERN(int) tl_preview_gc(tl_buf *removed, tl_ctx *ctx, const tl_preview_gc_options *opts);

TL_END_DECL

#endif
