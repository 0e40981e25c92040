/*
 * The PR's one comment: posted on the first up, edited on every update and
 * when the preview goes. A comment that cannot be written never fails the
 * preview itself: it is reported as a warning event.
 */
#include "preview_int.h"
#include "towlion/github.h"

#include <string.h>
#include <time.h>

void tl__preview_comment(tl_ctx *ctx, tl_preview *p, bool removed)
{
	if (!*p->repo || !*tl__cfg(ctx, "TOWLION_GITHUB_TOKEN"))
		return;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	tl_buf body = TL_BUF_INIT, key = TL_BUF_INIT;
	if (removed)
		tl__buf_printf(&body, "The preview of this pull request was removed (%s).\n", when);
	else
		tl__buf_printf(&body,
		               "**Preview** of this pull request: %s\n\n"
		               "Release `%s` of commit `%.12s`, updated %s.\n",
		               p->url, p->release, *p->commit ? p->commit : "(unknown)", when);
	tl__buf_printf(&key, "preview:%s", p->app);
	tl_github *gh = NULL;
	tl_github_comment *c = NULL;
	int rc = tl_github_new(&gh, ctx, NULL);
	if (rc == TL_OK)
		rc = tl_github_comment_upsert(&c, gh, p->repo, p->pr, key.ptr, body.ptr);
	if (rc == TL_OK) {
		free(p->comment_url);
		p->comment_url = tl__strdup(tl_github_comment_url(c));
		if (!p->comment_url)
			p->comment_url = tl__strdup("");
	} else {
		tl__log(ctx, TL_LOG_WARN, "could not update the comment on %s#%u: %s", p->repo, p->pr,
		        tl_error_last()->message);
		tl_error_clear();
	}
	tl_github_comment_free(c);
	tl_github_free(gh);
	tl_buf_dispose(&body);
	tl_buf_dispose(&key);
}
