/* Internals of previews (lib/preview). */
#ifndef TL_PREVIEW_INT_H
#define TL_PREVIEW_INT_H

#include "core/core.h"
#include "deploy/deploy_int.h"
#include "towlion/preview.h"

struct tl_preview {
	char *app;
	uint32_t pr;
	char *source, *commit, *release, *url, *repo, *comment_url;
	int64_t created, updated;
	int healthy;
};

/* record.c: <STATE>/apps/<app>/previews/pr-N/preview.json */
int tl__preview_state_dir(tl_buf *out, const tl_ctx *ctx, const char *app, uint32_t pr);
int tl__preview_load(tl_preview **out, const tl_ctx *ctx, const char *app, uint32_t pr);
int tl__preview_save(const tl_ctx *ctx, const tl_preview *p);
/* The preview's project (names, hosts, limits, strict policy); `app`
 * need not be registered any more (for down). */
int tl__preview_project(tl__project *p, tl_ctx *ctx, const char *app, uint32_t pr,
                        char **name_out);

/* preview.c: finish the preview down a killed process left in flight
 * (record `rec` of `project`), under the project lock *lock held by the
 * caller: on success the lock file is gone too (*lock NULL), and a line
 * is appended to `done`. */
int tl__preview_down_finish(tl_ctx *ctx, const char *project, const json_t *rec,
                            tl__lock **lock, tl_buf *done);

/* list.c: tl_preview_list_load, each preview's health checked (as
 * tl_app_status_get checks an app) only when `check`. */
int tl__preview_list_load(tl_preview_list **out, tl_ctx *ctx, const char *app, bool check);

/* comment.c: keep the PR's one comment up to date; failures are warnings. */
void tl__preview_comment(tl_ctx *ctx, tl_preview *p, bool removed);

#endif
